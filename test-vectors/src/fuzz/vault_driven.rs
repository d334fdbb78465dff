//! vault-core's state machine driven by real clients (issue #17's structure-aware vault target): the input is a
//! list of steps over three accounts, interpreted by this harness, not raw command bytes. Valid registrations and
//! logins made by backup-protocol's own client (seeded, so an input always means the same run) are interleaved
//! with the same commands replayed byte for byte, replayed with a new time and entropy, sent by another account,
//! mutated, clock steps around the lifetimes, sweeps, and store writes that fail (a crash between two writes of a
//! command, after which the command may be applied again).
//!
//! After every step: (i) per account, the login starts answered with an OPRF evaluation under its current record's
//! key since that record was registered or last released its key never exceed the attempt limit, and never exceed
//! the charges the vault stored for it; (ii) a refusal leaves the store exactly as it was (but `Conflict`, `Store`
//! and `Locked`, as in `vault_sequence`); (iii) two vaults fed the same steps (and the same failing writes) answer
//! alike and hold the same store; (iv) no panic.

use core::cell::Cell;
use core::fmt;

use backup_protocol::{
    ClientConfig, ClientLogin, ClientRegistration, LoginFinalization, LoginPurpose, PendingKeyRelease, UserId,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use vault_core::store::{Cas, Store, Versioned};
use vault_core::{Command, MemoryStore, Principal, RecordStatus, Request, Response, Vault, VaultConfig, VaultError};

use super::vault_sequence::{setups, vault_keys};

/// The accounts the steps act for.
const ACCOUNTS: [&[u8]; 3] = [b"alice", b"bob", b"carol"];
/// The passwords a step may type: an account registers with one and may log in with either.
const PASSWORDS: [&[u8]; 2] = [b"correct horse", b"battery staple"];
/// Steps one input runs at most (each may cost an OPAQUE exchange).
const MAX_STEPS: usize = 64;
/// The time of the first command; the same start as the vectors'.
const START_MS: u64 = 1_750_000_000_000;

/// A store write that failed because the harness said so: the process died between two writes.
#[derive(Debug, PartialEq, Eq)]
struct Crashed;

impl fmt::Display for Crashed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("crashed before this write")
    }
}

impl core::error::Error for Crashed {}

/// A [`MemoryStore`] whose `n`-th next write fails (and does not happen), once.
struct CrashingStore {
    inner: MemoryStore,
    writes_until_crash: Cell<Option<u8>>,
    /// Only for this harness's own test: after this many writes to user states, such writes are acknowledged and
    /// not kept (charges lost), which property (i) must catch.
    keeps_user_writes: Cell<Option<u32>>,
}

impl Store for CrashingStore {
    type Error = Crashed;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Crashed> {
        Ok(self.inner.get(key).unwrap_or_else(|never| match never {}))
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Crashed> {
        match self.writes_until_crash.get() {
            Some(0) => {
                self.writes_until_crash.set(None);
                return Err(Crashed);
            }
            Some(n) => self.writes_until_crash.set(Some(n - 1)),
            None => {}
        }
        if key.starts_with(b"user/") {
            match self.keeps_user_writes.get() {
                Some(0) => return Ok(Cas::Written),
                Some(n) => self.keeps_user_writes.set(Some(n - 1)),
                None => {}
            }
        }
        Ok(self
            .inner
            .compare_and_swap(key, expected, value)
            .unwrap_or_else(|never| match never {}))
    }

    fn keys_with_prefix(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, Crashed> {
        Ok(self
            .inner
            .keys_with_prefix(prefix, after, limit)
            .unwrap_or_else(|never| match never {}))
    }
}

/// The input, read a byte at a time; `None` once it is used up, which ends the run.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn pick<'t, T>(&mut self, from: &'t [T]) -> Option<&'t T> {
        let byte = self.byte()?;
        from.get(usize::from(byte) % from.len().max(1))
    }

    fn account(&mut self) -> Option<usize> {
        Some(usize::from(self.byte()?) % ACCOUNTS.len())
    }
}

/// A login the client finished, waiting for its finalization to be sent.
struct OpenLogin {
    account: usize,
    session: [u8; 16],
    finalization: LoginFinalization,
    pending: Option<PendingKeyRelease>,
}

/// What the harness knows of one account from the answers it saw: whether a record of its own is current, and the
/// OPRF evaluations under that record's key the account received since its registration or last release.
#[derive(Clone, Copy, Default)]
struct Account {
    registered: bool,
    evaluations: u32,
}

/// The run: two vaults, the clients' state, what was sent.
struct Run {
    vaults: [Vault<CrashingStore>; 2],
    config: VaultConfig,
    client: ClientConfig,
    users: Vec<UserId>,
    clients: ChaCha20Rng,
    entropy: ChaCha20Rng,
    clock: u64,
    uploads: Vec<Option<Request>>,
    logins: Vec<OpenLogin>,
    sent: Vec<Command>,
    accounts: [Account; 3],
    accepted: bool,
}

