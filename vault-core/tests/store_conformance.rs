//! The store conformance suite (`vault_core::store::conformance`) against both stores of this crate.

use tempfile::TempDir;
use vault_core::store::conformance;
use vault_core::{MemoryStore, RedbStore};

#[test]
fn memory_store_conforms() {
    conformance::run(MemoryStore::new).unwrap();
    conformance::run_concurrent(&MemoryStore::new()).unwrap();
}

#[test]
fn redb_store_conforms() {
    // One directory per fresh store, kept until the end so that every file is removed with it.
    let mut dirs = Vec::new();
    conformance::run(|| {
        let dir = TempDir::new().unwrap();
        let store = RedbStore::open(dir.path().join("vault.redb")).unwrap();
        dirs.push(dir);
        store
    })
    .unwrap();
}

#[test]
fn redb_store_keeps_everything_across_reopening() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("vault.redb");
    conformance::run_reopening(|| RedbStore::open(&path).unwrap()).unwrap();
}

#[test]
fn redb_store_serializes_concurrent_compare_and_swaps() {
    let dir = TempDir::new().unwrap();
    conformance::run_concurrent(&RedbStore::open(dir.path().join("vault.redb")).unwrap()).unwrap();
}

/// Stores that each break one rule, to show that the suite notices.
mod broken {
    use std::convert::Infallible;

    use vault_core::{Cas, MemoryStore, Store, Versioned};

    /// Deletes whatever version the key has.
    #[derive(Default)]
    pub(super) struct DeletesStaleVersions(MemoryStore);

    impl Store for DeletesStaleVersions {
        type Error = Infallible;

        fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Infallible> {
            self.0.get(key)
        }

        fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Infallible> {
            match (value, self.0.get(key)?) {
                (None, Some(current)) => self.0.compare_and_swap(key, Some(current.version), None),
                _ => self.0.compare_and_swap(key, expected, value),
            }
        }

        fn keys_with_prefix(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<Vec<u8>>, Infallible> {
            self.0.keys_with_prefix(prefix, after, limit)
        }
    }

    /// Lists by a prefix one byte shorter than asked (a classic off-by-one in range bounds).
    #[derive(Default)]
    pub(super) struct ListsTooMuch(MemoryStore);

    impl Store for ListsTooMuch {
        type Error = Infallible;

        fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Infallible> {
            self.0.get(key)
        }

        fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Infallible> {
            self.0.compare_and_swap(key, expected, value)
        }

        fn keys_with_prefix(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<Vec<u8>>, Infallible> {
            self.0
                .keys_with_prefix(&prefix[..prefix.len().saturating_sub(1)], after, limit)
        }
    }

    /// Creates by checking that the key is absent, then writing whatever is there: two creates can both win.
    #[derive(Default)]
    pub(super) struct RacyCreate(MemoryStore);

    impl Store for RacyCreate {
        type Error = Infallible;

        fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Infallible> {
            self.0.get(key)
        }

        fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Infallible> {
            if expected.is_some() || value.is_none() || self.0.get(key)?.is_some() {
                return self.0.compare_and_swap(key, expected, value);
            }
            // The window between the check and the write, widened so that the race shows on every run.
            std::thread::sleep(std::time::Duration::from_millis(1));
            let now = self.0.get(key)?.map(|entry| entry.version);
            self.0.compare_and_swap(key, now, value)
        }

        fn keys_with_prefix(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<Vec<u8>>, Infallible> {
            self.0.keys_with_prefix(prefix, after, limit)
        }
    }

    /// Numbers a write with the highest version present plus one: a deleted newest key's version comes back.
    #[derive(Default)]
    pub(super) struct VersionsFromEntries(std::sync::Mutex<std::collections::BTreeMap<Vec<u8>, Versioned>>);

    impl Store for VersionsFromEntries {
        type Error = Infallible;

        fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Infallible> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }

        fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Infallible> {
            let mut entries = self.0.lock().unwrap();
            if entries.get(key).map(|entry| entry.version) != expected {
                return Ok(Cas::Conflict);
            }
            match value {
                None => {
                    entries.remove(key);
                }
                Some(value) => {
                    let version = entries.values().map(|entry| entry.version).max().unwrap_or(0) + 1;
                    let value = value.to_vec();
                    entries.insert(key.to_vec(), Versioned { version, value });
                }
            }
            Ok(Cas::Written)
        }

        fn keys_with_prefix(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<Vec<u8>>, Infallible> {
            let entries = self.0.lock().unwrap();
            let keys = entries.keys().filter(|key| key.starts_with(prefix));
            Ok(keys
                .filter(|key| after.is_none_or(|after| key.as_slice() > after))
                .take(limit)
                .cloned()
                .collect())
        }
    }
}

#[test]
fn the_suite_notices_a_broken_store() {
    let failure = conformance::run(broken::DeletesStaleVersions::default).unwrap_err();
    assert_eq!(failure.check, "expected version", "{failure}");
    let failure = conformance::run(broken::ListsTooMuch::default).unwrap_err();
    assert_eq!(failure.check, "prefix listing", "{failure}");
    // A store that forgets everything when reopened.
    let failure = conformance::run_reopening(MemoryStore::new).unwrap_err();
    assert_eq!(failure.check, "reopen", "{failure}");
    assert!(failure.detail.starts_with("the entries after a reopen"), "{failure}");
    // Passes every single-threaded check; two threads both create one key.
    conformance::run(broken::RacyCreate::default).unwrap();
    let failure = conformance::run_concurrent(&broken::RacyCreate::default()).unwrap_err();
    assert_eq!(failure.check, "concurrent creates", "{failure}");
    let failure = conformance::run(broken::VersionsFromEntries::default).unwrap_err();
    assert_eq!(failure.check, "re-create the newest key", "{failure}");
}
