//! Instruction-count harness of replication's cost per committed login (issue #16 item 5): the work one replica
//! of the five-process cluster (`examples/cluster/`) does for a login, against one node applying the same commands
//! with `Vault::apply` on a `RedbStore`. Run under `valgrind --tool=callgrind` by `.ci/instruction_counts.py`
//! (cases `replica-follower` and `replica-leader`); BENCHMARKS.md has the figures.
//!
//! ```text
//! replica_cost <replica-follower|replica-leader> <ours|bare> <iterations> [directory]
//! ```
//!
//! "ours" is one replica, "bare" the single node; `iterations` logins are measured after one unmeasured warm-up
//! login; the redb files go in a fresh directory under `directory` (default: the system's temporary one). A whole
//! cluster cannot run under valgrind (its election and RPC timeouts fire), and its threads would make the counts
//! vary, so no Raft node runs here: each step of a replica is the adapter function the replica processes call at
//! that step, in the order openraft calls them for one command proposed and committed on its own (no batching,
//! as with one client at a time), on a replica's two redb files:
//!
//! - **follower**, per command: decode the AppendEntries frame carrying the entry (`tcp::read_frame`), append it
//!   to the log (`RedbLog::append_entries`, what `RaftLogStorage::append` does: JSON, one durable transaction),
//!   encode the reply frame; decode the next AppendEntries (the leader's commit index, which openraft sends as a
//!   heartbeat when nothing else is due), save the committed index (`save_committed`: one durable transaction),
//!   encode the reply; read the entry back from the log to apply it (`try_get_log_entries`, as openraft's
//!   `apply_to_state_machine` does) and apply it (`RedbStateMachine::apply`: the vault's command, the idempotency
//!   entry and the applied position in one durable batch).
//! - **leader**, per command: decode the client's frame, make the proposal (`fleet::replica::propose`: the leader's
//!   time and entropy into the command), append it to the log; for each of the four followers, read the entry
//!   from the log (each replication stream reads its own), encode the AppendEntries frame and decode the reply;
//!   encode and send the commit heartbeat to each and decode the replies; save the committed index; read the entry
//!   back and apply it; encode the client's reply frame.
//!
//! What is not counted: openraft's own bookkeeping between these steps (its engine, channels, tokio), the kernel's
//! work (TCP, `fsync`: system calls are not user-space instructions), the other replicas, and the client. Every
//! generator is seeded and the leader's time is a counter, so the counts repeat for the same binary.
//!
//! Each step is a named function (`step_*`), so `callgrind_annotate --inclusive=yes` shows where the cost goes.

#[path = "replicated/adapter/mod.rs"]
#[allow(dead_code)]
mod adapter;
#[path = "cluster/fleet/mod.rs"]
#[allow(dead_code)]
mod fleet;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};

use adapter::proposal::{ClientId, Outcome, Proposal};
use adapter::redb_log::RedbLog;
use adapter::redb_state::RedbStateMachine;
use adapter::tcp::{RaftReply, RaftRequest, read_frame, write_frame};
use adapter::wire::Applied;
use adapter::{NodeId, TypeConfig};
use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, UserId};
use fleet::protocol::{ClientReply, ClientRequest};
use fleet::replica::{fleet_keys, propose, vault_config};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use openraft::storage::{RaftLogReader, RaftLogStorage, RaftStateMachine};
use openraft::{BasicNode, CommittedLeaderId, Entry, EntryPayload, LogId, Membership, Vote};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vault_core::{Command, ENTROPY_LEN, Principal, RedbStore, Request, Response, Vault};

const PASSWORD: &[u8] = b"purple elephant sunrise 42";
const USER: &[u8] = b"alice";
const SEED: u64 = 1;
/// The leader's node id and term; the followers are the other four of five.
const LEADER: NodeId = 1;
const TERM: u64 = 1;
const FOLLOWERS: usize = 4;

/// The measured region: callgrind counts only what runs inside this function (`--toggle-collect`). Never inlined,
/// so that its symbol exists whatever the optimiser does around it.
#[inline(never)]
fn callgrind_measured<R>(work: impl FnOnce() -> R) -> R {
    black_box(work())
}

