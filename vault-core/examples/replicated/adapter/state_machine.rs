//! A replica's state machine: a [`Vault`] over its own [`MemoryStore`], plus the table of the last request of
//! each client, and snapshots of both.
//!
//! ## Why a retry costs no guess
//!
//! Every proposal carries an idempotency key: the principal the transport authenticated (inside the command, put
//! there by the leader), and the client id and seq the client chose. Applying a proposal whose key the table
//! already holds does not run the vault again: it answers with the outcome stored when the key was first applied.
//! So a client whose reply was lost (dropped after commit, leader crash, timeout) retries with the same key and
//! gets the very response the guess it paid for produced, instead of paying a second guess for a second response.
//! The table is replicated state like the vault's store (same log, same decisions on every replica) and is part
//! of every snapshot: a replica restored from a snapshot must make the same apply-or-answer decision as the
//! others, or the stores would diverge.
//!
//! ## Why the key holds the principal and the table a hash of the request
//!
//! The client id and seq are chosen by whoever sends the request. Keyed by them alone, another account could
//! send a victim's (client, seq) and be answered with the victim's stored outcome (a login session id and
//! response), or send a higher seq and make the victim's own next request `Stale`. With the principal in the key,
//! an account only ever reads and advances its own entries. And a key is a promise that the request is the same:
//! the entry keeps a SHA-256 of the request (principal and request, without the leader's time and entropy, which
//! differ between a request and its retry), and a proposal with a used key but another request is refused
//! (`KeyReused`) rather than answered with the outcome of a request it is not.
//!
//! The alternative, letting the retry look up the outcome of "its" log entry, needs the client to learn the entry's
//! index, which is exactly what a lost reply does not tell it; an idempotency key the client chooses up front does
//! not have that gap.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use backup_protocol::DecodeError;
use backup_protocol::codec::{self, Reader};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{BasicNode, Entry, EntryPayload, LogId, OptionalSend, StorageError, StorageIOError, StoredMembership};
use sha2::{Digest, Sha256};
use vault_core::{Command, FleetKeys, MemoryStore, Principal, Store, Vault, VaultConfig, VaultError, Versioned};

use super::proposal::{ClientId, Outcome, Proposal, Refusal, put_outcome, put_u32_vec, read_outcome, u32_vec};
use super::wire::Applied;
use super::{NodeId, TypeConfig};

/// Type code of a replica snapshot (after the version byte 0x01), next to vault-core's codes 0x61 to 0x64.
const SNAPSHOT_TYPE: u8 = 0x65;

/// Whose table entry a proposal reads and writes: the idempotency key without its seq.
pub(crate) type SessionKey = (Principal, ClientId);

/// Length of a request digest.
pub(crate) const DIGEST_LEN: usize = 32;

/// Table entries one principal may hold: client ids are chosen by the client, so without a bound one account could
/// grow every replica's table (and every snapshot) at will. A legitimate account has a few devices.
pub(crate) const CLIENTS_PER_PRINCIPAL: usize = 8;

/// The last request a client had applied, and what it produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Session {
    /// The request's number.
    pub(crate) seq: u64,
    /// The `at_ms` of the command that applied it: which of a principal's entries is oldest, the same on every
    /// replica.
    pub(crate) applied_at_ms: u64,
    /// [`request_digest`] of the request: a retry must match it to be answered with `outcome`.
    pub(crate) request: [u8; DIGEST_LEN],
    /// The outcome the vault produced when the request was applied.
    pub(crate) outcome: Outcome,
}

/// What a replica holds in memory: the vault and the idempotency table, and how far the log has been applied.
pub(crate) struct Replica {
    vault: Vault<MemoryStore>,
    sessions: BTreeMap<SessionKey, Session>,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
}

impl Replica {
    /// The vault's store.
    pub(crate) fn store(&self) -> &MemoryStore {
        self.vault.store()
    }

    /// Applies one client proposal, at most once per idempotency key.
    fn apply_proposal(&mut self, proposal: &Proposal) -> Outcome {
        match apply_proposal(&self.vault, &mut self.sessions, proposal) {
            Ok((outcome, _)) => outcome,
            Err(never) => match never {},
        }
    }

    /// The state as a value: what a snapshot holds.
    pub(crate) fn state(&self) -> ReplicaState {
        ReplicaState {
            store: self.store().snapshot(),
            last_version: self.store().last_version(),
            sessions: self.sessions.clone(),
        }
    }

