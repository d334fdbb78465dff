//! Strict Ed25519: the one rule by which every crate of this workspace accepts Ed25519 public keys and signatures
//! (the same rule, with the same checks in the same order, as fleet-bundle's `strict.rs`; each crate has its own copy
//! because crates do not depend on their siblings).
//!
//! A public key is accepted only if its 32 bytes are the canonical encoding (RFC 8032, section 5.1.2) of a curve
//! point that is not of small order. The checks, in this order, the first failing one naming the rejection:
//!
//! 1. **non-canonical encoding**: `y >= p` (`p = 2^255 - 19`, `y` the bytes little-endian with the top bit
//!    masked off), or the sign bit set on a point whose `x` is 0 (`y = 1` or `y = p - 1`).
//!    `VerifyingKey::from_bytes` accepts both (it reduces `y` modulo `p` and keeps the caller's bytes), so without
//!    this check one point would have several accepted encodings;
//! 2. **small order**: one of the canonical encodings of the eight points of small order (a comparison with eight
//!    byte strings; the unit tests check the list against `VerifyingKey::is_weak`);
//! 3. **not a point**: `y` has no matching `x` on the curve (RFC 8032 decoding fails).
//!
//! Equivalently: RFC 8032 decoding succeeds, re-encoding the point gives the same 32 bytes, and the point is not of
//! small order. Keys of mixed order (a large-order point plus a torsion component) are accepted, as RFC 8032 and
//! `verify_strict` accept them: they cannot be used to forge.
//!
//! A signature is accepted only if `S < l` (checked here: ed25519-dalek checks it only while its
//! `legacy_compatibility` feature is off, and akd_core turns that feature on for every crate in a build) and
//! `verify_strict` accepts it (`R` canonical and not of small order, the equation holds).
//!
//! Constants are from RFC 8032, section 5.1: `p = 2^255 - 19`, `l = 2^252 + 27742317777372353535851937790883648493`.

use ed25519_dalek::{Signature, VerifyingKey};

/// Why a public key is refused, in the order the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRejection {
    /// `y >= p`, or the sign bit set on a point with `x = 0`.
    NonCanonicalEncoding,
    /// One of the eight points of small order.
    SmallOrder,
    /// No curve point has this `y`.
    NotAPoint,
}

/// `l`, the order of the Ed25519 base point, little-endian.
const GROUP_ORDER_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// `y = 1` (the identity) and `y = p - 1` (the point of order 2): the only `y` whose point has `x = 0`.
const Y_ONE: [u8; 32] = {
    let mut y = [0; 32];
    y[0] = 1;
    y
};
const Y_MINUS_ONE: [u8; 32] = {
    let mut y = [0xff; 32];
    y[0] = 0xec;
    y[31] = 0x7f;
    y
};

/// The canonical encodings of the eight points of small order: the identity, the point of order 2, the two points
/// of order 4 and the four points of order 8 (as listed in Chalkias, Garillot and Nikolaenko, "Taming the many
/// EdDSAs", SSR 2020).
const SMALL_ORDER: [[u8; 32]; 8] = [
    Y_ONE,
    Y_MINUS_ONE,
    [0; 32],
    {
        let mut e = [0; 32];
        e[31] = 0x80;
        e
    },
    order_eight(0x05),
    order_eight(0x85),
    negated_order_eight(0x7a),
    negated_order_eight(0xfa),
];

const fn order_eight(last: u8) -> [u8; 32] {
    let mut e = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x00,
    ];
    e[31] = last;
    e
}

const fn negated_order_eight(last: u8) -> [u8; 32] {
    let mut e = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x00,
    ];
    e[31] = last;
    e
}

/// RFC 8032 canonical form: `y < p`, and no "negative zero" `x` (sign bit set on a point whose `x` is 0).
fn is_canonical_encoding(encoding: &[u8; 32]) -> bool {
    let [low, middle @ .., high] = encoding;
    let y_at_least_p = high & 0x7f == 0x7f && middle.iter().all(|&b| b == 0xff) && *low >= 0xed;
    let mut y = *encoding;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    !y_at_least_p && !(sign == 1 && (y == Y_ONE || y == Y_MINUS_ONE))
}

/// Whether a little-endian 256-bit integer is below `l` (compared from the most significant byte down; signatures
/// are public, so no constant time is needed).
pub(crate) fn is_canonical_scalar(scalar: &[u8; 32]) -> bool {
    for (s, l) in scalar.iter().rev().zip(GROUP_ORDER_LE.iter().rev()) {
        if s != l {
            return s < l;
        }
    }
    false // equal to l
}

/// Parses a public key under the rule above: canonical encoding, then not of small order, then a curve point.
pub(crate) fn strict_verifying_key(encoding: &[u8; 32]) -> Result<VerifyingKey, KeyRejection> {
    if !is_canonical_encoding(encoding) {
        return Err(KeyRejection::NonCanonicalEncoding);
    }
    if SMALL_ORDER.contains(encoding) {
        return Err(KeyRejection::SmallOrder);
    }
    let key = VerifyingKey::from_bytes(encoding).map_err(|_| KeyRejection::NotAPoint)?;
    // Implied by the list above (the unit tests show it matches dalek); kept as a second line.
    if key.is_weak() {
        return Err(KeyRejection::SmallOrder);
    }
    Ok(key)
}

