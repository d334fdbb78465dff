//! The four escrow messages and the identity proof, as bytes on the wire.
//!
//! ```text
//! hello     = 0x01 || 0x72 || purpose (1) || vault key (32) || client key share (32) || len8(account) || account
//! challenge = 0x01 || 0x73 || challenge (32) || vault key share (32) || confirmation tag (16)
//! auth      = 0x01 || 0x74 || challenge (32) || AES-256-GCM ciphertext (at least 16)
//! reply     = 0x01 || 0x75 || AES-256-GCM ciphertext (16, or 48 with CK)
//! identity  = 0x01 || 0x76 || u16be(len) || witness-signed root || u16be(len) || lookup proof
//! ```
//!
//! SPEC.md gives what each field means and how the ciphertexts are made.

use alloc::vec::Vec;

use crate::codec::{self, Reader};
use crate::error::Error;
use crate::ids::AccountId;

const HELLO: u8 = 0x72;
const CHALLENGE: u8 = 0x73;
const AUTH: u8 = 0x74;
const REPLY: u8 = 0x75;
const IDENTITY: u8 = 0x76;

/// Length of the vault's challenge.
pub const CHALLENGE_LEN: usize = 32;
/// Length of an AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;

/// What the device asks the vault for in an escrow session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscrowPurpose {
    /// Store the account's contact key (the first device of an account). Refused if one is already stored.
    Upload,
    /// Release the account's contact key (a new device of the account).
    Retrieve,
}

impl EscrowPurpose {
    fn wire_byte(self) -> u8 {
        match self {
            Self::Upload => 0x01,
            Self::Retrieve => 0x02,
        }
    }

    fn from_wire_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            0x01 => Ok(Self::Upload),
            0x02 => Ok(Self::Retrieve),
            _ => Err(Error::InvalidField("escrow purpose")),
        }
    }
}

/// The device's first message: which vault key it trusts (from the fleet bundle), its ephemeral X25519 key share,
/// the account and the purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowHello {
    pub(crate) purpose: EscrowPurpose,
    pub(crate) vault_key: [u8; 32],
    pub(crate) key_share: [u8; 32],
    pub(crate) account: AccountId,
}

impl EscrowHello {
    /// The purpose of the session.
    pub fn purpose(&self) -> EscrowPurpose {
        self.purpose
    }

    /// The account the session is for.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The vault IPLS public key (X25519) the device encrypted to.
    pub fn vault_key(&self) -> &[u8; 32] {
        &self.vault_key
    }

    /// Encodes the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(HELLO, 1 + 64 + 256);
        out.push(self.purpose.wire_byte());
        out.extend_from_slice(&self.vault_key);
        out.extend_from_slice(&self.key_share);
        codec::put_len8(&mut out, self.account.as_bytes());
        out
    }

    /// Decodes the message. Total: any input gives a message or a typed error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::header(bytes, HELLO)?;
        let purpose = EscrowPurpose::from_wire_byte(reader.u8()?)?;
        let vault_key = reader.array()?;
        let key_share = reader.array()?;
        let account = AccountId::new(reader.len8()?.to_vec())?;
        reader.finish()?;
        Ok(Self {
            purpose,
            vault_key,
            key_share,
            account,
        })
    }
}

/// The vault's answer to a hello: a fresh challenge, a fresh X25519 key share of its own (so that every session
/// has fresh keys, even for a replayed hello, and recorded sessions stay secret if the IPLS key leaks later), and
/// a tag that proves it holds the IPLS secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowChallenge {
    pub(crate) challenge: [u8; CHALLENGE_LEN],
    pub(crate) key_share: [u8; 32],
    pub(crate) confirmation: [u8; TAG_LEN],
}

/// Length of the challenge message's body: version, type, challenge, vault key share.
pub(crate) const CHALLENGE_BODY_LEN: usize = 2 + CHALLENGE_LEN + 32;

impl EscrowChallenge {
    /// Length of the message.
    pub(crate) const LEN: usize = CHALLENGE_BODY_LEN + TAG_LEN;

    /// The challenge; the device's answer names it, and the vault finds the session by it.
    pub fn challenge(&self) -> &[u8; CHALLENGE_LEN] {
        &self.challenge
    }

    /// `0x01 || 0x73 || challenge || vault key share`: the part of the message the key schedule and the transcript
    /// take in (the tag is computed over it).
    pub(crate) fn body(&self) -> [u8; CHALLENGE_BODY_LEN] {
        let mut body = [0u8; CHALLENGE_BODY_LEN];
        body[0] = codec::VERSION;
        body[1] = CHALLENGE;
        body[2..2 + CHALLENGE_LEN].copy_from_slice(&self.challenge);
        body[2 + CHALLENGE_LEN..].copy_from_slice(&self.key_share);
        body
    }

