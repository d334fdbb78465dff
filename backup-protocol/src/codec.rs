//! The byte codec every wire message and stored record is built on, public so that crates storing these values
//! (vault-core) frame their own records the same way.
//!
//! A [`Reader`] hands out exact-length slices and never indexes out of bounds, so a parser written with it is
//! total: any byte string yields `Ok` or a [`DecodeError`]. [`Reader::finish`] rejects trailing bytes, which keeps
//! every encoding canonical (one value, one byte string).

use alloc::vec::Vec;

use crate::error::DecodeError;

/// The only wire and record version this crate speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// A cursor over untrusted bytes.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Reads and checks the two-byte header (version, then type code) that starts every encoding.
    pub fn header(bytes: &'a [u8], expected_type: u8) -> Result<Self, DecodeError> {
        let mut reader = Self::new(bytes);
        let version = reader.u8()?;
        if version < PROTOCOL_VERSION {
            return Err(DecodeError::LegacyVersion { found: version });
        }
        if version > PROTOCOL_VERSION {
            return Err(DecodeError::UnknownVersion { found: version });
        }
        let found = reader.u8()?;
        if found != expected_type {
            return Err(DecodeError::WrongType {
                expected: expected_type,
                found,
            });
        }
        Ok(reader)
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The next byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// The next four bytes as a big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// The next eight bytes as a big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Everything not yet read (for a last field that decodes itself).
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Reads a field prefixed by a one-byte length.
    pub fn short_vec(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    /// Succeeds only if every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

/// Starts an encoding with the version byte and the type code.
pub fn header(type_code: u8, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + capacity);
    out.push(PROTOCOL_VERSION);
    out.push(type_code);
    out
}

/// Appends a field prefixed by a one-byte length. Callers only pass fields whose type bounds them to 255 bytes.
pub(crate) fn put_short_vec(out: &mut Vec<u8>, field: &[u8]) {
    debug_assert!(u8::try_from(field.len()).is_ok());
    out.push(field.len() as u8);
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_distinguishes_old_new_and_wrong_type() {
        assert_eq!(
            Reader::header(&[0, 7], 7).err(),
            Some(DecodeError::LegacyVersion { found: 0 })
        );
        assert_eq!(
            Reader::header(&[2, 7], 7).err(),
            Some(DecodeError::UnknownVersion { found: 2 })
        );
        assert_eq!(
            Reader::header(&[1, 8], 7).err(),
            Some(DecodeError::WrongType { expected: 7, found: 8 })
        );
        assert_eq!(Reader::header(&[1], 7).err(), Some(DecodeError::Truncated));
        assert!(Reader::header(&[1, 7], 7).is_ok());
    }

    #[test]
    fn finish_rejects_trailing_bytes() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.take(2).ok(), Some(&[1u8, 2][..]));
        assert_eq!(reader.finish(), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn short_vec_round_trips_and_detects_truncation() {
        let mut out = Vec::new();
        put_short_vec(&mut out, b"abc");
        let mut reader = Reader::new(&out);
        assert_eq!(reader.short_vec().ok(), Some(&b"abc"[..]));
        assert!(reader.finish().is_ok());
        assert_eq!(Reader::new(&out[..3]).short_vec().err(), Some(DecodeError::Truncated));
    }
}
