//! Typed errors; none carries key material or plaintext.

use core::fmt;

/// Why an IPLS operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An account or contact id must be 1 to 255 bytes long.
    InvalidId,
    /// The sealed record is shorter than its fixed parts.
    Truncated,
    /// The version byte names an older format that is no longer accepted.
    LegacyVersion {
        /// The version byte found.
        found: u8,
    },
    /// The version byte names a newer format than this implementation knows.
    UnknownVersion {
        /// The version byte found.
        found: u8,
    },
    /// The type byte is not that of a sealed contact record.
    WrongType {
        /// The type byte found.
        found: u8,
    },
    /// The record does not open: altered, sealed for another contact or account, or under another key.
    Rejected,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidId => f.write_str("ids must be 1 to 255 bytes"),
            Self::Truncated => f.write_str("sealed record is truncated"),
            Self::LegacyVersion { found } => write!(f, "version {found} is no longer supported"),
            Self::UnknownVersion { found } => write!(f, "version {found} is newer than this implementation"),
            Self::WrongType { found } => write!(f, "type {found:#04x} is not a sealed contact record"),
            Self::Rejected => f.write_str("sealed record does not open for this contact, account and key"),
        }
    }
}

impl core::error::Error for Error {}
