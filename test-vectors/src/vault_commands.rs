//! Vault command-log and response vectors (vault-core SPEC §3, with §10's request digest and §11's authorization):
//! the encodings of `Principal`, `Command` and `Response` that every replica of a vault fleet reads and writes, so
//! that a second implementation can check its encoder and decoder byte for byte; and encodings that must be refused,
//! with the exact `DecodeError`.
//!
//! The valid commands are one deterministic run of a vault-core `Vault` over a `MemoryStore`: registrations, logins
//! (retrieve and delete), IPLS escrow sessions, a key-transparency root and a paged sweep, built by the
//! backup-protocol, ipls and kt-verify clients from seeded generators; the responses are what the vault answered.
//! IPLS auths are logged but not applied (the vault would need a real akd directory to verify their identity proofs):
//! their replies are built by the ipls crate with the fleet's IPLS key and the vault's own draws (reproduced from the
//! hello command's entropy).

use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, DecodeError, KsfPolicy, LoginPurpose, UserId,
};
use ed25519_dalek::{Signer, SigningKey};
use ipls::{AccountId, ContactKey, EscrowClient, EscrowOutcome, IdentityProof};
use kt_verify::{Ciphersuite, DirectoryVerifier, SignedRoot, WitnessKey, WitnessVerifier};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use vault_core::{
    Command, FleetKeys, KeyTransparency, MemoryStore, Principal, Request, Response, Vault, VaultConfig, VaultError,
};

use crate::json::{self, fail};

/// Seeds the fleet keys (stream 0), the commands' entropy (stream 1) and the clients (stream 2).
const SEED: u64 = 0x7661_756c_745f_636d;
/// The leader's clock at the first command; each command is stamped one second after the previous one.
const START_MS: u64 = 1_750_000_000_000;
/// 2^53 + 1: the smallest integer an IEEE double cannot hold, so a JSON number would silently lose it.
const BEYOND_DOUBLE: u64 = (1 << 53) + 1;
const PASSWORD: &[u8] = b"correct horse battery staple";
const NAMESPACE: &str = "kt.example/whatsapp";
const LOOKUP_PROOF: &[u8] = b"akd LookupProof protobuf (stand-in: this vector's auths are logged, not applied)";

/// Fields every test has whatever its content; `authorization` is checked against the vault separately.
const META: [&str; 5] = ["tcId", "comment", "flags", "result", "authorization"];

// --- the fields of a value, as the vectors carry them (shared by generator and consumer) ---------------------------

fn hex_value(bytes: &[u8]) -> Value {
    json!(hex::encode(bytes))
}

/// `principal`, `principalKind` and, for an account, `accountId`.
fn principal_fields(principal: &Principal) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("principal".into(), hex_value(&principal.to_bytes()));
    match principal {
        Principal::Account(id) => {
            fields.insert("principalKind".into(), json!("account"));
            fields.insert("accountId".into(), hex_value(id.as_bytes()));
        }
        Principal::Operator => {
            fields.insert("principalKind".into(), json!("operator"));
        }
    }
    fields
}

/// `message`, and for a nested backup-protocol or ipls encoding its `messageType` and the user (account) id it names.
fn message_fields(fields: &mut Map<String, Value>, message: &[u8], nested: bool, user: Option<&[u8]>) {
    fields.insert("message".into(), hex_value(message));
    if nested {
        fields.insert("messageType".into(), json!(message.get(1).copied().unwrap_or_default()));
    }
    if let Some(user) = user {
        fields.insert("messageUserId".into(), hex_value(user));
    }
}

/// Every field a valid command test carries but `authorization`, computed from the command.
fn command_fields(command: &Command) -> Result<Map<String, Value>, String> {
    let mut fields = principal_fields(&command.principal);
    fields.insert("command".into(), hex_value(&command.to_bytes()));
    fields.insert("atMs".into(), json::decimal(command.at_ms));
    fields.insert("entropy".into(), hex_value(&command.entropy));
    let (kind, name) = match &command.request {
        Request::RegistrationStart(message) => {
            message_fields(
                &mut fields,
                &message.to_bytes(),
                true,
                Some(message.user_id().as_bytes()),
            );
            (1, "RegistrationStart")
        }
        Request::RegistrationFinish(message) => {
            message_fields(
                &mut fields,
                &message.to_bytes(),
                true,
                Some(message.user_id().as_bytes()),
            );
            (2, "RegistrationFinish")
        }
        Request::LoginStart(message) => {
            message_fields(
                &mut fields,
                &message.to_bytes(),
                true,
                Some(message.user_id().as_bytes()),
            );
            (3, "LoginStart")
        }
        Request::LoginFinish { session, finalization } => {
            fields.insert("sessionId".into(), hex_value(session));
            let user = finalization.user_id().as_bytes();
            message_fields(&mut fields, &finalization.to_bytes(), true, Some(user));
            (4, "LoginFinish")
        }
        Request::IplsHello(message) => {
            message_fields(
                &mut fields,
                &message.to_bytes(),
                true,
                Some(message.account().as_bytes()),
            );
            (5, "IplsHello")
        }
        Request::IplsAuth(message) => {
            message_fields(&mut fields, &message.to_bytes(), true, None);
            (6, "IplsAuth")
        }
        Request::Sweep { cursor } => {
            message_fields(&mut fields, cursor, false, None);
            (7, "Sweep")
        }
        Request::ObserveRoot(signed_root) => {
            message_fields(&mut fields, signed_root, false, None);
            (8, "ObserveRoot")
        }
        _ => return Err("a request kind this consumer does not know".into()),
    };
    fields.insert("kind".into(), json!(kind));
    fields.insert("kindName".into(), json!(name));
    // SPEC §10: the idempotency table's request digest, SHA-256 of the command with at_ms = 0 and entropy = 0^32.
    let mut request = command.clone();
    request.at_ms = 0;
    request.entropy = [0; vault_core::ENTROPY_LEN];
    fields.insert("requestDigest".into(), hex_value(&Sha256::digest(request.to_bytes())));
    Ok(fields)
}