    /// A replica holding `state`, applied up to `last_applied`.
    fn restored(
        keys: FleetKeys,
        config: VaultConfig,
        state: ReplicaState,
        last_applied: Option<LogId<NodeId>>,
        membership: StoredMembership<NodeId, BasicNode>,
    ) -> Self {
        Self {
            vault: Vault::new(keys, config, MemoryStore::restore(state.store, state.last_version)),
            sessions: state.sessions,
            last_applied,
            membership,
        }
    }
}

/// What applying one proposal changed in the idempotency table: the entry it wrote and the one it dropped to make
/// room, for a replica that keeps the table on disk entry by entry, and how to take the change back.
#[derive(Debug, Default)]
pub(crate) struct TableChange {
    pub(crate) written: Option<SessionKey>,
    pub(crate) dropped: Option<SessionKey>,
    /// Each key the change touched with what it held before, in the order of the changes: restored in reverse
    /// order, they give the table as it was (for a replica whose write of the change to disk failed).
    pub(crate) undo: Vec<(SessionKey, Option<Session>)>,
}

impl TableChange {
    /// Restores in `sessions` what the change replaced.
    pub(crate) fn undo(self, sessions: &mut BTreeMap<SessionKey, Session>) {
        for (key, before) in self.undo.into_iter().rev() {
            match before {
                Some(session) => sessions.insert(key, session),
                None => sessions.remove(&key),
            };
        }
    }
}

/// Applies one client proposal to `vault` and `sessions`, at most once per idempotency key (the rules of the module
/// doc). `Err` is the store's failure: the command was not applied and `sessions` is unchanged.
pub(crate) fn apply_proposal<S: Store>(
    vault: &Vault<S>,
    sessions: &mut BTreeMap<SessionKey, Session>,
    proposal: &Proposal,
) -> Result<(Outcome, TableChange), S::Error>
where
    S::Error: fmt::Display,
{
    let unchanged = TableChange::default();
    let command = match Command::from_bytes(&proposal.command) {
        Ok(command) => command,
        // The leader encoded it, so only a leader bug gets here; without a principal there is no entry to
        // record it under, and the vault would refuse it the same way.
        Err(error) => return Ok((Err(Refusal::from(VaultError::<Infallible>::Command(error))), unchanged)),
    };
    // The principal the transport authenticated, never a value the request chose.
    let key = (command.principal.clone(), proposal.client);
    let request = request_digest(&command);
    match sessions.get(&key) {
        // A retry of the last request: the stored answer, without running the vault (no second guess).
        Some(session) if session.seq == proposal.seq && session.request == request => {
            return Ok((session.outcome.clone(), unchanged));
        }
        // The last key with another request: answering it with the stored outcome would hand out a response
        // to a request that was never applied, and applying it would overwrite the outcome the first
        // request's retry needs.
        Some(session) if session.seq == proposal.seq => return Ok((Err(Refusal::KeyReused), unchanged)),
        // Older than the last request: its outcome is gone; applying it now would be a new, unseen guess.
        Some(session) if session.seq > proposal.seq => return Ok((Err(Refusal::Stale), unchanged)),
        _ => {}
    }
    let outcome = match vault.apply(&command) {
        Ok(response) => Ok(response),
        Err(error) => Err(Refusal::from_vault(error)?),
    };
    let mut undo = Vec::new();
    let dropped = if sessions.contains_key(&key) {
        None
    } else {
        make_room_for(sessions, &key.0).map(|(dropped, session)| {
            undo.push((dropped.clone(), Some(session)));
            dropped
        })
    };
    let before = sessions.insert(
        key.clone(),
        Session {
            seq: proposal.seq,
            applied_at_ms: command.at_ms,
            request,
            outcome: outcome.clone(),
        },
    );
    undo.push((key.clone(), before));
    Ok((
        outcome,
        TableChange {
            written: Some(key),
            dropped,
            undo,
        },
    ))
}

