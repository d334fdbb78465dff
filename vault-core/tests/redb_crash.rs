//! Real crashes: a child process runs logins against a vault on `RedbStore` and reports every login response (KE2)
//! it received; the parent SIGKILLs it at a random moment, reopens the file and checks that every reported KE2 is a
//! charge on disk, that no counter went back, and that nothing is half-written. Repeated `VAULT_CORE_CRASH_KILLS`
//! times (default 200) with kill delays drawn from `VAULT_CORE_CRASH_SEED` (printed; random by default), in a
//! temporary directory under `VAULT_CORE_CRASH_DIR` (default: tmpfs, see [`scratch_dir`]).
//!
//! The child is this same test executable, started again with `VAULT_CORE_CRASH_CHILD` naming the directory.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backup_protocol::{BackupKey, ClientConfig, KsfPolicy, LoginPurpose};
use common::{Harness, PASSWORD, WRONG, user};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use vault_core::{FleetKeys, RecordStatus, RedbStore, Request, Response, Vault, VaultConfig, Versioned};

/// In the child: the directory of the store. The other three: the fixture's seed, the child's own seed (its order
/// of logins) and its clock.
const CHILD_ENV: &str = "VAULT_CORE_CRASH_CHILD";
const FIXTURE_SEED_ENV: &str = "VAULT_CORE_CRASH_FIXTURE_SEED";
const CHILD_SEED_ENV: &str = "VAULT_CORE_CRASH_CHILD_SEED";
const CHILD_CLOCK_ENV: &str = "VAULT_CORE_CRASH_CHILD_CLOCK";
const SEED_ENV: &str = "VAULT_CORE_CRASH_SEED";
const KILLS_ENV: &str = "VAULT_CORE_CRASH_KILLS";
const DIR_ENV: &str = "VAULT_CORE_CRASH_DIR";
/// This test's name, for the child's command line.
const TEST: &str = "sigkill_at_random_moments_never_loses_an_answered_charge";

/// Logs in with the right password and finishes (a success resets the counter).
const OWNER: &str = "owner";
/// Registered, guesses wrong and never finishes: the counter only grows.
const GUESSER: &str = "guesser";
/// Never registered: charged as a NoRecord (SPEC §6).
const STRANGER: &str = "stranger";
const USERS: [&str; 3] = [OWNER, GUESSER, STRANGER];

/// Longest wait between the child's READY and its kill, in microseconds: a few logins' worth, on tmpfs and on a
/// disk (where each commit waits for fsync). `VAULT_CORE_CRASH_MAX_DELAY_US` overrides it.
const MAX_KILL_DELAY_TMPFS_US: u64 = 30_000;
const MAX_KILL_DELAY_DISK_US: u64 = 300_000;
const MAX_DELAY_ENV: &str = "VAULT_CORE_CRASH_MAX_DELAY_US";

/// The test KSF, and limits no run reaches: the counters are what is checked, not the lockout or the caps.
fn config() -> VaultConfig {
    VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        attempt_limit: 1_000_000,
        max_pending_per_principal: 1_000_000,
        max_pending_total: 1_000_000_000,
        ..VaultConfig::default()
    }
}

/// The fleet keys and the owner's backup key, the same in parent and child.
fn fixture(seed: u64) -> (FleetKeys, BackupKey) {
    let mut rng = StdRng::seed_from_u64(seed);
    (FleetKeys::generate(&mut rng), BackupKey::generate(&mut rng))
}

fn harness(store: RedbStore, keys: FleetKeys, rng: StdRng, now_ms: u64) -> Harness<RedbStore> {
    Harness {
        client: ClientConfig::insecure_fast_for_testing(keys.backup_pins()),
        vault: Vault::new(keys, config(), store),
        rng,
        now_ms,
    }
}

fn database(dir: &Path) -> PathBuf {
    dir.join("vault.redb")
}

