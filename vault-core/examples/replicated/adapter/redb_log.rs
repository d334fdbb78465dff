//! The Raft log, the vote and the committed index in a redb file of their own: a replica's log that survives a
//! SIGKILL. Every append, truncation, purge and vote is one transaction committed with `Durability::Immediate`
//! before openraft is told it is done, so an entry a replica acknowledged to the leader (and counted in a majority)
//! is on its disk.
//!
//! Entries and the vote are stored as openraft serializes them (JSON, through [`super::wire`] for the payload).
//! Calls block on the file inside async functions: each is one short transaction, and a replica's Raft task
//! does nothing else meanwhile that this would delay.
//!
//! Two things spare a replica work per committed entry (BENCHMARKS.md, "Replication cost"): the committed index is
//! written in the next log transaction rather than in one of its own (a restarted replica re-applies up to the
//! committed index on disk, which may be a little behind, and learns the rest from the leader: the index on disk is
//! a lower bound, safe because each apply batch is durable before `apply` returns, and never ahead of the entries
//! on disk, since it is written after them), and the last [`RECENT`] entries appended stay in
//! memory, so that the leader's replication streams (one per follower) and every replica's apply read them without
//! a read transaction and a JSON decode each. Memory holds only entries that are on disk, as they are there.

// openraft's traits return its error types as they are (200-odd bytes); the helpers here return the same types
// rather than box them only to unbox them again at the trait's boundary.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogId, StorageError, StorageIOError, Vote};
use redb::{Database, Durability, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{NodeId, TypeConfig};

/// Index → entry (JSON).
const ENTRIES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("raft/entries");
/// [`VOTE`], [`COMMITTED`], [`PURGED`] → JSON.
const STATE: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("raft/state");
const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const PURGED: &str = "last_purged";
/// How many of the last appended entries stay in memory. Enough for the entries in flight to four followers and
/// the state machine; a follower further behind is read from the file.
pub(crate) const RECENT: usize = 256;

/// Why the log could not be read or written.
type Failed = StorageError<NodeId>;

/// A replica's log on redb. Clones share the file and the memory (openraft reads through a clone while it appends).
#[derive(Clone)]
pub(crate) struct RedbLog {
    db: Arc<Database>,
    memory: Arc<Mutex<Memory>>,
}

/// What a log keeps in memory besides its file.
#[derive(Default)]
struct Memory {
    /// The last appended entries (at most [`RECENT`]), each as it is on disk.
    recent: BTreeMap<u64, Entry<TypeConfig>>,
    /// A committed index (JSON) saved since the last transaction, which the next one writes.
    committed: Option<Vec<u8>>,
}

fn lock(memory: &Mutex<Memory>) -> MutexGuard<'_, Memory> {
    // Every update below leaves the memory consistent with the file whatever panics (it only drops entries, or
    // adds them after their commit).
    memory.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Debug for RedbLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbLog")
    }
}

fn read_error(error: impl std::error::Error + 'static) -> Failed {
    StorageIOError::read_logs(&error).into()
}

fn write_error(error: impl std::error::Error + 'static) -> Failed {
    StorageIOError::write_logs(&error).into()
}

impl RedbLog {
    /// Opens (or creates) the log in the file at `path`; a file left by a crash is repaired to its last commit.
    pub(crate) fn open(path: impl AsRef<Path>) -> Result<Self, redb::Error> {
        let db = Database::builder().create_with_file_format_v3(true).create(path)?;
        let txn = db.begin_write()?;
        // Both tables exist from here on, so readers never meet a missing one.
        txn.open_table(ENTRIES)?;
        txn.open_table(STATE)?;
        txn.commit()?;
        Ok(Self {
            db: Arc::new(db),
            memory: Arc::default(),
        })
    }

    /// One durable write transaction: `write` and the committed index saved since the last one, then a commit that
    /// returns after fsync.
    fn write(&self, write: impl FnOnce(&WriteTransaction) -> Result<(), Failed>) -> Result<(), Failed> {
        let committed = lock(&self.memory).committed.take();
        let written = (|| {
            let mut txn = self.db.begin_write().map_err(write_error)?;
            txn.set_durability(Durability::Immediate);
            // As the vault's store: a commit whose integrity rests on no checksum (entries carry client bytes).
            txn.set_two_phase_commit(true);
            write(&txn)?;
            if let Some(json) = &committed {
                txn.open_table(STATE)
                    .map_err(write_error)?
                    .insert(COMMITTED, json.as_slice())
                    .map_err(write_error)?;
            }
            txn.commit().map_err(write_error)
        })();
        if written.is_err()
            && let Some(json) = committed
        {
            // Not on disk: the next transaction writes it, unless a later index was saved meanwhile.
            lock(&self.memory).committed.get_or_insert(json);
        }
        written
    }

    fn put_state(&self, key: &str, value: &impl Serialize) -> Result<(), Failed> {
        let json = serde_json::to_vec(value).map_err(write_error)?;
        self.write(|txn| {
            txn.open_table(STATE)
                .map_err(write_error)?
                .insert(key, json.as_slice())
                .map_err(write_error)?;
            Ok(())
        })
    }

