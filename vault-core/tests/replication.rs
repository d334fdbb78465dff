//! The vault replicated on openraft (the adapter of `examples/replicated/`), under faults: killed replicas,
//! lost quorum, dropped replies, restarts and a replica rolled back to an older disk. Five in-process replicas;
//! every wait is bounded, so a failure shows as a failed assertion or an error, never as a hang.

#[path = "../examples/replicated/adapter/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod adapter;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use adapter::NodeId;
use adapter::client::{Client, Failed, Submit};
use adapter::cluster::{Cluster, Deadlines, Snapshots, SubmitError};
use adapter::proposal::{ClientId, Outcome, Proposal, Refusal};
use adapter::redb_state::RedbStateMachine;
use adapter::state_machine::{CLIENTS_PER_PRINCIPAL, ReplicaState, Session};
use backup_protocol::{BackupKey, ClientLogin, KsfPolicy, UserId};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use vault_core::rand_core::{OsRng, RngCore};
use vault_core::{Command, ENTROPY_LEN, FleetKeys, Principal, Request, Response, VaultConfig};

const PASSWORD: &[u8] = b"correct horse battery staple";
const WRONG: &[u8] = b"correct horse battery stable";
const REPLICAS: u64 = 5;

fn alice() -> UserId {
    UserId::new(b"alice".to_vec()).unwrap()
}

fn bob() -> UserId {
    UserId::new(b"bob".to_vec()).unwrap()
}

/// Five replicas and alice registered through them, applied on all five.
async fn cluster_with_alice(seed: u64) -> (Cluster, Client, BackupKey) {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = FleetKeys::generate(&mut rng);
    let config = VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        // A sweep pass then takes several pages, so that its cursor makes round trips through the log.
        sweep_page: 1,
        ..VaultConfig::default()
    };
    let cluster = Cluster::start(REPLICAS, keys, config, seed, Deadlines::default(), Snapshots::Eager)
        .await
        .unwrap();
    let mut client = Client::new(&cluster, alice(), seed + 1);
    let key = BackupKey::generate(&mut rng);
    client.register(&cluster, PASSWORD, &key).await.unwrap();
    // Followers learn that an entry is committed with the leader's next message: let them all apply it.
    cluster.converge().await.unwrap();
    (cluster, client, key)
}

/// Alice's attempt counter in node `id`'s store, read as SPEC.md §2 lays the user state out:
/// `0x01 || 0x61 || 0x01 (Active) || generation (8) || attempts (4) || ...`. `None` if the record is not Active.
fn attempts(cluster: &Cluster, id: NodeId) -> Option<u32> {
    let value = cluster.read_store(id, |store| store.snapshot().get(b"user/alice".as_slice()).cloned())??;
    let bytes = value.value;
    (bytes.get(..3)? == [0x01, 0x61, 0x01]).then(|| u32::from_be_bytes(bytes[11..15].try_into().unwrap()))
}

/// Waits for every connected replica to catch up, then checks that they all hold the same state machine
/// (store entries, versions and idempotency table) and returns alice's counter there.
async fn converged_attempts(cluster: &Cluster) -> Option<u32> {
    cluster.converge().await.unwrap();
    let up: Vec<NodeId> = cluster.up().into_iter().collect();
    let first = cluster.replica(up[0]).unwrap();
    for &id in &up[1..] {
        assert_eq!(
            cluster.replica(id).unwrap(),
            first,
            "replica {id} differs from replica {}",
            up[0]
        );
    }
    attempts(cluster, up[0])
}