/// Every field a valid response test carries, computed from the response.
fn response_fields(response: &Response) -> Result<Map<String, Value>, String> {
    let mut fields = Map::new();
    fields.insert("response".into(), hex_value(&response.to_bytes()));
    let (kind, name) = match response {
        Response::RegistrationStarted(message) => {
            message_fields(
                &mut fields,
                &message.to_bytes(),
                true,
                Some(message.user_id().as_bytes()),
            );
            (1, "RegistrationStarted")
        }
        Response::Registered(receipt) => {
            message_fields(
                &mut fields,
                &receipt.to_bytes(),
                true,
                Some(receipt.user_id().as_bytes()),
            );
            (2, "Registered")
        }
        Response::LoginStarted { session, response } => {
            fields.insert("sessionId".into(), hex_value(session));
            message_fields(
                &mut fields,
                &response.to_bytes(),
                true,
                Some(response.user_id().as_bytes()),
            );
            (3, "LoginStarted")
        }
        Response::KeyReleased(message) => {
            message_fields(
                &mut fields,
                &message.to_bytes(),
                true,
                Some(message.user_id().as_bytes()),
            );
            (4, "KeyReleased")
        }
        Response::Deleted(receipt) => {
            message_fields(
                &mut fields,
                &receipt.to_bytes(),
                true,
                Some(receipt.user_id().as_bytes()),
            );
            (5, "Deleted")
        }
        Response::IplsChallenge(message) => {
            message_fields(&mut fields, &message.to_bytes(), true, None);
            (6, "IplsChallenge")
        }
        Response::IplsReply(message) => {
            message_fields(&mut fields, &message.to_bytes(), true, None);
            (7, "IplsReply")
        }
        Response::Swept { removed, next } => {
            fields.insert("removed".into(), json!(removed));
            if let Some(next) = next {
                fields.insert("next".into(), hex_value(next));
            }
            (8, "Swept")
        }
        Response::RootObserved { epoch } => {
            fields.insert("epoch".into(), json::decimal(*epoch));
            (9, "RootObserved")
        }
        _ => return Err("a response kind this consumer does not know".into()),
    };
    fields.insert("kind".into(), json!(kind));
    fields.insert("kindName".into(), json!(name));
    Ok(fields)
}

/// `error` (the `DecodeError` variant's name) and the variant's fields: `invalidField` (the `InvalidField` string),
/// `found` and `expected` (the version or type bytes).
fn error_fields(error: &DecodeError) -> Result<Map<String, Value>, String> {
    let fields = match error {
        DecodeError::Truncated => json!({"error": "Truncated"}),
        DecodeError::TrailingBytes => json!({"error": "TrailingBytes"}),
        DecodeError::LegacyVersion { found } => json!({"error": "LegacyVersion", "found": found}),
        DecodeError::UnknownVersion { found } => json!({"error": "UnknownVersion", "found": found}),
        DecodeError::WrongType { expected, found } => {
            json!({"error": "WrongType", "expected": expected, "found": found})
        }
        DecodeError::InvalidField(field) => json!({"error": "InvalidField", "invalidField": field}),
        _ => return Err(format!("a decode error this consumer does not know: {error:?}")),
    };
    match fields {
        Value::Object(map) => Ok(map),
        _ => Err("not an object".into()),
    }
}

// --- generation ----------------------------------------------------------------------------------------------------

fn chacha(stream: u64) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);
    rng.set_stream(stream);
    rng
}

fn draw32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut bytes = [0; 32];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn test(comment: &str, flags: &[&str], fields: Map<String, Value>) -> Value {
    let mut test = Map::new();
    test.insert("comment".into(), json!(comment));
    test.insert("flags".into(), json!(flags));
    test.insert("result".into(), json!("valid"));
    test.extend(fields);
    Value::Object(test)
}

fn command_test(command: &Command, comment: &str, flags: &[&str], forbidden: bool) -> Value {
    assert_eq!(
        Command::from_bytes(&command.to_bytes()).as_ref(),
        Ok(command),
        "{comment}: the command round-trips"
    );
    let mut test = test(comment, flags, command_fields(command).expect("a known request"));
    test["authorization"] = json!(if forbidden { "Forbidden" } else { "allowed" });
    test
}

fn response_test(response: &Response, comment: &str, flags: &[&str]) -> Value {
    assert_eq!(
        Response::from_bytes(&response.to_bytes()).as_ref(),
        Ok(response),
        "{comment}: the response round-trips"
    );
    test(comment, flags, response_fields(response).expect("a known response"))
}

fn principal_test(principal: &Principal, comment: &str) -> Value {
    assert_eq!(Principal::from_bytes(&principal.to_bytes()).as_ref(), Ok(principal));
    test(comment, &[], principal_fields(principal))
}

/// A refused encoding: `field` holds the bytes, and the decoder must refuse them with exactly `error`.
fn reject(
    field: &str,
    decode: fn(&[u8]) -> Option<DecodeError>,
    bytes: &[u8],
    error: DecodeError,
    comment: &str,
    flag: &str,
) -> Value {
    assert_eq!(decode(bytes), Some(error), "{comment}");
    let mut test = Map::new();
    test.insert("comment".into(), json!(comment));
    test.insert("flags".into(), json!([flag]));
    test.insert("result".into(), json!("invalid"));
    test.insert(field.into(), hex_value(bytes));
    test.extend(error_fields(&error).expect("a known error"));
    Value::Object(test)
}

fn command_error(bytes: &[u8]) -> Option<DecodeError> {
    Command::from_bytes(bytes).err()
}

fn response_error(bytes: &[u8]) -> Option<DecodeError> {
    Response::from_bytes(bytes).err()
}

fn principal_error(bytes: &[u8]) -> Option<DecodeError> {
    Principal::from_bytes(bytes).err()
}

