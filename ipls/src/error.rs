//! Typed errors; none carries key material or plaintext.

use core::fmt;

/// Why an IPLS operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An account or contact id must be 1 to 255 bytes long.
    InvalidId,
    /// The input is shorter than its fixed parts.
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
    /// The type byte is not that of the expected message or record.
    WrongType {
        /// The type byte found.
        found: u8,
    },
    /// The record does not open: altered, sealed for another contact or account, or under another key. For an
    /// escrow auth message: it does not open under this session's key (altered, or from another session).
    Rejected,
    /// Bytes follow the end of a message.
    TrailingBytes,
    /// A field holds a value the format does not allow.
    InvalidField(&'static str),
    /// The hello is addressed to another vault key than this vault's.
    WrongVaultKey,
    /// An X25519 key share has small order (the shared secret would be all zero).
    WeakKeyShare,
    /// The vault's key confirmation or reply does not verify: the peer does not hold the vault key the device
    /// encrypted to, or the message belongs to another session.
    VaultNotAuthenticated,
    /// The auth message answers another challenge than the one given.
    WrongChallenge,
    /// The account public key is not a canonical Ed25519 point, or has small order.
    InvalidAccountKey,
    /// The account's signature over the transcript does not verify.
    BadSignature,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidId => f.write_str("ids must be 1 to 255 bytes"),
            Self::Truncated => f.write_str("sealed record is truncated"),
            Self::LegacyVersion { found } => write!(f, "version {found} is no longer supported"),
            Self::UnknownVersion { found } => write!(f, "version {found} is newer than this implementation"),
            Self::WrongType { found } => write!(f, "type {found:#04x} is not the expected one"),
            Self::Rejected => f.write_str("ciphertext does not open for this context and key"),
            Self::TrailingBytes => f.write_str("trailing bytes after the message"),
            Self::InvalidField(what) => write!(f, "invalid field: {what}"),
            Self::WrongVaultKey => f.write_str("hello is addressed to another vault key"),
            Self::WeakKeyShare => f.write_str("X25519 key share has small order"),
            Self::VaultNotAuthenticated => f.write_str("vault did not prove it holds the bundle's IPLS key"),
            Self::WrongChallenge => f.write_str("auth answers another challenge"),
            Self::InvalidAccountKey => f.write_str("account public key is not a valid Ed25519 key"),
            Self::BadSignature => f.write_str("account signature does not verify"),
        }
    }
}

impl core::error::Error for Error {}
