//! A durable [`Store`] in one redb file (feature `redb`): the vault on a real disk.
//!
//! Each compare-and-swap is one redb write transaction (read the version, compare, write, commit) committed with
//! [`Durability::Immediate`] and two-phase commit, so a `Written` has reached the disk before the vault goes on:
//! a login's charge is on disk before its response exists. SPEC.md §14 gives the file layout and what a crash can
//! leave.

use core::fmt;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::vec::Vec;

use ::redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use zeroize::Zeroizing;

use crate::store::{Cas, Store, Versioned, next_version_after};

/// Every stored entry: key → `version (8, big-endian) || value`.
const ENTRIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("vault-core/entries");
/// The store's own bookkeeping: [`FORMAT`] and [`LAST_VERSION`].
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("vault-core/meta");
/// The layout version of the two tables, written when the file is created.
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
}

impl fmt::Display for RedbStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redb(error) => write!(f, "redb: {error}"),
            Self::Corrupt(what) => write!(f, "corrupt vault store: {what}"),
            Self::UnknownFormat(format) => write!(f, "unknown vault store format {format}"),
            Self::VersionsExhausted => f.write_str("no version numbers left"),
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
/// first is open.
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
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are secrets (login states, escrowed keys): show none.
        f.write_str("RedbStore")
    }
}

impl RedbStore {
    /// Opens the store in the file at `path`, creating the file if it does not exist. A file left by a crash is
    /// repaired by redb to its last committed transaction first.
    ///
    /// Fails with [`RedbStoreError::Redb`] if the file cannot be opened (I/O, not a redb file, open in another
    /// process), [`RedbStoreError::UnknownFormat`] or [`RedbStoreError::Corrupt`] if its tables are not this
    /// store's.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let store = vault_core::RedbStore::open(dir.path().join("vault.redb"))?;
    /// assert_eq!(store.last_version()?, 0);
    /// # Ok::<(), vault_core::RedbStoreError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RedbStoreError> {
        // The v3 file format: the only one redb 3 reads, so a later upgrade of redb needs no file migration.
        let db = Database::builder().create_with_file_format_v3(true).create(path)?;
        let store = Self { db };
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
        drop(txn);
        if format.is_some() {
            return Ok(());
        }
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
        let txn = self.db.begin_read()?;
        read_last_version(&txn.open_table(META)?)
    }

    /// Every key with its version and value, in key order (as [`MemoryStore::snapshot`](crate::MemoryStore::snapshot)):
    /// for a replica's snapshot, and for tests. Fails with [`RedbStoreError::Corrupt`] if any stored entry does not
    /// decode.
    pub fn snapshot(&self) -> Result<BTreeMap<Vec<u8>, Versioned>, RedbStoreError> {
        let txn = self.db.begin_read()?;
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
    /// either the old content or the new one.
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
        {
            let mut table = txn.open_table(ENTRIES)?;
            table.retain(|_, _| false)?;
            for (key, entry) in entries {
                table.insert(key.as_slice(), encode(entry.version, &entry.value).as_slice())?;
            }
            txn.open_table(META)?
                .insert(LAST_VERSION, next_version_after(entries, last_version))?;
        }
        txn.commit()?;
        Ok(())
    }

    /// A write transaction that is on disk when its commit returns.
    fn begin_write(&self) -> Result<WriteTransaction, RedbStoreError> {
        let mut txn = self.db.begin_write()?;
        // Immediate: the commit returns once fsync has. Two-phase: the commit does not rest on redb's
        // non-cryptographic checksums, whose forgery by crafted values (accounts choose some of the bytes we
        // store) and a well-timed crash could make a torn commit look whole.
        txn.set_durability(Durability::Immediate);
        txn.set_two_phase_commit(true);
        Ok(txn)
    }
}

impl Store for RedbStore {
    type Error = RedbStoreError;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, RedbStoreError> {
        let txn = self.db.begin_read()?;
        let entries = txn.open_table(ENTRIES)?;
        let stored = entries.get(key)?;
        stored.map(|stored| decode(stored.value())).transpose()
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, RedbStoreError> {
        // Read, compare and write in one write transaction: redb has one writer at a time, so no other write can
        // come between the comparison and the commit. Every early return drops the transaction, which rolls it
        // back.
        let txn = self.begin_write()?;
        {
            let mut entries = txn.open_table(ENTRIES)?;
            let current = entries
                .get(key)?
                .map(|stored| stored_version(stored.value()))
                .transpose()?;
            if current != expected {
                return Ok(Cas::Conflict);
            }
            match value {
                // Deleting an absent key (expected `None`) is a write of nothing: nothing to commit.
                None if current.is_none() => return Ok(Cas::Written),
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
        }
        txn.commit()?;
        Ok(Cas::Written)
    }

    fn keys_with_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, RedbStoreError> {
        let mut keys = Vec::new();
        if limit == 0 {
            return Ok(keys);
        }
        let txn = self.db.begin_read()?;
        let entries = txn.open_table(ENTRIES)?;
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
}

/// `Some(FORMAT_VERSION)` for tables of ours, `None` for a file without them.
fn check_format(meta: &impl ReadableTable<&'static str, u64>) -> Result<Option<u64>, RedbStoreError> {
    match meta.get(FORMAT)?.map(|format| format.value()) {
        None => Ok(None),
        Some(FORMAT_VERSION) => read_last_version(meta).map(|_| Some(FORMAT_VERSION)),
        Some(other) => Err(RedbStoreError::UnknownFormat(other)),
    }
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
