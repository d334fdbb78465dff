//! `RedbStore::atomically`: a command's writes and a replica's applied index land together or not at all, also
//! when the process is SIGKILLed in the middle (the child is this test executable again, as in redb_crash.rs).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use backup_protocol::{BackupKey, ClientLogin, LoginPurpose};
use common::{Harness, PASSWORD, WRONG, config, user};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redb::{Database, TableDefinition};
use tempfile::TempDir;
use vault_core::store::conformance;
use vault_core::{
    BatchError, Cas, FleetKeys, RecordStatus, RedbStore, RedbStoreError, Request, Response, Store, Vault,
};

/// The auxiliary key a replica keeps its applied log index under, in these tests.
const APPLIED: &[u8] = b"applied";

fn applied(store: &RedbStore) -> u64 {
    store
        .aux(APPLIED)
        .unwrap()
        .map_or(0, |bytes| u64::from_be_bytes(bytes.try_into().unwrap()))
}

/// alice registered on a fresh store in `dir`, with her fixture.
fn alice_registered(dir: &Path) -> (FleetKeys, Harness<RedbStore>) {
    let mut rng = StdRng::seed_from_u64(5);
    let keys = FleetKeys::generate(&mut rng);
    let store = RedbStore::open(dir.join("vault.redb")).unwrap();
    let mut harness = Harness::with_store(keys.clone(), store, rng);
    harness.register(
        &user("alice"),
        PASSWORD,
        &BackupKey::generate(&mut StdRng::seed_from_u64(6)),
    );
    (keys, harness)
}

/// A login start for alice, as the log would carry it.
fn login_start(harness: &mut Harness<RedbStore>, password: &[u8]) -> vault_core::Command {
    let (_, request) = ClientLogin::start_for(
        &mut harness.rng,
        &harness.client,
        user("alice"),
        password,
        LoginPurpose::RetrieveKey,
    )
    .unwrap();
    harness.command(Request::LoginStart(request))
}

fn attempts(vault: &Vault<RedbStore>) -> u32 {
    match vault.record_status(&user("alice")).unwrap() {
        Some(RecordStatus::Active { attempts_used, .. }) => attempts_used,
        other => panic!("alice's record: {other:?}"),
    }
}

#[test]
fn a_login_start_and_its_applied_index_commit_together() {
    let dir = TempDir::new().unwrap();
    let (keys, mut harness) = alice_registered(dir.path());
    let command = login_start(&mut harness, WRONG);
    let store = harness.vault.store();

    let response = store
        .atomically(|batch| {
            let vault = Vault::new(keys.clone(), config(), batch);
            let response = vault.apply(&command);
            batch.set_aux(APPLIED, Some(&1u64.to_be_bytes()))?;
            Ok::<_, RedbStoreError>(response)
        })
        .unwrap();
    let Ok(Response::LoginStarted { session, .. }) = response else {
        panic!("{response:?}")
    };
    assert_eq!(applied(store), 1);
    assert_eq!(attempts(&harness.vault), 1);
    let sessions = store.keys_with_prefix(b"login/", None, 10).unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].ends_with(&session));

    // Reopened: both are on disk.
    drop(harness);
    let store = RedbStore::open(dir.path().join("vault.redb")).unwrap();
    assert_eq!(applied(&store), 1);
    assert_eq!(store.keys_with_prefix(b"login/", None, 10).unwrap(), sessions);
}

#[test]
fn a_batch_cut_short_after_the_charge_leaves_neither_the_charge_nor_the_index() {
    let dir = TempDir::new().unwrap();
    let (keys, mut harness) = alice_registered(dir.path());
    let command = login_start(&mut harness, WRONG);
    let store = harness.vault.store();
    let before = (store.snapshot().unwrap(), store.last_version().unwrap());

    // The vault charges and stores the session inside the batch; the replica then fails before the commit.
    let cut = store.atomically(|batch| {
        let vault = Vault::new(keys.clone(), config(), batch);
        assert!(matches!(vault.apply(&command), Ok(Response::LoginStarted { .. })));
        assert_eq!(
            batch.keys_with_prefix(b"login/", None, 10).unwrap().len(),
            1,
            "reads see the batch"
        );
        batch.set_aux(APPLIED, Some(&1u64.to_be_bytes()))?;
        Err::<(), _>(RedbStoreError::Corrupt("cut short"))
    });
    assert!(matches!(
        cut,
        Err(BatchError::Aborted(RedbStoreError::Corrupt("cut short")))
    ));
    assert_eq!((store.snapshot().unwrap(), store.last_version().unwrap()), before);
    assert_eq!(store.aux(APPLIED).unwrap(), None);
    assert_eq!(attempts(&harness.vault), 0);

    // Re-applied from the log, as after a restart: one charge, not two.
    store
        .atomically(|batch| {
            Vault::new(keys.clone(), config(), batch).apply(&command).unwrap();
            batch.set_aux(APPLIED, Some(&1u64.to_be_bytes()))
        })
        .unwrap();
    assert_eq!(attempts(&harness.vault), 1);
}

