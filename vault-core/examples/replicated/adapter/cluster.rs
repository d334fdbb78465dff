//! Replicas, their disks, the leader's clock and entropy, and the client-facing `submit`.
//!
//! Everything that waits is bounded: a request, a leader election, a catch-up and a shutdown each have a
//! deadline, so no caller (and no test) can hang.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ServerState, SnapshotPolicy};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio::time::{Instant, sleep, timeout};
use vault_core::{Command, ENTROPY_LEN, FleetKeys, MemoryStore, Principal, Request, Response, VaultConfig};

use super::log_store::LogStore;
use super::network::{Network, Router};
use super::proposal::{ClientId, Outcome, Proposal, Refusal};
use super::state_machine::{Replica, ReplicaState, SnapshotDisk, StateMachine};
use super::{NodeId, Raft};

/// Any failure of the cluster's own machinery (start-up, shutdown, waiting for a state).
pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// How long the cluster waits for each thing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    /// For one client request to be committed and applied.
    pub(crate) request: Duration,
    /// For a leader to be known.
    pub(crate) leader: Duration,
    /// For replicas to catch up, snapshots to be built, nodes to stop.
    pub(crate) settle: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            request: Duration::from_secs(2),
            leader: Duration::from_secs(3),
            settle: Duration::from_secs(10),
        }
    }
}

/// When replicas snapshot their state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Snapshots {
    /// Every 16 applied entries, with the log purged right behind: a node that falls behind is brought forward
    /// by an installed snapshot, so the fault tests run the snapshot path (the restart test checks that it does).
    Eager,
    /// openraft's defaults (every 5000 entries, 1000 kept): followers apply every entry themselves, as in a
    /// deployment, so a measurement counts every replica's vault work.
    Default,
}

/// Why a request got no outcome. In every case no response reached the client; whether the command was
/// committed is unknown to it (except for `NoLeader` and `NothingSent`, which proposed nothing), and a retry
/// under the same idempotency key is safe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SubmitError {
    /// No connected node is leader: nothing was proposed.
    NoLeader,
    /// Proposed but not committed and applied within the deadline (no quorum): it may still be committed later.
    Timeout,
    /// The node asked lost its leadership before the entry was committed.
    LeaderChanged,
    /// Committed and applied, but the reply was lost on its way back to the client.
    ReplyLost,
    /// The Raft node stopped.
    Stopped(String),
    /// A retry without an earlier request.
    NothingSent,
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoLeader => f.write_str("no leader reachable"),
            Self::Timeout => f.write_str("not committed before the deadline"),
            Self::LeaderChanged => f.write_str("leadership changed before commit"),
            Self::ReplyLost => f.write_str("reply lost"),
            Self::Stopped(reason) => write!(f, "raft stopped: {reason}"),
            Self::NothingSent => f.write_str("nothing to retry"),
        }
    }
}

impl std::error::Error for SubmitError {}

/// Why a sweep pass stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SweepError {
    /// A page got no outcome.
    Submit(SubmitError),
    /// The vault refused a page.
    Refused(Refusal),
    /// The vault answered a page with something other than `Swept`.
    Unexpected,
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Submit(error) => write!(f, "sweep page got no outcome: {error}"),
            Self::Refused(refusal) => write!(f, "sweep page refused: {refusal:?}"),
            Self::Unexpected => f.write_str("sweep page answered with another response"),
        }
    }
}

impl std::error::Error for SweepError {}

/// A node's persistent storage: its log and its last snapshot. Clones share the data.
#[derive(Clone, Debug, Default)]
pub(crate) struct Disk {
    log: LogStore,
    snapshots: SnapshotDisk,
}

impl Disk {
    /// An independent copy of the disk as it is now.
    pub(crate) fn image(&self) -> Self {
        Self {
            log: self.log.image(),
            snapshots: self.snapshots.image(),
        }
    }
}

struct Running {
    raft: Raft,
    state: StateMachine,
}

