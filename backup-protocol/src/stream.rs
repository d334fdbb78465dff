//! Streaming encryption of backup files under K (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
//! Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015).
//!
//! ```text
//! file       = header || segment_0 || ... || segment_n
//! header     = version (0x01) || type (0x41) || salt (32)
//! file key   = HKDF-SHA256(salt, K, STREAM_FILE_KEY_INFO, 32)
//! prefix     = HKDF-SHA256(salt, K, STREAM_NONCE_PREFIX_INFO, 7)
//! segment_i  = AES-256-GCM(file key, prefix || i (u32 BE) || last (0x00 or 0x01), aad = header, plaintext_i)
//! ```
//!
//! Every segment but the last holds exactly [`SEGMENT_SIZE`] bytes of plaintext; the last holds 0 to
//! [`SEGMENT_SIZE`] (0 only when the whole file is empty). The segment index in the nonce stops reordering, the
//! last-segment flag stops truncation and appending, and the per-file salt (so a per-file key, and the header in
//! every AAD) stops moving segments between files.
//!
//! The core works on byte slices with no I/O; memory use is one segment whatever the file size.
//! [`crate::EncryptingWriter`] and [`crate::DecryptingReader`] adapt it to `std::io` (feature `std`).
//! Decrypted bytes are released segment by segment, each authenticated; only a successful
//! [`StreamDecryptor::finish`] proves the file is complete.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::codec::{self, Reader};
use crate::error::StreamError;
use crate::key::BackupKey;
use crate::labels::{STREAM_FILE_KEY_INFO, STREAM_NONCE_PREFIX_INFO, type_code};
use crate::wrap::TAG_LEN;

/// Plaintext bytes per segment (64 KiB).
pub const SEGMENT_SIZE: usize = 64 * 1024;
/// Length of the per-file salt.
pub const SALT_LEN: usize = 32;
/// Length of the stream header: version, type code and salt.
pub const HEADER_LEN: usize = 2 + SALT_LEN;
/// Ciphertext bytes of a full segment.
const SEGMENT_CIPHERTEXT: usize = SEGMENT_SIZE + TAG_LEN;
pub(crate) const NONCE_PREFIX_LEN: usize = 7;

/// The per-file AEAD state shared by both directions: the file key, the nonce prefix, the header (the AAD of
/// every segment) and the index of the next segment.
struct SegmentCipher {
    aead: Aes256Gcm,
    prefix: [u8; NONCE_PREFIX_LEN],
    header: [u8; HEADER_LEN],
    next: u64,
}

/// The file key and nonce prefix of a file: HKDF-SHA256 with the file salt, from K.
pub(crate) fn file_keys(key: &BackupKey, salt: &[u8]) -> (Zeroizing<[u8; 32]>, [u8; NONCE_PREFIX_LEN]) {
    let hkdf = Hkdf::<Sha256>::new(Some(salt), key.expose_secret());
    let mut file_key = Zeroizing::new([0u8; 32]);
    let mut prefix = [0u8; NONCE_PREFIX_LEN];
    hkdf.expand(STREAM_FILE_KEY_INFO, file_key.as_mut())
        .and_then(|()| hkdf.expand(STREAM_NONCE_PREFIX_INFO, &mut prefix))
        .expect("32 and 7 bytes are valid HKDF-SHA256 output lengths");
    (file_key, prefix)
}