#[test]
fn the_store_itself_refuses_the_thread_running_its_batch() {
    let dir = TempDir::new().unwrap();
    let store = RedbStore::open(dir.path().join("vault.redb")).unwrap();
    let refused = store.atomically(|batch| {
        batch.compare_and_swap(b"k", None, Some(b"in batch"))?;
        // Would wait for the batch's own write lock forever.
        assert!(matches!(store.get(b"k"), Err(RedbStoreError::InsideBatch)));
        assert!(matches!(store.aux(b"k"), Err(RedbStoreError::InsideBatch)));
        assert!(matches!(
            store.atomically(|_| Ok::<_, RedbStoreError>(())),
            Err(BatchError::Store(RedbStoreError::InsideBatch))
        ));
        store.compare_and_swap(b"k", None, Some(b"outside"))
    });
    assert!(matches!(refused, Err(BatchError::Aborted(RedbStoreError::InsideBatch))));
    assert_eq!(store.get(b"k").unwrap(), None);

    // Another thread's write waits for the batch, then sees its commit.
    let (opened, open) = channel();
    thread::scope(|scope| {
        scope.spawn(|| {
            store
                .atomically(|batch| {
                    batch.compare_and_swap(b"k", None, Some(b"first"))?;
                    opened.send(()).unwrap();
                    thread::sleep(Duration::from_millis(100));
                    Ok::<_, RedbStoreError>(())
                })
                .unwrap();
        });
        open.recv().unwrap();
        assert_eq!(
            store.compare_and_swap(b"k", None, Some(b"second")).unwrap(),
            Cas::Conflict
        );
    });
    assert_eq!(store.get(b"k").unwrap().unwrap().value, b"first");
}

#[test]
fn a_failed_batch_operation_is_not_committed_even_if_the_work_ignores_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("vault.redb");
    RedbStore::open(&path).unwrap();
    {
        // An entry shorter than its version.
        let db = Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&[u8], &[u8]>::new("vault-core/entries"))
            .unwrap()
            .insert(b"bad".as_slice(), b"abc".as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    let ignored = store.atomically(|batch| {
        batch.compare_and_swap(b"good", None, Some(b"v"))?;
        assert!(matches!(batch.get(b"bad"), Err(RedbStoreError::Corrupt(_))));
        batch.set_aux(APPLIED, Some(b"1"))
    });
    assert!(matches!(ignored, Err(BatchError::Ignored)));
    assert_eq!(store.get(b"good").unwrap(), None);
    assert_eq!(store.aux(APPLIED).unwrap(), None);
}

#[test]
fn a_batch_conforms_and_installs_a_snapshot_with_its_index() {
    let dir = TempDir::new().unwrap();
    let store = RedbStore::open(dir.path().join("vault.redb")).unwrap();
    // The suite's every check on the same batch, emptied before each: a batch is a `Store` like any other.
    let run = store.atomically(|batch| {
        conformance::run(|| {
            batch.replace_all(&BTreeMap::new(), 0).unwrap();
            batch
        })
    });
    // Kept nothing: rolled back as the work's error would have been, committed empty otherwise.
    run.unwrap();

    let mut entries = BTreeMap::new();
    entries.insert(
        b"k".to_vec(),
        vault_core::Versioned {
            version: 40,
            value: b"v".to_vec(),
        },
    );
    store
        .atomically(|batch| {
            batch.replace_all(&entries, 41)?;
            assert_eq!(batch.last_version()?, 41);
            batch.set_aux(APPLIED, Some(&9u64.to_be_bytes()))
        })
        .unwrap();
    assert_eq!(store.snapshot().unwrap(), entries);
    assert_eq!(applied(&store), 9);
    assert_eq!(
        store.aux_entries().unwrap(),
        BTreeMap::from([(APPLIED.to_vec(), 9u64.to_be_bytes().to_vec())])
    );
    assert_eq!(
        store.compare_and_swap(b"k", Some(40), Some(b"w")).unwrap(),
        Cas::Written
    );
    assert_eq!(store.get(b"k").unwrap().unwrap().version, 42);
}

// ----- SIGKILL between a batch's writes -----

const CHILD_ENV: &str = "VAULT_CORE_BATCH_CHILD";
const KILLS_ENV: &str = "VAULT_CORE_BATCH_KILLS";
const SEED_ENV: &str = "VAULT_CORE_BATCH_SEED";
const TEST: &str = "sigkill_never_splits_a_batch";
/// Writes per batch besides the index: a command's writes (a LoginStart makes three).
const WRITES: u64 = 4;

fn database(dir: &Path) -> PathBuf {
    dir.join("batches.redb")
}

