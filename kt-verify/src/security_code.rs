//! The 60-digit security code and its QR payload: the manual fallback when a user wants to check a contact's
//! identity key without trusting the directory.
//!
//! The construction is the numeric fingerprint of libsignal (`rust/protocol/src/fingerprint.rs`), which WhatsApp
//! uses as its security code:
//!
//! * per party, `H_0 = SHA-512(0x0000 || key || id || key)` and `H_i = SHA-512(H_{i-1} || key)` for
//!   `i = 1 .. 5199` ([`ITERATIONS`] hashes in all);
//! * the party's 30 digits are the first six 5-byte big-endian chunks of `H_5199`, each reduced mod 100000 and
//!   written with five digits;
//! * the code is the two 30-digit halves concatenated, the smaller (as a string) first, so both parties see the
//!   same 60 digits;
//! * the QR payload is the protobuf `CombinedFingerprints { version = 1; local = 2 { content = 1 };
//!   remote = 3 { content = 1 } }` carrying the first 32 bytes of each party's `H_5199`.

use core::fmt;
use core::fmt::Write as _;

use sha2::{Digest as _, Sha512};

use crate::error::{DecodeError, SecurityCodeError};
use crate::proto;

/// Number of SHA-512 invocations per party (libsignal's and WhatsApp's value).
pub const ITERATIONS: u32 = 5200;

/// Bytes of each party's hash carried in the QR payload.
const SCANNABLE_LEN: usize = 32;

/// Fingerprint format version that prefixes the first hash input (two zero bytes in libsignal).
const FINGERPRINT_FORMAT: [u8; 2] = [0, 0];

/// The security code of a conversation between a local and a remote party.
///
/// `Debug` and `Display` show only the 60 public digits, which both users compare aloud.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityCode {
    version: u32,
    digits: String,
    local: [u8; SCANNABLE_LEN],
    remote: [u8; SCANNABLE_LEN],
}

impl SecurityCode {
    /// Computes the code from each party's stable identifier and serialized identity public key.
    ///
    /// `version` is the scannable-payload version written into the QR code (1 or 2 in libsignal); it does not
    /// change the 60 digits.
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::SecurityCode;
    ///
    /// let alice = SecurityCode::new(1, b"+14152222222", &[5; 33], b"+14153333333", &[7; 33]);
    /// let bob = SecurityCode::new(1, b"+14153333333", &[7; 33], b"+14152222222", &[5; 33]);
    /// assert_eq!(alice.digits(), bob.digits());
    /// assert_eq!(alice.digits().len(), 60);
    /// assert_eq!(bob.matches_qr_payload(&alice.qr_payload()), Ok(true));
    /// ```
    pub fn new(version: u32, local_id: &[u8], local_key: &[u8], remote_id: &[u8], remote_key: &[u8]) -> Self {
        let local = party_hash(local_id, local_key);
        let remote = party_hash(remote_id, remote_key);
        let local_digits = party_digits(&local);
        let remote_digits = party_digits(&remote);
        let digits = if local_digits < remote_digits {
            local_digits + &remote_digits
        } else {
            remote_digits + &local_digits
        };
        Self {
            version,
            digits,
            local: first_32(&local),
            remote: first_32(&remote),
        }
    }

    /// The 60 decimal digits shown to the user.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The QR payload this party displays: its own hash as `local`, the other party's as `remote`.
    pub fn qr_payload(&self) -> Vec<u8> {
        encode_payload(self.version, &self.local, &self.remote)
    }

    /// Checks a QR payload scanned from the other party's screen.
    ///
    /// Returns `Ok(true)` if it carries the same version, and the scanned `local` equals this side's `remote` and
    /// vice versa (compared in constant time); `Ok(false)` if the hashes differ (a different key: possible
    /// interception); an error if the payload is malformed or of another version.
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::{SecurityCode, SecurityCodeError};
    ///
    /// let mine = SecurityCode::new(1, b"alice", &[1; 33], b"bob", &[2; 33]);
    /// // Scanning one's own code is not a match.
    /// assert_eq!(mine.matches_qr_payload(&mine.qr_payload()), Ok(false));
    /// assert!(matches!(mine.matches_qr_payload(b"junk"), Err(SecurityCodeError::Malformed(_))));
    /// ```
    pub fn matches_qr_payload(&self, scanned: &[u8]) -> Result<bool, SecurityCodeError> {
        let (version, their_local, their_remote) = decode_payload(scanned)?;
        if version != self.version {
            return Err(SecurityCodeError::VersionMismatch {
                ours: self.version,
                theirs: version,
            });
        }
        let same = ct_eq(&their_local, &self.remote) & ct_eq(&their_remote, &self.local);
        Ok(same)
    }
}

