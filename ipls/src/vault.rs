//! The vault's half of the escrow session: functions of the vault's IPLS key, the messages and a
//! [`PendingEscrow`] that the vault stores between them, so that a replicated vault can finish the session on any
//! replica.

use core::fmt;

use curve25519_dalek::montgomery::MontgomeryPoint;
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::codec::Reader;
use crate::error::Error;
use crate::ids::AccountId;
use crate::key::ContactKey;
use crate::messages::{
    CHALLENGE_LEN, EscrowAuth, EscrowChallenge, EscrowHello, EscrowPurpose, EscrowReply, IdentityProof,
};
use crate::session::{self, SessionKeys};

mod strict;

/// The vault's X25519 key for IPLS escrow sessions. Its public half is published in the fleet bundle (role
/// `IplsSession`); the secret half is zeroized on drop and never printed.
///
/// ```
/// use ed25519_dalek::SigningKey;
/// use ipls::{AccountId, ContactKey, EscrowClient, EscrowOutcome, IdentityProof, IplsVaultKey};
/// let mut rng = ipls::rand_core::OsRng;
/// let vault = IplsVaultKey::generate(&mut rng);
/// let account = AccountId::new(b"alice".to_vec())?;
/// let account_key = SigningKey::from_bytes(&[7; 32]);
/// // The key-transparency proof of `account_key`; the vault (vault-core) verifies it with kt-verify.
/// let proof = IdentityProof::new(b"witness-signed root".to_vec(), b"akd lookup proof".to_vec())?;
///
/// // Device 1 uploads CK.
/// let ck = ContactKey::generate(&mut rng);
/// let (device, hello) = EscrowClient::upload(&mut rng, &vault.public_key(), account.clone(), &ck)?;
/// let (pending, challenge) = vault.challenge(&mut rng, &hello)?; // the vault stores `pending`
/// let (device, auth) = device.authenticate(&challenge, &account_key, &proof)?;
/// let opened = vault.open(&pending, &auth)?;
/// assert_eq!(opened.account_key(), account_key.verifying_key().as_bytes());
/// assert_eq!(opened.identity_proof(), &proof);
/// let stored = opened.uploaded_key().expect("an upload").clone(); // the vault stores it
/// assert_eq!(device.finish(&opened.reply_stored())?, EscrowOutcome::Stored);
///
/// // Device 2 retrieves it.
/// let (device, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account)?;
/// let (pending, challenge) = vault.challenge(&mut rng, &hello)?;
/// let (device, auth) = device.authenticate(&challenge, &account_key, &proof)?;
/// let opened = vault.open(&pending, &auth)?;
/// assert_eq!(device.finish(&opened.reply_released(&stored))?, EscrowOutcome::Released(ck));
/// # Ok::<(), ipls::Error>(())
/// ```
#[derive(Clone)]
pub struct IplsVaultKey {
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

impl IplsVaultKey {
    /// Draws a fresh key.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        Self::from_secret(secret)
    }