/// One vault and the log applied to it.
struct Run {
    vault: Vault<MemoryStore>,
    client: ClientConfig,
    entropy: ChaCha20Rng,
    clients: ChaCha20Rng,
    clock: u64,
    commands: Vec<Value>,
    responses: Vec<Value>,
    /// The two accounts' ids: 1 byte and 255 bytes.
    accounts: [Vec<u8>; 2],
}

impl Run {
    /// The next command, one second after the previous one, with fresh entropy.
    fn command(&mut self, principal: &Principal, request: Request) -> Command {
        self.clock += 1_000;
        let at_ms = self.clock;
        self.command_at(at_ms, principal, request)
    }

    fn command_at(&mut self, at_ms: u64, principal: &Principal, request: Request) -> Command {
        Command {
            at_ms,
            entropy: draw32(&mut self.entropy),
            principal: principal.clone(),
            request,
        }
    }

    /// Applies `command`, which must succeed; logs it and the vault's answer.
    fn apply(&mut self, command: &Command, comment: &str, answer: &str) -> Response {
        let response = self
            .vault
            .apply(command)
            .unwrap_or_else(|error| panic!("{comment}: {error}"));
        self.commands.push(command_test(command, comment, &[], false));
        self.responses.push(response_test(&response, answer, &[]));
        response
    }

    /// Applies `command`, which the vault must refuse; logs it (it decodes like any other).
    fn refused(&mut self, command: &Command, comment: &str, forbidden: bool) {
        let error = self.vault.apply(command).expect_err("refused");
        assert_eq!(matches!(error, VaultError::Forbidden), forbidden, "{comment}: {error}");
        let flag = if forbidden {
            "ForbiddenAtApply"
        } else {
            "RefusedAtApply"
        };
        self.commands.push(command_test(command, comment, &[flag], forbidden));
    }

    /// Registers `user` and retrieves its key once; returns the key.
    fn register(&mut self, principal: &Principal, user: &UserId, who: &str) -> BackupKey {
        let key = BackupKey::generate(&mut self.clients);
        let (client, request) =
            ClientRegistration::start(&mut self.clients, &self.client, user.clone(), PASSWORD).expect("start");
        let command = self.command(principal, Request::RegistrationStart(request));
        let Response::RegistrationStarted(response) = self.apply(
            &command,
            &format!("registration start by {who}"),
            &format!("registration started ({who}): the signed RegistrationResponse"),
        ) else {
            panic!("not a registration response")
        };
        let (awaiting, upload) = client.finish(&mut self.clients, &response, &key).expect("finish");
        let command = self.command(principal, Request::RegistrationFinish(upload));
        let Response::Registered(receipt) = self.apply(
            &command,
            &format!("registration finish by {who}"),
            &format!("registered ({who}): the RegistrationReceipt"),
        ) else {
            panic!("not a receipt")
        };
        awaiting.verify(&receipt).expect("the receipt verifies");
        self.log_in(principal, user, &key, LoginPurpose::RetrieveKey, who);
        key
    }

    fn log_in(&mut self, principal: &Principal, user: &UserId, key: &BackupKey, purpose: LoginPurpose, who: &str) {
        let (client, request) =
            ClientLogin::start_for(&mut self.clients, &self.client, user.clone(), PASSWORD, purpose).expect("start");
        let what = if purpose == LoginPurpose::DeleteRecord {
            "deletion login"
        } else {
            "login"
        };
        let command = self.command(principal, Request::LoginStart(request));
        let Response::LoginStarted { session, response } = self.apply(
            &command,
            &format!("{what} start by {who}"),
            &format!("{what} started ({who}): the session id and the signed LoginResponse"),
        ) else {
            panic!("not a login response")
        };
        if purpose == LoginPurpose::DeleteRecord {
            let (awaiting, finalization) = client.finish_deletion(&mut self.clients, &response).expect("finish");
            let command = self.command(principal, Request::LoginFinish { session, finalization });
            let Response::Deleted(receipt) = self.apply(
                &command,
                &format!("{what} finish by {who}, with the session id"),
                &format!("deleted ({who}): the DeletionReceipt"),
            ) else {
                panic!("not a deletion receipt")
            };
            awaiting.verify(&receipt).expect("the receipt verifies");
        } else {
            let (pending, finalization) = client.finish(&mut self.clients, &response).expect("finish");
            let command = self.command(principal, Request::LoginFinish { session, finalization });
            let Response::KeyReleased(release) = self.apply(
                &command,
                &format!("{what} finish by {who}, with the session id"),
                &format!("key released ({who}): the KeyRelease"),
            ) else {
                panic!("not a key release")
            };
            assert!(pending.open(&release).expect("opens") == *key);
        }
    }

    /// An IPLS escrow session: the hello applied, the auth logged, the reply built from the vault's draws.
    fn escrow(&mut self, principal: &Principal, account: &[u8], upload: bool, signed_root: &[u8], who: &str) {
        let account = AccountId::new(account.to_vec()).expect("valid account id");
        let contact_key = ContactKey::from_bytes(draw32(&mut self.clients));
        let account_key = SigningKey::from_bytes(&draw32(&mut self.clients));
        let vault_key = self.vault.keys().ipls().public_key();
        let (device, hello) = if upload {
            EscrowClient::upload(&mut self.clients, &vault_key, account, &contact_key)
        } else {
            EscrowClient::retrieve(&mut self.clients, &vault_key, account)
        }
        .expect("hello");
        let what = if upload { "upload" } else { "retrieval" };
        let command = self.command(principal, Request::IplsHello(hello.clone()));
        let Response::IplsChallenge(challenge) = self.apply(
            &command,
            &format!("IPLS hello ({what}) by {who}"),
            &format!("IPLS challenge ({what}, {who})"),
        ) else {
            panic!("not a challenge")
        };
        // The vault drew the challenge and its ephemeral secret from the command's entropy: the same draws give its
        // pending session.
        let (pending, again) = self
            .vault
            .keys()
            .ipls()
            .challenge(&mut ChaCha20Rng::from_seed(command.entropy), &hello)
            .expect("challenge");
        assert_eq!(again, challenge, "the vault's draws are reproduced");
        let proof = IdentityProof::new(signed_root.to_vec(), LOOKUP_PROOF.to_vec()).expect("short");
        let (device, auth) = device
            .authenticate(&challenge, &account_key, &proof)
            .expect("authenticate");
        let command = self.command(principal, Request::IplsAuth(auth.clone()));
        self.commands.push(command_test(
            &command,
            &format!("IPLS auth ({what}) by {who}"),
            &[],
            false,
        ));
        let opened = self.vault.keys().ipls().open(&pending, &auth).expect("opens");
        let reply = if upload {
            opened.reply_stored()
        } else {
            opened.reply_released(&contact_key)
        };
        let outcome = device.finish(&reply).expect("the device accepts the reply");
        assert!(
            outcome
                == if upload {
                    EscrowOutcome::Stored
                } else {
                    EscrowOutcome::Released(contact_key)
                }
        );
        self.responses.push(response_test(
            &Response::IplsReply(reply),
            &format!(
                "IPLS reply ({what}, {who}: {}), built by the ipls crate with the fleet's IPLS key and the vault's draws",
                if upload { "the acknowledgement" } else { "CK" }
            ),
            &[],
        ));
    }
}

