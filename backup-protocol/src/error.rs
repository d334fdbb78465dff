//! Typed errors. None of them carries or prints secret material: a variant names what failed, never with what.

use core::fmt;

/// Why a byte string is not a valid encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before the encoding does.
    Truncated,
    /// Bytes follow a complete encoding.
    TrailingBytes,
    /// The version byte names an older version that this crate no longer accepts.
    LegacyVersion {
        /// The version byte found.
        found: u8,
    },
    /// The version byte names a version newer than this crate knows.
    UnknownVersion {
        /// The version byte found.
        found: u8,
    },
    /// The type code names a different message or record.
    WrongType {
        /// The type code this parser reads.
        expected: u8,
        /// The type code found.
        found: u8,
    },
    /// A field has the right length but an invalid value (for example, not a group element).
    InvalidField(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input is truncated"),
            Self::TrailingBytes => f.write_str("trailing bytes after the encoding"),
            Self::LegacyVersion { found } => write!(f, "version {found} is no longer supported"),
            Self::UnknownVersion { found } => write!(f, "version {found} is newer than this implementation"),
            Self::WrongType { expected, found } => {
                write!(f, "type code {found:#04x} where {expected:#04x} was expected")
            }
            Self::InvalidField(field) => write!(f, "invalid {field}"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Errors of the key-wrap protocol: decoding, verification and authentication failures.
///
/// A rejected message never changes the state it was given to: every method that can fail consumes or borrows its
/// state so that the caller still holds (or can rebuild) the state from before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A message, record or key file failed to decode.
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: DecodeError,
    },
    /// A user id must be 1 to 255 bytes long.
    InvalidUserId,
    /// The Argon2id parameters are not valid Argon2id parameters.
    InvalidKsfParams,
    /// The Argon2id parameters are valid but outside the caller's policy (too weak, or too costly to run).
    KsfParamsRejected,
    /// A pinned Ed25519 key is refused by the one key rule (SPEC §1): not the canonical encoding of a curve point,
    /// of small order (it would accept forged signatures), or not on the curve.
    WeakPinnedKey,
    /// The vault's signature does not verify under the pinned fleet key: the response was forged, tampered with,
    /// replayed from another exchange, or comes from a vault outside the fleet.
    BadVaultSignature,
    /// The OPAQUE server public key in the response is not the pinned one.
    UnpinnedServerKey,
    /// The message belongs to a different user than the exchange it was given to.
    UserMismatch,
    /// The registration upload answers a different challenge than the one the vault issued.
    ChallengeMismatch,
    /// The password is wrong (or the stored envelope was altered): OPAQUE could not open the envelope.
    WrongPassword {
        /// How many more logins the vault will answer before it destroys the record, as the vault signed it in
        /// this login's response (this wrong guess already counted).
        guesses_remaining: u32,
    },
    /// The vault could not authenticate the client's key-exchange finalization.
    ClientAuthenticationFailed,
    /// The sealed key release does not decrypt under the login session key.
    KeyReleaseRejected,
    /// The wrapped backup key does not decrypt under the key derived from the OPAQUE export key.
    WrappedKeyRejected,
    /// The client proved the password, but the vault no longer holds the record (destroyed, deleted or replaced
    /// since the login started).
    RecordUnavailable,
    /// The login was started for another purpose (retrieval versus deletion).
    WrongPurpose,
    /// The vault's registration or deletion receipt does not verify: forged, from another exchange, or altered.
    /// Nothing proves that the vault stored the upload (or deleted the record).
    ReceiptRejected,
    /// The OPAQUE library rejected the exchange for another reason (for example a reflected OPRF element).
    Opaque,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode { what, reason } => write!(f, "cannot decode {what}: {reason}"),
            Self::InvalidUserId => f.write_str("user id must be 1 to 255 bytes"),
            Self::InvalidKsfParams => f.write_str("invalid Argon2id parameters"),
            Self::KsfParamsRejected => f.write_str("Argon2id parameters outside the accepted policy"),
            Self::WeakPinnedKey => f.write_str("pinned Ed25519 key is not a canonical, large-order curve point"),
            Self::BadVaultSignature => f.write_str("vault signature does not verify under the pinned fleet key"),
            Self::UnpinnedServerKey => f.write_str("OPAQUE server key is not the pinned key"),
            Self::UserMismatch => f.write_str("message is for a different user"),
            Self::ChallengeMismatch => f.write_str("registration challenge does not match"),
            Self::WrongPassword { guesses_remaining } => {
                write!(f, "wrong password ({guesses_remaining} guesses remaining)")
            }
            Self::ClientAuthenticationFailed => f.write_str("client authentication failed"),
            Self::KeyReleaseRejected => f.write_str("key release does not decrypt under the session key"),
            Self::WrappedKeyRejected => f.write_str("wrapped backup key does not decrypt"),
            Self::RecordUnavailable => f.write_str("record no longer available"),
            Self::WrongPurpose => f.write_str("login was started for another purpose"),
            Self::ReceiptRejected => f.write_str("vault receipt does not verify"),
            Self::Opaque => f.write_str("OPAQUE protocol error"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Decode { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Wraps a [`DecodeError`] with the name of what was being decoded.
pub(crate) fn decode(what: &'static str) -> impl Fn(DecodeError) -> Error {
    move |reason| Error::Decode { what, reason }
}

/// Errors of the streaming backup-file encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream header failed to decode.
    Header(DecodeError),
    /// A segment failed authentication: it was altered, reordered, moved from another file, or data was appended
    /// after the final segment.
    SegmentRejected {
        /// Zero-based index of the segment.
        index: u32,
    },
    /// The stream ended before its final segment.
    Truncated,
    /// The stream would need more than 2^32 segments.
    TooLong,
    /// An earlier call failed; the stream cannot continue.
    Poisoned,
    /// [`SegmentEncryptor::finish_in_place`](crate::SegmentEncryptor::finish_in_place) was given a last segment
    /// longer than a segment, or an empty one after full segments (only an empty file ends with an empty segment):
    /// the file would not decrypt. Nothing was encrypted.
    InvalidLastSegment,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(reason) => write!(f, "invalid stream header: {reason}"),
            Self::SegmentRejected { index } => write!(f, "segment {index} failed authentication"),
            Self::Truncated => f.write_str("stream is truncated: its final segment is missing"),
            Self::TooLong => f.write_str("stream exceeds 2^32 segments"),
            Self::Poisoned => f.write_str("stream already failed"),
            Self::InvalidLastSegment => {
                f.write_str("the last segment holds 1 to 65536 bytes, or none for an empty file")
            }
        }
    }
}

impl core::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Header(reason) => Some(reason),
            _ => None,
        }
    }
}

/// Errors of recovery-key parsing. Positions are reported, never the characters themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoveryKeyError {
    /// A character that is neither a hexadecimal digit nor an accepted separator (whitespace or `-`).
    InvalidCharacter {
        /// Zero-based character position in the input.
        position: usize,
    },
    /// The input does not hold exactly 64 hexadecimal digits.
    WrongLength {
        /// How many hexadecimal digits were found.
        digits: usize,
    },
}

impl fmt::Display for RecoveryKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCharacter { position } => {
                write!(f, "character {position} is not a hexadecimal digit")
            }
            Self::WrongLength { digits } => {
                write!(f, "recovery key has {digits} digits; it must have 64")
            }
        }
    }
}

impl core::error::Error for RecoveryKeyError {}
