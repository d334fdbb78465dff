//! Five vault replicas as five OS processes on 127.0.0.1 (examples/cluster/): each this test executable started
//! again as a replica, with its Raft log and state on redb in its own directory and Raft over TCP. The test
//! SIGKILLs them under load and checks what clients saw against what every replica stores.
//!
//! One test runs the phases in order on one fleet (five processes are what a 2-core machine can run at once):
//!
//! 1. two replicas, the leader among them, SIGKILLed during logins: logins go on after the re-election, and every
//!    guess a client was answered is charged exactly once (the signed guesses-remaining of each answer is the
//!    count of guesses so far; the counter every replica ends with is the count since the last success);
//! 2. a third SIGKILLed: a request fails within its deadline with `Timeout` or `NoLeader`, and neither survivor
//!    applies anything;
//! 3. the three restarted on their own files: all five end byte-identical; the failed request's retry under the
//!    same key costs at most the one guess it is answered;
//! 4. a replica restarted from an older copy of its files (taken before further guesses) cannot re-arm a spent
//!    guess: it never answers itself, and once it is needed for every majority the next answer still counts
//!    every guess.
//!
//! Every process is killed when the fleet is dropped, also when an assertion fails. Files go to tmpfs where there
//! is one (a SIGKILL leaves the page cache as it was, so what it can cut short is the same, with no fsync to wait
//! for; redb_crash.rs says more).

#[path = "../examples/replicated/adapter/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod adapter;
#[path = "../examples/cluster/fleet/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod fleet;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use adapter::NodeId;
use adapter::client::Client;
use adapter::cluster::SubmitError;
use adapter::redb_state::RedbStateMachine;
use adapter::state_machine::ReplicaState;
use backup_protocol::{BackupKey, UserId};
use fleet::processes::{Fleet, Launcher};
use fleet::protocol::{ClientReply, ClientRequest};
use fleet::remote::{Remote, converged, leader};
use fleet::replica::{fleet_keys, run_if_asked, vault_config};
use rand::SeedableRng;
use rand::rngs::StdRng;
use vault_core::{Command, ENTROPY_LEN, Principal};

const TEST: &str = "five_replica_processes_survive_sigkills";
const PASSWORD: &[u8] = b"correct horse battery staple";
const WRONG: &[u8] = b"correct horse battery stable";
const USERS: u32 = 4;
/// The seed of the fleet keys.
const SEED: u64 = 11;
/// Each user's pattern: this many wrong guesses, then a login with the right password (which resets the counter).
const WRONG_PER_ROUND: u32 = 3;
/// How long a patient client keeps trying (an election on a loaded machine takes a second or two).
const PATIENT: Duration = Duration::from_secs(20);
/// The deadline of the request that must fail without a majority.
const IMPATIENT: Duration = Duration::from_secs(3);
/// How long replicas may take to catch up.
const SETTLE: Duration = Duration::from_secs(30);

fn user(index: u32) -> UserId {
    UserId::new(format!("user-{index}").into_bytes()).unwrap()
}

/// `user`'s attempt counter in a replica's state (SPEC §2: `0x01 0x61 0x01 (Active) generation (8) attempts (4)`).
fn attempts(state: &ReplicaState, user: &UserId) -> u32 {
    let key = [b"user/".as_slice(), user.as_bytes()].concat();
    let value = &state.store.get(&key).expect("a record").value;
    assert_eq!(value[..3], [0x01, 0x61, 0x01], "{user:?}'s record is not active");
    u32::from_be_bytes(value[11..15].try_into().unwrap())
}

/// One user's device and what its answers proved: guesses charged since its last successful login.
struct Device {
    client: Client,
    key: BackupKey,
    user: UserId,
    since_reset: u32,
    answered: u32,
}

impl Device {
    /// One attempt (wrong or right per the pattern); checks the signed guesses remaining against the count.
    async fn step(&mut self, remote: &Remote) -> Result<(), String> {
        let wrong = self.since_reset < WRONG_PER_ROUND;
        let password = if wrong { WRONG } else { PASSWORD };
        let (remaining, key) = self
            .client
            .attempt(remote, password)
            .await
            .map_err(|error| format!("{:?}: {error}", self.user))?;
        self.answered += 1;
        let limit = vault_config().attempt_limit;
        // This guess counted, and each earlier one since the reset exactly once: a lost charge would show more
        // remaining, a charge applied twice fewer.
        if remaining != limit - (self.since_reset + 1) {
            return Err(format!(
                "{:?}: {remaining} guesses remaining after {} since the reset",
                self.user,
                self.since_reset + 1
            ));
        }
        match key {
            None if wrong => self.since_reset += 1,
            Some(key) if !wrong && key == self.key => self.since_reset = 0,
            other => return Err(format!("{:?}: unexpected result {:?}", self.user, other.is_some())),
        }
        Ok(())
    }
}