/// A witness-signed root, fresh at `at_ms`.
fn signed_root(witness: &SigningKey, at_ms: u64, epoch: u64) -> SignedRoot {
    let digest: [u8; 32] = Sha256::digest(format!("AKD root of epoch {epoch}")).into();
    let key_id = witness.verifying_key().to_bytes()[31];
    let timestamp = at_ms - 500;
    let unsigned = SignedRoot::new(
        Ciphersuite::ProtobufEd25519,
        NAMESPACE,
        timestamp,
        epoch,
        digest,
        [0; 64],
        key_id,
    );
    let signature = witness.sign(&unsigned.signed_message()).to_bytes();
    SignedRoot::new(
        Ciphersuite::ProtobufEd25519,
        NAMESPACE,
        timestamp,
        epoch,
        digest,
        signature,
        key_id,
    )
}

/// The vault's log: every request kind, both principal kinds, and the answers.
#[allow(clippy::too_many_lines)] // the log, command by command
fn run() -> Run {
    let mut keys_rng = chacha(0);
    let keys = FleetKeys::generate(&mut keys_rng);
    let witness = SigningKey::from_bytes(&draw32(&mut keys_rng));
    let vrf_stand_in = SigningKey::from_bytes(&draw32(&mut keys_rng))
        .verifying_key()
        .to_bytes();
    let trust = KeyTransparency::new(
        WitnessVerifier::new(
            NAMESPACE,
            [WitnessKey::new(witness.verifying_key().to_bytes(), 0).expect("a valid key")],
            3_600_000,
        )
        .expect("one key"),
        DirectoryVerifier::new(&vrf_stand_in).expect("a valid point"),
    );
    let config = VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        sweep_page: 3,
        ..VaultConfig::default()
    };
    let client = ClientConfig::insecure_fast_for_testing(keys.backup_pins());
    let mut run = Run {
        vault: Vault::new(keys, config, MemoryStore::new()).with_key_transparency(trust),
        client,
        entropy: chacha(1),
        clients: chacha(2),
        clock: START_MS,
        commands: Vec::new(),
        responses: Vec::new(),
        accounts: [b"a".to_vec(), vec![0; 255]],
    };
    run.clients.fill_bytes(&mut run.accounts[1]);
    let short = UserId::new(run.accounts[0].clone()).expect("1 byte");
    let long = UserId::new(run.accounts[1].clone()).expect("255 bytes");
    let alice = Principal::Account(short.clone());
    let bob = Principal::Account(long.clone());
    let (a, b) = ("account a (1-byte id)", "account b (255-byte id)");

    // Backups: a registers and retrieves its key; b registers, retrieves, and deletes its record.
    run.register(&alice, &short, a);
    let key = run.register(&bob, &long, b);
    run.log_in(&bob, &long, &key, LoginPurpose::DeleteRecord, b);

    // IPLS escrow: a uploads its contact key, b retrieves (the vault would refuse both auths at the identity proof;
    // they are logged, not applied). The identity proofs carry the root observed below.
    let root_at = run.clock + 20_000;
    let root = signed_root(&witness, root_at, BEYOND_DOUBLE).to_protobuf();
    run.escrow(&alice, short.as_bytes(), true, &root, a);
    run.escrow(&bob, long.as_bytes(), false, &root, b);

    // Sessions left open, for the sweep: a re-registration start and a login start by a, never finished.
    let (_, request) =
        ClientRegistration::start(&mut run.clients, &run.client, short.clone(), PASSWORD).expect("start");
    let command = run.command(&alice, Request::RegistrationStart(request));
    run.apply(
        &command,
        "re-registration start by account a (never finished: swept below)",
        "registration started (account a, re-registration)",
    );
    let (_, request) = ClientLogin::start_for(
        &mut run.clients,
        &run.client,
        short.clone(),
        PASSWORD,
        LoginPurpose::RetrieveKey,
    )
    .expect("start");
    let login_for_a = request.clone();
    let command = run.command(&alice, Request::LoginStart(request));
    run.apply(
        &command,
        "login start by account a (never finished: swept below)",
        "login started (account a, a session never finished)",
    );

    // The monitor's root, at an epoch beyond doubles.
    run.clock = root_at;
    let command = run.command_at(root_at, &Principal::Operator, Request::ObserveRoot(root.clone()));
    let observed = run.apply(
        &command,
        "observe root by the operator: a Plexi SignedRoot at epoch 2^53 + 1",
        "root observed: epoch 2^53 + 1 (u64be; a decimal string here)",
    );
    assert_eq!(observed, Response::RootObserved { epoch: BEYOND_DOUBLE });

    // Commands that decode (a replica must read them) but that the vault refuses: the principal may not make the
    // request (§11), or the state machine rejects what the decoder leaves unparsed.
    let command = run.command(&Principal::Operator, Request::LoginStart(login_for_a));
    run.refused(&command, "login start for a sent as the operator", true);
    let (_, request) = ClientRegistration::start(&mut run.clients, &run.client, long.clone(), PASSWORD).expect("start");
    let command = run.command(&alice, Request::RegistrationStart(request));
    run.refused(&command, "registration start naming b sent by account a", true);
    let command = run.command(&alice, Request::Sweep { cursor: Vec::new() });
    run.refused(&command, "sweep sent by account a", true);
    let command = run.command(&bob, Request::ObserveRoot(root));
    run.refused(&command, "observe root sent by account b", true);
    let command = run.command(
        &Principal::Operator,
        Request::ObserveRoot(b"not a Plexi SignedRoot".to_vec()),
    );
    run.refused(
        &command,
        "observe root whose message is no protobuf: the decoder does not parse it, the vault refuses it at apply",
        false,
    );
    let command = run.command(
        &Principal::Operator,
        Request::Sweep {
            cursor: b"user/a".to_vec(),
        },
    );
    run.refused(
        &command,
        "sweep with a cursor under no swept prefix: decoded as any bytes, refused at apply (InvalidSweepCursor)",
        false,
    );

    // The operator's sweep: a page of 3 from the start of the pass, then the rest from the page's cursor.
    let command = run.command_at(
        BEYOND_DOUBLE,
        &Principal::Operator,
        Request::Sweep { cursor: Vec::new() },
    );
    let Response::Swept {
        removed,
        next: Some(cursor),
    } = run.apply(
        &command,
        "sweep by the operator, empty cursor (a new pass), at_ms 2^53 + 1",
        "swept a full page: next present (the last key examined)",
    )
    else {
        panic!("a full page")
    };
    assert_eq!(removed, 3);
    let command = run.command_at(u64::MAX, &Principal::Operator, Request::Sweep { cursor });
    let last = run.apply(
        &command,
        "sweep by the operator, with the previous page's cursor, at_ms 2^64 - 1",
        "swept the rest: next absent (the end of the pass)",
    );
    assert_eq!(last, Response::Swept { removed: 1, next: None });
    run
}

