//! The replication adapter's storage (examples/replicated/adapter): openraft's own storage conformance suite on the redb
//! log and state machine; a model of the log through appends, conflicting truncations, purges, votes and reopens
//! (the in-memory entry cache and the deferred committed index must follow the file); the idempotency table's undo;
//! and the known gap of SPEC §10 (a kill between a snapshot's log purge and its install), demonstrated.

#[path = "../examples/replicated/adapter/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod adapter;

use std::collections::BTreeMap;
use std::ops::Bound;

use adapter::proposal::Proposal;
use adapter::redb_log::RedbLog;
use adapter::redb_state::RedbStateMachine;
use adapter::state_machine::{Session, SessionKey, TableChange, apply_proposal};
use adapter::{NodeId, TypeConfig};
use backup_protocol::{KsfPolicy, UserId};
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, StorageError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;
use vault_core::{Command, ENTROPY_LEN, FleetKeys, MemoryStore, Principal, Request, Vault, VaultConfig};

fn config() -> VaultConfig {
    VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        ..VaultConfig::default()
    }
}

struct Builder;

impl StoreBuilder<TypeConfig, RedbLog, RedbStateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, RedbLog, RedbStateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().unwrap();
        let log = RedbLog::open(dir.path().join("log.redb")).unwrap();
        let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(1));
        let sm = RedbStateMachine::open(dir.path().join("state.redb"), keys, config()).unwrap();
        Ok((dir, log, sm))
    }
}

/// openraft's own storage conformance suite on the redb log and state machine.
#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).unwrap();
}

fn entry(term: u64, index: u64, tag: u8) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, 0), index),
        payload: EntryPayload::Normal(Proposal {
            client: [tag; 16],
            seq: index,
            command: zeroize::Zeroizing::new(vec![tag; 4]),
        }),
    }
}

fn json(entries: &[Entry<TypeConfig>]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| serde_json::to_string(entry).unwrap())
        .collect()
}

/// What the log should hold.
#[derive(Default, Clone)]
struct Model {
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    purged: Option<LogId<NodeId>>,
    /// The last committed index saved, and the one a successful write transaction carried to disk.
    saved: Option<LogId<NodeId>>,
    durable: Option<LogId<NodeId>>,
}

async fn check(log: &mut RedbLog, model: &Model, rng: &mut StdRng) {
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, model.purged);
    let last = model.entries.values().last().map(|entry| entry.log_id).or(model.purged);
    assert_eq!(state.last_log_id, last);
    let top = last.map_or(0, |log_id| log_id.index) + 3;
    for _ in 0..6 {
        let a = rng.gen_range(0..=top);
        let b = rng.gen_range(a..=top + 1);
        let want: Vec<_> = model.entries.range(a..b).map(|(_, e)| e.clone()).collect();
        // Through the cache where it can, then through the file alone (an unbounded end always reads redb).
        let got = log.try_get_log_entries(a..b).await.unwrap();
        assert_eq!(json(&got), json(&want), "range {a}..{b}");
        let got = log.try_get_log_entries(a..=b.saturating_sub(1).max(a)).await.unwrap();
        let want2: Vec<_> = model
            .entries
            .range(a..=b.saturating_sub(1).max(a))
            .map(|(_, e)| e.clone())
            .collect();
        assert_eq!(json(&got), json(&want2));
        let disk: Vec<_> = log
            .try_get_log_entries((Bound::Included(a), Bound::Unbounded))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.log_id.index < b)
            .collect();
        assert_eq!(json(&disk), json(&want), "file range {a}..{b}");
    }
    assert_eq!(log.read_committed().await.unwrap(), model.saved);
}

/// Random appends (with conflicting rewrites after truncation, terms going up), truncations, purges, committed
/// indexes saved and "crashes" (the log dropped and reopened): the cache never serves an entry the file lacks or
/// a truncated one, `get_log_state` matches, and after a reopen the committed index is the last one a write
/// transaction carried (never ahead of what was saved, never an entry the log lacks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_and_the_committed_index_follow_the_file_through_truncates_purges_and_reopens() {
    for seed in 0..1u64 {
        eprintln!("seed {seed}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.redb");
        let mut rng = StdRng::seed_from_u64(seed);
        let mut log = RedbLog::open(&path).unwrap();
        let mut model = Model::default();
        let mut term = 1;
        let mut committed_index = 0u64;
        for step in 0..120 {
            let last = model
                .entries
                .keys()
                .last()
                .copied()
                .or(model.purged.map(|l| l.index))
                .unwrap_or(0);
            match rng.gen_range(0..100) {
                0..=49 => {
                    let n = rng.gen_range(1..40);
                    let tag = rng.r#gen::<u8>();
                    let batch: Vec<_> = (last + 1..=last + n).map(|i| entry(term, i, tag)).collect();
                    log.blocking_append(batch.clone()).await.unwrap();
                    for e in batch {
                        model.entries.insert(e.log_id.index, e);
                    }
                    model.durable = model.saved;
                }
                50..=64 if last > committed_index => {
                    // A new leader: its entries replace the uncommitted tail.
                    let since = rng.gen_range(committed_index + 1..=last);
                    if model.purged.is_some_and(|p| since <= p.index) {
                        continue;
                    }
                    let at = model.entries[&since].log_id;
                    log.truncate(at).await.unwrap();
                    model.entries.split_off(&since);
                    model.durable = model.saved;
                    term += 1;
                }
                65..=79 if last > 0 => {
                    committed_index = rng.gen_range(committed_index..=last).max(committed_index);
                    if let Some(entry) = model.entries.get(&committed_index) {
                        let id = entry.log_id;
                        log.save_committed(Some(id)).await.unwrap();
                        model.saved = Some(id);
                    }
                }
                80..=87 if committed_index > 0 => {
                    let upto = rng.gen_range(0..=committed_index);
                    if let Some(entry) = model.entries.get(&upto) {
                        let id = entry.log_id;
                        log.purge(id).await.unwrap();
                        model.entries = model.entries.split_off(&(upto + 1));
                        model.purged = Some(id);
                        model.durable = model.saved;
                    }
                }
                88..=91 => {
                    log.save_vote(&openraft::Vote::new(term, 0)).await.unwrap();
                    model.durable = model.saved;
                }
                92..=99 => {
                    drop(log);
                    log = RedbLog::open(&path).unwrap();
                    model.saved = model.durable;
                    // The committed index on disk names an entry the log holds (or is purged).
                    if let Some(c) = model.saved {
                        assert!(
                            model.entries.get(&c.index).map(|e| e.log_id) == Some(c)
                                || model.purged.is_some_and(|p| p.index >= c.index),
                            "seed {seed} step {step}: committed {c} not in the log"
                        );
                    }
                }
                _ => {}
            }
            check(&mut log, &model, &mut rng).await;
        }
    }
}

