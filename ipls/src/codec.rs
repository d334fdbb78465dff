//! The byte-level reader shared by every ipls format: version byte first, exact lengths, no trailing bytes.

use alloc::vec::Vec;

use crate::error::Error;

/// The format version of every ipls message and record.
pub(crate) const VERSION: u8 = 0x01;

/// Starts an encoding: `version || type`.
pub(crate) fn header(type_byte: u8, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + capacity);
    out.push(VERSION);
    out.push(type_byte);
    out
}

/// Checks a version byte, telling an older format from a newer one.
pub(crate) fn check_version(found: u8) -> Result<(), Error> {
    match found {
        VERSION => Ok(()),
        found if found < VERSION => Err(Error::LegacyVersion { found }),
        found => Err(Error::UnknownVersion { found }),
    }
}

/// Appends `len8(bytes) || bytes`; callers pass ids, which are 1 to 255 bytes by construction.
pub(crate) fn put_len8(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// Appends `u16be(len) || bytes`; callers check the length first.
pub(crate) fn put_len16(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).expect("callers bound the length to u16");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A cursor over a message; every read is bounds-checked, so every parser built on it is total.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads and checks `version || type`.
    pub(crate) fn header(bytes: &'a [u8], type_byte: u8) -> Result<Self, Error> {
        let mut reader = Self { rest: bytes };
        check_version(reader.u8()?)?;
        let found = reader.u8()?;
        if found != type_byte {
            return Err(Error::WrongType { found });
        }
        Ok(reader)
    }

    /// A reader over bytes with no header (a decrypted payload).
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        if self.rest.len() < len {
            return Err(Error::Truncated);
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn len8(&mut self) -> Result<&'a [u8], Error> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    pub(crate) fn len16(&mut self) -> Result<&'a [u8], Error> {
        let len = u16::from_be_bytes(self.array()?);
        self.take(usize::from(len))
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Fails if anything is left.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes)
        }
    }
}
