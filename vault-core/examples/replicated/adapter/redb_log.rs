//! The Raft log, the vote and the committed index in a redb file of their own: a replica's log that survives a
//! SIGKILL. Every write is one transaction committed with `Durability::Immediate` before openraft is told it is
//! done, so an entry a replica acknowledged to the leader (and counted in a majority) is on its disk.
//!
//! Entries and the vote are stored as openraft serializes them (JSON, through [`super::wire`] for the payload).
//! Calls block on the file inside async functions: each is one short transaction, and a replica's Raft task
//! does nothing else meanwhile that this would delay.

// openraft's traits return its error types as they are (200-odd bytes); the helpers here return the same types
// rather than box them only to unbox them again at the trait's boundary.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

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

/// Why the log could not be read or written.
type Failed = StorageError<NodeId>;

/// A replica's log on redb. Clones share the file (openraft reads through a clone while it appends).
#[derive(Clone)]
pub(crate) struct RedbLog {
    db: Arc<Database>,
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
        Ok(Self { db: Arc::new(db) })
    }

    /// One durable write transaction: `write`, then a commit that returns after fsync.
    fn write(&self, write: impl FnOnce(&WriteTransaction) -> Result<(), Failed>) -> Result<(), Failed> {
        let mut txn = self.db.begin_write().map_err(write_error)?;
        txn.set_durability(Durability::Immediate);
        // As the vault's store: a commit whose integrity rests on no checksum (entries carry client bytes).
        txn.set_two_phase_commit(true);
        write(&txn)?;
        txn.commit().map_err(write_error)
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

    // Persisting the committed index lets a restarted replica re-apply its own committed entries at start-up.
    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), Failed> {
        self.put_state(COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, Failed> {
        Ok(self.get_state::<Option<LogId<NodeId>>>(COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), Failed>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        for entry in entries {
            encoded.push((
                entry.get_log_id().index,
                serde_json::to_vec(&entry).map_err(write_error)?,
            ));
        }
        let written = self.write(|txn| {
            let mut table = txn.open_table(ENTRIES).map_err(write_error)?;
            for (index, json) in &encoded {
                table.insert(*index, json.as_slice()).map_err(write_error)?;
            }
            Ok(())
        });
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
        self.write(|txn| {
            let mut table = txn.open_table(ENTRIES).map_err(write_error)?;
            table.retain_in(log_id.index.., |_, _| false).map_err(write_error)
        })
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), Failed> {
        let json = serde_json::to_vec(&log_id).map_err(write_error)?;
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
