//! Sealing contact records.
//!
//! ```text
//! account key = HKDF-SHA256(salt absent, ikm = CK, info = CONTACT_KEY_INFO || len8(account) || account, 32)
//! aad         = CONTACT_AAD || version || len8(account) || account || len8(contact) || contact
//! sealed      = version (0x01) || type (0x71) || nonce (12, random) || AES-256-GCM(account key, nonce, aad, record)
//! ```
//!
//! Nonces are random: with 96-bit random nonces under one key, NIST SP 800-38D bounds the number of seals to
//! 2^32 per key ([`SEALS_PER_KEY_LIMIT`]) for a collision probability below 2^-32. One key serves one account's
//! list; a contact list re-sealed on every edit stays many orders of magnitude below the bound. The account is in
//! the key derivation and in the AAD, the contact id in the AAD, so a record moved to another contact or account
//! does not open.

use alloc::vec::Vec;
use core::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::codec::{self, VERSION};
use crate::error::Error;
use crate::ids::{AccountId, ContactId};
use crate::key::ContactKey;

/// The type byte of a sealed contact record.
const SEALED_CONTACT: u8 = 0x71;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 2 + NONCE_LEN;

/// HKDF-SHA256 `info` prefix of an account's sealing key (followed by the length-prefixed account id).
pub const CONTACT_KEY_INFO: &[u8] = b"ipls/v1/contact-key";
/// AES-GCM associated-data label of a contact record.
pub const CONTACT_AAD: &[u8] = b"ipls/v1/contact";
/// Bytes a sealed record adds to its plaintext: version, type, nonce and tag.
pub const SEAL_OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Seals one account key may make with random nonces (NIST SP 800-38D, section 8.3).
pub const SEALS_PER_KEY_LIMIT: u64 = 1 << 32;

/// Seals and opens the contact records of one account. Holds the account's derived key (zeroized on drop).
pub struct ContactSealer {
    aead: Aes256Gcm,
    account: AccountId,
    /// `CONTACT_AAD || version || len8(account) || account`: the part of every record's AAD that is the same.
    aad_prefix: Vec<u8>,
}

/// AADs up to this length (label, version, and the two ids, together up to 110 bytes: every id of ordinary
/// length) are built on the stack; longer ones on the heap. A buffer for the longest possible AAD (528 bytes)
/// would cost more to clear than a whole seal of a short record spends in GHASH.
const INLINE_AAD: usize = 128;

impl ContactSealer {
    /// Derives the account's sealing key from CK.
    ///
    /// # Panics
    ///
    /// Never: the HKDF output length is fixed and valid.
    pub fn new(key: &ContactKey, account: &AccountId) -> Self {
        let mut info = Vec::with_capacity(CONTACT_KEY_INFO.len() + 256);
        info.extend_from_slice(CONTACT_KEY_INFO);
        codec::put_len8(&mut info, account.as_bytes());
        let mut account_key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, key.expose_secret())
            .expand(&info, account_key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let mut aad_prefix = Vec::with_capacity(CONTACT_AAD.len() + 1 + 256);
        aad_prefix.extend_from_slice(CONTACT_AAD);
        aad_prefix.push(VERSION);
        codec::put_len8(&mut aad_prefix, account.as_bytes());
        Self {
            aead: Aes256Gcm::new(account_key.as_ref().into()),
            account: account.clone(),
            aad_prefix,
        }
    }

    /// The account this sealer is for.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// Runs `f` on the record's AAD, `aad_prefix || len8(contact) || contact`: built on the stack when it fits in
    /// [`INLINE_AAD`] bytes (no allocation per record), on the heap otherwise.
    fn with_aad<T>(&self, contact: &ContactId, f: impl FnOnce(&[u8]) -> T) -> T {
        let prefix = self.aad_prefix.len();
        let id = contact.as_bytes();
        let len = prefix + 1 + id.len();
        let fill = |aad: &mut [u8]| {
            aad[..prefix].copy_from_slice(&self.aad_prefix);
            // Ids are 1 to 255 bytes by construction.
            aad[prefix] = id.len() as u8;
            aad[prefix + 1..].copy_from_slice(id);
        };
        if len <= INLINE_AAD {
            let mut aad = [0u8; INLINE_AAD];
            fill(&mut aad[..len]);
            f(&aad[..len])
        } else {
            let mut aad = alloc::vec![0u8; len];
            fill(&mut aad);
            f(&aad)
        }
    }

    /// Seals one record (any bytes: for example a serialized contact) for `contact`, with a nonce from `rng`.
    ///
    /// # Panics
    ///
    /// If `record` is longer than AES-GCM allows (about 64 GiB).
    pub fn seal<R: CryptoRng + RngCore>(&self, rng: &mut R, contact: &ContactId, record: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(record.len() + SEAL_OVERHEAD);
        out.push(VERSION);
        out.push(SEALED_CONTACT);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(record);
        let tag = self
            .with_aad(contact, |aad| {
                self.aead
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[HEADER_LEN..])
            })
            .expect("contact records are far below AES-GCM's length limit");
        out.extend_from_slice(&tag);
        out
    }

    /// Opens a record sealed for `contact` of this account. Any input gives the record or a typed error.
    pub fn open(&self, contact: &ContactId, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(Error::Truncated);
        }
        codec::check_version(sealed[0])?;
        if sealed[1] != SEALED_CONTACT {
            return Err(Error::WrongType { found: sealed[1] });
        }
        let (nonce, rest) = sealed[2..].split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut record = Zeroizing::new(body.to_vec());
        self.with_aad(contact, |aad| {
            self.aead
                .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut record, Tag::from_slice(tag))
        })
        .map_err(|_| Error::Rejected)?;
        Ok(record)
    }
}

impl fmt::Debug for ContactSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactSealer")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}
