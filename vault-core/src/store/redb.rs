//! A durable [`Store`] in one redb file (feature `redb`): the vault on a real disk.
//!
//! Each compare-and-swap is one redb write transaction (read the version, compare, write, commit) committed with
//! [`Durability::Immediate`] and two-phase commit, so a `Written` has reached the disk before the vault goes on:
//! a login's charge is on disk before its response exists. SPEC.md §14 gives the file layout and what a crash can
//! leave.

use core::cell::Cell;
use core::fmt;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::thread::{self, ThreadId};
use std::vec::Vec;

use ::redb::{
    Database, Durability, ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use zeroize::Zeroizing;

use crate::store::{Cas, Store, Versioned, next_version_after};

/// Every stored entry: key → `version (8, big-endian) || value`.
const ENTRIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("vault-core/entries");
/// The store's own bookkeeping: [`FORMAT`] and [`LAST_VERSION`].
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("vault-core/meta");
/// Bytes the application keeps beside the vault's entries ([`RedbBatch::set_aux`]): a replica's applied log index
/// and membership. Outside the vault's keys, unversioned, created by the first write to it.
const AUX: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("vault-core/aux");
/// The layout version of the tables, written when the file is created.
const FORMAT: &str = "format";
/// The last version handed out (one counter for the whole store, as [`MemoryStore`](crate::MemoryStore)).
const LAST_VERSION: &str = "last_version";
/// The layout this code reads and writes.
const FORMAT_VERSION: u64 = 1;
/// Bytes of the version in front of each stored value.
const VERSION_LEN: usize = 8;

/// Why a [`RedbStore`] operation failed. Nothing was written when one is returned (a failed transaction is rolled
/// back whole).
#[derive(Debug)]
#[non_exhaustive]
pub enum RedbStoreError {
    /// redb failed: I/O, a file another process holds open ([`redb::Error::DatabaseAlreadyOpen`](::redb::Error)),
    /// a file that is not a redb database, ...
    Redb(Box<::redb::Error>),
    /// The file is a redb database, but its vault-core tables are not as this store writes them; names what is
    /// wrong.
    Corrupt(&'static str),
    /// The file was written in a layout this version does not know (a newer one).
    UnknownFormat(u64),
    /// Every version number has been handed out. Unreachable in practice (2^64 writes); refused rather than
    /// wrapped, since a repeated version would let a stale compare-and-swap succeed.
    VersionsExhausted,
    /// The store itself was called from inside [`RedbStore::atomically`] on the thread running the batch (or a
    /// batch was opened inside another): redb has one writer, so the call would wait for itself forever. Inside a
    /// batch, use the [`RedbBatch`] it was given.
    InsideBatch,
}

impl fmt::Display for RedbStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redb(error) => write!(f, "redb: {error}"),
            Self::Corrupt(what) => write!(f, "corrupt vault store: {what}"),
            Self::UnknownFormat(format) => write!(f, "unknown vault store format {format}"),
            Self::VersionsExhausted => f.write_str("no version numbers left"),
            Self::InsideBatch => f.write_str("the store was called from inside one of its own batches"),
        }
    }
}

impl core::error::Error for RedbStoreError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Redb(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}

/// redb has one error type per kind of call; they all convert into [`redb::Error`](::redb::Error).
impl<E: Into<::redb::Error>> From<E> for RedbStoreError {
    fn from(error: E) -> Self {
        // Boxed: redb's error is large, and every store call returns this type.
        Self::Redb(Box::new(error.into()))
    }
}

/// A [`Store`] in one redb file: durable, crash-safe, and safe to share between threads (writes serialize on
/// redb's single writer). One process at a time: a second [`RedbStore::open`] of the same file fails while the
/// first is open. Several writes that must land together go in one [`RedbStore::atomically`].
///
/// ```
/// use vault_core::{Cas, RedbStore, Store};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("vault.redb");
/// let store = RedbStore::open(&path)?;
/// assert_eq!(store.compare_and_swap(b"k", None, Some(b"v1"))?, Cas::Written);
/// let written = store.get(b"k")?.unwrap();
/// drop(store);
///
/// // Everything acknowledged is there after a reopen, and a stale writer still loses.
/// let store = RedbStore::open(&path)?;
/// assert_eq!(store.get(b"k")?, Some(written.clone()));
/// assert_eq!(store.compare_and_swap(b"k", None, Some(b"v2"))?, Cas::Conflict);
/// assert_eq!(store.compare_and_swap(b"k", Some(written.version), Some(b"v2"))?, Cas::Written);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedbStore {
    db: Database,
    /// The thread running a batch's work while it runs: that thread calling the store itself would wait on redb's
    /// writer lock, which its own batch holds, forever; it gets [`RedbStoreError::InsideBatch`] instead.
    batch_thread: Mutex<Option<ThreadId>>,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are secrets (login states, escrowed keys): show none.
        f.write_str("RedbStore")
    }
}

