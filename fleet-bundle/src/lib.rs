//! Over-the-air fleet validation bundles and binary-transparency verification.
//!
//! A vault fleet publishes its public keys, each with a [`Role`], in a **validation bundle**. A third-party
//! witness signs the bundle; the operator then counter-signs it, the counter-signature covering the witness
//! signature. A client that pins the fleet identifier and the witness and operator keys checks, with
//! [`BundleVerifier::verify`], both signatures, that the bundle is within its validity window at the caller's
//! time, and that the epoch does not roll back; then [`VerifiedBundle::approves`] tells it whether the vault that
//! answered holds an approved key in the expected role, at the caller's time.
//!
//! For binary transparency, each epoch's **deployment record** logs the SHA-256 of a JSON fleet-key artifact and
//! is signed the same way. [`DeploymentVerifier::verify`] checks the digest, both signatures and the artifact;
//! [`DeploymentMonitor`] follows the log epoch by epoch and [`diff`]s consecutive key sets.
//!
//! The crate is sans-IO: it reads no clock, file or network. Time is the caller's [`UnixSeconds`]; Ed25519 signing
//! is deterministic, so no randomness is needed either. Every parser is total: any input yields a value or a typed
//! error, never a panic. Only strict Ed25519 is accepted: small-order and non-canonical keys and non-canonical
//! signatures are rejected. The byte layouts, signature contexts ([`context`]) and verification order are in
//! `SPEC.md`.
//!
//! # Example
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use fleet_bundle::*;
//!
//! // The fleet's keys for this epoch.
//! let vault = SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes();
//! let keys = KeySet::new([
//!     FleetKey::new(vault, Role::ResponseSigning)?,
//!     FleetKey::new([0x22; 32], Role::OpaqueServer)?,
//!     FleetKey::new([0x33; 32], Role::IplsSession)?,
//! ])?;
//! let bundle = Bundle::new(
//!     FleetId::new("fleet-a")?,
//!     42,
//!     ValidityWindow::new(UnixSeconds(1_700_000_000), UnixSeconds(1_700_604_800))?,
//!     keys,
//! );
//!
//! // The witness signs; the operator checks that signature and counter-signs it.
//! let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
//! let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
//! let witness_signature = witness.sign_bundle(&bundle);
//! let wire: Vec<u8> = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
//!
//! // A client with pinned anchors verifies what it received and checks the vault that answered.
//! let anchors = TrustAnchors::new(
//!     FleetId::new("fleet-a")?,
//!     witness.verifying_key().as_bytes(),
//!     operator.verifying_key().as_bytes(),
//! )?;
//! let verified = BundleVerifier::new(anchors).verify(&wire, UnixSeconds(1_700_000_100), None)?;
//! let now = UnixSeconds(1_700_000_100);
//! assert!(verified.approves(&vault, Role::ResponseSigning, now));
//! assert!(!verified.approves(&vault, Role::OpaqueServer, now));
//! // The answer depends on the time: an expired bundle approves nothing.
//! assert!(!verified.approves(&vault, Role::ResponseSigning, UnixSeconds(1_700_604_800)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod anchor;
mod artifact;
mod bundle;
mod codec;
pub mod context;
mod deployment;
mod diff;
mod envelope;
mod error;
mod fleet_id;
mod key;
mod key_set;
mod role;
mod sign;
mod strict;
mod validity;
mod verify;

pub use anchor::{Party, TrustAnchors};
pub use artifact::FleetKeyArtifact;
pub use bundle::{Bundle, SignedBundle};
pub use deployment::{
    DeploymentMonitor, DeploymentRecord, DeploymentVerifier, EpochReport, SignedDeploymentRecord, VerifiedDeployment,
};
pub use diff::{KeySetDiff, RoleChange, diff};
pub use error::{
    AnchorError, ArtifactError, CountersignError, DecodeError, DeploymentError, FleetIdError, JsonErrorKind, KeyError,
    KeySetError, MonitorError, ResponderError, ValidityError, VerifyError,
};
pub use fleet_id::FleetId;
pub use key::FleetKey;
pub use key_set::KeySet;
pub use role::Role;
pub use sign::{OperatorSigner, WitnessSignature, WitnessSigner};
pub use validity::{UnixSeconds, ValidityWindow};
pub use verify::{AcceptedEpoch, BundleVerifier, VerifiedBundle};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
