//! The escrow session's key schedule and transcript, shared by the device and the vault.
//!
//! ```text
//! dh_s      = X25519(client ephemeral secret, vault IPLS key) = X25519(vault IPLS secret, client key share)
//! dh_e      = X25519(client ephemeral secret, vault key share) = X25519(vault ephemeral secret, client key share)
//! k_c2v || k_v2c = HKDF-SHA256(salt absent, ikm = dh_s || dh_e, info = SESSION_KEYS_INFO || hello || challenge body, 64)
//! th        = SHA-256(TRANSCRIPT_LABEL || hello || challenge body)
//! confirm   = AES-256-GCM(k_v2c, nonce 0, aad = CONFIRM_AAD || th, empty)          (the tag)
//! signature = Ed25519(account key, AUTH_CONTEXT || th)
//! auth      = AES-256-GCM(k_c2v, nonce 0, aad = AUTH_AAD || th, payload)
//! th_reply  = SHA-256(TRANSCRIPT_LABEL || th || auth message)
//! reply     = AES-256-GCM(k_v2c, nonce 1, aad = REPLY_AAD || th_reply, CK or empty)
//! ```
//!
//! Each direction has its own key, and each (key, nonce) pair is used once: the vault-to-device key seals the
//! confirmation with nonce 0 and the reply with nonce 1, the device-to-vault key seals the one auth message with
//! nonce 0. Both sides' fresh X25519 shares are in the key schedule, so no key serves two sessions: a hello
//! replayed to the vault gets a new vault share and new keys (with the client's share alone, every challenge
//! answering one hello would seal its confirmation under the same key and nonce, and AES-GCM would leak its
//! authentication key). `dh_s` authenticates the vault; `dh_e` also keeps recorded sessions secret if the IPLS
//! key leaks after the vault has forgotten its ephemeral secret.

use alloc::vec::Vec;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::messages::{EscrowChallenge, TAG_LEN};

/// HKDF-SHA256 `info` prefix of the session keys (followed by the hello message).
pub const SESSION_KEYS_INFO: &[u8] = b"ipls/v1/escrow-session-keys";
/// Prefix of every transcript hash.
pub const TRANSCRIPT_LABEL: &[u8] = b"ipls/v1/escrow-transcript";
/// AES-GCM associated-data label of the vault's key confirmation.
pub const CONFIRM_AAD: &[u8] = b"ipls/v1/escrow-confirm";
/// AES-GCM associated-data label of the device's auth payload.
pub const AUTH_AAD: &[u8] = b"ipls/v1/escrow-auth";
/// AES-GCM associated-data label of the vault's reply.
pub const REPLY_AAD: &[u8] = b"ipls/v1/escrow-reply";
/// Ed25519 context prefix of the account's signature over the transcript.
pub const AUTH_CONTEXT: &[u8] = b"ipls/v1/escrow-account-signature";