/// Every replica in `ids` holds each device's counter as its answers proved.
fn check_counters(state: &ReplicaState, devices: &[Device]) {
    for device in devices {
        assert_eq!(attempts(state, &device.user), device.since_reset, "{:?}", device.user);
    }
}

async fn state_of(remote: &Remote, id: NodeId) -> Vec<u8> {
    remote.state(id).await.unwrap().0.to_bytes()
}

fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The fleet under test and what its clients know.
struct World {
    dir: tempfile::TempDir,
    fleet: Fleet,
    remote: Arc<Remote>,
    all: Vec<NodeId>,
    devices: Vec<Device>,
}

/// Starts five replicas and registers the users.
async fn start() -> World {
    let dir = scratch();
    let launcher = Launcher {
        program: std::env::current_exe().unwrap(),
        args: [TEST, "--exact", "--nocapture", "--test-threads=1"]
            .map(String::from)
            .to_vec(),
    };
    let fleet = Fleet::start(launcher, dir.path(), 5, SEED).unwrap();
    let all = fleet.running();
    let remote = Arc::new(fleet.remote(PATIENT));
    leader(&remote, &all, SETTLE).await.expect("a leader");
    let mut devices = Vec::new();
    for index in 0..USERS {
        let seed = 100 + u64::from(index);
        let mut client = Client::new(remote.as_ref(), user(index), seed);
        let key = BackupKey::generate(&mut StdRng::seed_from_u64(seed));
        client.register(remote.as_ref(), PASSWORD, &key).await.unwrap();
        devices.push(Device {
            client,
            key,
            user: user(index),
            since_reset: 0,
            answered: 0,
        });
    }
    World {
        dir,
        fleet,
        remote,
        all,
        devices,
    }
}