/// Drops `principal`'s oldest entry (earliest `applied_at_ms`, then lowest client id) if it holds
/// [`CLIENTS_PER_PRINCIPAL`] already, and returns its key and what it held. Only log order decides, so every
/// replica drops the same one; the client that loses its entry has not been heard from for longest, and a retry of
/// its last request would be applied afresh (a new guess for a login start).
fn make_room_for(sessions: &mut BTreeMap<SessionKey, Session>, principal: &Principal) -> Option<(SessionKey, Session)> {
    let entries = sessions.range((principal.clone(), [0; 16])..=(principal.clone(), [0xff; 16]));
    let (count, oldest) = entries.fold(
        (0, None),
        |(count, oldest): (usize, Option<(u64, ClientId)>), (key, session)| {
            let candidate = (session.applied_at_ms, key.1);
            (
                count + 1,
                Some(oldest.map_or(candidate, |oldest| oldest.min(candidate))),
            )
        },
    );
    if count < CLIENTS_PER_PRINCIPAL {
        return None;
    }
    let key = (principal.clone(), oldest?.1);
    let session = sessions.remove(&key)?;
    Some((key, session))
}

/// Appends a session's encoding after its key: `seq (8) || applied_at_ms (8) || request (32) || outcome`.
pub(crate) fn put_session(out: &mut Vec<u8>, session: &Session) {
    out.extend_from_slice(&session.seq.to_be_bytes());
    out.extend_from_slice(&session.applied_at_ms.to_be_bytes());
    out.extend_from_slice(&session.request);
    put_outcome(out, &session.outcome);
}

/// Reads what [`put_session`] wrote.
pub(crate) fn read_session(reader: &mut Reader<'_>) -> Result<Session, DecodeError> {
    Ok(Session {
        seq: reader.u64()?,
        applied_at_ms: reader.u64()?,
        request: reader.array()?,
        outcome: read_outcome(reader)?,
    })
}

/// SHA-256 of what identifies a request across retries: the command's encoding with `at_ms` and `entropy` set to
/// zero, that is the principal and the request. The leader draws a new time and entropy for every proposal, so a
/// retry of the same request differs from the first proposal only there.
pub(crate) fn request_digest(command: &Command) -> [u8; DIGEST_LEN] {
    let mut request = command.clone();
    request.at_ms = 0;
    request.entropy = [0; vault_core::ENTROPY_LEN];
    Sha256::digest(request.to_bytes()).into()
}

/// What a replica's state machine holds, as a value: the content of a snapshot, and what tests compare between
/// replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReplicaState {
    /// The vault's store: every key with its version and value.
    pub(crate) store: BTreeMap<Vec<u8>, Versioned>,
    /// The store's version counter ([`MemoryStore::last_version`]).
    pub(crate) last_version: u64,
    /// The idempotency table.
    pub(crate) sessions: BTreeMap<SessionKey, Session>,
}

impl ReplicaState {
    /// `0x01 || 0x65 || last_version (8) || count (4) || entries || count (4) || sessions`, where an entry is
    /// `u32be(len) || key || version (8) || u32be(len) || value` and a session is
    /// `owner || client (16) || seq (8) || request digest (32) || outcome` (owner: `0x01 || len8(id) || id` or
    /// `0x02`). The log position and membership travel in openraft's snapshot meta.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(SNAPSHOT_TYPE, 4096);
        out.extend_from_slice(&self.last_version.to_be_bytes());
        out.extend_from_slice(&count(self.store.len()).to_be_bytes());
        for (key, entry) in &self.store {
            put_u32_vec(&mut out, key);
            out.extend_from_slice(&entry.version.to_be_bytes());
            put_u32_vec(&mut out, &entry.value);
        }
        out.extend_from_slice(&count(self.sessions.len()).to_be_bytes());
        for ((owner, client), session) in &self.sessions {
            put_u32_vec(&mut out, &owner.to_bytes());
            out.extend_from_slice(client);
            put_session(&mut out, session);
        }
        out
    }

    /// Decodes [`ReplicaState::to_bytes`]. Total: any input gives a state or an error.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, SNAPSHOT_TYPE)?;
        let last_version = reader.u64()?;
        let mut store = BTreeMap::new();
        for _ in 0..reader.u32()? {
            let key = u32_vec(&mut reader)?.to_vec();
            let version = reader.u64()?;
            let value = u32_vec(&mut reader)?.to_vec();
            if store.insert(key, Versioned { version, value }).is_some() {
                return Err(DecodeError::InvalidField("duplicate store key"));
            }
        }
        let mut sessions = BTreeMap::new();
        for _ in 0..reader.u32()? {
            let owner = Principal::from_bytes(u32_vec(&mut reader)?)?;
            let client = reader.array()?;
            let session = read_session(&mut reader)?;
            if sessions.insert((owner, client), session).is_some() {
                return Err(DecodeError::InvalidField("duplicate session key"));
            }
        }
        reader.finish()?;
        Ok(Self {
            store,
            last_version,
            sessions,
        })
    }
}

