//! Vault replica vectors (vault-core SPEC §13): the vault's state machine as vectors, so that an implementation in
//! another language can act as a replica of a vault-core fleet and agree byte for byte.
//!
//! Each test group is one vector: a fleet key file (`FleetKeys::to_bytes`, secret test keys), a `VaultConfig` (every
//! field) and a command log. Each test is one command of the log, in order: its bytes with its `at_ms`, entropy and
//! principal as fields, then what a vault-core `Vault<MemoryStore>` did with it: the response bytes (`result` valid)
//! or the refusal (`result` invalid, `error` the `VaultError` variant, a nested `backup_protocol::Error` spelled out
//! as `Protocol(ClientAuthenticationFailed)`), and the whole store after it (every key, version and value, and the
//! store's last version).
//!
//! The logs are built by backup-protocol's client APIs from seeded generators and run through a real vault: nothing
//! of the outputs is written by hand. Backup requests only (no IPLS, which needs a key-transparency directory).

use std::convert::Infallible;

use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfParams, KsfPolicy, LoginFinalization, LoginPurpose,
    UserId,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use vault_core::{Command, FleetKeys, MemoryStore, Principal, Request, Response, Vault, VaultConfig, VaultError};

use crate::json::{self, fail};
use crate::schema::{
    self,
    Field::{self, DecimalU64, Hex, Text, U32},
};

/// Seeds the fleet keys (stream 0), and per vector the commands' entropy (stream 2n + 1) and the clients (2n + 2).
const SEED: u64 = 0x7661_756c_745f_7270;
/// The leader's clock before the first command of each vector.
const START_MS: u64 = 1_750_000_000_000;
const PASSWORD: &[u8] = b"correct horse battery staple";
const WRONG_PASSWORD: &[u8] = b"correct horse battery stapler";
const NEW_PASSWORD: &[u8] = b"tr0ub4dor&3";

type Outcome = Result<Response, VaultError<Infallible>>;

/// The fields of a vector (a test group) besides `type` and `tests`: the key file and the configuration.
const GROUP_FIELDS: [(&str, Field); 15] = [
    ("description", Text),
    ("keyFile", Hex),
    ("attemptLimit", U32),
    ("challengeTtlMs", DecimalU64),
    ("loginTtlMs", DecimalU64),
    ("escrowTtlMs", DecimalU64),
    ("ksfMinMemoryKib", U32),
    ("ksfMinIterations", U32),
    ("ksfMinParallelism", U32),
    ("ksfMaxMemoryKib", U32),
    ("ksfMaxIterations", U32),
    ("ksfMaxParallelism", U32),
    ("maxPendingPerPrincipal", U32),
    ("maxPendingTotal", DecimalU64),
    ("sweepPage", U32),
];

/// The fields of a step (a test) besides the common ones; `store` is an array of entries (see [`schema`]).
const STEP_FIELDS: [(&str, Field); 8] = [
    ("command", Hex),
    ("atMs", DecimalU64),
    ("entropy", Hex),
    ("principal", Hex),
    ("requestKind", Text),
    ("response", Hex),
    ("guessesRemaining", U32),
    ("lastVersion", DecimalU64),
];

/// Fields every step has whatever the vault did.
const META: [&str; 3] = ["tcId", "comment", "flags"];

// --- the fields of a vector and of a step, as the vectors carry them (shared by generator and consumer) -------------

fn hex_value(bytes: &[u8]) -> Value {
    json!(hex::encode(bytes))
}

fn group_fields(description: &str, keys: &FleetKeys, config: &VaultConfig) -> Map<String, Value> {
    let (min, max) = (config.ksf_policy.min, config.ksf_policy.max);
    let mut fields = Map::new();
    fields.insert("description".into(), json!(description));
    fields.insert("keyFile".into(), hex_value(&keys.to_bytes()));
    fields.insert("attemptLimit".into(), json!(config.attempt_limit));
    fields.insert("challengeTtlMs".into(), json::decimal(config.challenge_ttl_ms));
    fields.insert("loginTtlMs".into(), json::decimal(config.login_ttl_ms));
    fields.insert("escrowTtlMs".into(), json::decimal(config.escrow_ttl_ms));
    fields.insert("ksfMinMemoryKib".into(), json!(min.memory_kib()));
    fields.insert("ksfMinIterations".into(), json!(min.iterations()));
    fields.insert("ksfMinParallelism".into(), json!(min.parallelism()));
    fields.insert("ksfMaxMemoryKib".into(), json!(max.memory_kib()));
    fields.insert("ksfMaxIterations".into(), json!(max.iterations()));
    fields.insert("ksfMaxParallelism".into(), json!(max.parallelism()));
    fields.insert("maxPendingPerPrincipal".into(), json!(config.max_pending_per_principal));
    fields.insert("maxPendingTotal".into(), json::decimal(config.max_pending_total));
    fields.insert("sweepPage".into(), json!(config.sweep_page));
    fields
}