/// Steps: the input's first byte picks the vectors' key file and configuration, then each step is an opcode byte
/// and its argument bytes. Returns whether some command was accepted.
pub(super) fn driven(data: &[u8]) -> bool {
    run(data, None)
}

/// [`driven`] over stores that keep only the first `keeps_user_writes` writes of user states, if set.
fn run(data: &[u8], keeps_user_writes: Option<u32>) -> bool {
    let mut input = Input(data);
    let Some(setup) = input.pick(setups()) else {
        return false;
    };
    let vault = || {
        let store = CrashingStore {
            inner: MemoryStore::new(),
            writes_until_crash: Cell::new(None),
            keeps_user_writes: Cell::new(keeps_user_writes),
        };
        Vault::new(vault_keys(setup), setup.1, store)
    };
    let keys = vault_keys(setup);
    let mut run = Run {
        vaults: [vault(), vault()],
        config: setup.1,
        client: ClientConfig::insecure_fast_for_testing(keys.backup_pins()),
        users: ACCOUNTS
            .iter()
            .map(|id| UserId::new(id.to_vec()).expect("a valid id"))
            .collect(),
        clients: ChaCha20Rng::seed_from_u64(1),
        entropy: ChaCha20Rng::seed_from_u64(2),
        clock: START_MS,
        uploads: vec![None; ACCOUNTS.len()],
        logins: Vec::new(),
        sent: Vec::new(),
        accounts: [Account::default(); 3],
        accepted: false,
    };
    for _ in 0..MAX_STEPS {
        if run.step(&mut input).is_none() {
            break;
        }
    }
    run.accepted
}

impl Run {
    /// Reads and runs one step; `None` when the input ends.
    fn step(&mut self, input: &mut Input<'_>) -> Option<()> {
        match input.byte()? % 10 {
            0 => self.registration_start(input.account()?, input.pick(&PASSWORDS)?),
            1 => self.registration_finish(input.account()?),
            2 => {
                let purpose = *input.pick(&[LoginPurpose::RetrieveKey, LoginPurpose::DeleteRecord])?;
                self.login_start(input.account()?, input.pick(&PASSWORDS)?, purpose);
            }
            3 => {
                let which = usize::from(input.byte()?);
                if !self.logins.is_empty() {
                    let login = self.logins.remove(which % self.logins.len());
                    self.login_finish(login);
                }
            }
            4 => {
                // The same command again, byte for byte: a replica applying a log entry twice.
                if let Some(command) = self.earlier(input.byte()?) {
                    self.apply(&command);
                }
            }
            5 => {
                // The same request in a new command: an attacker replaying what the client sent.
                if let Some(command) = self.earlier(input.byte()?) {
                    self.send(command.principal.clone(), command.request.clone());
                }
            }
            6 => {
                // Another principal sends an account's request.
                let stranger = match input.byte()? % 4 {
                    3 => Principal::Operator,
                    i => Principal::Account(self.users[usize::from(i)].clone()),
                };
                if let Some(command) = self.earlier(input.byte()?) {
                    self.send(stranger, command.request.clone());
                }
            }
            7 => {
                // One byte of an earlier command flipped, then decoded and applied as the log would.
                let (at, mask) = (usize::from(input.byte()?), input.byte()?.max(1));
                if let Some(command) = self.earlier(input.byte()?) {
                    let mut bytes = command.to_bytes().to_vec();
                    let at = at % bytes.len();
                    bytes[at] ^= mask;
                    if let Ok(command) = Command::from_bytes(&bytes) {
                        self.apply(&command);
                    }
                }
            }
            8 => {
                // The clock: small steps and the lifetimes' boundaries, where `>` and `>=` differ.
                let ttl = self.config.login_ttl_ms.min(self.config.challenge_ttl_ms);
                self.clock += *input.pick(&[1, 1_000, ttl, ttl + 1, ttl - 1])?;
            }
            _ => {
                if input.byte()? % 2 == 0 {
                    // Sweep from the start (expired entries go, nothing else may).
                    self.send(Principal::Operator, Request::Sweep { cursor: Vec::new() });
                } else {
                    // The next command dies before its first, second, ... write (on both replicas alike).
                    let writes = input.byte()? % 4;
                    for vault in &self.vaults {
                        vault.store().writes_until_crash.set(Some(writes));
                    }
                }
            }
        }
        Some(())
    }

    /// The earlier command `byte` picks (`None` when nothing was sent yet).
    fn earlier(&self, byte: u8) -> Option<Command> {
        self.sent.get(usize::from(byte) % self.sent.len().max(1)).cloned()
    }

    fn registration_start(&mut self, account: usize, password: &[u8]) {
        let user = self.users[account].clone();
        let (client, request) =
            ClientRegistration::start(&mut self.clients, &self.client, user.clone(), password).expect("client start");
        if let Some(Response::RegistrationStarted(response)) =
            self.send(Principal::Account(user), Request::RegistrationStart(request))
        {
            let key = backup_protocol::BackupKey::generate(&mut self.clients);
            // The vault answered, signed: the client must accept its own vault's answer.
            let (_, upload) = client
                .finish(&mut self.clients, &response, &key)
                .expect("the client accepts the vault's registration response");
            self.uploads[account] = Some(Request::RegistrationFinish(upload));
        }
    }

