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
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self.seal_in_place(&mut out[start..], last)?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Encrypts the next segment where it is; returns its tag.
    fn seal_in_place(&mut self, segment: &mut [u8], last: bool) -> Result<[u8; TAG_LEN], StreamError> {
        let (_, nonce) = self.nonce(last)?;
        let tag = self
            .aead
            .encrypt_in_place_detached(&nonce, &self.header, segment)
            .map_err(|_| StreamError::TooLong)?;
        self.next += 1;
        Ok(tag.into())
    }

    /// Decrypts the next segment where it is. aes-gcm checks the tag before it decrypts, so a rejected segment is
    /// left as it was.
    fn open_in_place(&mut self, segment: &mut [u8], tag: &[u8; TAG_LEN], last: bool) -> Result<(), StreamError> {
        let (index, nonce) = self.nonce(last)?;
        let rejected = StreamError::SegmentRejected { index };
        // A final empty segment is only canonical for an empty file.
        if last && segment.is_empty() && index != 0 {
            return Err(rejected);
        }
        self.aead
            .decrypt_in_place_detached(&nonce, &self.header, segment, Tag::from_slice(tag))
            .map_err(|_| rejected)?;
        self.next += 1;
        Ok(())
    }

    /// Appends the opened segment's plaintext to `out`; on failure `out` is left as it was.
    fn open(&mut self, segment: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let body_len = segment.len().checked_sub(TAG_LEN).ok_or(StreamError::Truncated)?;
        let (body, tag) = segment.split_at(body_len);
        let tag: &[u8; TAG_LEN] = tag.try_into().expect("split at TAG_LEN from the end");
        let start = out.len();
        out.extend_from_slice(body);
        let opened = self.open_in_place(&mut out[start..], tag, last);
        if opened.is_err() {
            out.truncate(start);
        }
        opened
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
        let header = stream_header(salt);
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

/// Encrypts a backup file segment by segment in the caller's buffers: the same file as [`StreamEncryptor`] makes,
/// without copying the plaintext, for callers that hold it in a buffer they may overwrite (a file read into a
/// segment-sized buffer, encrypted there and written out).
///
/// Write the header first, then each segment followed by its tag. Every segment but the last holds exactly
/// [`SEGMENT_SIZE`] bytes ([`encrypt_in_place`](Self::encrypt_in_place)); the last holds 1 to [`SEGMENT_SIZE`]
/// bytes, or none for an empty file ([`finish_in_place`](Self::finish_in_place)). A plaintext of a whole number of
/// segments ends with a full last segment, so a caller reading ahead holds back one segment until it knows more
/// follows.
///
/// ```
/// use backup_protocol::{BackupKey, SEGMENT_SIZE, SegmentEncryptor, StreamDecryptor};
/// let mut rng = backup_protocol::rand_core::OsRng;
/// let key = BackupKey::generate(&mut rng);
///
/// let mut first = vec![7u8; SEGMENT_SIZE];
/// let mut last = b"the rest".to_vec();
/// let (mut encryptor, header) = SegmentEncryptor::new(&key, &mut rng);
/// let first_tag = encryptor.encrypt_in_place((&mut first[..]).try_into().unwrap())?;
/// let last_tag = encryptor.finish_in_place(&mut last)?;
/// let file = [&header[..], &first, &first_tag, &last, &last_tag].concat();
///
/// let mut decryptor = StreamDecryptor::new(&key);
/// let mut plaintext = Vec::new();
/// decryptor.update(&file, &mut plaintext)?;
/// decryptor.finish(&mut plaintext)?;
/// assert_eq!(plaintext, [vec![7u8; SEGMENT_SIZE], b"the rest".to_vec()].concat());
/// # Ok::<(), backup_protocol::StreamError>(())
/// ```
pub struct SegmentEncryptor {
    cipher: SegmentCipher,
}

impl SegmentEncryptor {
    /// Draws the file salt from `rng`; returns the encryptor and the header, which must be written first.
    pub fn new<R: CryptoRng + RngCore>(key: &BackupKey, rng: &mut R) -> (Self, [u8; HEADER_LEN]) {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let header = stream_header(salt);
        (
            Self {
                cipher: SegmentCipher::new(key, header),
            },
            header,
        )
    }

    /// Encrypts one segment that is not the file's last, in place; returns the tag that follows it in the file.
    pub fn encrypt_in_place(&mut self, segment: &mut [u8; SEGMENT_SIZE]) -> Result<[u8; TAG_LEN], StreamError> {
        self.cipher.seal_in_place(segment, false)
    }

    /// Encrypts the file's last segment in place; returns the tag that follows it and ends the file.
    ///
    /// The last segment holds 1 to [`SEGMENT_SIZE`] bytes; it is empty only for an empty file (SPEC §8). A reader
    /// that reaches the end of its input right after a full segment must encrypt that segment here, not pass an
    /// empty one: anything else is refused with [`StreamError::InvalidLastSegment`] and leaves `segment` as it was.
    pub fn finish_in_place(mut self, segment: &mut [u8]) -> Result<[u8; TAG_LEN], StreamError> {
        if segment.len() > SEGMENT_SIZE || (segment.is_empty() && self.cipher.next != 0) {
            return Err(StreamError::InvalidLastSegment);
        }
        self.cipher.seal_in_place(segment, true)
    }
}

impl fmt::Debug for SegmentEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentEncryptor")
            .field("segments_sealed", &self.cipher.next)
            .finish_non_exhaustive()
    }
}