fn request_kind(request: &Request) -> &'static str {
    match request {
        Request::RegistrationStart(_) => "RegistrationStart",
        Request::RegistrationFinish(_) => "RegistrationFinish",
        Request::LoginStart(_) => "LoginStart",
        Request::LoginFinish { .. } => "LoginFinish",
        Request::Sweep { .. } => "Sweep",
        _ => "IPLS",
    }
}

/// The refusal's name: the `VaultError` variant, with a nested `backup_protocol::Error` variant in parentheses.
fn refusal(error: &VaultError<Infallible>) -> String {
    format!("{error:?}")
}

/// The guesses remaining a login response carries (signed): the u32 after the user id and the Argon2id parameters.
fn guesses_remaining(message: &[u8]) -> Option<u32> {
    let at = 3 + usize::from(*message.get(2)?) + 12;
    Some(u32::from_be_bytes(message.get(at..at + 4)?.try_into().ok()?))
}

/// Every field of a step but the meta ones, from the command, what the vault did, and the store after it.
fn step_fields(command: &Command, outcome: &Outcome, store: &MemoryStore) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("command".into(), hex_value(&command.to_bytes()));
    fields.insert("atMs".into(), json::decimal(command.at_ms));
    fields.insert("entropy".into(), hex_value(&command.entropy));
    fields.insert("principal".into(), hex_value(&command.principal.to_bytes()));
    fields.insert("requestKind".into(), json!(request_kind(&command.request)));
    match outcome {
        Ok(response) => {
            fields.insert("result".into(), json!("valid"));
            fields.insert("response".into(), hex_value(&response.to_bytes()));
            if let Response::LoginStarted { response, .. } = response
                && let Some(guesses) = guesses_remaining(&response.to_bytes())
            {
                fields.insert("guessesRemaining".into(), json!(guesses));
            }
        }
        Err(error) => {
            fields.insert("result".into(), json!("invalid"));
            fields.insert("error".into(), json!(refusal(error)));
        }
    }
    let entries = store
        .snapshot()
        .iter()
        .map(|(key, entry)| {
            json!({"key": hex::encode(key), "version": entry.version.to_string(), "value": hex::encode(&entry.value)})
        })
        .collect();
    fields.insert("store".into(), Value::Array(entries));
    fields.insert("lastVersion".into(), json::decimal(store.last_version()));
    fields
}

/// The first `n` bytes of `ChaCha20Rng::from_seed(entropy)`.
fn keystream(entropy: &[u8; 32], n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    ChaCha20Rng::from_seed(*entropy).fill_bytes(&mut bytes);
    bytes
}

/// The draws SPEC §13 states, where the response shows them: a registration start's challenge is the first 32
/// bytes; a login start's session id the first 16, then opaque-ke's draws (the fake record's masking key, 64, drawn
/// for every login; `masking_nonce`, 32; the server key share seed, 32; `server_nonce`, 32); a retrieval's key
/// release nonce the first 12.
fn draws_hold(command: &Command, outcome: &Outcome) -> bool {
    let Ok(response) = outcome else { return true };
    let stream = keystream(&command.entropy, 176);
    let body = |message: &[u8]| message[3 + usize::from(message[2])..].to_vec();
    match response {
        Response::RegistrationStarted(message) => body(&message.to_bytes())[..32] == stream[..32],
        Response::LoginStarted { session, response } => {
            let body = body(&response.to_bytes());
            // ksf (12) || guesses (4) || evaluated element (32) || masking_nonce (32) || masked response (128) ||
            // server_nonce (32) || server key share (32) || server MAC (64) || signature (64)
            session[..] == stream[..16] && body[48..80] == stream[80..112] && body[208..240] == stream[144..176]
        }
        Response::KeyReleased(release) => body(&release.to_bytes())[..12] == stream[..12],
        _ => true,
    }
}

// --- generation ----------------------------------------------------------------------------------------------------

fn chacha(stream: u64) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);
    rng.set_stream(stream);
    rng
}

fn draw<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut bytes = [0; N];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn keys() -> FleetKeys {
    FleetKeys::generate(&mut chacha(0))
}

/// One vector being generated: a vault, the generators, the clock and the steps so far.
struct Log {
    vault: Vault<MemoryStore>,
    client: ClientConfig,
    entropy: ChaCha20Rng,
    clients: ChaCha20Rng,
    clock: u64,
    steps: Vec<Value>,
    last: Option<Command>,
}