    fn registration_finish(&mut self, account: usize) {
        if let Some(upload) = self.uploads[account].clone() {
            self.send(Principal::Account(self.users[account].clone()), upload);
        }
    }

    fn login_start(&mut self, account: usize, password: &[u8], purpose: LoginPurpose) {
        let user = self.users[account].clone();
        let (client, request) =
            ClientLogin::start_for(&mut self.clients, &self.client, user.clone(), password, purpose)
                .expect("client start");
        let Some(Response::LoginStarted { session, response }) =
            self.send(Principal::Account(user), Request::LoginStart(request))
        else {
            return;
        };
        // A wrong password (or no record) leaves the client nothing to finish with.
        let finished = match purpose {
            LoginPurpose::DeleteRecord => client
                .finish_deletion(&mut self.clients, &response)
                .map(|(_, finalization)| (finalization, None)),
            LoginPurpose::RetrieveKey => client
                .finish(&mut self.clients, &response)
                .map(|(pending, finalization)| (finalization, Some(pending))),
        };
        if let Ok((finalization, pending)) = finished {
            self.logins.push(OpenLogin {
                account,
                session,
                finalization,
                pending,
            });
        }
    }

    fn login_finish(&mut self, login: OpenLogin) {
        let principal = Principal::Account(self.users[login.account].clone());
        let request = Request::LoginFinish {
            session: login.session,
            finalization: login.finalization,
        };
        if let (Some(Response::KeyReleased(release)), Some(pending)) = (self.send(principal, request), login.pending) {
            // The key the vault released must open for the client that logged in.
            pending.open(&release).expect("a released key opens");
        }
    }

    /// Sends `request` from `principal` as a new command (a later time, fresh entropy).
    fn send(&mut self, principal: Principal, request: Request) -> Option<Response> {
        self.clock += 1;
        let mut entropy = [0; 32];
        self.entropy.fill_bytes(&mut entropy);
        self.apply(&Command {
            at_ms: self.clock,
            entropy,
            principal,
            request,
        })
    }

    /// Applies `command` to both vaults and checks properties (i) to (iii); the answer, if it was accepted.
    fn apply(&mut self, command: &Command) -> Option<Response> {
        let before = self.vaults[0].store().inner.snapshot();
        let answer = self.vaults[0].apply(command);
        let replica = self.vaults[1].apply(command);
        assert!(answer == replica, "vault: two vaults answered one command differently");
        let stores = self
            .vaults
            .each_ref()
            .map(|v| (v.store().inner.snapshot(), v.store().inner.last_version()));
        assert!(stores[0] == stores[1], "vault: replicas diverged");
        match &answer {
            Ok(_) => self.accepted = true,
            Err(VaultError::Conflict | VaultError::Store(_) | VaultError::Locked) => {}
            Err(_) => assert!(stores[0].0 == before, "vault: a refused command changed the store"),
        }
        self.sent.push(command.clone());
        self.observe(command, &answer);
        answer.ok()
    }

    /// Property (i): follows each account's current record and the OPRF evaluations it was answered with.
    fn observe(&mut self, command: &Command, answer: &Result<Response, VaultError<Crashed>>) {
        let Principal::Account(user) = &command.principal else {
            return;
        };
        let Some(index) = self.users.iter().position(|known| known == user) else {
            return;
        };
        let account = &mut self.accounts[index];
        match (answer, &command.request) {
            (Ok(Response::Registered(_)), _) => {
                *account = Account {
                    registered: true,
                    evaluations: 0,
                }
            }
            (Ok(Response::KeyReleased(_)), _) => account.evaluations = 0,
            (Ok(Response::Deleted(_)), _) | (Err(VaultError::Locked), Request::LoginStart(_)) => {
                *account = Account::default();
            }
            (Ok(Response::LoginStarted { .. }), _) if account.registered => {
                account.evaluations += 1;
                let limit = self.config.attempt_limit;
                assert!(
                    account.evaluations <= limit,
                    "vault: {} OPRF evaluations under one record without a successful login (limit {limit})",
                    account.evaluations
                );
                let charged = match self.vaults[0].record_status(user) {
                    Ok(Some(RecordStatus::Active { attempts_used, .. })) => attempts_used,
                    other => panic!("vault: a login start answered for a record that is not active: {other:?}"),
                };
                assert!(
                    account.evaluations <= charged,
                    "vault: {} evaluations answered, {charged} charged",
                    account.evaluations
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::panic;

    /// Registers alice, retrieves her key, then types the wrong password five times (limit 3).
    const LOCKOUT: [u8; 30] = [
        0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0,
    ];

    #[test]
    fn an_honest_store_passes_and_a_vault_that_loses_charges_is_caught() {
        assert!(super::driven(&LOCKOUT), "the run registers and logs in");
        // The store keeps the registration's write and loses every later one to alice's state: the charges.
        let failure = panic::catch_unwind(|| super::run(&LOCKOUT, Some(1))).expect_err("property (i) fails");
        let message = failure.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("evaluations"), "{message}");
    }
}
