//! Who sent a command, as the transport in front of the vault authenticated it.

use std::vec::Vec;

use backup_protocol::codec::Reader;
use backup_protocol::{DecodeError, UserId};

/// The principal a command acts for. The vault does not authenticate anyone itself: the transport in front of it
/// (in WhatsApp, the chat server connection) authenticates the account and names it here, and the vault refuses a
/// principal acting on another account's entries (SPEC.md, "Authorization").
///
/// Principals are ordered (accounts by their id's bytes, then the operator), so that tables keyed by them, such as
/// a replicated log's idempotency table, list in one order on every replica.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// An account. Its id is the user id of backup requests and the account id of IPLS requests.
    Account(UserId),
    /// The fleet's operator: the consensus leader's timer (`Sweep`) and the key-transparency monitor
    /// (`ObserveRoot`). Never a principal for user-scoped requests.
    Operator,
}

/// Appends `len8(id) || id` (a `UserId` is 1 to 255 bytes long).
pub(crate) fn put_user_id(out: &mut Vec<u8>, id: &UserId) {
    out.push(id.as_bytes().len() as u8);
    out.extend_from_slice(id.as_bytes());
}

const ACCOUNT: u8 = 0x01;
const OPERATOR: u8 = 0x02;

impl Principal {
    /// The account principal for `id`, the bytes the transport authenticated.
    pub fn account(id: &[u8]) -> Result<Self, backup_protocol::Error> {
        Ok(Self::Account(UserId::new(id.to_vec())?))
    }

    /// The principal's encoding, as in the command log: `0x01 || len8(id) || id` for an account, `0x02` for the
    /// operator.
    ///
    /// ```
    /// use vault_core::Principal;
    /// let alice = Principal::account(b"alice")?;
    /// assert_eq!(alice.to_bytes(), b"\x01\x05alice");
    /// assert_eq!(Principal::from_bytes(&alice.to_bytes()), Ok(alice));
    /// assert!(Principal::from_bytes(&[0x01, 0x00]).is_err()); // an empty account id
    /// # Ok::<(), backup_protocol::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 255);
        self.write(&mut out);
        out
    }

    /// Decodes [`Principal::to_bytes`]. Total: any input gives a principal or an error; trailing bytes are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let principal = Self::read(&mut reader)?;
        reader.finish()?;
        Ok(principal)
    }

    /// Appends [`Principal::to_bytes`].
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Account(id) => {
                out.push(ACCOUNT);
                put_user_id(out, id);
            }
            Self::Operator => out.push(OPERATOR),
        }
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8()? {
            ACCOUNT => UserId::new(reader.short_vec()?.to_vec())
                .map(Self::Account)
                .map_err(|_| DecodeError::InvalidField("principal account id")),
            OPERATOR => Ok(Self::Operator),
            _ => Err(DecodeError::InvalidField("principal")),
        }
    }
}
