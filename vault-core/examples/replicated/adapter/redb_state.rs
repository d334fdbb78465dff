//! A replica's state machine on redb: the vault's [`RedbStore`], the idempotency table and the applied log position
//! in one file, each `apply` one [`RedbStore::atomically`] batch. A SIGKILL leaves the file at the end of some
//! batch: every command up to the stored position applied with all its writes, none after it, so openraft
//! re-applies from the log exactly the entries that are not on disk (SPEC.md §14, batches) and no LoginStart is
//! charged twice.
//!
//! The table is kept as auxiliary entries, one per `(principal, client)` (`session/` + owner + client → session),
//! and the position under `raft/applied` (JSON of openraft's last applied log id and membership). Snapshots are
//! built from the file when openraft asks (content and position under one lock, so one view) and kept in memory:
//! the state they describe is on disk already, and after a restart the first request for one builds it again.

// openraft's traits return its error types as they are (200-odd bytes); the helpers here return the same types
// rather than box them only to unbox them again at the trait's boundary.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use backup_protocol::DecodeError;
use backup_protocol::codec::Reader;
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{BasicNode, Entry, EntryPayload, LogId, OptionalSend, StorageError, StorageIOError, StoredMembership};
use vault_core::{BatchError, FleetKeys, Principal, RedbBatch, RedbStore, RedbStoreError, Vault, VaultConfig};

use super::proposal::{put_u32_vec, u32_vec};
use super::state_machine::{ReplicaState, Session, SessionKey, TableChange, apply_proposal, put_session, read_session};
use super::wire::Applied;
use super::{NodeId, TypeConfig};

/// Where the applied position is kept.
const APPLIED: &[u8] = b"raft/applied";
/// Where the idempotency table's entries are kept.
const SESSION: &[u8] = b"session/";

type Failed = StorageError<NodeId>;
type Position = (Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>);

struct Durable {
    store: RedbStore,
    keys: FleetKeys,
    config: VaultConfig,
    /// The table as it is on disk (read at open, written through every batch).
    sessions: BTreeMap<SessionKey, Session>,
    position: Position,
    snapshot: Option<(SnapshotMeta<NodeId, BasicNode>, Vec<u8>)>,
    snapshots_built: u64,
}

/// The state machine openraft drives. Clones share the replica (the snapshot builder is a clone).
#[derive(Clone)]
pub(crate) struct RedbStateMachine {
    inner: Arc<Mutex<Durable>>,
}

/// Why a replica's file could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    Store(RedbStoreError),
    /// An auxiliary entry of ours does not decode.
    Corrupt(&'static str),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(error) => write!(f, "replica store: {error}"),
            Self::Corrupt(what) => write!(f, "replica store: corrupt {what}"),
        }
    }
}

impl std::error::Error for OpenError {}

fn lock(mutex: &Mutex<Durable>) -> MutexGuard<'_, Durable> {
    // A panic mid-apply may leave the idempotency table ahead of the file (the undo of a failed batch never ran), so
    // nothing may read it afterwards, not a snapshot build nor the test-mode inspection: the replica stops, and is
    // restarted from its files.
    mutex
        .lock()
        .unwrap_or_else(|_| panic!("replica state poisoned by a panic mid-apply: restart the replica from its files"))
}

fn session_key(key: &SessionKey) -> Vec<u8> {
    let mut out = SESSION.to_vec();
    put_u32_vec(&mut out, &key.0.to_bytes());
    out.extend_from_slice(&key.1);
    out
}

fn decode_session(key: &[u8], value: &[u8]) -> Result<(SessionKey, Session), DecodeError> {
    let mut reader = Reader::new(key.strip_prefix(SESSION).ok_or(DecodeError::Truncated)?);
    let owner = Principal::from_bytes(u32_vec(&mut reader)?)?;
    let client = reader.array()?;
    reader.finish()?;
    let mut reader = Reader::new(value);
    let session = read_session(&mut reader)?;
    reader.finish()?;
    Ok(((owner, client), session))
}

fn write_error(error: impl std::error::Error + 'static) -> Failed {
    StorageIOError::write_state_machine(&error).into()
}

/// A batch's error as openraft's.
fn batch_error(error: BatchError<Failed>) -> Failed {
    match error {
        BatchError::Aborted(error) => error,
        other => write_error(other),
    }
}

/// Writes the table change and nothing else.
fn persist(
    batch: &RedbBatch<'_>,
    sessions: &BTreeMap<SessionKey, Session>,
    change: &TableChange,
) -> Result<(), RedbStoreError> {
    if let Some(dropped) = &change.dropped {
        batch.set_aux(&session_key(dropped), None)?;
    }
    if let Some(written) = &change.written
        && let Some(session) = sessions.get(written)
    {
        let mut value = Vec::new();
        put_session(&mut value, session);
        batch.set_aux(&session_key(written), Some(&value))?;
    }
    Ok(())
}

fn put_position(batch: &RedbBatch<'_>, position: &Position) -> Result<(), Failed> {
    let json = serde_json::to_vec(position).map_err(write_error)?;
    batch.set_aux(APPLIED, Some(&json)).map_err(write_error)
}

