//! The vault's half of the protocol: pure functions from (keys, stored state, message) to (new state, reply).
//!
//! Nothing here stores anything. The caller (vault-core) keeps [`PendingRegistration`], [`BackupRecord`] and
//! [`VaultLoginState`] in its storage, enforces challenge expiry and single use, and counts attempts: the one
//! point where an attempt must be charged is the `charge` callback of [`VaultLoginState::start`], which runs
//! before the credential response exists.

use alloc::vec::Vec;
use core::fmt;

use opaque_ke::{ServerLogin, ServerLoginParameters, ServerRegistration};
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;

use crate::codec::Reader;
use crate::error::{DecodeError, Error};
use crate::key::UserId;
use crate::labels::type_code;
use crate::messages::{
    DeletionReceipt, Encoded, Encoding, KeyRelease, LoginFinalization, LoginPurpose, LoginRequest, LoginResponse,
    Registered, RegistrationReceipt, RegistrationRequest, RegistrationResponse, RegistrationUpload, read_opaque,
};
use crate::suite::{KsfParams, KsfPolicy, Suite, identifiers, login_context};
use crate::transcript;
use crate::vault_keys::VaultKeys;
use crate::wrap::{self, CHALLENGE_LEN, NONCE_LEN};

/// Length of the serialized OPAQUE 3DH server state: session key (64) and expected client MAC (64).
const SERVER_LOGIN_LEN: usize = 128;

/// OPAQUE's `credential_identifier`, which selects the user's OPRF key: `len8(user id) || user id || challenge`.
///
/// Keyed by the registration's challenge, not the user id alone, so that every registration gets its own OPRF
/// key: answering a new registration request (or a login for an unknown user) never evaluates the OPRF under the
/// key of an existing record, which would give an uncharged guessing oracle against it.
fn credential_identifier(user_id: &UserId, challenge: &[u8; CHALLENGE_LEN]) -> Vec<u8> {
    let mut identifier = Vec::with_capacity(1 + user_id.as_bytes().len() + CHALLENGE_LEN);
    user_id.write(&mut identifier);
    identifier.extend_from_slice(challenge);
    identifier
}

fn same_user(expected: &UserId, found: &UserId) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::UserMismatch)
    }
}

fn login_parameters<'a>(user_id: &'a UserId, context: &'a [u8]) -> ServerLoginParameters<'a, 'a> {
    ServerLoginParameters {
        context: Some(context),
        identifiers: identifiers(user_id.as_bytes()),
    }
}

/// A registration the vault has answered and awaits the upload for: the user and the challenge OPAQUE_C it
/// issued. The caller stores it, expires it, and deletes it once [`PendingRegistration::finish`] succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRegistration {
    user_id: UserId,
    challenge: [u8; CHALLENGE_LEN],
}

impl PendingRegistration {
    /// Answers a registration request: evaluates the OPRF, draws the challenge from `rng`, and signs
    /// (challenge, request, response) with the fleet key.
    ///
    /// ```
    /// # use backup_protocol::*;
    /// # let mut rng = backup_protocol::rand_core::OsRng;
    /// let keys = VaultKeys::generate(&mut rng);
    /// let config = ClientConfig::insecure_fast_for_testing(keys.pins());
    /// let user = UserId::new(b"alice".to_vec())?;
    /// let (client, request) = ClientRegistration::start(&mut rng, &config, user, b"correct horse")?;
    /// let (pending, response) = PendingRegistration::start(&keys, &mut rng, &request)?;
    /// let key = BackupKey::generate(&mut rng);
    /// let (awaiting, upload) = client.finish(&mut rng, &response, &key)?;
    /// let (record, receipt) = pending.finish(&keys, &upload, &KsfPolicy::INSECURE_TESTING)?;
    /// assert_eq!(record.user_id(), upload.user_id());
    /// awaiting.verify(&receipt)?; // the client now knows K is escrowed
    /// # Ok::<(), Error>(())
    /// ```
    pub fn start<R: CryptoRng + RngCore>(
        keys: &VaultKeys,
        rng: &mut R,
        request: &RegistrationRequest,
    ) -> Result<(Self, RegistrationResponse), Error> {
        // The challenge also selects the OPRF key (see `credential_identifier`): draw it first.
        let mut challenge = [0u8; CHALLENGE_LEN];
        rng.fill_bytes(&mut challenge);
        let opaque = ServerRegistration::<Suite>::start(
            keys.server_setup(),
            request.opaque.value.clone(),
            &credential_identifier(&request.user_id, &challenge),
        )
        .map_err(|_| Error::Opaque)?
        .message;
        let opaque = Encoded::new(opaque, |message| message.serialize().to_vec());
        let signature = keys.sign(&transcript::registration_response(
            &request.user_id,
            &challenge,
            &request.opaque.bytes,
            &opaque.bytes,
        ));
        let pending = Self {
            user_id: request.user_id.clone(),
            challenge,
        };
        let response = RegistrationResponse {
            user_id: request.user_id.clone(),
            challenge,
            opaque,
            signature,
        };
        Ok((pending, response))
    }