#[test]
fn sigkill_at_random_moments_never_loses_an_answered_charge() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let seed = std::env::var(SEED_ENV).map_or_else(
        |_| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            now.as_nanos() as u64 ^ u64::from(std::process::id())
        },
        |seed| seed.parse().expect("VAULT_CORE_CRASH_SEED: a u64"),
    );
    let (dir, on_tmpfs) = scratch_dir();
    let default_delay = if on_tmpfs {
        MAX_KILL_DELAY_TMPFS_US
    } else {
        MAX_KILL_DELAY_DISK_US
    };
    let max_delay_us: u64 =
        std::env::var(MAX_DELAY_ENV).map_or(default_delay, |delay| delay.parse().expect("a number of microseconds"));
    let kills: u32 =
        std::env::var(KILLS_ENV).map_or(200, |kills| kills.parse().expect("VAULT_CORE_CRASH_KILLS: a u32"));
    println!(
        "crash test: seed {seed} ({SEED_ENV}={seed} repeats the kill delays and the children's logins), {kills} kills \
         within {max_delay_us} µs of start, in {}",
        dir.path().display()
    );
    let started = Instant::now();

    let mut rng = StdRng::seed_from_u64(seed);
    let (keys, key) = fixture(seed);
    let mut clock = 1_700_000_000_000;
    {
        let mut setup = harness(
            RedbStore::open(database(dir.path())).unwrap(),
            keys.clone(),
            StdRng::seed_from_u64(seed),
            clock,
        );
        setup.register(&user(OWNER), PASSWORD, &key);
        setup.register(&user(GUESSER), PASSWORD, &key);
    }
    let mut disk = Disk::read(dir.path(), &keys, None);
    let mut totals = Totals::default();

    for round in 0..kills {
        // Each child starts its clock a day after the last one's: time only moves forward.
        clock += 86_400_000;
        let delay = Duration::from_micros(rng.gen_range(0..=max_delay_us));
        let mut child = Running::spawn(dir.path(), seed, rng.next_u64(), clock);
        child.wait_until_ready(round);
        thread::sleep(delay);
        let reports = child.kill(round);

        let after = Disk::read(dir.path(), &keys, Some(&disk));
        check_charges(round, &disk, &after, &reports);
        totals.add(&reports);
        disk = after;

        // Now and then the parent logs in itself: the record, with EK, is whole.
        if round % 40 == 39 {
            clock += 86_400_000;
            let mut parent = harness(
                RedbStore::open(database(dir.path())).unwrap(),
                keys.clone(),
                StdRng::seed_from_u64(rng.next_u64()),
                clock,
            );
            assert_eq!(
                parent.retrieve(&user(OWNER), PASSWORD).unwrap(),
                Some(key.clone()),
                "round {round}"
            );
            drop(parent);
            disk = Disk::read(dir.path(), &keys, Some(&disk));
        }
    }
    println!(
        "crash test: {kills} kills in {:.1} s; the children reported {} KE2 and {} released keys",
        started.elapsed().as_secs_f64(),
        totals.ke2,
        totals.released
    );
    // The kills must have come during logins, not only before the first one (about 1.5 KE2 per kill is usual;
    // half of that leaves room for a loaded machine).
    assert!(
        2 * totals.ke2 >= u64::from(kills),
        "too few logins between kills: {totals:?}"
    );
}

/// Where the store lives: `VAULT_CORE_CRASH_DIR` if set, else tmpfs (`/dev/shm`) where there is one, else the
/// system's temporary directory. A SIGKILL ends the process, not the kernel: every write the process made is in the
/// page cache whether or not it was synced, so what a kill can break (a commit cut half-way) is the same on tmpfs,
/// and there commits cost no fsync, which leaves time for more logins between kills. A real disk (power loss) needs
/// the fsyncs that `Durability::Immediate` makes, which no process kill can test. Also says whether it is tmpfs.
fn scratch_dir() -> (tempfile::TempDir, bool) {
    let shm = Path::new("/dev/shm");
    match std::env::var_os(DIR_ENV).map(PathBuf::from) {
        Some(base) => (tempfile::tempdir_in(&base).unwrap(), base == shm),
        None if shm.is_dir() => (tempfile::tempdir_in(shm).unwrap(), true),
        None => (tempfile::tempdir().unwrap(), false),
    }
}

/// What the children reported over the whole run.
#[derive(Debug, Default)]
struct Totals {
    ke2: u64,
    released: u64,
}

impl Totals {
    fn add(&mut self, reports: &[Report]) {
        for report in reports {
            match report {
                Report::Ke2(_) => self.ke2 += 1,
                Report::Released(_) => self.released += 1,
                Report::Starting(_) | Report::Finishing(_) => {}
            }
        }
    }
}

/// A line of the child's stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Report {
    /// The child is about to send this user's login start.
    Starting(String),
    /// A login start was answered: the child holds a KE2 for this user.
    Ke2(String),
    /// The child is about to send this user's login finish.
    Finishing(String),
    /// The finish released the key (the counter was reset before that).
    Released(String),
}

impl Report {
    fn parse(line: &str) -> Option<Self> {
        let (kind, name) = line.split_once(' ')?;
        let name = name.to_owned();
        match kind {
            "STARTING" => Some(Self::Starting(name)),
            "KE2" => Some(Self::Ke2(name)),
            "FINISHING" => Some(Self::Finishing(name)),
            "RELEASED" => Some(Self::Released(name)),
            _ => None,
        }
    }
}

