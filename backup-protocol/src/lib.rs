//! The backup key-wrap protocol: end-to-end encrypted backups whose 256-bit key K is escrowed in an HSM vault
//! fleet under the user's password with OPAQUE, so that neither the vault nor the storage provider can read the
//! backup and the vault can bound password guessing.
//!
//! Both halves are here, sans I/O: the client ([`ClientRegistration`], [`ClientLogin`], [`PendingKeyRelease`])
//! and the vault ([`PendingRegistration`], [`VaultLoginState`], [`BackupRecord`]). Storage, attempt counting,
//! challenge expiry and transport belong to the caller (the `vault-core` crate for the vault). Randomness comes in
//! as a `CryptoRng` argument; nothing reads a clock.
//!
//! The flow (SPEC.md has the byte layouts):
//!
//! ```text
//! client                                                      vault
//! ClientRegistration::start  -- RegistrationRequest -->      PendingRegistration::start
//!                            <-- RegistrationResponse --     (OPRF evaluation, challenge OPAQUE_C, signature)
//! ClientRegistration::finish -- RegistrationUpload -->       PendingRegistration::finish -> BackupRecord
//!   (verify signature and pins, EK = AES-GCM(OPAQUE_K, K))   (the vault stores the record)
//! PendingRegistrationReceipt::verify <-- RegistrationReceipt -- (fleet signature over the stored upload)
//!
//! ClientLogin::start         -- LoginRequest -->             VaultLoginState::start (charges one attempt first)
//!                            <-- LoginResponse --            (OPAQUE KE2, Argon2id parameters, guesses
//!                                                             remaining, signature)
//! ClientLogin::finish        -- LoginFinalization -->        VaultLoginState::finish
//!                            <-- KeyRelease --               (AES-GCM(SHARED_K, challenge || K_NONCE || EK))
//! PendingKeyRelease::open -> K
//! ```
//!
//! ```
//! use backup_protocol::*;
//! let mut rng = backup_protocol::rand_core::OsRng;
//! let keys = VaultKeys::generate(&mut rng);
//! let config = ClientConfig::insecure_fast_for_testing(keys.pins());
//! let user = UserId::new(b"alice".to_vec())?;
//! let key = BackupKey::generate(&mut rng);
//!
//! // Registration.
//! let (client, request) = ClientRegistration::start(&mut rng, &config, user.clone(), b"hunter2")?;
//! let (pending, response) = PendingRegistration::start(&keys, &mut rng, &request)?;
//! let (awaiting, upload) = client.finish(&mut rng, &response, &key)?;
//! let (record, receipt) = pending.finish(&keys, &upload, &KsfPolicy::INSECURE_TESTING)?;
//! awaiting.verify(&receipt)?; // the vault stored exactly this upload
//!
//! // Retrieval on a new device.
//! let (client, request) = ClientLogin::start(&mut rng, &config, user, b"hunter2")?;
//! let (state, response) =
//!     VaultLoginState::start(&keys, &mut rng, Some(&record), &request, || Ok::<u32, ()>(9))
//!         .expect("charged"); // the vault charged one guess and allows 9 more
//! let (pending, finalization) = client.finish(&mut rng, &response)?;
//! let release = state.finish(&mut rng, Some(&record), &finalization)?;
//! assert_eq!(pending.open(&release)?, key);
//! # Ok::<(), Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod client;
pub mod codec;
mod error;
#[cfg(feature = "hazmat")]
pub mod hazmat;
mod key;
pub mod labels;
mod messages;
mod recovery_key;
mod stream;
#[cfg(feature = "std")]
mod stream_io;
mod suite;
mod transcript;
mod vault;
mod vault_keys;
mod wrap;

pub use client::{
    ClientConfig, ClientLogin, ClientRegistration, PendingDeletionReceipt, PendingKeyRelease,
    PendingRegistrationReceipt,
};
pub use codec::PROTOCOL_VERSION;
pub use error::{DecodeError, Error, RecoveryKeyError, StreamError};
pub use key::{BackupKey, UserId};
pub use messages::{
    DeletionReceipt, KeyRelease, LoginFinalization, LoginPurpose, LoginRequest, LoginResponse, RegistrationReceipt,
    RegistrationRequest, RegistrationResponse, RegistrationUpload,
};
pub use recovery_key::{RECOVERY_KEY_DIGITS, RecoveryKey};
pub use stream::{
    HEADER_LEN, SALT_LEN, SEGMENT_SIZE, SegmentDecryptor, SegmentEncryptor, StreamDecryptor, StreamEncryptor,
};
#[cfg(feature = "std")]
pub use stream_io::{DecryptingReader, EncryptingWriter};
pub use suite::{KsfParams, KsfPolicy, Suite};
pub use vault::{BackupRecord, LoginStartError, PendingRegistration, VaultLoginState};
pub use vault_keys::{OPAQUE_PUBLIC_KEY_LEN, VaultKeys, VaultPins};
pub use wrap::{CHALLENGE_LEN, NONCE_LEN};

/// The `rand_core` generation of this crate's random-number parameters (`CryptoRng + RngCore`), re-exported so that
/// callers need not match it with their own `rand`: `backup_protocol::rand_core::OsRng` (feature `std`) works
/// whichever `rand` the application uses.
pub use rand_core;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