fn principal_tests(run: &Run) -> (Vec<Value>, Vec<Value>) {
    let ids = &run.accounts;
    let account = |id: &[u8]| Principal::account(id).expect("valid id");
    let valid = vec![
        principal_test(&account(&ids[0]), "account with a 1-byte id"),
        principal_test(&account(&ids[1]), "account with a 255-byte id"),
        principal_test(&Principal::Operator, "the operator"),
    ];
    let mut too_long = account(&ids[0]).to_bytes();
    too_long[1] = 2;
    let mut trailing = account(&ids[1]).to_bytes();
    trailing.push(0x00);
    let refuse = |bytes: &[u8], error, comment: &str, flag: &str| {
        reject("principal", principal_error, bytes, error, comment, flag)
    };
    let unknown = DecodeError::InvalidField("principal");
    let invalid = vec![
        refuse(&[], DecodeError::Truncated, "empty", "Truncated"),
        refuse(&[0x00], unknown, "principal kind 0x00", "InvalidPrincipal"),
        refuse(&[0x03], unknown, "principal kind 0x03", "InvalidPrincipal"),
        refuse(
            &[0x01],
            DecodeError::Truncated,
            "account without its length byte",
            "Truncated",
        ),
        refuse(
            &[0x01, 0x00],
            DecodeError::InvalidField("principal account id"),
            "account id of length 0",
            "InvalidPrincipal",
        ),
        refuse(
            &too_long,
            DecodeError::Truncated,
            "account id shorter than its length byte",
            "Truncated",
        ),
        refuse(
            &[0x02, 0x00],
            DecodeError::TrailingBytes,
            "the operator, then a byte",
            "TrailingBytes",
        ),
        refuse(
            &trailing,
            DecodeError::TrailingBytes,
            "an account, then a byte",
            "TrailingBytes",
        ),
    ];
    (valid, invalid)
}

/// The bytes of the first logged command whose comment starts with `prefix`.
fn logged(tests: &[Value], field: &str, prefix: &str) -> Vec<u8> {
    tests
        .iter()
        .find(|test| {
            test["comment"]
                .as_str()
                .is_some_and(|comment| comment.starts_with(prefix))
        })
        .and_then(|test| test[field].as_str())
        .and_then(|bytes| hex::decode(bytes).ok())
        .unwrap_or_else(|| panic!("no logged {field} {prefix}"))
}

fn with_byte(bytes: &[u8], index: usize, value: u8) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[index] = value;
    bytes
}