impl Log {
    fn new(index: u64, config: VaultConfig) -> Self {
        let keys = keys();
        let client = ClientConfig::insecure_fast_for_testing(keys.backup_pins());
        Self {
            vault: Vault::new(keys, config, MemoryStore::new()),
            client,
            entropy: chacha(2 * index + 1),
            clients: chacha(2 * index + 2),
            clock: START_MS,
            steps: Vec::new(),
            last: None,
        }
    }

    /// Applies `request` from `principal`, `after_ms` after the previous command, and logs the step.
    fn apply(
        &mut self,
        after_ms: u64,
        principal: &Principal,
        request: Request,
        comment: &str,
        flags: &[&str],
    ) -> Outcome {
        self.clock += after_ms;
        let command = Command {
            at_ms: self.clock,
            entropy: draw(&mut self.entropy),
            principal: principal.clone(),
            request,
        };
        self.apply_command(command, comment, flags)
    }

    /// Applies the previous command again, byte for byte (time and entropy included).
    fn repeat(&mut self, comment: &str, expected: &str) {
        let command = self.last.clone().expect("a previous command");
        let error = self.apply_command(command, comment, &[expected]).expect_err(comment);
        assert_eq!(refusal(&error), expected, "{comment}");
    }

    fn apply_command(&mut self, command: Command, comment: &str, flags: &[&str]) -> Outcome {
        let before = self.vault.store().snapshot();
        let outcome = self.vault.apply(&command);
        assert!(draws_hold(&command, &outcome), "{comment}: the draws of SPEC §13");
        if let Err(error) = &outcome {
            // SPEC §5: a refusal changes nothing, but the start that finds the guesses used up.
            let lockout = matches!(error, VaultError::Locked) && matches!(command.request, Request::LoginStart(_));
            assert!(lockout || self.vault.store().snapshot() == before, "{comment}: {error}");
        }
        let mut step = Map::new();
        step.insert("comment".into(), json!(comment));
        step.insert("flags".into(), json!(flags));
        step.extend(step_fields(&command, &outcome, self.vault.store()));
        self.steps.push(Value::Object(step));
        self.last = Some(command);
        outcome
    }

    fn ok(&mut self, principal: &Principal, request: Request, comment: &str, flags: &[&str]) -> Response {
        self.apply(1_000, principal, request, comment, flags)
            .unwrap_or_else(|error| panic!("{comment}: {error}"))
    }

    fn refused(&mut self, after_ms: u64, principal: &Principal, request: Request, comment: &str, expected: &str) {
        let error = self
            .apply(
                after_ms,
                principal,
                request,
                comment,
                &[expected.split('(').next().unwrap_or(expected)],
            )
            .expect_err(comment);
        assert_eq!(refusal(&error), expected, "{comment}");
    }

    fn registration_start(
        &mut self,
        principal: &Principal,
        user: &UserId,
        password: &[u8],
        comment: &str,
    ) -> RegStarted {
        let (client, request) =
            ClientRegistration::start(&mut self.clients, &self.client, user.clone(), password).expect("start");
        let Response::RegistrationStarted(response) = self.ok(
            principal,
            Request::RegistrationStart(request),
            comment,
            &["Registration"],
        ) else {
            panic!("{comment}: not a registration response")
        };
        let key = BackupKey::generate(&mut self.clients);
        let (awaiting, upload) = client.finish(&mut self.clients, &response, &key).expect("finish");
        RegStarted {
            key,
            awaiting,
            request: Request::RegistrationFinish(upload),
        }
    }

    fn registration_finish(&mut self, principal: &Principal, started: RegStarted, comment: &str) -> BackupKey {
        let Response::Registered(receipt) = self.ok(principal, started.request, comment, &["Registration"]) else {
            panic!("{comment}: not a receipt")
        };
        started.awaiting.verify(&receipt).expect("the receipt verifies");
        started.key
    }

