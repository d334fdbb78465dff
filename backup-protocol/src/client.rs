//! The client's half of the protocol: registration of K under a password, and its retrieval on any device.
//!
//! Each step borrows its state and returns the next, so a rejected message (forged, tampered, replayed) leaves the
//! state as it was and the genuine message can still be processed.

use alloc::vec::Vec;
use core::fmt;

use opaque_ke::errors::ProtocolError;
use opaque_ke::{ClientLoginFinishParameters, ClientLoginFinishResult, ClientRegistrationFinishParameters};
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::key::{BackupKey, UserId};
use crate::messages::{
    DeletionReceipt, Encoded, KeyRelease, LoginFinalization, LoginPurpose, LoginRequest, LoginResponse, Registered,
    RegistrationReceipt, RegistrationRequest, RegistrationResponse, RegistrationUpload,
};
use crate::suite::{KsfParams, KsfPolicy, Suite, identifiers, login_context};
use crate::transcript;
use crate::vault_keys::VaultPins;
use crate::wrap::{self, DerivedKey, NONCE_LEN};

/// Length of a ristretto255 OPRF element.
const OPRF_ELEMENT_LEN: usize = 32;

/// What a client trusts and how it hardens passwords.
///
/// ```
/// use backup_protocol::{ClientConfig, KsfParams, VaultKeys};
/// let pins = VaultKeys::generate(&mut backup_protocol::rand_core::OsRng).pins();
/// let config = ClientConfig::new(pins);
/// assert_eq!(config.registration_ksf(), &KsfParams::RECOMMENDED);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pins: VaultPins,
    registration_ksf: KsfParams,
    ksf_policy: KsfPolicy,
}

impl ClientConfig {
    /// Registers with [`KsfParams::RECOMMENDED`] and accepts [`KsfPolicy::RECOMMENDED`] at login.
    pub fn new(pins: VaultPins) -> Self {
        Self {
            pins,
            registration_ksf: KsfParams::RECOMMENDED,
            ksf_policy: KsfPolicy::RECOMMENDED,
        }
    }

    /// Registers with [`KsfParams::INSECURE_FAST`] and accepts it at login. For tests and benchmarks only: a
    /// password hardened this way falls quickly to offline guessing by whoever holds the vault's records.
    pub fn insecure_fast_for_testing(pins: VaultPins) -> Self {
        Self {
            pins,
            registration_ksf: KsfParams::INSECURE_FAST,
            ksf_policy: KsfPolicy::INSECURE_TESTING,
        }
    }

    /// Sets the Argon2id parameters used at registration; they must satisfy this config's own policy.
    pub fn with_registration_ksf(mut self, params: KsfParams) -> Result<Self, Error> {
        self.ksf_policy.check(&params)?;
        self.registration_ksf = params;
        Ok(self)
    }

    /// The pinned vault keys.
    pub fn pins(&self) -> &VaultPins {
        &self.pins
    }

    /// The Argon2id parameters used at registration.
    pub fn registration_ksf(&self) -> &KsfParams {
        &self.registration_ksf
    }

    /// The Argon2id parameters accepted from the vault at login.
    pub fn ksf_policy(&self) -> &KsfPolicy {
        &self.ksf_policy
    }
}

/// A registration in progress: holds the OPRF blind and the password until the vault answers.
/// Zeroized on drop; `Debug` prints only the user.
pub struct ClientRegistration {
    config: ClientConfig,
    user_id: UserId,
    password: Zeroizing<Vec<u8>>,
    opaque: opaque_ke::ClientRegistration<Suite>,
    request: RegistrationRequest,
}

