//! The vault state machine: `apply(command) -> response`, with all state in a [`Store`].

use backup_protocol::{
    DecodeError, KsfPolicy, LoginFinalization, LoginPurpose, LoginRequest, LoginStartError, PendingRegistration,
    RegistrationRequest, RegistrationUpload, VaultLoginState,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use ipls::{EscrowAuth, EscrowHello};
use kt_verify::VerifiedRoot;
use zeroize::Zeroizing;

use crate::command::{Command, Request, Response};
use crate::error::{IdentityError, VaultError};
use crate::identity::KeyTransparency;
use crate::keys::FleetKeys;
use crate::records::{
    ESCROW_SESSION_PREFIX, ESCROW_SESSION_TYPE, EscrowedKey, KT_HEAD_KEY, KtHead, LOGIN_PREFIX, LOGIN_TYPE,
    PENDING_PREFIX, PENDING_TYPE, SESSION_ID_LEN, StoredEscrowSession, StoredLogin, StoredPending, UserState,
    escrow_session_key, escrowed_key_key, issued_at_ms, login_key, pending_key, user_key,
};
use crate::store::{Cas, Store, Versioned};

/// The vault's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VaultConfig {
    /// Login starts a record allows without a successful login in between. The start that finds them used up
    /// destroys the record.
    pub attempt_limit: u32,
    /// How long a registration challenge stays valid.
    pub challenge_ttl_ms: u64,
    /// How long a login may take between its two messages.
    pub login_ttl_ms: u64,
    /// How long an IPLS escrow session may take between its two requests.
    pub escrow_ttl_ms: u64,
    /// The Argon2id parameters the vault accepts at registration.
    pub ksf_policy: KsfPolicy,
}

impl Default for VaultConfig {
    /// 10 attempts, 10-minute challenges, 2-minute logins and escrow sessions, [`KsfPolicy::RECOMMENDED`].
    fn default() -> Self {
        Self {
            attempt_limit: 10,
            challenge_ttl_ms: 10 * 60 * 1000,
            login_ttl_ms: 2 * 60 * 1000,
            escrow_ttl_ms: 2 * 60 * 1000,
            ksf_policy: KsfPolicy::RECOMMENDED,
        }
    }
}

/// The Backup Key Vault: a deterministic state machine over a [`Store`].
///
/// `apply` is a pure function of (store contents, keys, config, command): the command carries the time and the
/// entropy, so replicas that apply the same command log hold the same state and give the same responses.
///
/// ```
/// use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfPolicy, UserId};
/// use vault_core::{Command, FleetKeys, MemoryStore, Request, Response, Vault, VaultConfig};
/// let mut rng = rand::rngs::OsRng;
/// let config = VaultConfig { ksf_policy: KsfPolicy::INSECURE_TESTING, ..VaultConfig::default() };
/// let vault = Vault::new(FleetKeys::generate(&mut rng), config, MemoryStore::new());
/// let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
/// let user = UserId::new(b"alice".to_vec())?;
/// let command = |at_ms, request| Command { at_ms, entropy: rand::random(), request };
///
/// let key = BackupKey::generate(&mut rng);
/// let (registration, request) = ClientRegistration::start(&mut rng, &client, user.clone(), b"pw")?;
/// let Ok(Response::RegistrationStarted(response)) = vault.apply(&command(1_000, Request::RegistrationStart(request)))
/// else { panic!() };
/// let upload = registration.finish(&mut rng, &response, &key)?;
/// assert_eq!(vault.apply(&command(2_000, Request::RegistrationFinish(upload))), Ok(Response::Registered));
///
/// let (login, request) = ClientLogin::start(&mut rng, &client, user, b"pw")?;
/// let Ok(Response::LoginStarted { session, response }) = vault.apply(&command(3_000, Request::LoginStart(request)))
/// else { panic!() };
/// let (pending, finalization) = login.finish(&mut rng, &response)?;
/// let Ok(Response::KeyReleased(release)) =
///     vault.apply(&command(4_000, Request::LoginFinish { session, finalization }))
/// else { panic!() };
/// assert_eq!(pending.open(&release)?, key);
/// # Ok::<(), backup_protocol::Error>(())
/// ```
pub struct Vault<S> {
    keys: FleetKeys,
    config: VaultConfig,
    key_transparency: Option<KeyTransparency>,
    store: S,
}

