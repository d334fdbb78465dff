//! Five vault replicas as five OS processes on 127.0.0.1: each holds its Raft log ([`crate::adapter::redb_log`])
//! and its state machine ([`crate::adapter::redb_state`]) in redb files of its own, and talks to the others over
//! TCP ([`crate::adapter::tcp`]). openraft does the consensus.
//!
//! - [`protocol`]: what clients send a replica and what it answers (length-prefixed JSON frames, as between
//!   replicas).
//! - [`replica`]: one replica process: its files, its Raft node, its listeners (peers, clients, and in test mode
//!   an inspection port that serves its whole state).
//! - [`remote`]: a client's view of the fleet: finds the leader, retries under the same idempotency key, gives up
//!   at a deadline with a typed error.
//! - [`processes`]: starts, SIGKILLs and restarts replica processes; kills every one it started when dropped.
//!
//! Included by the `cluster` example and by `tests/cluster.rs` (with `#[path]`); both run replicas as their own
//! executable started again with [`replica::REPLICA_ENV`] set.

pub(crate) mod processes;
pub(crate) mod protocol;
pub(crate) mod remote;
pub(crate) mod replica;