    /// Encodes the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body().to_vec();
        out.extend_from_slice(&self.confirmation);
        out
    }

    /// Decodes the message. Total.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::header(bytes, CHALLENGE)?;
        let challenge = reader.array()?;
        let key_share = reader.array()?;
        let confirmation = reader.array()?;
        reader.finish()?;
        Ok(Self {
            challenge,
            key_share,
            confirmation,
        })
    }
}

/// The device's authentication: names the challenge, and carries (encrypted to the session) the account public
/// key, its signature over the transcript, the identity proof, and CK when uploading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowAuth {
    pub(crate) challenge: [u8; CHALLENGE_LEN],
    pub(crate) ciphertext: Vec<u8>,
}

impl EscrowAuth {
    /// The challenge this message answers.
    pub fn challenge(&self) -> &[u8; CHALLENGE_LEN] {
        &self.challenge
    }

    /// Encodes the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(AUTH, CHALLENGE_LEN + self.ciphertext.len());
        out.extend_from_slice(&self.challenge);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Decodes the message. Total.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::header(bytes, AUTH)?;
        let challenge = reader.array()?;
        let ciphertext = reader.rest();
        if ciphertext.len() < TAG_LEN {
            return Err(Error::Truncated);
        }
        Ok(Self {
            challenge,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// The vault's final answer, encrypted to the session: CK for a retrieval, an empty acknowledgement for an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowReply {
    pub(crate) ciphertext: Vec<u8>,
}

impl EscrowReply {
    /// Encodes the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(REPLY, self.ciphertext.len());
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Decodes the message. Total.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::header(bytes, REPLY)?;
        let ciphertext = reader.rest();
        if ciphertext.len() != TAG_LEN && ciphertext.len() != TAG_LEN + 32 {
            return Err(Error::InvalidField("reply length"));
        }
        Ok(Self {
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// What proves that an Ed25519 key is an account's current key: a key-transparency root signed by the witness,
/// and the directory's lookup proof for the account against that root.
///
/// Both parts are carried as the bytes their own formats define: the witness-signed root in Cloudflare Plexi's
/// protobuf `SignedRoot` encoding, the lookup proof as akd's protobuf `LookupProof`. This crate only carries them;
/// the vault verifies them (with `kt-verify`): AKD label = the account id bytes, AKD value = the 32-byte Ed25519
/// public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityProof {
    signed_root: Vec<u8>,
    lookup_proof: Vec<u8>,
}

impl IdentityProof {
    /// Each part is at most 65,535 bytes (an akd lookup proof is a few KiB).
    pub const MAX_PART_LEN: usize = u16::MAX as usize;

    /// Wraps the two proofs; refuses a part longer than [`MAX_PART_LEN`](Self::MAX_PART_LEN).
    ///
    /// ```
    /// use ipls::IdentityProof;
    /// let proof = IdentityProof::new(b"signed root".to_vec(), b"lookup proof".to_vec())?;
    /// assert_eq!(IdentityProof::from_bytes(&proof.to_bytes())?, proof);
    /// assert!(IdentityProof::new(vec![0; 70_000], vec![]).is_err());
    /// # Ok::<(), ipls::Error>(())
    /// ```
    pub fn new(signed_root: Vec<u8>, lookup_proof: Vec<u8>) -> Result<Self, Error> {
        if signed_root.len() > Self::MAX_PART_LEN || lookup_proof.len() > Self::MAX_PART_LEN {
            return Err(Error::InvalidField("identity proof part longer than 65,535 bytes"));
        }
        Ok(Self {
            signed_root,
            lookup_proof,
        })
    }

    /// The witness-signed root (Plexi protobuf `SignedRoot`).
    pub fn signed_root(&self) -> &[u8] {
        &self.signed_root
    }

    /// The akd lookup proof (protobuf `LookupProof`).
    pub fn lookup_proof(&self) -> &[u8] {
        &self.lookup_proof
    }

    /// Encodes the proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = codec::header(IDENTITY, 4 + self.signed_root.len() + self.lookup_proof.len());
        self.write(&mut out);
        out
    }

    /// Decodes the proof. Total.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::header(bytes, IDENTITY)?;
        let proof = Self::read(&mut reader)?;
        reader.finish()?;
        Ok(proof)
    }

    /// Reads the two length-prefixed parts (the proof inside a decrypted auth payload has no header).
    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, Error> {
        let signed_root = reader.len16()?.to_vec();
        let lookup_proof = reader.len16()?.to_vec();
        Ok(Self {
            signed_root,
            lookup_proof,
        })
    }

    /// Writes the two length-prefixed parts.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        codec::put_len16(out, &self.signed_root);
        codec::put_len16(out, &self.lookup_proof);
    }
}
