//! Commands and responses: the vault's whole input and output, and the command log format.
//!
//! A command carries the time and the entropy chosen by whoever orders commands (the consensus leader), so that
//! applying the same command log gives the same state and the same responses on every replica.

use core::fmt;
use std::vec::Vec;

use backup_protocol::codec::{self, Reader};
use backup_protocol::{
    DecodeError, DeletionReceipt, KeyRelease, LoginFinalization, LoginRequest, LoginResponse, RegistrationReceipt,
    RegistrationRequest, RegistrationResponse, RegistrationUpload,
};
#[cfg(feature = "ipls")]
use ipls::{EscrowAuth, EscrowChallenge, EscrowHello, EscrowReply};
use zeroize::{Zeroize, Zeroizing};

use crate::principal::Principal;
use crate::records::SESSION_ID_LEN;

const COMMAND_TYPE: u8 = 0x51;
const RESPONSE_TYPE: u8 = 0x52;

/// Length of a command's entropy.
pub const ENTROPY_LEN: usize = 32;

/// One request to the vault with the principal it comes from and the time and entropy it is to be applied with.
///
/// The principal is what the transport authenticated, never what the request says about itself: the vault
/// refuses a principal acting on another account's entries ([`VaultError::Forbidden`](crate::VaultError)).
///
/// The entropy seeds every random value the command draws (challenges, nonces, OPAQUE server key shares), so the
/// command log is as secret as the vault's state: it must stay inside the HSM fleet. It is zeroized on drop and
/// `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Milliseconds since the Unix epoch, as chosen by the leader.
    ///
    /// It need not increase from one command to the next, and nothing refuses a command for going back in time:
    /// every lifetime check is `at_ms − issued_at_ms > ttl` with a saturating subtraction, so an `at_ms` earlier
    /// than an entry's issue time makes that entry look fresh (lifetimes stretch by the clock's skew, never
    /// shrink), and the witness-freshness check of IPLS roots and `ObserveRoot` judges roots by it too. A leader
    /// should stamp `max(its clock, the last applied at_ms)` (SPEC §10).
    pub at_ms: u64,
    /// Fresh randomness from a CSPRNG, chosen by the leader.
    pub entropy: [u8; ENTROPY_LEN],
    /// Who sent the request, as the transport authenticated it.
    pub principal: Principal,
    /// What the client asked for.
    pub request: Request,
}

/// What a client can ask the vault.
///
/// Non-exhaustive: the IPLS requests exist only with the `ipls` feature (on by default).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// Start registering (or re-registering) a backup key.
    RegistrationStart(RegistrationRequest),
    /// Finish a registration with the OPAQUE record and EK.
    RegistrationFinish(RegistrationUpload),
    /// Start a login; charges one attempt before answering.
    LoginStart(LoginRequest),
    /// Finish a login: releases EK, or deletes the record, depending on the login's purpose.
    LoginFinish {
        /// The session id the vault answered the login start with.
        session: [u8; SESSION_ID_LEN],
        /// The client's OPAQUE finalization.
        finalization: LoginFinalization,
    },
    #[cfg(feature = "ipls")]
    /// Open an IPLS escrow session (upload or retrieve an account's contact key).
    IplsHello(EscrowHello),
    #[cfg(feature = "ipls")]
    /// Authenticate an IPLS escrow session with the account key and its key-transparency proof.
    IplsAuth(EscrowAuth),
    /// Delete the registration challenges, login sessions and escrow sessions that have expired at the command's
    /// time, one page at a time (at most [`VaultConfig::sweep_page`](crate::VaultConfig) entries examined per
    /// command). Sent by the operator (for example the leader, periodically): starts store sessions, and nothing
    /// else removes the ones never finished.
    Sweep {
        /// Where this page starts: empty for a new pass, otherwise the `next` of the previous page's
        /// [`Response::Swept`].
        cursor: Vec<u8>,
    },
    #[cfg(feature = "ipls")]
    /// A new witness-signed key-transparency root (Plexi protobuf `SignedRoot`), sent by the operator's monitor at
    /// every epoch: from then on identity proofs against older roots are refused, so a replaced account key stops
    /// unlocking CK at once rather than when a session first uses the new root.
    ObserveRoot(Vec<u8>),
}

