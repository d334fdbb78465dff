//! The backup key vault as a deterministic, storage-agnostic state machine.
//!
//! This crate will hold vault records, attempt counters, lockout, registration challenges, response signing,
//! island routing, the storage trait with an in-memory store, and the replication adapter. It is empty until its
//! issue lands.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
