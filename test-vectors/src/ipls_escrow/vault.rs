//! ipls_escrow's `VaultEscrow` group (vault-core SPEC §4 IplsHello, IplsAuth, ObserveRoot, §12): each test is a
//! fresh vault-core `Vault<MemoryStore>` built from a key file and, where the test carries them, key-transparency
//! trust (witness key and its not-before time, namespace, maximum root age, VRF key); the setup commands it must
//! accept (their responses carried), then one command, given as its log encoding and applied with `apply_bytes`:
//! the response, or the `VaultError` with every field of it. Sessions are built by hand from the ipls SPEC (the
//! parent module's `by_hand`) on the vault's own draws (ChaCha20 keyed with the hello command's entropy), and their
//! identity proofs are real (a witness-signed root and an akd lookup proof of the account's key). Every outcome is
//! vault-core's, obtained by running it.

use std::convert::Infallible;

use akd::proto::specs::types as pb;
use backup_protocol::DecodeError as CommandDecodeError;
use backup_protocol::{BackupKey, ClientConfig, ClientRegistration, PendingRegistration, UserId};
use ed25519_dalek::{Signer, SigningKey};
use ipls::{AUTH_CONTEXT, EscrowAuth, EscrowHello, IdentityProof};
use kt_verify::{
    Ciphersuite, DecodeError, DirectoryVerifier, ProofError, SignedRoot, WitnessError, WitnessKey, WitnessVerifier,
};
use protobuf::Message as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use vault_core::{
    Command, FleetKeys, IdentityError, KeyTransparency, MemoryStore, Principal, Request, Vault, VaultConfig,
    VaultError, Versioned,
};

use super::{EPOCH_1_MS, EPOCH_2_MS, Inputs, MAX_AGE_MS, NAMESPACE, NONCE_FIRST, WITNESS_SEED, aes, by_hand};
use crate::json::{self, fail};

/// The vault's clock at its first command; each command a second later.
const START_MS: u64 = EPOCH_2_MS + 600_000;
const PASSWORD: &[u8] = b"correct horse battery staple";
/// The witness key is trusted from two maximum ages before epoch 1's signing time on (so that a root too old for the
/// vault's clock is still after it).
const NOT_BEFORE_MS: u64 = EPOCH_1_MS - 2 * MAX_AGE_MS;

type Refusal = VaultError<Infallible>;
/// What a test's vault did: the setup commands' responses, then the tested command's response or refusal.
type Run = (Vec<Vec<u8>>, Result<Vec<u8>, Refusal>);

/// The key-transparency trust a test carries: witness key, its not-before time, namespace, maximum age, VRF key.
struct Trust {
    witness_public: [u8; 32],
    not_before_ms: u64,
    namespace: String,
    max_age_ms: u64,
    vrf_public_key: Vec<u8>,
}

impl Trust {
    fn key_transparency(&self) -> Result<KeyTransparency, String> {
        let key = WitnessKey::new(self.witness_public, self.not_before_ms).map_err(|error| format!("{error}"))?;
        let witness = WitnessVerifier::new(self.namespace.as_str(), [key], self.max_age_ms)
            .map_err(|error| format!("{error}"))?;
        let directory = DirectoryVerifier::new(&self.vrf_public_key).map_err(|error| format!("{error}"))?;
        Ok(KeyTransparency::new(witness, directory))
    }

    fn fields(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("witnessPublicKey", json!(hex::encode(self.witness_public))),
            ("witnessNotBeforeMs", json::decimal(self.not_before_ms)),
            ("namespace", json!(self.namespace)),
            ("maxAgeMs", json::decimal(self.max_age_ms)),
            ("vrfPublicKey", json!(hex::encode(&self.vrf_public_key))),
        ]
    }

    fn from_test(test: &Map<String, Value>) -> Result<Option<Self>, String> {
        if !test.contains_key("witnessPublicKey") {
            return Ok(None);
        }
        Ok(Some(Self {
            witness_public: json::array(test, "witnessPublicKey")?,
            not_before_ms: json::decimal_u64(test, "witnessNotBeforeMs")?,
            namespace: json::text(test, "namespace")?.to_owned(),
            max_age_ms: json::decimal_u64(test, "maxAgeMs")?,
            vrf_public_key: json::bytes(test, "vrfPublicKey")?,
        }))
    }
}