fn command(user: &UserId, at_ms: u64, tag: u8) -> Vec<u8> {
    Command {
        at_ms,
        entropy: [tag; ENTROPY_LEN],
        principal: Principal::Account(user.clone()),
        request: Request::Sweep { cursor: vec![tag] },
    }
    .to_bytes()
    .to_vec()
}

/// Any sequence of proposals (several per batch, same client twice, retries, stale and reused keys, more clients
/// than a principal's cap so entries are dropped), undone in reverse, gives the table back exactly.
#[test]
fn undoing_every_change_of_a_batch_in_reverse_gives_the_table_back() {
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(2));
    let users: Vec<UserId> = (0..2).map(|i| UserId::new(vec![b'u', i]).unwrap()).collect();
    let (mut dropped, mut written) = (0, 0);
    for seed in 0..300u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let vault = Vault::new(keys.clone(), config(), MemoryStore::new());
        let mut sessions: BTreeMap<SessionKey, Session> = BTreeMap::new();
        // A committed prefix.
        let mut proposals = Vec::new();
        for _ in 0..rng.gen_range(0..30) {
            proposals.push(random_proposal(&mut rng, &users));
        }
        for p in &proposals {
            let _ = apply_proposal(&vault, &mut sessions, p).unwrap();
        }
        let before = sessions.clone();
        let mut changes: Vec<TableChange> = Vec::new();
        for _ in 0..rng.gen_range(1..20) {
            let p = random_proposal(&mut rng, &users);
            let (_, change) = apply_proposal(&vault, &mut sessions, &p).unwrap();
            changes.push(change);
        }
        dropped += changes.iter().filter(|c| c.dropped.is_some()).count();
        written += changes.iter().filter(|c| c.written.is_some()).count();
        for change in changes.into_iter().rev() {
            change.undo(&mut sessions);
        }
        assert_eq!(sessions, before, "seed {seed}");
    }
    eprintln!("{written} table writes, {dropped} drops undone");
    assert!(dropped > 0 && written > 0);
}

fn random_proposal(rng: &mut StdRng, users: &[UserId]) -> Proposal {
    let user = &users[rng.gen_range(0..users.len())];
    Proposal {
        client: [rng.gen_range(0..12u8); 16],
        seq: rng.gen_range(0..4),
        command: zeroize::Zeroizing::new(command(user, rng.gen_range(0..6), rng.gen_range(0..2))),
    }
}

/// SPEC §10's known gap, demonstrated (not a regression test of a fix): openraft 0.9 runs a follower's `PurgeLog` (RaftCore) right after handing the snapshot install to the
/// state machine worker, without waiting for it (following_handler `install_full_snapshot`, raft_core
/// `Command::StateMachine` / `Command::PurgeLog`). A crash between the two leaves the state file at its old
/// position A and the log purged past it: the replica cannot restart (committed on disk > A) or restarts with a
/// hole (A+1..=S neither applied nor in the log) and stops at its first apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_that_lands_before_the_snapshot_install_leaves_a_replica_that_cannot_start() {
    use openraft::storage::{RaftStateMachine, StorageHelper};
    let dir = tempfile::tempdir().unwrap();
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(3));
    {
        let mut log = RedbLog::open(dir.path().join("log.redb")).unwrap();
        let mut sm = RedbStateMachine::open(dir.path().join("state.redb"), keys.clone(), config()).unwrap();
        let blank = |i| Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(1, 0), i),
            payload: EntryPayload::Blank,
        };
        log.blocking_append((1..=10).map(blank)).await.unwrap();
        sm.apply((1..=3).map(blank)).await.unwrap(); // applied A = 3
        log.save_committed(Some(LogId::new(CommittedLeaderId::new(1, 0), 5)))
            .await
            .unwrap();
        // The snapshot at S = 8 arrives: the purge is durable, the state machine's install is not yet. Crash.
        log.purge(LogId::new(CommittedLeaderId::new(1, 0), 8)).await.unwrap();
    }
    let mut log = RedbLog::open(dir.path().join("log.redb")).unwrap();
    let mut sm = RedbStateMachine::open(dir.path().join("state.redb"), keys, config()).unwrap();
    let started = StorageHelper::new(&mut log, &mut sm).get_initial_state().await;
    let error = started.expect_err("re-applying 4..=5 needs purged entries").to_string();
    assert!(error.contains("expected index"), "{error}");
}