#[allow(clippy::too_many_lines)] // the table of refused encodings
fn command_rejects(run: &Run) -> Vec<Value> {
    let start = logged(&run.commands, "command", "registration start by account a");
    let start_message = logged(&run.commands, "message", "registration start by account a");
    let login_start = logged(&run.commands, "command", "login start by account a (never");
    let login_message = logged(&run.commands, "message", "login start by account a (never");
    let finish = logged(&run.commands, "command", "login finish by account a");
    let hello = logged(&run.commands, "command", "IPLS hello (upload) by account a");
    let auth = logged(&run.commands, "command", "IPLS auth (upload) by account a");
    // version || type || at_ms || entropy, then account a's principal 0x01 0x01 'a', then the kind at 45.
    let (prefix, principal) = (&start[..42], &start[42..45]);
    assert_eq!(principal, b"\x01\x01a");
    let body = |principal: &[u8], kind: &[u8], rest: &[u8]| [prefix, principal, kind, rest].concat();
    let refuse =
        |bytes: &[u8], error, comment: &str, flag: &str| reject("command", command_error, bytes, error, comment, flag);
    let message = DecodeError::InvalidField("request message");
    let kind = DecodeError::InvalidField("request kind");
    let mut hello_purpose = hello.clone();
    // The hello's purpose byte: after the command's 46 bytes and the hello's own header.
    hello_purpose[48] = 0x03;
    vec![
        refuse(&[], DecodeError::Truncated, "empty", "Truncated"),
        refuse(&[0x01], DecodeError::Truncated, "the version byte only", "Truncated"),
        refuse(
            &[0x00],
            DecodeError::LegacyVersion { found: 0 },
            "a lone version byte 0x00: the version is judged before the type is read",
            "LegacyVersion",
        ),
        refuse(
            &with_byte(&start, 0, 0x00),
            DecodeError::LegacyVersion { found: 0 },
            "legacy version 0x00",
            "LegacyVersion",
        ),
        refuse(
            &with_byte(&start, 0, 0x02),
            DecodeError::UnknownVersion { found: 2 },
            "unknown version 0x02",
            "UnknownVersion",
        ),
        refuse(
            &with_byte(&start, 1, 0x52),
            DecodeError::WrongType {
                expected: 0x51,
                found: 0x52,
            },
            "type 0x52 (a response)",
            "WrongType",
        ),
        refuse(
            &start_message,
            DecodeError::WrongType {
                expected: 0x51,
                found: 0x01,
            },
            "the nested RegistrationRequest on its own",
            "WrongType",
        ),
        refuse(
            &start[..2],
            DecodeError::Truncated,
            "the header only: no at_ms",
            "Truncated",
        ),
        refuse(
            &start[..26],
            DecodeError::Truncated,
            "cut inside the entropy",
            "Truncated",
        ),
        refuse(prefix, DecodeError::Truncated, "no principal", "Truncated"),
        refuse(
            &body(&[0x00], &[], &start[43..]),
            DecodeError::InvalidField("principal"),
            "principal kind 0x00",
            "InvalidPrincipal",
        ),
        refuse(
            &body(&[0x03], &[], &start[43..]),
            DecodeError::InvalidField("principal"),
            "principal kind 0x03",
            "InvalidPrincipal",
        ),
        refuse(
            &body(&[0x01, 0x00], &[1], &start_message),
            DecodeError::InvalidField("principal account id"),
            "account id of length 0",
            "InvalidPrincipal",
        ),
        refuse(
            &body(&[0x01], &[], &[]),
            DecodeError::Truncated,
            "account principal without its length byte",
            "Truncated",
        ),
        refuse(
            &body(&[0x01, 0x05, b'a'], &[], &[]),
            DecodeError::Truncated,
            "account id shorter than its length byte",
            "Truncated",
        ),
        refuse(&start[..45], DecodeError::Truncated, "no kind", "Truncated"),
        refuse(
            &body(principal, &[0], &start_message),
            kind,
            "request kind 0",
            "UnknownKind",
        ),
        refuse(
            &body(principal, &[9], &start_message),
            kind,
            "request kind 9",
            "UnknownKind",
        ),
        refuse(
            &body(principal, &[0xff], &start_message),
            kind,
            "request kind 0xff",
            "UnknownKind",
        ),
        refuse(
            &body(&[0x02], &[0x0a], &[]),
            kind,
            "the operator with request kind 10",
            "UnknownKind",
        ),
        refuse(
            &finish[..46 + 15],
            DecodeError::Truncated,
            "login finish with a truncated session id (15 bytes)",
            "Truncated",
        ),
        refuse(
            &finish[..46 + 16],
            message,
            "login finish with the session id and no finalization",
            "InvalidMessage",
        ),
        refuse(
            &[start.as_slice(), &[0x00]].concat(),
            message,
            "a byte after the RegistrationRequest: nested messages have exact lengths, so trailing bytes are the message's error",
            "InvalidMessage",
        ),
        refuse(
            &login_start[..login_start.len() - 1],
            message,
            "login start with the LoginRequest's last byte cut",
            "InvalidMessage",
        ),
        refuse(
            &body(principal, &[1], &login_message),
            message,
            "kind 1 (RegistrationStart) carrying a LoginRequest",
            "InvalidMessage",
        ),
        refuse(
            &hello_purpose,
            message,
            "IPLS hello with purpose 0x03",
            "InvalidMessage",
        ),
        refuse(
            &auth[..46 + 2 + 32 + 15],
            message,
            "IPLS auth with a 15-byte ciphertext (shorter than the AES-GCM tag)",
            "InvalidMessage",
        ),
    ]
}

