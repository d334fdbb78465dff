//! The vault's typed errors. None carries secret material.

use core::fmt;

use backup_protocol::DecodeError;

/// Why the vault refused a command.
///
/// Every variant but [`VaultError::Conflict`] and [`VaultError::Store`] is a refusal of the request itself and
/// leaves storage exactly as it was. `Conflict` and `Store` are infrastructure failures: the command may be retried
/// with fresh time and entropy; no response was released.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VaultError<E> {
    /// The command bytes do not decode.
    Command(DecodeError),
    /// A protocol message was rejected (wrong user, bad authentication, parameters outside policy, ...).
    Protocol(backup_protocol::Error),
    /// The user's guesses are used up: the record is destroyed and no login can start.
    Locked,
    /// There is no registration in progress for this user (never started, already finished, or replaced by a
    /// newer start).
    NoPendingRegistration,
    /// The registration challenge is older than the configured lifetime.
    ChallengeExpired,
    /// No login session has this id (never started, already finished, or unknown).
    UnknownSession,
    /// The login session is older than the configured lifetime.
    SessionExpired,
    /// The record this login session was for has been replaced or deleted since it started.
    Superseded,
    /// A concurrent command changed the same record first; nothing of this command's result was released.
    Conflict,
    /// A stored value does not decode: storage is corrupt or from an unknown version.
    Corrupt(&'static str),
    /// The store failed.
    Store(E),
}

impl<E: fmt::Display> fmt::Display for VaultError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Command(reason) => write!(f, "cannot decode command: {reason}"),
            Self::Protocol(error) => write!(f, "protocol message rejected: {error}"),
            Self::Locked => f.write_str("record locked: no guesses left"),
            Self::NoPendingRegistration => f.write_str("no registration in progress"),
            Self::ChallengeExpired => f.write_str("registration challenge expired"),
            Self::UnknownSession => f.write_str("unknown login session"),
            Self::SessionExpired => f.write_str("login session expired"),
            Self::Superseded => f.write_str("record changed since the login started"),
            Self::Conflict => f.write_str("concurrent update; retry"),
            Self::Corrupt(what) => write!(f, "stored {what} does not decode"),
            Self::Store(error) => write!(f, "store failed: {error}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for VaultError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Command(reason) => Some(reason),
            Self::Protocol(error) => Some(error),
            Self::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl<E> From<backup_protocol::Error> for VaultError<E> {
    fn from(error: backup_protocol::Error) -> Self {
        Self::Protocol(error)
    }
}