    /// Loads a key from its 32 secret bytes (clamped on use, as X25519 does).
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        Self::from_secret(Zeroizing::new(*secret))
    }

    fn from_secret(secret: Zeroizing<[u8; 32]>) -> Self {
        let public = MontgomeryPoint::mul_base_clamped(*secret).to_bytes();
        Self { secret, public }
    }

    /// The secret bytes, for the fleet's key file.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.secret.clone()
    }

    /// The public key: what the fleet bundle publishes and devices encrypt to.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// Answers a hello with a fresh challenge, a fresh vault key share and a key confirmation. Refuses a hello
    /// addressed to another vault key ([`Error::WrongVaultKey`]) or with a small-order key share
    /// ([`Error::WeakKeyShare`]).
    ///
    /// The vault keeps the returned [`PendingEscrow`] (it holds the vault's ephemeral secret: store it as a
    /// secret, use it once, delete it) to [`open`](Self::open) the device's answer.
    pub fn challenge<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        hello: &EscrowHello,
    ) -> Result<(PendingEscrow, EscrowChallenge), Error> {
        if !bool::from(hello.vault_key.ct_eq(&self.public)) {
            return Err(Error::WrongVaultKey);
        }
        let mut challenge = EscrowChallenge {
            challenge: [0u8; CHALLENGE_LEN],
            key_share: [0u8; 32],
            confirmation: [0u8; 16],
        };
        rng.fill_bytes(&mut challenge.challenge);
        let mut ephemeral = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(ephemeral.as_mut());
        challenge.key_share = MontgomeryPoint::mul_base_clamped(*ephemeral).to_bytes();
        let mut pending = PendingEscrow {
            hello: hello.clone(),
            challenge,
            ephemeral,
        };
        let (keys, th) = self.session(&pending)?;
        pending.challenge.confirmation = keys.confirmation(&th);
        let challenge = pending.challenge.clone();
        Ok((pending, challenge))
    }

    /// Opens the device's answer to the session `pending` and checks the account's signature over the transcript
    /// with the account key the device presents.
    ///
    /// What this does not check, and the caller must: that the presented key is the account's current key, by
    /// verifying [`OpenedEscrow::identity_proof`] (vault-core does, with kt-verify), and that the session is fresh
    /// and used once.
    pub fn open(&self, pending: &PendingEscrow, auth: &EscrowAuth) -> Result<OpenedEscrow, Error> {
        if !bool::from(auth.challenge.ct_eq(&pending.challenge.challenge)) {
            return Err(Error::WrongChallenge);
        }
        let (keys, th) = self.session(pending)?;
        let payload = keys.open_auth(&th, &auth.ciphertext)?;

        let mut reader = Reader::new(&payload);
        let account_key: [u8; 32] = reader.array()?;
        let signature: [u8; 64] = reader.array()?;
        let identity_proof = IdentityProof::read(&mut reader)?;
        let uploaded_key = match pending.hello.purpose {
            EscrowPurpose::Upload => Some(ContactKey::from_bytes(reader.array()?)),
            EscrowPurpose::Retrieve => None,
        };
        reader.finish()?;
        verify_signature(&account_key, &signature, &session::signed_message(&th))?;

        Ok(OpenedEscrow {
            account: pending.hello.account.clone(),
            purpose: pending.hello.purpose,
            account_key,
            identity_proof,
            uploaded_key,
            keys,
            th_reply: session::reply_transcript(&th, &auth.to_bytes()),
        })
    }

    /// The session keys and transcript hash of `pending` (its confirmation is not read).
    fn session(&self, pending: &PendingEscrow) -> Result<(SessionKeys, [u8; 32]), Error> {
        let static_shared = session::diffie_hellman(&self.secret, &pending.hello.key_share)?;
        let ephemeral_shared = session::diffie_hellman(&pending.ephemeral, &pending.hello.key_share)?;
        let hello = pending.hello.to_bytes();
        let keys = SessionKeys::derive(&static_shared, &ephemeral_shared, &hello, &pending.challenge);
        Ok((keys, session::transcript(&hello, &pending.challenge)))
    }
}

/// The vault's state of one escrow session between its challenge and the device's answer: the hello, the
/// challenge it sent and its ephemeral X25519 secret. Zeroized on drop; `Debug` prints no secret.
#[derive(Clone)]
pub struct PendingEscrow {
    hello: EscrowHello,
    challenge: EscrowChallenge,
    ephemeral: Zeroizing<[u8; 32]>,
}

impl PendingEscrow {
    /// The hello of the session.
    pub fn hello(&self) -> &EscrowHello {
        &self.hello
    }

    /// The challenge the vault sent; its challenge bytes name the session.
    pub fn challenge(&self) -> &EscrowChallenge {
        &self.challenge
    }

    /// Encodes the state for the vault's storage: `0x01 || 0x77 || ephemeral secret (32) || challenge message (82)
    /// || hello message`. Holds a secret: zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<alloc::vec::Vec<u8>> {
        let hello = self.hello.to_bytes();
        let challenge = self.challenge.to_bytes();
        let mut out = Zeroizing::new(crate::codec::header(PENDING_ESCROW, 32 + challenge.len() + hello.len()));
        out.extend_from_slice(self.ephemeral.as_ref());
        out.extend_from_slice(&challenge);
        out.extend_from_slice(&hello);
        out
    }

    /// Decodes the state. Total.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::header(bytes, PENDING_ESCROW)?;
        let ephemeral = Zeroizing::new(reader.array()?);
        let challenge = EscrowChallenge::from_bytes(reader.take(EscrowChallenge::LEN)?)?;
        let hello = EscrowHello::from_bytes(reader.rest())?;
        Ok(Self {
            hello,
            challenge,
            ephemeral,
        })
    }
}