impl ClientRegistration {
    /// Blinds the password and makes the registration request.
    ///
    /// ```
    /// # use backup_protocol::*;
    /// # let mut rng = backup_protocol::rand_core::OsRng;
    /// # let keys = VaultKeys::generate(&mut rng);
    /// let config = ClientConfig::insecure_fast_for_testing(keys.pins());
    /// let user = UserId::new(b"alice".to_vec())?;
    /// let (client, request) = ClientRegistration::start(&mut rng, &config, user, b"correct horse")?;
    /// let bytes = request.to_bytes(); // send to the vault
    /// # assert_eq!(RegistrationRequest::from_bytes(&bytes)?, request);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn start<R: CryptoRng + RngCore>(
        rng: &mut R,
        config: &ClientConfig,
        user_id: UserId,
        password: &[u8],
    ) -> Result<(Self, RegistrationRequest), Error> {
        let started = opaque_ke::ClientRegistration::<Suite>::start(rng, password).map_err(|_| Error::Opaque)?;
        let request = RegistrationRequest {
            user_id: user_id.clone(),
            opaque: Encoded::new(started.message, |message| message.serialize().to_vec()),
        };
        let state = Self {
            config: config.clone(),
            user_id,
            password: Zeroizing::new(password.to_vec()),
            opaque: started.state,
            request: request.clone(),
        };
        Ok((state, request))
    }

    /// Checks the vault's response (its signature under the pinned fleet key over this exchange, and the pinned
    /// OPAQUE server key) before anything else, then finishes OPAQUE and wraps `key` under OPAQUE_K. Returns the
    /// upload to send and the state that checks the vault's receipt for it: K is escrowed only once
    /// [`PendingRegistrationReceipt::verify`] accepts the receipt. (`#[must_use]` does not reach into the returned
    /// tuple: a caller that drops the first element has no proof that the vault stored anything.)
    ///
    /// See [`crate::PendingRegistration::start`] for the whole registration.
    pub fn finish<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        response: &RegistrationResponse,
        key: &BackupKey,
    ) -> Result<(PendingRegistrationReceipt, RegistrationUpload), Error> {
        if response.user_id != self.user_id {
            return Err(Error::UserMismatch);
        }
        self.config.pins.verify(
            &transcript::registration_response(
                &self.user_id,
                &response.challenge,
                &self.request.opaque.bytes,
                &response.opaque.bytes,
            ),
            &response.signature,
        )?;
        // The OPAQUE registration response is the OPRF evaluation followed by the server's public key.
        let (_, server_key) = response.opaque.bytes.split_at(OPRF_ELEMENT_LEN);
        self.config.pins.check_opaque_server_key(server_key)?;

        let ksf = self.config.registration_ksf;
        let argon2 = ksf.argon2()?;
        let mut finished = self
            .opaque
            .clone()
            .finish(
                rng,
                &self.password,
                response.opaque.value.clone(),
                ClientRegistrationFinishParameters::new(identifiers(self.user_id.as_bytes()), Some(&argon2)),
            )
            .map_err(|_| Error::Opaque)?;
        let opaque_k = wrap::opaque_k(&finished.export_key);
        finished.export_key.as_mut_slice().zeroize();
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let wrapped = wrap::wrap(&opaque_k, &self.user_id, response.challenge, nonce, key);
        let registered = Registered {
            ksf,
            opaque: Encoded::new(finished.message, |message| message.serialize().to_vec()),
            wrapped,
        };
        let mut body = Vec::with_capacity(296);
        registered.write(&mut body);
        let awaiting = PendingRegistrationReceipt {
            pins: self.config.pins,
            user_id: self.user_id.clone(),
            signed: transcript::registration_receipt(&self.user_id, &body),
        };
        let upload = RegistrationUpload {
            user_id: self.user_id.clone(),
            registered,
        };
        Ok((awaiting, upload))
    }
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// A retrieval in progress: holds the OPRF blind, the key-exchange secret and the password until the vault
/// answers. Zeroized on drop; `Debug` prints only the user.
pub struct ClientLogin {
    config: ClientConfig,
    user_id: UserId,
    password: Zeroizing<Vec<u8>>,
    opaque: opaque_ke::ClientLogin<Suite>,
    request: LoginRequest,
}

impl ClientLogin {
    /// Blinds the password and makes the login request. Every request the vault answers costs one attempt.
    ///
    /// See [`crate::VaultLoginState::start`] for the whole retrieval.
    pub fn start<R: CryptoRng + RngCore>(
        rng: &mut R,
        config: &ClientConfig,
        user_id: UserId,
        password: &[u8],
    ) -> Result<(Self, LoginRequest), Error> {
        Self::start_for(rng, config, user_id, password, LoginPurpose::RetrieveKey)
    }

    /// Like [`ClientLogin::start`], for a login with another purpose: with [`LoginPurpose::DeleteRecord`] the vault
    /// deletes the record once the password is proven, and releases nothing.
    pub fn start_for<R: CryptoRng + RngCore>(
        rng: &mut R,
        config: &ClientConfig,
        user_id: UserId,
        password: &[u8],
        purpose: LoginPurpose,
    ) -> Result<(Self, LoginRequest), Error> {
        let started = opaque_ke::ClientLogin::<Suite>::start(rng, password).map_err(|_| Error::Opaque)?;
        let request = LoginRequest {
            user_id: user_id.clone(),
            purpose,
            opaque: Encoded::new(started.message, |message| message.serialize().to_vec()),
        };
        let state = Self {
            config: config.clone(),
            user_id,
            password: Zeroizing::new(password.to_vec()),
            opaque: started.state,
            request: request.clone(),
        };
        Ok((state, request))
    }