/// Runs a future that never waits: every adapter call here is synchronous underneath (redb, and frames read from
/// or written to memory).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an adapter call waited"),
    }
}

fn log_id(index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(TERM, LEADER), index)
}

/// `message` as one frame, as `tcp::write_frame` sends it.
fn frame(message: &impl serde::Serialize) -> Vec<u8> {
    let mut out = Vec::new();
    ready(write_frame(&mut out, message)).expect("frame");
    out
}

/// The AppendEntries a leader sends after `prev`, with `entries` and its commit index.
fn append_request(
    prev: Option<LogId<NodeId>>,
    entries: Vec<Entry<TypeConfig>>,
    committed: Option<LogId<NodeId>>,
) -> RaftRequest {
    RaftRequest::Append(AppendEntriesRequest {
        vote: Vote::new_committed(TERM, LEADER),
        prev_log_id: prev,
        entries,
        leader_commit: committed,
    })
}

/// Where a side does what a command needs of it, and what the vault answered.
trait Side {
    fn apply(&mut self, command: &Command, client: ClientId, seq: u64, measure: bool) -> Response;
}

/// A single node: `Vault::apply` on a `RedbStore`.
struct Single {
    vault: Vault<RedbStore>,
}

impl Side for Single {
    fn apply(&mut self, command: &Command, _: ClientId, _: u64, measure: bool) -> Response {
        let apply = || self.vault.apply(command);
        let applied = if measure { callgrind_measured(apply) } else { apply() };
        applied.expect("the vault refused")
    }
}

/// One replica's two redb files, and the log position it is at.
struct Replica {
    log: RedbLog,
    state: RedbStateMachine,
    last: Option<LogId<NodeId>>,
    leader: bool,
}

impl Replica {
    fn open(dir: &Path, leader: bool) -> Self {
        let mut replica = Self {
            log: RedbLog::open(dir.join("log.redb")).expect("log"),
            state: RedbStateMachine::open(dir.join("state.redb"), fleet_keys(SEED), vault_config()).expect("state"),
            last: None,
            leader,
        };
        // What `Raft::initialize` and the first election put first in the log: the five-node membership (with
        // addresses, which the applied position stores) and the new leader's blank entry.
        let nodes: BTreeMap<NodeId, BasicNode> = (1..=5)
            .map(|id| (id, BasicNode::new(format!("127.0.0.1:{}", 40_000 + id))))
            .collect();
        let members: BTreeSet<NodeId> = nodes.keys().copied().collect();
        for payload in [
            EntryPayload::Membership(Membership::new(vec![members], nodes)),
            EntryPayload::Blank,
        ] {
            let entry = Entry {
                log_id: log_id(replica.last.map_or(0, |last| last.index + 1)),
                payload,
            };
            replica.last = Some(entry.log_id);
            replica.log.append_entries([entry.clone()]).expect("append");
            ready(replica.log.save_committed(replica.last)).expect("committed");
            ready(replica.state.apply([entry])).expect("apply");
        }
        replica
    }

    /// A follower's work for one command: `append` is the leader's AppendEntries frame with the entry, `commit`
    /// the one with the commit index.
    fn follow(&mut self, append: &[u8], commit: &[u8], index: u64) -> Outcome {
        let rpc = step_read_rpc(append);
        step_log_append(&self.log, rpc.entries);
        let reply = step_write_reply();
        black_box(reply);
        let rpc = step_read_rpc(commit);
        step_save_committed(&mut self.log, rpc.leader_commit);
        black_box(step_write_reply());
        let entries = step_log_read(&mut self.log, index);
        applied(step_apply(&mut self.state, entries))
    }

