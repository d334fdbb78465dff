//! Key-transparency verification for clients, monitors and auditors of an Auditable Key Directory (AKD).
//!
//! * [`DirectoryVerifier`]: akd lookup and key-history proofs against a witnessed root, for WhatsApp's akd
//!   configuration or any other `akd_core` configuration type.
//! * [`WitnessVerifier`]: Cloudflare Plexi witness signatures over epoch roots (Ed25519, strict), key selection
//!   by key id with `not_before`, freshness against the caller's clock.
//! * [`Monitor`]: per-namespace checkpoints that reject rollbacks, unaudited gaps and forks (with evidence).
//! * `ChainAuditor` (feature `auditor`): append-only audit proofs blob by blob, with WhatsApp's blob names and
//!   a check that consecutive blobs form one chain.
//! * [`SecurityCode`]: the 60-digit numeric security code and its QR payload.
//!
//! The library is sans-IO: time is always a parameter, and nothing reads a clock, a file or the network.
//! SPEC.md beside this crate lists what each check guarantees and which attacks it stops.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "auditor")]
mod auditor;
mod client;
mod error;
mod monitor;
mod proto;
mod security_code;
mod witness;

#[cfg(feature = "auditor")]
pub use auditor::{AuditBlobName, AuditError, AuditedChain, BlobNameError, ChainAuditor};
pub use client::{DirectoryVerifier, HistoryScope, KeyVersion, ProofError, ProofFailure};
pub use error::{DecodeError, SecurityCodeError, WitnessError};
pub use monitor::{ForkEvidence, Monitor, MonitorError, Observation};
pub use security_code::{ITERATIONS, SecurityCode};
pub use witness::{Ciphersuite, Digest, SignedRoot, VerifiedRoot, WitnessKey, WitnessVerifier};

/// The akd_core release this crate verifies with, re-exported so that callers name the same proof and
/// configuration types.
pub use akd_core;