/// Phase 1; returns the three replicas left and their leader.
async fn two_killed_under_load(world: &mut World) -> (Vec<NodeId>, NodeId) {
    let first = leader(&world.remote, &world.all, SETTLE).await.expect("a leader");
    // Phase 1: load, then the leader and one follower SIGKILLed under it.
    let stop = Arc::new(AtomicBool::new(false));
    let after_kill = Arc::new(AtomicU32::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for mut device in world.devices.drain(..) {
        let (remote, stop, killed, after_kill) = (
            Arc::clone(&world.remote),
            Arc::clone(&stop),
            Arc::clone(&killed),
            Arc::clone(&after_kill),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                device.step(&remote).await?;
                if killed.load(Ordering::SeqCst) {
                    after_kill.fetch_add(1, Ordering::SeqCst);
                }
            }
            Ok::<Device, String>(device)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let follower = *world.all.iter().find(|&&id| id != first).unwrap();
    world.fleet.kill(first).unwrap();
    world.fleet.kill(follower).unwrap();
    killed.store(true, Ordering::SeqCst);
    let kill_time = Instant::now();
    // Long enough for an election and a few rounds of every client after it.
    while after_kill.load(Ordering::SeqCst) < 2 * USERS && kill_time.elapsed() < PATIENT {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        world
            .devices
            .push(task.await.unwrap().unwrap_or_else(|error| panic!("phase 1: {error}")));
    }
    let answered_after = after_kill.load(Ordering::SeqCst);
    assert!(
        answered_after >= 2 * USERS,
        "only {answered_after} logins answered after the kills"
    );
    let three = world.fleet.running();
    let second = leader(&world.remote, &three, SETTLE).await.expect("a new leader");
    assert!(second != first && second != follower);
    let state = converged(&world.remote, &three, SETTLE).await.unwrap();
    check_counters(&state, &world.devices);
    println!(
        "phase 1: killed {first} (leader) and {follower}; {} attempts answered, {answered_after} after the kills; \
         new leader {second}",
        world.devices.iter().map(|device| device.answered).sum::<u32>()
    );
    (three, second)
}

/// Phase 2; returns the two replicas left.
async fn third_killed(world: &mut World, three: &[NodeId], second: NodeId) -> Vec<NodeId> {
    // Phase 2: a third SIGKILLed; the next request fails in time with a typed error and applies nothing.
    let third = *three.iter().find(|&&id| id != second).unwrap();
    world.fleet.kill(third).unwrap();
    let two = world.fleet.running();
    let before: Vec<Vec<u8>> = {
        let mut states = Vec::new();
        for &id in &two {
            states.push(state_of(&world.remote, id).await);
        }
        states
    };
    let impatient = world.fleet.remote(IMPATIENT);
    let device = &mut world.devices[0];
    let (_, request) = device.client.begin_login(WRONG).unwrap();
    let clock = Instant::now();
    let failed = device.client.send(&impatient, request).await;
    let took = clock.elapsed();
    assert!(
        matches!(failed, Err(SubmitError::Timeout | SubmitError::NoLeader)),
        "without a majority: {failed:?}"
    );
    assert!(took < IMPATIENT + Duration::from_secs(3), "failed after {took:?}");
    for (&id, before) in two.iter().zip(&before) {
        assert_eq!(
            &state_of(&world.remote, id).await,
            before,
            "replica {id} applied something without a majority"
        );
    }
    println!("phase 2: killed {third}; the request failed after {took:?} with {failed:?}; nothing applied");
    two
}

/// Phase 3.
async fn all_restarted(world: &mut World, killed: &[NodeId]) {
    // Phase 3: the three restarted on their own files; all five converge; the retry costs one guess at most.
    for &id in killed {
        world.fleet.restart(id).unwrap();
    }
    let device = &mut world.devices[0];
    let retried = device
        .client
        .retry(world.remote.as_ref())
        .await
        .expect("the retry is answered");
    assert!(retried.is_ok(), "{retried:?}");
    device.since_reset += 1;
    let state = converged(&world.remote, &world.all, SETTLE).await.unwrap();
    check_counters(&state, &world.devices);
    println!("phase 3: restarted {killed:?}; all five identical, counters as answered");
}

/// Phase 4.
async fn restarted_from_an_older_copy(world: &mut World) {
    // Phase 4: a follower's files copied, more guesses charged, the follower restarted from the old copy.
    let current = leader(&world.remote, &world.all, SETTLE).await.expect("a leader");
    let rolled_back = *world.all.iter().find(|&&id| id != current).unwrap();
    // user-1 from a fresh count (a successful login), so that the guesses below are charged after the copy.
    while world.devices[1].since_reset != 0 {
        world.devices[1].step(&world.remote).await.unwrap();
    }
    converged(&world.remote, &world.all, SETTLE).await.unwrap();
    world.fleet.kill(rolled_back).unwrap();
    let copy = world.dir.path().join("stale-copy");
    copy_dir(&world.fleet.dir(rolled_back), &copy);
    world.fleet.restart(rolled_back).unwrap();
    let device = &mut world.devices[1];
    while device.since_reset < WRONG_PER_ROUND {
        device.step(&world.remote).await.unwrap();
    }
    converged(&world.remote, &world.all, SETTLE).await.unwrap();
    // The copy holds user-1 with fewer guesses charged than the fleet has: a counter that would be re-armed.
    let old = RedbStateMachine::open(copy.join("state.redb"), fleet_keys(SEED), vault_config())
        .unwrap()
        .state()
        .unwrap();
    assert!(attempts(&old, &world.devices[1].user) < world.devices[1].since_reset);
    world.fleet.kill(rolled_back).unwrap();
    std::fs::remove_dir_all(world.fleet.dir(rolled_back)).unwrap();
    copy_dir(&copy, &world.fleet.dir(rolled_back));
    // The leader saw this replica's longer log: with openraft's `loosen-follower-log-revert` it starts over
    // replicating to it rather than stopping on the log going back.
    let others: Vec<NodeId> = world.all.iter().copied().filter(|&id| id != rolled_back).collect();
    world.fleet.restart(rolled_back).unwrap();
    let next = leader(&world.remote, &others, SETTLE)
        .await
        .expect("a leader among the four");
    // It answers no client itself: a login start sent to it is refused with a leader's id, proposing nothing.
    let (_, request) = world.devices[1].client.begin_login(WRONG).unwrap();
    let command = Command {
        at_ms: 0,
        entropy: [0; ENTROPY_LEN],
        principal: Principal::Account(world.devices[1].user.clone()),
        request,
    };
    let submit = ClientRequest::Submit {
        command: command.to_bytes().to_vec(),
        client: [7; 16],
        seq: 1,
    };
    let reply = world
        .remote
        .ask(rolled_back, &submit, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(reply, ClientReply::NotLeader(_)),
        "the stale replica did not refuse a client"
    );
    // Two others down: every majority now holds the stale replica, and still the next answer counts every guess
    // (the device checks the signed guesses remaining), and the counter is the majority's.
    let down: Vec<NodeId> = others.iter().copied().filter(|&id| id != next).take(2).collect();
    for &id in &down {
        world.fleet.kill(id).unwrap();
    }
    let three = world.fleet.running();
    assert!(three.contains(&rolled_back) && three.len() == 3);
    world.devices[1].step(&world.remote).await.unwrap();
    let state = converged(&world.remote, &three, SETTLE).await.unwrap();
    check_counters(&state, &world.devices);
    for id in down {
        world.fleet.restart(id).unwrap();
    }
    let state = converged(&world.remote, &world.all, SETTLE).await.unwrap();
    check_counters(&state, &world.devices);
    println!("phase 4: replica {rolled_back} restarted from an older copy; no guess re-armed; all five identical");
}

#[test]
fn five_replica_processes_survive_sigkills() {
    run_if_asked();
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut world = start().await;
        let (three, second) = two_killed_under_load(&mut world).await;
        let two = third_killed(&mut world, &three, second).await;
        let killed: Vec<NodeId> = world.all.iter().copied().filter(|id| !two.contains(id)).collect();
        all_restarted(&mut world, &killed).await;
        restarted_from_an_older_copy(&mut world).await;
    });
    println!("cluster test: {:.1} s", started.elapsed().as_secs_f64());
}