impl RedbStateMachine {
    /// Opens (or creates) the replica's state in the file at `path`.
    pub(crate) fn open(path: impl AsRef<Path>, keys: FleetKeys, config: VaultConfig) -> Result<Self, OpenError> {
        let store = RedbStore::open(path).map_err(OpenError::Store)?;
        let mut sessions = BTreeMap::new();
        let mut position = (None, StoredMembership::default());
        for (key, value) in store.aux_entries().map_err(OpenError::Store)? {
            if key == APPLIED {
                position = serde_json::from_slice(&value).map_err(|_| OpenError::Corrupt("applied position"))?;
            } else {
                let (key, session) =
                    decode_session(&key, &value).map_err(|_| OpenError::Corrupt("idempotency entry"))?;
                sessions.insert(key, session);
            }
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(Durable {
                store,
                keys,
                config,
                sessions,
                position,
                snapshot: None,
                snapshots_built: 0,
            })),
        })
    }

    /// The replica's whole state (store, versions, table), as the others must hold it too.
    pub(crate) fn state(&self) -> Result<ReplicaState, RedbStoreError> {
        lock(&self.inner).state()
    }

    /// The last applied log index.
    pub(crate) fn applied_index(&self) -> Option<u64> {
        lock(&self.inner).position.0.map(|log_id| log_id.index)
    }
}

impl Durable {
    /// The state as of `position`. Only `apply` and `install_snapshot` change either, under the same lock as
    /// the caller's `&self`, so the two are one view.
    fn state(&self) -> Result<ReplicaState, RedbStoreError> {
        Ok(ReplicaState {
            store: self.store.snapshot()?,
            last_version: self.store.last_version()?,
            sessions: self.sessions.clone(),
        })
    }

    /// A snapshot of the file, kept as the current one. Content and meta come from one view (one lock held
    /// throughout): openraft builds snapshots concurrently with `apply`, and a position read after the content
    /// would claim entries the content lacks, which a follower installing it would never apply.
    fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, Failed> {
        let data = self
            .state()
            .map_err(|error| StorageIOError::read_state_machine(&error))?
            .to_bytes();
        self.snapshots_built += 1;
        let (last_applied, membership) = self.position.clone();
        let snapshot_id = match last_applied {
            Some(log_id) => format!("{}-{}-{}", log_id.leader_id, log_id.index, self.snapshots_built),
            None => format!("none-{}", self.snapshots_built),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        self.snapshot = Some((meta.clone(), data.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftSnapshotBuilder<TypeConfig> for RedbStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, Failed> {
        lock(&self.inner).build_snapshot()
    }
}

impl RaftStateMachine<TypeConfig> for RedbStateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<Position, Failed> {
        Ok(lock(&self.inner).position.clone())
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, Failed>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut guard = lock(&self.inner);
        let durable = &mut *guard;
        let (keys, config) = (durable.keys.clone(), durable.config);
        // The table is changed in place and each change kept, to be taken back if the batch fails: a copy of the
        // whole table per call would cost in proportion to the number of clients.
        let sessions = &mut durable.sessions;
        let mut changes = Vec::new();
        let mut position = durable.position.clone();
        // Every entry of this call in one batch with the position after the last: one durable commit for all.
        let outcomes = durable
            .store
            .atomically(|batch| {
                let vault = Vault::new(keys, config, batch);
                let mut outcomes = Vec::new();
                for entry in entries {
                    position.0 = Some(entry.log_id);
                    outcomes.push(Applied(match &entry.payload {
                        EntryPayload::Blank => None,
                        EntryPayload::Normal(proposal) => {
                            let (outcome, change) = apply_proposal(&vault, sessions, proposal).map_err(write_error)?;
                            let persisted = persist(batch, sessions, &change);
                            changes.push(change);
                            persisted.map_err(write_error)?;
                            Some(outcome)
                        }
                        EntryPayload::Membership(membership) => {
                            position.1 = StoredMembership::new(Some(entry.log_id), membership.clone());
                            None
                        }
                    }));
                }
                put_position(batch, &position)?;
                Ok(outcomes)
            })
            .map_err(batch_error);
        // Memory follows the file only once the batch is on disk: the table is taken back otherwise.
        if outcomes.is_err() {
            for change in changes.into_iter().rev() {
                change.undo(&mut durable.sessions);
            }
        } else {
            durable.position = position;
        }
        outcomes
    }

    async fn get_snapshot_builder(&mut self) -> Self {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, Failed> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), Failed> {
        let data = snapshot.into_inner();
        let state = ReplicaState::from_bytes(&data)
            .map_err(|error| StorageIOError::read_snapshot(Some(meta.signature()), &error))?;
        let position = (meta.last_log_id, meta.last_membership.clone());
        let mut durable = lock(&self.inner);
        let old: Vec<SessionKey> = durable.sessions.keys().cloned().collect();
        // The content, the table and the position together: a crash leaves the old state or the snapshot's.
        durable
            .store
            .atomically(|batch| {
                batch
                    .replace_all(&state.store, state.last_version)
                    .map_err(write_error)?;
                for key in &old {
                    batch.set_aux(&session_key(key), None).map_err(write_error)?;
                }
                for key in state.sessions.keys() {
                    let written = TableChange {
                        written: Some(key.clone()),
                        ..TableChange::default()
                    };
                    persist(batch, &state.sessions, &written).map_err(write_error)?;
                }
                put_position(batch, &position)
            })
            .map_err(batch_error)?;
        durable.sessions = state.sessions;
        durable.position = position;
        durable.snapshot = Some((meta.clone(), data));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, Failed> {
        let mut durable = lock(&self.inner);
        match durable.snapshot.clone() {
            Some((meta, data)) => Ok(Some(Snapshot {
                meta,
                snapshot: Box::new(Cursor::new(data)),
            })),
            // Snapshots live in memory but log purges are durable: after a restart the leader may need one
            // to catch a follower up past its purged log. The file holds that state, so build it from there.
            None if durable.position.0.is_some() => durable.build_snapshot().map(Some),
            None => Ok(None),
        }
    }
}
