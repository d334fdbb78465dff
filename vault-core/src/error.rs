//! The vault's typed errors. None carries secret material.

use core::fmt;

use backup_protocol::DecodeError;

/// Why the vault refused a command.
///
/// Every variant but [`VaultError::Conflict`], [`VaultError::Store`] and [`VaultError::Locked`] is a refusal of the
/// request itself and leaves storage exactly as it was. `Locked` writes the lockout it reports (SPEC §4,
/// LoginStart step 2: the record and its EK are destroyed). `Conflict` and `Store` are infrastructure failures: the
/// command may be retried with fresh time and entropy; no response was released.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VaultError<E> {
    /// The command bytes do not decode.
    Command(DecodeError),
    /// The command's principal may not make this request: an account acting on another account's entry, an
    /// account sending an operator command, or the operator sending a user's request. Checked before anything
    /// is read.
    Forbidden,
    /// The principal already has as many registration challenges, login sessions and escrow sessions in flight as
    /// [`VaultConfig::max_pending_per_principal`](crate::VaultConfig) allows; finishing or sweeping them makes room.
    PrincipalPendingFull,
    /// The vault holds as many registration challenges, login sessions and escrow sessions as
    /// [`VaultConfig::max_pending_total`](crate::VaultConfig) allows; a sweep of expired ones makes room.
    PendingFull,
    /// The sweep cursor is not one the vault handed out (it names no sweepable entry).
    InvalidSweepCursor,
    /// A protocol message was rejected (wrong user, bad authentication, parameters outside policy, ...).
    Protocol(backup_protocol::Error),
    #[cfg(feature = "ipls")]
    /// An IPLS escrow message was rejected (addressed to another vault key, altered, bad account signature, ...).
    Ipls(ipls::Error),
    #[cfg(feature = "ipls")]
    /// The account key in an IPLS session is not proven to be the account's current key.
    Identity(IdentityError),
    #[cfg(feature = "ipls")]
    /// IPLS escrow requests need key-transparency trust ([`Vault::with_key_transparency`](crate::Vault::with_key_transparency)).
    KeyTransparencyNotConfigured,
    #[cfg(feature = "ipls")]
    /// An IPLS upload for an account whose contact key is already escrowed.
    AlreadyEscrowed,
    #[cfg(feature = "ipls")]
    /// An IPLS retrieval for an account with no escrowed contact key.
    NotEscrowed,
    /// The user's guesses are used up: the record is destroyed and no login can start.
    Locked,
    /// There is no registration in progress for this user (never started, already finished, or replaced by a
    /// newer start).
    NoPendingRegistration,
    /// The registration challenge is older than the configured lifetime.
    ChallengeExpired,
    /// No login or escrow session has this id (never started, already finished, or unknown).
    UnknownSession,
    /// The login or escrow session is older than the configured lifetime.
    SessionExpired,
    /// The record this login session was for has been replaced or deleted since it started.
    Superseded,
    /// A concurrent command changed the same record first, or the same command (same entropy) was applied a second
    /// time; nothing of this command's result was released, and a second application changed nothing.
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
            Self::Forbidden => f.write_str("the principal may not make this request"),
            Self::PrincipalPendingFull => f.write_str("too many requests in flight for this principal"),
            Self::PendingFull => f.write_str("too many requests in flight; retry later"),
            Self::InvalidSweepCursor => f.write_str("invalid sweep cursor"),
            Self::Protocol(error) => write!(f, "protocol message rejected: {error}"),
            #[cfg(feature = "ipls")]
            Self::Ipls(error) => write!(f, "IPLS message rejected: {error}"),
            #[cfg(feature = "ipls")]
            Self::Identity(error) => write!(f, "account key not proven: {error}"),
            #[cfg(feature = "ipls")]
            Self::KeyTransparencyNotConfigured => f.write_str("no key-transparency trust configured for IPLS"),
            #[cfg(feature = "ipls")]
            Self::AlreadyEscrowed => f.write_str("a contact key is already escrowed for this account"),
            #[cfg(feature = "ipls")]
            Self::NotEscrowed => f.write_str("no contact key escrowed for this account"),
            Self::Locked => f.write_str("record locked: no guesses left"),
            Self::NoPendingRegistration => f.write_str("no registration in progress"),
            Self::ChallengeExpired => f.write_str("registration challenge expired"),
            Self::UnknownSession => f.write_str("unknown session"),
            Self::SessionExpired => f.write_str("session expired"),
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
            #[cfg(feature = "ipls")]
            Self::Ipls(error) => Some(error),
            #[cfg(feature = "ipls")]
            Self::Identity(error) => Some(error),
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

#[cfg(feature = "ipls")]
/// Why an IPLS identity proof does not prove the presented account key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// The witness-signed root does not decode.
    Root(kt_verify::DecodeError),
    /// The witness signature, key or freshness check failed (a root older than the witness policy allows is
    /// refused here).
    Witness(kt_verify::WitnessError),
    /// The lookup proof does not verify against the root for this account.
    Lookup(kt_verify::ProofError),
    /// The directory holds another key for the account than the one that signed the session.
    KeyMismatch,
    /// The root is older than the newest root this vault has accepted: the account key may have changed since.
    StaleRoot {
        /// The proof's epoch.
        epoch: u64,
        /// The newest epoch the vault has accepted.
        newest: u64,
    },
    /// The root has the epoch of the newest root this vault accepted but another digest: the directory forked.
    ForkedRoot {
        /// The epoch.
        epoch: u64,
    },
}

#[cfg(feature = "ipls")]
impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root(error) => write!(f, "witness-signed root does not decode: {error}"),
            Self::Witness(error) => write!(f, "witness-signed root refused: {error}"),
            Self::Lookup(error) => write!(f, "lookup proof refused: {error}"),
            Self::KeyMismatch => f.write_str("the directory holds another key for this account"),
            Self::StaleRoot { epoch, newest } => {
                write!(f, "root at epoch {epoch} is older than the newest accepted ({newest})")
            }
            Self::ForkedRoot { epoch } => write!(f, "a different root was already accepted for epoch {epoch}"),
        }
    }
}

#[cfg(feature = "ipls")]
impl core::error::Error for IdentityError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Root(error) => Some(error),
            Self::Witness(error) => Some(error),
            Self::Lookup(error) => Some(error),
            _ => None,
        }
    }
}