/// The vault's answer to a command that succeeded.
// Responses are built once and moved to the transport; boxing the large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// The signed registration response with its challenge.
    RegistrationStarted(RegistrationResponse),
    /// The record is stored; the receipt (the fleet key's signature over the stored upload) proves it to the
    /// client.
    Registered(RegistrationReceipt),
    /// The signed login response; the client sends its finalization with `session`.
    LoginStarted {
        /// Identifies this login at the finish.
        session: [u8; SESSION_ID_LEN],
        /// The signed OPAQUE credential response.
        response: LoginResponse,
    },
    /// EK sealed under the login's session key.
    KeyReleased(KeyRelease),
    /// The record was deleted at the password holder's request; the receipt (a MAC under a key from the login's
    /// session key) proves it to the client.
    Deleted(DeletionReceipt),
    #[cfg(feature = "ipls")]
    /// The IPLS challenge with the vault's key confirmation.
    IplsChallenge(EscrowChallenge),
    #[cfg(feature = "ipls")]
    /// The IPLS reply: CK (retrieval) or the acknowledgement (upload), encrypted to the session.
    IplsReply(EscrowReply),
    /// How many expired challenges and sessions this page of the sweep deleted, and where the next page starts.
    Swept {
        /// Entries deleted.
        removed: u32,
        /// The cursor of the next page, or `None` once the pass has reached the end.
        next: Option<Vec<u8>>,
    },
    #[cfg(feature = "ipls")]
    /// The observed root is verified; the vault's newest root is at least this epoch.
    RootObserved {
        /// The observed root's epoch.
        epoch: u64,
    },
}

impl Command {
    /// Encodes the command for the log:
    /// `version || 0x51 || at_ms (8) || entropy (32) || principal || kind (1) || [session (16) if kind = 4] ||
    /// message`, where principal is `0x01 || len8(account id) || account id` or `0x02` (operator), kind is
    /// 1 registration start, 2 registration finish, 3 login start, 4 login finish, 5 IPLS hello, 6 IPLS auth,
    /// 7 sweep (the message is the cursor), 8 observe root (the signed root's protobuf), and the message is the
    /// backup-protocol or ipls encoding (last).
    /// The encoding holds the entropy, so it is zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(codec::header(COMMAND_TYPE, 64 + 400));
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out.extend_from_slice(&self.entropy);
        self.principal.write(&mut out);
        match &self.request {
            Request::RegistrationStart(message) => {
                out.push(1);
                out.extend_from_slice(&message.to_bytes());
            }
            Request::RegistrationFinish(message) => {
                out.push(2);
                out.extend_from_slice(&message.to_bytes());
            }
            Request::LoginStart(message) => {
                out.push(3);
                out.extend_from_slice(&message.to_bytes());
            }
            Request::LoginFinish { session, finalization } => {
                out.push(4);
                out.extend_from_slice(session);
                out.extend_from_slice(&finalization.to_bytes());
            }
            #[cfg(feature = "ipls")]
            Request::IplsHello(message) => {
                out.push(5);
                out.extend_from_slice(&message.to_bytes());
            }
            #[cfg(feature = "ipls")]
            Request::IplsAuth(message) => {
                out.push(6);
                out.extend_from_slice(&message.to_bytes());
            }
            Request::Sweep { cursor } => {
                out.push(7);
                out.extend_from_slice(cursor);
            }
            #[cfg(feature = "ipls")]
            Request::ObserveRoot(signed_root) => {
                out.push(8);
                out.extend_from_slice(signed_root);
            }
        }
        out
    }

    /// Decodes a logged command. Total: any input gives a command or an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, COMMAND_TYPE)?;
        let at_ms = reader.u64()?;
        let entropy = reader.array()?;
        let principal = Principal::read(&mut reader)?;
        let kind = reader.u8()?;
        let invalid = |_| DecodeError::InvalidField("request message");
        #[cfg(feature = "ipls")]
        let invalid_ipls = |_: ipls::Error| DecodeError::InvalidField("request message");
        let request = match kind {
            1 => Request::RegistrationStart(RegistrationRequest::from_bytes(reader.rest()).map_err(invalid)?),
            2 => Request::RegistrationFinish(RegistrationUpload::from_bytes(reader.rest()).map_err(invalid)?),
            3 => Request::LoginStart(LoginRequest::from_bytes(reader.rest()).map_err(invalid)?),
            4 => Request::LoginFinish {
                session: reader.array()?,
                finalization: LoginFinalization::from_bytes(reader.rest()).map_err(invalid)?,
            },
            #[cfg(feature = "ipls")]
            5 => Request::IplsHello(EscrowHello::from_bytes(reader.rest()).map_err(invalid_ipls)?),
            #[cfg(feature = "ipls")]
            6 => Request::IplsAuth(EscrowAuth::from_bytes(reader.rest()).map_err(invalid_ipls)?),
            7 => Request::Sweep {
                cursor: reader.rest().to_vec(),
            },
            #[cfg(feature = "ipls")]
            8 => Request::ObserveRoot(reader.rest().to_vec()),
            _ => return Err(DecodeError::InvalidField("request kind")),
        };
        reader.finish()?;
        Ok(Self {
            at_ms,
            entropy,
            principal,
            request,
        })
    }
}