    /// A login start by `user`'s own account; returns the session and the client's finalization (`None` if the client cannot finish: a
    /// wrong password, or a user with no record), checking the guesses remaining the client saw.
    fn login_start(
        &mut self,
        user: &UserId,
        password: &[u8],
        purpose: LoginPurpose,
        guesses: u32,
        comment: &str,
        flags: &[&str],
    ) -> ([u8; 16], Option<LoginFinalization>, Finisher) {
        let (client, request) =
            ClientLogin::start_for(&mut self.clients, &self.client, user.clone(), password, purpose).expect("start");
        let Response::LoginStarted { session, response } = self.ok(
            &Principal::Account(user.clone()),
            Request::LoginStart(request),
            comment,
            flags,
        ) else {
            panic!("{comment}: not a login response")
        };
        if purpose == LoginPurpose::DeleteRecord {
            return match client.finish_deletion(&mut self.clients, &response) {
                Ok((awaiting, finalization)) => {
                    assert_eq!(awaiting.guesses_remaining(), guesses, "{comment}");
                    (session, Some(finalization), Finisher::Deletion(awaiting))
                }
                Err(error) => panic!("{comment}: {error}"),
            };
        }
        match client.finish(&mut self.clients, &response) {
            Ok((pending, finalization)) => {
                assert_eq!(pending.guesses_remaining(), guesses, "{comment}");
                (session, Some(finalization), Finisher::Retrieval(pending))
            }
            Err(backup_protocol::Error::WrongPassword { guesses_remaining }) => {
                assert_eq!(guesses_remaining, guesses, "{comment}");
                (session, None, Finisher::None)
            }
            Err(error) => panic!("{comment}: {error}"),
        }
    }

    fn login_finish(
        &mut self,
        principal: &Principal,
        session: [u8; 16],
        finalization: LoginFinalization,
        finisher: &Finisher,
        key: Option<&BackupKey>,
        comment: &str,
    ) {
        let response = self.ok(principal, Request::LoginFinish { session, finalization }, comment, &[]);
        match (finisher, response) {
            (Finisher::Retrieval(pending), Response::KeyReleased(release)) => {
                assert!(
                    Some(&pending.open(&release).expect("opens")) == key,
                    "{comment}: the key"
                );
            }
            (Finisher::Deletion(awaiting), Response::Deleted(receipt)) => {
                awaiting.verify(&receipt).expect("the deletion receipt verifies");
            }
            _ => panic!("{comment}: not the answer the client expects"),
        }
    }

    fn sweep(&mut self, after_ms: u64, cursor: Vec<u8>, comment: &str) -> (u32, Option<Vec<u8>>) {
        let outcome = self.apply(
            after_ms,
            &Principal::Operator,
            Request::Sweep { cursor },
            comment,
            &["Sweep"],
        );
        let Ok(Response::Swept { removed, next }) = outcome else {
            panic!("{comment}: not swept")
        };
        (removed, next)
    }
}

/// A registration answered by the vault: the client's upload, ready to send.
struct RegStarted {
    key: BackupKey,
    awaiting: backup_protocol::PendingRegistrationReceipt,
    request: Request,
}

/// What the client keeps to check the answer to its finalization.
enum Finisher {
    Retrieval(backup_protocol::PendingKeyRelease),
    Deletion(backup_protocol::PendingDeletionReceipt),
    None,
}

fn account(id: &[u8]) -> (Principal, UserId) {
    let user = UserId::new(id.to_vec()).expect("a valid id");
    (Principal::Account(user.clone()), user)
}

