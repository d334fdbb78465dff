//! A backup client of the replicated vault: backup-protocol's client halves plus an idempotency key per request.

use std::fmt;

use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vault_core::{Principal, Request, Response};

use std::future::Future;

use vault_core::FleetKeys;

use super::cluster::{Cluster, SubmitError};
use super::proposal::{ClientId, Outcome, Refusal};

/// Where a client's requests go: the in-process [`Cluster`], or replicas in other processes over TCP.
pub(crate) trait Submit {
    /// The fleet keys the client pins.
    fn keys(&self) -> &FleetKeys;

    /// Sends `request` under the idempotency key (the connection's `principal`, `client`, `seq`) and returns the
    /// outcome the state machine produced, or why there is none.
    fn submit(
        &self,
        principal: Principal,
        client: ClientId,
        seq: u64,
        request: Request,
    ) -> impl Future<Output = Result<Outcome, SubmitError>> + Send;
}

impl Submit for Cluster {
    fn keys(&self) -> &FleetKeys {
        Cluster::keys(self)
    }

    fn submit(
        &self,
        principal: Principal,
        client: ClientId,
        seq: u64,
        request: Request,
    ) -> impl Future<Output = Result<Outcome, SubmitError>> + Send {
        Cluster::submit(self, principal, client, seq, request)
    }
}

/// Why a client flow stopped.
#[derive(Debug)]
pub(crate) enum Failed {
    /// The request got no outcome.
    Submit(SubmitError),
    /// The vault refused.
    Refused(Refusal),
    /// The client side of the protocol failed (forged response, key release that does not open, ...).
    Protocol(backup_protocol::Error),
    /// The vault answered with a response of the wrong kind.
    Unexpected,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Submit(error) => write!(f, "no outcome: {error}"),
            Self::Refused(refusal) => write!(f, "refused: {refusal:?}"),
            Self::Protocol(error) => write!(f, "protocol: {error}"),
            Self::Unexpected => f.write_str("unexpected response"),
        }
    }
}

impl std::error::Error for Failed {}

impl From<SubmitError> for Failed {
    fn from(error: SubmitError) -> Self {
        Self::Submit(error)
    }
}

impl From<Refusal> for Failed {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<backup_protocol::Error> for Failed {
    fn from(error: backup_protocol::Error) -> Self {
        Self::Protocol(error)
    }
}

/// One device of one user. Each new request takes the next sequence number; [`Client::retry`] sends the last
/// request again under the same number, which the cluster answers from the stored outcome if it was applied.
pub(crate) struct Client {
    /// The account the device's connection authenticated as: what the cluster is told, not what requests say.
    principal: Principal,
    id: ClientId,
    seq: u64,
    last: Option<Request>,
    user: UserId,
    config: ClientConfig,
    rng: StdRng,
}

impl Client {
    /// A device of `user`, connected as `user`, pinning the cluster's keys. `seed` makes the device's randomness,
    /// its client id included: two devices of one account need two seeds (a reused id with restarting sequence
    /// numbers is answered `Stale` or `KeyReused`). Fast Argon2id parameters and a seeded generator: for tests and
    /// measurements only.
    pub(crate) fn new(cluster: &impl Submit, user: UserId, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Self {
            principal: Principal::Account(user.clone()),
            id: rng.r#gen(),
            seq: 0,
            last: None,
            user,
            config: ClientConfig::insecure_fast_for_testing(cluster.keys().backup_pins()),
            rng,
        }
    }

    /// The principal the device's connection authenticated.
    pub(crate) fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The client's part of the idempotency key of its last request: its id and the seq that request took.
    pub(crate) fn key(&self) -> (ClientId, u64) {
        (self.id, self.seq)
    }

    /// Sends a new request.
    pub(crate) async fn send(&mut self, cluster: &impl Submit, request: Request) -> Result<Outcome, SubmitError> {
        self.seq += 1;
        self.last = Some(request.clone());
        cluster.submit(self.principal.clone(), self.id, self.seq, request).await
    }