/// A cluster of vault replicas in one process.
pub(crate) struct Cluster {
    router: Arc<Router>,
    running: Mutex<BTreeMap<NodeId, Running>>,
    disks: Mutex<BTreeMap<NodeId, Disk>>,
    keys: FleetKeys,
    config: VaultConfig,
    raft_config: Arc<openraft::Config>,
    deadlines: Deadlines,
    /// The leader's clock (Unix milliseconds), moved by the test.
    clock: AtomicU64,
    /// The leader's entropy source.
    entropy: Mutex<StdRng>,
    /// The operator's idempotency key (its client id and last seq), for the sweeps it sends.
    operator: (ClientId, AtomicU64),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section is a single map or vector update.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Cluster {
    /// Starts `size` replicas (ids 1 to `size`) of a vault with `keys` and `config`, and waits for a leader.
    /// `seed` seeds the leader's entropy; a deployment would use the HSM's CSPRNG.
    pub(crate) async fn start(
        size: u64,
        keys: FleetKeys,
        config: VaultConfig,
        seed: u64,
        deadlines: Deadlines,
        snapshots: Snapshots,
    ) -> Result<Self, Failure> {
        let mut raft_config = openraft::Config {
            cluster_name: "vault".into(),
            heartbeat_interval: 50,
            election_timeout_min: 300,
            election_timeout_max: 600,
            ..openraft::Config::default()
        };
        if snapshots == Snapshots::Eager {
            raft_config.snapshot_policy = SnapshotPolicy::LogsSinceLast(16);
            raft_config.max_in_snapshot_log_to_keep = 0;
        }
        let raft_config = raft_config.validate()?;
        let cluster = Self {
            router: Arc::default(),
            running: Mutex::default(),
            disks: Mutex::default(),
            keys,
            config,
            raft_config: Arc::new(raft_config),
            deadlines,
            clock: AtomicU64::new(1_700_000_000_000),
            entropy: Mutex::new(StdRng::seed_from_u64(seed)),
            operator: ([0; 16], AtomicU64::new(0)),
        };
        for id in 1..=size {
            cluster.launch(id, Disk::default()).await?;
        }
        let members: BTreeMap<NodeId, BasicNode> = (1..=size).map(|id| (id, BasicNode::default())).collect();
        let first = cluster.router.reachable(1).ok_or("node 1 did not start")?;
        timeout(deadlines.settle, first.initialize(members)).await??;
        cluster.leader().await.ok_or("no leader elected")?;
        Ok(cluster)
    }

    /// Starts the Raft task of node `id` on `disk`: the state machine opens from the disk's snapshot and openraft
    /// re-applies the committed log after it.
    async fn launch(&self, id: NodeId, disk: Disk) -> Result<(), Failure> {
        let state = StateMachine::open(self.keys.clone(), self.config, disk.snapshots.clone())?;
        let raft = Raft::new(
            id,
            Arc::clone(&self.raft_config),
            Network::new(Arc::clone(&self.router), id),
            disk.log.clone(),
            state.clone(),
        )
        .await?;
        self.router.attach(id, raft.clone());
        lock(&self.running).insert(id, Running { raft, state });
        lock(&self.disks).insert(id, disk);
        Ok(())
    }

    /// The fleet keys.
    pub(crate) fn keys(&self) -> &FleetKeys {
        &self.keys
    }

    /// Moves the leader's clock forward.
    pub(crate) fn advance_clock(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    /// The client-facing entry point, on the leader: fills in the principal, time and entropy of the command,
    /// proposes it with the client's id and seq, and returns the outcome the state machine produced when it
    /// applied the committed entry. Nothing is returned before a majority has the entry and the leader has applied
    /// it.
    ///
    /// `principal` stands for what the transport authenticated (in a deployment, the account of the connection
    /// the request arrived on), never something read from the request: it is the vault's authorization and the
    /// owner of the request's idempotency key.
    pub(crate) async fn submit(
        &self,
        principal: Principal,
        client: ClientId,
        seq: u64,
        request: Request,
    ) -> Result<Outcome, SubmitError> {
        let leader = self.leader().await.ok_or(SubmitError::NoLeader)?;
        let raft = self.router.reachable(leader).ok_or(SubmitError::NoLeader)?;
        let mut command = Command {
            at_ms: self.clock.load(Ordering::SeqCst),
            entropy: [0; ENTROPY_LEN],
            principal,
            request,
        };
        // Drawn in place: the command zeroizes its entropy on drop, a copy on the stack would not be.
        lock(&self.entropy).fill_bytes(&mut command.entropy);
        let proposal = Proposal {
            client,
            seq,
            command: command.to_bytes(),
        };
        let written = match timeout(self.deadlines.request, raft.client_write(proposal)).await {
            Err(_) => return Err(SubmitError::Timeout),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => {
                return Err(SubmitError::LeaderChanged);
            }
            Ok(Err(error)) => return Err(SubmitError::Stopped(error.to_string())),
            Ok(Ok(written)) => written,
        };
        let outcome = written
            .data
            .0
            .ok_or_else(|| SubmitError::Stopped("a client entry applied without an outcome".into()))?;
        // The reply crosses the network back to the client.
        self.router.reply(leader, outcome)
    }

    /// One whole sweep pass as the operator (what a leader's timer would send): pages through every expiring entry
    /// and deletes those expired at the leader's clock, on every replica. Returns how many were deleted.
    pub(crate) async fn sweep(&self) -> Result<u32, SweepError> {
        let (client, seq) = &self.operator;
        let mut cursor = Vec::new();
        let mut total: u32 = 0;
        loop {
            let seq = seq.fetch_add(1, Ordering::SeqCst) + 1;
            let swept = self
                .submit(Principal::Operator, *client, seq, Request::Sweep { cursor })
                .await
                .map_err(SweepError::Submit)?;
            match swept {
                Ok(Response::Swept { removed, next }) => {
                    total = total.saturating_add(removed);
                    match next {
                        Some(next) => cursor = next,
                        None => return Ok(total),
                    }
                }
                Ok(_) => return Err(SweepError::Unexpected),
                Err(refusal) => return Err(SweepError::Refused(refusal)),
            }
        }
    }

    /// Loses the reply of the next `count` committed requests (after they were applied).
    pub(crate) fn drop_next_replies(&self, count: usize) {
        self.router.drop_client_replies(count);
    }

    /// The replies lost so far, in order: what the clients never saw.
    pub(crate) fn dropped_replies(&self) -> Vec<Outcome> {
        self.router.dropped_client_replies()
    }

    /// Loses the replies of the next `count` RPCs between nodes.
    pub(crate) fn drop_rpc_replies(&self, count: usize) {
        self.router.drop_rpc_replies(count);
    }

    /// The connected node that leads in the highest term, waiting up to the leader deadline for one.
    pub(crate) async fn leader(&self) -> Option<NodeId> {
        let deadline = Instant::now() + self.deadlines.leader;
        loop {
            let leader = self
                .router
                .up()
                .into_iter()
                .filter_map(|id| {
                    let metrics = self.router.reachable(id)?.metrics().borrow().clone();
                    (metrics.state == ServerState::Leader && metrics.current_leader == Some(id))
                        .then_some((metrics.current_term, id))
                })
                .max();
            if let Some((_, id)) = leader {
                return Some(id);
            }
            if Instant::now() >= deadline {
                return None;
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Cuts node `id` off the network (it keeps running and keeps its disk).
    pub(crate) fn kill(&self, id: NodeId) {
        self.router.kill(id);
    }

    /// Connects node `id` again.
    pub(crate) fn revive(&self, id: NodeId) {
        self.router.revive(id);
    }

    /// Stops node `id`'s Raft task; its in-memory state is lost, its disk stays.
    pub(crate) async fn stop(&self, id: NodeId) -> Result<(), Failure> {
        self.router.detach(id);
        let running = lock(&self.running).remove(&id).ok_or("node not running")?;
        timeout(self.deadlines.settle, running.raft.shutdown()).await??;
        Ok(())
    }

    /// Starts node `id` again from its disk.
    pub(crate) async fn restart(&self, id: NodeId) -> Result<(), Failure> {
        let disk = lock(&self.disks).get(&id).cloned().ok_or("unknown node")?;
        self.launch(id, disk).await
    }

    /// Starts a stopped node `id` from `image` instead of its disk: a disk rolled back to an older state.
    pub(crate) async fn restart_from(&self, id: NodeId, image: Disk) -> Result<(), Failure> {
        self.launch(id, image).await
    }

    /// A copy of node `id`'s disk as it is now.
    pub(crate) fn disk_image(&self, id: NodeId) -> Option<Disk> {
        lock(&self.disks).get(&id).map(Disk::image)
    }

    /// Makes node `id` build a snapshot of everything it has applied, and waits until it is on its disk. Asks
    /// again if entries were applied while the snapshot was being built.
    pub(crate) async fn snapshot(&self, id: NodeId) -> Result<(), Failure> {
        let raft = self.raft(id).ok_or("node not running")?;
        let deadline = Instant::now() + self.deadlines.settle;
        loop {
            raft.trigger().snapshot().await?;
            let built = raft
                .wait(Some(Duration::from_millis(500)))
                .metrics(
                    |metrics| metrics.last_applied.is_some() && metrics.snapshot >= metrics.last_applied,
                    "snapshot of everything applied",
                )
                .await;
            if built.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err("no snapshot built".into());
            }
        }
    }

    /// Lets node `id` stand for election on its own timer, or not.
    pub(crate) fn allow_election(&self, id: NodeId, allowed: bool) {
        if let Some(raft) = self.raft(id) {
            raft.runtime_config().elect(allowed);
        }
    }

    /// Makes node `id` the leader (it must be up to date, or no majority votes for it). The others are kept
    /// from standing meanwhile, and a current leader is cut off while `id` stands: followers refuse to vote while
    /// they still hear from a leader (its lease).
    pub(crate) async fn make_leader(&self, id: NodeId) -> Result<(), Failure> {
        let others: Vec<Raft> = lock(&self.running)
            .iter()
            .filter(|(other, _)| **other != id)
            .map(|(_, running)| running.raft.clone())
            .collect();
        for raft in &others {
            raft.runtime_config().elect(false);
        }
        let previous = self.leader().await.filter(|&leader| leader != id);
        if let Some(previous) = previous {
            self.kill(previous);
        }
        let raft = self.raft(id).ok_or("node not running")?;
        let deadline = Instant::now() + self.deadlines.settle;
        let elected = loop {
            raft.trigger().elect().await?;
            let wait = raft.wait(Some(Duration::from_millis(300)));
            if wait.state(ServerState::Leader, "elected").await.is_ok() {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
        };
        if let Some(previous) = previous {
            self.revive(previous);
        }
        for raft in &others {
            raft.runtime_config().elect(true);
        }
        if elected { Ok(()) } else { Err("not elected".into()) }
    }

    /// Waits until every connected node has applied every entry any of them holds (so no entry is still in
    /// flight), and returns the last applied index.
    pub(crate) async fn converge(&self) -> Result<u64, Failure> {
        let deadline = Instant::now() + self.deadlines.settle;
        loop {
            let metrics: Vec<_> = self
                .router
                .up()
                .into_iter()
                .filter_map(|id| Some(self.raft(id)?.metrics().borrow().clone()))
                .collect();
            let last_log = metrics.iter().map(|metrics| metrics.last_log_index).max().flatten();
            let leader = metrics.iter().any(|metrics| metrics.state == ServerState::Leader);
            let applied = metrics
                .iter()
                .all(|metrics| metrics.last_applied.map(|log_id| log_id.index) == last_log);
            if leader && applied {
                return Ok(last_log.unwrap_or(0));
            }
            if Instant::now() >= deadline {
                return Err("replicas did not converge".into());
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The index of the last entry in node `id`'s current snapshot.
    pub(crate) fn snapshot_index(&self, id: NodeId) -> Option<u64> {
        self.raft(id)?.metrics().borrow().snapshot.map(|log_id| log_id.index)
    }

    /// What node `id`'s state machine holds now.
    pub(crate) fn replica(&self, id: NodeId) -> Option<ReplicaState> {
        let running = lock(&self.running);
        Some(running.get(&id)?.state.read(Replica::state))
    }

    /// Reads node `id`'s vault store.
    pub(crate) fn read_store<T>(&self, id: NodeId, read: impl FnOnce(&MemoryStore) -> T) -> Option<T> {
        let running = lock(&self.running);
        Some(running.get(&id)?.state.read(|replica| read(replica.store())))
    }

    /// Ids of the running, connected nodes.
    pub(crate) fn up(&self) -> BTreeSet<NodeId> {
        self.router.up().into_iter().collect()
    }

    /// Stops every node.
    pub(crate) async fn shutdown(&self) -> Result<(), Failure> {
        let ids: Vec<NodeId> = lock(&self.running).keys().copied().collect();
        for id in ids {
            self.stop(id).await?;
        }
        Ok(())
    }

    fn raft(&self, id: NodeId) -> Option<Raft> {
        lock(&self.running).get(&id).map(|running| running.raft.clone())
    }
}