impl fmt::Display for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl fmt::Debug for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityCode")
            .field("version", &self.version)
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

fn party_hash(id: &[u8], key: &[u8]) -> [u8; 64] {
    let mut hash: [u8; 64] = Sha512::new()
        .chain_update(FINGERPRINT_FORMAT)
        .chain_update(key)
        .chain_update(id)
        .chain_update(key)
        .finalize()
        .into();
    for _ in 1..ITERATIONS {
        hash = Sha512::new().chain_update(hash).chain_update(key).finalize().into();
    }
    hash
}

fn party_digits(hash: &[u8; 64]) -> String {
    let mut digits = String::with_capacity(30);
    for chunk in hash.chunks_exact(5).take(6) {
        let value = chunk.iter().fold(0u64, |acc, &byte| acc << 8 | u64::from(byte));
        // Writing to a String cannot fail.
        let _ = write!(digits, "{:05}", value % 100_000);
    }
    digits
}

fn first_32(hash: &[u8; 64]) -> [u8; SCANNABLE_LEN] {
    let mut out = [0; SCANNABLE_LEN];
    out.copy_from_slice(&hash[..SCANNABLE_LEN]);
    out
}

fn ct_eq(a: &[u8; SCANNABLE_LEN], b: &[u8; SCANNABLE_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn logical(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SCANNABLE_LEN + 2);
    proto::put_bytes_field(&mut out, 1, content);
    out
}

fn encode_payload(version: u32, local: &[u8], remote: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 * SCANNABLE_LEN + 12);
    proto::put_varint_field(&mut out, 1, u64::from(version));
    proto::put_bytes_field(&mut out, 2, &logical(local));
    proto::put_bytes_field(&mut out, 3, &logical(remote));
    out
}

fn decode_logical(bytes: &[u8]) -> Result<[u8; SCANNABLE_LEN], DecodeError> {
    let mut reader = proto::Reader::new(bytes);
    let content = reader.expect_bytes(1)?;
    reader.finish()?;
    content.try_into().map_err(|_| DecodeError::BadLength {
        expected: SCANNABLE_LEN,
        found: content.len(),
    })
}

type Payload = (u32, [u8; SCANNABLE_LEN], [u8; SCANNABLE_LEN]);

fn decode_payload(bytes: &[u8]) -> Result<Payload, DecodeError> {
    let mut reader = proto::Reader::new(bytes);
    let version = reader.expect_varint(1)?;
    let version = u32::try_from(version).map_err(|_| DecodeError::ValueOutOfRange)?;
    let local = decode_logical(reader.expect_bytes(2)?)?;
    let remote = decode_logical(reader.expect_bytes(3)?)?;
    reader.finish()?;
    // Field order and lengths are fixed above; re-encoding also rejects non-minimal varints.
    if encode_payload(version, &local, &remote) != bytes {
        return Err(DecodeError::NonCanonical);
    }
    Ok((version, local, remote))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_layout_matches_libsignal_encoding_test() {
        // libsignal rust/protocol/src/fingerprint.rs, test `fingerprint_encodings`.
        let encoded = encode_payload(2, &[0x12; 32], &[0xba; 32]);
        let mut expected = vec![0x08, 0x02, 0x12, 0x22, 0x0a, 0x20];
        expected.extend([0x12; 32]);
        expected.extend([0x1a, 0x22, 0x0a, 0x20]);
        expected.extend([0xba; 32]);
        assert_eq!(encoded, expected);
        assert_eq!(decode_payload(&encoded), Ok((2, [0x12; 32], [0xba; 32])));
    }

    #[test]
    fn non_canonical_payload_is_rejected() {
        let mut encoded = encode_payload(1, &[1; 32], &[2; 32]);
        // Version 1 written as a two-byte varint.
        encoded.splice(1..2, [0x81, 0x00]);
        assert_eq!(decode_payload(&encoded), Err(DecodeError::NonCanonical));
    }
}
