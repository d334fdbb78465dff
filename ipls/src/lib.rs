//! Identity Proof Linked Storage (IPLS): contact lists stored by a server that cannot read them.
//!
//! Each account has a 256-bit contact key CK, made on the device. Every contact record is sealed under a key
//! derived from CK for that account, with AES-256-GCM whose associated data binds the format version, the account
//! and the contact id: the server stores the sealed records, but cannot read them, and cannot move a record to
//! another contact or another account without the open failing.
//!
//! CK is escrowed in the vault so that a new device of the same account can get it back:
//!
//! - [`EscrowClient`] (the device) opens a session with the vault: an ephemeral X25519 share against the vault's
//!   IPLS key from the fleet bundle, HKDF-SHA256 session keys, AES-256-GCM, everything bound to a transcript hash.
//!   It authenticates with the account's Ed25519 key by signing the vault's challenge and the transcript, and
//!   sends an [`IdentityProof`]: a witness-signed key-transparency root and the lookup proof of its key.
//! - [`IplsVaultKey`] (the vault) answers with a challenge, a fresh key share of its own and a key confirmation
//!   (keeping a [`PendingEscrow`]), opens the device's answer and checks the signature; the caller (vault-core) verifies the identity proof with kt-verify and stores or
//!   releases CK ([`OpenedEscrow`]).
//!
//! The key belongs to the account, not to a device: any device holding the account's current key (as proven by
//! key transparency) gets CK, and a device holding another account's key gets nothing of it.
//!
//! ```
//! use ipls::{AccountId, ContactId, ContactKey, ContactSealer};
//! let mut rng = ipls::rand_core::OsRng;
//! let key = ContactKey::generate(&mut rng);
//! let account = AccountId::new(b"15551234567@s.whatsapp.net".to_vec())?;
//! let sealer = ContactSealer::new(&key, &account);
//!
//! let contact = ContactId::new(b"contact-0001".to_vec())?;
//! let sealed = sealer.seal(&mut rng, &contact, b"{\"name\":\"Ada Lovelace\"}");
//! assert_eq!(sealer.open(&contact, &sealed)?.as_slice(), b"{\"name\":\"Ada Lovelace\"}");
//! # Ok::<(), ipls::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod client;
mod codec;
mod error;
mod hex;
mod ids;
mod key;
mod messages;
mod seal;
mod session;
mod vault;

pub use client::{AwaitingReply, EscrowClient, EscrowOutcome};
pub use error::Error;
pub use ids::{AccountId, ContactId};
pub use key::ContactKey;
pub use messages::{
    CHALLENGE_LEN, EscrowAuth, EscrowChallenge, EscrowHello, EscrowPurpose, EscrowReply, IdentityProof,
};
pub use seal::{CONTACT_AAD, CONTACT_KEY_INFO, ContactSealer, SEAL_OVERHEAD, SEALS_PER_KEY_LIMIT};
pub use session::{AUTH_AAD, AUTH_CONTEXT, CONFIRM_AAD, REPLY_AAD, SESSION_KEYS_INFO, TRANSCRIPT_LABEL};
pub use vault::{IplsVaultKey, OpenedEscrow, PendingEscrow};

/// The Ed25519 crate whose key types the escrow API takes, re-exported so callers name the same version.
pub use ed25519_dalek;
/// The `rand_core` generation of this crate's random-number parameters, re-exported so that callers need not
/// match it with their own `rand`: `ipls::rand_core::OsRng` (feature `getrandom`, on by default) works whichever
/// `rand` the application uses.
pub use rand_core;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
