//! Account and contact ids: opaque byte strings of 1 to 255 bytes.

use alloc::vec::Vec;

use crate::error::Error;

fn checked(bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    if bytes.is_empty() || bytes.len() > usize::from(u8::MAX) {
        return Err(Error::InvalidId);
    }
    Ok(bytes)
}

/// The account a contact list belongs to (1 to 255 bytes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Vec<u8>);

impl AccountId {
    /// Checks the length.
    pub fn new(bytes: Vec<u8>) -> Result<Self, Error> {
        checked(bytes).map(Self)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A contact's id within an account (1 to 255 bytes), chosen by the device (for example a random id).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContactId(Vec<u8>);

impl ContactId {
    /// Checks the length.
    pub fn new(bytes: Vec<u8>) -> Result<Self, Error> {
        checked(bytes).map(Self)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