/// Runs a fresh vault: every setup command must be accepted; returns their responses and the last one's outcome.
fn run(
    key_file: &[u8],
    trust: Option<&Trust>,
    store: &[(Vec<u8>, Vec<u8>)],
    setup: &[Vec<u8>],
    command: &[u8],
) -> Result<Run, String> {
    let keys = FleetKeys::from_bytes(key_file).map_err(|error| format!("keyFile: {error:?}"))?;
    // The seeded entries take versions 1, 2, ... in the test's order (SPEC §13 numbers versions this way).
    let entries = store
        .iter()
        .zip(1..)
        .map(|((key, value), version)| {
            (
                key.clone(),
                Versioned {
                    version,
                    value: value.clone(),
                },
            )
        })
        .collect();
    let store = MemoryStore::restore(entries, store.len() as u64);
    let mut vault = Vault::new(keys, VaultConfig::default(), store);
    if let Some(trust) = trust {
        vault = vault.with_key_transparency(trust.key_transparency()?);
    }
    let mut responses = Vec::new();
    for (index, bytes) in setup.iter().enumerate() {
        let response = vault
            .apply_bytes(bytes)
            .map_err(|error| format!("setup command {index} refused: {error:?}"))?;
        responses.push(response.to_bytes());
    }
    let outcome = vault.apply_bytes(command).map(|response| response.to_bytes());
    Ok((responses, outcome))
}

fn variant(debug: &str) -> &str {
    debug.split(['(', ' ', '{']).next().unwrap_or_default()
}

fn decimal(value: u64) -> Value {
    json::decimal(value)
}

/// The refusal as the vectors name it (`error`, nested variants in parentheses) and every field it carries: a
/// decoding error's `invalidField`, `found`, `expected`, `wireType`, `count`; the witness check's `errorKeyId`,
/// `errorTimestampMs`, `errorNotBeforeMs`, `errorNowMs`; the lookup's `errorVersion`, `errorValueEpoch`,
/// `errorEpoch`; the head rule's `errorEpoch`, `errorNewest`; `Corrupt`'s `storedValue` (what was read).
fn refusal_fields(error: &Refusal) -> Map<String, Value> {
    let mut fields = Map::new();
    let name = match error {
        VaultError::Command(decode) => {
            match decode {
                CommandDecodeError::InvalidField(field) => {
                    fields.insert("invalidField".into(), json!(field));
                }
                CommandDecodeError::LegacyVersion { found } | CommandDecodeError::UnknownVersion { found } => {
                    fields.insert("found".into(), json!(found));
                }
                CommandDecodeError::WrongType { expected, found } => {
                    fields.insert("expected".into(), json!(expected));
                    fields.insert("found".into(), json!(found));
                }
                _ => {}
            }
            format!("Command({})", variant(&format!("{decode:?}")))
        }
        VaultError::Ipls(ipls) => format!("Ipls({})", variant(&format!("{ipls:?}"))),
        VaultError::Protocol(protocol) => format!("Protocol({})", variant(&format!("{protocol:?}"))),
        VaultError::Corrupt(what) => {
            fields.insert("storedValue".into(), json!(what));
            "Corrupt".into()
        }
        VaultError::Identity(identity) => format!("Identity({})", identity_name(identity, &mut fields)),
        other => variant(&format!("{other:?}")).to_owned(),
    };
    fields.insert("error".into(), json!(name));
    fields
}