impl RedbStore {
    /// Opens the store in the file at `path`, creating the file if it does not exist. A file left by a crash is
    /// repaired by redb to its last committed transaction first. An existing store is read whole once: no entry may
    /// carry a version above the last one handed out (a file whose counter is behind its entries would hand a
    /// version out twice, and a stale compare-and-swap would succeed).
    ///
    /// Fails with [`RedbStoreError::Redb`] if the file cannot be opened (I/O, not a redb file, open in another
    /// process), [`RedbStoreError::UnknownFormat`] or [`RedbStoreError::Corrupt`] if its tables are not this
    /// store's. redb 2.6 panics on some damaged files (a truncated file, some flipped header bits) instead of
    /// returning an error; that panic is caught and reported as [`RedbStoreError::Corrupt`] (with `panic =
    /// "abort"` it aborts the process instead). Damage inside a cleanly closed file's pages is not detected by
    /// redb: SPEC.md §14.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let store = vault_core::RedbStore::open(dir.path().join("vault.redb"))?;
    /// assert_eq!(store.last_version()?, 0);
    /// # Ok::<(), vault_core::RedbStoreError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RedbStoreError> {
        let path = path.as_ref();
        // Opening and the first reads (initialize reads every entry) are where redb meets a damaged file's pages.
        std::panic::catch_unwind(|| Self::open_unguarded(path))
            .map_err(|_| RedbStoreError::Corrupt("redb could not read the file (it panicked)"))?
    }

    fn open_unguarded(path: &Path) -> Result<Self, RedbStoreError> {
        // The v3 file format: the only one redb 3 reads, so a later upgrade of redb needs no file migration.
        let db = Database::builder().create_with_file_format_v3(true).create(path)?;
        let store = Self {
            db,
            batch_thread: Mutex::new(None),
        };
        store.initialize()?;
        Ok(store)
    }

    /// Checks the tables of an existing file, or creates those of a new one. Reads first: opening a store of ours
    /// writes nothing (a write transaction would cost a durable commit on every open).
    fn initialize(&self) -> Result<(), RedbStoreError> {
        let txn = self.db.begin_read()?;
        let format = match txn.open_table(META) {
            Ok(meta) => check_format(&meta)?,
            Err(::redb::TableError::TableDoesNotExist(_)) => None,
            Err(error) => return Err(error.into()),
        };
        if format.is_some() {
            return check_entries(&txn);
        }
        drop(txn);
        let txn = self.begin_write()?;
        {
            // No one wrote since the read: this is the file's only handle (redb locks the file) and not yet shared.
            let mut meta = txn.open_table(META)?;
            // A file of ours always has the format; entries without it were written by something else.
            if !txn.open_table(ENTRIES)?.is_empty()? {
                return Err(RedbStoreError::Corrupt("entries without a format"));
            }
            meta.insert(FORMAT, FORMAT_VERSION)?;
            meta.insert(LAST_VERSION, 0)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The last version this store handed out: what a replica's snapshot carries beside [`RedbStore::snapshot`]
    /// (as [`MemoryStore::last_version`](crate::MemoryStore::last_version)).
    pub fn last_version(&self) -> Result<u64, RedbStoreError> {
        let txn = self.begin_read()?;
        read_last_version(&txn.open_table(META)?)
    }

    /// Every key with its version and value, in key order (as [`MemoryStore::snapshot`](crate::MemoryStore::snapshot)):
    /// for a replica's snapshot, and for tests. Fails with [`RedbStoreError::Corrupt`] if any stored entry does not
    /// decode. Holds no [auxiliary entries](RedbBatch::set_aux).
    pub fn snapshot(&self) -> Result<BTreeMap<Vec<u8>, Versioned>, RedbStoreError> {
        let txn = self.begin_read()?;
        let entries = txn.open_table(ENTRIES)?;
        let mut snapshot = BTreeMap::new();
        for entry in entries.iter()? {
            let (key, stored) = entry?;
            snapshot.insert(key.value().to_vec(), decode(stored.value())?);
        }
        Ok(snapshot)
    }

    /// Replaces the whole content with `entries` in one transaction, going on numbering versions after the
    /// larger of `last_version` and the highest version in `entries` (as
    /// [`MemoryStore::restore`](crate::MemoryStore::restore)): a replica installing a snapshot. A crash leaves
    /// either the old content or the new one. [Auxiliary entries](RedbBatch::set_aux) stay; to change them with
    /// the content, use [`RedbBatch::replace_all`].
    ///
    /// ```
    /// use vault_core::{MemoryStore, RedbStore, Store};
    /// let memory = MemoryStore::new();
    /// memory.compare_and_swap(b"k", None, Some(b"v"))?;
    /// let dir = tempfile::tempdir()?;
    /// let store = RedbStore::open(dir.path().join("vault.redb"))?;
    /// store.replace_all(&memory.snapshot(), memory.last_version())?;
    /// assert_eq!(store.snapshot()?, memory.snapshot());
    /// assert_eq!(store.last_version()?, memory.last_version());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replace_all(&self, entries: &BTreeMap<Vec<u8>, Versioned>, last_version: u64) -> Result<(), RedbStoreError> {
        let txn = self.begin_write()?;
        RedbBatch::on(&txn).replace_all(entries, last_version)?;
        txn.commit()?;
        Ok(())
    }

    /// The auxiliary entry under `key` ([`RedbBatch::set_aux`]), as last committed.
    pub fn aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RedbStoreError> {
        let txn = self.begin_read()?;
        match txn.open_table(AUX) {
            Ok(aux) => Ok(aux.get(key)?.map(|value| value.value().to_vec())),
            // No auxiliary entry was ever written.
            Err(::redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Every auxiliary entry ([`RedbBatch::set_aux`]), in key order, as last committed: what a replica reads back
    /// when it starts.
    pub fn aux_entries(&self) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, RedbStoreError> {
        let txn = self.begin_read()?;
        let aux = match txn.open_table(AUX) {
            Ok(aux) => aux,
            Err(::redb::TableError::TableDoesNotExist(_)) => return Ok(BTreeMap::new()),
            Err(error) => return Err(error.into()),
        };
        let mut entries = BTreeMap::new();
        for entry in aux.iter()? {
            let (key, value) = entry?;
            entries.insert(key.value().to_vec(), value.value().to_vec());
        }
        Ok(entries)
    }

    /// Runs `work` on a [`RedbBatch`], a [`Store`] whose every read and write goes to one redb write transaction,
    /// and commits that transaction once, durably (as every commit of this store), if `work` returns `Ok`: all of
    /// its writes land, or, after an `Err`, a failed batch operation or a crash, none. Nothing written in the
    /// batch is visible outside it before the commit; inside it, reads see the batch's own writes.
    ///
    /// This is how a replica applies a command: the vault's writes and the replica's applied log index (an
    /// [auxiliary entry](RedbBatch::set_aux)) in one transaction, so that a restart re-applies from the log
    /// exactly the commands whose writes are not on disk (SPEC.md §14). Every batch costs one durable commit,
    /// where each write of a command applied on the store itself costs one.
    ///
    /// Other threads' writes wait until the batch ends; the thread running `work` must use the batch only (the
    /// store itself answers it [`RedbStoreError::InsideBatch`]).
    ///
    /// Fails with [`BatchError::Aborted`] carrying `work`'s error, [`BatchError::Ignored`] if a batch operation
    /// failed but `work` returned `Ok` anyway, or [`BatchError::Store`] if the transaction could not be opened or
    /// committed. In every case nothing of the batch was committed.
    ///
    /// ```
    /// use vault_core::{Cas, RedbStore, Store, BatchError, RedbStoreError};
    /// let dir = tempfile::tempdir()?;
    /// let store = RedbStore::open(dir.path().join("vault.redb"))?;
    ///
    /// // Two writes and the index of the command that made them, together.
    /// store.atomically(|batch| {
    ///     batch.compare_and_swap(b"user/alice", None, Some(b"charged"))?;
    ///     batch.compare_and_swap(b"login/alice/1", None, Some(b"session"))?;
    ///     batch.set_aux(b"applied", Some(&7u64.to_be_bytes()))
    /// })?;
    /// assert_eq!(store.aux(b"applied")?, Some(7u64.to_be_bytes().to_vec()));
    ///
    /// // A batch whose work fails leaves nothing, not even the writes made before the failure.
    /// let failed = store.atomically(|batch| {
    ///     batch.compare_and_swap(b"user/bob", None, Some(b"charged"))?;
    ///     batch.set_aux(b"applied", Some(&8u64.to_be_bytes()))?;
    ///     Err::<(), _>(RedbStoreError::Corrupt("cut short"))
    /// });
    /// assert!(matches!(failed, Err(BatchError::Aborted(RedbStoreError::Corrupt("cut short")))));
    /// assert_eq!(store.get(b"user/bob")?, None);
    /// assert_eq!(store.aux(b"applied")?, Some(7u64.to_be_bytes().to_vec()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn atomically<T, E>(&self, work: impl FnOnce(&RedbBatch<'_>) -> Result<T, E>) -> Result<T, BatchError<E>> {
        self.outside_batch().map_err(BatchError::Store)?;
        let txn = self.begin_write().map_err(BatchError::Store)?;
        let (result, failed) = {
            // Marked only while this thread holds redb's writer, and unmarked (also if `work` panics) before it
            // lets go of it: no other batch can be marked meanwhile.
            let _marked = BatchMark::set(&self.batch_thread);
            let batch = RedbBatch::on(&txn);
            let result = work(&batch);
            (result, batch.failed.get())
        };
        // Every return before the commit drops the transaction, which rolls it back.
        let value = result.map_err(BatchError::Aborted)?;
        if failed {
            return Err(BatchError::Ignored);
        }
        txn.commit().map_err(|error| BatchError::Store(error.into()))?;
        Ok(value)
    }

    /// [`RedbStoreError::InsideBatch`] on the thread running a batch's work.
    fn outside_batch(&self) -> Result<(), RedbStoreError> {
        let batch_thread = *self.batch_thread.lock().unwrap_or_else(PoisonError::into_inner);
        if batch_thread == Some(thread::current().id()) {
            return Err(RedbStoreError::InsideBatch);
        }
        Ok(())
    }

    /// A read transaction, refused inside a batch (it would not see the batch's writes).
    fn begin_read(&self) -> Result<ReadTransaction, RedbStoreError> {
        self.outside_batch()?;
        Ok(self.db.begin_read()?)
    }

    /// A write transaction that is on disk when its commit returns.
    fn begin_write(&self) -> Result<WriteTransaction, RedbStoreError> {
        self.outside_batch()?;
        let mut txn = self.db.begin_write()?;
        // Immediate: the commit returns once fsync has. Two-phase: the commit does not rest on redb's
        // non-cryptographic checksums, whose forgery by crafted values (accounts choose some of the bytes we
        // store) and a well-timed crash could make a torn commit look whole.
        txn.set_durability(Durability::Immediate);
        txn.set_two_phase_commit(true);
        Ok(txn)
    }
}

/// Records the thread running a batch while it lives.
struct BatchMark<'a>(&'a Mutex<Option<ThreadId>>);

impl<'a> BatchMark<'a> {
    fn set(slot: &'a Mutex<Option<ThreadId>>) -> Self {
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(thread::current().id());
        Self(slot)
    }
}

impl Drop for BatchMark<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl Store for RedbStore {
    type Error = RedbStoreError;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, RedbStoreError> {
        let txn = self.begin_read()?;
        read_entry(&txn.open_table(ENTRIES)?, key)
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, RedbStoreError> {
        // Read, compare and write in one write transaction: redb has one writer at a time, so no other write can
        // come between the comparison and the commit. Every early return drops the transaction, which rolls it
        // back.
        let txn = self.begin_write()?;
        let (cas, wrote) = swap_in(&txn, key, expected, value)?;
        // A conflict, or a deletion of an absent key, wrote nothing: nothing to commit (a commit costs an fsync).
        if wrote {
            txn.commit()?;
        }
        Ok(cas)
    }

    fn keys_with_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, RedbStoreError> {
        let txn = self.begin_read()?;
        list_keys(&txn.open_table(ENTRIES)?, prefix, after, limit)
    }
}

/// Why a [`RedbStore::atomically`] batch was not committed. In every case nothing of it was written.
#[derive(Debug)]
#[non_exhaustive]
pub enum BatchError<E> {
    /// The batch's work returned this error.
    Aborted(E),
    /// An operation of the batch failed but the work returned `Ok` regardless: committing the rest would write
    /// part of what the work meant to.
    Ignored,
    /// The transaction could not be opened or committed.
    Store(RedbStoreError),
}

impl<E: fmt::Display> fmt::Display for BatchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aborted(error) => write!(f, "batch aborted: {error}"),
            Self::Ignored => f.write_str("a batch operation failed and its work went on: nothing committed"),
            Self::Store(error) => write!(f, "batch not committed: {error}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for BatchError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Aborted(error) => Some(error),
            Self::Ignored => None,
            Self::Store(error) => Some(error),
        }
    }
}