/// Decrypts a backup file segment by segment in the caller's buffers, without copying: the counterpart of
/// [`SegmentEncryptor`], for any file of the format (SPEC §8), with [`StreamDecryptor`]'s checks and errors.
///
/// The caller cuts the file: the header, then segments of [`SEGMENT_SIZE`] bytes each followed by its 16-byte tag
/// while more bytes follow them, and what remains (16 to `SEGMENT_SIZE + 16` bytes) as the last segment and its
/// tag; fewer than 16 bytes left is a truncated file. A rejected segment is left as it was, and the decryptor
/// answers [`StreamError::Poisoned`] from then on. Only a successful [`finish_in_place`](Self::finish_in_place)
/// proves the file complete, and only if the caller gave it everything that follows the last full segment up to
/// the end of the file: a caller that stops at a short read without checking that the input ended would accept a
/// file with bytes appended after its last segment.
///
/// ```
/// use backup_protocol::{BackupKey, HEADER_LEN, SegmentDecryptor, StreamEncryptor};
/// let mut rng = backup_protocol::rand_core::OsRng;
/// let key = BackupKey::generate(&mut rng);
/// let (encryptor, header) = StreamEncryptor::new(&key, &mut rng);
/// let mut file = header.to_vec();
/// let mut encryptor = encryptor;
/// encryptor.update(b"short file", &mut file)?;
/// encryptor.finish(&mut file)?;
///
/// let (header, body) = file.split_at_mut(HEADER_LEN);
/// let decryptor = SegmentDecryptor::new(&key, header)?;
/// let (last, tag) = body.split_at_mut(body.len() - 16);
/// decryptor.finish_in_place(last, (&*tag).try_into().unwrap())?;
/// assert_eq!(last, b"short file");
/// # Ok::<(), backup_protocol::StreamError>(())
/// ```
pub struct SegmentDecryptor {
    cipher: SegmentCipher,
    failed: bool,
}

impl SegmentDecryptor {
    /// Checks the file's header (exactly [`HEADER_LEN`] bytes) and derives the file's keys from it.
    pub fn new(key: &BackupKey, header: &[u8]) -> Result<Self, StreamError> {
        Ok(Self {
            cipher: SegmentCipher::new(key, parse_header(header)?),
            failed: false,
        })
    }

    /// Decrypts one segment that is not the file's last, in place, with the tag that follows it in the file.
    pub fn decrypt_in_place(
        &mut self,
        segment: &mut [u8; SEGMENT_SIZE],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), StreamError> {
        if self.failed {
            return Err(StreamError::Poisoned);
        }
        let opened = self.cipher.open_in_place(segment, tag, false);
        self.failed = opened.is_err();
        opened
    }

    /// Decrypts the file's last segment (0 to [`SEGMENT_SIZE`] bytes) in place, with its tag. `Ok` proves the file
    /// was neither truncated at a segment boundary nor extended.
    pub fn finish_in_place(self, segment: &mut [u8], tag: &[u8; TAG_LEN]) -> Result<(), StreamError> {
        if self.failed {
            return Err(StreamError::Poisoned);
        }
        let mut cipher = self.cipher;
        if segment.len() > SEGMENT_SIZE {
            // No encoder makes a last segment this long: it cannot open.
            let index = u32::try_from(cipher.next).map_err(|_| StreamError::TooLong)?;
            return Err(StreamError::SegmentRejected { index });
        }
        cipher.open_in_place(segment, tag, true)
    }
}

impl fmt::Debug for SegmentDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentDecryptor").finish_non_exhaustive()
    }
}

