//! vault-core's state machine replicated on openraft 0.9 (storage-v2: `RaftLogStorage` + `RaftStateMachine`),
//! with an in-process network or over TCP. Example-level code: the library stays free of any runtime (SPEC.md,
//! "Replication"); this adapter is what a deployment would write around it.
//!
//! - [`proposal`]: what the log carries (an encoded [`vault_core::Command`], with the principal the transport
//!   authenticated, plus the client's id and seq: together the idempotency key) and what the state machine answers.
//! - [`log_store`]: the Raft log, vote and committed index in memory ("the disk").
//! - [`redb_log`]: the same in a redb file, durable across a SIGKILL.
//! - [`redb_state`]: the state machine on a [`vault_core::RedbStore`], each apply one batch with its log position.
//! - [`state_machine`]: a [`vault_core::Vault`] over its own [`vault_core::MemoryStore`], the idempotency table,
//!   and snapshots of both.
//! - [`tcp`]: the same RPCs between processes, over TCP (length-prefixed JSON frames).
//! - [`network`]: a router from node id to Raft handle that can disconnect ("kill") nodes.
//! - [`cluster`]: replicas, their disks, the leader's clock and entropy, and the client-facing `submit`.
//! - [`client`]: a backup client (register, log in) talking to the cluster.
//! - [`wire`]: how proposals and outcomes serialize, for openraft's serde (RPCs over TCP, entries on redb).
//!
//! Included by the `replicated` example and by `tests/replication.rs` (with `#[path]`), so that
//! `cargo test --workspace` runs the fault tests against this very code; the `cluster` example and
//! `tests/cluster.rs` include it too, and run its redb log, redb state machine and TCP transport as processes.

pub(crate) mod client;
pub(crate) mod cluster;
pub(crate) mod log_store;
pub(crate) mod network;
pub(crate) mod proposal;
pub(crate) mod redb_log;
pub(crate) mod redb_state;
pub(crate) mod state_machine;
pub(crate) mod tcp;
pub(crate) mod wire;

use std::io::Cursor;

/// Node ids are small integers in this in-process cluster.
pub(crate) type NodeId = u64;

openraft::declare_raft_types!(
    /// The openraft type configuration of the replicated vault.
    pub(crate) TypeConfig:
        D = proposal::Proposal,
        // `None` for the entries that carry no client command (blank and membership entries).
        R = wire::Applied,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A handle to one running replica.
pub(crate) type Raft = openraft::Raft<TypeConfig>;