type Outcome<T, S> = Result<T, VaultError<<S as Store>::Error>>;

impl<S: Store> Vault<S> {
    /// A vault over `store`.
    pub fn new(keys: FleetKeys, config: VaultConfig, store: S) -> Self {
        Self {
            keys,
            config,
            key_transparency: None,
            store,
        }
    }

    /// Enables IPLS escrow: account keys are believed when `trust` verifies their key-transparency proof.
    /// Without it, IPLS requests are refused with [`VaultError::KeyTransparencyNotConfigured`].
    #[must_use]
    pub fn with_key_transparency(mut self, trust: KeyTransparency) -> Self {
        self.key_transparency = Some(trust);
        self
    }

    /// The fleet keys.
    pub fn keys(&self) -> &FleetKeys {
        &self.keys
    }

    /// The policy.
    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Applies one command. A refused command leaves the store unchanged, with one designed exception: the login
    /// start that finds a record's guesses used up destroys the record (SPEC.md, "Lockout").
    pub fn apply(&self, command: &Command) -> Outcome<Response, S> {
        let mut rng = ChaCha20Rng::from_seed(command.entropy);
        match &command.request {
            Request::RegistrationStart(request) => self.registration_start(command.at_ms, &mut rng, request),
            Request::RegistrationFinish(upload) => self.registration_finish(command.at_ms, upload),
            Request::LoginStart(request) => self.login_start(command.at_ms, &mut rng, request),
            Request::LoginFinish { session, finalization } => {
                self.login_finish(command.at_ms, &mut rng, session, finalization)
            }
            Request::IplsHello(hello) => self.ipls_hello(command.at_ms, &mut rng, hello),
            Request::IplsAuth(auth) => self.ipls_auth(command.at_ms, auth),
            Request::Sweep => self.sweep(command.at_ms),
            Request::ObserveRoot(signed_root) => self.observe_root(command.at_ms, signed_root),
        }
    }

    /// Applies a command from its log encoding.
    pub fn apply_bytes(&self, command: &[u8]) -> Outcome<Response, S> {
        self.apply(&Command::from_bytes(command).map_err(VaultError::Command)?)
    }

    fn registration_start(
        &self,
        now: u64,
        rng: &mut ChaCha20Rng,
        request: &RegistrationRequest,
    ) -> Outcome<Response, S> {
        let (pending, response) = PendingRegistration::start(self.keys.backup(), rng, request)?;
        let key = pending_key(request.user_id());
        // A new start replaces any earlier challenge of this user, which can then no longer be answered.
        let current = self.version(&key)?;
        let stored = StoredPending {
            issued_at_ms: now,
            pending,
        };
        self.write(&key, current, Some(&stored.to_bytes()))?;
        Ok(Response::RegistrationStarted(response))
    }

    fn registration_finish(&self, now: u64, upload: &RegistrationUpload) -> Outcome<Response, S> {
        let pending_key = pending_key(upload.user_id());
        let (pending_version, stored) = self
            .read(&pending_key, StoredPending::from_bytes, "pending registration")?
            .ok_or(VaultError::NoPendingRegistration)?;
        if now.saturating_sub(stored.issued_at_ms) > self.config.challenge_ttl_ms {
            return Err(VaultError::ChallengeExpired);
        }
        let record = stored.pending.finish(upload, &self.config.ksf_policy)?;
        let user_key = user_key(upload.user_id());
        let current = self.read(&user_key, UserState::from_bytes, "user state")?;
        let generation = current
            .as_ref()
            .map_or(0, |(_, state)| state.generation())
            .saturating_add(1);

        // Consume the challenge before storing the record: an upload replayed later finds no challenge, so it
        // can never overwrite a newer record or reset its attempt counter.
        self.write(&pending_key, Some(pending_version), None)?;
        let state = UserState::Active {
            generation,
            attempts: 0,
            record,
        };
        self.write(&user_key, current.map(|(version, _)| version), Some(&state.to_bytes()))?;
        Ok(Response::Registered)
    }

