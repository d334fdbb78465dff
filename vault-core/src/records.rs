//! What the vault keeps in its store, and under which keys.
//!
//! | key | value |
//! |---|---|
//! | `"user/" || user id` | [`UserState`]: the backup record and its attempt counter, or the tombstone of a locked one |
//! | `"pending/" || user id` | [`StoredPending`]: the registration challenge in flight |
//! | `"login/" || len8(user id) || user id || session id (16)` | [`StoredLogin`]: a login between its two messages |
//! | `"ipls/" || account id` | [`EscrowedKey`]: the account's IPLS contact key CK |
//! | `"ipls-session/" || len8(account id) || account id || challenge (32)` | [`StoredEscrowSession`]: an IPLS escrow session between its messages (secret) |
//! | `"kt-head"` | [`KtHead`]: the newest key-transparency root the vault accepted |
//! | `"pending-count"` | [`PendingCount`]: how many registration challenges, login sessions and escrow sessions are stored |
//!
//! Sessions are stored under the account that opened them, so that a command can reach only its own principal's
//! sessions and the vault can count them (per-principal cap) by listing one short prefix.
//!
//! Every value is `version (0x01) || type code || fields`, with no trailing bytes.

use std::vec::Vec;

use backup_protocol::codec::{self, Reader};
use backup_protocol::{BackupRecord, DecodeError, PendingRegistration, UserId, VaultLoginState};
#[cfg(feature = "ipls")]
use ipls::{AccountId, CHALLENGE_LEN, ContactKey, PendingEscrow};

use crate::principal::put_user_id;
use zeroize::Zeroizing;

/// Length of a login session id.
pub const SESSION_ID_LEN: usize = 16;

/// Type codes of the stored values.
mod type_code {
    pub(super) const USER_STATE: u8 = 0x61;
    pub(super) const PENDING: u8 = 0x62;
    pub(super) const LOGIN: u8 = 0x63;
    // 0x64 is the fleet key file.
    #[cfg(feature = "ipls")]
    pub(super) const ESCROWED_KEY: u8 = 0x65;
    pub(super) const ESCROW_SESSION: u8 = 0x66;
    #[cfg(feature = "ipls")]
    pub(super) const KT_HEAD: u8 = 0x67;
    pub(super) const PENDING_COUNT: u8 = 0x68;
}

pub(crate) fn user_key(user_id: &UserId) -> Vec<u8> {
    [b"user/".as_slice(), user_id.as_bytes()].concat()
}

pub(crate) const PENDING_PREFIX: &[u8] = b"pending/";
pub(crate) const LOGIN_PREFIX: &[u8] = b"login/";
pub(crate) const ESCROW_SESSION_PREFIX: &[u8] = b"ipls-session/";

pub(crate) fn pending_key(user_id: &UserId) -> Vec<u8> {
    [PENDING_PREFIX, user_id.as_bytes()].concat()
}

/// `prefix || len8(owner) || owner`: where one account's sessions of one kind are stored.
pub(crate) fn sessions_of(prefix: &[u8], owner: &UserId) -> Vec<u8> {
    // Room for the longest session id that follows (an escrow challenge, 32 bytes).
    let mut key = Vec::with_capacity(prefix.len() + 1 + owner.as_bytes().len() + 32);
    key.extend_from_slice(prefix);
    put_user_id(&mut key, owner);
    key
}

pub(crate) fn login_key(owner: &UserId, session: &[u8; SESSION_ID_LEN]) -> Vec<u8> {
    let mut key = sessions_of(LOGIN_PREFIX, owner);
    key.extend_from_slice(session);
    key
}

#[cfg(feature = "ipls")]
pub(crate) fn escrowed_key_key(account: &AccountId) -> Vec<u8> {
    [b"ipls/".as_slice(), account.as_bytes()].concat()
}

#[cfg(feature = "ipls")]
pub(crate) fn escrow_session_key(owner: &UserId, challenge: &[u8; CHALLENGE_LEN]) -> Vec<u8> {
    let mut key = sessions_of(ESCROW_SESSION_PREFIX, owner);
    key.extend_from_slice(challenge);
    key
}

