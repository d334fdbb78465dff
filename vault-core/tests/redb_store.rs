//! The vault on `RedbStore`: the same answers and the same stored bytes and versions as on `MemoryStore`, kept
//! across reopening; and the store's typed refusals of files that are not its own.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use backup_protocol::{BackupKey, LoginPurpose, UserId};
use common::{Harness, PASSWORD, WRONG, user};
use rand::SeedableRng;
use rand::rngs::StdRng;
use redb::{Database, TableDefinition};
use tempfile::TempDir;
use vault_core::{
    Cas, FleetKeys, MemoryStore, RecordStatus, RedbStore, RedbStoreError, Request, Response, Store, Vault, VaultError,
    Versioned,
};

/// Every operation goes to both stores; their outcomes must agree, and the vault goes on with redb's.
struct Both<'a> {
    memory: &'a MemoryStore,
    redb: &'a RedbStore,
}

impl Store for Both<'_> {
    type Error = RedbStoreError;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, RedbStoreError> {
        let read = self.redb.get(key)?;
        assert_eq!(Ok(&read), self.memory.get(key).as_ref(), "get {key:?}");
        Ok(read)
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, RedbStoreError> {
        let outcome = self.redb.compare_and_swap(key, expected, value)?;
        assert_eq!(
            Ok(outcome),
            self.memory.compare_and_swap(key, expected, value),
            "write {key:?}"
        );
        Ok(outcome)
    }

    fn keys_with_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, RedbStoreError> {
        let keys = self.redb.keys_with_prefix(prefix, after, limit)?;
        assert_eq!(Ok(&keys), self.memory.keys_with_prefix(prefix, after, limit).as_ref());
        Ok(keys)
    }
}

fn store_of(redb: &RedbStore) -> (BTreeMap<Vec<u8>, Versioned>, u64) {
    (redb.snapshot().unwrap(), redb.last_version().unwrap())
}

#[test]
fn a_vault_on_redb_stores_the_same_bytes_and_versions_as_on_memory_and_keeps_them_across_reopening() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("vault.redb");
    let memory = MemoryStore::new();
    let redb = RedbStore::open(&path).unwrap();
    let mut rng = StdRng::seed_from_u64(41);
    let keys = FleetKeys::generate(&mut rng);
    let key = BackupKey::generate(&mut rng);
    let mut harness = Harness::with_store(
        keys.clone(),
        Both {
            memory: &memory,
            redb: &redb,
        },
        rng,
    );
    let (alice, bob, carol) = (user("alice"), user("bob"), user("carol"));

    // A retrieval; wrong guesses, then the right one; an unknown user's charged login; a deletion; a sweep.
    harness.register(&alice, PASSWORD, &key);
    assert_eq!(harness.retrieve(&alice, PASSWORD).unwrap(), Some(key.clone()));
    harness.register(&bob, PASSWORD, &key);
    for _ in 0..3 {
        assert_eq!(harness.retrieve(&bob, WRONG).unwrap(), None);
    }
    harness
        .login_start(&carol, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    let (deletion, session) = harness.deletion_start(&alice, PASSWORD).unwrap();
    let (_, finalization) = deletion.unwrap();
    assert!(matches!(
        harness.apply(Request::LoginFinish { session, finalization }),
        Ok(Response::Deleted(_))
    ));
    harness.now_ms += 3_600_000;
    assert_eq!(
        harness.apply(Request::Sweep { cursor: Vec::new() }).unwrap(),
        Response::Swept { removed: 4, next: None }
    );
    assert_eq!(store_of(&redb), (memory.snapshot(), memory.last_version()));
    drop(harness);
    drop(redb);

    // Reopened: the same entries and counter, and the vault goes on from them.
    let redb = RedbStore::open(&path).unwrap();
    assert_eq!(store_of(&redb), (memory.snapshot(), memory.last_version()));
    let mut harness = Harness::with_store(keys, &redb, StdRng::seed_from_u64(42));
    assert_eq!(
        harness.vault.record_status(&bob).unwrap(),
        Some(RecordStatus::Active {
            attempts_used: 3,
            guesses_remaining: 7
        })
    );
    assert_eq!(harness.retrieve(&bob, PASSWORD).unwrap(), Some(key));
    assert_eq!(
        harness.vault.record_status(&alice).unwrap(),
        Some(RecordStatus::NoRecord { attempts_used: 0 })
    );
}

#[test]
fn an_installed_snapshot_numbers_on_as_memory_does() {
    let memory = MemoryStore::new();
    memory.compare_and_swap(b"a", None, Some(b"1")).unwrap();
    memory.compare_and_swap(b"b", None, Some(b"2")).unwrap();
    // The newest write is a deletion: only `last_version` says where numbering goes on.
    memory.compare_and_swap(b"b", Some(2), None).unwrap();
    let dir = TempDir::new().unwrap();
    let redb = RedbStore::open(dir.path().join("vault.redb")).unwrap();
    redb.compare_and_swap(b"old", None, Some(b"replaced")).unwrap();

    redb.replace_all(&memory.snapshot(), memory.last_version()).unwrap();
    assert_eq!(store_of(&redb), (memory.snapshot(), 2));
    redb.compare_and_swap(b"b", None, Some(b"again")).unwrap();
    memory.compare_and_swap(b"b", None, Some(b"again")).unwrap();
    assert_eq!(store_of(&redb), (memory.snapshot(), 3));
    // A last version below the entries' own is raised to theirs.
    redb.replace_all(&memory.snapshot(), 0).unwrap();
    assert_eq!(redb.last_version().unwrap(), 3);
}

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("vault-core/meta");
const ENTRIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("vault-core/entries");