/// The store as seen from inside [`RedbStore::atomically`]: a [`Store`] on one open write transaction (reads see
/// its writes; versions are numbered as the store numbers them), plus auxiliary entries and
/// [`RedbBatch::replace_all`]. Every operation's error also marks the batch failed, so that it is not committed.
///
/// A [`Vault`](crate::Vault) applies a command on it as on any store: `Vault::new(keys, config, batch)` inside the
/// batch's work (a vault over `&RedbBatch`).
pub struct RedbBatch<'a> {
    txn: &'a WriteTransaction,
    failed: Cell<bool>,
}

impl fmt::Debug for RedbBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedbBatch")
    }
}

impl<'a> RedbBatch<'a> {
    fn on(txn: &'a WriteTransaction) -> Self {
        Self {
            txn,
            failed: Cell::new(false),
        }
    }

    /// Marks the batch failed if `result` is an error.
    fn track<T>(&self, result: Result<T, RedbStoreError>) -> Result<T, RedbStoreError> {
        if result.is_err() {
            self.failed.set(true);
        }
        result
    }

    /// Writes (`Some`) or removes (`None`) the auxiliary entry under `key`: bytes the application keeps beside the
    /// vault's entries and commits with them (a replica's applied log index and membership). They are outside the
    /// vault's keys (no vault key can touch them), take no version, and are in no [`RedbStore::snapshot`].
    pub fn set_aux(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), RedbStoreError> {
        self.track((|| {
            let mut aux = self.txn.open_table(AUX)?;
            match value {
                Some(value) => aux.insert(key, value)?,
                None => aux.remove(key)?,
            };
            Ok(())
        })())
    }