    /// Writes `entries` in one durable transaction, then keeps them in memory: what [`RaftLogStorage::append`]
    /// does before it tells openraft (also called directly by the `replica_cost` example, which measures it
    /// without a Raft node).
    pub(crate) fn append_entries(&self, entries: impl IntoIterator<Item = Entry<TypeConfig>>) -> Result<(), Failed> {
        let mut encoded = Vec::new();
        let mut appended = Vec::new();
        for entry in entries {
            encoded.push((
                entry.get_log_id().index,
                serde_json::to_vec(&entry).map_err(write_error)?,
            ));
            appended.push(entry);
        }
        self.write(|txn| {
            let mut table = txn.open_table(ENTRIES).map_err(write_error)?;
            for (index, json) in &encoded {
                table.insert(*index, json.as_slice()).map_err(write_error)?;
            }
            Ok(())
        })?;
        let mut memory = lock(&self.memory);
        for entry in appended {
            memory.recent.insert(entry.get_log_id().index, entry);
        }
        while memory.recent.len() > RECENT {
            memory.recent.pop_first();
        }
        Ok(())
    }

    /// The entries of `start..end` if memory holds every one of them.
    fn recent(&self, start: u64, end: u64) -> Option<Vec<Entry<TypeConfig>>> {
        let memory = lock(&self.memory);
        let entries: Vec<_> = memory
            .recent
            .range(start..end)
            .map(|(_, entry)| entry.clone())
            .collect();
        (u64::try_from(entries.len()).ok() == end.checked_sub(start)).then_some(entries)
    }

    fn get_state<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Failed> {
        let txn = self.db.begin_read().map_err(read_error)?;
        let table = txn.open_table(STATE).map_err(read_error)?;
        let Some(json) = table.get(key).map_err(read_error)? else {
            return Ok(None);
        };
        serde_json::from_slice(json.value()).map(Some).map_err(read_error)
    }
}

impl RaftLogReader<TypeConfig> for RedbLog {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, Failed> {
        let bounds: (Bound<u64>, Bound<u64>) = (range.start_bound().cloned(), range.end_bound().cloned());
        let start = match bounds.0 {
            Bound::Included(start) => Some(start),
            Bound::Excluded(start) => start.checked_add(1),
            Bound::Unbounded => Some(0),
        };
        let end = match bounds.1 {
            Bound::Included(end) => end.checked_add(1),
            Bound::Excluded(end) => Some(end),
            Bound::Unbounded => None,
        };
        if let (Some(start), Some(end)) = (start, end)
            && start < end
            && let Some(entries) = self.recent(start, end)
        {
            return Ok(entries);
        }
        let txn = self.db.begin_read().map_err(read_error)?;
        let table = txn.open_table(ENTRIES).map_err(read_error)?;
        let mut entries = Vec::new();
        for stored in table.range(bounds).map_err(read_error)? {
            let (_, json) = stored.map_err(read_error)?;
            entries.push(serde_json::from_slice(json.value()).map_err(read_error)?);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for RedbLog {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, Failed> {
        let last_purged: Option<LogId<NodeId>> = self.get_state(PURGED)?;
        let txn = self.db.begin_read().map_err(read_error)?;
        let table = txn.open_table(ENTRIES).map_err(read_error)?;
        let last = match table.last().map_err(read_error)? {
            Some((_, json)) => {
                let entry: Entry<TypeConfig> = serde_json::from_slice(json.value()).map_err(read_error)?;
                Some(*entry.get_log_id())
            }
            None => None,
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.or(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), Failed> {
        self.put_state(VOTE, vote)
            .map_err(|error| StorageIOError::write_vote(&error).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, Failed> {
        self.get_state(VOTE)
    }

    // Persisting the committed index lets a restarted replica re-apply its own committed entries at start-up. It
    // goes to disk with the next transaction (the next append, usually), not in one of its own: an index on disk
    // that is behind is still a committed one, and the leader tells a restarted replica the rest.
    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), Failed> {
        let json = serde_json::to_vec(&committed).map_err(write_error)?;
        lock(&self.memory).committed = Some(json);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, Failed> {
        let saved = lock(&self.memory).committed.clone();
        match saved {
            Some(json) => serde_json::from_slice(&json).map_err(read_error),
            None => Ok(self.get_state::<Option<LogId<NodeId>>>(COMMITTED)?.flatten()),
        }
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), Failed>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let written = self.append_entries(entries);
        // Told only after the commit returned: the entries are on disk before openraft counts them.
        callback.log_io_completed(
            written
                .as_ref()
                .copied()
                .map_err(|error| std::io::Error::other(error.to_string())),
        );
        written
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), Failed> {
        // Out of memory first: whatever the transaction does, memory then holds no entry the file lacks.
        drop(lock(&self.memory).recent.split_off(&log_id.index));
        self.write(|txn| {
            let mut table = txn.open_table(ENTRIES).map_err(write_error)?;
            table.retain_in(log_id.index.., |_, _| false).map_err(write_error)
        })
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), Failed> {
        let json = serde_json::to_vec(&log_id).map_err(write_error)?;
        lock(&self.memory).recent.retain(|&index, _| index > log_id.index);
        // The purge mark and the removal together: a crash between them would leave a log whose first entry does
        // not follow its mark.
        self.write(|txn| {
            txn.open_table(STATE)
                .map_err(write_error)?
                .insert(PURGED, json.as_slice())
                .map_err(write_error)?;
            let mut table = txn.open_table(ENTRIES).map_err(write_error)?;
            table.retain_in(..=log_id.index, |_, _| false).map_err(write_error)
        })
    }
}