/// Writes into the store's file behind its back.
fn tamper(path: &Path, change: impl FnOnce(&redb::WriteTransaction)) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    change(&txn);
    txn.commit().unwrap();
}

#[test]
fn files_that_are_not_a_vault_store_are_refused_with_typed_errors() {
    let dir = TempDir::new().unwrap();

    let not_redb = dir.path().join("not-redb");
    std::fs::write(&not_redb, b"not a database, not empty either").unwrap();
    assert!(matches!(RedbStore::open(&not_redb), Err(RedbStoreError::Redb(_))));

    // One process (here: one handle) at a time.
    let path = dir.path().join("vault.redb");
    let open = RedbStore::open(&path).unwrap();
    assert!(matches!(
        RedbStore::open(&path),
        Err(RedbStoreError::Redb(error)) if matches!(*error, redb::Error::DatabaseAlreadyOpen)
    ));
    drop(open);

    let newer = dir.path().join("newer.redb");
    tamper(&newer, |txn| {
        txn.open_table(META).unwrap().insert("format", 2).unwrap();
    });
    assert!(matches!(RedbStore::open(&newer), Err(RedbStoreError::UnknownFormat(2))));

    let foreign = dir.path().join("foreign.redb");
    tamper(&foreign, |txn| {
        txn.open_table(ENTRIES)
            .unwrap()
            .insert(b"k".as_slice(), b"12345678v".as_slice())
            .unwrap();
    });
    assert!(matches!(
        RedbStore::open(&foreign),
        Err(RedbStoreError::Corrupt("entries without a format"))
    ));

    // A counter behind the entries would hand out a version again: a stale compare-and-swap would then succeed.
    let behind = dir.path().join("behind.redb");
    let store = RedbStore::open(&behind).unwrap();
    store.compare_and_swap(b"k", None, Some(b"v")).unwrap();
    drop(store);
    tamper(&behind, |txn| {
        txn.open_table(META).unwrap().insert("last_version", 0).unwrap();
    });
    assert!(matches!(
        RedbStore::open(&behind),
        Err(RedbStoreError::Corrupt(
            "an entry's version is above the last version handed out"
        ))
    ));
}

/// redb 2.6 asserts on some damaged files instead of returning an error: the store reports them as corrupt.
#[test]
fn damaged_files_are_refused_without_a_panic() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("vault.redb");
    let store = RedbStore::open(&path).unwrap();
    for i in 0u8..20 {
        store.compare_and_swap(&[b'k', i], None, Some(&[i; 100])).unwrap();
    }
    drop(store);
    let whole = std::fs::read(&path).unwrap();
    // Every length from a page on, in steps: a truncated file.
    for len in (4096..whole.len()).step_by(4096).chain([whole.len() - 1]) {
        let cut = dir.path().join(format!("cut-{len}.redb"));
        std::fs::write(&cut, &whole[..len]).unwrap();
        assert!(RedbStore::open(&cut).is_err(), "a file cut to {len} bytes opened");
    }
    // Bits of the header (page size, lengths, region layout).
    for offset in [12, 16, 24, 200, 232] {
        let mut flipped = whole.clone();
        flipped[offset] ^= 0x40;
        let damaged = dir.path().join(format!("flip-{offset}.redb"));
        std::fs::write(&damaged, &flipped).unwrap();
        // Refused, or (if redb happens to read through the flip) a store whose entries still decode.
        if let Ok(store) = RedbStore::open(&damaged) {
            drop(store.snapshot());
        }
    }
}

#[test]
fn a_truncated_entry_is_corrupt_and_the_vault_says_so_without_changing_anything() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("vault.redb");
    drop(RedbStore::open(&path).unwrap());
    let alice = UserId::new(b"alice".to_vec()).unwrap();
    tamper(&path, |txn| {
        txn.open_table(ENTRIES)
            .unwrap()
            .insert(b"user/alice".as_slice(), b"\x00\x01".as_slice())
            .unwrap();
    });
    let store = RedbStore::open(&path).unwrap();
    assert!(matches!(store.get(b"user/alice"), Err(RedbStoreError::Corrupt(_))));
    assert!(matches!(store.snapshot(), Err(RedbStoreError::Corrupt(_))));
    assert!(matches!(
        store.compare_and_swap(b"user/alice", None, None),
        Err(RedbStoreError::Corrupt(_))
    ));
    let last_version = store.last_version().unwrap();
    let vault = Vault::new(
        FleetKeys::generate(&mut StdRng::seed_from_u64(5)),
        common::config(),
        store,
    );
    assert!(matches!(
        vault.record_status(&alice),
        Err(VaultError::Store(RedbStoreError::Corrupt(_)))
    ));
    assert_eq!(vault.store().last_version().unwrap(), last_version);
    assert_eq!(
        vault.store().keys_with_prefix(b"", None, 10).unwrap(),
        vec![b"user/alice".to_vec()]
    );
}