#[allow(clippy::too_many_lines)] // the table of refused encodings
fn response_rejects(run: &Run) -> Vec<Value> {
    let receipt = logged(&run.responses, "response", "registered (account a");
    let started = logged(&run.responses, "response", "login started (account a, a session");
    let swept = logged(&run.responses, "response", "swept the rest");
    let observed = logged(&run.responses, "response", "root observed");
    let challenge = logged(&run.responses, "response", "IPLS challenge (upload");
    let reply = logged(&run.responses, "response", "IPLS reply (upload");
    let command = logged(&run.commands, "command", "registration start by account a");
    let refuse = |bytes: &[u8], error, comment: &str, flag: &str| {
        reject("response", response_error, bytes, error, comment, flag)
    };
    let message = DecodeError::InvalidField("response message");
    let kind = DecodeError::InvalidField("response kind");
    let cursor = DecodeError::InvalidField("sweep cursor");
    let removed = &swept[3..7];
    let swept_with = |rest: &[u8]| [&[0x01, 0x52, 0x08][..], removed, rest].concat();
    vec![
        refuse(&[], DecodeError::Truncated, "empty", "Truncated"),
        refuse(&[0x01], DecodeError::Truncated, "the version byte only", "Truncated"),
        refuse(
            &receipt[..2],
            DecodeError::Truncated,
            "the header only: no kind",
            "Truncated",
        ),
        refuse(
            &with_byte(&receipt, 0, 0x00),
            DecodeError::LegacyVersion { found: 0 },
            "legacy version 0x00",
            "LegacyVersion",
        ),
        refuse(
            &with_byte(&receipt, 0, 0x02),
            DecodeError::UnknownVersion { found: 2 },
            "unknown version 0x02",
            "UnknownVersion",
        ),
        refuse(
            &command,
            DecodeError::WrongType {
                expected: 0x52,
                found: 0x51,
            },
            "a command (type 0x51)",
            "WrongType",
        ),
        refuse(&with_byte(&receipt, 2, 0), kind, "response kind 0", "UnknownKind"),
        refuse(&with_byte(&receipt, 2, 10), kind, "response kind 10", "UnknownKind"),
        refuse(
            &started[..3 + 15],
            DecodeError::Truncated,
            "login started with a truncated session id (15 bytes)",
            "Truncated",
        ),
        refuse(
            &started[..started.len() - 1],
            message,
            "login started with the LoginResponse's last byte cut",
            "InvalidMessage",
        ),
        refuse(
            &[receipt.as_slice(), &[0x00]].concat(),
            message,
            "a byte after the RegistrationReceipt",
            "InvalidMessage",
        ),
        refuse(
            &challenge[..challenge.len() - 1],
            message,
            "IPLS challenge with its last byte cut",
            "InvalidMessage",
        ),
        refuse(
            &[reply.as_slice(), &[0x00]].concat(),
            message,
            "IPLS reply with a 17-byte ciphertext (neither 16 nor 48)",
            "InvalidMessage",
        ),
        refuse(
            &swept[..6],
            DecodeError::Truncated,
            "swept with 3 bytes of removed",
            "Truncated",
        ),
        refuse(
            &swept[..7],
            DecodeError::Truncated,
            "swept without the next flag",
            "Truncated",
        ),
        refuse(
            &swept_with(&[0x02]),
            cursor,
            "swept with next flag 0x02",
            "InvalidSweepFlag",
        ),
        refuse(
            &swept_with(&[0xff, b'x']),
            cursor,
            "swept with next flag 0xff and a cursor",
            "InvalidSweepFlag",
        ),
        refuse(
            &swept_with(&[0x00, b'x']),
            DecodeError::TrailingBytes,
            "swept at the end of the pass (0x00), then a byte",
            "TrailingBytes",
        ),
        refuse(
            &observed[..observed.len() - 1],
            DecodeError::Truncated,
            "root observed with a 7-byte epoch",
            "Truncated",
        ),
        refuse(
            &[observed.as_slice(), &[0x00]].concat(),
            DecodeError::TrailingBytes,
            "root observed, then a byte",
            "TrailingBytes",
        ),
    ]
}

fn notes() -> Value {
    json!({
        "principal": "0x01 || len8(accountId) || accountId (1 to 255 bytes), or 0x02 (the operator); no header (SPEC §3; also the snapshot's owner, §10)",
        "command": "0x01 || 0x51 || atMs (u64be) || entropy (32) || principal || kind (1) || [sessionId (16) if kind = 4] || message; kind 1 RegistrationStart, 2 RegistrationFinish, 3 LoginStart, 4 LoginFinish, 5 IplsHello, 6 IplsAuth, 7 Sweep (message = the cursor, possibly empty), 8 ObserveRoot (message = Plexi protobuf SignedRoot); the message runs to the end (SPEC §3)",
        "response": "0x01 || 0x52 || kind (1) || [sessionId (16) if kind = 3] || message; kind 1 RegistrationStarted, 2 Registered (RegistrationReceipt), 3 LoginStarted, 4 KeyReleased, 5 Deleted (DeletionReceipt), 6 IplsChallenge, 7 IplsReply, 8 Swept (removed u32be || 0x00, or 0x01 || next: `next` absent or present), 9 RootObserved (epoch u64be)",
        "message": "the nested encoding as it appears: a backup-protocol message (messageType 0x01 RegistrationRequest, 0x03 RegistrationUpload, 0x11 LoginRequest, 0x13 LoginFinalization, 0x02 RegistrationResponse, 0x04 RegistrationReceipt, 0x12 LoginResponse, 0x14 KeyRelease, 0x15 DeletionReceipt; messageUserId its user id), an ipls message (0x72 hello, with messageUserId its account id; 0x74 auth; 0x73 challenge; 0x75 reply), or raw bytes (sweep cursor, signed root: no messageType). Real messages from the crates' clients and a vault-core vault; their own vectors are vault_messages, ipls_escrow and witness_signature",
        "decimalStrings": "atMs and epoch are u64 and carried as decimal strings (no sign, no leading zeros): values above 2^53 are not exact as JSON numbers in most parsers, and these vectors use 2^53 + 1 and 2^64 - 1. kind, messageType, removed, found and expected are JSON numbers (at most u32)",
        "requestDigest": "SHA-256 of the command encoded with atMs = 0 and entropy = 0^32: the request half of the idempotency key of a replicated vault (SPEC §10)",
        "authorization": "what the vault's first check (SPEC §11) makes of the command: Forbidden, or allowed (which says nothing of what the state machine does next). RegistrationStart, RegistrationFinish, LoginStart, LoginFinish, IplsHello: an account whose id is messageUserId; IplsAuth: any account; Sweep, ObserveRoot: the operator. A Forbidden command decodes: the log holds it and every replica refuses it alike",
        "decoding": "the decoders read no further than the layout: a sweep cursor and an ObserveRoot message are any bytes (RefusedAtApply tests: refused by the state machine, not the decoder). A replica that refuses such commands while decoding diverges: SPEC §10 records an apply-time refusal in the idempotency table, and a command that does not decode nowhere at all",
        "errors": "error is the name of the backup_protocol::DecodeError variant that Command::from_bytes, Response::from_bytes or Principal::from_bytes returns (vault-core re-uses backup-protocol's DecodeError), with the variant's fields: LegacyVersion { found }, UnknownVersion { found }, WrongType { expected, found } (type bytes), InvalidField(invalidField). So error InvalidField with invalidField \"principal\" is DecodeError::InvalidField(\"principal\"). Checks run in the layout's order: the version before the type (a lone 0x00 is LegacyVersion), the principal kind before its id",
        "nestedErrors": "any failure of a nested backup-protocol or ipls message (wrong type, wrong length, bad field, trailing bytes inside it) is InvalidField(\"request message\") or InvalidField(\"response message\"), never the nested error: the message runs to the end of the encoding, so bytes after it are part of it. TrailingBytes is reachable only after a fixed-length end: a principal, Swept's 0x00, RootObserved's epoch",
        "features": "vault-core's default `ipls` feature; a backup-only build (no ipls) refuses request kinds 5, 6, 8 and response kinds 6, 7, 9 as InvalidField(\"request kind\") or InvalidField(\"response kind\") (SPEC §1): these vectors are for the default build",
        "groups": "Principal: Principal::to_bytes/from_bytes; Command: one vault's log, in order (the IPLS auths logged, not applied; ForbiddenAtApply and RefusedAtApply commands decode and the vault refuses them); Response: the answers to the others, in the same order, the IPLS replies built from the vault's draws, and two constructed edge values the vault does not send (flag Constructed); the Reject groups: encodings each decoder refuses, with the exact DecodeError",
    })
}