fn count(len: usize) -> u32 {
    u32::try_from(len).expect("fewer than 2^32 keys and clients")
}

/// A snapshot as persisted on a node's disk.
#[derive(Clone, Debug)]
pub(crate) struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

/// The snapshot part of a node's disk: survives a restart of the node (the replica in memory does not).
#[derive(Clone, Debug, Default)]
pub(crate) struct SnapshotDisk {
    current: Arc<Mutex<Option<StoredSnapshot>>>,
}

impl SnapshotDisk {
    /// An independent copy of what is on disk now (for the rollback test).
    pub(crate) fn image(&self) -> Self {
        Self {
            current: Arc::new(Mutex::new(lock(&self.current).clone())),
        }
    }
}

/// The state machine openraft drives. Clones share the replica (the snapshot builder is a clone).
#[derive(Clone)]
pub(crate) struct StateMachine {
    replica: Arc<Mutex<Replica>>,
    disk: SnapshotDisk,
    snapshots_built: Arc<Mutex<u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No critical section here can leave its data half-updated for a later reader to trip over.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn corrupt(error: DecodeError) -> StorageError<NodeId> {
    StorageIOError::read_snapshot(None, &error).into()
}

impl StateMachine {
    /// A replica starting from what `disk` holds: its last snapshot, or nothing. Entries after the snapshot are
    /// re-applied from the log by openraft.
    pub(crate) fn open(keys: FleetKeys, config: VaultConfig, disk: SnapshotDisk) -> Result<Self, DecodeError> {
        let stored = lock(&disk.current).clone();
        let replica = match stored {
            None => Replica {
                vault: Vault::new(keys, config, MemoryStore::new()),
                sessions: BTreeMap::new(),
                last_applied: None,
                membership: StoredMembership::default(),
            },
            Some(stored) => Replica::restored(
                keys,
                config,
                ReplicaState::from_bytes(&stored.data)?,
                stored.meta.last_log_id,
                stored.meta.last_membership,
            ),
        };
        Ok(Self {
            replica: Arc::new(Mutex::new(replica)),
            disk,
            snapshots_built: Arc::default(),
        })
    }

    /// Reads the replica (for tests and the example: store contents, attempt counters).
    pub(crate) fn read<T>(&self, read: impl FnOnce(&Replica) -> T) -> T {
        read(&lock(&self.replica))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (data, last_applied, membership) = {
            let replica = lock(&self.replica);
            (
                replica.state().to_bytes(),
                replica.last_applied,
                replica.membership.clone(),
            )
        };
        let built = {
            let mut built = lock(&self.snapshots_built);
            *built += 1;
            *built
        };
        let snapshot_id = match last_applied {
            Some(log_id) => format!("{}-{}-{built}", log_id.leader_id, log_id.index),
            None => format!("none-{built}"),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        *lock(&self.disk.current) = Some(StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        });
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>> {
        let replica = lock(&self.replica);
        Ok((replica.last_applied, replica.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut replica = lock(&self.replica);
        let mut outcomes = Vec::new();
        for entry in entries {
            replica.last_applied = Some(entry.log_id);
            outcomes.push(Applied(match &entry.payload {
                EntryPayload::Blank => None,
                EntryPayload::Normal(proposal) => Some(replica.apply_proposal(proposal)),
                EntryPayload::Membership(membership) => {
                    replica.membership = StoredMembership::new(Some(entry.log_id), membership.clone());
                    None
                }
            }));
        }
        Ok(outcomes)
    }

    async fn get_snapshot_builder(&mut self) -> Self {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let state = ReplicaState::from_bytes(&data).map_err(corrupt)?;
        {
            let mut replica = lock(&self.replica);
            let (keys, config) = (replica.vault.keys().clone(), *replica.vault.config());
            *replica = Replica::restored(keys, config, state, meta.last_log_id, meta.last_membership.clone());
        }
        *lock(&self.disk.current) = Some(StoredSnapshot {
            meta: meta.clone(),
            data,
        });
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(lock(&self.disk.current).clone().map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}