/// `count` nodes other than the leader.
async fn followers(cluster: &Cluster, count: usize) -> Vec<NodeId> {
    let leader = cluster.leader().await.unwrap();
    cluster
        .up()
        .into_iter()
        .filter(|&id| id != leader)
        .take(count)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_of_five_replicas_killed_logins_still_work() {
    let (cluster, mut client, key) = cluster_with_alice(1).await;
    // Kill the leader and one follower: the three others elect a leader and keep serving.
    let leader = cluster.leader().await.unwrap();
    let follower = followers(&cluster, 1).await[0];
    cluster.kill(leader);
    cluster.kill(follower);

    let mut bob = Client::new(&cluster, bob(), 100);
    let bobs_key = BackupKey::generate(&mut StdRng::seed_from_u64(100));
    bob.register(&cluster, PASSWORD, &bobs_key).await.unwrap();
    assert_eq!(bob.retrieve(&cluster, PASSWORD).await.unwrap(), Some(bobs_key));

    assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    assert_eq!(client.retrieve(&cluster, PASSWORD).await.unwrap(), Some(key));
    assert_eq!(
        converged_attempts(&cluster).await,
        Some(0),
        "a success resets the counter"
    );
    assert_ne!(cluster.leader().await, Some(leader));

    // The killed replicas come back and are brought forward to the same state.
    cluster.revive(leader);
    cluster.revive(follower);
    assert_eq!(converged_attempts(&cluster).await, Some(0));
    assert_eq!(cluster.up().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_three_of_five_killed_a_login_fails_cleanly_and_costs_at_most_the_guess_its_retry_sees() {
    let (cluster, mut client, key) = cluster_with_alice(2).await;
    for _ in 0..2 {
        assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    }
    let before = converged_attempts(&cluster).await.unwrap();
    assert_eq!(before, 2);

    // The leader keeps running with one follower: it can append the login start but never commit it.
    let killed = followers(&cluster, 3).await;
    for &id in &killed {
        cluster.kill(id);
    }
    let (login, request) = client.begin_login(PASSWORD).unwrap();
    let failed = client.send(&cluster, request).await;
    assert!(
        matches!(
            failed,
            Err(SubmitError::Timeout | SubmitError::NoLeader | SubmitError::LeaderChanged)
        ),
        "{failed:?}"
    );
    // No replica has applied it: the counter is unchanged everywhere.
    for id in 1..=REPLICAS {
        assert_eq!(attempts(&cluster, id), Some(before), "replica {id}");
    }

    // The killed replicas return. Raft either commits the pending entry (the leader's log wins the election) or
    // drops it (one of the three shorter logs wins): the counter is `before` or `before + 1`, never lower.
    for &id in &killed {
        cluster.revive(id);
    }
    let healed = converged_attempts(&cluster).await.unwrap();
    assert!(healed == before || healed == before + 1, "{healed}");

    // The client retries under the same idempotency key: either the stored outcome of the entry committed late
    // or a first application. Exactly one guess is charged either way, and it is the one the client now sees.
    let started = client.retry(&cluster).await.unwrap();
    assert!(matches!(started, Ok(Response::LoginStarted { .. })));
    assert_eq!(converged_attempts(&cluster).await, Some(before + 1));
    assert_eq!(client.finish_login(&cluster, login, started).await.unwrap(), Some(key));
    assert_eq!(converged_attempts(&cluster).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_committed_after_its_request_timed_out_is_charged_once_and_answered_to_the_retry() {
    let (cluster, mut client, key) = cluster_with_alice(7).await;
    // Cut off three followers that will not stand for election on their return, so the leader keeps leading and
    // commits its pending entry once they are back: the "committed later" branch, made deterministic.
    let killed = followers(&cluster, 3).await;
    for &id in &killed {
        cluster.allow_election(id, false);
        cluster.kill(id);
    }
    let (login, request) = client.begin_login(PASSWORD).unwrap();
    assert_eq!(client.send(&cluster, request).await, Err(SubmitError::Timeout));
    for &id in &killed {
        cluster.revive(id);
    }
    // Charged, though the client saw nothing: this is the guess a client that never retries loses.
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    for &id in &killed {
        cluster.allow_election(id, true);
    }

    // The retry is answered from the stored outcome: still one charge, and the response opens.
    let started = client.retry(&cluster).await.unwrap();
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    assert_eq!(client.finish_login(&cluster, login, started).await.unwrap(), Some(key));
    assert_eq!(converged_attempts(&cluster).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_reply_dropped_after_commit_costs_no_extra_guess() {
    let (cluster, mut client, key) = cluster_with_alice(3).await;

    cluster.drop_next_replies(1);
    let (login, request) = client.begin_login(PASSWORD).unwrap();
    assert_eq!(client.send(&cluster, request).await, Err(SubmitError::ReplyLost));
    assert_eq!(
        converged_attempts(&cluster).await,
        Some(1),
        "the lost reply was charged"
    );

    // Same key: the stored outcome, byte for byte the response that was lost, and no second charge.
    let retried = client.retry(&cluster).await.unwrap();
    assert_eq!(cluster.dropped_replies(), vec![retried.clone()]);
    assert_eq!(
        client.retry(&cluster).await.unwrap(),
        retried,
        "every retry gets the same answer"
    );
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    assert_eq!(
        client.finish_login(&cluster, login, retried).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(converged_attempts(&cluster).await, Some(0));

    // Lost acknowledgements between replicas make the leader send entries again: still one charge per login.
    cluster.drop_rpc_replies(8);
    assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    cluster.drop_rpc_replies(0);
    assert_eq!(client.retrieve(&cluster, PASSWORD).await.unwrap(), Some(key));
    assert_eq!(converged_attempts(&cluster).await, Some(0));

    // By contrast a new request (a new key) is a new guess, and an old key is not applied again.
    assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    let principal = client.principal().clone();
    let stale = cluster
        .submit(principal.clone(), [0; 16], 5, client_request(&mut client))
        .await
        .unwrap();
    assert!(stale.is_ok(), "a fresh client id is applied");
    let stale = cluster
        .submit(principal, [0; 16], 4, client_request(&mut client))
        .await
        .unwrap();
    assert_eq!(stale, Err(Refusal::Stale));
    assert_eq!(
        converged_attempts(&cluster).await,
        Some(2),
        "the stale request charged nothing"
    );
}

/// A fresh login start of alice with a wrong password.
fn client_request(client: &mut Client) -> vault_core::Request {
    client.begin_login(WRONG).unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_replica_converges_to_the_same_store() {
    let (cluster, mut client, key) = cluster_with_alice(4).await;
    let node = followers(&cluster, 1).await[0];
    cluster.snapshot(node).await.unwrap();
    let own_snapshot = cluster.snapshot_index(node).unwrap();
    cluster.stop(node).await.unwrap();

    // Enough commands that the leader snapshots and purges its log: the restarted node needs the snapshot.
    for _ in 0..3 {
        for _ in 0..5 {
            assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
        }
        assert_eq!(client.retrieve(&cluster, PASSWORD).await.unwrap(), Some(key.clone()));
        // The five wrong guesses left their sessions behind: the operator sweeps them once expired, as a
        // deployment's leader would (otherwise alice would reach the cap of sessions in flight per account), and
        // the operator's entry in the idempotency table travels in the snapshot too.
        cluster.advance_clock(VaultConfig::default().login_ttl_ms + 1);
        assert_eq!(cluster.sweep().await.unwrap(), 5);
    }
    for _ in 0..3 {
        assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    }
    let majority = converged_attempts(&cluster).await;
    assert_eq!(majority, Some(3));

    cluster.restart(node).await.unwrap();
    assert_eq!(converged_attempts(&cluster).await, majority);
    assert!(
        cluster.snapshot_index(node).unwrap() > own_snapshot,
        "the leader's log was purged: the node caught up through an installed snapshot"
    );
    let leader = cluster.leader().await.unwrap();
    assert_eq!(cluster.replica(node), cluster.replica(leader));
    assert_eq!(
        cluster.read_store(node, vault_core::MemoryStore::snapshot),
        cluster.read_store(leader, vault_core::MemoryStore::snapshot)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_rolled_back_to_an_older_disk_cannot_rearm_a_counter() {
    let (cluster, mut client, _) = cluster_with_alice(5).await;
    let node = followers(&cluster, 1).await[0];
    cluster.snapshot(node).await.unwrap();
    let old_disk = cluster.disk_image(node).unwrap();
    assert_eq!(attempts(&cluster, node), Some(0));

    for _ in 0..3 {
        assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    }
    assert_eq!(converged_attempts(&cluster).await, Some(3));

    // The node restarts on its disk as it was before the three guesses, cut off from the others.
    cluster.stop(node).await.unwrap();
    cluster.kill(node);
    cluster.restart_from(node, old_disk).await.unwrap();
    assert_eq!(
        attempts(&cluster, node),
        Some(0),
        "the rolled-back disk has the counter re-armed"
    );
    // Alone it cannot answer: it is no leader and cannot become one without a majority's votes.
    let others: Vec<NodeId> = (1..=REPLICAS).filter(|&id| id != node).collect();
    for &id in &others {
        cluster.kill(id);
    }
    cluster.revive(node);
    let (_, request) = client.begin_login(WRONG).unwrap();
    assert_eq!(client.send(&cluster, request).await, Err(SubmitError::NoLeader));
    assert_eq!(attempts(&cluster, node), Some(0));

    // Back in the cluster, Raft brings it forward: it holds the majority's counter, not its own.
    for &id in &others {
        cluster.revive(id);
    }
    assert_eq!(converged_attempts(&cluster).await, Some(3));
    assert_eq!(attempts(&cluster, node), Some(3));

    // And as leader it serves the majority's counter: 10 - 3 guesses are left, then the record is destroyed.
    cluster.make_leader(node).await.unwrap();
    assert_eq!(cluster.leader().await, Some(node));
    let mut answered = 0;
    let refusal = loop {
        match client.retrieve(&cluster, WRONG).await {
            Ok(None) => answered += 1,
            Err(refused) => break refused,
            Ok(Some(_)) => panic!("a wrong password released the key"),
        }
        assert!(answered <= 10, "more guesses than the limit");
    };
    assert!(matches!(refusal, Failed::Refused(Refusal::Locked)), "{refusal}");
    assert_eq!(answered, 10 - 3);
    assert_eq!(converged_attempts(&cluster).await, None, "locked everywhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaders_clock_times_every_command() {
    let (cluster, mut client, _) = cluster_with_alice(6).await;
    let (login, request) = client.begin_login(PASSWORD).unwrap();
    let started = client.send(&cluster, request).await.unwrap();
    // The finish is stamped by the leader after the login's lifetime: every replica refuses it alike.
    cluster.advance_clock(VaultConfig::default().login_ttl_ms + 1);
    let finished = client.finish_login(&cluster, login, started).await;
    assert!(
        matches!(finished, Err(Failed::Refused(Refusal::SessionExpired))),
        "{finished:?}"
    );
    assert_eq!(converged_attempts(&cluster).await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_round_trips_and_every_truncation_of_it_is_rejected() {
    let (cluster, mut client, key) = cluster_with_alice(8).await;
    // Outcomes of every kind in the idempotency table: a key release, a login start, a refusal.
    assert_eq!(client.retrieve(&cluster, PASSWORD).await.unwrap(), Some(key));
    let mut other = Client::new(&cluster, bob(), 100);
    assert_eq!(other.retrieve(&cluster, WRONG).await.unwrap(), None);
    let mut late = Client::new(&cluster, alice(), 101);
    let (login, request) = late.begin_login(PASSWORD).unwrap();
    let started = late.send(&cluster, request).await.unwrap();
    cluster.advance_clock(VaultConfig::default().login_ttl_ms + 1);
    let finished = late.finish_login(&cluster, login, started).await;
    assert!(
        matches!(finished, Err(Failed::Refused(Refusal::SessionExpired))),
        "{finished:?}"
    );

    cluster.converge().await.unwrap();
    let mut state = cluster.replica(cluster.leader().await.unwrap()).unwrap();
    assert_eq!(state.sessions.len(), 3);
    // And every refusal and both kinds of owner, some of which no run of the cluster stores (a refused key is
    // never recorded) but whose encoding must still be exact.
    let refusals = [
        Refusal::Locked,
        Refusal::NoPendingRegistration,
        Refusal::ChallengeExpired,
        Refusal::UnknownSession,
        Refusal::SessionExpired,
        Refusal::Superseded,
        Refusal::Rejected("a message".into()),
        Refusal::Stale,
        Refusal::KeyReused,
        Refusal::Forbidden,
        Refusal::PrincipalPendingFull,
        Refusal::PendingFull,
    ];
    for (index, refusal) in (0u8..).zip(refusals) {
        let owner = if index % 2 == 0 {
            Principal::Operator
        } else {
            Principal::Account(bob())
        };
        let session = Session {
            seq: u64::from(index),
            applied_at_ms: 1_700_000_000_000 + u64::from(index),
            request: [index; 32],
            outcome: Err(refusal),
        };
        state.sessions.insert((owner, [index; 16]), session);
    }
    let bytes = state.to_bytes();
    assert_eq!(ReplicaState::from_bytes(&bytes), Ok(state));
    for len in 0..bytes.len() {
        assert!(ReplicaState::from_bytes(&bytes[..len]).is_err(), "truncated to {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(ReplicaState::from_bytes(&longer).is_err(), "trailing byte");
}

/// A login start of alice whose reply is lost after it was charged: its outcome waits in the idempotency table
/// for her retry. Returns the login, the request, and the lost outcome.
async fn login_start_with_lost_reply(cluster: &Cluster, client: &mut Client) -> (ClientLogin, Request, Outcome) {
    cluster.drop_next_replies(1);
    let (login, request) = client.begin_login(PASSWORD).unwrap();
    assert_eq!(client.send(cluster, request.clone()).await, Err(SubmitError::ReplyLost));
    let lost = cluster.dropped_replies();
    assert_eq!(lost.len(), 1);
    assert!(matches!(lost[0], Ok(Response::LoginStarted { .. })), "{lost:?}");
    (login, request, lost[0].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_using_a_victims_key_neither_reads_her_outcome_nor_makes_her_stale() {
    let (cluster, mut client, key) = cluster_with_alice(9).await;
    let (login, request, lost) = login_start_with_lost_reply(&cluster, &mut client).await;
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    let (victim_id, victim_seq) = client.key();
    let intruder = Principal::Account(bob());

    // Bob replays alice's very request under her client id and seq. The key is his, not hers, so the stored
    // outcome (her session id and signed response) is not his to read; applied as his, the vault refuses it
    // (alice's login is not bob's to start) and charges nothing.
    let replayed = cluster
        .submit(intruder.clone(), victim_id, victim_seq, request)
        .await
        .unwrap();
    assert_eq!(replayed, Err(Refusal::Forbidden));
    assert_eq!(converged_attempts(&cluster).await, Some(1));

    // Bob then sends a request of his own far ahead of her seq: it is applied, under his key only.
    let (_, bobs_request) = Client::new(&cluster, bob(), 200).begin_login(WRONG).unwrap();
    let pushed = cluster
        .submit(intruder, victim_id, victim_seq + 100, bobs_request)
        .await
        .unwrap();
    assert!(matches!(pushed, Ok(Response::LoginStarted { .. })), "{pushed:?}");

    // Alice's retry still gets her own lost outcome, byte for byte, at no second guess...
    let retried = client.retry(&cluster).await.unwrap();
    assert_eq!(retried, lost);
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    // ...and her next request (seq + 1, far below bob's) is applied, not refused as stale.
    assert_eq!(client.finish_login(&cluster, login, retried).await.unwrap(), Some(key));
    assert_eq!(converged_attempts(&cluster).await, Some(0));

    // The table holds the two principals' entries apart, each at its own seq.
    let state = cluster.replica(cluster.leader().await.unwrap()).unwrap();
    let seq_of = |owner: Principal| state.sessions.get(&(owner, victim_id)).map(|session| session.seq);
    assert_eq!(seq_of(Principal::Account(alice())), Some(victim_seq + 1));
    assert_eq!(seq_of(Principal::Account(bob())), Some(victim_seq + 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_key_with_another_request_is_refused_and_applies_nothing() {
    let (cluster, mut client, key) = cluster_with_alice(10).await;
    let (login, _, lost) = login_start_with_lost_reply(&cluster, &mut client).await;
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    let leader = cluster.leader().await.unwrap();
    let before = cluster.replica(leader).unwrap();

    // The same key with another login start (another blinded password, so another request): not answered with
    // the first request's outcome, and not applied.
    let (client_id, seq) = client.key();
    let (_, other) = client.begin_login(WRONG).unwrap();
    let reused = cluster
        .submit(client.principal().clone(), client_id, seq, other)
        .await
        .unwrap();
    assert_eq!(reused, Err(Refusal::KeyReused));
    // Nothing applied: no charge, no new login session, the table entry untouched, on every replica.
    assert_eq!(converged_attempts(&cluster).await, Some(1));
    assert_eq!(cluster.replica(cluster.leader().await.unwrap()).unwrap(), before);

    // The key still answers the request it was used for.
    let retried = client.retry(&cluster).await.unwrap();
    assert_eq!(retried, lost);
    assert_eq!(client.finish_login(&cluster, login, retried).await.unwrap(), Some(key));
    assert_eq!(converged_attempts(&cluster).await, Some(0));
}

/// Login sessions in node `id`'s store (`"login/" || owner || session id`, SPEC.md §2).
fn login_sessions(cluster: &Cluster, id: NodeId) -> usize {
    cluster
        .read_store(id, |store| {
            store.snapshot().keys().filter(|key| key.starts_with(b"login/")).count()
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sweeps_through_the_log_and_an_account_cannot() {
    let (cluster, mut client, _) = cluster_with_alice(11).await;
    // Wrong passwords: the client sends no finish, so both login sessions stay behind.
    for _ in 0..2 {
        assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    }
    assert_eq!(converged_attempts(&cluster).await, Some(2));
    let leader = cluster.leader().await.unwrap();
    assert_eq!(login_sessions(&cluster, leader), 2);

    // A sweep is the operator's: an account's is refused, whatever it asks.
    let refused = client
        .send(&cluster, Request::Sweep { cursor: Vec::new() })
        .await
        .unwrap();
    assert_eq!(refused, Err(Refusal::Forbidden));

    // Not expired yet at the leader's clock: a whole pass removes nothing.
    assert_eq!(cluster.sweep().await.unwrap(), 0);
    assert_eq!(login_sessions(&cluster, leader), 2);

    // After their lifetime, one pass (a page per entry here) removes both, on every replica alike; the charges
    // stay.
    cluster.advance_clock(VaultConfig::default().login_ttl_ms + 1);
    assert_eq!(cluster.sweep().await.unwrap(), 2);
    assert_eq!(converged_attempts(&cluster).await, Some(2));
    for id in cluster.up() {
        assert_eq!(login_sessions(&cluster, id), 0, "replica {id}");
    }
}

proptest! {
    #[test]
    fn the_snapshot_decoder_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Any input: a state or an error, never a panic. Inputs with the right header reach the inner fields.
        let _ = ReplicaState::from_bytes(&bytes);
        let mut framed = vec![0x01, 0x65];
        framed.extend_from_slice(&bytes);
        let _ = ReplicaState::from_bytes(&framed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_holds_at_most_its_cap_of_idempotency_entries() {
    // Client ids are the client's choice: an account minting new ones must not grow every replica's table.
    let (cluster, mut client, _) = cluster_with_alice(13).await;
    let (alice_id, _) = client.key();
    let mut minted = Vec::new();
    // Ten logins: as many guesses as the record allows, so that every one is answered.
    for index in 0..10u8 {
        let client_id = [0xc0 | index; 16];
        let (_, request) = client.begin_login(WRONG).unwrap();
        cluster.advance_clock(1_000);
        let outcome = cluster
            .submit(Principal::Account(alice()), client_id, 1, request)
            .await
            .unwrap();
        assert!(matches!(outcome, Ok(Response::LoginStarted { .. })), "{outcome:?}");
        minted.push(client_id);
    }
    cluster.converge().await.unwrap();
    let state = cluster.replica(cluster.leader().await.unwrap()).unwrap();
    let alices: Vec<ClientId> = state
        .sessions
        .keys()
        .filter(|(owner, _)| *owner == Principal::Account(alice()))
        .map(|(_, client)| *client)
        .collect();
    assert_eq!(alices.len(), CLIENTS_PER_PRINCIPAL);
    // The entries applied longest ago went first: the registering client's, then the first minted ones.
    let dropped = minted.len() + 1 - CLIENTS_PER_PRINCIPAL;
    assert!(!alices.contains(&alice_id));
    for client_id in &minted[..dropped - 1] {
        assert!(!alices.contains(client_id));
    }
    for client_id in &minted[dropped - 1..] {
        assert!(alices.contains(client_id));
    }
    // Every replica dropped the same ones (converged_attempts compares the whole state), and every login counted.
    assert_eq!(converged_attempts(&cluster).await, Some(10));
}

/// Demonstrates a deployment requirement, not a property: the example has no rollback protection (SPEC.md §10,
/// "This does not hold for every rollback of one replica"). Three wrong guesses commit on a bare majority
/// {leader, c, r}; r is rolled back to a copy from before them; with the leader and c down, {r, d, e} is a majority
/// without the charges. It elects a leader and answers from the re-armed counter, and the charges are gone for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rollback_protection_one_rolled_back_replica_of_a_bare_majority_loses_committed_charges() {
    let (cluster, mut client, _) = cluster_with_alice(41).await;
    let leader = cluster.leader().await.unwrap();
    let others = followers(&cluster, 4).await;
    let (r, c, d, e) = (others[0], others[1], others[2], others[3]);
    cluster.snapshot(r).await.unwrap();
    let old_disk = cluster.disk_image(r).unwrap();
    // d and e down: the charges commit on exactly {leader, c, r}, and all three apply them.
    cluster.kill(d);
    cluster.kill(e);
    for _ in 0..3 {
        assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    }
    assert_eq!(converged_attempts(&cluster).await, Some(3));
    // The two other holders down (two failures, within the budget) before r comes back from its old copy.
    cluster.kill(leader);
    cluster.kill(c);
    cluster.stop(r).await.unwrap();
    cluster.kill(r);
    cluster.restart_from(r, old_disk).await.unwrap();
    assert_eq!(attempts(&cluster, r), Some(0));
    for id in [r, d, e] {
        cluster.revive(id);
    }
    // The three elect a leader and charge the next guess as the first.
    assert_eq!(client.retrieve(&cluster, WRONG).await.unwrap(), None);
    assert_eq!(
        converged_attempts(&cluster).await,
        Some(1),
        "a majority without the charges answers from the re-armed counter"
    );
    // The leader and c, which hold the charges, are left down: returning, they would be told to truncate entries
    // they know committed, and openraft stops on that broken invariant (SPEC.md §10).
}

/// Applies each request straight to one [`RedbStateMachine`] as the next log entry (no Raft), and records the
/// replica's state after every entry, so that a snapshot can be checked against the state at the index it claims.
struct OneReplica {
    machine: RedbStateMachine,
    keys: FleetKeys,
    /// The last index applied, and the state after each (`None`: before any entry). One submitter at a time.
    applied: Mutex<(u64, StatesAfter)>,
}

/// A replica's state (`ReplicaState::to_bytes`) after each log index, `None` before the first.
type StatesAfter = BTreeMap<Option<u64>, Vec<u8>>;

impl OneReplica {
    fn open(path: &std::path::Path, keys: FleetKeys) -> Self {
        let machine = RedbStateMachine::open(path, keys.clone(), replica_config()).unwrap();
        let initial = machine.state().unwrap().to_bytes();
        let index = machine.applied_index().unwrap_or(0);
        let at = if index == 0 { None } else { Some(index) };
        Self {
            machine,
            keys,
            applied: Mutex::new((index, BTreeMap::from([(at, initial)]))),
        }
    }
}

impl Submit for OneReplica {
    fn keys(&self) -> &FleetKeys {
        &self.keys
    }

    fn submit(
        &self,
        principal: Principal,
        client: ClientId,
        seq: u64,
        request: Request,
    ) -> impl Future<Output = Result<Outcome, SubmitError>> + Send {
        let mut machine = self.machine.clone();
        async move {
            let mut command = Command {
                at_ms: 1_700_000_000_000,
                entropy: [0; ENTROPY_LEN],
                principal,
                request,
            };
            OsRng.fill_bytes(&mut command.entropy);
            let index = self.applied.lock().unwrap().0 + 1;
            let entry = Entry {
                log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
                payload: EntryPayload::Normal(Proposal {
                    client,
                    seq,
                    command: command.to_bytes(),
                }),
            };
            let mut applied = machine
                .apply(vec![entry])
                .await
                .map_err(|error| SubmitError::Stopped(error.to_string()))?;
            let state = machine.state().unwrap().to_bytes();
            let mut recorded = self.applied.lock().unwrap();
            recorded.0 = index;
            recorded.1.insert(Some(index), state);
            Ok(applied.remove(0).0.expect("a normal entry has an outcome"))
        }
    }
}

fn replica_config() -> VaultConfig {
    VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        // Each wrong guess leaves its login session pending (the client does not finish it).
        max_pending_per_principal: 64,
        ..VaultConfig::default()
    }
}

/// openraft builds snapshots in a task of its own while entries keep being applied. A snapshot whose meta named a
/// later index than its content held would make a follower installing it skip the entries in between (a charge
/// and its idempotency entry) for good. Every snapshot built during the applies must hold exactly the state after
/// the index it claims.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_built_during_applies_holds_the_state_at_the_index_it_claims() {
    let dir = tempfile::tempdir().unwrap();
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(51));
    let replica = Arc::new(OneReplica::open(&dir.path().join("state.redb"), keys));
    let done = Arc::new(AtomicBool::new(false));
    let builder = {
        let (mut machine, done) = (replica.machine.clone(), done.clone());
        tokio::spawn(async move {
            let mut built = Vec::new();
            loop {
                built.push(machine.build_snapshot().await.unwrap());
                if done.load(Ordering::SeqCst) {
                    return built;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut client = Client::new(replica.as_ref(), alice(), 52);
    let key = BackupKey::generate(&mut StdRng::seed_from_u64(53));
    client.register(replica.as_ref(), PASSWORD, &key).await.unwrap();
    // A wrong guess (one entry, a charge) then a right one (two entries, the counter back to 0), over and over.
    for _ in 0..20 {
        assert_eq!(client.retrieve(replica.as_ref(), WRONG).await.unwrap(), None);
        assert!(client.retrieve(replica.as_ref(), PASSWORD).await.unwrap().is_some());
    }
    done.store(true, Ordering::SeqCst);
    let built = builder.await.unwrap();
    let recorded = replica.applied.lock().unwrap();
    for snapshot in built {
        let index = snapshot.meta.last_log_id.map(|log_id| log_id.index);
        assert!(
            *snapshot.snapshot.get_ref() == recorded.1[&index],
            "the snapshot claiming index {index:?} holds another state"
        );
    }
}

/// Snapshots are kept in memory, log purges on disk: after a restart the leader may have to send a snapshot to a
/// follower behind its purged log before it has built one. The state machine then builds it from its file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_replica_serves_a_snapshot_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(54));
    {
        let replica = OneReplica::open(&path, keys.clone());
        let mut client = Client::new(&replica, alice(), 55);
        let key = BackupKey::generate(&mut StdRng::seed_from_u64(56));
        client.register(&replica, PASSWORD, &key).await.unwrap();
        assert_eq!(client.retrieve(&replica, WRONG).await.unwrap(), None);
    }
    let mut reopened = RedbStateMachine::open(&path, keys.clone(), replica_config()).unwrap();
    let snapshot = reopened.get_current_snapshot().await.unwrap().expect("a snapshot");
    assert_eq!(
        snapshot.meta.last_log_id.map(|log_id| log_id.index),
        reopened.applied_index()
    );
    assert!(reopened.applied_index().is_some());
    assert!(*snapshot.snapshot.get_ref() == reopened.state().unwrap().to_bytes());
    // A follower installing it holds the same state.
    let mut follower = RedbStateMachine::open(dir.path().join("follower.redb"), keys, replica_config()).unwrap();
    follower
        .install_snapshot(&snapshot.meta, snapshot.snapshot)
        .await
        .unwrap();
    assert_eq!(follower.state().unwrap(), reopened.state().unwrap());
}
