//! A vault and its clients in one process, with a controllable clock and seeded entropy.

#![allow(dead_code, unreachable_pub)]

use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfPolicy, LoginFinalization, LoginPurpose,
    PendingDeletionReceipt, PendingKeyRelease, UserId,
};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use vault_core::{
    Command, FleetKeys, MemoryStore, Principal, Request, Response, SESSION_ID_LEN, Store, Vault, VaultConfig,
    VaultError,
};

/// What a client holds after a login response its password opened.
pub type ClientFinished = (PendingKeyRelease, backup_protocol::LoginFinalization);

/// A started login: the client's half if its password opened the response, and the session id.
pub type Started = (Option<ClientFinished>, [u8; SESSION_ID_LEN]);

/// A started deletion login: the client's half if its password opened the response, and the session id.
pub type DeletionStarted = (
    Option<(PendingDeletionReceipt, LoginFinalization)>,
    [u8; SESSION_ID_LEN],
);

pub const PASSWORD: &[u8] = b"correct horse battery staple";
pub const WRONG: &[u8] = b"correct horse battery stable";

/// The default policy with fast Argon2id parameters, and room for the many unfinished logins of one account
/// that the attempt-limit tests make (the caps have their own tests).
pub fn config() -> VaultConfig {
    VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        max_pending_per_principal: 64,
        ..VaultConfig::default()
    }
}

pub fn user(name: &str) -> UserId {
    UserId::new(name.as_bytes().to_vec()).unwrap()
}

/// Drives a vault: makes commands with a clock that moves forward and entropy from a seeded generator.
pub struct Harness<S> {
    pub vault: Vault<S>,
    pub client: ClientConfig,
    pub rng: StdRng,
    pub now_ms: u64,
}

impl Harness<MemoryStore> {
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys = FleetKeys::generate(&mut rng);
        Self::with_store(keys, MemoryStore::new(), rng)
    }
}

impl<S: Store> Harness<S> {
    pub fn with_store(keys: FleetKeys, store: S, rng: StdRng) -> Self {
        let client = ClientConfig::insecure_fast_for_testing(keys.backup_pins());
        Self {
            vault: Vault::new(keys, config(), store),
            client,
            rng,
            now_ms: 1_700_000_000_000,
        }
    }

    /// A command from the principal an honest transport authenticates for `request`.
    pub fn command(&mut self, request: Request) -> Command {
        let principal = owner_of(&request);
        self.command_as(principal, request)
    }

    pub fn command_as(&mut self, principal: Principal, request: Request) -> Command {
        self.now_ms += 1_000;
        let mut entropy = [0u8; 32];
        self.rng.fill_bytes(&mut entropy);
        Command {
            at_ms: self.now_ms,
            entropy,
            principal,
            request,
        }
    }

    /// Applies `request` from its owner; every command and response also goes through its byte encoding, as over
    /// a log and a transport.
    pub fn apply(&mut self, request: Request) -> Result<Response, VaultError<S::Error>> {
        let principal = owner_of(&request);
        self.apply_as(principal, request)
    }

    /// Applies `request` from `principal`.
    pub fn apply_as(&mut self, principal: Principal, request: Request) -> Result<Response, VaultError<S::Error>> {
        let command = self.command_as(principal, request);
        assert_eq!(Command::from_bytes(&command.to_bytes()).as_ref(), Ok(&command));
        let response = self.vault.apply(&command)?;
        assert_eq!(Response::from_bytes(&response.to_bytes()).as_ref(), Ok(&response));
        Ok(response)
    }

    /// Registers `key` for `user` under `password`.
    pub fn register(&mut self, user: &UserId, password: &[u8], key: &BackupKey) {
        let (registration, request) =
            ClientRegistration::start(&mut self.rng, &self.client, user.clone(), password).unwrap();
        let Ok(Response::RegistrationStarted(response)) = self.apply(Request::RegistrationStart(request)) else {
            panic!("registration start refused")
        };
        let (awaiting, upload) = registration.finish(&mut self.rng, &response, key).unwrap();
        let Ok(Response::Registered(receipt)) = self.apply(Request::RegistrationFinish(upload)) else {
            panic!("registration finish refused")
        };
        awaiting.verify(&receipt).unwrap();
    }

    /// Starts a login; on success returns the client half (if the password opened the envelope) and the session.
    pub fn login_start(
        &mut self,
        user: &UserId,
        password: &[u8],
        purpose: LoginPurpose,
    ) -> Result<Started, VaultError<S::Error>> {
        let (login, request) =
            ClientLogin::start_for(&mut self.rng, &self.client, user.clone(), password, purpose).unwrap();
        match self.apply(Request::LoginStart(request))? {
            Response::LoginStarted { session, response } => Ok((login.finish(&mut self.rng, &response).ok(), session)),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Starts a deletion login; returns the client half (if the password opened the envelope) and the session.
    pub fn deletion_start(&mut self, user: &UserId, password: &[u8]) -> Result<DeletionStarted, VaultError<S::Error>> {
        let (login, request) = ClientLogin::start_for(
            &mut self.rng,
            &self.client,
            user.clone(),
            password,
            LoginPurpose::DeleteRecord,
        )
        .unwrap();
        match self.apply(Request::LoginStart(request))? {
            Response::LoginStarted { session, response } => {
                Ok((login.finish_deletion(&mut self.rng, &response).ok(), session))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A whole retrieval: the recovered key, or the first refusal.
    pub fn retrieve(&mut self, user: &UserId, password: &[u8]) -> Result<Option<BackupKey>, VaultError<S::Error>> {
        let (finished, session) = self.login_start(user, password, LoginPurpose::RetrieveKey)?;
        let Some((pending, finalization)) = finished else {
            return Ok(None); // wrong password: the client learned it and sends nothing more
        };
        match self.apply(Request::LoginFinish { session, finalization })? {
            Response::KeyReleased(release) => Ok(Some(pending.open(&release).unwrap())),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The principal an honest transport authenticates for `request`: the account it names, or the operator.
pub fn owner_of(request: &Request) -> Principal {
    let named = match request {
        Request::RegistrationStart(request) => request.user_id(),
        Request::RegistrationFinish(upload) => upload.user_id(),
        Request::LoginStart(request) => request.user_id(),
        Request::LoginFinish { finalization, .. } => finalization.user_id(),
        #[cfg(feature = "ipls")]
        Request::IplsHello(hello) => return Principal::account(hello.account().as_bytes()).unwrap(),
        #[cfg(feature = "ipls")]
        Request::IplsAuth(_) => panic!("an IPLS auth names no account: use apply_as"),
        _ => return Principal::Operator,
    };
    Principal::Account(named.clone())
}