/// A record's life under a small configuration: registration, retrieval, a stranger, wrong passwords counting down
/// to the lockout, the refusals of a locked record, both caps, re-registration, a superseded session, an expired
/// one, a paged sweep, deletion with its receipt, a login after it, and registering again.
#[allow(clippy::too_many_lines)] // the log, command by command
fn record_life() -> (VaultConfig, Log) {
    let config = VaultConfig {
        attempt_limit: 3,
        challenge_ttl_ms: 60_000,
        login_ttl_ms: 30_000,
        escrow_ttl_ms: 30_000,
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        max_pending_per_principal: 4,
        max_pending_total: 5,
        sweep_page: 2,
    };
    let mut log = Log::new(0, config);
    let (alice, alice_id) = account(b"alice");
    let (mallory, _) = account(b"mallory");
    let (carol, carol_id) = account(b"carol");
    let retrieve = LoginPurpose::RetrieveKey;

    let started = log.registration_start(&alice, &alice_id, PASSWORD, "alice starts registering");
    let replay = started.request.clone();
    let key = log.registration_finish(&alice, started, "alice finishes registering: her record, generation 1");
    let (session, finalization, finisher) = log.login_start(
        &alice_id,
        PASSWORD,
        retrieve,
        2,
        "alice starts a login: charged, 2 guesses remaining",
        &["Login"],
    );
    log.repeat(
        "the same command applied again (same time and entropy): its session id is taken, refused before any charge",
        "Conflict",
    );
    log.login_finish(
        &alice,
        session,
        finalization.expect("right password"),
        &finisher,
        Some(&key),
        "alice finishes: EK released, attempts back to 0",
    );
    let (_, request) =
        ClientLogin::start_for(&mut log.clients, &log.client, alice_id.clone(), PASSWORD, retrieve).expect("start");
    log.refused(
        1_000,
        &mallory,
        Request::LoginStart(request),
        "mallory sends a login start for alice: refused before anything is read",
        "Forbidden",
    );
    let (wrong_first, none, _) = log.login_start(
        &alice_id,
        WRONG_PASSWORD,
        retrieve,
        2,
        "alice starts a login with a wrong password: charged, 2 guesses remaining (the client learns it is wrong)",
        &["WrongPassword"],
    );
    assert!(none.is_none());
    log.login_start(
        &alice_id,
        WRONG_PASSWORD,
        retrieve,
        1,
        "alice tries another wrong password: 1 guess remaining",
        &["WrongPassword"],
    );
    let (last, last_finalization, _) = log.login_start(
        &alice_id,
        PASSWORD,
        retrieve,
        0,
        "alice starts a login with the right password: 0 guesses remaining; she does not finish yet",
        &["Login"],
    );
    let last_finalization = last_finalization.expect("right password");
    log.refused(
        1_000,
        &alice,
        Request::LoginFinish {
            session: wrong_first,
            finalization: last_finalization.clone(),
        },
        "alice sends that finalization with her first wrong-password session: authentication fails, nothing changes",
        "Protocol(ClientAuthenticationFailed)",
    );
    let (_, request) =
        ClientLogin::start_for(&mut log.clients, &log.client, alice_id.clone(), PASSWORD, retrieve).expect("start");
    log.refused(
        1_000,
        &alice,
        Request::LoginStart(request.clone()),
        "alice starts a fourth login: her guesses are used up, the record (with EK) is destroyed: Locked",
        "Locked",
    );
    log.refused(
        1_000,
        &alice,
        Request::LoginFinish {
            session: last,
            finalization: last_finalization.clone(),
        },
        "alice finishes her last login with the right password: proven, but the record is locked",
        "Locked",
    );
    log.refused(
        1_000,
        &alice,
        Request::LoginStart(request),
        "alice starts another login: Locked, nothing changes",
        "Locked",
    );
    let never_issued = draw(&mut log.clients);
    log.refused(
        1_000,
        &alice,
        Request::LoginFinish {
            session: never_issued,
            finalization: last_finalization.clone(),
        },
        "alice finishes a session id the vault never issued",
        "UnknownSession",
    );
    log.refused(
        1_000,
        &alice,
        replay,
        "alice's first upload replayed: its challenge was consumed",
        "NoPendingRegistration",
    );
    let started = log.registration_start(
        &alice,
        &alice_id,
        NEW_PASSWORD,
        "alice re-registers with a new password (her 4th entry in flight)",
    );
    let (_, request) =
        ClientLogin::start_for(&mut log.clients, &log.client, alice_id.clone(), NEW_PASSWORD, retrieve).expect("start");
    log.refused(
        1_000,
        &alice,
        Request::LoginStart(request),
        "alice starts a login holding 4 entries in flight (3 login sessions, 1 registration): the per-principal cap",
        "PrincipalPendingFull",
    );
    let carol_started = log.registration_start(
        &carol,
        &carol_id,
        PASSWORD,
        "carol starts registering: the vault now holds 5 entries in flight, its total cap",
    );
    drop(carol_started);
    let (_, request) =
        ClientLogin::start_for(&mut log.clients, &log.client, carol_id.clone(), PASSWORD, retrieve).expect("start");
    log.refused(
        1_000,
        &carol,
        Request::LoginStart(request),
        "carol starts a login: the vault's total cap",
        "PendingFull",
    );
    let key = log.registration_finish(
        &alice,
        started,
        "alice finishes re-registering: a fresh record over the locked one, generation 2, attempts 0",
    );
    log.refused(
        1_000,
        &alice,
        Request::LoginFinish {
            session: last,
            finalization: last_finalization,
        },
        "alice finishes her generation-1 login again: proven, but the record was replaced",
        "Superseded",
    );
    let (session, finalization, _) = log.login_start(
        &alice_id,
        NEW_PASSWORD,
        retrieve,
        2,
        "alice starts a login on the new record: 2 guesses remaining",
        &["Login"],
    );
    log.refused(
        30_001,
        &alice,
        Request::LoginFinish {
            session,
            finalization: finalization.expect("right password"),
        },
        "alice finishes 30.001 s later, past the login lifetime",
        "SessionExpired",
    );
    log.refused(
        1_000,
        &alice,
        Request::Sweep { cursor: Vec::new() },
        "alice sends a sweep, an operator request",
        "Forbidden",
    );
    log.refused(
        1_000,
        &Principal::Operator,
        Request::Sweep {
            cursor: b"user/alice".to_vec(),
        },
        "the operator sweeps from a cursor under no swept prefix",
        "InvalidSweepCursor",
    );
    let (removed, next) = log.sweep(
        1_000,
        Vec::new(),
        "the operator sweeps, a new pass: a page of 2 entries (carol's fresh challenge, a login)",
    );
    assert_eq!(removed, 1);
    let (removed, next) = log.sweep(
        1_000,
        next.expect("a full page"),
        "the operator sweeps from the cursor: 2 more expired logins",
    );
    assert_eq!(removed, 2);
    let (removed, next) = log.sweep(
        1_000,
        next.expect("a full page"),
        "the operator sweeps from the cursor: the last expired login, the end of the pass",
    );
    assert_eq!((removed, next), (1, None));
    let (session, finalization, finisher) = log.login_start(
        &alice_id,
        NEW_PASSWORD,
        retrieve,
        1,
        "alice starts a login: 1 guess remaining (the expired one was charged)",
        &["Login"],
    );
    log.login_finish(
        &alice,
        session,
        finalization.expect("right password"),
        &finisher,
        Some(&key),
        "alice finishes: EK released",
    );
    let (session, finalization, finisher) = log.login_start(
        &alice_id,
        NEW_PASSWORD,
        LoginPurpose::DeleteRecord,
        2,
        "alice starts a deletion login: 2 guesses remaining",
        &["Deletion"],
    );
    log.login_finish(
        &alice,
        session,
        finalization.expect("right password"),
        &finisher,
        None,
        "alice finishes the deletion: the record is gone (NoRecord, generation 2), the DeletionReceipt proves it",
    );
    log.login_start(
        &alice_id,
        NEW_PASSWORD,
        retrieve,
        2,
        "alice starts a login with no record: the fake response, charged as a record's (2 guesses remaining)",
        &["NoRecord"],
    );
    let started = log.registration_start(&alice, &alice_id, PASSWORD, "alice registers again");
    let key = log.registration_finish(&alice, started, "alice finishes: generation 3");
    let (session, finalization, finisher) = log.login_start(
        &alice_id,
        PASSWORD,
        retrieve,
        2,
        "alice starts a login on generation 3: 2 guesses remaining",
        &["Login"],
    );
    log.login_finish(
        &alice,
        session,
        finalization.expect("right password"),
        &finisher,
        Some(&key),
        "alice finishes: EK released",
    );
    (config, log)
}

