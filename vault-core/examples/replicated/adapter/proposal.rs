//! What the replicated log carries and what the state machine answers, with the encoding of answers and
//! principals for snapshots.

use core::fmt;
use std::convert::Infallible;

use backup_protocol::DecodeError;
use backup_protocol::codec::Reader;
use vault_core::{Response, VaultError};
use zeroize::Zeroizing;

/// Names one client (one device session) for idempotency. Chosen at random by the client.
pub(crate) type ClientId = [u8; 16];

/// The payload of one log entry: a vault command in its log encoding ([`vault_core::Command::to_bytes`], with
/// the principal the transport authenticated and the time and entropy the leader chose) and the client's part of
/// the idempotency key (`client`, `seq`).
///
/// The key is what makes a retry free: the state machine applies each (principal, client, seq) once and answers
/// a second proposal of it with the outcome it stored the first time, if the request is the same (see
/// [`crate::adapter::state_machine`]). The principal is not a field here: the state machine reads it from the
/// command, so the key's owner is by construction the account the vault authorizes the command for, and no
/// request can name it.
#[derive(Clone)]
pub(crate) struct Proposal {
    /// Which of the principal's device sessions asked.
    pub(crate) client: ClientId,
    /// The client's request number: a new request takes the next number, a retry reuses it.
    pub(crate) seq: u64,
    /// `Command::to_bytes()`. Holds the command's entropy, so it is zeroized on drop.
    pub(crate) command: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Proposal {
    // The command holds the entropy that determines OPAQUE server key shares: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proposal")
            .field("seq", &self.seq)
            .field("command_len", &self.command.len())
            .finish_non_exhaustive()
    }
}

/// What the state machine produced for one client command: the vault's response or why it refused.
pub(crate) type Outcome = Result<Response, Refusal>;

/// A refusal as the cluster reports it to clients. The vault's typed refusals that a client acts on are kept as
/// they are; the rest (malformed messages, failed authentication, ...) keep the vault's message, which never
/// holds secret material. A stored outcome must survive a snapshot, hence a type that encodes to bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// [`VaultError::Locked`].
    Locked,
    /// [`VaultError::NoPendingRegistration`].
    NoPendingRegistration,
    /// [`VaultError::ChallengeExpired`].
    ChallengeExpired,
    /// [`VaultError::UnknownSession`].
    UnknownSession,
    /// [`VaultError::SessionExpired`].
    SessionExpired,
    /// [`VaultError::Superseded`].
    Superseded,
    /// Any other refusal of the vault, with its message.
    Rejected(String),
    /// [`VaultError::Forbidden`]: the principal may not make this request.
    Forbidden,
    /// [`VaultError::PrincipalPendingFull`].
    PrincipalPendingFull,
    /// [`VaultError::PendingFull`].
    PendingFull,
    /// The proposal's `seq` is older than the client's last applied request, whose outcome replaced it: it was
    /// not applied.
    Stale,
    /// The proposal's key is the client's last applied one but its request is not the one applied under it: it was
    /// not applied, and the stored outcome (another request's) was not returned.
    KeyReused,
}

impl From<VaultError<Infallible>> for Refusal {
    fn from(error: VaultError<Infallible>) -> Self {
        Self::from_vault(error).unwrap_or_else(|never| match never {})
    }
}

impl Refusal {
    /// The refusal a vault error is, or the store's failure (`Err`), which refuses nothing: the command was not
    /// applied, and a replica must not record an outcome for it.
    pub(crate) fn from_vault<E: fmt::Display>(error: VaultError<E>) -> Result<Self, E> {
        Ok(match error {
            VaultError::Store(error) => return Err(error),
            VaultError::Locked => Self::Locked,
            VaultError::NoPendingRegistration => Self::NoPendingRegistration,
            VaultError::ChallengeExpired => Self::ChallengeExpired,
            VaultError::UnknownSession => Self::UnknownSession,
            VaultError::SessionExpired => Self::SessionExpired,
            VaultError::Superseded => Self::Superseded,
            VaultError::Forbidden => Self::Forbidden,
            VaultError::PrincipalPendingFull => Self::PrincipalPendingFull,
            VaultError::PendingFull => Self::PendingFull,
            other => Self::Rejected(other.to_string()),
        })
    }
}