    /// A leader's work for one command: `request` is the client's frame, `reply` a follower's reply frame.
    fn lead(&mut self, request: &[u8], reply: &[u8], at_ms: u64, entropy: [u8; ENTROPY_LEN]) -> (Outcome, Vec<u8>) {
        let prev = self.last;
        let this = log_id(prev.map_or(0, |last| last.index + 1));
        let proposal = step_propose(request, at_ms, entropy);
        step_log_append(
            &self.log,
            vec![Entry {
                log_id: this,
                payload: EntryPayload::Normal(proposal),
            }],
        );
        for _ in 0..FOLLOWERS {
            let entries = step_log_read(&mut self.log, this.index);
            black_box(step_write_rpc(&append_request(prev, entries, prev)));
            step_read_reply(reply);
        }
        for _ in 0..FOLLOWERS {
            black_box(step_write_rpc(&append_request(Some(this), Vec::new(), Some(this))));
            step_read_reply(reply);
        }
        step_save_committed(&mut self.log, Some(this));
        let entries = step_log_read(&mut self.log, this.index);
        let applied = step_apply(&mut self.state, entries);
        let outcome = applied
            .first()
            .and_then(|applied| applied.0.clone())
            .expect("an outcome");
        let answer = step_write_client_reply(applied);
        self.last = Some(this);
        (outcome, answer)
    }
}

impl Side for Replica {
    fn apply(&mut self, command: &Command, client: ClientId, seq: u64, measure: bool) -> Response {
        let outcome = if self.leader {
            // The client's frame: the command with `at_ms` and `entropy` zero (the leader fills them in).
            let mut sent = command.clone();
            sent.at_ms = 0;
            sent.entropy = [0; ENTROPY_LEN];
            let request = frame(&ClientRequest::Submit {
                command: sent.to_bytes().to_vec(),
                client,
                seq,
            });
            let reply = frame(&RaftReply::Append(Ok(AppendEntriesResponse::Success)));
            let (at_ms, entropy) = (command.at_ms, command.entropy);
            let mut lead = || self.lead(&request, &reply, at_ms, entropy);
            let (outcome, answer) = if measure { callgrind_measured(lead) } else { lead() };
            black_box(answer);
            outcome
        } else {
            // The leader's two frames for this command (its work, not counted here).
            let prev = self.last;
            let this = log_id(prev.map_or(0, |last| last.index + 1));
            let entry = Entry {
                log_id: this,
                payload: EntryPayload::Normal(Proposal {
                    client,
                    seq,
                    command: command.to_bytes(),
                }),
            };
            let append = frame(&append_request(prev, vec![entry], prev));
            let commit = frame(&append_request(Some(this), Vec::new(), Some(this)));
            let mut follow = || self.follow(&append, &commit, this.index);
            let outcome = if measure { callgrind_measured(follow) } else { follow() };
            self.last = Some(this);
            outcome
        };
        outcome.expect("the vault refused")
    }
}

fn applied(applied: Vec<Applied>) -> Outcome {
    applied
        .into_iter()
        .next()
        .and_then(|applied| applied.0)
        .expect("an outcome")
}

#[inline(never)]
fn step_read_rpc(frame: &[u8]) -> AppendEntriesRequest<TypeConfig> {
    match ready(read_frame::<RaftRequest>(&mut &frame[..])).expect("frame") {
        RaftRequest::Append(rpc) => rpc,
        _ => panic!("not an AppendEntries"),
    }
}

#[inline(never)]
fn step_write_reply() -> Vec<u8> {
    frame(&RaftReply::Append(Ok(AppendEntriesResponse::<NodeId>::Success)))
}

#[inline(never)]
fn step_write_rpc(request: &RaftRequest) -> Vec<u8> {
    frame(request)
}

#[inline(never)]
fn step_read_reply(frame: &[u8]) {
    match ready(read_frame::<RaftReply>(&mut &frame[..])).expect("frame") {
        RaftReply::Append(Ok(AppendEntriesResponse::Success)) => {}
        _ => panic!("not a success"),
    }
}

#[inline(never)]
fn step_propose(request: &[u8], at_ms: u64, entropy: [u8; ENTROPY_LEN]) -> Proposal {
    let ClientRequest::Submit { command, client, seq } =
        ready(read_frame::<ClientRequest>(&mut &request[..])).expect("frame")
    else {
        panic!("not a submission")
    };
    propose(&command, client, seq, at_ms, entropy).expect("proposal")
}

