//! Who sent a command, as the transport in front of the vault authenticated it.

use std::vec::Vec;

use backup_protocol::codec::Reader;
use backup_protocol::{DecodeError, UserId};

/// The principal a command acts for. The vault does not authenticate anyone itself: the transport in front of it
/// (in WhatsApp, the chat server connection) authenticates the account and names it here, and the vault refuses a
/// principal acting on another account's entries (SPEC.md, "Authorization").
#[derive(Clone, Debug, PartialEq, Eq)]
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

    /// `0x01 || len8(id) || id` for an account, `0x02` for the operator.
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
