//! The vault state machine: `apply(command) -> response`, with all state in a [`Store`].

use backup_protocol::{
    DecodeError, KsfPolicy, LoginFinalization, LoginPurpose, LoginRequest, LoginStartError, PendingRegistration,
    RegistrationRequest, RegistrationUpload, UserId, VaultLoginState,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use zeroize::Zeroizing;

use crate::command::{Command, Request, Response};
use crate::error::VaultError;
#[cfg(feature = "ipls")]
use crate::identity::KeyTransparency;
use crate::keys::FleetKeys;
use crate::principal::Principal;
use crate::records::{
    ESCROW_SESSION_PREFIX, ESCROW_SESSION_TYPE, LOGIN_PREFIX, LOGIN_TYPE, PENDING_COUNT_KEY, PENDING_PREFIX,
    PENDING_TYPE, PendingCount, SESSION_ID_LEN, StoredLogin, StoredPending, UserState, issued_at_ms, login_key,
    pending_key, sessions_of, user_key,
};
use crate::store::{Cas, Store, Versioned};

#[cfg(feature = "ipls")]
mod escrow;

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
    /// Registration challenges, login sessions and escrow sessions one account may have stored at once (until
    /// they are finished or swept). A login whose password was wrong is never finished, so keep this above
    /// `attempt_limit`: below it, it also slows the owner's guessing to that many per sweep.
    pub max_pending_per_principal: u32,
    /// Registration challenges, login sessions and escrow sessions the whole vault holds at most.
    pub max_pending_total: u64,
    /// Entries one [`Request::Sweep`] examines at most.
    pub sweep_page: u32,
}

impl Default for VaultConfig {
    /// 10 attempts, 10-minute challenges, 2-minute logins and escrow sessions, [`KsfPolicy::RECOMMENDED`], 16
    /// entries in flight per account and 1,000,000 in all, sweeps of 1,024 entries.
    fn default() -> Self {
        Self {
            attempt_limit: 10,
            challenge_ttl_ms: 10 * 60 * 1000,
            login_ttl_ms: 2 * 60 * 1000,
            escrow_ttl_ms: 2 * 60 * 1000,
            ksf_policy: KsfPolicy::RECOMMENDED,
            max_pending_per_principal: 16,
            max_pending_total: 1_000_000,
            sweep_page: 1024,
        }
    }
}

/// What the vault holds for a user ([`Vault::record_status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordStatus {
    /// A record that answers logins.
    Active {
        /// Login starts charged since the last successful login (or the registration).
        attempts_used: u32,
        /// Login starts the record still answers before the next one destroys it.
        guesses_remaining: u32,
    },
    /// The guesses were used up and the record (with EK) destroyed.
    Locked,
    /// No record: the owner deleted it, or never registered but has tried to log in (such logins are charged as a
    /// record's would be, so that the account cannot tell the difference).
    NoRecord {
        /// Login starts charged.
        attempts_used: u32,
    },
}

