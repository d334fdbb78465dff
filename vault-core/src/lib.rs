//! The Backup Key Vault as a deterministic, storage-agnostic state machine.
//!
//! This is the logic that runs inside the HSM fleet of an end-to-end encrypted backup system: it stores each
//! user's OPAQUE record and wrapped backup key ([`backup_protocol`]), charges one attempt per login before
//! answering, destroys a record whose guesses are used up, and releases the wrapped key only to a client that
//! proved the password.
//!
//! - [`Vault::apply`] takes a [`Command`] (a request plus the time and entropy to apply it with) and returns a
//!   [`Response`]. Nothing else goes in: the same command log gives the same state and responses on every replica,
//!   so the vault can run in-process, on one node over any key-value store, or replicated on a consensus log.
//! - State lives behind the [`Store`] trait (versioned reads, compare-and-swap writes); [`MemoryStore`] is the
//!   in-memory implementation, `RedbStore` (feature `redb`) the durable one in a redb file, and
//!   `store::conformance` (feature `conformance`) checks any implementation against the trait's contract.
//! - IPLS: the vault half of the contact-key escrow ([`ipls`]): an account's contact key is stored, and released
//!   to a device that signs the session with the account's current key as proven by key transparency
//!   ([`KeyTransparency`], verified with [`kt_verify`]).
//! - [`FleetKeys`] holds the fleet's secret keys; [`IslandRouter`] splits users between islands.
//!
//! SPEC.md describes the state machine, the record formats and the command log format.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
mod error;
#[cfg(feature = "ipls")]
mod identity;
mod island;
mod keys;
mod memory;
mod principal;
mod records;
pub mod store;
mod vault;

pub use command::{Command, ENTROPY_LEN, Request, Response};
#[cfg(feature = "ipls")]
pub use error::IdentityError;
pub use error::VaultError;
#[cfg(feature = "ipls")]
pub use identity::KeyTransparency;
pub use island::{ISLAND_ROUTING_LABEL, IslandRouter};
pub use keys::FleetKeys;
pub use memory::MemoryStore;
pub use principal::Principal;
pub use records::SESSION_ID_LEN;
#[cfg(feature = "redb")]
pub use store::redb::{BatchError, RedbBatch, RedbStore, RedbStoreError};
pub use store::{Cas, Store, Versioned};
pub use vault::{RecordStatus, Vault, VaultConfig};

/// The `rand_core` generation of this crate's random-number parameters (`FleetKeys::generate`), re-exported so that
/// callers need not match it with their own `rand`: `vault_core::rand_core::OsRng` works whichever `rand` the
/// application uses.
pub use rand_core;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