    /// Sends the last request again, under the same idempotency key.
    pub(crate) async fn retry(&mut self, cluster: &impl Submit) -> Result<Outcome, SubmitError> {
        let request = self.last.clone().ok_or(SubmitError::NothingSent)?;
        cluster.submit(self.principal.clone(), self.id, self.seq, request).await
    }

    /// Registers `key` under `password`.
    pub(crate) async fn register(
        &mut self,
        cluster: &impl Submit,
        password: &[u8],
        key: &BackupKey,
    ) -> Result<(), Failed> {
        let (registration, request) =
            ClientRegistration::start(&mut self.rng, &self.config, self.user.clone(), password)?;
        let Response::RegistrationStarted(response) = self.send(cluster, Request::RegistrationStart(request)).await??
        else {
            return Err(Failed::Unexpected);
        };
        let (awaiting, upload) = registration.finish(&mut self.rng, &response, key)?;
        match self.send(cluster, Request::RegistrationFinish(upload)).await?? {
            // Escrowed only once the fleet's signature over this very upload checks out.
            Response::Registered(receipt) => Ok(awaiting.verify(&receipt)?),
            _ => Err(Failed::Unexpected),
        }
    }

    /// The first message of a retrieval with `password`, not sent yet.
    pub(crate) fn begin_login(&mut self, password: &[u8]) -> Result<(ClientLogin, Request), Failed> {
        let (login, request) = ClientLogin::start(&mut self.rng, &self.config, self.user.clone(), password)?;
        Ok((login, Request::LoginStart(request)))
    }

    /// Finishes a retrieval from the outcome of its login start: the key, or `None` if the password was wrong
    /// (then the client sends nothing more).
    pub(crate) async fn finish_login(
        &mut self,
        cluster: &impl Submit,
        login: ClientLogin,
        started: Outcome,
    ) -> Result<Option<BackupKey>, Failed> {
        let Response::LoginStarted { session, response } = started? else {
            return Err(Failed::Unexpected);
        };
        let (pending, finalization) = match login.finish(&mut self.rng, &response) {
            Ok(finished) => finished,
            Err(backup_protocol::Error::WrongPassword { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        match self
            .send(cluster, Request::LoginFinish { session, finalization })
            .await??
        {
            Response::KeyReleased(release) => Ok(Some(pending.open(&release)?)),
            _ => Err(Failed::Unexpected),
        }
    }

    /// A retrieval with `password` that also returns the guesses remaining the vault signed in its login response
    /// (this guess counted): with the key, or `None` for a wrong password.
    pub(crate) async fn attempt(
        &mut self,
        cluster: &impl Submit,
        password: &[u8],
    ) -> Result<(u32, Option<BackupKey>), Failed> {
        let (login, request) = self.begin_login(password)?;
        let Response::LoginStarted { session, response } = self.send(cluster, request).await?? else {
            return Err(Failed::Unexpected);
        };
        let (pending, finalization) = match login.finish(&mut self.rng, &response) {
            Ok(finished) => finished,
            Err(backup_protocol::Error::WrongPassword { guesses_remaining }) => return Ok((guesses_remaining, None)),
            Err(error) => return Err(error.into()),
        };
        let guesses_remaining = pending.guesses_remaining();
        match self
            .send(cluster, Request::LoginFinish { session, finalization })
            .await??
        {
            Response::KeyReleased(release) => Ok((guesses_remaining, Some(pending.open(&release)?))),
            _ => Err(Failed::Unexpected),
        }
    }

    /// A whole retrieval with `password`: the key, `None` for a wrong password, or the first failure.
    pub(crate) async fn retrieve(
        &mut self,
        cluster: &impl Submit,
        password: &[u8],
    ) -> Result<Option<BackupKey>, Failed> {
        let (login, request) = self.begin_login(password)?;
        let started = self.send(cluster, request).await?;
        self.finish_login(cluster, login, started).await
    }
}