    fn login_start(&self, now: u64, rng: &mut ChaCha20Rng, request: &LoginRequest) -> Outcome<Response, S> {
        let mut session = [0u8; SESSION_ID_LEN];
        rng.fill_bytes(&mut session);
        let user_key = user_key(request.user_id());
        let current = self.read(&user_key, UserState::from_bytes, "user state")?;

        // What this login runs against, and the charge to store before any response exists.
        let (record, generation, charge) = match current {
            Some((
                version,
                UserState::Active {
                    generation,
                    attempts,
                    record,
                },
            )) => {
                if attempts >= self.config.attempt_limit {
                    // The guesses are used up: destroy EK for good.
                    self.write(
                        &user_key,
                        Some(version),
                        Some(&UserState::Locked { generation }.to_bytes()),
                    )?;
                    return Err(VaultError::Locked);
                }
                let charged = UserState::Active {
                    generation,
                    attempts: attempts + 1,
                    record: record.clone(),
                };
                (Some(record), generation, Some((version, charged)))
            }
            Some((_, UserState::Locked { .. })) => return Err(VaultError::Locked),
            // A deleted user looks like one that never registered.
            Some((_, UserState::Deleted { .. })) | None => (None, 0, None),
        };

        let charged = VaultLoginState::start(self.keys.backup(), rng, record.as_ref(), request, || match &charge {
            Some((version, state)) => self.write(&user_key, Some(*version), Some(&state.to_bytes())),
            None => Ok(()),
        });
        let (state, response) = charged.map_err(|error| match error {
            LoginStartError::NotCharged(error) => error,
            LoginStartError::Rejected(error) | LoginStartError::ChargedButFailed(error) => VaultError::Protocol(error),
            _ => VaultError::Protocol(backup_protocol::Error::Opaque),
        })?;

        let stored = StoredLogin {
            issued_at_ms: now,
            generation,
            state,
        };
        self.write(&login_key(&session), None, Some(&stored.to_bytes()))?;
        Ok(Response::LoginStarted { session, response })
    }

    fn login_finish(
        &self,
        now: u64,
        rng: &mut ChaCha20Rng,
        session: &[u8; SESSION_ID_LEN],
        finalization: &LoginFinalization,
    ) -> Outcome<Response, S> {
        let login_key = login_key(session);
        let (login_version, login) = self
            .read(&login_key, StoredLogin::from_bytes, "login session")?
            .ok_or(VaultError::UnknownSession)?;
        if now.saturating_sub(login.issued_at_ms) > self.config.login_ttl_ms {
            return Err(VaultError::SessionExpired);
        }
        let user_key = user_key(login.state.user_id());
        let current = self.read(&user_key, UserState::from_bytes, "user state")?;
        let active = match &current {
            Some((version, UserState::Active { generation, record, .. })) if *generation == login.generation => {
                Some((*version, *generation, record))
            }
            _ => None,
        };

        // Authenticate first, whatever the record's fate, so that every refusal costs the same OPAQUE work.
        let outcome = match login.state.purpose() {
            LoginPurpose::RetrieveKey => login
                .state
                .finish(rng, active.map(|(_, _, record)| record), finalization)
                .map(Response::KeyReleased),
            LoginPurpose::DeleteRecord => login
                .state
                .finish_deletion(active.map(|(_, _, record)| record), finalization)
                .map(|()| Response::Deleted),
        };
        // Authenticated, but the record was locked, deleted or replaced since the login started.
        let gone = || match current {
            Some((_, UserState::Locked { .. })) => VaultError::Locked,
            _ => VaultError::Superseded,
        };
        let outcome = match outcome {
            Err(backup_protocol::Error::RecordUnavailable) => return Err(gone()),
            other => other?,
        };
        let Some((version, generation, record)) = active else {
            return Err(gone());
        };

        // The session is single use: consume it, then reset the counter (or delete the record).
        self.write(&login_key, Some(login_version), None)?;
        let next = match outcome {
            Response::Deleted => UserState::Deleted { generation },
            _ => UserState::Active {
                generation,
                attempts: 0,
                record: record.clone(),
            },
        };
        self.write(&user_key, Some(version), Some(&next.to_bytes()))?;
        Ok(outcome)
    }

