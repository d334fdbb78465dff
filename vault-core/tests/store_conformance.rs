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
}
