//! The two AEAD layers around K.
//!
//! - EK = AES-256-GCM(OPAQUE_K, K_NONCE, K, aad = wrap AAD): made at registration, stored by the vault, opened
//!   only by a client that knows the password (OPAQUE_K comes from the OPAQUE export key).
//! - The key release = AES-256-GCM(SHARED_K, nonce, challenge || K_NONCE || EK, aad = release AAD): made by the
//!   vault after a successful login, under a key from that login's session key, so only the authenticated client
//!   receives EK.

use alloc::vec::Vec;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::codec::{PROTOCOL_VERSION, Reader, put_short_vec};
use crate::error::{DecodeError, Error};
use crate::key::{BackupKey, UserId};
use crate::labels::{
    DELETED_K_INFO, DELETION_RECEIPT_MAC, KEY_RELEASE_AAD, OPAQUE_K_INFO, SHARED_K_INFO, WRAPPED_KEY_AAD,
};

/// Length of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;
/// Length of a registration challenge.
pub const CHALLENGE_LEN: usize = 32;
/// Length of EK: K and its tag.
pub(crate) const EK_LEN: usize = BackupKey::LEN + TAG_LEN;
/// Length of an encoded [`WrappedKey`]: challenge, K_NONCE, EK.
pub(crate) const WRAPPED_KEY_LEN: usize = CHALLENGE_LEN + NONCE_LEN + EK_LEN;
/// Length of the sealed key release: the encoded [`WrappedKey`] and its tag.
pub(crate) const RELEASE_LEN: usize = WRAPPED_KEY_LEN + TAG_LEN;
/// Length of the deletion receipt's HMAC-SHA256 tag.
pub(crate) const RECEIPT_TAG_LEN: usize = 32;

/// A 256-bit AES-GCM key derived by HKDF; zeroized on drop.
pub(crate) type DerivedKey = Zeroizing<[u8; 32]>;

/// EK together with what opens it: the registration challenge bound into its AAD and K_NONCE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WrappedKey {
    pub(crate) challenge: [u8; CHALLENGE_LEN],
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) ciphertext: [u8; EK_LEN],
}

impl WrappedKey {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.challenge);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            challenge: reader.array()?,
            nonce: reader.array()?,
            ciphertext: reader.array()?,
        })
    }
}

/// HKDF-SHA256 with an empty salt.
fn derive(ikm: &[u8], info: &[u8]) -> DerivedKey {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, ikm)
        .expand(info, key.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

/// OPAQUE_K = HKDF-SHA256(ikm = export_key, info = [`OPAQUE_K_INFO`]).
pub(crate) fn opaque_k(export_key: &[u8]) -> DerivedKey {
    derive(export_key, OPAQUE_K_INFO)
}

/// SHARED_K = HKDF-SHA256(ikm = session_key, info = [`SHARED_K_INFO`]).
pub(crate) fn shared_k(session_key: &[u8]) -> DerivedKey {
    derive(session_key, SHARED_K_INFO)
}

/// DELETED_K = HKDF-SHA256(ikm = session_key, info = [`DELETED_K_INFO`]).
pub(crate) fn deleted_k(session_key: &[u8]) -> DerivedKey {
    derive(session_key, DELETED_K_INFO)
}

/// The deletion receipt's tag: HMAC-SHA256(DELETED_K, [`DELETION_RECEIPT_MAC`] || version || len(user_id) ||
/// user_id).
pub(crate) fn deletion_tag(deleted_k: &DerivedKey, user_id: &UserId) -> [u8; RECEIPT_TAG_LEN] {
    deletion_mac(deleted_k, user_id).finalize().into_bytes().into()
}

/// Checks a deletion receipt's tag in constant time.
pub(crate) fn verify_deletion_tag(
    deleted_k: &DerivedKey,
    user_id: &UserId,
    tag: &[u8; RECEIPT_TAG_LEN],
) -> Result<(), Error> {
    deletion_mac(deleted_k, user_id)
        .verify_slice(tag)
        .map_err(|_| Error::ReceiptRejected)
}

fn deletion_mac(deleted_k: &DerivedKey, user_id: &UserId) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(deleted_k.as_ref()).expect("HMAC takes keys of any length");
    mac.update(&aad(DELETION_RECEIPT_MAC, user_id, &[]));
    mac
}

