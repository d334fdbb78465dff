//! Strict Ed25519: the weak-signer rules applied to every key and signature the crate accepts.
//!
//! This is the workspace's one Ed25519 key rule (SPEC §7.1): backup-protocol, ipls and kt-verify each have a
//! `strict.rs` with the same checks in the same order (canonical encoding, then small order, then curve point),
//! since crates do not depend on their siblings.
//!
//! `ed25519-dalek`'s `verify_strict` already rejects small-order `R`, small-order public keys and (by comparing
//! encodings) non-canonical `R`. The checks here add:
//!
//! * public keys must be canonical encodings as RFC 8032, section 5.1.3 decodes them: `y < p`, and `x = 0` never
//!   written with the sign bit set. `VerifyingKey::from_bytes` accepts both kinds of non-canonical encoding (it
//!   reduces `y` modulo `p` and keeps the caller's bytes), so without this one point would have several accepted
//!   encodings;
//! * public keys must not be one of the eight points of small order. Among canonical encodings these are exactly
//!   eight byte strings, so the check is a comparison, not curve arithmetic — which is what lets a verifier apply it
//!   to every key of a bundle at no measurable cost (see BENCHMARKS.md);
//! * the scalar `S` must be below the group order `l`. dalek checks this too, but only while its
//!   `legacy_compatibility` feature is off, and Cargo features are unified across a workspace, so the crate does
//!   not rely on no sibling ever enabling it.
//!
//! Constants are from RFC 8032, section 5.1: `p = 2^255 - 19`, `l = 2^252 + 27742317777372353535851937790883648493`.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::KeyError;

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

/// The canonical encodings of the eight points of small order (the torsion subgroup): the identity, the point of
/// order 2, the two points of order 4 and the four points of order 8. Listed as in Chalkias, Garillot and
/// Nikolaenko, "Taming the many EdDSAs" (SSR 2020); the unit tests check each against `VerifyingKey::is_weak`.
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

/// Whether the 255-bit `y` coordinate of a compressed Edwards point (the sign bit of `x` masked off) is below
/// `p = 2^255 - 19`. `p` is `0xed, 0xff × 30, 0x7f` little-endian, so `y >= p` only when the top 31 bytes are all
/// ones (under the mask) and the lowest byte is at least `0xed`.
fn is_canonical_y(encoding: &[u8; 32]) -> bool {
    let [low, middle @ .., high] = encoding;
    let top_all_ones = high & 0x7f == 0x7f && middle.iter().all(|&b| b == 0xff);
    !(top_all_ones && *low >= 0xed)
}

/// RFC 8032 canonical form: `y < p`, and no "negative zero" `x` (sign bit set on a point whose `x` is 0).
fn is_canonical_encoding(encoding: &[u8; 32]) -> bool {
    if !is_canonical_y(encoding) {
        return false;
    }
    let mut y = *encoding;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    !(sign == 1 && (y == Y_ONE || y == Y_MINUS_ONE))
}

/// Whether a little-endian 256-bit integer is below `l` (compared from the most significant byte down).
pub(crate) fn is_canonical_scalar(scalar: &[u8; 32]) -> bool {
    for (s, l) in scalar.iter().rev().zip(GROUP_ORDER_LE.iter().rev()) {
        if s != l {
            return s < l;
        }
    }
    false // equal to l
}

/// The weak-key rules that need no curve arithmetic: canonical encoding, not a small-order point.
///
/// Exact: a key passing this is either not a curve point at all (and then verifies no signature) or a point of
/// large order.
pub(crate) fn check_encoding(encoding: &[u8; 32]) -> Result<(), KeyError> {
    if !is_canonical_encoding(encoding) {
        return Err(KeyError::NonCanonicalEncoding);
    }
    if SMALL_ORDER.contains(encoding) {
        return Err(KeyError::SmallOrder);
    }
    Ok(())
}

