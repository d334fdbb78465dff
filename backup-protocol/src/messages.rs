//! The nine wire messages of the protocol and their byte encodings.
//!
//! Every encoding is `version (1) || type code (1) || len(user id) (1) || user id || fixed-length fields`, with no
//! trailing bytes. `from_bytes` is total and also checks that every OPAQUE field is a valid OPAQUE value (group
//! elements on the curve, and so on), so a message that parses is well-formed.

use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::{SIGNATURE_LENGTH, Signature};
use opaque_ke::errors::ProtocolError;
use opaque_ke::generic_array::typenum::Unsigned;
use opaque_ke::{
    CredentialFinalization, CredentialFinalizationLen, CredentialRequest, CredentialRequestLen, CredentialResponse,
    CredentialResponseLen, RegistrationRequestLen, RegistrationResponseLen, RegistrationUploadLen,
};

use crate::codec::{self, Reader};
use crate::error::{DecodeError, Error, decode};
use crate::key::UserId;
use crate::labels::type_code;
use crate::suite::{KsfParams, Suite};
use crate::wrap::{CHALLENGE_LEN, NONCE_LEN, RECEIPT_TAG_LEN, RELEASE_LEN, WrappedKey};

pub(crate) const OPAQUE_REGISTRATION_REQUEST_LEN: usize = <RegistrationRequestLen<Suite> as Unsigned>::USIZE;
pub(crate) const OPAQUE_REGISTRATION_RESPONSE_LEN: usize = <RegistrationResponseLen<Suite> as Unsigned>::USIZE;
pub(crate) const OPAQUE_REGISTRATION_UPLOAD_LEN: usize = <RegistrationUploadLen<Suite> as Unsigned>::USIZE;
pub(crate) const OPAQUE_CREDENTIAL_REQUEST_LEN: usize = <CredentialRequestLen<Suite> as Unsigned>::USIZE;
pub(crate) const OPAQUE_CREDENTIAL_RESPONSE_LEN: usize = <CredentialResponseLen<Suite> as Unsigned>::USIZE;
pub(crate) const OPAQUE_CREDENTIAL_FINALIZATION_LEN: usize = <CredentialFinalizationLen<Suite> as Unsigned>::USIZE;

/// Reads a fixed-length OPAQUE field and lets opaque-ke validate it.
pub(crate) fn read_opaque<T>(
    reader: &mut Reader<'_>,
    len: usize,
    field: &'static str,
    parse: impl FnOnce(&[u8]) -> Result<T, ProtocolError>,
) -> Result<T, DecodeError> {
    parse(reader.take(len)?).map_err(|_| DecodeError::InvalidField(field))
}

/// An OPAQUE message together with its encoding, computed once: signatures and `to_bytes` reuse the bytes instead
/// of compressing the same curve points again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Encoded<T, const N: usize> {
    pub(crate) value: T,
    pub(crate) bytes: [u8; N],
}

impl<T, const N: usize> Encoded<T, N> {
    /// Pairs a value with its serialization, whose length the OPAQUE types fix at `N`.
    pub(crate) fn new(value: T, serialize: impl FnOnce(&T) -> Vec<u8>) -> Self {
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(&serialize(&value));
        Self { value, bytes }
    }

    pub(crate) fn read(
        reader: &mut Reader<'_>,
        field: &'static str,
        parse: impl FnOnce(&[u8]) -> Result<T, ProtocolError>,
    ) -> Result<Self, DecodeError> {
        let bytes = reader.array::<N>()?;
        let value = parse(&bytes).map_err(|_| DecodeError::InvalidField(field))?;
        Ok(Self { value, bytes })
    }
}

fn read_signature(reader: &mut Reader<'_>) -> Result<Signature, DecodeError> {
    // Any 64 bytes parse; strict verification rejects non-canonical values later.
    Ok(Signature::from_bytes(&reader.array::<SIGNATURE_LENGTH>()?))
}

/// One encoding: its type code, its name in errors, and its body after the header and user id.
pub(crate) trait Encoding: Sized {
    const TYPE: u8;
    const WHAT: &'static str;
    fn user_id(&self) -> &UserId;
    fn write_body(&self, out: &mut Vec<u8>);
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    fn encode(&self) -> Vec<u8> {
        let mut out = codec::header(Self::TYPE, 256);
        self.user_id().write(&mut out);
        self.write_body(&mut out);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let parse = || {
            let mut reader = Reader::header(bytes, Self::TYPE)?;
            let user_id = UserId::read(&mut reader)?;
            let value = Self::read_body(user_id, &mut reader)?;
            reader.finish()?;
            Ok(value)
        };
        parse().map_err(decode(Self::WHAT))
    }
}

/// Gives a message type its public `to_bytes`, `from_bytes` and `user_id`.
macro_rules! wire_methods {
    ($name:ident) => {
        impl $name {
            /// Encodes the message.
            pub fn to_bytes(&self) -> Vec<u8> {
                Encoding::encode(self)
            }

            /// Decodes a message; any input gives the message or a typed error.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
                <Self as Encoding>::decode(bytes)
            }

            /// The account the message is for.
            pub fn user_id(&self) -> &UserId {
                &self.user_id
            }
        }
    };
}

