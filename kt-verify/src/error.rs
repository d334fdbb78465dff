//! Every error the crate returns.
//!
//! Each enum is `#[non_exhaustive]`. `Display` names the reason and public values only (epochs, versions,
//! timestamps, key ids); none of these types holds secret material.

use core::fmt;

/// A byte string that is not a valid encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a field.
    Truncated,
    /// A varint longer than ten bytes or above `u64::MAX`.
    VarintOverflow,
    /// Field number zero or above `u32::MAX`.
    BadFieldNumber,
    /// A protobuf wire type other than varint (0) and length-delimited (2).
    UnsupportedWireType {
        /// The wire type found.
        wire_type: u8,
    },
    /// A field missing, out of order or of the wrong wire type.
    UnexpectedField {
        /// The field number expected at this position.
        expected: u32,
    },
    /// A fixed-length field of the wrong length.
    BadLength {
        /// Required length in bytes.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A number outside its allowed range (for example a key id above 255 or an unknown ciphersuite).
    ValueOutOfRange,
    /// A string field that is not UTF-8.
    NotUtf8,
    /// Valid content in a non-canonical encoding (for example a non-minimal varint).
    NonCanonical,
    /// Bytes left after the last field.
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ends inside a field"),
            Self::VarintOverflow => f.write_str("varint overflows 64 bits"),
            Self::BadFieldNumber => f.write_str("invalid protobuf field number"),
            Self::UnsupportedWireType { wire_type } => write!(f, "unsupported protobuf wire type {wire_type}"),
            Self::UnexpectedField { expected } => write!(f, "expected protobuf field {expected}"),
            Self::BadLength { expected, found } => write!(f, "field has {found} bytes, expected {expected}"),
            Self::ValueOutOfRange => f.write_str("value out of range"),
            Self::NotUtf8 => f.write_str("string field is not UTF-8"),
            Self::NonCanonical => f.write_str("non-canonical encoding"),
            Self::TrailingBytes { count } => write!(f, "{count} trailing bytes"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A scanned security-code QR payload that cannot be compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityCodeError {
    /// The payload does not parse.
    Malformed(DecodeError),
    /// The payload is of another scannable version.
    VersionMismatch {
        /// This side's version.
        ours: u32,
        /// The scanned payload's version.
        theirs: u32,
    },
}

impl From<DecodeError> for SecurityCodeError {
    fn from(error: DecodeError) -> Self {
        Self::Malformed(error)
    }
}

impl fmt::Display for SecurityCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(error) => write!(f, "malformed security-code payload: {error}"),
            Self::VersionMismatch { ours, theirs } => {
                write!(f, "security-code payload version {theirs}, expected {ours}")
            }
        }
    }
}

impl std::error::Error for SecurityCodeError {}

/// A witness key, key set or signed root that is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WitnessError {
    /// A ciphersuite number Plexi does not define.
    UnknownCiphersuite {
        /// The number found.
        id: u32,
    },
    /// A public key that is not the canonical encoding of its point (`y >= p`, or the sign bit set on a point with
    /// `x = 0`). Checked first (SPEC §1.4).
    NonCanonicalKey,
    /// A small-order Ed25519 public key. Checked second.
    WeakKey,
    /// A canonically encoded `y` with no curve point. Checked third.
    InvalidKey,
    /// A verifier without keys.
    NoKeys,
    /// Two trusted keys with the same key id.
    DuplicateKeyId {
        /// The shared key id.
        key_id: u8,
    },
    /// The signed root is for another namespace.
    WrongNamespace,
    /// No trusted key has the signature's key id.
    UnknownKeyId {
        /// The key id in the signature.
        key_id: u8,
    },
    /// The signature is dated before the key's `not_before`.
    KeyNotYetValid {
        /// Signed timestamp.
        timestamp_ms: u64,
        /// The key's first valid time.
        not_before_ms: u64,
    },
    /// The signed timestamp is too far ahead of the caller's clock.
    FromTheFuture {
        /// Signed timestamp.
        timestamp_ms: u64,
        /// The caller's time.
        now_ms: u64,
    },
    /// The signed timestamp is older than the allowed age.
    Stale {
        /// Signed timestamp.
        timestamp_ms: u64,
        /// The caller's time.
        now_ms: u64,
    },
    /// The Ed25519 signature does not verify (strictly) under the selected key.
    BadSignature,
}

impl fmt::Display for WitnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCiphersuite { id } => write!(f, "unknown witness ciphersuite {id}"),
            Self::NonCanonicalKey => f.write_str("witness key is not a canonical Ed25519 point encoding"),
            Self::WeakKey => f.write_str("witness key has small order"),
            Self::InvalidKey => f.write_str("witness key is not an Ed25519 curve point"),
            Self::NoKeys => f.write_str("no witness keys"),
            Self::DuplicateKeyId { key_id } => write!(f, "two witness keys share key id {key_id}"),
            Self::WrongNamespace => f.write_str("signed root is for another namespace"),
            Self::UnknownKeyId { key_id } => write!(f, "no witness key with key id {key_id}"),
            Self::KeyNotYetValid {
                timestamp_ms,
                not_before_ms,
            } => write!(
                f,
                "signature at {timestamp_ms} ms precedes key validity at {not_before_ms} ms"
            ),
            Self::FromTheFuture { timestamp_ms, now_ms } => {
                write!(f, "signature at {timestamp_ms} ms is ahead of now ({now_ms} ms)")
            }
            Self::Stale { timestamp_ms, now_ms } => {
                write!(f, "signature at {timestamp_ms} ms is too old at {now_ms} ms")
            }
            Self::BadSignature => f.write_str("witness signature does not verify"),
        }
    }
}

impl std::error::Error for WitnessError {}