const NONCE_FIRST: [u8; 12] = [0; 12];
const NONCE_SECOND: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// X25519 with the contributory check: an all-zero output means the peer's share has small order, and a session
/// keyed by it would be known to anyone.
pub(crate) fn diffie_hellman(secret: &[u8; 32], public: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, Error> {
    let shared = Zeroizing::new(MontgomeryPoint(*public).mul_clamped(*secret).to_bytes());
    if bool::from(shared.ct_eq(&[0u8; 32])) {
        return Err(Error::WeakKeyShare);
    }
    Ok(shared)
}

/// The two directions' AEADs of one session (their key schedules are zeroized on drop by aes-gcm's `zeroize`).
pub(crate) struct SessionKeys {
    to_vault: Aes256Gcm,
    to_device: Aes256Gcm,
}

impl SessionKeys {
    /// The keys from the two shared secrets, the hello and the challenge body.
    pub(crate) fn derive(
        static_shared: &[u8; 32],
        ephemeral_shared: &[u8; 32],
        hello: &[u8],
        challenge: &EscrowChallenge,
    ) -> Self {
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(static_shared);
        ikm[32..].copy_from_slice(ephemeral_shared);
        let body = challenge.body();
        let mut info = Vec::with_capacity(SESSION_KEYS_INFO.len() + hello.len() + body.len());
        info.extend_from_slice(SESSION_KEYS_INFO);
        info.extend_from_slice(hello);
        info.extend_from_slice(&body);
        let mut okm = Zeroizing::new([0u8; 64]);
        Hkdf::<Sha256>::new(None, ikm.as_ref())
            .expand(&info, okm.as_mut())
            .expect("64 bytes is a valid HKDF-SHA256 output length");
        Self {
            to_vault: Aes256Gcm::new(okm[..32].into()),
            to_device: Aes256Gcm::new(okm[32..].into()),
        }
    }

    /// The vault's key confirmation over the transcript.
    pub(crate) fn confirmation(&self, th: &[u8; 32]) -> [u8; TAG_LEN] {
        let tag = self
            .to_device
            .encrypt_in_place_detached(Nonce::from_slice(&NONCE_FIRST), &aad(CONFIRM_AAD, th), &mut [])
            .expect("an empty message is within AES-GCM's limits");
        tag.into()
    }

    /// Checks the vault's key confirmation (constant time, inside AES-GCM's tag check).
    pub(crate) fn check_confirmation(&self, th: &[u8; 32], tag: &[u8; TAG_LEN]) -> Result<(), Error> {
        self.to_device
            .decrypt_in_place_detached(
                Nonce::from_slice(&NONCE_FIRST),
                &aad(CONFIRM_AAD, th),
                &mut [],
                Tag::from_slice(tag),
            )
            .map_err(|_| Error::VaultNotAuthenticated)
    }

    pub(crate) fn seal_auth(&self, th: &[u8; 32], payload: &[u8]) -> Vec<u8> {
        seal(&self.to_vault, &NONCE_FIRST, &aad(AUTH_AAD, th), payload)
    }

    pub(crate) fn open_auth(&self, th: &[u8; 32], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        open(&self.to_vault, &NONCE_FIRST, &aad(AUTH_AAD, th), ciphertext).ok_or(Error::Rejected)
    }

    pub(crate) fn seal_reply(&self, th_reply: &[u8; 32], payload: &[u8]) -> Vec<u8> {
        seal(&self.to_device, &NONCE_SECOND, &aad(REPLY_AAD, th_reply), payload)
    }

    pub(crate) fn open_reply(&self, th_reply: &[u8; 32], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        open(&self.to_device, &NONCE_SECOND, &aad(REPLY_AAD, th_reply), ciphertext).ok_or(Error::VaultNotAuthenticated)
    }
}

/// `th = SHA-256(TRANSCRIPT_LABEL || hello || challenge body)`.
pub(crate) fn transcript(hello: &[u8], challenge: &EscrowChallenge) -> [u8; 32] {
    Sha256::new()
        .chain_update(TRANSCRIPT_LABEL)
        .chain_update(hello)
        .chain_update(challenge.body())
        .finalize()
        .into()
}

/// `th_reply = SHA-256(TRANSCRIPT_LABEL || th || auth message)`.
pub(crate) fn reply_transcript(th: &[u8; 32], auth: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(TRANSCRIPT_LABEL)
        .chain_update(th)
        .chain_update(auth)
        .finalize()
        .into()
}

/// `AUTH_CONTEXT || th`: what the account key signs.
pub(crate) fn signed_message(th: &[u8; 32]) -> Vec<u8> {
    aad(AUTH_CONTEXT, th)
}

fn aad(label: &[u8], hash: &[u8; 32]) -> Vec<u8> {
    [label, hash.as_slice()].concat()
}

fn seal(cipher: &Aes256Gcm, nonce: &[u8; 12], aad: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + TAG_LEN);
    out.extend_from_slice(payload);
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut out)
        .expect("escrow payloads are far below AES-GCM's length limit");
    out.extend_from_slice(&tag);
    out
}

fn open(cipher: &Aes256Gcm, nonce: &[u8; 12], aad: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let split = ciphertext.len().checked_sub(TAG_LEN)?;
    let (body, tag) = ciphertext.split_at(split);
    let mut plaintext = Zeroizing::new(body.to_vec());
    cipher
        .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut plaintext, Tag::from_slice(tag))
        .ok()?;
    Some(plaintext)
}
