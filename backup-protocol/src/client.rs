//! The client's half of the protocol: registration of K under a password, and its retrieval on any device.
//!
//! Each step borrows its state and returns the next, so a rejected message (forged, tampered, replayed) leaves the
//! state as it was and the genuine message can still be processed.

use alloc::vec::Vec;
use core::fmt;

use opaque_ke::errors::ProtocolError;
use opaque_ke::{ClientLoginFinishParameters, ClientRegistrationFinishParameters};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::key::{BackupKey, UserId};
use crate::messages::{
    Encoded, KeyRelease, LoginFinalization, LoginPurpose, LoginRequest, LoginResponse, Registered, RegistrationRequest,
    RegistrationResponse, RegistrationUpload,
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
/// let pins = VaultKeys::generate(&mut rand::rngs::OsRng).pins();
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
    /// # let mut rng = rand::rngs::OsRng;
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
    /// OPAQUE server key) before anything else, then finishes OPAQUE and wraps `key` under OPAQUE_K.
    ///
    /// See [`crate::PendingRegistration::start`] for the whole registration.
    pub fn finish<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        response: &RegistrationResponse,
        key: &BackupKey,
    ) -> Result<RegistrationUpload, Error> {
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
        let finished = self
            .opaque
            .clone()
            .finish(
                rng,
                &self.password,
                response.opaque.value.clone(),
                ClientRegistrationFinishParameters::new(identifiers(self.user_id.as_bytes()), Some(&argon2)),
            )
            .map_err(|_| Error::Opaque)?;
        let export_key = Zeroizing::new(finished.export_key);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let wrapped = wrap::wrap(
            &wrap::opaque_k(&export_key),
            &self.user_id,
            response.challenge,
            nonce,
            key,
        );
        Ok(RegistrationUpload {
            user_id: self.user_id.clone(),
            registered: Registered {
                ksf,
                opaque: Encoded::new(finished.message, |message| message.serialize().to_vec()),
                wrapped,
            },
        })
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
    /// policy, then runs OPAQUE: a wrong password ends here with [`Error::WrongPassword`]. On success returns the
    /// state that opens the key release and the finalization to send.
    pub fn finish<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        response: &LoginResponse,
    ) -> Result<(PendingKeyRelease, LoginFinalization), Error> {
        if response.user_id != self.user_id {
            return Err(Error::UserMismatch);
        }
        self.config.pins.verify(
            &transcript::login_response(
                &self.user_id,
                self.request.purpose,
                &self.request.opaque.bytes,
                &response.ksf,
                &response.opaque.bytes,
            ),
            &response.signature,
        )?;
        self.config.ksf_policy.check(&response.ksf)?;

        let argon2 = response.ksf.argon2()?;
        let finished = self
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
                ProtocolError::InvalidLoginError => Error::WrongPassword,
                _ => Error::Opaque,
            })?;
        self.config
            .pins
            .check_opaque_server_key(&finished.server_s_pk.serialize())?;

        let pending = PendingKeyRelease {
            user_id: self.user_id.clone(),
            opaque_k: wrap::opaque_k(&Zeroizing::new(finished.export_key)),
            shared_k: wrap::shared_k(&Zeroizing::new(finished.session_key)),
        };
        let finalization = LoginFinalization {
            user_id: self.user_id.clone(),
            opaque: Encoded::new(finished.message, |message| message.serialize().to_vec()),
        };
        Ok((pending, finalization))
    }
}

impl fmt::Debug for ClientLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLogin")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The client after a successful login: holds OPAQUE_K and SHARED_K until the key release arrives.
/// Zeroized on drop; `Debug` prints only the user.
pub struct PendingKeyRelease {
    user_id: UserId,
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
}

impl fmt::Debug for PendingKeyRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingKeyRelease")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}