    fn ipls_hello(&self, now: u64, rng: &mut ChaCha20Rng, hello: &EscrowHello) -> Outcome<Response, S> {
        self.trust()?;
        let (pending, challenge) = self.keys.ipls().challenge(rng, hello).map_err(VaultError::Ipls)?;
        let stored = StoredEscrowSession {
            issued_at_ms: now,
            pending,
        };
        self.write(
            &escrow_session_key(challenge.challenge()),
            None,
            Some(&stored.to_bytes()),
        )?;
        Ok(Response::IplsChallenge(challenge))
    }

    fn ipls_auth(&self, now: u64, auth: &EscrowAuth) -> Outcome<Response, S> {
        let trust = self.trust()?;
        let session_key = escrow_session_key(auth.challenge());
        let (session_version, session) = self
            .read(&session_key, StoredEscrowSession::from_bytes, "escrow session")?
            .ok_or(VaultError::UnknownSession)?;
        if now.saturating_sub(session.issued_at_ms) > self.config.escrow_ttl_ms {
            return Err(VaultError::SessionExpired);
        }
        let opened = self
            .keys
            .ipls()
            .open(&session.pending, auth)
            .map_err(VaultError::Ipls)?;

        // The signing key must be the account's current key at a fresh witnessed root no older than any root
        // this vault has accepted: a proof from before a key change (or a rollback) must not unlock CK.
        let root = trust
            .verify(now, opened.identity_proof(), opened.account(), opened.account_key())
            .map_err(VaultError::Identity)?;
        let advance = self.head_advance(&root)?;

        let escrow_key = escrowed_key_key(opened.account());
        let escrowed = self.read(&escrow_key, EscrowedKey::from_bytes, "escrowed contact key")?;
        // The key to store (an upload) or to release (a retrieval).
        let (key, upload) = match (opened.uploaded_key().cloned(), escrowed) {
            (Some(_), Some(_)) => return Err(VaultError::AlreadyEscrowed),
            (None, None) => return Err(VaultError::NotEscrowed),
            (Some(key), None) => (key, true),
            (None, Some((_, EscrowedKey(key)))) => (key, false),
        };

        // Every check is done; the writes come in this order so that a conflict or a store failure part way
        // leaves nothing that changes a later answer. The newest root first: moving it forward is right whatever
        // happens next. The stored key next: a failure after it leaves the session usable, and the device's retry
        // of the same auth gets `AlreadyEscrowed` only if the upload landed. Consuming the session last: the reply
        // exists only once it is consumed, so a session answers at most once.
        if let Some((expected, seen)) = advance {
            self.write(KT_HEAD_KEY, expected, Some(&seen.to_bytes()))?;
        }
        let reply = if upload {
            self.write(&escrow_key, None, Some(&EscrowedKey(key).to_bytes()))?;
            self.write(&session_key, Some(session_version), None)?;
            opened.reply_stored()
        } else {
            self.write(&session_key, Some(session_version), None)?;
            opened.reply_released(&key)
        };
        Ok(Response::IplsReply(reply))
    }

    /// The key-transparency trust IPLS requests need.
    fn trust(&self) -> Outcome<&KeyTransparency, S> {
        self.key_transparency
            .as_ref()
            .ok_or(VaultError::KeyTransparencyNotConfigured)
    }