/// The child: logins of the three users in a seeded random order, and operator sweeps, until it is killed. Each
/// report is one line, written (one `write` of a whole line) right after the event and before anything else.
fn child(dir: &Path) -> ! {
    let number = |name: &str| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    let (keys, key) = fixture(number(FIXTURE_SEED_ENV));
    let store = match RedbStore::open(database(dir)) {
        Ok(store) => store,
        Err(error) => fail(&format!("open: {error}")),
    };
    let mut rng = StdRng::seed_from_u64(number(CHILD_SEED_ENV));
    let mut vault = harness(
        store,
        keys,
        StdRng::seed_from_u64(rng.next_u64()),
        number(CHILD_CLOCK_ENV),
    );
    // A newline first: libtest has printed the test's name without one.
    println!("\nREADY");
    for step in 0u64.. {
        if step % 8 == 7 {
            // Past every session's lifetime: the sweep removes them all (between logins, never inside one).
            vault.now_ms += vault.vault.config().login_ttl_ms + 1;
            sweep(&mut vault);
            continue;
        }
        let name = USERS[rng.gen_range(0..USERS.len())];
        let password = if name == OWNER { PASSWORD } else { WRONG };
        println!("STARTING {name}");
        let started = vault.login_start(&user(name), password, LoginPurpose::RetrieveKey);
        let (finished, session) = started.unwrap_or_else(|error| fail(&format!("login start of {name}: {error}")));
        println!("KE2 {name}");
        if let Some((pending, finalization)) = finished {
            println!("FINISHING {name}");
            match vault.apply(Request::LoginFinish { session, finalization }) {
                Ok(Response::KeyReleased(release)) if pending.open(&release).as_ref() == Ok(&key) => {
                    println!("RELEASED {name}");
                }
                other => fail(&format!("login finish of {name}: {other:?}")),
            }
        }
    }
    unreachable!("the child runs until it is killed")
}

fn sweep(vault: &mut Harness<RedbStore>) {
    let mut cursor = Vec::new();
    loop {
        match vault.apply_as(vault_core::Principal::Operator, Request::Sweep { cursor }) {
            Ok(Response::Swept { next: Some(next), .. }) => cursor = next,
            Ok(Response::Swept { next: None, .. }) => return,
            other => fail(&format!("sweep: {other:?}")),
        }
    }
}

/// Reports what went wrong to the parent (which fails the test with it) and exits.
fn fail(why: &str) -> ! {
    println!("ERROR {why}");
    std::process::exit(3)
}

/// A running child, killed and reaped on drop (also when the parent's checks panic).
struct Running {
    child: Child,
    lines: Receiver<String>,
    readers: Vec<JoinHandle<String>>,
}

impl Running {
    fn spawn(dir: &Path, seed: u64, child_seed: u64, clock: u64) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir)
            .env(FIXTURE_SEED_ENV, seed.to_string())
            .env(CHILD_SEED_ENV, child_seed.to_string())
            .env(CHILD_CLOCK_ENV, clock.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = channel();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let readers = vec![
            thread::spawn(move || {
                let mut line = String::new();
                // Only whole lines count: a line cut by the kill was never reported.
                while matches!(stdout.read_line(&mut line), Ok(read) if read > 0) && line.ends_with('\n') {
                    if sender.send(line.trim_end().to_owned()).is_err() {
                        break;
                    }
                    line.clear();
                }
                String::new()
            }),
            thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            }),
        ];
        Self { child, lines, readers }
    }

    fn wait_until_ready(&mut self, round: u32) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line == "READY" => return,
                Ok(line) if line.starts_with("ERROR") => panic!("round {round}: child: {line}"),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let stderr = self.finish();
                    panic!("round {round}: the child never got ready: {stderr}");
                }
            }
        }
    }

    /// SIGKILLs the child (`Child::kill` is SIGKILL on Unix) and returns every whole line it reported.
    fn kill(mut self, round: u32) -> Vec<Report> {
        if let Ok(Some(status)) = self.child.try_wait() {
            let lines: Vec<String> = self.lines.try_iter().collect();
            let stderr = self.finish();
            panic!("round {round}: the child stopped by itself ({status}) before the kill: {lines:?} {stderr}");
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.finish();
        let mut reports = Vec::new();
        for line in self.lines.try_iter() {
            assert!(!line.starts_with("ERROR"), "round {round}: child: {line}");
            reports.extend(Report::parse(&line));
        }
        reports
    }

    /// Kills the child if it still runs, reaps it, and returns its stderr.
    fn finish(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.readers.drain(..).filter_map(|reader| reader.join().ok()).collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.finish();
    }
}

/// What the parent reads from the reopened file after a kill.
#[derive(Debug)]
struct Disk {
    /// Each user's record status and the version of its `user/` entry.
    users: BTreeMap<&'static str, (RecordStatus, u64)>,
    last_version: u64,
}

