//! An in-memory [`Store`], for tests, examples and single-process deployments.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use crate::store::{Cas, Store, Versioned};

#[derive(Default)]
struct Inner {
    entries: BTreeMap<Vec<u8>, Versioned>,
    /// Versions come from one counter for the whole store, so a key deleted and written again never reuses one.
    last_version: u64,
}

/// A [`Store`] in a `BTreeMap` behind a mutex: safe to share between threads.
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

    /// Every key with its version and value: lets tests check that a rejected request changed nothing.
    pub fn snapshot(&self) -> BTreeMap<Vec<u8>, Versioned> {
        self.lock().entries.clone()
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
        match value {
            None => {
                inner.entries.remove(key);
            }
            Some(value) => {
                inner.last_version += 1;
                let version = inner.last_version;
                inner.entries.insert(
                    key.to_vec(),
                    Versioned {
                        version,
                        value: value.to_vec(),
                    },
                );
            }
        }
        Ok(Cas::Written)
    }
}