/// `version || type || salt`.
fn stream_header(salt: [u8; SALT_LEN]) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..2].copy_from_slice(&codec::header(type_code::STREAM_HEADER, 0));
    header[2..].copy_from_slice(&salt);
    header
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

    use sha2::Digest;

    use super::*;

    fn bytes<const N: usize>(hex: &str) -> [u8; N] {
        hex::decode(hex).unwrap().try_into().unwrap()
    }

    /// The whole file the copying API writes for `plaintext` under `salt`.
    fn encrypt(key: &BackupKey, salt: [u8; SALT_LEN], plaintext: &[u8]) -> Vec<u8> {
        let (mut encryptor, header) = StreamEncryptor::with_salt(key, salt);
        let mut file = header.to_vec();
        encryptor.update(plaintext, &mut file).unwrap();
        encryptor.finish(&mut file).unwrap();
        file
    }

    /// The plaintext the copying API reads back from a whole file.
    fn decrypt(key: &BackupKey, file: &[u8]) -> Vec<u8> {
        let mut decryptor = StreamDecryptor::new(key);
        let mut opened = Vec::new();
        decryptor.update(file, &mut opened).unwrap();
        decryptor.finish(&mut opened).unwrap();
        opened
    }

    /// Known answers from test-vectors/vectors/backup_stream.json, which test-vectors/python/check_vectors.py
    /// recomputes with the `cryptography` package: StreamEncrypt tcId 3 ("one short segment", 100 bytes).
    /// Encryption and decryption here agree with each other whatever the keys and nonces are; only fixed bytes pin
    /// them.
    #[test]
    fn one_segment_file_matches_backup_stream_vector_3() {
        let key = BackupKey::from_bytes(bytes(
            "a6bacde985a8c2f04eb1ba6978614a34a839054b4b782de1fe6ac1fd96e2ad18",
        ));
        let salt = bytes::<SALT_LEN>("7c4d3aa6c953b2e2d9474ada8ab4de5f239bb5987b0e3f822acde24d19758895");
        let plaintext: Vec<u8> = (0..100).collect();
        let file = hex::decode(
            "01417c4d3aa6c953b2e2d9474ada8ab4de5f239bb5987b0e3f822acde24d1975\
             8895226c3ca4686d5c5ce10fb0b371ee68db1391cef087744401d1204b7b21bb\
             687c1c77c00b339795ef662d75e6a085271bee8b9f3f48b83b155ec85440a119\
             f2b4e68e7af393056401aafaa051cf24c15c00a770074cbd80ec11b37111ccd1\
             7cf3f00d646c89405fdb5316d3c49fbf019039ed16b4",
        )
        .unwrap();

        let (file_key, prefix) = file_keys(&key, &salt);
        assert_eq!(
            *file_key,
            bytes::<32>("6c57099c4e95be21f05efccedc397be88fcc0ed5231920fc1df560c4296d5d3f")
        );
        assert_eq!(prefix, bytes::<NONCE_PREFIX_LEN>("3b87e20783b17c"));
        assert_eq!(segment_nonce(prefix, 0, true), bytes::<12>("3b87e20783b17c0000000001"));

        assert_eq!(encrypt(&key, salt, &plaintext), file);

        assert_eq!(decrypt(&key, &file), plaintext);
    }

    /// backup_stream.json, StreamEncrypt tcId 4 ("two segments: one full, one of a single byte"): plaintext byte
    /// `i` is `i % 251`; the 65,603-byte file is pinned by its SHA-256 (computed from the vector's `file` field)
    /// and its last 24 bytes, and both segment nonces by the vector's `segmentNonces`.
    #[test]
    fn two_segment_file_matches_backup_stream_vector_4() {
        let key = BackupKey::from_bytes(bytes(
            "95cec4a445fed92e6f116b05c12d28e0ded5d3db79b689f9f35d2b4562134f21",
        ));
        let salt = bytes::<SALT_LEN>("5ee000a498ae681edb9f2588bcd4ecffa36350bb6fce5961c43ffd5a1d31b6e7");
        let plaintext: Vec<u8> = (0..=SEGMENT_SIZE).map(|i| u8::try_from(i % 251).unwrap()).collect();

        let (_, prefix) = file_keys(&key, &salt);
        assert_eq!(segment_nonce(prefix, 0, false), bytes::<12>("8f556a688504c00000000000"));
        assert_eq!(segment_nonce(prefix, 1, true), bytes::<12>("8f556a688504c00000000101"));

        let file = encrypt(&key, salt, &plaintext);
        assert_eq!(file.len(), 65_603);
        assert_eq!(
            file[file.len() - 24..],
            bytes::<24>("c168c3a342e8640b9908dcc00522a165183b604f03ef86e1")[..]
        );
        assert_eq!(
            sha2::Sha256::digest(&file)[..],
            bytes::<32>("d53e132ad157f5333c2210d7bf7d943aed24829c158304ee8c2315811d2a3215")[..]
        );

        assert_eq!(decrypt(&key, &file), plaintext);
    }

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
