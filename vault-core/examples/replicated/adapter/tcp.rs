//! Raft RPCs between replicas over TCP on tokio: each message is one frame, `u32be(len) || JSON`, of openraft's
//! own request and response types (its `serde` feature; the payload through [`super::wire`]). One connection per
//! (replica, peer) pair, one RPC at a time on it, reconnected after any failure; a peer that cannot be reached or
//! answers late is `Unreachable` to openraft, which backs off and retries.
//!
//! No authentication: this is loopback only. A deployment must authenticate both ends of every link (mutual TLS
//! with the fleet's keys, or the attested channels of HSMs or enclaves; SPEC.md §10).

// openraft's traits return its error types as they are (200-odd bytes); the helpers here return the same types
// rather than box them only to unbox them again at the trait's boundary.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::{NodeId, Raft, TypeConfig};

/// The largest frame read: a snapshot chunk (openraft's default 3 MiB) or a batch of entries, with room to spare.
/// A longer length prefix is refused before anything is allocated.
pub(crate) const MAX_FRAME: usize = 64 << 20;

/// Why a frame was not sent or received.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The connection failed or closed.
    Io(std::io::Error),
    /// The length prefix (first) exceeds the cap (second): [`MAX_FRAME`], or the caller's of [`read_frame_within`].
    TooLong(usize, usize),
    /// The frame is not the JSON of the expected message.
    Json(serde_json::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "connection: {error}"),
            Self::TooLong(len, max) => write!(f, "frame of {len} bytes, more than {max}"),
            Self::Json(error) => write!(f, "malformed frame: {error}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<std::io::Error> for FrameError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// Writes `message` as one frame.
pub(crate) async fn write_frame(
    stream: &mut (impl AsyncWrite + Unpin),
    message: &impl Serialize,
) -> Result<(), FrameError> {
    let json = serde_json::to_vec(message).map_err(FrameError::Json)?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|&len| len as usize <= MAX_FRAME)
        .ok_or(FrameError::TooLong(json.len(), MAX_FRAME))?;
    let mut frame = Vec::with_capacity(4 + json.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&json);
    // One write per frame: no message is ever interleaved with another on the same connection.
    stream.write_all(&frame).await?;
    Ok(())
}

/// Reads one frame of at most [`MAX_FRAME`] bytes and decodes it as a `T`.
pub(crate) async fn read_frame<T: DeserializeOwned>(stream: &mut (impl AsyncRead + Unpin)) -> Result<T, FrameError> {
    read_frame_within(stream, MAX_FRAME).await
}

/// Reads one frame of at most `max` bytes and decodes it as a `T`.
pub(crate) async fn read_frame_within<T: DeserializeOwned>(
    stream: &mut (impl AsyncRead + Unpin),
    max: usize,
) -> Result<T, FrameError> {
    let mut len = [0; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::TooLong(len, max));
    }
    let mut json = vec![0; len];
    stream.read_exact(&mut json).await?;
    serde_json::from_slice(&json).map_err(FrameError::Json)
}

/// What one replica asks another.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) enum RaftRequest {
    Vote(VoteRequest<NodeId>),
    Append(AppendEntriesRequest<TypeConfig>),
    Snapshot(InstallSnapshotRequest<TypeConfig>),
}

/// The answer, with the receiving Raft's own error if it refused.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) enum RaftReply {
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Append(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Snapshot(Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>),
}

/// Answers Raft RPCs arriving on `listener` with `raft`, until the returned set is dropped or aborted (which
/// closes every connection: what a killed replica's peers see).
pub(crate) fn serve(listener: TcpListener, raft: Raft) -> JoinSet<()> {
    let mut server = JoinSet::new();
    server.spawn(async move {
        // Connection tasks live in this task's set: aborting the accept loop drops them all.
        let mut connections = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            connections.spawn(answer(stream, raft.clone()));
            // Reap the connections that ended, so the set does not grow with reconnections.
            while connections.try_join_next().is_some() {}
        }
    });
    server
}