/// Parses a public key under all strict rules: canonical encoding, not of small order, a point on the curve.
pub(crate) fn strict_verifying_key(encoding: &[u8; 32]) -> Result<VerifyingKey, KeyError> {
    check_encoding(encoding)?;
    let key = VerifyingKey::from_bytes(encoding).map_err(|_| KeyError::NotAPoint)?;
    // Implied by `check_encoding` (the unit tests show the blocklist matches dalek); kept as a second line.
    if key.is_weak() {
        return Err(KeyError::SmallOrder);
    }
    Ok(key)
}

/// Strict verification of `signature` over `message`; `false` for any reason (non-canonical `S`, non-canonical or
/// small-order `R`, wrong signature).
pub(crate) fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let Some((_, s)) = signature.split_last_chunk::<32>() else {
        return false; // unreachable: 64 bytes always split into 32 + 32
    };
    is_canonical_scalar(s) && key.verify_strict(message, &Signature::from_bytes(signature)).is_ok()
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
    fn y_bound_is_exact() {
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical_y(&p));
        let mut p_minus_one = p;
        p_minus_one[0] = 0xec;
        assert!(is_canonical_y(&p_minus_one));
        // The sign bit is not part of y.
        let mut p_with_sign = p;
        p_with_sign[31] = 0xff;
        assert!(!is_canonical_y(&p_with_sign));
        let mut p_minus_one_with_sign = p_minus_one;
        p_minus_one_with_sign[31] = 0xff;
        assert!(is_canonical_y(&p_minus_one_with_sign));
    }

    #[test]
    fn non_canonical_encoding_of_a_large_order_point_is_rejected_although_dalek_accepts_it() {
        // y = p + k for small k reduces to y = k. Find a k whose point is on the curve and not of small order:
        // dalek decodes the non-canonical bytes, the strict parser must not.
        let mut found = false;
        for k in 2u8..19 {
            let mut encoding = [0xff; 32];
            encoding[0] = 0xed + k;
            encoding[31] = 0x7f;
            if VerifyingKey::from_bytes(&encoding).is_ok_and(|key| !key.is_weak()) {
                found = true;
                assert_eq!(strict_verifying_key(&encoding), Err(KeyError::NonCanonicalEncoding));
            }
        }
        assert!(found, "no y in 2..19 is on the curve");
    }

    #[test]
    fn small_order_list_is_exactly_the_weak_keys_dalek_knows() {
        for encoding in SMALL_ORDER {
            let key = VerifyingKey::from_bytes(&encoding).expect("a curve point");
            assert!(key.is_weak(), "{encoding:02x?}");
            assert!(is_canonical_encoding(&encoding));
        }
        // Distinct entries, so eight different points.
        for (i, a) in SMALL_ORDER.iter().enumerate() {
            assert!(SMALL_ORDER.iter().skip(i + 1).all(|b| a != b));
        }
        // Every other encoding dalek calls weak is non-canonical: y + p for small y, and negative-zero x.
        for base in SMALL_ORDER {
            for sign in [0, 0x80] {
                let mut flipped = base;
                flipped[31] = (flipped[31] & 0x7f) | sign;
                if VerifyingKey::from_bytes(&flipped).is_ok_and(|key| key.is_weak()) {
                    assert!(SMALL_ORDER.contains(&flipped) || !is_canonical_encoding(&flipped));
                }
            }
        }
        for k in 0u8..19 {
            for sign in [0, 0x80] {
                let mut encoding = [0xff; 32];
                encoding[0] = 0xed + k;
                encoding[31] = 0x7f | sign;
                assert_eq!(check_encoding(&encoding), Err(KeyError::NonCanonicalEncoding));
            }
        }
    }

    #[test]
    fn negative_zero_encodings_are_non_canonical() {
        for y in [Y_ONE, Y_MINUS_ONE] {
            let mut encoding = y;
            encoding[31] |= 0x80;
            assert!(VerifyingKey::from_bytes(&encoding).is_ok_and(|key| key.is_weak()));
            assert_eq!(check_encoding(&encoding), Err(KeyError::NonCanonicalEncoding));
        }
    }

    #[test]
    fn strong_keys_pass_both_checks() {
        for seed in 0u8..32 {
            let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
            assert_eq!(check_encoding(key.as_bytes()), Ok(()));
            assert_eq!(strict_verifying_key(key.as_bytes()), Ok(key));
        }
    }
}