impl Response {
    /// Encodes the response, for a transport or for a replicated log's record of answered requests:
    /// `version || 0x52 || kind (1) || [session (16) if kind = 3] || message`, where kind is 1 registration
    /// started, 2 registered, 3 login started, 4 key released, 5 deleted, 6 IPLS challenge, 7 IPLS reply, 8 swept
    /// (`removed`, 4 bytes, then `0x00` at the end of the pass or `0x01 || next cursor`), 9 root observed (`epoch`,
    /// 8 bytes), and the message is the backup-protocol or ipls encoding (for kinds 2 and 5, the receipt).
    ///
    /// ```
    /// use vault_core::Response;
    /// let swept = Response::Swept { removed: 3, next: Some(b"login/".to_vec()) };
    /// assert_eq!(Response::from_bytes(&swept.to_bytes()), Ok(swept));
    /// assert!(Response::from_bytes(&[0x01, 0x52, 9]).is_err());
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(RESPONSE_TYPE, 1 + 16 + 400);
        match self {
            Self::RegistrationStarted(message) => {
                out.push(1);
                out.extend_from_slice(&message.to_bytes());
            }
            Self::Registered(receipt) => {
                out.push(2);
                out.extend_from_slice(&receipt.to_bytes());
            }
            Self::LoginStarted { session, response } => {
                out.push(3);
                out.extend_from_slice(session);
                out.extend_from_slice(&response.to_bytes());
            }
            Self::KeyReleased(message) => {
                out.push(4);
                out.extend_from_slice(&message.to_bytes());
            }
            Self::Deleted(receipt) => {
                out.push(5);
                out.extend_from_slice(&receipt.to_bytes());
            }
            #[cfg(feature = "ipls")]
            Self::IplsChallenge(message) => {
                out.push(6);
                out.extend_from_slice(&message.to_bytes());
            }
            #[cfg(feature = "ipls")]
            Self::IplsReply(message) => {
                out.push(7);
                out.extend_from_slice(&message.to_bytes());
            }
            Self::Swept { removed, next } => {
                out.push(8);
                out.extend_from_slice(&removed.to_be_bytes());
                match next {
                    None => out.push(0x00),
                    Some(cursor) => {
                        out.push(0x01);
                        out.extend_from_slice(cursor);
                    }
                }
            }
            #[cfg(feature = "ipls")]
            Self::RootObserved { epoch } => {
                out.push(9);
                out.extend_from_slice(&epoch.to_be_bytes());
            }
        }
        out
    }

    /// Decodes a response. Total: any input gives a response or an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, RESPONSE_TYPE)?;
        let invalid = |_| DecodeError::InvalidField("response message");
        #[cfg(feature = "ipls")]
        let invalid_ipls = |_: ipls::Error| DecodeError::InvalidField("response message");
        let response = match reader.u8()? {
            1 => Self::RegistrationStarted(RegistrationResponse::from_bytes(reader.rest()).map_err(invalid)?),
            2 => Self::Registered(RegistrationReceipt::from_bytes(reader.rest()).map_err(invalid)?),
            3 => Self::LoginStarted {
                session: reader.array()?,
                response: LoginResponse::from_bytes(reader.rest()).map_err(invalid)?,
            },
            4 => Self::KeyReleased(KeyRelease::from_bytes(reader.rest()).map_err(invalid)?),
            5 => Self::Deleted(DeletionReceipt::from_bytes(reader.rest()).map_err(invalid)?),
            #[cfg(feature = "ipls")]
            6 => Self::IplsChallenge(EscrowChallenge::from_bytes(reader.rest()).map_err(invalid_ipls)?),
            #[cfg(feature = "ipls")]
            7 => Self::IplsReply(EscrowReply::from_bytes(reader.rest()).map_err(invalid_ipls)?),
            8 => Self::Swept {
                removed: reader.u32()?,
                next: match reader.u8()? {
                    0x00 => None,
                    0x01 => Some(reader.rest().to_vec()),
                    _ => return Err(DecodeError::InvalidField("sweep cursor")),
                },
            },
            #[cfg(feature = "ipls")]
            9 => Self::RootObserved { epoch: reader.u64()? },
            _ => return Err(DecodeError::InvalidField("response kind")),
        };
        reader.finish()?;
        Ok(response)
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        self.entropy.zeroize();
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("at_ms", &self.at_ms)
            .field("principal", &self.principal)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}
