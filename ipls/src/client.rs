//! The device's half of the escrow session.

use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::{Signer, SigningKey};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::ids::AccountId;
use crate::key::ContactKey;
use crate::messages::{EscrowAuth, EscrowChallenge, EscrowHello, EscrowPurpose, EscrowReply, IdentityProof};
use crate::session::{self, SessionKeys};

/// A device's escrow session with the vault, before the vault's challenge.
///
/// Start it with [`upload`](Self::upload) (first device of an account) or [`retrieve`](Self::retrieve) (a new
/// device), send the hello, then [`authenticate`](Self::authenticate) to the challenge and
/// [`finish`](AwaitingReply::finish) with the reply. Each step consumes the previous state, so no session key
/// can serve twice. The example on [`IplsVaultKey`](crate::IplsVaultKey) runs the whole exchange.
pub struct EscrowClient {
    secret: Zeroizing<[u8; 32]>,
    static_shared: Zeroizing<[u8; 32]>,
    hello: Vec<u8>,
    upload: Option<ContactKey>,
}

impl EscrowClient {
    /// Starts a session that stores `key` as the contact key of `account`, encrypted to `vault_key`: the vault's
    /// IPLS public key (X25519), taken from a verified fleet bundle, never from the server being talked to.
    pub fn upload<R: CryptoRng + RngCore>(
        rng: &mut R,
        vault_key: &[u8; 32],
        account: AccountId,
        key: &ContactKey,
    ) -> Result<(Self, EscrowHello), Error> {
        Self::start(rng, vault_key, account, Some(key.clone()))
    }

    /// Starts a session that retrieves the contact key of `account` from the vault whose IPLS public key is
    /// `vault_key` (from a verified fleet bundle).
    pub fn retrieve<R: CryptoRng + RngCore>(
        rng: &mut R,
        vault_key: &[u8; 32],
        account: AccountId,
    ) -> Result<(Self, EscrowHello), Error> {
        Self::start(rng, vault_key, account, None)
    }

    fn start<R: CryptoRng + RngCore>(
        rng: &mut R,
        vault_key: &[u8; 32],
        account: AccountId,
        upload: Option<ContactKey>,
    ) -> Result<(Self, EscrowHello), Error> {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        let hello = EscrowHello {
            purpose: if upload.is_some() {
                EscrowPurpose::Upload
            } else {
                EscrowPurpose::Retrieve
            },
            vault_key: *vault_key,
            key_share: curve25519_dalek::MontgomeryPoint::mul_base_clamped(*secret).to_bytes(),
            account,
        };
        // Refuse a small-order vault key now, before anything is sent.
        let static_shared = session::diffie_hellman(&secret, vault_key)?;
        let client = Self {
            secret,
            static_shared,
            hello: hello.to_bytes(),
            upload,
        };
        Ok((client, hello))
    }

    /// Checks that the challenge comes from the holder of the vault key, then signs the transcript with the
    /// account key and sends, encrypted to the session: the account public key, the signature, `proof` (that the
    /// key is the account's current one in key transparency) and, for an upload, CK.
    ///
    /// Fails with [`Error::VaultNotAuthenticated`] if the challenge's confirmation does not verify, or with
    /// [`Error::WeakKeyShare`] if the vault's key share has small order: nothing is signed or sent then.
    pub fn authenticate(
        self,
        challenge: &EscrowChallenge,
        account_key: &SigningKey,
        proof: &IdentityProof,
    ) -> Result<(AwaitingReply, EscrowAuth), Error> {
        let ephemeral_shared = session::diffie_hellman(&self.secret, &challenge.key_share)?;
        let keys = SessionKeys::derive(&self.static_shared, &ephemeral_shared, &self.hello, challenge);
        let th = session::transcript(&self.hello, challenge);
        keys.check_confirmation(&th, &challenge.confirmation)?;

        let signature = account_key.sign(&session::signed_message(&th));
        let mut payload = Zeroizing::new(Vec::with_capacity(32 + 64 + 4 + 4096 + 32));
        payload.extend_from_slice(account_key.verifying_key().as_bytes());
        payload.extend_from_slice(&signature.to_bytes());
        proof.write(&mut payload);
        if let Some(key) = &self.upload {
            payload.extend_from_slice(key.expose_secret());
        }
        let auth = EscrowAuth {
            challenge: challenge.challenge,
            ciphertext: keys.seal_auth(&th, &payload),
        };
        let pending = AwaitingReply {
            th_reply: session::reply_transcript(&th, &auth.to_bytes()),
            keys,
            uploaded: self.upload.is_some(),
        };
        Ok((pending, auth))
    }
}

impl fmt::Debug for EscrowClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscrowClient").finish_non_exhaustive()
    }
}

/// A device's escrow session waiting for the vault's reply.
pub struct AwaitingReply {
    keys: SessionKeys,
    th_reply: [u8; 32],
    uploaded: bool,
}

/// What a finished escrow session gives the device.
#[derive(Debug, PartialEq, Eq)]
pub enum EscrowOutcome {
    /// The vault stored the uploaded contact key.
    Stored,
    /// The vault released the account's contact key.
    Released(ContactKey),
}

impl AwaitingReply {
    /// Opens the vault's reply. Only the vault that holds the IPLS secret key, answering this very session,
    /// can produce one that opens ([`Error::VaultNotAuthenticated`] otherwise).
    pub fn finish(self, reply: &EscrowReply) -> Result<EscrowOutcome, Error> {
        let plaintext = self.keys.open_reply(&self.th_reply, &reply.ciphertext)?;
        match (self.uploaded, plaintext.len()) {
            (true, 0) => Ok(EscrowOutcome::Stored),
            (false, 32) => {
                let mut key = Zeroizing::new([0u8; 32]);
                key.copy_from_slice(&plaintext);
                Ok(EscrowOutcome::Released(ContactKey::from_bytes(*key)))
            }
            _ => Err(Error::InvalidField("reply length")),
        }
    }
}

impl fmt::Debug for AwaitingReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwaitingReply")
            .field("uploaded", &self.uploaded)
            .finish_non_exhaustive()
    }
}