/// Client → vault: starts registration. Body: OPAQUE `RegistrationRequest` (32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationRequest {
    pub(crate) user_id: UserId,
    pub(crate) opaque: Encoded<opaque_ke::RegistrationRequest<Suite>, OPAQUE_REGISTRATION_REQUEST_LEN>,
}
wire_methods!(RegistrationRequest);

impl Encoding for RegistrationRequest {
    const TYPE: u8 = type_code::REGISTRATION_REQUEST;
    const WHAT: &'static str = "registration request";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.opaque.bytes);
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let opaque = Encoded::read(
            reader,
            "OPAQUE registration request",
            opaque_ke::RegistrationRequest::deserialize,
        )?;
        Ok(Self { user_id, opaque })
    }
}

/// Vault → client: the OPAQUE registration response, the vault's challenge and its signature.
/// Body: challenge (32) || OPAQUE `RegistrationResponse` (64) || Ed25519 signature (64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationResponse {
    pub(crate) user_id: UserId,
    pub(crate) challenge: [u8; CHALLENGE_LEN],
    pub(crate) opaque: Encoded<opaque_ke::RegistrationResponse<Suite>, OPAQUE_REGISTRATION_RESPONSE_LEN>,
    pub(crate) signature: Signature,
}
wire_methods!(RegistrationResponse);

impl Encoding for RegistrationResponse {
    const TYPE: u8 = type_code::REGISTRATION_RESPONSE;
    const WHAT: &'static str = "registration response";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.challenge);
        out.extend_from_slice(&self.opaque.bytes);
        out.extend_from_slice(&self.signature.to_bytes());
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id,
            challenge: reader.array()?,
            opaque: Encoded::read(
                reader,
                "OPAQUE registration response",
                opaque_ke::RegistrationResponse::deserialize,
            )?,
            signature: read_signature(reader)?,
        })
    }
}

/// What a registration leaves with the vault, the same in the upload and in the stored record:
/// Argon2id parameters (12) || OPAQUE `RegistrationUpload` (192) || challenge (32) || K_NONCE (12) || EK (48).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Registered {
    pub(crate) ksf: KsfParams,
    pub(crate) opaque: Encoded<opaque_ke::RegistrationUpload<Suite>, OPAQUE_REGISTRATION_UPLOAD_LEN>,
    pub(crate) wrapped: WrappedKey,
}

impl Registered {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ksf.to_bytes());
        out.extend_from_slice(&self.opaque.bytes);
        self.wrapped.write(out);
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            ksf: KsfParams::read(reader)?,
            opaque: Encoded::read(
                reader,
                "OPAQUE registration upload",
                opaque_ke::RegistrationUpload::deserialize,
            )?,
            wrapped: WrappedKey::read(reader)?,
        })
    }
}

/// Client → vault: the OPAQUE record and the wrapped backup key EK.
/// Body: Argon2id parameters (12) || OPAQUE `RegistrationUpload` (192) || challenge (32) || K_NONCE (12) || EK (48).
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationUpload {
    pub(crate) user_id: UserId,
    pub(crate) registered: Registered,
}
wire_methods!(RegistrationUpload);

impl Encoding for RegistrationUpload {
    const TYPE: u8 = type_code::REGISTRATION_UPLOAD;
    const WHAT: &'static str = "registration upload";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        self.registered.write(out);
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id,
            registered: Registered::read(reader)?,
        })
    }
}

impl fmt::Debug for RegistrationUpload {
    // The OPAQUE record holds the masking key, which the vault keeps to itself: print only the routing fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationUpload")
            .field("user_id", &self.user_id)
            .field("ksf", &self.registered.ksf)
            .finish_non_exhaustive()
    }
}

/// Vault → client: the vault's signed statement that it stored this registration's upload, byte for byte.
/// Body: Ed25519 signature (64) over `REGISTRATION_RECEIPT_SIGNATURE || version || user id || upload body`.
///
/// A relay that drops the upload cannot make this receipt, so a client that holds a valid one knows that K is
/// escrowed ([`crate::PendingRegistrationReceipt::verify`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationReceipt {
    pub(crate) user_id: UserId,
    pub(crate) signature: Signature,
}
wire_methods!(RegistrationReceipt);

impl Encoding for RegistrationReceipt {
    const TYPE: u8 = type_code::REGISTRATION_RECEIPT;
    const WHAT: &'static str = "registration receipt";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.signature.to_bytes());
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id,
            signature: read_signature(reader)?,
        })
    }
}

/// What a login is for. The purpose travels in the [`LoginRequest`], is covered by the vault's signature and is
/// part of the OPAQUE context, so changing it in transit makes the exchange fail instead of, say, turning a
/// retrieval into a deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginPurpose {
    /// Release EK to the client (code `0x01`).
    RetrieveKey,
    /// Delete the user's record; nothing is released (code `0x02`).
    DeleteRecord,
}