/// The vector file.
pub fn generate() -> Value {
    let run = run();
    let (principals, principal_rejects) = principal_tests(&run);
    let mut responses = run.responses.clone();
    for (response, comment) in [
        (
            Response::Swept {
                removed: u32::MAX,
                next: Some(Vec::new()),
            },
            "swept, next present and empty (0x01 and nothing after): decodes as an empty cursor, which a sweep reads as a new pass; removed 2^32 - 1",
        ),
        (
            Response::RootObserved { epoch: u64::MAX },
            "root observed, epoch 2^64 - 1",
        ),
    ] {
        responses.push(response_test(&response, comment, &["Constructed"]));
    }
    let command_rejects = command_rejects(&run);
    let response_rejects = response_rejects(&run);
    json::file(
        "VAULT-CORE-COMMAND-LOG",
        "vault_commands.schema.json",
        &notes(),
        vec![
            json!({"type": "Principal", "tests": principals}),
            json!({"type": "PrincipalReject", "tests": principal_rejects}),
            json!({"type": "Command", "tests": run.commands}),
            json!({"type": "CommandReject", "tests": command_rejects}),
            json!({"type": "Response", "tests": responses}),
            json!({"type": "ResponseReject", "tests": response_rejects}),
        ],
    )
}

// --- checking ------------------------------------------------------------------------------------------------------

/// The test's fields, but the meta ones, are exactly `computed`.
fn same_fields(test: &Map<String, Value>, computed: &Map<String, Value>) -> Result<(), String> {
    for (field, value) in test {
        if META.contains(&field.as_str()) {
            continue;
        }
        match computed.get(field) {
            Some(expected) if expected == value => {}
            Some(_) => return Err(fail(test, &format!("{field} differs"))),
            None => return Err(fail(test, &format!("{field} does not belong in this test"))),
        }
    }
    match computed.keys().find(|field| !test.contains_key(field.as_str())) {
        Some(field) => Err(fail(test, &format!("{field} is missing"))),
        None => Ok(()),
    }
}

/// A fresh vault: authorization is its first check, before it reads anything.
fn fresh_vault() -> Vault<MemoryStore> {
    Vault::new(
        FleetKeys::generate(&mut chacha(0)),
        VaultConfig::default(),
        MemoryStore::new(),
    )
}

fn check_command(test: &Map<String, Value>) -> Result<(), String> {
    let bytes = json::bytes(test, "command")?;
    let command = Command::from_bytes(&bytes).map_err(|error| fail(test, &format!("refused: {error:?}")))?;
    same_fields(test, &command_fields(&command).map_err(|error| fail(test, &error))?)?;
    let forbidden = match json::text(test, "authorization")? {
        "Forbidden" => true,
        "allowed" => false,
        other => return Err(fail(test, &format!("unknown authorization {other}"))),
    };
    let refused = matches!(fresh_vault().apply(&command), Err(VaultError::Forbidden));
    json::all_hold(test, &[(refused == forbidden, "authorization")])
}

fn check_reject(
    test: &Map<String, Value>,
    field: &str,
    decode: fn(&[u8]) -> Option<DecodeError>,
) -> Result<(), String> {
    let bytes = json::bytes(test, field)?;
    let error = decode(&bytes).ok_or_else(|| fail(test, "was accepted"))?;
    let mut computed = error_fields(&error).map_err(|error| fail(test, &error))?;
    computed.insert(field.into(), json!(hex::encode(&bytes)));
    same_fields(test, &computed)
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    let group_type = group.get("type").and_then(Value::as_str).unwrap_or_default();
    if json::valid(test)? == group_type.ends_with("Reject") {
        return Err(fail(test, &format!("result does not fit group {group_type}")));
    }
    match group_type {
        "Principal" => {
            let bytes = json::bytes(test, "principal")?;
            let principal =
                Principal::from_bytes(&bytes).map_err(|error| fail(test, &format!("refused: {error:?}")))?;
            same_fields(test, &principal_fields(&principal))
        }
        "Command" => check_command(test),
        "Response" => {
            let bytes = json::bytes(test, "response")?;
            let response = Response::from_bytes(&bytes).map_err(|error| fail(test, &format!("refused: {error:?}")))?;
            same_fields(test, &response_fields(&response).map_err(|error| fail(test, &error))?)
        }
        "PrincipalReject" => check_reject(test, "principal", principal_error),
        "CommandReject" => check_reject(test, "command", command_error),
        "ResponseReject" => check_reject(test, "response", response_error),
        other => Err(fail(test, &format!("unknown group {other}"))),
    }
}

/// Checks every vector against vault-core: each valid encoding decodes to a value whose every field is the vector's
/// and re-encodes to the same bytes, and the principal is authorized as the vector says; each invalid one is refused
/// with exactly the vector's error.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