/// A user who never registered, under the default configuration: charged and locked exactly as a record, then a
/// registration whose first challenge is replaced, an upload whose Argon2id parameters are below the policy, the
/// same upload after the challenge expired, and a sweep.
fn no_record() -> (VaultConfig, Log) {
    let config = VaultConfig::default();
    let mut log = Log::new(1, config);
    let (bob, bob_id) = account(b"bob");
    for guesses in (0..config.attempt_limit).rev() {
        log.login_start(
            &bob_id,
            PASSWORD,
            LoginPurpose::RetrieveKey,
            guesses,
            &format!("bob, who never registered, starts a login: the fake response, {guesses} guesses remaining"),
            &["NoRecord"],
        );
    }
    let (_, request) = ClientLogin::start_for(
        &mut log.clients,
        &log.client,
        bob_id.clone(),
        PASSWORD,
        LoginPurpose::RetrieveKey,
    )
    .expect("start");
    log.refused(
        1_000,
        &bob,
        Request::LoginStart(request.clone()),
        "bob starts an 11th login: Locked, as a record would be (NoRecord becomes Locked, generation 0)",
        "Locked",
    );
    log.refused(
        1_000,
        &bob,
        Request::LoginStart(request),
        "bob starts another: Locked, nothing changes",
        "Locked",
    );
    let replaced = log.registration_start(&bob, &bob_id, PASSWORD, "bob starts registering");
    let started = log.registration_start(
        &bob,
        &bob_id,
        PASSWORD,
        "bob starts registering again: the new challenge replaces the first",
    );
    log.refused(
        1_000,
        &bob,
        replaced.request,
        "bob's upload answering the replaced challenge",
        "Protocol(ChallengeMismatch)",
    );
    log.refused(
        1_000,
        &bob,
        started.request.clone(),
        "bob's upload uses Argon2id parameters below the vault's policy: nothing changes",
        "Protocol(KsfParamsRejected)",
    );
    log.refused(
        config.challenge_ttl_ms,
        &bob,
        started.request,
        "bob sends it again past the challenge lifetime",
        "ChallengeExpired",
    );
    let (removed, next) = log.sweep(
        1_000,
        Vec::new(),
        "the operator sweeps: one page holds everything, all expired",
    );
    assert_eq!((removed, next), (config.attempt_limit + 1, None));
    (config, log)
}

