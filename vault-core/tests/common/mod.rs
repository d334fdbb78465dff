//! A vault and its clients in one process, with a controllable clock and seeded entropy.

#![allow(dead_code, unreachable_pub)]

use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfPolicy, LoginPurpose, PendingKeyRelease, UserId,
};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use vault_core::{
    Command, FleetKeys, MemoryStore, Request, Response, SESSION_ID_LEN, Store, Vault, VaultConfig, VaultError,
};

/// What a client holds after a login response its password opened.
pub type ClientFinished = (PendingKeyRelease, backup_protocol::LoginFinalization);

/// A started login: the client's half if its password opened the response, and the session id.
pub type Started = (Option<ClientFinished>, [u8; SESSION_ID_LEN]);

pub const PASSWORD: &[u8] = b"correct horse battery staple";
pub const WRONG: &[u8] = b"correct horse battery stable";

pub fn config() -> VaultConfig {
    VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
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

impl<S: Store> Harness<S>
where
    S::Error: PartialEq,
{
    pub fn with_store(keys: FleetKeys, store: S, rng: StdRng) -> Self {
        let client = ClientConfig::insecure_fast_for_testing(keys.backup_pins());
        Self {
            vault: Vault::new(keys, config(), store),
            client,
            rng,
            now_ms: 1_700_000_000_000,
        }
    }

    pub fn command(&mut self, request: Request) -> Command {
        self.now_ms += 1_000;
        let mut entropy = [0u8; 32];
        self.rng.fill_bytes(&mut entropy);
        Command {
            at_ms: self.now_ms,
            entropy,
            request,
        }
    }

    /// Applies `request`; every command and response also goes through its byte encoding, as over a log and a
    /// transport.
    pub fn apply(&mut self, request: Request) -> Result<Response, VaultError<S::Error>> {
        let command = self.command(request);
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
        let upload = registration.finish(&mut self.rng, &response, key).unwrap();
        assert_eq!(
            self.apply(Request::RegistrationFinish(upload)),
            Ok(Response::Registered)
        );
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