fn identity_name(error: &IdentityError, fields: &mut Map<String, Value>) -> String {
    let mut set = |name: &str, value: Value| {
        fields.insert(name.into(), value);
    };
    match error {
        IdentityError::Root(decode) => {
            match decode {
                DecodeError::UnsupportedWireType { wire_type } => set("wireType", json!(wire_type)),
                DecodeError::UnexpectedField { expected } => set("expected", json!(expected)),
                DecodeError::BadLength { expected, found } => {
                    set("expected", json!(expected));
                    set("found", json!(found));
                }
                DecodeError::TrailingBytes { count } => set("count", json!(count)),
                _ => {}
            }
            format!("Root({})", variant(&format!("{decode:?}")))
        }
        IdentityError::Witness(witness) => {
            match *witness {
                WitnessError::UnknownKeyId { key_id } => set("errorKeyId", json!(key_id)),
                WitnessError::KeyNotYetValid {
                    timestamp_ms,
                    not_before_ms,
                } => {
                    set("errorTimestampMs", decimal(timestamp_ms));
                    set("errorNotBeforeMs", decimal(not_before_ms));
                }
                WitnessError::FromTheFuture { timestamp_ms, now_ms } | WitnessError::Stale { timestamp_ms, now_ms } => {
                    set("errorTimestampMs", decimal(timestamp_ms));
                    set("errorNowMs", decimal(now_ms));
                }
                _ => {}
            }
            format!("Witness({})", variant(&format!("{witness:?}")))
        }
        IdentityError::Lookup(proof) => {
            match *proof {
                ProofError::VersionAfterEpoch { version, epoch } => {
                    set("errorVersion", decimal(version));
                    set("errorEpoch", decimal(epoch));
                }
                ProofError::ValueEpochAfterRoot { value_epoch, epoch } => {
                    set("errorValueEpoch", decimal(value_epoch));
                    set("errorEpoch", decimal(epoch));
                }
                _ => {}
            }
            format!("Lookup({})", variant(&format!("{proof:?}")))
        }
        IdentityError::StaleRoot { epoch, newest } => {
            set("errorEpoch", decimal(*epoch));
            set("errorNewest", decimal(*newest));
            "StaleRoot".into()
        }
        IdentityError::ForkedRoot { epoch } => {
            set("errorEpoch", decimal(*epoch));
            "ForkedRoot".into()
        }
        other => variant(&format!("{other:?}")).to_owned(),
    }
}

/// Every field `refusal_fields` may set, so that a test naming one its refusal lacks is refused.
const REFUSAL_FIELDS: [&str; 16] = [
    "error",
    "storedValue",
    "invalidField",
    "found",
    "expected",
    "wireType",
    "count",
    "errorKeyId",
    "errorTimestampMs",
    "errorNotBeforeMs",
    "errorNowMs",
    "errorVersion",
    "errorValueEpoch",
    "errorEpoch",
    "errorNewest",
    "response",
];

fn outcome_fields(outcome: &Result<Vec<u8>, Refusal>) -> Map<String, Value> {
    match outcome {
        Ok(response) => {
            let mut fields = Map::new();
            fields.insert("result".into(), json!("valid"));
            fields.insert("response".into(), json!(hex::encode(response)));
            fields
        }
        Err(error) => {
            let mut fields = refusal_fields(error);
            fields.insert("result".into(), json!("invalid"));
            fields
        }
    }
}

/// The generator's side: the fleet keys, the trust, a clock and the draws.
struct Builder {
    keys: FleetKeys,
    ipls_secret: [u8; 32],
    trust: Trust,
    entropy: ChaCha20Rng,
    clients: ChaCha20Rng,
    clock: u64,
    tests: Vec<Value>,
}

fn draw32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut bytes = [0; 32];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// A session's messages, as `by_hand` makes them on the vault's draws.
struct Session {
    hello: Command,
    inputs: Inputs,
    fields: Map<String, Value>,
}

impl Session {
    fn bytes(&self, field: &str) -> Vec<u8> {
        hex::decode(self.fields[field].as_str().expect("hex")).expect("hex")
    }
}

impl Builder {
    fn command(&mut self, principal: &Principal, request: Request) -> Command {
        self.clock += 1_000;
        Command {
            at_ms: self.clock,
            entropy: draw32(&mut self.entropy),
            principal: principal.clone(),
            request,
        }
    }

    /// The hello of a new session of `account` (signing with `account_seed`), and everything `by_hand` computes for
    /// it with `identity_proof` on the vault's draws from the hello command's entropy.
    fn session(&mut self, account: &[u8], account_seed: [u8; 32], upload: bool, identity_proof: Vec<u8>) -> Session {
        let mut inputs = Inputs {
            vault_secret: self.ipls_secret,
            client_secret: draw32(&mut self.clients),
            challenge: [0; 32],
            vault_ephemeral: [0; 32],
            account: account.to_vec(),
            account_seed,
            contact_key: draw32(&mut self.clients),
            upload,
            identity_proof,
        };
        let principal = Principal::account(account).expect("an account id");
        let placeholder = by_hand(&inputs);
        let hello = EscrowHello::from_bytes(&hex::decode(placeholder["hello"].as_str().expect("hex")).expect("hex"))
            .expect("a hello");
        let command = self.command(&principal, Request::IplsHello(hello));
        // The vault draws the challenge, then its ephemeral secret (vault-core SPEC §13).
        let mut draws = ChaCha20Rng::from_seed(command.entropy);
        inputs.challenge = draw32(&mut draws);
        inputs.vault_ephemeral = draw32(&mut draws);
        let fields = by_hand(&inputs);
        Session {
            hello: command,
            inputs,
            fields,
        }
    }