/// The Backup Key Vault: a deterministic state machine over a [`Store`].
///
/// `apply` is a pure function of (store contents, keys, config, command): the command carries the time and the
/// entropy, so replicas that apply the same command log hold the same state and give the same responses.
///
/// ```
/// use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfPolicy, UserId};
/// use vault_core::{Command, FleetKeys, MemoryStore, Principal, Request, Response, Vault, VaultConfig};
/// let mut rng = vault_core::rand_core::OsRng;
/// let config = VaultConfig { ksf_policy: KsfPolicy::INSECURE_TESTING, ..VaultConfig::default() };
/// let vault = Vault::new(FleetKeys::generate(&mut rng), config, MemoryStore::new());
/// let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
/// let user = UserId::new(b"alice".to_vec())?;
/// // Every command names the account its transport authenticated.
/// let alice = Principal::Account(user.clone());
/// let command = |at_ms, request| {
///     let mut entropy = [0u8; 32];
///     vault_core::rand_core::RngCore::fill_bytes(&mut vault_core::rand_core::OsRng, &mut entropy);
///     Command { at_ms, entropy, principal: alice.clone(), request }
/// };
///
/// let key = BackupKey::generate(&mut rng);
/// let (registration, request) = ClientRegistration::start(&mut rng, &client, user.clone(), b"pw")?;
/// let Ok(Response::RegistrationStarted(response)) = vault.apply(&command(1_000, Request::RegistrationStart(request)))
/// else { panic!() };
/// let (awaiting, upload) = registration.finish(&mut rng, &response, &key)?;
/// let Ok(Response::Registered(receipt)) = vault.apply(&command(2_000, Request::RegistrationFinish(upload)))
/// else { panic!() };
/// awaiting.verify(&receipt)?; // K is escrowed
///
/// let (login, request) = ClientLogin::start(&mut rng, &client, user, b"pw")?;
/// let Ok(Response::LoginStarted { session, response }) = vault.apply(&command(3_000, Request::LoginStart(request)))
/// else { panic!() };
/// let (pending, finalization) = login.finish(&mut rng, &response)?;
/// assert_eq!(pending.guesses_remaining(), config.attempt_limit - 1);
/// let Ok(Response::KeyReleased(release)) =
///     vault.apply(&command(4_000, Request::LoginFinish { session, finalization }))
/// else { panic!() };
/// assert_eq!(pending.open(&release)?, key);
/// # Ok::<(), backup_protocol::Error>(())
/// ```
pub struct Vault<S> {
    keys: FleetKeys,
    config: VaultConfig,
    #[cfg(feature = "ipls")]
    key_transparency: Option<KeyTransparency>,
    store: S,
}

type Outcome<T, S> = Result<T, VaultError<<S as Store>::Error>>;

/// How often a conflicting update of the overall pending count is retried before the command gives up.
const COUNT_RETRIES: usize = 8;

/// Operator requests come from the operator only.
fn operator<E>(principal: &Principal) -> Result<Option<&UserId>, VaultError<E>> {
    match principal {
        Principal::Operator => Ok(None),
        Principal::Account(_) => Err(VaultError::Forbidden),
    }
}

/// Checks that `principal` may make `request` (SPEC.md, "Authorization") and returns the account it acts for:
/// `Some` for the user-scoped requests, each of which must come from the account it names (an IPLS auth names
/// none: its session is looked up under the principal), `None` for the operator's.
fn authorize<'p, E>(principal: &'p Principal, request: &Request) -> Result<Option<&'p UserId>, VaultError<E>> {
    let named = match request {
        Request::RegistrationStart(request) => Some(request.user_id().as_bytes()),
        Request::RegistrationFinish(upload) => Some(upload.user_id().as_bytes()),
        Request::LoginStart(request) => Some(request.user_id().as_bytes()),
        Request::LoginFinish { finalization, .. } => Some(finalization.user_id().as_bytes()),
        #[cfg(feature = "ipls")]
        Request::IplsHello(hello) => Some(hello.account().as_bytes()),
        #[cfg(feature = "ipls")]
        Request::IplsAuth(_) => None,
        #[cfg(feature = "ipls")]
        Request::ObserveRoot(_) => return operator(principal),
        Request::Sweep { .. } => return operator(principal),
    };
    match principal {
        Principal::Account(account) if named.is_none_or(|named| named == account.as_bytes()) => Ok(Some(account)),
        _ => Err(VaultError::Forbidden),
    }
}

