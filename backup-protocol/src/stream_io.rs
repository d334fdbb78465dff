//! `std::io` adapters around the streaming encryption (feature `std`).

use std::io::{self, Read, Write};
use std::vec;
use std::vec::Vec;

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use crate::error::StreamError;
use crate::key::BackupKey;
use crate::stream::{SEGMENT_SIZE, StreamDecryptor, StreamEncryptor};

fn invalid_data(error: StreamError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// Encrypts everything written to it into `inner`. Call [`EncryptingWriter::finish`]: dropping the writer
/// without it leaves a file that fails to decrypt as truncated.
///
/// ```
/// use std::io::{Read, Write};
/// use backup_protocol::{BackupKey, DecryptingReader, EncryptingWriter};
/// let mut rng = backup_protocol::rand_core::OsRng;
/// let key = BackupKey::generate(&mut rng);
///
/// let mut writer = EncryptingWriter::new(Vec::new(), &key, &mut rng)?;
/// writer.write_all(&vec![7u8; 200_000])?;
/// let file = writer.finish()?;
///
/// let mut plaintext = Vec::new();
/// DecryptingReader::new(file.as_slice(), &key).read_to_end(&mut plaintext)?;
/// assert_eq!(plaintext, vec![7u8; 200_000]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct EncryptingWriter<W: Write> {
    inner: W,
    encryptor: StreamEncryptor,
    sealed: Vec<u8>,
}

impl<W: Write> EncryptingWriter<W> {
    /// Writes the header to `inner` and returns the writer.
    pub fn new<R: CryptoRng + RngCore>(mut inner: W, key: &BackupKey, rng: &mut R) -> io::Result<Self> {
        let (encryptor, header) = StreamEncryptor::new(key, rng);
        inner.write_all(&header)?;
        Ok(Self {
            inner,
            encryptor,
            sealed: Vec::new(),
        })
    }

    /// Seals the last segment, flushes, and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.sealed.clear();
        self.encryptor.finish(&mut self.sealed).map_err(invalid_data)?;
        self.inner.write_all(&self.sealed)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sealed.clear();
        self.encryptor.update(buf, &mut self.sealed).map_err(invalid_data)?;
        self.inner.write_all(&self.sealed)?;
        Ok(buf.len())
    }

    /// Flushes the sealed segments; the current partial segment stays buffered until it fills or `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts a stream read from `inner`. Reading to the end succeeds only for a complete, untampered file; a
/// failure surfaces as `io::ErrorKind::InvalidData` whose inner error is a [`StreamError`].
pub struct DecryptingReader<R: Read> {
    inner: R,
    /// `None` once the last segment was opened.
    decryptor: Option<StreamDecryptor>,
    scratch: Vec<u8>,
    /// Decrypted backup data: wiped on every refill and on drop. Its capacity is set once, large enough for what
    /// one refill produces, so that it never reallocates and leaves an unwiped copy behind.
    plaintext: Zeroizing<Vec<u8>>,
    position: usize,
}

impl<R: Read> DecryptingReader<R> {
    /// Wraps `inner`; nothing is read until the first `read`.
    pub fn new(inner: R, key: &BackupKey) -> Self {
        Self {
            inner,
            decryptor: Some(StreamDecryptor::new(key)),
            scratch: vec![0u8; SEGMENT_SIZE],
            plaintext: Zeroizing::new(Vec::with_capacity(2 * SEGMENT_SIZE)),
            position: 0,
        }
    }

    /// Refills the plaintext buffer; leaves it empty only at the authenticated end of the stream.
    fn refill(&mut self) -> io::Result<()> {
        // `zeroize` on a Vec wipes its whole capacity, then empties it.
        self.plaintext.zeroize();
        self.position = 0;
        while self.plaintext.is_empty() {
            let Some(decryptor) = self.decryptor.as_mut() else {
                return Ok(());
            };
            let read = match self.inner.read(&mut self.scratch) {
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if read == 0 {
                if let Some(decryptor) = self.decryptor.take() {
                    decryptor.finish(&mut self.plaintext).map_err(invalid_data)?;
                }
            } else {
                decryptor
                    .update(&self.scratch[..read], &mut self.plaintext)
                    .map_err(invalid_data)?;
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position == self.plaintext.len() {
            self.refill()?;
        }
        let available = &self.plaintext[self.position..];
        let count = available.len().min(buf.len());
        buf[..count].copy_from_slice(&available[..count]);
        self.position += count;
        Ok(count)
    }
}