    /// Checks the vault's signature (over this request and the response) and the Argon2id parameters against the
    /// policy, then runs OPAQUE: a wrong password ends here with [`Error::WrongPassword`], which says how many
    /// guesses the vault still allows. On success returns the state that opens the key release and the
    /// finalization to send. For a retrieval login ([`ClientLogin::start`]); a deletion login ends with
    /// [`ClientLogin::finish_deletion`] ([`Error::WrongPurpose`] otherwise).
    pub fn finish<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        response: &LoginResponse,
    ) -> Result<(PendingKeyRelease, LoginFinalization), Error> {
        let (mut finished, finalization) = self.authenticate(rng, LoginPurpose::RetrieveKey, response)?;
        let pending = PendingKeyRelease {
            user_id: self.user_id.clone(),
            guesses_remaining: response.guesses_remaining,
            opaque_k: wrap::opaque_k(&finished.export_key),
            shared_k: wrap::shared_k(&finished.session_key),
        };
        finished.export_key.as_mut_slice().zeroize();
        finished.session_key.as_mut_slice().zeroize();
        Ok((pending, finalization))
    }

    /// Like [`ClientLogin::finish`], for a login started with [`LoginPurpose::DeleteRecord`]: returns the state
    /// that checks the vault's deletion receipt, and the finalization to send.
    pub fn finish_deletion<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        response: &LoginResponse,
    ) -> Result<(PendingDeletionReceipt, LoginFinalization), Error> {
        let (mut finished, finalization) = self.authenticate(rng, LoginPurpose::DeleteRecord, response)?;
        let pending = PendingDeletionReceipt {
            user_id: self.user_id.clone(),
            guesses_remaining: response.guesses_remaining,
            deleted_k: wrap::deleted_k(&finished.session_key),
        };
        finished.export_key.as_mut_slice().zeroize();
        finished.session_key.as_mut_slice().zeroize();
        Ok((pending, finalization))
    }

    /// The checks and the OPAQUE run both purposes share; the caller derives its keys from the result and wipes
    /// opaque-ke's export and session keys.
    fn authenticate<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        purpose: LoginPurpose,
        response: &LoginResponse,
    ) -> Result<(ClientLoginFinishResult<Suite>, LoginFinalization), Error> {
        if self.request.purpose != purpose {
            return Err(Error::WrongPurpose);
        }
        if response.user_id != self.user_id {
            return Err(Error::UserMismatch);
        }
        self.config.pins.verify(
            &transcript::login_response(
                &self.user_id,
                self.request.purpose,
                &self.request.opaque.bytes,
                &response.ksf,
                response.guesses_remaining,
                &response.opaque.bytes,
            ),
            &response.signature,
        )?;
        self.config.ksf_policy.check(&response.ksf)?;

        let argon2 = response.ksf.argon2()?;
        let mut finished = self
            .opaque
            .clone()
            .finish(
                rng,
                &self.password,
                response.opaque.value.clone(),
                ClientLoginFinishParameters::new(
                    Some(&login_context(self.request.purpose)),
                    identifiers(self.user_id.as_bytes()),
                    Some(&argon2),
                ),
            )
            .map_err(|error| match error {
                ProtocolError::InvalidLoginError => Error::WrongPassword {
                    guesses_remaining: response.guesses_remaining,
                },
                _ => Error::Opaque,
            })?;
        if let Err(error) = self
            .config
            .pins
            .check_opaque_server_key(&finished.server_s_pk.serialize())
        {
            finished.export_key.as_mut_slice().zeroize();
            finished.session_key.as_mut_slice().zeroize();
            return Err(error);
        }
        let finalization = LoginFinalization {
            user_id: self.user_id.clone(),
            opaque: Encoded::new(finished.message.clone(), |message| message.serialize().to_vec()),
        };
        Ok((finished, finalization))
    }
}

impl fmt::Debug for ClientLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLogin")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The client after a successful retrieval login: holds OPAQUE_K and SHARED_K until the key release arrives.
/// Zeroized on drop; `Debug` prints only the user.
pub struct PendingKeyRelease {
    user_id: UserId,
    guesses_remaining: u32,
    opaque_k: DerivedKey,
    shared_k: DerivedKey,
}