/// `prefix || u32be(index) || last`.
pub(crate) fn segment_nonce(prefix: [u8; NONCE_PREFIX_LEN], index: u32, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..NONCE_PREFIX_LEN].copy_from_slice(&prefix);
    nonce[NONCE_PREFIX_LEN..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

impl SegmentCipher {
    fn new(key: &BackupKey, header: [u8; HEADER_LEN]) -> Self {
        let (file_key, prefix) = file_keys(key, &header[2..]);
        Self {
            aead: Aes256Gcm::new(file_key.as_ref().into()),
            prefix,
            header,
            next: 0,
        }
    }

    /// The nonce of the next segment, or `TooLong` once the 32-bit index is spent.
    fn nonce(&self, last: bool) -> Result<(u32, Nonce<aes_gcm::aead::consts::U12>), StreamError> {
        let index = u32::try_from(self.next).map_err(|_| StreamError::TooLong)?;
        Ok((index, segment_nonce(self.prefix, index, last).into()))
    }

    /// Appends the sealed segment to `out`, encrypting in place there.
    fn seal(&mut self, plaintext: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let (_, nonce) = self.nonce(last)?;
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .aead
            .encrypt_in_place_detached(&nonce, &self.header, &mut out[start..])
            .map_err(|_| StreamError::TooLong)?;
        out.extend_from_slice(&tag);
        self.next += 1;
        Ok(())
    }

    /// Appends the opened segment's plaintext to `out`; on failure `out` is left as it was.
    fn open(&mut self, segment: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let (index, nonce) = self.nonce(last)?;
        let rejected = StreamError::SegmentRejected { index };
        let body_len = segment.len().checked_sub(TAG_LEN).ok_or(StreamError::Truncated)?;
        let (body, tag) = segment.split_at(body_len);
        // A final empty segment is only canonical for an empty file.
        if last && body.is_empty() && index != 0 {
            return Err(rejected);
        }
        let start = out.len();
        out.extend_from_slice(body);
        if self
            .aead
            .decrypt_in_place_detached(&nonce, &self.header, &mut out[start..], Tag::from_slice(tag))
            .is_err()
        {
            out.truncate(start);
            return Err(rejected);
        }
        self.next += 1;
        Ok(())
    }
}

/// Cuts `input` into whole segments of `segment_len` that are known not to be the last one (more bytes follow
/// them), passing each to `process`; the remainder (at most one segment) stays in `pending`. Holding back the
/// last full segment is what lets the caller seal or open it with the last-segment flag in `finish`.
fn for_each_inner_segment(
    pending: &mut Vec<u8>,
    mut input: &[u8],
    segment_len: usize,
    mut process: impl FnMut(&[u8]) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    loop {
        let missing = segment_len - pending.len();
        if input.len() <= missing {
            pending.extend_from_slice(input);
            return Ok(());
        }
        let (head, tail) = input.split_at(missing);
        if pending.is_empty() {
            process(head)?;
        } else {
            pending.extend_from_slice(head);
            process(pending)?;
            pending.clear();
        }
        input = tail;
    }
}

/// Encrypts one backup file under K.
///
/// ```
/// use backup_protocol::{BackupKey, StreamDecryptor, StreamEncryptor};
/// let mut rng = backup_protocol::rand_core::OsRng;
/// let key = BackupKey::generate(&mut rng);
///
/// let (mut encryptor, header) = StreamEncryptor::new(&key, &mut rng);
/// let mut file = header.to_vec();
/// encryptor.update(b"chat history, part 1; ", &mut file)?;
/// encryptor.update(b"part 2", &mut file)?;
/// encryptor.finish(&mut file)?;
///
/// let mut decryptor = StreamDecryptor::new(&key);
/// let mut plaintext = Vec::new();
/// decryptor.update(&file, &mut plaintext)?;
/// decryptor.finish(&mut plaintext)?;
/// assert_eq!(plaintext, b"chat history, part 1; part 2");
/// # Ok::<(), backup_protocol::StreamError>(())
/// ```
pub struct StreamEncryptor {
    cipher: SegmentCipher,
    pending: Zeroizing<Vec<u8>>,
}

impl StreamEncryptor {
    /// Draws the file salt from `rng`; returns the encryptor and the header, which must be written first.
    pub fn new<R: CryptoRng + RngCore>(key: &BackupKey, rng: &mut R) -> (Self, [u8; HEADER_LEN]) {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self::with_salt(key, salt)
    }

    /// An encryptor with a given salt. The salt must be fresh for every file: reusing one under the same K reuses
    /// the file key and nonces.
    pub(crate) fn with_salt(key: &BackupKey, salt: [u8; SALT_LEN]) -> (Self, [u8; HEADER_LEN]) {
        let mut header = [0u8; HEADER_LEN];
        header[..2].copy_from_slice(&codec::header(type_code::STREAM_HEADER, 0));
        header[2..].copy_from_slice(&salt);
        let encryptor = Self {
            cipher: SegmentCipher::new(key, header),
            pending: Zeroizing::new(Vec::with_capacity(SEGMENT_SIZE)),
        };
        (encryptor, header)
    }

    /// Encrypts more plaintext, appending every completed segment to `out`.
    pub fn update(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        let cipher = &mut self.cipher;
        for_each_inner_segment(&mut self.pending, plaintext, SEGMENT_SIZE, |segment| {
            cipher.seal(segment, false, out)
        })
    }

    /// Seals the buffered rest as the last segment.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        self.cipher.seal(&self.pending, true, out)
    }
}

impl fmt::Debug for StreamEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamEncryptor")
            .field("segments_sealed", &self.cipher.next)
            .finish_non_exhaustive()
    }
}