/// When a stored challenge or session was issued: the first field of each (`issued_at_ms`), read without decoding
/// the rest. Total.
pub(crate) fn issued_at_ms(value: &[u8], type_byte: u8) -> Result<u64, DecodeError> {
    Reader::header(value, type_byte)?.u64()
}

/// The type codes of the values that expire, for the sweep.
pub(crate) const PENDING_TYPE: u8 = type_code::PENDING;
pub(crate) const LOGIN_TYPE: u8 = type_code::LOGIN;
pub(crate) const ESCROW_SESSION_TYPE: u8 = type_code::ESCROW_SESSION;

#[cfg(feature = "ipls")]
pub(crate) const KT_HEAD_KEY: &[u8] = b"kt-head";

pub(crate) const PENDING_COUNT_KEY: &[u8] = b"pending-count";

/// How many expiring entries (registration challenges, login sessions, escrow sessions) the store holds:
/// `count (8)`. Raised before an entry is written and lowered after one is deleted, so that a failure between the
/// two writes can only leave it too high: the overall cap is never exceeded, at worst reached early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingCount(pub(crate) u64);

impl PendingCount {
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut out = codec::header(type_code::PENDING_COUNT, 8);
        out.extend_from_slice(&self.0.to_be_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::PENDING_COUNT)?;
        let count = reader.u64()?;
        reader.finish()?;
        Ok(Self(count))
    }
}

/// Appends `u16be(len) || bytes`. Every nested value here is far below 64 KiB.
pub(crate) fn put_u16_vec(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).expect("stored values are far below 64 KiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

pub(crate) fn u16_vec<'a>(reader: &mut Reader<'a>) -> Result<&'a [u8], DecodeError> {
    let len = u16::from_be_bytes(reader.array()?);
    reader.take(usize::from(len))
}

/// A nested value decoded by its own (total) parser.
fn nested<T, E>(
    reader: &mut Reader<'_>,
    parse: impl FnOnce(&[u8]) -> Result<T, E>,
    what: &'static str,
) -> Result<T, DecodeError> {
    parse(u16_vec(reader)?).map_err(|_| DecodeError::InvalidField(what))
}

/// A user's state.
///
/// `generation` counts registrations of the user id: a login session remembers the generation it started on, so a
/// record replaced or deleted meanwhile cannot be finished against.
// Decoded for one command and dropped; the size difference is irrelevant.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UserState {
    /// `0x01 || generation (8) || attempts (4) || u16be(len) || BackupRecord`.
    Active {
        generation: u64,
        attempts: u32,
        record: BackupRecord,
    },
    /// `0x02 || generation (8)`: the guesses were used up and the record (with EK) destroyed.
    Locked { generation: u64 },
    /// `0x03 || generation (8) || attempts (4)`: no record, because the user deleted it or never registered.
    /// Kept (without any key) so that generations keep counting up, so that a login begun before a deletion can
    /// never finish against a later registration, and to charge logins exactly as a record would: an account
    /// must not learn from its guess counts (or from never being locked) whether it has a backup.
    NoRecord { generation: u64, attempts: u32 },
}

impl UserState {
    pub(crate) fn generation(&self) -> u64 {
        match self {
            Self::Active { generation, .. } | Self::Locked { generation } | Self::NoRecord { generation, .. } => {
                *generation
            }
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(type_code::USER_STATE, 400);
        match self {
            Self::Active {
                generation,
                attempts,
                record,
            } => {
                out.push(0x01);
                out.extend_from_slice(&generation.to_be_bytes());
                out.extend_from_slice(&attempts.to_be_bytes());
                put_u16_vec(&mut out, &record.to_bytes());
            }
            Self::Locked { generation } => {
                out.push(0x02);
                out.extend_from_slice(&generation.to_be_bytes());
            }
            Self::NoRecord { generation, attempts } => {
                out.push(0x03);
                out.extend_from_slice(&generation.to_be_bytes());
                out.extend_from_slice(&attempts.to_be_bytes());
            }
        }
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::USER_STATE)?;
        let status = reader.u8()?;
        let generation = reader.u64()?;
        let state = match status {
            0x01 => Self::Active {
                generation,
                attempts: reader.u32()?,
                record: nested(&mut reader, BackupRecord::from_bytes, "backup record")?,
            },
            0x02 => Self::Locked { generation },
            0x03 => Self::NoRecord {
                generation,
                attempts: reader.u32()?,
            },
            _ => return Err(DecodeError::InvalidField("user status")),
        };
        reader.finish()?;
        Ok(state)
    }
}