impl LoginPurpose {
    /// The purpose's one-byte code.
    pub fn code(self) -> u8 {
        match self {
            Self::RetrieveKey => 0x01,
            Self::DeleteRecord => 0x02,
        }
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8()? {
            0x01 => Ok(Self::RetrieveKey),
            0x02 => Ok(Self::DeleteRecord),
            _ => Err(DecodeError::InvalidField("login purpose")),
        }
    }
}

/// Client → vault: starts a login (the vault charges one attempt before answering). Body: purpose (1) || OPAQUE
/// `CredentialRequest` (96).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRequest {
    pub(crate) user_id: UserId,
    pub(crate) purpose: LoginPurpose,
    pub(crate) opaque: Encoded<CredentialRequest<Suite>, OPAQUE_CREDENTIAL_REQUEST_LEN>,
}
wire_methods!(LoginRequest);

impl LoginRequest {
    /// What the login is for.
    pub fn purpose(&self) -> LoginPurpose {
        self.purpose
    }
}

impl Encoding for LoginRequest {
    const TYPE: u8 = type_code::LOGIN_REQUEST;
    const WHAT: &'static str = "login request";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.push(self.purpose.code());
        out.extend_from_slice(&self.opaque.bytes);
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let purpose = LoginPurpose::read(reader)?;
        let opaque = Encoded::read(reader, "OPAQUE credential request", CredentialRequest::deserialize)?;
        Ok(Self {
            user_id,
            purpose,
            opaque,
        })
    }
}

/// Vault → client: the OPAQUE credential response, the record's Argon2id parameters, the guesses left after the
/// one this login was charged, and the vault's signature over all of them.
/// Body: Argon2id parameters (12) || guesses remaining (4, big-endian) || OPAQUE `CredentialResponse` (320) ||
/// Ed25519 signature (64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginResponse {
    pub(crate) user_id: UserId,
    pub(crate) ksf: KsfParams,
    pub(crate) guesses_remaining: u32,
    pub(crate) opaque: Encoded<CredentialResponse<Suite>, OPAQUE_CREDENTIAL_RESPONSE_LEN>,
    pub(crate) signature: Signature,
}
wire_methods!(LoginResponse);

impl Encoding for LoginResponse {
    const TYPE: u8 = type_code::LOGIN_RESPONSE;
    const WHAT: &'static str = "login response";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ksf.to_bytes());
        out.extend_from_slice(&self.guesses_remaining.to_be_bytes());
        out.extend_from_slice(&self.opaque.bytes);
        out.extend_from_slice(&self.signature.to_bytes());
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id,
            ksf: KsfParams::read(reader)?,
            guesses_remaining: reader.u32()?,
            opaque: Encoded::read(reader, "OPAQUE credential response", CredentialResponse::deserialize)?,
            signature: read_signature(reader)?,
        })
    }
}

/// Client → vault: the OPAQUE key-exchange finalization. Body: OPAQUE `CredentialFinalization` (64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFinalization {
    pub(crate) user_id: UserId,
    pub(crate) opaque: Encoded<CredentialFinalization<Suite>, OPAQUE_CREDENTIAL_FINALIZATION_LEN>,
}
wire_methods!(LoginFinalization);

impl Encoding for LoginFinalization {
    const TYPE: u8 = type_code::LOGIN_FINALIZATION;
    const WHAT: &'static str = "login finalization";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.opaque.bytes);
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let opaque = Encoded::read(
            reader,
            "OPAQUE credential finalization",
            CredentialFinalization::deserialize,
        )?;
        Ok(Self { user_id, opaque })
    }
}

/// Vault → client: EK, K_NONCE and the registration challenge, sealed under SHARED_K.
/// Body: nonce (12) || AES-256-GCM ciphertext of challenge || K_NONCE || EK (92) || tag (16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRelease {
    pub(crate) user_id: UserId,
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) sealed: [u8; RELEASE_LEN],
}
wire_methods!(KeyRelease);

impl Encoding for KeyRelease {
    const TYPE: u8 = type_code::KEY_RELEASE;
    const WHAT: &'static str = "key release";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.sealed);
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id,
            nonce: reader.array()?,
            sealed: reader.array()?,
        })
    }
}

/// Vault → client: proof that the vault deleted the record at the end of a deletion login.
/// Body: HMAC-SHA256 tag (32) under DELETED_K, a key derived from that login's OPAQUE session key, which only the
/// client and the vault hold; see [`crate::PendingDeletionReceipt::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionReceipt {
    pub(crate) user_id: UserId,
    pub(crate) tag: [u8; RECEIPT_TAG_LEN],
}
wire_methods!(DeletionReceipt);

impl Encoding for DeletionReceipt {
    const TYPE: u8 = type_code::DELETION_RECEIPT;
    const WHAT: &'static str = "deletion receipt";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tag);
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id,
            tag: reader.array()?,
        })
    }
}
