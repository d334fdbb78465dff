//! The protocol's building blocks, one by one (feature `hazmat`).
//!
//! For test-vector generation and for checking another implementation step by step. Applications do not need
//! them, and misusing them (reusing a nonce or a stream salt, skipping a check the protocol types make) breaks the
//! guarantees the rest of the crate gives.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::key::{BackupKey, UserId};
use crate::messages::LoginPurpose;
use crate::stream::{self, NONCE_PREFIX_LEN, SALT_LEN, StreamEncryptor};
use crate::suite::KsfParams;
use crate::transcript;
use crate::wrap::{self, CHALLENGE_LEN, EK_LEN, NONCE_LEN, RELEASE_LEN, WrappedKey};

pub use crate::stream::HEADER_LEN;

/// OPAQUE_K = HKDF-SHA256(ikm = export key, info = `OPAQUE_K_INFO`).
pub fn opaque_k(export_key: &[u8]) -> Zeroizing<[u8; 32]> {
    wrap::opaque_k(export_key)
}

/// SHARED_K = HKDF-SHA256(ikm = session key, info = `SHARED_K_INFO`).
pub fn shared_k(session_key: &[u8]) -> Zeroizing<[u8; 32]> {
    wrap::shared_k(session_key)
}

/// The AAD of EK.
pub fn wrapped_key_aad(user_id: &UserId, challenge: &[u8; CHALLENGE_LEN]) -> Vec<u8> {
    wrap::wrapped_key_aad(user_id, challenge)
}

/// The AAD of the key release.
pub fn key_release_aad(user_id: &UserId) -> Vec<u8> {
    wrap::key_release_aad(user_id)
}

/// EK = AES-256-GCM(OPAQUE_K, K_NONCE, K, [`wrapped_key_aad`]).
pub fn wrap_key(
    opaque_k: &Zeroizing<[u8; 32]>,
    user_id: &UserId,
    challenge: [u8; CHALLENGE_LEN],
    k_nonce: [u8; NONCE_LEN],
    key: &BackupKey,
) -> [u8; EK_LEN] {
    wrap::wrap(opaque_k, user_id, challenge, k_nonce, key).ciphertext
}

/// Opens EK.
pub fn unwrap_key(
    opaque_k: &Zeroizing<[u8; 32]>,
    user_id: &UserId,
    challenge: [u8; CHALLENGE_LEN],
    k_nonce: [u8; NONCE_LEN],
    ek: [u8; EK_LEN],
) -> Result<BackupKey, Error> {
    let wrapped = WrappedKey {
        challenge,
        nonce: k_nonce,
        ciphertext: ek,
    };
    wrap::unwrap(opaque_k, user_id, &wrapped)
}

/// The key release: AES-256-GCM(SHARED_K, nonce, challenge || K_NONCE || EK, [`key_release_aad`]).
pub fn seal_key_release(
    shared_k: &Zeroizing<[u8; 32]>,
    user_id: &UserId,
    nonce: [u8; NONCE_LEN],
    challenge: [u8; CHALLENGE_LEN],
    k_nonce: [u8; NONCE_LEN],
    ek: [u8; EK_LEN],
) -> [u8; RELEASE_LEN] {
    let wrapped = WrappedKey {
        challenge,
        nonce: k_nonce,
        ciphertext: ek,
    };
    wrap::seal_release(shared_k, user_id, nonce, &wrapped)
}

/// The plaintext of a key release: (challenge, K_NONCE, EK).
pub type ReleasedKey = ([u8; CHALLENGE_LEN], [u8; NONCE_LEN], [u8; EK_LEN]);

/// Opens a key release.
pub fn open_key_release(
    shared_k: &Zeroizing<[u8; 32]>,
    user_id: &UserId,
    nonce: &[u8; NONCE_LEN],
    sealed: &[u8; RELEASE_LEN],
) -> Result<ReleasedKey, Error> {
    let wrapped = wrap::open_release(shared_k, user_id, nonce, sealed)?;
    Ok((wrapped.challenge, wrapped.nonce, wrapped.ciphertext))
}

/// A backup file's key and nonce prefix.
pub fn stream_file_keys(key: &BackupKey, salt: &[u8; SALT_LEN]) -> (Zeroizing<[u8; 32]>, [u8; NONCE_PREFIX_LEN]) {
    stream::file_keys(key, salt)
}

/// The nonce of segment `index`.
pub fn stream_segment_nonce(prefix: [u8; NONCE_PREFIX_LEN], index: u32, last: bool) -> [u8; NONCE_LEN] {
    stream::segment_nonce(prefix, index, last)
}

/// A stream encryptor with a chosen salt (a real file draws a fresh one).
pub fn stream_encryptor_with_salt(key: &BackupKey, salt: [u8; SALT_LEN]) -> (StreamEncryptor, [u8; HEADER_LEN]) {
    StreamEncryptor::with_salt(key, salt)
}

/// The stand-in registration challenge of a user with no record: HKDF-SHA256(ikm = the OPRF seed, info =
/// `FAKE_CHALLENGE_INFO` || user id). It selects the OPRF key of the vault's fake login response.
pub fn fake_challenge(keys: &crate::VaultKeys, user_id: &UserId) -> [u8; CHALLENGE_LEN] {
    keys.fake_challenge(user_id)
}

/// The bytes the vault signs in a registration response.
pub fn registration_response_signed_bytes(
    user_id: &UserId,
    challenge: &[u8; CHALLENGE_LEN],
    opaque_request: &[u8],
    opaque_response: &[u8],
) -> Vec<u8> {
    transcript::registration_response(user_id, challenge, opaque_request, opaque_response)
}

/// The bytes the vault signs in a login response.
pub fn login_response_signed_bytes(
    user_id: &UserId,
    purpose: LoginPurpose,
    opaque_request: &[u8],
    ksf: &KsfParams,
    guesses_remaining: u32,
    opaque_response: &[u8],
) -> Vec<u8> {
    transcript::login_response(
        user_id,
        purpose,
        opaque_request,
        ksf,
        guesses_remaining,
        opaque_response,
    )
}

/// The bytes the vault signs in a registration receipt, given the upload's body (everything after its user id).
pub fn registration_receipt_signed_bytes(user_id: &UserId, upload_body: &[u8]) -> Vec<u8> {
    transcript::registration_receipt(user_id, upload_body)
}

/// DELETED_K = HKDF-SHA256(ikm = session key, info = `DELETED_K_INFO`).
pub fn deleted_k(session_key: &[u8]) -> Zeroizing<[u8; 32]> {
    wrap::deleted_k(session_key)
}

/// The deletion receipt's tag: HMAC-SHA256(DELETED_K, `DELETION_RECEIPT_MAC` || version || len8(user id) || user id).
pub fn deletion_receipt_tag(deleted_k: &Zeroizing<[u8; 32]>, user_id: &UserId) -> [u8; 32] {
    wrap::deletion_tag(deleted_k, user_id)
}