    /// The auth command of `session`, carrying `auth` (the session's own, or one altered).
    fn auth(&mut self, session: &Session, auth: &[u8]) -> Command {
        let principal = Principal::account(&session.inputs.account).expect("an account id");
        let auth = EscrowAuth::from_bytes(auth).expect("an auth");
        self.command(&principal, Request::IplsAuth(auth))
    }

    fn observe(&mut self, signed_root: Vec<u8>) -> Command {
        self.command(&Principal::Operator, Request::ObserveRoot(signed_root))
    }

    /// Adds a test: a fresh vault (with trust unless `untrusted`), the setup commands, then `command`'s bytes.
    fn test(&mut self, comment: &str, flag: &str, untrusted: bool, setup: &[&Command], command: &[u8]) {
        self.seeded_test(comment, flag, untrusted, &[], setup, command);
    }

    /// As `test`, on a store that holds `store` (key, value) before the setup.
    fn seeded_test(
        &mut self,
        comment: &str,
        flag: &str,
        untrusted: bool,
        store: &[(Vec<u8>, Vec<u8>)],
        setup: &[&Command],
        command: &[u8],
    ) {
        let setup: Vec<Vec<u8>> = setup.iter().map(|command| command.to_bytes().to_vec()).collect();
        let key_file = self.keys.to_bytes().to_vec();
        let trust = (!untrusted).then_some(&self.trust);
        let (responses, outcome) = run(&key_file, trust, store, &setup, command).expect("the setup is accepted");
        let mut test = json!({
            "comment": comment,
            "flags": [flag],
            "keyFile": hex::encode(&key_file),
            "setupCommands": setup.iter().map(hex::encode).collect::<Vec<_>>(),
            "setupResponses": responses.iter().map(hex::encode).collect::<Vec<_>>(),
            "command": hex::encode(command),
        });
        if !store.is_empty() {
            test["storeKeys"] = json!(store.iter().map(|(key, _)| hex::encode(key)).collect::<Vec<_>>());
            test["storeValues"] = json!(store.iter().map(|(_, value)| hex::encode(value)).collect::<Vec<_>>());
        }
        if let Some(trust) = trust {
            for (name, value) in trust.fields() {
                test[name] = value;
            }
        }
        for (name, value) in outcome_fields(&outcome) {
            test[name] = value;
        }
        self.tests.push(test);
    }
}

/// A root signed by the test witness: `(namespace, timestamp, epoch, digest)`, as Plexi protobuf.
fn signed_root(signer: &SigningKey, namespace: &str, timestamp_ms: u64, epoch: u64, digest: [u8; 32]) -> Vec<u8> {
    let key_id = signer.verifying_key().to_bytes()[31];
    let suite = Ciphersuite::ProtobufEd25519;
    let unsigned = SignedRoot::new(suite, namespace, timestamp_ms, epoch, digest, [0; 64], key_id);
    let signature = signer.sign(&unsigned.signed_message()).to_bytes();
    SignedRoot::new(suite, namespace, timestamp_ms, epoch, digest, signature, key_id).to_protobuf()
}

/// `proof` with its lookup proof changed by `change` (re-encoded) or replaced by `raw`.
fn with_lookup(proof: &[u8], change: impl FnOnce(&mut pb::LookupProof), raw: Option<Vec<u8>>) -> Vec<u8> {
    let proof = IdentityProof::from_bytes(proof).expect("an identity proof");
    let lookup = raw.unwrap_or_else(|| {
        let mut decoded = pb::LookupProof::parse_from_bytes(proof.lookup_proof()).expect("akd's encoding");
        change(&mut decoded);
        decoded.write_to_bytes().expect("encode")
    });
    IdentityProof::new(proof.signed_root().to_vec(), lookup)
        .expect("short")
        .to_bytes()
}

fn with_root(proof: &[u8], signed_root: Vec<u8>) -> Vec<u8> {
    let proof = IdentityProof::from_bytes(proof).expect("an identity proof");
    IdentityProof::new(signed_root, proof.lookup_proof().to_vec())
        .expect("short")
        .to_bytes()
}

