//! A client's view of the replica processes: [`Remote`] implements [`Submit`], so the adapter's [`Client`]
//! (register, log in) runs against the processes as against the in-process cluster.
//!
//! [`Client`]: crate::adapter::client::Client

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use vault_core::{Command, ENTROPY_LEN, FleetKeys, Principal, Request};

use super::protocol::{ClientReply, ClientRequest, StateReply, StateRequest};
use crate::adapter::NodeId;
use crate::adapter::client::Submit;
use crate::adapter::cluster::SubmitError;
use crate::adapter::proposal::{ClientId, Outcome};
use crate::adapter::state_machine::ReplicaState;
use crate::adapter::tcp::{FrameError, read_frame, write_frame};

/// Pause before asking again when no replica knows a leader (an election is running).
const NO_LEADER_PAUSE: Duration = Duration::from_millis(50);

/// The replicas' client (and test-mode inspection) addresses, the leader last seen, and how long a request may
/// take in all.
pub(crate) struct Remote {
    clients: BTreeMap<NodeId, SocketAddr>,
    inspect: BTreeMap<NodeId, SocketAddr>,
    keys: FleetKeys,
    deadline: Duration,
    leader: Mutex<Option<NodeId>>,
}

impl Remote {
    pub(crate) fn new(
        clients: BTreeMap<NodeId, SocketAddr>,
        inspect: BTreeMap<NodeId, SocketAddr>,
        keys: FleetKeys,
        deadline: Duration,
    ) -> Self {
        Self {
            clients,
            inspect,
            keys,
            deadline,
            leader: Mutex::new(None),
        }
    }

    /// One request to replica `id` and its reply, within `within`.
    pub(crate) async fn ask(
        &self,
        id: NodeId,
        request: &ClientRequest,
        within: Duration,
    ) -> Result<ClientReply, FrameError> {
        exchange(&self.clients, id, request, within).await
    }

    /// Replica `id`'s state and applied index, from its inspection port (test mode).
    pub(crate) async fn state(&self, id: NodeId) -> Result<(ReplicaState, Option<u64>), String> {
        match exchange(&self.inspect, id, &StateRequest, Duration::from_secs(5)).await {
            Ok(StateReply::State { state, applied }) => Ok((
                ReplicaState::from_bytes(&state).map_err(|error| error.to_string())?,
                applied,
            )),
            Ok(StateReply::Failed(error)) => Err(error),
            Err(error) => Err(error.to_string()),
        }
    }

    /// The leader replica `id` knows of.
    pub(crate) async fn leader_seen_by(&self, id: NodeId) -> Option<NodeId> {
        match self.ask(id, &ClientRequest::Leader, Duration::from_secs(1)).await {
            Ok(ClientReply::Leader(leader)) => leader,
            _ => None,
        }
    }

    fn hint(&self) -> Option<NodeId> {
        *self.leader.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, leader: Option<NodeId>) {
        *self.leader.lock().unwrap_or_else(PoisonError::into_inner) = leader;
    }
}

/// One request to replica `id` at its address in `addrs` and its reply, within `within`.
async fn exchange<R: DeserializeOwned>(
    addrs: &BTreeMap<NodeId, SocketAddr>,
    id: NodeId,
    request: &impl Serialize,
    within: Duration,
) -> Result<R, FrameError> {
    let addr = addrs
        .get(&id)
        .ok_or(FrameError::Io(std::io::ErrorKind::NotFound.into()))?;
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        write_frame(&mut stream, request).await?;
        read_frame::<R>(&mut stream).await
    };
    timeout(within, exchange)
        .await
        .map_err(|_| FrameError::Io(std::io::ErrorKind::TimedOut.into()))?
}

impl Submit for Remote {
    fn keys(&self) -> &FleetKeys {
        &self.keys
    }

