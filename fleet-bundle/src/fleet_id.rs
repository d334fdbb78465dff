//! Fleet identifiers.

use core::fmt;

use crate::error::FleetIdError;

/// The name of a vault fleet: 1 to 64 bytes, each a lowercase ASCII letter, a digit, `-`, `.` or `_`.
///
/// The alphabet is restricted so that one identifier has exactly one binary and one JSON spelling (no Unicode
/// normalisation or case folding question can arise) and so that printing it can never inject control characters
/// into a log.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FleetId(String);

impl FleetId {
    /// Longest accepted identifier, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps an identifier.
    ///
    /// ```
    /// use fleet_bundle::FleetId;
    /// let id = FleetId::new("eu-west.backup-1")?;
    /// assert_eq!(id.as_str(), "eu-west.backup-1");
    /// assert!(FleetId::new("").is_err());
    /// assert!(FleetId::new("Upper").is_err());
    /// # Ok::<(), fleet_bundle::FleetIdError>(())
    /// ```
    pub fn new(id: &str) -> Result<Self, FleetIdError> {
        Self::check(id.as_bytes())?;
        Ok(Self(id.to_owned()))
    }

    /// Checks identifier bytes read from the wire.
    pub(crate) fn from_wire(bytes: &[u8]) -> Result<Self, FleetIdError> {
        Self::check(bytes)?;
        // Every accepted byte is ASCII, so the bytes are valid UTF-8; the fallible conversion keeps this total.
        let id = core::str::from_utf8(bytes).map_err(|_| FleetIdError::Character { index: 0 })?;
        Ok(Self(id.to_owned()))
    }

    fn check(bytes: &[u8]) -> Result<(), FleetIdError> {
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN {
            return Err(FleetIdError::Length { len: bytes.len() });
        }
        match bytes.iter().position(|&b| !Self::allowed(b)) {
            Some(index) => Err(FleetIdError::Character { index }),
            None => Ok(()),
        }
    }

    const fn allowed(byte: u8) -> bool {
        matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_')
    }

    /// The identifier as text.
    ///
    /// ```
    /// # use fleet_bundle::FleetId;
    /// assert_eq!(FleetId::new("f1")?.as_str(), "f1");
    /// # Ok::<(), fleet_bundle::FleetIdError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier as the bytes that appear on the wire.
    ///
    /// ```
    /// # use fleet_bundle::FleetId;
    /// assert_eq!(FleetId::new("f1")?.as_bytes(), b"f1");
    /// # Ok::<(), fleet_bundle::FleetIdError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Appends the length byte and the identifier.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.0.len() as u8); // MAX_LEN < 256, enforced by `check`.
        out.extend_from_slice(self.0.as_bytes());
    }
}

impl fmt::Display for FleetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_the_documented_alphabet_and_lengths() {
        assert!(FleetId::new(&"a".repeat(64)).is_ok());
        assert_eq!(FleetId::new(&"a".repeat(65)), Err(FleetIdError::Length { len: 65 }));
        assert_eq!(FleetId::new(""), Err(FleetIdError::Length { len: 0 }));
        for byte in 0..=u8::MAX {
            let ok = byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-._".contains(&byte);
            assert_eq!(FleetId::from_wire(&[b'x', byte]).is_ok(), ok, "byte {byte:#04x}");
        }
        assert_eq!(
            FleetId::from_wire(b"ab\xffc"),
            Err(FleetIdError::Character { index: 2 })
        );
    }
}