/// `session`'s auth with its payload replaced by `change(payload)`, sealed again under the session's key.
fn resealed(session: &Session, change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut payload = session.bytes("payload");
    change(&mut payload);
    let sealed = aes(
        &session.bytes("clientToVaultKey"),
        &NONCE_FIRST,
        &session.bytes("authAad"),
        &payload,
    );
    [&[0x01, 0x74][..], &session.inputs.challenge, &sealed].concat()
}

/// The group's tests.
#[allow(clippy::too_many_lines)] // the table of commands, one per reason
pub(super) fn tests() -> Vec<Value> {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7661_756c_745f_6573);
    let backup = backup_protocol::VaultKeys::generate(&mut rng);
    let ipls_secret = draw32(&mut rng);
    let keys = FleetKeys::from_parts(backup, &ipls_secret);
    let alice: &[u8] = b"alice@vault";
    let (alice_seed, bob_seed) = (draw32(&mut rng), draw32(&mut rng));
    let public = |seed: [u8; 32]| SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    let bob: &[u8] = b"bob@vault";
    // Epoch 1 holds alice's key, epoch 2 bob's as well.
    let (vrf, epochs) = super::kt_directory(&[
        (EPOCH_1_MS, vec![(alice.to_vec(), public(alice_seed))]),
        (EPOCH_2_MS, vec![(bob.to_vec(), public(bob_seed))]),
    ]);
    let witness = SigningKey::from_bytes(&WITNESS_SEED);
    let mut builder = Builder {
        keys,
        ipls_secret,
        trust: Trust {
            witness_public: witness.verifying_key().to_bytes(),
            not_before_ms: NOT_BEFORE_MS,
            namespace: NAMESPACE.into(),
            max_age_ms: MAX_AGE_MS,
            vrf_public_key: vrf,
        },
        entropy: ChaCha20Rng::seed_from_u64(1),
        clients: ChaCha20Rng::seed_from_u64(2),
        clock: START_MS,
        tests: Vec::new(),
    };
    let alice_proof = epochs[0].proof(alice);
    let bob_proof = epochs[1].proof(bob);
    let root = |epoch: usize| {
        IdentityProof::from_bytes(&epochs[epoch].proof(alice))
            .expect("a proof")
            .signed_root()
            .to_vec()
    };
    let (root_1, root_2) = (root(0), root(1));

    // No key-transparency trust.
    let session = builder.session(alice, alice_seed, true, alice_proof.clone());
    let hello = session.hello.to_bytes();
    builder.test(
        "IPLS hello to a vault without key-transparency trust",
        "KeyTransparencyNotConfigured",
        true,
        &[],
        &hello,
    );
    let observe = builder.observe(root_2.clone()).to_bytes();
    builder.test(
        "ObserveRoot at a vault without key-transparency trust",
        "KeyTransparencyNotConfigured",
        true,
        &[],
        &observe,
    );

    // Commands that do not decode (apply_bytes).
    builder.test("an empty command", "Command", false, &[], &[]);
    // The operator's principal is one byte (SPEC §3), so the kind follows at 2 + 8 + 32 + 1.
    let mut unknown_kind = observe.clone();
    unknown_kind[43] = 0x7f;
    builder.test(
        "an ObserveRoot command whose kind byte is 0x7f",
        "Command",
        false,
        &[],
        &unknown_kind,
    );

    // ObserveRoot: the witness checks and the head rule.
    let observe_2 = builder.observe(root_2.clone());
    builder.test(
        "ObserveRoot of epoch 2",
        "RootObserved",
        false,
        &[],
        &observe_2.to_bytes(),
    );
    let epoch_2_digest = *SignedRoot::from_protobuf(&root_2).expect("a root").digest();
    // Signed roots that do not decode: the first of witness_signature's refused encodings for each reason.
    let good_root = SignedRoot::from_protobuf(&root_2).expect("a root");
    let mut reasons = Vec::new();
    for (comment, reason, bytes) in crate::witness_signature::refused_encodings(&good_root) {
        if !reasons.contains(&reason) {
            reasons.push(reason);
            let command = builder.observe(bytes).to_bytes();
            builder.test(
                &format!("ObserveRoot: a signed root: {comment}"),
                "Root",
                false,
                &[],
                &command,
            );
        }
    }
    let roots: [(&str, &str, Vec<u8>); 6] = [
        (
            "a root signed for another namespace",
            "Witness",
            signed_root(&witness, "other.kt.example", EPOCH_2_MS, 2, epoch_2_digest),
        ),
        (
            "a root signed by an untrusted key",
            "Witness",
            signed_root(
                &SigningKey::from_bytes(&[0x77; 32]),
                NAMESPACE,
                EPOCH_2_MS,
                2,
                epoch_2_digest,
            ),
        ),
        (
            "a root signed one millisecond before the witness key's not-before time",
            "Witness",
            signed_root(&witness, NAMESPACE, NOT_BEFORE_MS - 1, 2, epoch_2_digest),
        ),
        (
            "a root signed more than 60 s after the vault's clock",
            "Witness",
            signed_root(&witness, NAMESPACE, START_MS + 3_600_000, 2, epoch_2_digest),
        ),
        (
            "a root older than maxAgeMs at the vault's clock",
            "Witness",
            signed_root(&witness, NAMESPACE, START_MS - MAX_AGE_MS - 1, 2, epoch_2_digest),
        ),
        ("a root whose signature's last byte is altered", "Witness", {
            let mut altered = root_2.clone();
            let last = altered.len() - 3;
            altered[last] ^= 0x01;
            altered
        }),
    ];
    for (comment, flag, root) in roots {
        let command = builder.observe(root).to_bytes();
        builder.test(&format!("ObserveRoot: {comment}"), flag, false, &[], &command);
    }
    let observe_1 = builder.observe(root_1.clone()).to_bytes();
    builder.test(
        "ObserveRoot of epoch 1 after epoch 2",
        "StaleRoot",
        false,
        &[&observe_2],
        &observe_1,
    );
    let mut forked = epoch_2_digest;
    forked[0] ^= 0x01;
    let fork = builder
        .observe(signed_root(&witness, NAMESPACE, EPOCH_2_MS, 2, forked))
        .to_bytes();
    builder.test(
        "ObserveRoot of epoch 2 with another digest after epoch 2",
        "ForkedRoot",
        false,
        &[&observe_2],
        &fork,
    );

    // IplsHello.
    let session = builder.session(alice, alice_seed, true, alice_proof.clone());
    builder.test(
        "IPLS hello (upload)",
        "IplsChallenge",
        false,
        &[],
        &session.hello.to_bytes(),
    );
    // The hello message ends the command: its offset is the command's length less the message's.
    let at = session.hello.to_bytes().len() - session.bytes("hello").len();
    let mut other_vault = session.hello.to_bytes();
    other_vault[at + 3] ^= 0x01;
    builder.test(
        "IPLS hello addressed to another vault key",
        "WrongVaultKey",
        false,
        &[],
        &other_vault,
    );
    let mut small_order = session.hello.to_bytes();
    small_order[at + 35..at + 67].fill(0);
    builder.test(
        "IPLS hello whose key share is of small order (zero)",
        "WeakKeyShare",
        false,
        &[],
        &small_order,
    );

    // IplsAuth, each after its hello.
    let auth_test = |builder: &mut Builder, comment: &str, flag: &str, session: &Session, auth: Vec<u8>| {
        let command = builder.auth(session, &auth).to_bytes();
        builder.test(comment, flag, false, &[&session.hello], &command);
    };
    let session = builder.session(alice, alice_seed, true, alice_proof.clone());
    auth_test(
        &mut builder,
        "IPLS auth (upload)",
        "IplsReply",
        &session,
        session.bytes("auth"),
    );
    let mut altered = session.bytes("auth");
    altered[40] ^= 0x01;
    auth_test(
        &mut builder,
        "IPLS auth with its ciphertext altered",
        "Rejected",
        &session,
        altered,
    );
    let other = SigningKey::from_bytes(&[0x42; 32]);
    let bad_signature = resealed(&session, |payload| {
        let signature = other
            .sign(&[AUTH_CONTEXT, &session.bytes("transcript")].concat())
            .to_bytes();
        payload[32..96].copy_from_slice(&signature);
    });
    auth_test(
        &mut builder,
        "IPLS auth signed by another key than the presented account key",
        "BadSignature",
        &session,
        bad_signature,
    );
    let weak_key = resealed(&session, |payload| {
        payload[..32].fill(0);
        payload[0] = 0x01;
    });
    auth_test(
        &mut builder,
        "IPLS auth presenting the identity point as account key",
        "InvalidAccountKey",
        &session,
        weak_key,
    );
    // Identity proofs the vault refuses: a root that does not decode, lookups its pre-checks refuse, another key.
    let identities: [(&str, &str, Vec<u8>); 7] = [
        (
            "whose signed root has a trailing byte",
            "Root",
            with_root(&alice_proof, [&root_1[..], &[0x00]].concat()),
        ),
        (
            "whose lookup proof is not protobuf",
            "Lookup",
            with_lookup(&alice_proof, |_| {}, Some(vec![0xff])),
        ),
        (
            "whose lookup proof has an unknown field appended",
            "Lookup",
            with_lookup(
                &alice_proof,
                |_| {},
                Some(
                    [
                        IdentityProof::from_bytes(&alice_proof).expect("a proof").lookup_proof(),
                        &[0x58, 0x00],
                    ]
                    .concat(),
                ),
            ),
        ),
        (
            "whose lookup proof is for version 0",
            "Lookup",
            with_lookup(&alice_proof, |proof| proof.set_version(0), None),
        ),
        (
            "whose lookup proof is for version 2^64 - 1",
            "Lookup",
            with_lookup(&alice_proof, |proof| proof.set_version(u64::MAX), None),
        ),
        (
            "whose lookup proof is for version 2 at the root of epoch 1",
            "Lookup",
            with_lookup(&alice_proof, |proof| proof.set_version(2), None),
        ),
        (
            "whose lookup proof says the value was published at epoch 2, after the root of epoch 1",
            "Lookup",
            with_lookup(&alice_proof, |proof| proof.set_epoch(2), None),
        ),
    ];
    for (comment, flag, proof) in identities {
        let session = builder.session(alice, alice_seed, true, proof);
        auth_test(
            &mut builder,
            &format!("IPLS auth with an identity proof {comment}"),
            flag,
            &session,
            session.bytes("auth"),
        );
    }
    let mismatch = builder.session(alice, bob_seed, true, alice_proof.clone());
    auth_test(
        &mut builder,
        "IPLS auth signed with bob's key and alice's identity proof (the directory holds another key)",
        "KeyMismatch",
        &mismatch,
        mismatch.bytes("auth"),
    );
    // Stored contact keys.
    let upload = builder.session(alice, alice_seed, true, alice_proof.clone());
    let upload_auth = builder.auth(&upload, &upload.bytes("auth"));
    let again = builder.session(alice, alice_seed, true, alice_proof.clone());
    let again_auth = builder.auth(&again, &again.bytes("auth")).to_bytes();
    builder.test(
        "a second upload after alice's contact key is stored",
        "AlreadyEscrowed",
        false,
        &[&upload.hello, &upload_auth, &again.hello],
        &again_auth,
    );
    let retrieve = builder.session(alice, alice_seed, false, alice_proof.clone());
    let retrieve_auth = builder.auth(&retrieve, &retrieve.bytes("auth")).to_bytes();
    builder.test(
        "a retrieval after alice's upload: CK released",
        "IplsReply",
        false,
        &[&upload.hello, &upload_auth, &retrieve.hello],
        &retrieve_auth,
    );
    let nothing = builder.session(bob, bob_seed, false, bob_proof.clone());
    let nothing_auth = builder.auth(&nothing, &nothing.bytes("auth")).to_bytes();
    builder.test(
        "a retrieval by bob, who never uploaded",
        "NotEscrowed",
        false,
        &[&nothing.hello],
        &nothing_auth,
    );
    let stale = builder.session(alice, alice_seed, false, alice_proof);
    let stale_auth = builder.auth(&stale, &stale.bytes("auth")).to_bytes();
    builder.test(
        "a retrieval whose identity is at epoch 1 after the vault observed epoch 2",
        "StaleRoot",
        false,
        &[&observe_2, &stale.hello],
        &stale_auth,
    );
    // Stored values that do not decode (SPEC §2), seeded into the store: a replica restored from a damaged snapshot.
    let head = |epoch: u64, digest: &[u8; 32]| [&[0x01, 0x67][..], &epoch.to_be_bytes(), digest].concat();
    let observe_1 = builder.observe(root_1.clone()).to_bytes();
    builder.seeded_test(
        "ObserveRoot of epoch 1 on a store whose kt-head holds epoch 2 (seeded, decodes)",
        "StaleRoot",
        false,
        &[(b"kt-head".to_vec(), head(2, &epoch_2_digest))],
        &[],
        &observe_1,
    );
    let short_head = head(2, &epoch_2_digest)[..41].to_vec();
    builder.seeded_test(
        "ObserveRoot on a store whose kt-head is one byte short",
        "Corrupt",
        false,
        &[(b"kt-head".to_vec(), short_head)],
        &[],
        &observe_1,
    );
    let upload = builder.session(alice, alice_seed, true, epochs[0].proof(alice));
    let upload_auth = builder.auth(&upload, &upload.bytes("auth")).to_bytes();
    let ck_key = [b"ipls/".as_slice(), alice].concat();
    builder.seeded_test(
        "an upload for alice on a store whose escrowed contact key for alice has a wrong type code",
        "Corrupt",
        false,
        &[(ck_key, [&[0x01, 0x66][..], &[0x5a; 32]].concat())],
        &[&upload.hello],
        &upload_auth,
    );
    // A pending registration of bob's stored under alice's key (a store changed outside the vault): alice's upload
    // meets it, and backup-protocol's same-user check refuses (SPEC 12.4, UserMismatch).
    let client = ClientConfig::insecure_fast_for_testing(builder.keys.backup_pins());
    let user = |id: &[u8]| UserId::new(id.to_vec()).expect("a user id");
    let (registration, request) =
        ClientRegistration::start(&mut builder.clients, &client, user(alice), PASSWORD).expect("start");
    let (_, response) =
        PendingRegistration::start(builder.keys.backup(), &mut builder.clients, &request).expect("alice's start");
    let key = BackupKey::generate(&mut builder.clients);
    let (_, upload) = registration
        .finish(&mut builder.clients, &response, &key)
        .expect("alice's upload");
    let (_, bobs) = ClientRegistration::start(&mut builder.clients, &client, user(bob), PASSWORD).expect("start");
    let (bobs, _) =
        PendingRegistration::start(builder.keys.backup(), &mut builder.clients, &bobs).expect("bob's start");
    let stored = [
        &[0x01, 0x62][..],
        &START_MS.to_be_bytes(),
        &u16::try_from(bobs.to_bytes().len()).expect("short").to_be_bytes(),
        &bobs.to_bytes(),
    ]
    .concat();
    let finish = builder
        .command(
            &Principal::account(alice).expect("an account id"),
            Request::RegistrationFinish(upload),
        )
        .to_bytes();
    builder.seeded_test(
        "alice's registration upload on a store whose pending/alice@vault holds bob's pending registration",
        "UserMismatch",
        true,
        &[([b"pending/".as_slice(), alice].concat(), stored)],
        &[],
        &finish,
    );
    builder.tests
}