    /// Checks the upload against this registration (same user, same challenge, Argon2id parameters within
    /// `policy`) and builds the record to store, with the receipt to send once it is stored: the fleet key's
    /// signature over the upload, which tells the client that K is escrowed. A rejected upload leaves `self` usable.
    pub fn finish(
        &self,
        keys: &VaultKeys,
        upload: &RegistrationUpload,
        policy: &KsfPolicy,
    ) -> Result<(BackupRecord, RegistrationReceipt), Error> {
        same_user(&self.user_id, &upload.user_id)?;
        if !bool::from(self.challenge.ct_eq(&upload.registered.wrapped.challenge)) {
            return Err(Error::ChallengeMismatch);
        }
        policy.check(&upload.registered.ksf)?;
        // The record is what the upload carried, encoding included.
        let record = BackupRecord {
            user_id: upload.user_id.clone(),
            registered: upload.registered.clone(),
        };
        let mut body = Vec::with_capacity(296);
        record.registered.write(&mut body);
        let receipt = RegistrationReceipt {
            user_id: record.user_id.clone(),
            signature: keys.sign(&transcript::registration_receipt(&record.user_id, &body)),
        };
        Ok((record, receipt))
    }

    /// The user this registration is for.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The challenge OPAQUE_C the vault issued.
    pub fn challenge(&self) -> &[u8; CHALLENGE_LEN] {
        &self.challenge
    }

    /// Encodes the pending registration for storage: `version || 0x22 || user id || challenge (32)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// Decodes a stored pending registration.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes)
    }
}

impl Encoding for PendingRegistration {
    const TYPE: u8 = type_code::PENDING_REGISTRATION;
    const WHAT: &'static str = "pending registration";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.challenge);
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id,
            challenge: reader.array()?,
        })
    }
}

/// What the vault stores per user: the OPAQUE record, the Argon2id parameters that go with it, and EK with its
/// challenge and K_NONCE. It holds no key the vault could use to read K.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupRecord {
    user_id: UserId,
    registered: Registered,
}

impl BackupRecord {
    /// The user the record belongs to.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The Argon2id parameters the client registered with.
    pub fn ksf(&self) -> &KsfParams {
        &self.registered.ksf
    }

    /// Encodes the record for storage:
    /// `version || 0x21 || user id || Argon2id parameters (12) || OPAQUE record (192) || challenge (32) ||
    /// K_NONCE (12) || EK (48)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// Decodes a stored record.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes)
    }
}

impl Encoding for BackupRecord {
    const TYPE: u8 = type_code::BACKUP_RECORD;
    const WHAT: &'static str = "backup record";
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

impl fmt::Debug for BackupRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupRecord")
            .field("user_id", &self.user_id)
            .field("ksf", self.ksf())
            .finish_non_exhaustive()
    }
}

/// Why [`VaultLoginState::start`] produced no response.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginStartError<E> {
    /// The request was rejected; nothing was charged.
    Rejected(Error),
    /// The `charge` callback failed, so no response was computed.
    NotCharged(E),
    /// The attempt was charged, then computing the response failed (an internal OPAQUE error); no response
    /// exists.
    ChargedButFailed(Error),
}

impl<E: fmt::Display> fmt::Display for LoginStartError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(error) => write!(f, "login request rejected: {error}"),
            Self::NotCharged(error) => write!(f, "attempt could not be charged: {error}"),
            Self::ChargedButFailed(error) => write!(f, "attempt charged, then the response failed: {error}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for LoginStartError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Rejected(error) | Self::ChargedButFailed(error) => Some(error),
            Self::NotCharged(error) => Some(error),
        }
    }
}

/// The vault's state between the login response and the client's finalization. Holds the OPAQUE session key:
/// zeroized on drop, and `Debug` prints only the user.
#[derive(Clone)]
pub struct VaultLoginState {
    user_id: UserId,
    purpose: LoginPurpose,
    /// The challenge of the record the login runs against (its registration), so the login finishes only
    /// against that record and not a later one of the same user.
    challenge: [u8; CHALLENGE_LEN],
    opaque: ServerLogin<Suite>,
}

