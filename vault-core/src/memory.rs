//! An in-memory [`Store`], for tests, examples and single-process deployments.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use zeroize::Zeroize;

use crate::store::{Cas, Store, Versioned, next_version_after};

#[derive(Default)]
struct Inner {
    entries: BTreeMap<Vec<u8>, Versioned>,
    /// Versions come from one counter for the whole store, so a key deleted and written again never reuses one.
    last_version: u64,
}

/// A [`Store`] in a `BTreeMap` behind a mutex: safe to share between threads. Overwritten and deleted values are
/// zeroized (copies handed out by `get` and `snapshot` are the caller's to protect).
///
/// ```
/// use vault_core::{Cas, MemoryStore, Store};
/// let store = MemoryStore::new();
/// assert_eq!(store.compare_and_swap(b"k", None, Some(b"v1")).unwrap(), Cas::Written);
/// let read = store.get(b"k").unwrap().unwrap();
/// // A writer holding an older version loses.
/// assert_eq!(store.compare_and_swap(b"k", None, Some(b"v2")).unwrap(), Cas::Conflict);
/// assert_eq!(store.compare_and_swap(b"k", Some(read.version), Some(b"v2")).unwrap(), Cas::Written);
/// ```
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key with its version and value: lets tests check that a rejected request changed nothing, and lets a
    /// replica put its state in a snapshot (with [`MemoryStore::last_version`]).
    pub fn snapshot(&self) -> BTreeMap<Vec<u8>, Versioned> {
        self.lock().entries.clone()
    }

    /// The last version this store handed out. It belongs in a snapshot beside [`MemoryStore::snapshot`]: the
    /// entries alone do not tell it when the newest write was a deletion, and replicas restored from a snapshot
    /// must keep numbering versions exactly as the replicas that never stopped.
    pub fn last_version(&self) -> u64 {
        self.lock().last_version
    }

    /// A store holding `entries` that continues numbering versions after `last_version`: the inverse of
    /// [`MemoryStore::snapshot`] and [`MemoryStore::last_version`], for a replica that restarts from a snapshot.
    ///
    /// Versions continue after the larger of `last_version` and the highest version in `entries`, so that a
    /// version present in the store is never handed out again whatever the caller passes.
    ///
    /// ```
    /// use vault_core::{Cas, MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// store.compare_and_swap(b"k", None, Some(b"v")).unwrap();
    /// let gone = store.get(b"k").unwrap().unwrap().version;
    /// store.compare_and_swap(b"k", Some(gone), None).unwrap();
    /// store.compare_and_swap(b"j", None, Some(b"w")).unwrap();
    ///
    /// let restored = MemoryStore::restore(store.snapshot(), store.last_version());
    /// assert_eq!(restored.snapshot(), store.snapshot());
    /// // Both go on with the same version numbers.
    /// store.compare_and_swap(b"k", None, Some(b"again")).unwrap();
    /// restored.compare_and_swap(b"k", None, Some(b"again")).unwrap();
    /// assert_eq!(restored.snapshot(), store.snapshot());
    /// assert!(restored.get(b"k").unwrap().unwrap().version > gone);
    /// ```
    pub fn restore(entries: BTreeMap<Vec<u8>, Versioned>, last_version: u64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                last_version: next_version_after(&entries, last_version),
                entries,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code path panics while holding the lock, and the map is consistent after every statement anyway.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    type Error = Infallible;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Infallible> {
        Ok(self.lock().entries.get(key).cloned())
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Infallible> {
        let mut inner = self.lock();
        let current = inner.entries.get(key).map(|entry| entry.version);
        if current != expected {
            return Ok(Cas::Conflict);
        }
        let replaced = match value {
            None => inner.entries.remove(key),
            Some(value) => {
                // Only a store restored with a last version near u64::MAX gets here; no version may be handed out
                // twice, so every write is refused (RedbStore reports `VersionsExhausted` instead).
                let Some(version) = inner.last_version.checked_add(1) else {
                    return Ok(Cas::Conflict);
                };
                inner.last_version = version;
                inner.entries.insert(
                    key.to_vec(),
                    Versioned {
                        version,
                        value: value.to_vec(),
                    },
                )
            }
        };
        // Values hold login session keys and escrowed contact keys: wipe what is overwritten or deleted.
        if let Some(mut old) = replaced {
            old.value.zeroize();
        }
        Ok(Cas::Written)
    }

    fn keys_with_prefix(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, Infallible> {
        let start = match after {
            Some(after) => Bound::Excluded(after.to_vec()),
            None => Bound::Included(prefix.to_vec()),
        };
        Ok(self
            .lock()
            .entries
            .range((start, Bound::Unbounded))
            .map(|(key, _)| key)
            .skip_while(|key| key.as_slice() < prefix)
            .take_while(|key| key.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_version_is_handed_out_twice_at_the_end_of_the_range() {
        let store = MemoryStore::restore(BTreeMap::new(), u64::MAX - 1);
        assert_eq!(store.compare_and_swap(b"a", None, Some(b"1")).unwrap(), Cas::Written);
        assert_eq!(store.get(b"a").unwrap().unwrap().version, u64::MAX);
        let before = store.snapshot();
        // Versions are exhausted: writes are refused and change nothing; deletes still work.
        assert_eq!(store.compare_and_swap(b"b", None, Some(b"2")).unwrap(), Cas::Conflict);
        assert_eq!(
            store.compare_and_swap(b"a", Some(u64::MAX), Some(b"3")).unwrap(),
            Cas::Conflict
        );
        assert_eq!(store.snapshot(), before);
        assert_eq!(store.last_version(), u64::MAX);
        assert_eq!(
            store.compare_and_swap(b"a", Some(u64::MAX), None).unwrap(),
            Cas::Written
        );
        assert_eq!(store.get(b"a").unwrap(), None);
    }
}