impl fmt::Debug for PendingEscrow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingEscrow")
            .field("hello", &self.hello)
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

/// The type byte of a stored [`PendingEscrow`].
const PENDING_ESCROW: u8 = 0x77;

/// Strict Ed25519 under the workspace's one rule (SPEC §9 step 4, `strict.rs`): the account key must be the canonical
/// encoding of a curve point not of small order (else [`Error::InvalidAccountKey`], whichever check fails), then
/// `S < l` and `verify_strict` (else [`Error::BadSignature`]).
fn verify_signature(key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> Result<(), Error> {
    let key = strict::strict_verifying_key(key).map_err(|_| Error::InvalidAccountKey)?;
    if strict::verify(&key, message, signature) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

impl fmt::Debug for IplsVaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IplsVaultKey")
            .field("public", &crate::hex::Hex(&self.public))
            .finish_non_exhaustive()
    }
}

/// A device's authenticated request, opened by the vault: the account, the key that signed the transcript, its
/// identity proof and (for an upload) CK. Answer it with [`reply_stored`](Self::reply_stored) or
/// [`reply_released`](Self::reply_released) once the identity proof is verified and storage updated.
pub struct OpenedEscrow {
    account: AccountId,
    purpose: EscrowPurpose,
    account_key: [u8; 32],
    identity_proof: IdentityProof,
    uploaded_key: Option<ContactKey>,
    keys: SessionKeys,
    th_reply: [u8; 32],
}

impl OpenedEscrow {
    /// The account the session is for (from the hello, which the signature covers).
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// Upload or retrieve.
    pub fn purpose(&self) -> EscrowPurpose {
        self.purpose
    }

    /// The Ed25519 public key that signed the transcript. Not yet proven to be the account's.
    pub fn account_key(&self) -> &[u8; 32] {
        &self.account_key
    }

    /// The device's proof that [`account_key`](Self::account_key) is the account's current key.
    pub fn identity_proof(&self) -> &IdentityProof {
        &self.identity_proof
    }

    /// CK, for an upload.
    pub fn uploaded_key(&self) -> Option<&ContactKey> {
        self.uploaded_key.as_ref()
    }

    /// The acknowledgement of an upload, encrypted to the session.
    pub fn reply_stored(self) -> EscrowReply {
        EscrowReply {
            ciphertext: self.keys.seal_reply(&self.th_reply, &[]),
        }
    }

    /// `key` encrypted to the session, for a retrieval.
    pub fn reply_released(self, key: &ContactKey) -> EscrowReply {
        EscrowReply {
            ciphertext: self.keys.seal_reply(&self.th_reply, key.expose_secret()),
        }
    }
}

impl fmt::Debug for OpenedEscrow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedEscrow")
            .field("account", &self.account)
            .field("purpose", &self.purpose)
            .field("account_key", &crate::hex::Hex(&self.account_key))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::strict::p_plus;
    use super::*;
    use alloc::vec;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn account_key_follows_the_one_key_rule() {
        let signature = SigningKey::from_bytes(&[3; 32]).sign(b"m").to_bytes();
        // y = p and y = p + 1 with either sign bit (ed25519-dalek decodes all four), a non-canonical encoding of
        // a large-order point, the identity (small order) and y = 2 (off the curve): each InvalidAccountKey.
        let mut refused = vec![p_plus(0, 0), p_plus(0, 0x80), p_plus(1, 0), p_plus(1, 0x80)];
        refused.extend(
            (2..19)
                .map(|k| p_plus(k, 0))
                .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_ok_and(|key| !key.is_weak())),
        );
        let mut identity = [0; 32];
        identity[0] = 1;
        let mut not_a_point = [0; 32];
        not_a_point[0] = 2;
        refused.extend([identity, not_a_point]);
        assert_eq!(refused.len(), 7);
        for key in refused {
            assert_eq!(
                verify_signature(&key, &signature, b"m"),
                Err(Error::InvalidAccountKey),
                "{key:02x?}"
            );
        }
        // The key check comes before the signature: a strong key with a wrong signature is BadSignature.
        let strong = SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes();
        assert_eq!(verify_signature(&strong, &signature, b"m"), Ok(()));
        assert_eq!(
            verify_signature(&strong, &signature, b"other"),
            Err(Error::BadSignature)
        );
    }
}