impl<S: Store> Vault<S> {
    /// A vault over `store`.
    pub fn new(keys: FleetKeys, config: VaultConfig, store: S) -> Self {
        Self {
            keys,
            config,
            #[cfg(feature = "ipls")]
            key_transparency: None,
            store,
        }
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

    /// What the vault holds for `user`, for the operator (support tooling, monitoring): whether a record is
    /// active and how many of its guesses are used, or whether it was locked or deleted. Reads only; `None` if the
    /// user never registered nor tried to log in.
    ///
    /// This tells whether a user has a backup, which the vault never tells an account (SPEC §6): keep it away from
    /// anything an account can query.
    ///
    /// ```
    /// use backup_protocol::UserId;
    /// use vault_core::{FleetKeys, MemoryStore, Vault, VaultConfig};
    /// let vault = Vault::new(FleetKeys::generate(&mut vault_core::rand_core::OsRng), VaultConfig::default(), MemoryStore::new());
    /// assert_eq!(vault.record_status(&UserId::new(b"alice".to_vec())?), Ok(None));
    /// # Ok::<(), backup_protocol::Error>(())
    /// ```
    pub fn record_status(&self, user: &UserId) -> Outcome<Option<RecordStatus>, S> {
        Ok(self
            .read(&user_key(user), UserState::from_bytes, "user state")?
            .map(|(_, state)| match state {
                UserState::Active { attempts, .. } => RecordStatus::Active {
                    attempts_used: attempts,
                    guesses_remaining: self.config.attempt_limit.saturating_sub(attempts),
                },
                UserState::Locked { .. } => RecordStatus::Locked,
                UserState::NoRecord { attempts, .. } => RecordStatus::NoRecord {
                    attempts_used: attempts,
                },
            }))
    }

    /// Applies one command. The principal is checked first ([`VaultError::Forbidden`]), before anything is read.
    /// A refused command leaves the store unchanged, with one designed exception: the login start that finds a
    /// record's guesses used up destroys the record (SPEC.md, "Lockout").
    pub fn apply(&self, command: &Command) -> Outcome<Response, S> {
        let owner = authorize(&command.principal, &command.request)?;
        let mut rng = ChaCha20Rng::from_seed(command.entropy);
        let now = command.at_ms;
        match (&command.request, owner) {
            (Request::RegistrationStart(request), Some(owner)) => {
                self.registration_start(now, &mut rng, owner, request)
            }
            (Request::RegistrationFinish(upload), Some(_)) => self.registration_finish(now, upload),
            (Request::LoginStart(request), Some(owner)) => self.login_start(now, &mut rng, owner, request),
            (Request::LoginFinish { session, finalization }, Some(owner)) => {
                self.login_finish(now, &mut rng, owner, session, finalization)
            }
            #[cfg(feature = "ipls")]
            (Request::IplsHello(hello), Some(owner)) => self.ipls_hello(now, &mut rng, owner, hello),
            #[cfg(feature = "ipls")]
            (Request::IplsAuth(auth), Some(owner)) => self.ipls_auth(now, owner, auth),
            (Request::Sweep { cursor }, None) => self.sweep(now, cursor),
            #[cfg(feature = "ipls")]
            (Request::ObserveRoot(signed_root), None) => self.observe_root(now, signed_root),
            // `authorize` names an owner exactly for the user-scoped requests.
            _ => Err(VaultError::Forbidden),
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
        owner: &UserId,
        request: &RegistrationRequest,
    ) -> Outcome<Response, S> {
        let key = pending_key(owner);
        // A new start replaces any earlier challenge of this user, which can then no longer be answered; only a
        // first one adds an entry.
        let current = self.version(&key)?;
        if current.is_none() {
            self.check_room(owner)?;
        }
        let (pending, response) = PendingRegistration::start(self.keys.backup(), rng, request)?;
        if current.is_none() {
            self.count_pending(1)?;
        }
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
        let (record, receipt) = stored
            .pending
            .finish(self.keys.backup(), upload, &self.config.ksf_policy)?;
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
        self.uncount_pending(1);
        Ok(Response::Registered(receipt))
    }

    fn login_start(
        &self,
        now: u64,
        rng: &mut ChaCha20Rng,
        owner: &UserId,
        request: &LoginRequest,
    ) -> Outcome<Response, S> {
        self.check_room(owner)?;
        let mut session = [0u8; SESSION_ID_LEN];
        rng.fill_bytes(&mut session);
        let user_key = user_key(request.user_id());
        let current = self.read(&user_key, UserState::from_bytes, "user state")?;
        let limit = self.config.attempt_limit;

        // What this login runs against, the charge to store before any response exists, and the guesses left
        // after it.
        let (record, generation, charge, remaining) = match current {
            Some((
                version,
                UserState::Active {
                    generation,
                    attempts,
                    record,
                },
            )) => {
                if attempts >= limit {
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
                let remaining = limit - (attempts + 1);
                (Some(record), generation, Some((Some(version), charged)), remaining)
            }
            Some((_, UserState::Locked { .. })) => return Err(VaultError::Locked),
            // No record (deleted, or never registered): charged and locked exactly as a record, so that neither the
            // guesses remaining nor the lockout tells the account whether it has a backup.
            no_record => {
                let (version, generation, attempts) = match no_record {
                    Some((version, UserState::NoRecord { generation, attempts })) => {
                        (Some(version), generation, attempts)
                    }
                    _ => (None, 0, 0),
                };
                if attempts >= limit {
                    self.write(&user_key, version, Some(&UserState::Locked { generation }.to_bytes()))?;
                    return Err(VaultError::Locked);
                }
                let charged = UserState::NoRecord {
                    generation,
                    attempts: attempts + 1,
                };
                let remaining = limit - (attempts + 1);
                (None, generation, Some((version, charged)), remaining)
            }
        };
        // The entropy draws the session id: a command applied twice must find it taken before it charges again.
        let session_key = login_key(owner, &session);
        if self.version(&session_key)?.is_some() {
            return Err(VaultError::Conflict);
        }

        let charged = VaultLoginState::start(self.keys.backup(), rng, record.as_ref(), request, || {
            // Count the session to come first: if the charge then fails, only the count is too high (allowed), and
            // a refused start has spent no guess.
            self.count_pending(1)?;
            if let Some((version, state)) = &charge {
                self.write(&user_key, *version, Some(&state.to_bytes()))?;
            }
            Ok(remaining)
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
        self.write(&session_key, None, Some(&stored.to_bytes()))?;
        Ok(Response::LoginStarted { session, response })
    }

    fn login_finish(
        &self,
        now: u64,
        rng: &mut ChaCha20Rng,
        owner: &UserId,
        session: &[u8; SESSION_ID_LEN],
        finalization: &LoginFinalization,
    ) -> Outcome<Response, S> {
        // Only the owner's own sessions are reachable: another account's session id finds nothing here.
        let login_key = login_key(owner, session);
        let (login_version, login) = self
            .read(&login_key, StoredLogin::from_bytes, "login session")?
            .ok_or(VaultError::UnknownSession)?;
        if login.state.user_id() != owner {
            return Err(VaultError::Forbidden);
        }
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
                .map(Response::Deleted),
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
            Response::Deleted(_) => UserState::NoRecord {
                generation,
                attempts: 0,
            },
            _ => UserState::Active {
                generation,
                attempts: 0,
                record: record.clone(),
            },
        };
        self.write(&user_key, Some(version), Some(&next.to_bytes()))?;
        self.uncount_pending(1);
        Ok(outcome)
    }

    /// Deletes what has expired among at most `sweep_page` entries, starting after `cursor` (registration
    /// challenges, then login sessions, then escrow sessions, each in key order). The page is read and decoded
    /// first, so a corrupt entry refuses the sweep before any write; what it deletes could no longer be used (an
    /// expired challenge or session is refused), so a sweep cut short by a store failure changes no answer but
    /// `SessionExpired` into `UnknownSession`.
    fn sweep(&self, now: u64, cursor: &[u8]) -> Outcome<Response, S> {
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
        let first = if cursor.is_empty() {
            0
        } else {
            expiring
                .iter()
                .position(|(prefix, ..)| cursor.starts_with(prefix))
                .ok_or(VaultError::InvalidSweepCursor)?
        };
        let page = usize::try_from(self.config.sweep_page.max(1)).unwrap_or(usize::MAX);
        let mut examined = 0;
        let mut last = None;
        let mut expired = Vec::new();
        for (index, (prefix, type_byte, ttl, what)) in expiring.iter().enumerate().skip(first) {
            let after = (index == first && !cursor.is_empty()).then_some(cursor);
            let room = page.saturating_sub(examined);
            let keys = self
                .store
                .keys_with_prefix(prefix, after, room)
                .map_err(VaultError::Store)?;
            // A store that returns more than asked does not stretch the page.
            for key in keys.into_iter().take(room) {
                examined += 1;
                if let Some(entry) = self.store.get(&key).map_err(VaultError::Store)? {
                    let value = Zeroizing::new(entry.value);
                    let issued = issued_at_ms(&value, *type_byte).map_err(|_| VaultError::Corrupt(what))?;
                    if now.saturating_sub(issued) > *ttl {
                        expired.push((key.clone(), entry.version));
                    }
                }
                last = Some(key);
            }
            if examined >= page {
                break;
            }
        }
        for (key, version) in &expired {
            self.write(key, Some(*version), None)?;
        }
        self.uncount_pending(expired.len() as u64);
        let removed = u32::try_from(expired.len()).unwrap_or(u32::MAX);
        // A full page may have more behind it; a short one reached the end of the pass.
        let next = if examined >= page { last } else { None };
        Ok(Response::Swept { removed, next })
    }

    /// Refuses a request that would add an entry for `owner` beyond the per-principal or the overall cap. Reads
    /// only: at most the cap's worth of keys under the owner's prefixes, and the overall count.
    fn check_room(&self, owner: &UserId) -> Outcome<(), S> {
        let cap = usize::try_from(self.config.max_pending_per_principal).unwrap_or(usize::MAX);
        let mut held = usize::from(self.version(&pending_key(owner))?.is_some());
        for prefix in [LOGIN_PREFIX, ESCROW_SESSION_PREFIX] {
            if held >= cap {
                break;
            }
            let room = cap - held;
            held += self
                .store
                .keys_with_prefix(&sessions_of(prefix, owner), None, room)
                .map_err(VaultError::Store)?
                .len()
                .min(room);
        }
        if held >= cap {
            return Err(VaultError::PrincipalPendingFull);
        }
        if self.pending_count()?.1 >= self.config.max_pending_total {
            return Err(VaultError::PendingFull);
        }
        Ok(())
    }

    /// The overall count of expiring entries, with its version.
    fn pending_count(&self) -> Outcome<(Option<u64>, u64), S> {
        Ok(self
            .read(PENDING_COUNT_KEY, PendingCount::from_bytes, "pending count")?
            .map_or((None, 0), |(version, PendingCount(count))| (Some(version), count)))
    }

    /// Adds `delta` to the overall count. A count is commutative, so a conflicting writer's update is re-read and
    /// the write retried, a bounded number of times.
    fn adjust_pending(&self, delta: i64) -> Outcome<(), S> {
        for _ in 0..COUNT_RETRIES {
            let (version, count) = self.pending_count()?;
            let next = count.saturating_add_signed(delta);
            let written = self
                .store
                .compare_and_swap(PENDING_COUNT_KEY, version, Some(&PendingCount(next).to_bytes()))
                .map_err(VaultError::Store)?;
            if written == Cas::Written {
                return Ok(());
            }
        }
        Err(VaultError::Conflict)
    }

    /// Counts an entry about to be written; done before the write, so a failure after it leaves the count too
    /// high (the cap is reached early), never too low.
    fn count_pending(&self, added: i64) -> Outcome<(), S> {
        self.adjust_pending(added)
    }

    /// Uncounts entries already deleted. The command's work is done and durable by now, so a failure here does
    /// not refuse it: it only leaves the count too high, which can refuse a later start early but never admits
    /// one past the cap.
    fn uncount_pending(&self, removed: u64) {
        if removed > 0 {
            let _ = self.adjust_pending(-i64::try_from(removed).unwrap_or(i64::MAX));
        }
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