    /// Refuses a root older than the newest one this vault accepted, or another digest at its epoch; returns the
    /// write that records `root` as the newest (the head's current version, and the new head), if it is newer.
    fn head_advance(&self, root: &VerifiedRoot) -> Outcome<Option<(Option<u64>, KtHead)>, S> {
        let seen = KtHead {
            epoch: root.epoch(),
            digest: *root.digest(),
        };
        match self.read(KT_HEAD_KEY, KtHead::from_bytes, "key-transparency head")? {
            Some((_, newest)) if seen.epoch < newest.epoch => Err(VaultError::Identity(IdentityError::StaleRoot {
                epoch: seen.epoch,
                newest: newest.epoch,
            })),
            Some((_, newest)) if seen.epoch == newest.epoch && seen.digest != newest.digest => {
                Err(VaultError::Identity(IdentityError::ForkedRoot { epoch: seen.epoch }))
            }
            Some((_, newest)) if seen == newest => Ok(None),
            Some((version, _)) => Ok(Some((Some(version), seen))),
            None => Ok(Some((None, seen))),
        }
    }

    /// Records a witness-signed root (Plexi protobuf `SignedRoot`) as the newest, so that identity proofs against
    /// older roots are refused from now on, whether or not any IPLS session used the new root yet.
    fn observe_root(&self, now: u64, signed_root: &[u8]) -> Outcome<Response, S> {
        let trust = self.trust()?;
        let root = trust.verify_root(now, signed_root).map_err(VaultError::Identity)?;
        if let Some((expected, seen)) = self.head_advance(&root)? {
            self.write(KT_HEAD_KEY, expected, Some(&seen.to_bytes()))?;
        }
        Ok(Response::RootObserved { epoch: root.epoch() })
    }

    /// Deletes what has expired. Everything is read and decoded first, so a corrupt entry refuses the sweep
    /// before any write; what it deletes could no longer be used (an expired challenge or session is refused), so
    /// a sweep cut short by a store failure changes no answer but `SessionExpired` into `UnknownSession`.
    fn sweep(&self, now: u64) -> Outcome<Response, S> {
        let expiring = [
            (
                PENDING_PREFIX,
                PENDING_TYPE,
                self.config.challenge_ttl_ms,
                "pending registration",
            ),
            (LOGIN_PREFIX, LOGIN_TYPE, self.config.login_ttl_ms, "login session"),
            (
                ESCROW_SESSION_PREFIX,
                ESCROW_SESSION_TYPE,
                self.config.escrow_ttl_ms,
                "escrow session",
            ),
        ];
        let mut expired = Vec::new();
        for (prefix, type_byte, ttl, what) in expiring {
            for key in self.store.keys_with_prefix(prefix).map_err(VaultError::Store)? {
                let Some(entry) = self.store.get(&key).map_err(VaultError::Store)? else {
                    continue;
                };
                let issued = issued_at_ms(&entry.value, type_byte).map_err(|_| VaultError::Corrupt(what))?;
                if now.saturating_sub(issued) > ttl {
                    expired.push((key, entry.version));
                }
            }
        }
        for (key, version) in &expired {
            self.write(key, Some(*version), None)?;
        }
        let removed = u32::try_from(expired.len()).unwrap_or(u32::MAX);
        Ok(Response::Swept { removed })
    }

    fn version(&self, key: &[u8]) -> Outcome<Option<u64>, S> {
        Ok(self
            .store
            .get(key)
            .map_err(VaultError::Store)?
            .map(|entry| entry.version))
    }

    fn read<T>(
        &self,
        key: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
        what: &'static str,
    ) -> Outcome<Option<(u64, T)>, S> {
        match self.store.get(key).map_err(VaultError::Store)? {
            None => Ok(None),
            Some(Versioned { version, value }) => {
                // Stored values hold session keys and contact keys: wipe this copy once decoded.
                let value = Zeroizing::new(value);
                let decoded = decode(&value).map_err(|_| VaultError::Corrupt(what))?;
                Ok(Some((version, decoded)))
            }
        }
    }

    fn write(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Outcome<(), S> {
        match self
            .store
            .compare_and_swap(key, expected, value)
            .map_err(VaultError::Store)?
        {
            Cas::Written => Ok(()),
            Cas::Conflict => Err(VaultError::Conflict),
        }
    }
}

impl<S> core::fmt::Debug for Vault<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Vault")
            .field("keys", &self.keys)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
