//! Strict Ed25519: the weak-signer rules applied to every key and signature the crate accepts.
//!
//! `ed25519-dalek`'s `verify_strict` already rejects small-order `R`, small-order public keys and (by comparing
//! encodings) non-canonical `R`. Two checks are added here on top of it:
//!
//! * public keys must be canonical encodings (`y < p`): `VerifyingKey::from_bytes` reduces `y` modulo `p` and keeps
//!   the caller's bytes, so without this check one point would have two accepted encodings;
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

/// Whether the 255-bit `y` coordinate of a compressed Edwards point (the sign bit of `x` masked off) is below
/// `p = 2^255 - 19`. `p` is `0xed, 0xff × 30, 0x7f` little-endian, so `y >= p` only when the top 31 bytes are all
/// ones (under the mask) and the lowest byte is at least `0xed`.
fn is_canonical_y(encoding: &[u8; 32]) -> bool {
    let [low, middle @ .., high] = encoding;
    let top_all_ones = high & 0x7f == 0x7f && middle.iter().all(|&b| b == 0xff);
    !(top_all_ones && *low >= 0xed)
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

/// Parses a public key under the strict rules: canonical encoding, a point on the curve, not of small order.
pub(crate) fn strict_verifying_key(encoding: &[u8; 32]) -> Result<VerifyingKey, KeyError> {
    if !is_canonical_y(encoding) {
        return Err(KeyError::NonCanonicalEncoding);
    }
    let key = VerifyingKey::from_bytes(encoding).map_err(|_| KeyError::NotAPoint)?;
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
}