fn hex_list(test: &Map<String, Value>, field: &str) -> Result<Vec<Vec<u8>>, String> {
    test.get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| fail(test, &format!("missing {field}")))?
        .iter()
        .map(|item| {
            item.as_str()
                .and_then(|text| hex::decode(text).ok())
                .ok_or_else(|| fail(test, field))
        })
        .collect()
}

/// Checks a `VaultEscrow` test by running vault-core.
pub(super) fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    let trust = Trust::from_test(test)?;
    let store: Vec<(Vec<u8>, Vec<u8>)> = match test.get("storeKeys") {
        Some(_) => hex_list(test, "storeKeys")?
            .into_iter()
            .zip(hex_list(test, "storeValues")?)
            .collect(),
        None => Vec::new(),
    };
    if store.len() != test.get("storeValues").and_then(Value::as_array).map_or(0, Vec::len) {
        return Err(fail(test, "storeKeys and storeValues differ in length"));
    }
    let (responses, outcome) = run(
        &json::bytes(test, "keyFile")?,
        trust.as_ref(),
        &store,
        &hex_list(test, "setupCommands")?,
        &json::bytes(test, "command")?,
    )
    .map_err(|error| fail(test, &error))?;
    if responses != hex_list(test, "setupResponses")? {
        return Err(fail(test, "setupResponses"));
    }
    let expected = outcome_fields(&outcome);
    let differing: Vec<&str> = REFUSAL_FIELDS
        .iter()
        .chain(&["result"])
        .copied()
        .filter(|field| test.get(*field) != expected.get(*field))
        .collect();
    if differing.is_empty() {
        Ok(())
    } else {
        Err(fail(
            test,
            &format!("vault-core gives {expected:?}; differing: {differing:?}"),
        ))
    }
}