/// One peer's connection: request, answer, until it closes or sends something malformed.
async fn answer(mut stream: TcpStream, raft: Raft) {
    while let Ok(request) = read_frame::<RaftRequest>(&mut stream).await {
        let reply = match request {
            RaftRequest::Vote(rpc) => RaftReply::Vote(raft.vote(rpc).await),
            RaftRequest::Append(rpc) => RaftReply::Append(raft.append_entries(rpc).await),
            RaftRequest::Snapshot(rpc) => RaftReply::Snapshot(raft.install_snapshot(rpc).await),
        };
        if write_frame(&mut stream, &reply).await.is_err() {
            return;
        }
    }
}

/// Makes connections to peers at the addresses of their `BasicNode`s (`127.0.0.1:port`).
pub(crate) struct TcpNetwork;

impl RaftNetworkFactory<TypeConfig> for TcpNetwork {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Connection {
        Connection {
            target,
            addr: node.addr.clone(),
            stream: None,
        }
    }
}

/// One replica's link to a peer.
pub(crate) struct Connection {
    target: NodeId,
    addr: String,
    stream: Option<TcpStream>,
}

type Rpc<T, E = openraft::error::Infallible> = Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

impl Connection {
    /// Sends `request` and reads the reply, within `ttl`. Any failure drops the connection (a half-read reply
    /// would desynchronize it) and is `Unreachable`: the peer is down, or too slow to count.
    async fn call(&mut self, ttl: Duration, request: RaftRequest) -> Result<RaftReply, Unreachable> {
        // The connection is taken out for the exchange and put back only after a whole reply: any failure
        // leaves none, and the next call connects afresh.
        let kept = self.stream.take();
        let exchange = async {
            let mut stream = if let Some(stream) = kept {
                stream
            } else {
                let stream = TcpStream::connect(&self.addr).await?;
                stream.set_nodelay(true)?;
                stream
            };
            write_frame(&mut stream, &request).await?;
            let reply = read_frame::<RaftReply>(&mut stream).await?;
            Ok::<_, FrameError>((stream, reply))
        };
        match tokio::time::timeout(ttl, exchange).await {
            Ok(Ok((stream, reply))) => {
                self.stream = Some(stream);
                Ok(reply)
            }
            Ok(Err(error)) => Err(Unreachable::new(&error)),
            Err(elapsed) => Err(Unreachable::new(&elapsed)),
        }
    }

    fn remote<T, E: std::error::Error>(&self, reply: Result<T, RaftError<NodeId, E>>) -> Rpc<T, E> {
        reply.map_err(|error| RPCError::RemoteError(RemoteError::new(self.target, error)))
    }
}

/// The reply to a request of another kind: the peer is not speaking this protocol.
#[derive(Debug)]
struct Mismatched;

impl fmt::Display for Mismatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reply of another kind than the request")
    }
}

impl std::error::Error for Mismatched {}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<NodeId>> {
        match self.call(option.hard_ttl(), RaftRequest::Append(rpc)).await? {
            RaftReply::Append(reply) => self.remote(reply),
            _ => Err(NetworkError::new(&Mismatched).into()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        match self.call(option.hard_ttl(), RaftRequest::Snapshot(rpc)).await? {
            RaftReply::Snapshot(reply) => self.remote(reply),
            _ => Err(NetworkError::new(&Mismatched).into()),
        }
    }

    async fn vote(&mut self, rpc: VoteRequest<NodeId>, option: RPCOption) -> Rpc<VoteResponse<NodeId>> {
        match self.call(option.hard_ttl(), RaftRequest::Vote(rpc)).await? {
            RaftReply::Vote(reply) => self.remote(reply),
            _ => Err(NetworkError::new(&Mismatched).into()),
        }
    }

    /// After a failed RPC, wait 100 ms rather than openraft's default 500 ms: a restarted replica on loopback is
    /// reachable again at once, and the fault tests wait for it.
    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(Duration::from_millis(100)))
    }
}