    /// Sends the request to the leader last seen (else to each replica in turn), follows `NotLeader` hints, and
    /// sends it again under the same key after a `Timeout` or a lost connection, until the deadline. Then fails with
    /// the last reason: `Timeout` (a leader could not commit: no majority), `NoLeader` (no replica answered or
    /// knew one) or `Stopped`.
    async fn submit(
        &self,
        principal: Principal,
        client: ClientId,
        seq: u64,
        request: Request,
    ) -> Result<Outcome, SubmitError> {
        let command = Command {
            at_ms: 0,
            entropy: [0; ENTROPY_LEN],
            principal,
            request,
        };
        let message = ClientRequest::Submit {
            command: command.to_bytes().to_vec(),
            client,
            seq,
        };
        let give_up = Instant::now() + self.deadline;
        let ids: Vec<NodeId> = self.clients.keys().copied().collect();
        let mut turn = 0;
        let mut last = SubmitError::NoLeader;
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(last);
            }
            let target = self.hint().unwrap_or_else(|| {
                turn += 1;
                ids[turn % ids.len()]
            });
            match self.ask(target, &message, left).await {
                Ok(ClientReply::Done(applied)) => {
                    self.remember(Some(target));
                    return applied
                        .0
                        .ok_or_else(|| SubmitError::Stopped("a client entry applied without an outcome".into()));
                }
                Ok(ClientReply::NotLeader(leader)) => {
                    self.remember(leader.filter(|&leader| leader != target));
                    if leader.is_none() {
                        sleep(NO_LEADER_PAUSE).await;
                    }
                }
                // The leader could not commit in time: ask again (the same key costs no second guess).
                Ok(ClientReply::Timeout) => last = SubmitError::Timeout,
                Ok(ClientReply::Failed(reason)) => {
                    self.remember(None);
                    last = SubmitError::Stopped(reason);
                }
                Ok(ClientReply::Leader(_)) => {
                    return Err(SubmitError::Stopped("unexpected reply".into()));
                }
                // Too slow: the deadline ran out waiting for this replica.
                Err(FrameError::Io(error)) if error.kind() == std::io::ErrorKind::TimedOut => {
                    last = SubmitError::Timeout;
                }
                // Down: try another replica.
                Err(_) => {
                    self.remember(None);
                    sleep(NO_LEADER_PAUSE).await;
                }
            }
        }
    }
}

/// The replica among `ids` that says it leads (asked of itself), waiting up to `within` for one.
pub(crate) async fn leader(remote: &Remote, ids: &[NodeId], within: Duration) -> Option<NodeId> {
    let give_up = Instant::now() + within;
    loop {
        for &id in ids {
            if remote.leader_seen_by(id).await == Some(id) {
                return Some(id);
            }
        }
        if Instant::now() >= give_up {
            return None;
        }
        sleep(NO_LEADER_PAUSE).await;
    }
}

/// Waits up to `within` until replicas `ids` have applied the same entries and hold the same state, byte for byte
/// (`ReplicaState::to_bytes`: every store entry with its version, the version counter, the idempotency table),
/// and returns that state.
pub(crate) async fn converged(remote: &Remote, ids: &[NodeId], within: Duration) -> Result<ReplicaState, String> {
    let give_up = Instant::now() + within;
    loop {
        let mut states = Vec::new();
        for &id in ids {
            states.push(
                remote
                    .state(id)
                    .await
                    .map_err(|error| format!("replica {id}: {error}"))?,
            );
        }
        let (first, applied) = &states[0];
        let same = states
            .iter()
            .all(|(state, index)| index == applied && state.to_bytes() == first.to_bytes());
        if same {
            return Ok(first.clone());
        }
        if Instant::now() >= give_up {
            let applied: Vec<_> = states.iter().map(|(_, index)| *index).collect();
            return Err(format!("replicas {ids:?} differ after {within:?}: applied {applied:?}"));
        }
        sleep(Duration::from_millis(100)).await;
    }
}