/// The child: batch after batch, command `n` writes `cmd/n/0..WRITES`, moves `counter` to `n` and sets the index to
/// `n`, and reports `n` once committed. Runs until killed.
fn child(dir: &Path) -> ! {
    let store = RedbStore::open(database(dir)).unwrap();
    println!("READY");
    let mut next = applied(&store) + 1;
    loop {
        store
            .atomically(|batch| {
                for write in 0..WRITES {
                    let key = format!("cmd/{next:08}/{write}");
                    assert_eq!(
                        batch.compare_and_swap(key.as_bytes(), None, Some(&[7; 64]))?,
                        Cas::Written
                    );
                }
                let counter = batch.get(b"counter")?.map(|entry| entry.version);
                batch.compare_and_swap(b"counter", counter, Some(&next.to_be_bytes()))?;
                batch.set_aux(APPLIED, Some(&next.to_be_bytes()))
            })
            .unwrap();
        println!("APPLIED {next}");
        next += 1;
    }
}

/// A child killed and reaped on drop, also when the parent's checks panic.
struct Running(Child, Receiver<String>);

impl Running {
    fn spawn(dir: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, lines) = channel();
        thread::spawn(move || {
            let mut stdout = stdout;
            let mut line = String::new();
            // Only whole lines count: a line cut by the kill was never reported.
            while matches!(stdout.read_line(&mut line), Ok(read) if read > 0) && line.ends_with('\n') {
                if sender.send(line.trim_end().to_owned()).is_err() {
                    break;
                }
                line.clear();
            }
        });
        Self(child, lines)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigkill_never_splits_a_batch() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let kills: u32 = std::env::var(KILLS_ENV).map_or(40, |kills| kills.parse().unwrap());
    let seed: u64 = std::env::var(SEED_ENV).map_or_else(|_| rand::random(), |seed| seed.parse().unwrap());
    println!("batch kill test: seed {seed} ({SEED_ENV} repeats the kill delays), {kills} kills");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir_in(if Path::new("/dev/shm").is_dir() {
        Path::new("/dev/shm")
    } else {
        Path::new(".")
    })
    .unwrap_or_else(|_| TempDir::new().unwrap());
    let mut reported = 0;
    let mut last = 0;
    let mut interrupted = 0;
    for round in 0..kills {
        let mut running = Running::spawn(dir.path());
        let ready = Instant::now() + Duration::from_secs(30);
        // The harness prints the test's name on the line the child's READY ends.
        while !running
            .1
            .recv_timeout(ready.saturating_duration_since(Instant::now()))
            .unwrap()
            .ends_with("READY")
        {}
        thread::sleep(Duration::from_micros(rng.gen_range(0..30_000)));
        running.0.kill().unwrap();
        running.0.wait().unwrap();
        // Every whole "APPLIED n" line: the child reports after the commit returned.
        thread::sleep(Duration::from_millis(5));
        let reports: Vec<u64> = running
            .1
            .try_iter()
            .filter_map(|line| line.strip_prefix("APPLIED ")?.parse().ok())
            .collect();
        drop(running);
        reported += reports.len();

        let store = RedbStore::open(database(dir.path())).unwrap();
        let index = applied(&store);
        let highest = reports.last().copied().unwrap_or(last);
        assert!(
            index >= highest,
            "round {round}: index {index} below the reported {highest}"
        );
        assert!(
            index <= highest + 1,
            "round {round}: index {index} beyond the one batch in flight"
        );
        interrupted += u32::from(index == highest + 1);
        // Exactly the writes of the commands up to the index: none of a later one, all of each earlier one.
        let keys = store.keys_with_prefix(b"cmd/", None, usize::MAX).unwrap();
        let expected: Vec<Vec<u8>> = (1..=index)
            .flat_map(|n| (0..WRITES).map(move |write| format!("cmd/{n:08}/{write}").into_bytes()))
            .collect();
        assert_eq!(keys, expected, "round {round}");
        let counter = store
            .get(b"counter")
            .unwrap()
            .map_or(0, |entry| u64::from_be_bytes(entry.value.try_into().unwrap()));
        assert_eq!(counter, index, "round {round}");
        last = index;
    }
    println!(
        "batch kill test: {kills} kills, {reported} batches reported, {last} on disk, {interrupted} kills after a \
         commit not yet reported"
    );
    // The kills must have come while batches ran, not only before the first (several per kill are usual).
    assert!(2 * last >= u64::from(kills), "too few batches between kills: {last}");
}

#[test]
fn a_wrong_guess_in_a_batch_is_charged_like_one_on_the_store() {
    // The same command on the store itself and in a batch: the same response, store and versions.
    let dirs = [TempDir::new().unwrap(), TempDir::new().unwrap()];
    let (keys, mut plain) = alice_registered(dirs[0].path());
    let (_, mut batched) = alice_registered(dirs[1].path());
    for _ in 0..3 {
        let command = login_start(&mut plain, WRONG);
        batched.now_ms = plain.now_ms;
        let on_store = plain.vault.apply(&command);
        let in_batch = batched
            .vault
            .store()
            .atomically(|batch| Ok::<_, RedbStoreError>(Vault::new(keys.clone(), config(), batch).apply(&command)))
            .unwrap();
        match (on_store, in_batch) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (a, b) => panic!("{a:?} vs {b:?}"),
        }
    }
    let (a, b) = (plain.vault.store(), batched.vault.store());
    assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
    assert_eq!(a.last_version().unwrap(), b.last_version().unwrap());
}