fn notes() -> Value {
    json!({
        "vector": "a test group is one vector: the fleet key file (keyFile: FleetKeys::to_bytes, SPEC §2 type 0x64; secret test keys), the VaultConfig (every field; the Argon2id policy as its min and max parameters) and a command log, one test per command in log order. Replay: build a vault from the key file and the configuration over an empty store, apply each command in order, and compare after each one",
        "step": "command is the SPEC §3 encoding; atMs, entropy and principal are its fields again (principal as SPEC §3 encodes it), requestKind its kind's name. result valid: response is Response::to_bytes (SPEC §3) and, for a login start, guessesRemaining the u32 the vault signed into it. result invalid: the vault refused, error names the VaultError variant, a nested backup_protocol::Error variant in parentheses (Protocol(ClientAuthenticationFailed), Protocol(KsfParamsRejected))",
        "store": "the whole MemoryStore after the command, in key order: each entry's key and value in hex and its version; lastVersion is MemoryStore::last_version. The full store rather than a diff, so that a replica compares its state directly (as a SPEC §10 snapshot holds it) and a refusal visibly changes nothing; versions included, since SPEC §10 snapshots carry them and restored replicas must number writes alike (SPEC §13)",
        "refusals": "every refusal leaves the store exactly as it was (the same entries, versions and lastVersion), but the one SPEC §5 designs: the login start that finds the guesses used up (attempts = attemptLimit) writes Locked { generation } and is refused with Locked",
        "draws": "SPEC §13: the order of draws from ChaCha20Rng::from_seed(entropy). Visible here: a RegistrationStarted challenge is the stream's first 32 bytes; a LoginStarted session id the first 16, masking_nonce bytes 80..112 and server_nonce bytes 144..176; a KeyReleased nonce the first 12",
        "decimalStrings": "atMs, lastVersion, version, challengeTtlMs, loginTtlMs, escrowTtlMs and maxPendingTotal are u64, carried as decimal strings (no sign, no leading zeros). The other numbers are u32 JSON numbers",
        "scope": "backup requests only (no IPLS: its auths need a key-transparency directory), vault-core's default features; SPEC §2 formats of user/, pending/, login/ and pending-count entries. vault_commands.json covers every encoding on its own",
    })
}

fn group(description: &str, (config, log): (VaultConfig, Log)) -> Value {
    let mut group = group_fields(description, &keys(), &config);
    group.insert("type".into(), json!("ReplicaLog"));
    group.insert("tests".into(), Value::Array(log.steps));
    Value::Object(group)
}

/// The vector file.
pub fn generate() -> Value {
    json::file(
        "VAULT-CORE-REPLICA",
        "vault_replica.schema.json",
        &notes(),
        vec![
            group(
                "a record's life: registration, retrieval, a command applied twice, a stranger, wrong passwords to the lockout, both caps, re-registration, a superseded and an expired session, a paged sweep, deletion, registering again (attempt limit 3, small caps and lifetimes, sweep pages of 2)",
                record_life(),
            ),
            group(
                "a user with no record, under the default configuration: charged and locked as a record, a replaced registration challenge, an upload below the Argon2id policy, an expired challenge, one sweep",
                no_record(),
            ),
        ],
    )
}

/// The family's schema: the common one, with the vector fields on each group and `store` as an array of entries.
pub fn schema() -> Value {
    let mut fields: Vec<(&str, Field)> = GROUP_FIELDS.to_vec();
    fields.extend(STEP_FIELDS);
    let mut schema = schema::for_family(
        "vault-core replica: key file, configuration, command log and the store after each command",
        &["ReplicaLog"],
        &fields,
    );
    let group = &mut schema["properties"]["testGroups"]["items"];
    let tests = &mut group["properties"]["tests"]["items"]["properties"];
    let mut group_properties = Map::new();
    let mut required = vec![json!("type"), json!("tests")];
    for (name, _) in &GROUP_FIELDS {
        if let Some(property) = tests.as_object_mut().and_then(|tests| tests.remove(*name)) {
            group_properties.insert((*name).into(), property);
        }
        required.push(json!(name));
    }
    let hex = tests["command"].clone();
    let decimal = tests["atMs"].clone();
    tests["store"] = json!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["key", "version", "value"],
            "additionalProperties": false,
            "properties": {"key": hex, "version": decimal, "value": hex},
        },
    });
    if let Some(properties) = group["properties"].as_object_mut() {
        properties.extend(group_properties);
    }
    group["required"] = Value::Array(required);
    schema
}