/// Strict verification of `signature` over `message`: `S < l`, then `verify_strict`; `false` for any reason.
pub(crate) fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let Some((_, s)) = signature.split_last_chunk::<32>() else {
        return false; // unreachable: 64 bytes always split into 32 + 32
    };
    is_canonical_scalar(s) && key.verify_strict(message, &Signature::from_bytes(signature)).is_ok()
}

/// `p + k` with the sign bit `sign`, little-endian (`k < 19`): the encodings at and above `p` that tests of the
/// rule feed to every key parser of the crate.
#[cfg(test)]
pub(crate) fn p_plus(k: u8, sign: u8) -> [u8; 32] {
    let mut encoding = [0xff; 32];
    encoding[0] = 0xed + k;
    encoding[31] = 0x7f | sign;
    encoding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_order_constant_matches_its_decimal_definition() {
        let low: u128 = 27_742_317_777_372_353_535_851_937_790_883_648_493;
        assert_eq!(GROUP_ORDER_LE[..16], low.to_le_bytes());
        assert!(GROUP_ORDER_LE[16..31].iter().all(|&b| b == 0));
        assert_eq!(GROUP_ORDER_LE[31], 0x10); // 2^252
    }

    #[test]
    fn scalar_bound_is_exact() {
        assert!(!is_canonical_scalar(&GROUP_ORDER_LE));
        let mut below = GROUP_ORDER_LE;
        below[0] -= 1;
        assert!(is_canonical_scalar(&below));
        let mut above = GROUP_ORDER_LE;
        above[0] += 1;
        assert!(!is_canonical_scalar(&above));
        assert!(is_canonical_scalar(&[0; 32]));
        assert!(!is_canonical_scalar(&[0xff; 32]));
    }

    #[test]
    fn y_at_or_above_p_is_non_canonical_with_either_sign_bit() {
        for k in 0u8..19 {
            for sign in [0, 0x80] {
                assert_eq!(
                    strict_verifying_key(&p_plus(k, sign)),
                    Err(KeyRejection::NonCanonicalEncoding),
                    "y = p + {k}, sign {sign}"
                );
            }
        }
        // p - 1 is canonical (it is the point of order 2).
        let mut p_minus_one = p_plus(0, 0);
        p_minus_one[0] = 0xec;
        assert_eq!(strict_verifying_key(&p_minus_one), Err(KeyRejection::SmallOrder));
    }

    #[test]
    fn non_canonical_encoding_of_a_large_order_point_is_rejected_although_dalek_accepts_it() {
        let mut found = false;
        for k in 2u8..19 {
            if VerifyingKey::from_bytes(&p_plus(k, 0)).is_ok_and(|key| !key.is_weak()) {
                found = true;
                assert_eq!(
                    strict_verifying_key(&p_plus(k, 0)),
                    Err(KeyRejection::NonCanonicalEncoding)
                );
            }
        }
        assert!(found, "no y in 2..19 is on the curve");
    }

    #[test]
    fn negative_zero_encodings_are_non_canonical() {
        for y in [Y_ONE, Y_MINUS_ONE] {
            let mut encoding = y;
            encoding[31] |= 0x80;
            assert!(VerifyingKey::from_bytes(&encoding).is_ok_and(|key| key.is_weak()));
            assert_eq!(strict_verifying_key(&encoding), Err(KeyRejection::NonCanonicalEncoding));
        }
    }

    #[test]
    fn small_order_list_is_exactly_the_canonical_weak_keys() {
        for encoding in SMALL_ORDER {
            let key = VerifyingKey::from_bytes(&encoding).expect("a curve point");
            assert!(key.is_weak(), "{encoding:02x?}");
            assert!(is_canonical_encoding(&encoding));
            assert_eq!(strict_verifying_key(&encoding), Err(KeyRejection::SmallOrder));
        }
        for (i, a) in SMALL_ORDER.iter().enumerate() {
            assert!(SMALL_ORDER.iter().skip(i + 1).all(|b| a != b));
        }
    }

    #[test]
    fn off_curve_key_is_not_a_point() {
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2; // y = 2: (y^2 - 1) / (d y^2 + 1) is not a square
        assert!(VerifyingKey::from_bytes(&not_a_point).is_err());
        assert_eq!(strict_verifying_key(&not_a_point), Err(KeyRejection::NotAPoint));
    }

    #[test]
    fn strong_keys_are_accepted_and_verify() {
        use ed25519_dalek::Signer;
        for seed in 0u8..32 {
            let signer = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            let key = signer.verifying_key();
            assert_eq!(strict_verifying_key(key.as_bytes()), Ok(key));
            let signature = signer.sign(b"message").to_bytes();
            assert!(verify(&key, b"message", &signature));
            assert!(!verify(&key, b"other", &signature));
        }
    }
}
