//! Key-transparency verification for clients, monitors and auditors of an Auditable Key Directory (AKD).
//!
//! * [`DirectoryVerifier`] ([`WhatsAppDirectoryVerifier`] for WhatsApp's configuration): akd lookup and
//!   key-history proofs against a witnessed root ([`VerifiedRoot`]), or against a root the caller vouches for
//!   ([`UnwitnessedRoot`]), for WhatsApp's akd configuration or any other `akd_core` configuration type.
//! * [`WitnessVerifier`]: Cloudflare Plexi witness signatures over epoch roots (Ed25519, strict), key selection
//!   by key id with `not_before`, [`Freshness`] against the caller's clock (24 hours by default).
//! * [`Monitor`]: per-namespace checkpoints that reject rollbacks, unaudited gaps and forks (with evidence).
//! * `ChainAuditor` (feature `auditor`; `WhatsAppChainAuditor` for WhatsApp's configuration): append-only audit
//!   proofs blob by blob, with WhatsApp's blob names and a check that consecutive blobs form one chain.
//! * [`SecurityCode`]: the 60-digit numeric security code and its QR payload.
//!
//! The library is sans-IO: time is always a parameter, and nothing reads a clock, a file or the network.
//! SPEC.md beside this crate lists what each check guarantees and which attacks it stops.
//!
//! # Example: a client checks a contact's key
//!
//! The client ships with the witness's public key and the directory's VRF public key. The server sends a
//! witness-signed root and a lookup proof for the contact's key; the client checks the root's signature and
//! freshness, then the proof against that root, and shows the security code the two users can compare. (The server
//! side is built here with akd 0.13 in memory; a real client receives the two byte strings over the network.)
//!
//! ```
//! use akd::{AkdLabel, AkdValue};
//! use ed25519_dalek::{Signer, SigningKey};
//! use kt_verify::{Ciphersuite, SecurityCode, SignedRoot, WhatsAppDirectoryVerifier, WitnessKey, WitnessVerifier};
//! use protobuf::Message;
//!
//! let alice_key = [0xa1; 33];
//! let bob_key = [0xb0; 33];
//! let now_ms = 1_800_000_000_000;
//!
//! // --- The server: a directory holding Bob's identity key, and a lookup proof for it. ---
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let (vrf_public_key, epoch_hash, lookup) = runtime.block_on(async {
//!     let storage = akd::storage::StorageManager::new_no_cache(akd::storage::memory::AsyncInMemoryDatabase::new());
//!     let config = akd::AzksParallelismConfig::disabled();
//!     let akd = akd::Directory::<akd::WhatsAppV1Configuration, _, _>::new(storage, akd::ecvrf::HardCodedAkdVRF {}, config)
//!         .await?;
//!     akd.publish(vec![
//!         (AkdLabel::from("alice"), AkdValue(alice_key.to_vec())),
//!         (AkdLabel::from("bob"), AkdValue(bob_key.to_vec())),
//!     ])
//!     .await?;
//!     let (lookup, epoch_hash) = akd.lookup(AkdLabel::from("bob")).await?;
//!     let vrf_public_key = akd.get_public_key().await?.as_bytes().to_vec();
//!     Ok::<_, akd::errors::AkdError>((vrf_public_key, epoch_hash, lookup))
//! })?;
//! let lookup_proof = akd::proto::specs::types::LookupProof::from(&lookup).write_to_bytes()?;
//!
//! // --- The witness signs the epoch root (Plexi format); the server forwards it. ---
//! let witness = SigningKey::from_bytes(&[7; 32]);
//! let key_id = witness.verifying_key().to_bytes()[31];
//! let (epoch, digest) = (epoch_hash.epoch(), epoch_hash.hash());
//! let suite = Ciphersuite::ProtobufEd25519;
//! let unsigned = SignedRoot::new(suite, "kt.example", now_ms, epoch, digest, [0; 64], key_id);
//! let signature = witness.sign(&unsigned.signed_message()).to_bytes();
//! let signed_root = SignedRoot::new(suite, "kt.example", now_ms, epoch, digest, signature, key_id).to_protobuf();
//!
//! // --- The client. ---
//! // Configuration it ships with: the witness key (trusted from time 0 here) and the directory's VRF key.
//! let witness_key = WitnessKey::new(witness.verifying_key().to_bytes(), 0)?;
//! let witnesses = WitnessVerifier::for_namespace("kt.example", [witness_key])?;
//! let directory = WhatsAppDirectoryVerifier::new(&vrf_public_key)?;
//!
//! // 1. The root: signed by a trusted witness, for this namespace, at most 24 hours old (the default freshness).
//! let root = witnesses.verify(&SignedRoot::from_protobuf(&signed_root)?, now_ms + 5_000)?;
//! // 2. Bob's key, proven to be the current value of "bob" in the directory at that root.
//! let bob = directory.verify_lookup(&root, b"bob", &lookup_proof)?;
//! assert_eq!((bob.epoch(), bob.version(), bob.value()), (1, 1, &bob_key[..]));
//! // A proof for someone else's label does not pass as Bob's.
//! assert!(directory.verify_lookup(&root, b"mallory", &lookup_proof).is_err());
//!
//! // 3. The security code, for users who compare keys themselves: both sides compute the same 60 digits.
//! let on_alices_phone = SecurityCode::new(2, b"alice", &alice_key, b"bob", bob.value());
//! let on_bobs_phone = SecurityCode::new(2, b"bob", &bob_key, b"alice", &alice_key);
//! assert_eq!(on_alices_phone.digits(), on_bobs_phone.digits());
//! assert_eq!(on_alices_phone.matches_qr_payload(&on_bobs_phone.qr_payload()), Ok(true));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! To check a proof against a root the caller already trusts by its own means (a pinned checkpoint, its own
//! monitor's state, a test vector) rather than a witness-signed one, see [`UnwitnessedRoot::trusted_by_caller`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "auditor")]
mod append_only;
#[cfg(feature = "auditor")]
mod auditor;
mod client;
mod error;
mod monitor;
mod proto;
#[cfg(feature = "auditor")]
mod refusal;
mod root;
mod security_code;
mod strict;
mod witness;

#[cfg(feature = "auditor")]
pub use auditor::{AuditBlobName, AuditError, AuditedChain, BlobNameError, ChainAuditor, WhatsAppChainAuditor};
pub use client::{DirectoryVerifier, HistoryScope, KeyVersion, ProofError, ProofFailure, WhatsAppDirectoryVerifier};
pub use error::{DecodeError, SecurityCodeError, WitnessError};
pub use monitor::{ForkEvidence, Monitor, MonitorError, Observation};
pub use root::{ProofRoot, UnwitnessedRoot};
pub use security_code::{ITERATIONS, SecurityCode};
pub use witness::{Ciphersuite, Digest, Freshness, SignedRoot, VerifiedRoot, WitnessKey, WitnessVerifier};

/// The akd_core release this crate verifies with, re-exported so that callers name the same proof and
/// configuration types.
pub use akd_core;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