// --- checking ------------------------------------------------------------------------------------------------------

fn u32_field(object: &Map<String, Value>, field: &str) -> Result<u32, String> {
    object
        .get(field)
        .and_then(Value::as_u64)
        .and_then(|value| u32::try_from(value).ok())
        .ok_or_else(|| format!("field {field} is not a u32"))
}

fn ksf(object: &Map<String, Value>, bound: &str) -> Result<KsfParams, String> {
    KsfParams::new(
        u32_field(object, &format!("ksf{bound}MemoryKib"))?,
        u32_field(object, &format!("ksf{bound}Iterations"))?,
        u32_field(object, &format!("ksf{bound}Parallelism"))?,
    )
    .map_err(|error| format!("ksf{bound}: {error}"))
}

/// The vector's key file and configuration, checked to carry exactly the fields they encode to.
pub(crate) fn vector(group: &Map<String, Value>) -> Result<(FleetKeys, VaultConfig), String> {
    let keys = FleetKeys::from_bytes(&json::bytes(group, "keyFile")?).map_err(|error| format!("keyFile: {error}"))?;
    let config = VaultConfig {
        attempt_limit: u32_field(group, "attemptLimit")?,
        challenge_ttl_ms: json::decimal_u64(group, "challengeTtlMs")?,
        login_ttl_ms: json::decimal_u64(group, "loginTtlMs")?,
        escrow_ttl_ms: json::decimal_u64(group, "escrowTtlMs")?,
        ksf_policy: KsfPolicy {
            min: ksf(group, "Min")?,
            max: ksf(group, "Max")?,
        },
        max_pending_per_principal: u32_field(group, "maxPendingPerPrincipal")?,
        max_pending_total: json::decimal_u64(group, "maxPendingTotal")?,
        sweep_page: u32_field(group, "sweepPage")?,
    };
    let mut computed = group_fields(json::text(group, "description")?, &keys, &config);
    computed.insert("type".into(), json!("ReplicaLog"));
    for (field, value) in group {
        if field != "tests" && computed.get(field) != Some(value) {
            return Err(format!("vector field {field} differs or does not belong"));
        }
    }
    if let Some(field) = computed.keys().find(|field| !group.contains_key(field.as_str())) {
        return Err(format!("vector field {field} is missing"));
    }
    Ok((keys, config))
}

/// Replays one vector through a fresh vault: every step's fields (the response or refusal, the store) must be
/// exactly what the vault does with its command.
fn check_vector(group: &Map<String, Value>) -> Result<usize, String> {
    let (keys, config) = vector(group)?;
    let vault = Vault::new(keys, config, MemoryStore::new());
    let steps = group
        .get("tests")
        .and_then(Value::as_array)
        .ok_or("a vector has no tests")?;
    for step in steps {
        let step = step.as_object().ok_or("a test is not an object")?;
        let command = Command::from_bytes(&json::bytes(step, "command")?)
            .map_err(|error| fail(step, &format!("the command does not decode: {error:?}")))?;
        let outcome = vault.apply(&command);
        if !draws_hold(&command, &outcome) {
            return Err(fail(step, "the vault's draws are not those of SPEC §13"));
        }
        let computed = step_fields(&command, &outcome, vault.store());
        for (field, value) in step {
            if META.contains(&field.as_str()) {
                continue;
            }
            match computed.get(field) {
                Some(expected) if expected == value => {}
                Some(_) => return Err(fail(step, &format!("{field} differs from the replay"))),
                None => return Err(fail(step, &format!("{field} does not belong in this step"))),
            }
        }
        if let Some(field) = computed.keys().find(|field| !step.contains_key(field.as_str())) {
            return Err(fail(step, &format!("{field} is missing")));
        }
    }
    Ok(steps.len())
}

/// Checks every vector by replaying its log through a vault-core vault built from its key file and configuration:
/// identical responses or refusals and identical stores (entries, versions, last version) after every command.
pub fn check(file: &Value) -> Result<usize, String> {
    let tests = json::tests(file)?;
    let groups = file["testGroups"].as_array().ok_or("testGroups is not an array")?;
    let mut checked = 0;
    for group in groups {
        let group = group.as_object().ok_or("a test group is not an object")?;
        if group.get("type").and_then(Value::as_str) != Some("ReplicaLog") {
            return Err("unknown group type".into());
        }
        checked += check_vector(group)?;
    }
    if checked == tests.len() {
        Ok(checked)
    } else {
        Err("not every test was replayed".into())
    }
}