    /// The auxiliary entry under `key`, with the batch's own writes.
    pub fn aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RedbStoreError> {
        self.track((|| {
            Ok(self.txn.open_table(AUX)?.get(key)?.map(|value| value.value().to_vec()))
        })())
    }

    /// [`RedbStore::replace_all`] inside the batch: a replica installing a snapshot and its log position together.
    pub fn replace_all(&self, entries: &BTreeMap<Vec<u8>, Versioned>, last_version: u64) -> Result<(), RedbStoreError> {
        self.track((|| {
            let mut table = self.txn.open_table(ENTRIES)?;
            table.retain(|_, _| false)?;
            for (key, entry) in entries {
                table.insert(key.as_slice(), encode(entry.version, &entry.value).as_slice())?;
            }
            self.txn
                .open_table(META)?
                .insert(LAST_VERSION, next_version_after(entries, last_version))?;
            Ok(())
        })())
    }

    /// The last version handed out, with the batch's own writes.
    pub fn last_version(&self) -> Result<u64, RedbStoreError> {
        self.track((|| read_last_version(&self.txn.open_table(META)?))())
    }
}

impl Store for RedbBatch<'_> {
    type Error = RedbStoreError;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, RedbStoreError> {
        self.track((|| read_entry(&self.txn.open_table(ENTRIES)?, key))())
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, RedbStoreError> {
        self.track(swap_in(self.txn, key, expected, value).map(|(cas, _)| cas))
    }

    fn keys_with_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, RedbStoreError> {
        self.track((|| list_keys(&self.txn.open_table(ENTRIES)?, prefix, after, limit))())
    }
}

