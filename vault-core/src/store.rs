//! The storage the vault needs: versioned reads and single-key compare-and-swap writes. Any key-value store with
//! those two operations will do (a map in memory, a database row with a version column, a replicated log).

use std::collections::BTreeMap;
use std::vec::Vec;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "redb")]
pub(crate) mod redb;

/// A stored value and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// Grows on every write of the key and never repeats for that key (also across deletion and re-creation),
    /// so a compare-and-swap can never succeed against a stale read.
    pub version: u64,
    /// The stored bytes.
    pub value: Vec<u8>,
}

/// The result of a [`Store::compare_and_swap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cas {
    /// The write happened.
    Written,
    /// The key's version was not the expected one; nothing was written.
    Conflict,
}

/// Versioned key-value storage.
///
/// The vault relies on exactly this: a write lands only if the key is still at the version read, and an
/// acknowledged write is durable (a write that returns `Written` survives a crash).
pub trait Store {
    /// The store's own failure (I/O, lost quorum, ...).
    type Error: core::error::Error + 'static;

    /// Reads a key.
    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Self::Error>;

    /// Writes `value` (or deletes the key, for `None`) only if the key's current version is `expected` (`None`:
    /// the key must be absent).
    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Self::Error>;

    /// The keys that start with `prefix`, in byte order, beginning after `after` (from the first such key for
    /// `None`), at most `limit` of them. The vault uses it to count a principal's sessions (at most its cap) and to
    /// sweep expired sessions and challenges a page at a time ([`Request::Sweep`](crate::Request::Sweep)), so no
    /// command's work grows with the size of the store.
    fn keys_with_prefix(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, Self::Error>;
}

/// A shared reference to a store is a store: several vaults (or a vault and a test) can use one.
impl<T: Store + ?Sized> Store for &T {
    type Error = T::Error;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Self::Error> {
        (**self).get(key)
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Self::Error> {
        (**self).compare_and_swap(key, expected, value)
    }

    fn keys_with_prefix(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, Self::Error> {
        (**self).keys_with_prefix(prefix, after, limit)
    }
}

/// The last version of a store restored with `entries` and `last_version`: the larger of the two, so that a
/// version present in the store is never handed out again whatever the caller passes. One rule for every store
/// that restores snapshots ([`MemoryStore::restore`](crate::MemoryStore::restore), `RedbStore::replace_all`).
pub(crate) fn next_version_after(entries: &BTreeMap<Vec<u8>, Versioned>, last_version: u64) -> u64 {
    let highest = entries.values().map(|entry| entry.version).max().unwrap_or(0);
    last_version.max(highest)
}