enum DecryptorState {
    /// Collecting the header; K is kept until the salt is known.
    Header {
        key: BackupKey,
        bytes: Vec<u8>,
    },
    Body {
        // Boxed: the AES key schedule dwarfs the other variants.
        cipher: Box<SegmentCipher>,
        pending: Vec<u8>,
    },
    Failed,
}

/// Decrypts one backup file under K. See [`StreamEncryptor`] for an example.
///
/// After any error the decryptor answers [`StreamError::Poisoned`]: a stream that failed once is never resumed.
pub struct StreamDecryptor {
    state: DecryptorState,
}

impl StreamDecryptor {
    /// A decryptor expecting the header first.
    pub fn new(key: &BackupKey) -> Self {
        Self {
            state: DecryptorState::Header {
                key: key.clone(),
                bytes: Vec::with_capacity(HEADER_LEN),
            },
        }
    }

    /// Decrypts more of the file, appending the plaintext of every authenticated segment to `out`.
    pub fn update(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        let state = core::mem::replace(&mut self.state, DecryptorState::Failed);
        self.state = Self::advance(state, ciphertext, out)?;
        Ok(())
    }

    fn advance(state: DecryptorState, mut input: &[u8], out: &mut Vec<u8>) -> Result<DecryptorState, StreamError> {
        let (mut cipher, mut pending) = match state {
            DecryptorState::Failed => return Err(StreamError::Poisoned),
            DecryptorState::Body { cipher, pending } => (cipher, pending),
            DecryptorState::Header { key, mut bytes } => {
                let take = input.len().min(HEADER_LEN - bytes.len());
                let (head, rest) = input.split_at(take);
                bytes.extend_from_slice(head);
                if bytes.len() < HEADER_LEN {
                    return Ok(DecryptorState::Header { key, bytes });
                }
                input = rest;
                (
                    Box::new(SegmentCipher::new(&key, parse_header(&bytes)?)),
                    Vec::with_capacity(SEGMENT_CIPHERTEXT),
                )
            }
        };
        for_each_inner_segment(&mut pending, input, SEGMENT_CIPHERTEXT, |segment| {
            cipher.open(segment, false, out)
        })?;
        Ok(DecryptorState::Body { cipher, pending })
    }

    /// Opens the buffered rest as the last segment. Only `Ok` here proves the file was neither truncated nor
    /// extended.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        match self.state {
            DecryptorState::Failed => Err(StreamError::Poisoned),
            DecryptorState::Header { bytes, .. } => Err(match parse_header(&bytes) {
                Err(error) => error,
                Ok(_) => StreamError::Truncated,
            }),
            DecryptorState::Body { mut cipher, pending } => cipher.open(&pending, true, out),
        }
    }
}

impl fmt::Debug for StreamDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamDecryptor").finish_non_exhaustive()
    }
}

fn parse_header(bytes: &[u8]) -> Result<[u8; HEADER_LEN], StreamError> {
    let mut reader = Reader::header(bytes, type_code::STREAM_HEADER).map_err(StreamError::Header)?;
    reader.array::<SALT_LEN>().map_err(StreamError::Header)?;
    reader.finish().map_err(StreamError::Header)?;
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(bytes);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    /// SPEC §8: plaintext of exactly one segment has one canonical encoding, a full final segment. The other one,
    /// a full inner segment followed by an empty final segment under a valid tag, is refused as
    /// `SegmentRejected { index: 1 }`.
    #[test]
    fn a_validly_sealed_empty_final_segment_after_a_full_one_is_refused() {
        let key = BackupKey::from_bytes([5; 32]);
        let (_, header) = StreamEncryptor::with_salt(&key, [6; SALT_LEN]);
        let mut cipher = SegmentCipher::new(&key, header);
        let mut file = header.to_vec();
        cipher.seal(&vec![7; SEGMENT_SIZE], false, &mut file).unwrap();
        cipher.seal(&[], true, &mut file).unwrap();
        assert_eq!(file.len(), HEADER_LEN + SEGMENT_CIPHERTEXT + TAG_LEN);

        let mut decryptor = StreamDecryptor::new(&key);
        let mut out = Vec::new();
        decryptor.update(&file, &mut out).unwrap();
        assert_eq!(out.len(), SEGMENT_SIZE, "the inner segment is released");
        assert_eq!(
            decryptor.finish(&mut out),
            Err(StreamError::SegmentRejected { index: 1 })
        );
    }
}