impl Disk {
    /// Opens the file (it must open cleanly, after redb's repair), checks every stored value, and that nothing went
    /// backwards since `before`.
    fn read(dir: &Path, keys: &FleetKeys, before: Option<&Disk>) -> Disk {
        let store = RedbStore::open(database(dir)).unwrap_or_else(|error| panic!("the store does not open: {error}"));
        let entries = store.snapshot().unwrap();
        let last_version = store.last_version().unwrap();
        let in_flight = entries.keys().filter(|key| key.starts_with(b"login/")).count() as u64;
        for (key, entry) in &entries {
            assert!(
                entry.version <= last_version,
                "{key:?} has version {} > last {last_version}",
                entry.version
            );
            check_value(key, entry, in_flight);
        }
        let vault = Vault::new(keys.clone(), config(), store);
        let mut users = BTreeMap::new();
        for name in USERS {
            let status = vault.record_status(&user(name)).unwrap();
            let version = entries
                .get(format!("user/{name}").as_bytes())
                .map(|entry| entry.version);
            if let (Some(status), Some(version)) = (status, version) {
                users.insert(name, (status, version));
            }
        }
        let disk = Disk { users, last_version };
        if let Some(before) = before {
            assert!(
                disk.last_version >= before.last_version,
                "the version counter went back"
            );
            for (name, (_, version)) in &before.users {
                let now = disk.users.get(name).map(|(_, version)| *version);
                assert!(
                    now >= Some(*version),
                    "{name}'s entry went back from version {version} to {now:?}"
                );
            }
        }
        disk
    }

    fn attempts(&self, name: &str) -> u32 {
        match self.users.get(name) {
            None => 0,
            Some((RecordStatus::Active { attempts_used, .. } | RecordStatus::NoRecord { attempts_used }, _)) => {
                *attempts_used
            }
            Some((status, _)) => panic!("{name} is {status:?}"),
        }
    }
}

/// Every stored value has the layout of SPEC §2 for its key, with exact lengths: a half-written value would not.
fn check_value(key: &[u8], entry: &Versioned, in_flight: u64) {
    let value = entry.value.as_slice();
    let exact = |fixed: usize| -> bool {
        // `fixed` bytes after the header, then a len16 and that many bytes, nothing after.
        let Some(length) = value.get(2 + fixed..4 + fixed) else {
            return false;
        };
        value.len() == 4 + fixed + usize::from(u16::from_be_bytes([length[0], length[1]]))
    };
    let whole = match (key, value) {
        (_, [0x01, 0x61, 0x01, ..]) if key.starts_with(b"user/") => exact(1 + 8 + 4),
        (_, [0x01, 0x61, 0x03, ..]) if key.starts_with(b"user/") => value.len() == 3 + 8 + 4,
        (_, [0x01, 0x63, ..]) if key.starts_with(b"login/") => {
            let owner = usize::from(key[6]);
            key.len() == 6 + 1 + owner + 16 && exact(8 + 8)
        }
        (b"pending-count", [0x01, 0x68, count @ ..]) => {
            // The count may run high after a crash (SPEC §9), never low.
            let count = <[u8; 8]>::try_from(count).map(u64::from_be_bytes);
            assert!(
                count.is_ok_and(|count| count >= in_flight),
                "pending-count {count:?} below {in_flight} sessions"
            );
            true
        }
        _ => false,
    };
    assert!(
        whole,
        "a value that is not whole under {:?}: {value:?}",
        String::from_utf8_lossy(key)
    );
}

/// Every KE2 the child reported is a charge on disk, and the counter holds nothing else but (at most) the one
/// operation the kill interrupted: SPEC §5, "a crash after [the charge] burns the guess without an answer". The
/// child announces each start and finish before sending it, so the one in flight is the last report, if that is a
/// `STARTING` or a `FINISHING`; every other user's count must match the reports exactly (a lost charge cannot hide
/// behind an unreported start of the same user).
fn check_charges(round: u32, before: &Disk, after: &Disk, reports: &[Report]) {
    let in_flight = match reports.last() {
        Some(Report::Starting(name)) => Some((name.as_str(), false)),
        Some(Report::Finishing(name)) => Some((name.as_str(), true)),
        _ => None,
    };
    for name in USERS {
        // What the reports prove: KE2s since the last reset.
        let mut charged = before.attempts(name);
        for report in reports {
            match report {
                Report::Ke2(who) if who == name => charged += 1,
                Report::Released(who) if who == name => charged = 0,
                _ => {}
            }
        }
        let on_disk = after.attempts(name);
        // A start cut by the kill may or may not have charged; a finish cut by it may or may not have reset.
        let allowed = match in_flight {
            Some((who, false)) if who == name => vec![charged, charged + 1],
            Some((who, true)) if who == name => vec![charged, 0],
            _ => vec![charged],
        };
        assert!(
            allowed.contains(&on_disk),
            "round {round}: {name} has {on_disk} attempts on disk, the child's reports allow {allowed:?}: {reports:?}"
        );
    }
}
