//! Identity Proof Linked Storage (IPLS): contact lists stored by a server that cannot read them.
//!
//! Each account has a 256-bit contact key CK, made on the device. Every contact record is sealed under a key
//! derived from CK for that account, with AES-256-GCM whose associated data binds the format version, the account
//! and the contact id: the server stores the sealed records, but cannot read them, and cannot move a record to
//! another contact or another account without the open failing.
//!
//! This release holds the sealing ([`ContactSealer`]). The escrow of CK in the vault (released to a new device of
//! the same account after it proves the account key, with key transparency) is not part of it yet.
//!
//! ```
//! use ipls::{AccountId, ContactId, ContactKey, ContactSealer};
//! let mut rng = rand::rngs::OsRng;
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

mod error;
mod ids;
mod key;
mod seal;

pub use error::Error;
pub use ids::{AccountId, ContactId};
pub use key::ContactKey;
pub use seal::{CONTACT_AAD, CONTACT_KEY_INFO, ContactSealer, SEAL_OVERHEAD, SEALS_PER_KEY_LIMIT};