#[inline(never)]
fn step_log_append(log: &RedbLog, entries: Vec<Entry<TypeConfig>>) {
    log.append_entries(entries).expect("append");
}

#[inline(never)]
fn step_save_committed(log: &mut RedbLog, committed: Option<LogId<NodeId>>) {
    ready(log.save_committed(committed)).expect("committed");
}

#[inline(never)]
fn step_log_read(log: &mut RedbLog, index: u64) -> Vec<Entry<TypeConfig>> {
    ready(log.try_get_log_entries(index..=index)).expect("read")
}

#[inline(never)]
fn step_apply(state: &mut RedbStateMachine, entries: Vec<Entry<TypeConfig>>) -> Vec<Applied> {
    ready(state.apply(entries)).expect("apply")
}

#[inline(never)]
fn step_write_client_reply(applied: Vec<Applied>) -> Vec<u8> {
    let applied = applied.into_iter().next().expect("one");
    frame(&ClientReply::Done(Box::new(applied)))
}

/// Registers alice, then runs one unmeasured login and `iterations` measured ones on `side`; the client's work and
/// the leader's clock and entropy come from the same seeds whatever the side, so both see the same commands.
fn logins(side: &mut impl Side, iterations: usize) {
    let mut rng = StdRng::seed_from_u64(7);
    let client = ClientConfig::insecure_fast_for_testing(fleet_keys(SEED).backup_pins());
    let user = UserId::new(USER.to_vec()).expect("user");
    let device: ClientId = rng.r#gen();
    let mut seq = 0;
    let mut now = 1_700_000_000_000u64;
    let mut apply = |rng: &mut StdRng, request, measure| {
        seq += 1;
        now += 1;
        let command = Command {
            at_ms: now,
            entropy: rng.r#gen(),
            principal: Principal::Account(user.clone()),
            request,
        };
        side.apply(&command, device, seq, measure)
    };
    let key = BackupKey::generate(&mut rng);
    let (registration, request) = ClientRegistration::start(&mut rng, &client, user.clone(), PASSWORD).expect("start");
    let Response::RegistrationStarted(response) = apply(&mut rng, Request::RegistrationStart(request), false) else {
        panic!("unexpected response")
    };
    let (awaiting, upload) = registration.finish(&mut rng, &response, &key).expect("upload");
    let Response::Registered(receipt) = apply(&mut rng, Request::RegistrationFinish(upload), false) else {
        panic!("unexpected response")
    };
    awaiting.verify(&receipt).expect("receipt");
    for login in 0..=iterations {
        let measure = login > 0;
        let (started, request) = ClientLogin::start(&mut rng, &client, user.clone(), PASSWORD).expect("start");
        let Response::LoginStarted { session, response } = apply(&mut rng, Request::LoginStart(request), measure)
        else {
            panic!("unexpected response")
        };
        let (pending, finalization) = started.finish(&mut rng, &response).expect("finish");
        let Response::KeyReleased(release) = apply(&mut rng, Request::LoginFinish { session, finalization }, measure)
        else {
            panic!("unexpected response")
        };
        assert!(pending.open(&release).expect("release") == key, "wrong key released");
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let usage = || {
        eprintln!("usage: replica_cost <replica-follower|replica-leader> <ours|bare> <iterations> [directory]");
        ExitCode::from(2)
    };
    let [case, side, iterations, ref rest @ ..] = args[..] else {
        return usage();
    };
    let leader = match case {
        "replica-follower" => false,
        "replica-leader" => true,
        _ => return usage(),
    };
    let (Ok(iterations), true) = (iterations.parse::<usize>(), rest.len() <= 1) else {
        return usage();
    };
    let base = rest.first().map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::TempDir::new_in(base).expect("directory");
    match side {
        "ours" => logins(&mut Replica::open(dir.path(), leader), iterations),
        "bare" => {
            let store = RedbStore::open(dir.path().join("single.redb")).expect("store");
            logins(
                &mut Single {
                    vault: Vault::new(fleet_keys(SEED), vault_config(), store),
                },
                iterations,
            );
        }
        _ => return usage(),
    }
    ExitCode::SUCCESS
}