/// A registration in flight: `issued_at_ms (8) || u16be(len) || PendingRegistration`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredPending {
    pub(crate) issued_at_ms: u64,
    pub(crate) pending: PendingRegistration,
}

impl StoredPending {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(type_code::PENDING, 300);
        out.extend_from_slice(&self.issued_at_ms.to_be_bytes());
        put_u16_vec(&mut out, &self.pending.to_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::PENDING)?;
        let issued_at_ms = reader.u64()?;
        let pending = nested(&mut reader, PendingRegistration::from_bytes, "pending registration")?;
        reader.finish()?;
        Ok(Self { issued_at_ms, pending })
    }
}

/// A login between its two messages: `issued_at_ms (8) || generation (8) || u16be(len) || VaultLoginState`.
/// `generation` is the user's generation when the login started (0 if the user had no record). Holds the OPAQUE
/// session key, never EK: the store must protect it as a secret (inside the HSM).
#[derive(Clone, Debug)]
pub(crate) struct StoredLogin {
    pub(crate) issued_at_ms: u64,
    pub(crate) generation: u64,
    pub(crate) state: VaultLoginState,
}

impl StoredLogin {
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(codec::header(type_code::LOGIN, 400));
        out.extend_from_slice(&self.issued_at_ms.to_be_bytes());
        out.extend_from_slice(&self.generation.to_be_bytes());
        put_u16_vec(&mut out, &self.state.to_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::LOGIN)?;
        let issued_at_ms = reader.u64()?;
        let generation = reader.u64()?;
        let state = nested(&mut reader, VaultLoginState::from_bytes, "vault login state")?;
        reader.finish()?;
        Ok(Self {
            issued_at_ms,
            generation,
            state,
        })
    }
}

#[cfg(feature = "ipls")]
/// An account's escrowed contact key: `CK (32)`. A secret: the store must protect it (inside the HSM).
pub(crate) struct EscrowedKey(pub(crate) ContactKey);

#[cfg(feature = "ipls")]
impl EscrowedKey {
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(codec::header(type_code::ESCROWED_KEY, 32));
        out.extend_from_slice(self.0.expose_secret());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::ESCROWED_KEY)?;
        let key = ContactKey::from_bytes(reader.array()?);
        reader.finish()?;
        Ok(Self(key))
    }
}

#[cfg(feature = "ipls")]
/// An IPLS escrow session between its two requests: `issued_at_ms (8) || u16be(len) || PendingEscrow`. Holds the
/// vault's ephemeral X25519 secret of the session: the store must protect it as a secret (inside the HSM), and the
/// session is deleted when used or swept.
#[derive(Clone, Debug)]
pub(crate) struct StoredEscrowSession {
    pub(crate) issued_at_ms: u64,
    pub(crate) pending: PendingEscrow,
}

#[cfg(feature = "ipls")]
impl StoredEscrowSession {
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let pending = self.pending.to_bytes();
        let mut out = Zeroizing::new(codec::header(type_code::ESCROW_SESSION, 8 + 2 + pending.len()));
        out.extend_from_slice(&self.issued_at_ms.to_be_bytes());
        put_u16_vec(&mut out, &pending);
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::ESCROW_SESSION)?;
        let issued_at_ms = reader.u64()?;
        let pending = nested(&mut reader, PendingEscrow::from_bytes, "pending escrow")?;
        reader.finish()?;
        Ok(Self { issued_at_ms, pending })
    }
}

#[cfg(feature = "ipls")]
/// The newest key-transparency root the vault accepted: `epoch (8) || digest (32)`. Identity proofs against an
/// older epoch, or against another digest at this epoch, are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KtHead {
    pub(crate) epoch: u64,
    pub(crate) digest: [u8; 32],
}

#[cfg(feature = "ipls")]
impl KtHead {
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut out = codec::header(type_code::KT_HEAD, 40);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.digest);
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::KT_HEAD)?;
        let head = Self {
            epoch: reader.u64()?,
            digest: reader.array()?,
        };
        reader.finish()?;
        Ok(head)
    }
}