impl PendingKeyRelease {
    /// Opens the key release under SHARED_K, then EK under OPAQUE_K, and returns K.
    pub fn open(&self, release: &KeyRelease) -> Result<BackupKey, Error> {
        if release.user_id != self.user_id {
            return Err(Error::UserMismatch);
        }
        let wrapped = wrap::open_release(&self.shared_k, &self.user_id, &release.nonce, &release.sealed)?;
        wrap::unwrap(&self.opaque_k, &self.user_id, &wrapped)
    }

    /// The guesses the vault allowed after charging this login, as it signed them (a successful finish resets the
    /// count to the vault's full limit).
    pub fn guesses_remaining(&self) -> u32 {
        self.guesses_remaining
    }
}

impl fmt::Debug for PendingKeyRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingKeyRelease")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The client after a successful deletion login: holds DELETED_K until the vault's deletion receipt arrives.
/// Zeroized on drop; `Debug` prints only the user.
#[must_use = "the record is deleted only once the vault's receipt verifies"]
pub struct PendingDeletionReceipt {
    user_id: UserId,
    guesses_remaining: u32,
    deleted_k: DerivedKey,
}

impl PendingDeletionReceipt {
    /// Checks the vault's deletion receipt: a MAC under a key from this login's session key, which no relay
    /// holds. `Ok` means the vault that authenticated this login deleted the record; anything else (a forged or
    /// replayed receipt, or none at all) proves nothing.
    ///
    /// ```
    /// # use backup_protocol::*;
    /// # let mut rng = backup_protocol::rand_core::OsRng;
    /// # let keys = VaultKeys::generate(&mut rng);
    /// # let config = ClientConfig::insecure_fast_for_testing(keys.pins());
    /// # let user = UserId::new(b"alice".to_vec())?;
    /// # let (client, request) = ClientRegistration::start(&mut rng, &config, user.clone(), b"pw")?;
    /// # let (pending, response) = PendingRegistration::start(&keys, &mut rng, &request)?;
    /// # let key = BackupKey::generate(&mut rng);
    /// # let (_, upload) = client.finish(&mut rng, &response, &key)?;
    /// # let (record, _) = pending.finish(&keys, &upload, &KsfPolicy::INSECURE_TESTING)?;
    /// let (client, request) = ClientLogin::start_for(&mut rng, &config, user, b"pw", LoginPurpose::DeleteRecord)?;
    /// let (state, response) =
    ///     VaultLoginState::start(&keys, &mut rng, Some(&record), &request, || Ok::<u32, ()>(9)).expect("charged");
    /// let (awaiting, finalization) = client.finish_deletion(&mut rng, &response)?;
    /// let receipt = state.finish_deletion(Some(&record), &finalization)?; // the vault deletes, then answers
    /// awaiting.verify(&receipt)?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn verify(&self, receipt: &DeletionReceipt) -> Result<(), Error> {
        if receipt.user_id != self.user_id {
            return Err(Error::UserMismatch);
        }
        wrap::verify_deletion_tag(&self.deleted_k, &self.user_id, &receipt.tag)
    }

    /// The guesses the vault allowed after charging this login, as it signed them.
    pub fn guesses_remaining(&self) -> u32 {
        self.guesses_remaining
    }
}

impl fmt::Debug for PendingDeletionReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingDeletionReceipt")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The client after sending its registration upload: K is escrowed once the vault's receipt for exactly this
/// upload verifies under the pinned fleet key.
#[derive(Clone)]
#[must_use = "an upload is escrowed only once its receipt verifies"]
pub struct PendingRegistrationReceipt {
    pins: VaultPins,
    user_id: UserId,
    /// The bytes the vault's receipt signs (public: the upload travels in the clear to the vault).
    signed: Vec<u8>,
}

impl PendingRegistrationReceipt {
    /// Checks the vault's receipt: its signature under the pinned fleet key over this upload. `Ok` means the fleet
    /// stored the upload; a forged receipt, one for another upload, or none at all proves nothing.
    ///
    /// See [`crate::PendingRegistration::start`] for the whole registration.
    pub fn verify(&self, receipt: &RegistrationReceipt) -> Result<(), Error> {
        if receipt.user_id != self.user_id {
            return Err(Error::UserMismatch);
        }
        self.pins
            .verify(&self.signed, &receipt.signature)
            .map_err(|_| Error::ReceiptRejected)
    }
}

impl fmt::Debug for PendingRegistrationReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingRegistrationReceipt")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}