/// `label || version || len(user_id) || user_id || extra`.
fn aad(label: &[u8], user_id: &UserId, extra: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(label.len() + 2 + user_id.as_bytes().len() + extra.len());
    aad.extend_from_slice(label);
    aad.push(PROTOCOL_VERSION);
    put_short_vec(&mut aad, user_id.as_bytes());
    aad.extend_from_slice(extra);
    aad
}

fn seal<const N: usize>(key: &DerivedKey, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let (body, tag) = out.split_at_mut(N - TAG_LEN);
    body.copy_from_slice(plaintext);
    let computed = Aes256Gcm::new(key.as_ref().into())
        .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, body)
        .expect("short plaintexts are within AES-GCM limits");
    tag.copy_from_slice(&computed);
    out
}

/// Opens `ciphertext || tag`; the plaintext buffer is zeroized on drop.
fn open<const N: usize>(
    key: &DerivedKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<[u8; N]>> {
    let (body, tag) = sealed.split_at(sealed.len().checked_sub(TAG_LEN)?);
    let mut plaintext = Zeroizing::new([0u8; N]);
    if body.len() != N {
        return None;
    }
    plaintext.copy_from_slice(body);
    Aes256Gcm::new(key.as_ref().into())
        .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, plaintext.as_mut(), Tag::from_slice(tag))
        .ok()?;
    Some(plaintext)
}

/// The AAD of EK: [`WRAPPED_KEY_AAD`] || version || user id || challenge.
pub(crate) fn wrapped_key_aad(user_id: &UserId, challenge: &[u8; CHALLENGE_LEN]) -> Vec<u8> {
    aad(WRAPPED_KEY_AAD, user_id, challenge)
}

/// The AAD of the key release: [`KEY_RELEASE_AAD`] || version || user id.
pub(crate) fn key_release_aad(user_id: &UserId) -> Vec<u8> {
    aad(KEY_RELEASE_AAD, user_id, &[])
}

/// EK = AES-256-GCM(OPAQUE_K, K_NONCE, K, aad = [`wrapped_key_aad`]).
pub(crate) fn wrap(
    opaque_k: &DerivedKey,
    user_id: &UserId,
    challenge: [u8; CHALLENGE_LEN],
    nonce: [u8; NONCE_LEN],
    key: &BackupKey,
) -> WrappedKey {
    let aad = wrapped_key_aad(user_id, &challenge);
    WrappedKey {
        challenge,
        nonce,
        ciphertext: seal(opaque_k, &nonce, &aad, key.expose_secret()),
    }
}

/// Recovers K from EK.
pub(crate) fn unwrap(opaque_k: &DerivedKey, user_id: &UserId, wrapped: &WrappedKey) -> Result<BackupKey, Error> {
    let aad = wrapped_key_aad(user_id, &wrapped.challenge);
    let key = open::<{ BackupKey::LEN }>(opaque_k, &wrapped.nonce, &aad, &wrapped.ciphertext)
        .ok_or(Error::WrappedKeyRejected)?;
    Ok(BackupKey::from_bytes(*key))
}

/// The key release: AES-256-GCM(SHARED_K, nonce, challenge || K_NONCE || EK, aad = [`KEY_RELEASE_AAD`] || version
/// || user id).
pub(crate) fn seal_release(
    shared_k: &DerivedKey,
    user_id: &UserId,
    nonce: [u8; NONCE_LEN],
    wrapped: &WrappedKey,
) -> [u8; RELEASE_LEN] {
    let mut plaintext = Vec::with_capacity(WRAPPED_KEY_LEN);
    wrapped.write(&mut plaintext);
    seal(shared_k, &nonce, &key_release_aad(user_id), &plaintext)
}

/// Opens the key release back into EK and what opens it.
pub(crate) fn open_release(
    shared_k: &DerivedKey,
    user_id: &UserId,
    nonce: &[u8; NONCE_LEN],
    sealed: &[u8; RELEASE_LEN],
) -> Result<WrappedKey, Error> {
    let plaintext =
        open::<WRAPPED_KEY_LEN>(shared_k, nonce, &key_release_aad(user_id), sealed).ok_or(Error::KeyReleaseRejected)?;
    let mut reader = Reader::new(plaintext.as_ref());
    let wrapped = WrappedKey::read(&mut reader).map_err(|_| Error::KeyReleaseRejected)?;
    reader.finish().map_err(|_| Error::KeyReleaseRejected)?;
    Ok(wrapped)
}