impl VaultLoginState {
    /// Answers a login request.
    ///
    /// `record` is the user's stored record, or `None` if the user has none: the vault then answers with
    /// OPAQUE's fake response (with [`KsfParams::RECOMMENDED`]), through the same code path, so that the response
    /// does not reveal whether the user exists.
    ///
    /// `charge` runs after the request is validated and before any part of the response is computed: this is
    /// where the caller durably charges one attempt (the client can tell a wrong password from the response
    /// alone, so an attempt must be paid for before the response leaves). It runs for unknown users too. It
    /// returns how many more logins the record allows after this one (the vault signs that number into the
    /// response, so its owner sees it). If it fails, no response exists.
    ///
    /// ```
    /// # use backup_protocol::*;
    /// # let mut rng = backup_protocol::rand_core::OsRng;
    /// # let keys = VaultKeys::generate(&mut rng);
    /// # let config = ClientConfig::insecure_fast_for_testing(keys.pins());
    /// # let user = UserId::new(b"alice".to_vec())?;
    /// # let key = BackupKey::generate(&mut rng);
    /// # let (client, request) = ClientRegistration::start(&mut rng, &config, user.clone(), b"pw")?;
    /// # let (pending, response) = PendingRegistration::start(&keys, &mut rng, &request)?;
    /// # let (_, upload) = client.finish(&mut rng, &response, &key)?;
    /// # let (record, _) = pending.finish(&keys, &upload, &KsfPolicy::INSECURE_TESTING)?;
    /// let (mut attempts, limit) = (0, 10);
    /// let (client, request) = ClientLogin::start(&mut rng, &config, user, b"pw")?;
    /// let (state, response) = VaultLoginState::start(&keys, &mut rng, Some(&record), &request, || {
    ///     attempts += 1; // a real vault makes this durable first
    ///     Ok::<u32, core::convert::Infallible>(limit - attempts)
    /// })
    /// .expect("request is valid");
    /// assert_eq!(attempts, 1);
    /// let (awaiting, finalization) = client.finish(&mut rng, &response)?;
    /// assert_eq!(awaiting.guesses_remaining(), 9);
    /// let release = state.finish(&mut rng, Some(&record), &finalization)?;
    /// assert_eq!(awaiting.open(&release)?, key);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn start<R, E>(
        keys: &VaultKeys,
        rng: &mut R,
        record: Option<&BackupRecord>,
        request: &LoginRequest,
        charge: impl FnOnce() -> Result<u32, E>,
    ) -> Result<(Self, LoginResponse), LoginStartError<E>>
    where
        R: CryptoRng + RngCore,
    {
        if let Some(record) = record {
            same_user(&record.user_id, &request.user_id).map_err(LoginStartError::Rejected)?;
        }
        let guesses_remaining = charge().map_err(LoginStartError::NotCharged)?;

        let ksf = record.map_or(KsfParams::RECOMMENDED, |record| record.registered.ksf);
        // The record's own OPRF key; for an unknown user a stable stand-in, so repeated fake answers agree.
        let challenge = record.map_or_else(
            || keys.fake_challenge(&request.user_id),
            |record| record.registered.wrapped.challenge,
        );
        let started = ServerLogin::start(
            rng,
            keys.server_setup(),
            record.map(|record| ServerRegistration::finish(record.registered.opaque.value.clone())),
            request.opaque.value.clone(),
            &credential_identifier(&request.user_id, &challenge),
            login_parameters(&request.user_id, &login_context(request.purpose)),
        )
        .map_err(|_| LoginStartError::ChargedButFailed(Error::Opaque))?;
        let message = Encoded::new(started.message, |message| message.serialize().to_vec());
        let signature = keys.sign(&transcript::login_response(
            &request.user_id,
            request.purpose,
            &request.opaque.bytes,
            &ksf,
            guesses_remaining,
            &message.bytes,
        ));
        let state = Self {
            user_id: request.user_id.clone(),
            purpose: request.purpose,
            challenge,
            opaque: started.state,
        };
        let response = LoginResponse {
            user_id: request.user_id.clone(),
            ksf,
            guesses_remaining,
            opaque: message,
            signature,
        };
        Ok((state, response))
    }

    /// Authenticates the client's finalization of a [`LoginPurpose::RetrieveKey`] login and, on success, seals the
    /// record's EK under SHARED_K (nonce from `rng`). Success is the caller's signal to reset the attempt counter.
    /// A rejected finalization leaves `self` usable.
    ///
    /// `record` is read again at this point rather than kept in the state, so that EK exists only in the record:
    /// destroying the record leaves nothing to release. Pass the user's current record, or `None` if there is none
    /// (any more). The key exchange is checked first either way, so an unknown user's login fails with
    /// [`Error::ClientAuthenticationFailed`]; a proven password whose record is gone, or was replaced by a new
    /// registration since the login started, fails with [`Error::RecordUnavailable`].
    pub fn finish<R: CryptoRng + RngCore>(
        &self,
        rng: &mut R,
        record: Option<&BackupRecord>,
        finalization: &LoginFinalization,
    ) -> Result<KeyRelease, Error> {
        let (session_key, record) = self.authenticate(LoginPurpose::RetrieveKey, record, finalization)?;
        let shared_k = wrap::shared_k(&session_key);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        Ok(KeyRelease {
            user_id: self.user_id.clone(),
            nonce,
            sealed: wrap::seal_release(&shared_k, &self.user_id, nonce, &record.registered.wrapped),
        })
    }

    /// Authenticates the client's finalization of a [`LoginPurpose::DeleteRecord`] login against the user's
    /// current `record` (as for [`VaultLoginState::finish`]). `Ok` is the caller's proof that the holder of this
    /// record's password asked for the deletion; the caller then deletes the record and, once that is done, sends
    /// the returned receipt (a MAC under a key from this login's session key), which tells the client the record
    /// is gone.
    pub fn finish_deletion(
        &self,
        record: Option<&BackupRecord>,
        finalization: &LoginFinalization,
    ) -> Result<DeletionReceipt, Error> {
        let (session_key, _) = self.authenticate(LoginPurpose::DeleteRecord, record, finalization)?;
        Ok(DeletionReceipt {
            user_id: self.user_id.clone(),
            tag: wrap::deletion_tag(&wrap::deleted_k(&session_key), &self.user_id),
        })
    }

    /// Runs OPAQUE's server finish for a login of the expected purpose, then checks that `record` is the one the
    /// login started on; returns the session key and the record.
    fn authenticate<'r>(
        &self,
        expected: LoginPurpose,
        record: Option<&'r BackupRecord>,
        finalization: &LoginFinalization,
    ) -> Result<(zeroize::Zeroizing<Vec<u8>>, &'r BackupRecord), Error> {
        if self.purpose != expected {
            return Err(Error::WrongPurpose);
        }
        same_user(&self.user_id, &finalization.user_id)?;
        let mut finished = self
            .opaque
            .clone()
            .finish(
                finalization.opaque.value.clone(),
                login_parameters(&self.user_id, &login_context(self.purpose)),
            )
            .map_err(|_| Error::ClientAuthenticationFailed)?;
        let session_key = zeroize::Zeroizing::new(finished.session_key.to_vec());
        zeroize::Zeroize::zeroize(finished.session_key.as_mut_slice());
        let record = record
            .filter(|record| {
                record.user_id == self.user_id && bool::from(record.registered.wrapped.challenge.ct_eq(&self.challenge))
            })
            .ok_or(Error::RecordUnavailable)?;
        Ok((session_key, record))
    }

    /// What the login is for.
    pub fn purpose(&self) -> LoginPurpose {
        self.purpose
    }

    /// The user this login is for.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Encodes the state for storage between the two login messages (it holds the session key: store it as a
    /// secret): `version || 0x23 || user id || purpose (1) || record challenge (32) || OPAQUE server state (128)`.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.encode())
    }

    /// Decodes a stored state.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes)
    }
}

impl Encoding for VaultLoginState {
    const TYPE: u8 = type_code::VAULT_LOGIN_STATE;
    const WHAT: &'static str = "vault login state";
    fn user_id(&self) -> &UserId {
        &self.user_id
    }
    fn write_body(&self, out: &mut Vec<u8>) {
        out.push(self.purpose.code());
        out.extend_from_slice(&self.challenge);
        out.extend_from_slice(&zeroize::Zeroizing::new(self.opaque.serialize()));
    }
    fn read_body(user_id: UserId, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let purpose = LoginPurpose::read(reader)?;
        let challenge = reader.array()?;
        let opaque = read_opaque(
            reader,
            SERVER_LOGIN_LEN,
            "OPAQUE server state",
            ServerLogin::deserialize,
        )?;
        Ok(Self {
            user_id,
            purpose,
            challenge,
            opaque,
        })
    }
}

impl fmt::Debug for VaultLoginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultLoginState")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}
