//! The in-process network: a router from node id to Raft handle. A "killed" node is disconnected: nothing reaches
//! it and nothing it sends arrives, as with a crashed machine or a cut link, while its task and disk live on.
//! The router can also lose replies after the receiver acted on the request: replies to Raft RPCs (the sender
//! retries, Raft must not apply anything twice) and replies to clients (the client retries, the idempotency key
//! must keep it from paying twice).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};

use super::cluster::SubmitError;
use super::proposal::Outcome;
use super::{NodeId, Raft, TypeConfig};

#[derive(Default)]
struct Links {
    nodes: BTreeMap<NodeId, Raft>,
    down: BTreeSet<NodeId>,
    /// Replies to lose: of the next RPCs between nodes, of the next client requests.
    drop_rpc_replies: usize,
    drop_client_replies: usize,
    /// The client replies lost so far.
    dropped_client_replies: Vec<Outcome>,
}

/// Maps node ids to running Raft handles and knows which nodes are cut off.
#[derive(Default)]
pub(crate) struct Router {
    links: Mutex<Links>,
}

/// Why a message did not arrive.
#[derive(Debug)]
struct Disconnected;

impl std::fmt::Display for Disconnected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("node disconnected")
    }
}

impl std::error::Error for Disconnected {}

impl Router {
    fn lock(&self) -> MutexGuard<'_, Links> {
        // The sets are consistent after every statement.
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers (or replaces, after a restart) the handle of a node.
    pub(crate) fn attach(&self, id: NodeId, raft: Raft) {
        self.lock().nodes.insert(id, raft);
    }

    /// Removes a stopped node's handle.
    pub(crate) fn detach(&self, id: NodeId) -> Option<Raft> {
        self.lock().nodes.remove(&id)
    }

    /// Cuts a node off from every other node and from clients.
    pub(crate) fn kill(&self, id: NodeId) {
        self.lock().down.insert(id);
    }

    /// Connects a node again.
    pub(crate) fn revive(&self, id: NodeId) {
        self.lock().down.remove(&id);
    }

    /// The handle of `id` if it is running and connected.
    pub(crate) fn reachable(&self, id: NodeId) -> Option<Raft> {
        let links = self.lock();
        if links.down.contains(&id) {
            return None;
        }
        links.nodes.get(&id).cloned()
    }

    /// Ids of the nodes that are running and connected.
    pub(crate) fn up(&self) -> Vec<NodeId> {
        let links = self.lock();
        links
            .nodes
            .keys()
            .copied()
            .filter(|id| !links.down.contains(id))
            .collect()
    }

    /// Loses the replies of the next `count` RPCs between nodes, after their targets handled them.
    pub(crate) fn drop_rpc_replies(&self, count: usize) {
        self.lock().drop_rpc_replies = count;
    }

    /// Loses the next `count` replies to clients, after the requests were committed and applied.
    pub(crate) fn drop_client_replies(&self, count: usize) {
        self.lock().drop_client_replies = count;
    }

    /// The client replies lost so far, in order: what the clients never saw.
    pub(crate) fn dropped_client_replies(&self) -> Vec<Outcome> {
        self.lock().dropped_client_replies.clone()
    }

    /// Carries `outcome` from node `from` back to the client: lost if `from` was cut off meanwhile or if the
    /// router was told to lose it.
    pub(crate) fn reply(&self, from: NodeId, outcome: Outcome) -> Result<Outcome, SubmitError> {
        let mut links = self.lock();
        if links.down.contains(&from) {
            return Err(SubmitError::ReplyLost);
        }
        if let Some(left) = links.drop_client_replies.checked_sub(1) {
            links.drop_client_replies = left;
            links.dropped_client_replies.push(outcome);
            return Err(SubmitError::ReplyLost);
        }
        Ok(outcome)
    }

    /// Whether to lose this RPC reply.
    fn lose_rpc_reply(&self) -> bool {
        let mut links = self.lock();
        match links.drop_rpc_replies.checked_sub(1) {
            Some(left) => {
                links.drop_rpc_replies = left;
                true
            }
            None => false,
        }
    }

    /// The target's handle if both ends are connected.
    fn route(&self, source: NodeId, target: NodeId) -> Result<Raft, Unreachable> {
        match self.reachable(source).and(self.reachable(target)) {
            Some(raft) => Ok(raft),
            None => Err(Unreachable::new(&Disconnected)),
        }
    }
}

/// Makes connections from one node.
pub(crate) struct Network {
    router: Arc<Router>,
    source: NodeId,
}

impl Network {
    /// The network as `source` sees it.
    pub(crate) fn new(router: Arc<Router>, source: NodeId) -> Self {
        Self { router, source }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> Connection {
        Connection {
            router: Arc::clone(&self.router),
            source: self.source,
            target,
        }
    }
}

/// One node's link to another.
pub(crate) struct Connection {
    router: Arc<Router>,
    source: NodeId,
    target: NodeId,
}

type Rpc<T, E = openraft::error::Infallible> = Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

impl Connection {
    /// Delivers a request and its reply, bounded by the RPC's deadline. The link is checked both ways: a node cut
    /// off while the call runs never delivers the reply.
    async fn call<T, E, F>(&self, ttl: Duration, send: impl FnOnce(Raft) -> F) -> Rpc<T, E>
    where
        E: std::error::Error,
        F: Future<Output = Result<T, RaftError<NodeId, E>>>,
    {
        let raft = self.router.route(self.source, self.target)?;
        let reply = tokio::time::timeout(ttl, send(raft))
            .await
            .map_err(|elapsed| NetworkError::new(&elapsed))?
            .map_err(|error| RemoteError::new(self.target, error))?;
        self.router.route(self.source, self.target)?;
        if self.router.lose_rpc_reply() {
            return Err(Unreachable::new(&Disconnected).into());
        }
        Ok(reply)
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<NodeId>> {
        self.call(option.hard_ttl(), |raft| async move { raft.append_entries(rpc).await })
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(
            option.hard_ttl(),
            |raft| async move { raft.install_snapshot(rpc).await },
        )
        .await
    }

    /// After a failed RPC, wait 50 ms rather than openraft's default 500 ms: in-process links recover at once.
    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(Duration::from_millis(50)))
    }

    async fn vote(&mut self, rpc: VoteRequest<NodeId>, option: RPCOption) -> Rpc<VoteResponse<NodeId>> {
        self.call(option.hard_ttl(), |raft| async move { raft.vote(rpc).await })
            .await
    }
}
