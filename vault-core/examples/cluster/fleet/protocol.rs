//! Between a client and a replica: one request frame, one reply frame, on a connection of the client's. And, on
//! a port of its own that only a replica started in test mode opens, the replica's whole state for the tests.

use serde::{Deserialize, Serialize};

use crate::adapter::NodeId;
use crate::adapter::proposal::ClientId;
use crate::adapter::wire::Applied;

/// What a client asks a replica.
#[derive(Serialize, Deserialize)]
pub(crate) enum ClientRequest {
    /// Apply a command: its log encoding with `at_ms` and `entropy` zero (the leader fills them in), under the
    /// idempotency key `(principal, client, seq)`. The principal is the one in the command: on loopback nothing
    /// authenticates the connection. A deployment takes it from the authenticated connection (SPEC.md §11).
    Submit {
        command: Vec<u8>,
        client: ClientId,
        seq: u64,
    },
    /// The leader this replica knows of.
    Leader,
}

/// A replica's answer.
#[derive(Serialize, Deserialize)]
pub(crate) enum ClientReply {
    /// Committed by a majority and applied: the outcome (boxed: a response is a kilobyte, the other replies a few
    /// bytes).
    Done(Box<Applied>),
    /// This replica is not the leader; the leader it knows of, if any. Nothing was proposed.
    NotLeader(Option<NodeId>),
    /// Proposed, but not committed and applied before the replica's deadline (no majority reachable). It may
    /// still commit later; a retry under the same key is answered from the table if it did.
    Timeout,
    /// The request does not decode, or the Raft node failed; the message says which.
    Failed(String),
    /// [`ClientRequest::Leader`].
    Leader(Option<NodeId>),
}

/// Asked on a replica's inspection port: the replica's whole state (records, login states, IPLS secrets,
/// idempotency outcomes) and how far it applied, for the tests and the example, which compare replicas. Only a
/// replica started in test mode opens that port; a deployment serves nothing of the kind (SPEC.md §10).
#[derive(Serialize, Deserialize)]
pub(crate) struct StateRequest;

/// The answer on the inspection port.
#[derive(Serialize, Deserialize)]
pub(crate) enum StateReply {
    /// `ReplicaState::to_bytes` and the last applied log index.
    State { state: Vec<u8>, applied: Option<u64> },
    /// The state could not be read.
    Failed(String),
}
