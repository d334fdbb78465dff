//! Byte-level reading and writing shared by every wire format of the crate.
//!
//! The [`Reader`] never indexes a slice directly: every read goes through a checked split, so a parser built on
//! it cannot panic on short input, and [`Reader::finish`] turns leftover bytes into an error instead of ignoring
//! them (the same discipline as the `Reader` in rustls' `msgs/codec.rs`).

use crate::error::DecodeError;

/// The only wire version this crate writes and accepts.
pub(crate) const VERSION: u8 = 1;

/// The lowest version number that was ever defined. Version bytes below it are reported as obsolete rather than
/// unknown so that operators can tell "client too new for this bundle" from "bundle too new for this client".
/// Version 0 is reserved for pre-release drafts and is never accepted.
const FIRST_VERSION: u8 = 1;

/// The type byte that follows the version byte in every encoding. Distinct values keep a bundle body, a deployment
/// record body and their signed envelopes from ever parsing as one another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageType {
    /// Unsigned validation-bundle body.
    BundleBody = 0x01,
    /// Validation-bundle body with witness signature and operator counter-signature.
    SignedBundle = 0x02,
    /// Unsigned deployment-record body.
    DeploymentBody = 0x03,
    /// Deployment-record body with witness signature and operator counter-signature.
    SignedDeployment = 0x04,
    /// A client's accepted-epoch state, for its own storage (never signed or sent).
    AcceptedEpoch = 0x05,
}

/// A cursor over untrusted bytes whose every read is bounds-checked.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Takes the next `len` bytes, or fails without consuming anything.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.rest.split_at_checked(len).ok_or(DecodeError::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self.rest.split_first_chunk::<N>().ok_or(DecodeError::Truncated)?;
        self.rest = tail;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_be_bytes)
    }

    /// Reads and checks the version byte and the type byte that open every encoding.
    ///
    /// The version is checked before anything else so that a future format, whatever its layout, is reported as
    /// an unknown version rather than as some incidental structural error.
    pub(crate) fn header(&mut self, expected: MessageType) -> Result<(), DecodeError> {
        let version = self.u8()?;
        if version < FIRST_VERSION {
            return Err(DecodeError::ObsoleteVersion { version });
        }
        if version > VERSION {
            return Err(DecodeError::UnknownVersion { version });
        }
        let found = self.u8()?;
        if found != expected as u8 {
            return Err(DecodeError::WrongMessageType {
                expected: expected as u8,
                found,
            });
        }
        Ok(())
    }

    /// Ends parsing: any byte left over makes the whole encoding invalid.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { count: self.rest.len() })
        }
    }
}

/// Appends the version byte and the type byte.
pub(crate) fn write_header(out: &mut Vec<u8>, message_type: MessageType) {
    out.push(VERSION);
    out.push(message_type as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_short_input_without_consuming() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.u64(), Err(DecodeError::Truncated));
        assert_eq!(reader.take(4), Err(DecodeError::Truncated));
        assert_eq!(reader.u16(), Ok(0x0102));
        assert_eq!(reader.finish(), Err(DecodeError::TrailingBytes { count: 1 }));
    }

    #[test]
    fn header_distinguishes_old_and_new_versions() {
        let expected = MessageType::BundleBody;
        assert_eq!(
            Reader::new(&[0, 1]).header(expected),
            Err(DecodeError::ObsoleteVersion { version: 0 })
        );
        assert_eq!(
            Reader::new(&[2, 1]).header(expected),
            Err(DecodeError::UnknownVersion { version: 2 })
        );
        assert_eq!(
            Reader::new(&[1, 3]).header(expected),
            Err(DecodeError::WrongMessageType { expected: 1, found: 3 })
        );
        assert_eq!(Reader::new(&[1, 1]).header(expected), Ok(()));
    }
}