/// Outcome codes in a snapshot.
mod code {
    /// A response, in vault-core's encoding (`Response::to_bytes`).
    pub(super) const RESPONSE: u8 = 1;
    pub(super) const LOCKED: u8 = 0x81;
    pub(super) const NO_PENDING_REGISTRATION: u8 = 0x82;
    pub(super) const CHALLENGE_EXPIRED: u8 = 0x83;
    pub(super) const UNKNOWN_SESSION: u8 = 0x84;
    pub(super) const SESSION_EXPIRED: u8 = 0x85;
    pub(super) const SUPERSEDED: u8 = 0x86;
    pub(super) const REJECTED: u8 = 0x87;
    pub(super) const STALE: u8 = 0x88;
    pub(super) const KEY_REUSED: u8 = 0x89;
    pub(super) const FORBIDDEN: u8 = 0x8a;
    pub(super) const PRINCIPAL_PENDING_FULL: u8 = 0x8b;
    pub(super) const PENDING_FULL: u8 = 0x8c;
}

/// Appends `u32be(len) || bytes`.
pub(crate) fn put_u32_vec(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("snapshot fields are far below 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Reads `u32be(len) || bytes`.
pub(crate) fn u32_vec<'a>(reader: &mut Reader<'a>) -> Result<&'a [u8], DecodeError> {
    let len = reader.u32()?;
    reader.take(usize::try_from(len).map_err(|_| DecodeError::Truncated)?)
}

/// Appends the encoding of an outcome: `code || fields`; a response is vault-core's encoding prefixed by a
/// four-byte length.
pub(crate) fn put_outcome(out: &mut Vec<u8>, outcome: &Outcome) {
    match outcome {
        Ok(response) => {
            out.push(code::RESPONSE);
            put_u32_vec(out, &response.to_bytes());
        }
        Err(Refusal::Locked) => out.push(code::LOCKED),
        Err(Refusal::NoPendingRegistration) => out.push(code::NO_PENDING_REGISTRATION),
        Err(Refusal::ChallengeExpired) => out.push(code::CHALLENGE_EXPIRED),
        Err(Refusal::UnknownSession) => out.push(code::UNKNOWN_SESSION),
        Err(Refusal::SessionExpired) => out.push(code::SESSION_EXPIRED),
        Err(Refusal::Superseded) => out.push(code::SUPERSEDED),
        Err(Refusal::Rejected(message)) => {
            out.push(code::REJECTED);
            put_u32_vec(out, message.as_bytes());
        }
        Err(Refusal::Stale) => out.push(code::STALE),
        Err(Refusal::KeyReused) => out.push(code::KEY_REUSED),
        Err(Refusal::Forbidden) => out.push(code::FORBIDDEN),
        Err(Refusal::PrincipalPendingFull) => out.push(code::PRINCIPAL_PENDING_FULL),
        Err(Refusal::PendingFull) => out.push(code::PENDING_FULL),
    }
}

/// Reads an outcome written by [`put_outcome`]. Total: any input gives an outcome or an error.
pub(crate) fn read_outcome(reader: &mut Reader<'_>) -> Result<Outcome, DecodeError> {
    Ok(match reader.u8()? {
        code::RESPONSE => Ok(Response::from_bytes(u32_vec(reader)?)?),
        code::LOCKED => Err(Refusal::Locked),
        code::NO_PENDING_REGISTRATION => Err(Refusal::NoPendingRegistration),
        code::CHALLENGE_EXPIRED => Err(Refusal::ChallengeExpired),
        code::UNKNOWN_SESSION => Err(Refusal::UnknownSession),
        code::SESSION_EXPIRED => Err(Refusal::SessionExpired),
        code::SUPERSEDED => Err(Refusal::Superseded),
        code::REJECTED => Err(Refusal::Rejected(
            String::from_utf8(u32_vec(reader)?.to_vec()).map_err(|_| DecodeError::InvalidField("refusal message"))?,
        )),
        code::STALE => Err(Refusal::Stale),
        code::KEY_REUSED => Err(Refusal::KeyReused),
        code::FORBIDDEN => Err(Refusal::Forbidden),
        code::PRINCIPAL_PENDING_FULL => Err(Refusal::PrincipalPendingFull),
        code::PENDING_FULL => Err(Refusal::PendingFull),
        _ => return Err(DecodeError::InvalidField("outcome code")),
    })
}