/// The compare-and-swap of [`Store::compare_and_swap`] in `txn`, and whether it wrote anything.
fn swap_in(
    txn: &WriteTransaction,
    key: &[u8],
    expected: Option<u64>,
    value: Option<&[u8]>,
) -> Result<(Cas, bool), RedbStoreError> {
    let mut entries = txn.open_table(ENTRIES)?;
    let current = entries
        .get(key)?
        .map(|stored| stored_version(stored.value()))
        .transpose()?;
    if current != expected {
        return Ok((Cas::Conflict, false));
    }
    match value {
        // Deleting an absent key (expected `None`) is a write of nothing.
        None if current.is_none() => return Ok((Cas::Written, false)),
        None => {
            entries.remove(key)?;
        }
        Some(value) => {
            let mut meta = txn.open_table(META)?;
            let version = read_last_version(&meta)?
                .checked_add(1)
                .ok_or(RedbStoreError::VersionsExhausted)?;
            meta.insert(LAST_VERSION, version)?;
            entries.insert(key, encode(version, value).as_slice())?;
        }
    }
    Ok((Cas::Written, true))
}

fn read_entry(
    entries: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Versioned>, RedbStoreError> {
    let stored = entries.get(key)?;
    stored.map(|stored| decode(stored.value())).transpose()
}

/// [`Store::keys_with_prefix`] on `entries`, for a `limit` above zero.
fn list_keys(
    entries: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Vec<u8>>, RedbStoreError> {
    let mut keys = Vec::new();
    if limit == 0 {
        return Ok(keys);
    }
    // Start at the later of the prefix and the cursor, so no key before the prefix is ever visited.
    let start = match after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    };
    for entry in entries.range::<&[u8]>((start, Bound::Unbounded))? {
        let (key, _) = entry?;
        let key = key.value();
        // Keys with the prefix are contiguous in byte order: the first one without it ends the listing.
        if !key.starts_with(prefix) {
            break;
        }
        keys.push(key.to_vec());
        if keys.len() == limit {
            break;
        }
    }
    Ok(keys)
}

/// `Some(FORMAT_VERSION)` for tables of ours, `None` for a file without them.
fn check_format(meta: &impl ReadableTable<&'static str, u64>) -> Result<Option<u64>, RedbStoreError> {
    match meta.get(FORMAT)?.map(|format| format.value()) {
        None => Ok(None),
        Some(FORMAT_VERSION) => read_last_version(meta).map(|_| Some(FORMAT_VERSION)),
        Some(other) => Err(RedbStoreError::UnknownFormat(other)),
    }
}

/// No entry of a store of ours carries a version above the last version handed out. An entry too short to hold a
/// version is left to be reported as [`RedbStoreError::Corrupt`] when it is read: it endangers only its own key,
/// while a counter behind its entries endangers every key.
fn check_entries(txn: &ReadTransaction) -> Result<(), RedbStoreError> {
    let last = read_last_version(&txn.open_table(META)?)?;
    let entries = match txn.open_table(ENTRIES) {
        Ok(entries) => entries,
        Err(::redb::TableError::TableDoesNotExist(_)) => {
            return Err(RedbStoreError::Corrupt("a format without entries"));
        }
        Err(error) => return Err(error.into()),
    };
    for entry in entries.iter()? {
        if stored_version(entry?.1.value()).is_ok_and(|version| version > last) {
            return Err(RedbStoreError::Corrupt(
                "an entry's version is above the last version handed out",
            ));
        }
    }
    Ok(())
}

fn read_last_version(meta: &impl ReadableTable<&'static str, u64>) -> Result<u64, RedbStoreError> {
    meta.get(LAST_VERSION)?
        .map(|version| version.value())
        .ok_or(RedbStoreError::Corrupt("no last version"))
}

/// `version || value`, wiped once written (values hold login session keys and escrowed contact keys).
fn encode(version: u64, value: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut stored = Zeroizing::new(Vec::with_capacity(VERSION_LEN + value.len()));
    stored.extend_from_slice(&version.to_be_bytes());
    stored.extend_from_slice(value);
    stored
}

fn stored_version(stored: &[u8]) -> Result<u64, RedbStoreError> {
    stored
        .first_chunk::<VERSION_LEN>()
        .map(|version| u64::from_be_bytes(*version))
        .ok_or(RedbStoreError::Corrupt("entry shorter than its version"))
}

fn decode(stored: &[u8]) -> Result<Versioned, RedbStoreError> {
    Ok(Versioned {
        version: stored_version(stored)?,
        value: stored[VERSION_LEN..].to_vec(),
    })
}
