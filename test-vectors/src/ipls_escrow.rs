//! IPLS escrow-session vectors (ipls SPEC sections 6-9): both sides' X25519 shares, the two shared secrets, the
//! HKDF session keys, the transcript hashes, the key confirmation, the account's signature, the auth payload and the
//! three encrypted messages; and sessions that must be refused, with the side that refuses and why.
//!
//! The intermediates are computed here by hand from the SPEC (curve25519-dalek, hkdf, sha2, aes-gcm, ed25519-dalek)
//! and the messages by the ipls crate; the consumer checks that both agree.
//!
//! Each session's identity proof is real: a Plexi `SignedRoot` (protobuf) signed by a seeded witness key, and an
//! akd 0.13 lookup proof (WhatsAppV1Configuration, HardCodedAkdVRF, in memory) of label = account id, value = the
//! account's Ed25519 public key; each test carries what the vault checks it against (vault-core SPEC §4), and the
//! `EscrowIdentityReject` sessions are those whose identity the vault refuses (vault-core `IdentityError`).

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use akd::append_only_zks::AzksParallelismConfig;
use akd::directory::Directory;
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{AkdLabel, AkdValue, WhatsAppV1Configuration};
use curve25519_dalek::MontgomeryPoint;
use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use ipls::{
    AUTH_AAD, AUTH_CONTEXT, AccountId, CONFIRM_AAD, ContactKey, Error, EscrowAuth, EscrowChallenge, EscrowClient,
    EscrowHello, EscrowOutcome, EscrowReply, IdentityProof, IplsVaultKey, REPLY_AAD, SESSION_KEYS_INFO,
    TRANSCRIPT_LABEL,
};
use kt_verify::{Ciphersuite, SignedRoot, WhatsAppDirectoryVerifier, WitnessKey, WitnessVerifier};
use protobuf::Message as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::json::{self, fail};
use crate::opaque::ReplayRng;

mod decode;
mod vault;

const NONCE_FIRST: [u8; 12] = [0; 12];
const NONCE_SECOND: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// What a session is made from.
#[derive(Clone)]
struct Inputs {
    vault_secret: [u8; 32],
    client_secret: [u8; 32],
    challenge: [u8; 32],
    vault_ephemeral: [u8; 32],
    account: Vec<u8>,
    account_seed: [u8; 32],
    contact_key: [u8; 32],
    upload: bool,
    identity_proof: Vec<u8>,
}

impl Inputs {
    fn from_test(test: &Map<String, Value>) -> Result<Self, String> {
        Ok(Self {
            vault_secret: json::array(test, "vaultSecret")?,
            client_secret: json::array(test, "clientSecret")?,
            challenge: json::array(test, "challenge")?,
            vault_ephemeral: json::array(test, "vaultEphemeral")?,
            account: json::bytes(test, "accountId")?,
            account_seed: json::array(test, "accountSeed")?,
            contact_key: json::array(test, "contactKey")?,
            upload: match json::text(test, "purpose")? {
                "upload" => true,
                "retrieve" => false,
                other => return Err(fail(test, &format!("unknown purpose {other}"))),
            },
            identity_proof: json::bytes(test, "identityProof")?,
        })
    }
}

fn aes(key: &[u8], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(nonce), Payload { msg: plaintext, aad })
        .expect("short messages")
}

/// Every value of a session, computed by hand from the SPEC.
fn by_hand(inputs: &Inputs) -> Map<String, Value> {
    let vault_public = MontgomeryPoint::mul_base_clamped(inputs.vault_secret).to_bytes();
    let client_share = MontgomeryPoint::mul_base_clamped(inputs.client_secret).to_bytes();
    let hello = [
        &[0x01, 0x72, if inputs.upload { 0x01 } else { 0x02 }][..],
        &vault_public,
        &client_share,
        &[inputs.account.len() as u8],
        &inputs.account,
    ]
    .concat();
    let vault_share = MontgomeryPoint::mul_base_clamped(inputs.vault_ephemeral).to_bytes();
    let static_shared = MontgomeryPoint(vault_public)
        .mul_clamped(inputs.client_secret)
        .to_bytes();
    let ephemeral_shared = MontgomeryPoint(vault_share)
        .mul_clamped(inputs.client_secret)
        .to_bytes();
    let challenge_body = [&[0x01, 0x73][..], &inputs.challenge, &vault_share].concat();
    let info = [SESSION_KEYS_INFO, &hello, &challenge_body].concat();
    let mut keys = [0u8; 64];
    Hkdf::<Sha256>::new(None, &[static_shared, ephemeral_shared].concat())
        .expand(&info, &mut keys)
        .expect("64 bytes");
    let (to_vault, to_device) = keys.split_at(32);
    let th: [u8; 32] = Sha256::new()
        .chain_update(TRANSCRIPT_LABEL)
        .chain_update(&hello)
        .chain_update(&challenge_body)
        .finalize()
        .into();
    let confirm_aad = [CONFIRM_AAD, &th].concat();
    let confirmation = aes(to_device, &NONCE_FIRST, &confirm_aad, &[]);
    let challenge_message = [challenge_body.as_slice(), &confirmation].concat();
    let account_key = SigningKey::from_bytes(&inputs.account_seed);
    let signed_message = [AUTH_CONTEXT, &th].concat();
    let signature = account_key.sign(&signed_message).to_bytes();
    let payload = [
        account_key.verifying_key().as_bytes().as_slice(),
        &signature,
        &inputs.identity_proof[2..],
        if inputs.upload { &inputs.contact_key } else { &[] },
    ]
    .concat();
    let auth_aad = [AUTH_AAD, &th].concat();
    let auth = [
        &[0x01, 0x74][..],
        &inputs.challenge,
        &aes(to_vault, &NONCE_FIRST, &auth_aad, &payload),
    ]
    .concat();
    let th_reply: [u8; 32] = Sha256::new()
        .chain_update(TRANSCRIPT_LABEL)
        .chain_update(th)
        .chain_update(&auth)
        .finalize()
        .into();
    let reply_aad = [REPLY_AAD, &th_reply].concat();
    let reply_plaintext: &[u8] = if inputs.upload { &[] } else { &inputs.contact_key };
    let reply = [
        &[0x01, 0x75][..],
        &aes(to_device, &NONCE_SECOND, &reply_aad, reply_plaintext),
    ]
    .concat();
    let fields = [
        ("vaultPublic", vault_public.to_vec()),
        ("clientShare", client_share.to_vec()),
        ("accountPublic", account_key.verifying_key().to_bytes().to_vec()),
        ("vaultShare", vault_share.to_vec()),
        ("hello", hello),
        ("staticShared", static_shared.to_vec()),
        ("ephemeralShared", ephemeral_shared.to_vec()),
        ("sessionKeysInfo", info),
        ("clientToVaultKey", to_vault.to_vec()),
        ("vaultToClientKey", to_device.to_vec()),
        ("transcript", th.to_vec()),
        ("confirmAad", confirm_aad),
        ("challengeMessage", challenge_message),
        ("signedMessage", signed_message),
        ("signature", signature.to_vec()),
        ("payload", payload),
        ("authAad", auth_aad),
        ("auth", auth),
        ("replyTranscript", th_reply.to_vec()),
        ("replyAad", reply_aad),
        ("reply", reply),
    ];
    fields
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), json!(hex::encode(bytes))))
        .collect()
}

/// What the ipls crate sends in the session, each side drawing its randomness from the inputs.
struct Messages {
    hello: EscrowHello,
    challenge: EscrowChallenge,
    auth: EscrowAuth,
    reply: EscrowReply,
    outcome: EscrowOutcome,
}

/// The vault draws the challenge, then its ephemeral secret.
fn vault_rng(inputs: &Inputs) -> ReplayRng {
    ReplayRng::new(&[&inputs.challenge, &inputs.vault_ephemeral])
}

fn run_crate(inputs: &Inputs) -> Result<Messages, Error> {
    let vault = IplsVaultKey::from_bytes(&inputs.vault_secret);
    let account = AccountId::new(inputs.account.clone())?;
    let mut client_rng = ReplayRng::new(&[&inputs.client_secret]);
    let contact_key = ContactKey::from_bytes(inputs.contact_key);
    let (device, hello) = if inputs.upload {
        EscrowClient::upload(&mut client_rng, &vault.public_key(), account, &contact_key)?
    } else {
        EscrowClient::retrieve(&mut client_rng, &vault.public_key(), account)?
    };
    let (pending, challenge) = vault.challenge(&mut vault_rng(inputs), &hello)?;
    let proof = IdentityProof::from_bytes(&inputs.identity_proof)?;
    let (device, auth) = device.authenticate(&challenge, &SigningKey::from_bytes(&inputs.account_seed), &proof)?;
    let opened = vault.open(&pending, &auth)?;
    let reply = if inputs.upload {
        opened.reply_stored()
    } else {
        opened.reply_released(&contact_key)
    };
    let outcome = device.finish(&reply)?;
    Ok(Messages {
        hello,
        challenge,
        auth,
        reply,
        outcome,
    })
}

/// The witness namespace, the witness's seed, the freshness policy and the clock of the identity proofs.
const NAMESPACE: &str = "ipls.kt.example";
const WITNESS_SEED: [u8; 32] = *b"ipls_escrow vectors: witness key";
const MAX_AGE_MS: u64 = 86_400_000;
/// 2026-01-01T00:00:00Z: when the witness signs epoch 1; epoch 2 an hour later.
const EPOCH_1_MS: u64 = 1_767_225_600_000;
const EPOCH_2_MS: u64 = EPOCH_1_MS + 3_600_000;
/// The vault's clock: ten minutes after epoch 2 was signed.
const NOW_MS: u64 = EPOCH_2_MS + 600_000;

fn witness_key() -> WitnessKey {
    WitnessKey::new(SigningKey::from_bytes(&WITNESS_SEED).verifying_key().to_bytes(), 0).expect("a strong key")
}

/// What the vault checks an identity proof against: its clock and the newest root it has accepted.
#[derive(Clone, Copy)]
struct Trust {
    now_ms: u64,
    newest: Option<(u64, [u8; 32])>,
}

/// The identity proofs of one witnessed epoch: `(account, proof)`.
struct KtEpoch {
    epoch: u64,
    digest: [u8; 32],
    proofs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl KtEpoch {
    fn proof(&self, account: &[u8]) -> Vec<u8> {
        self.proofs
            .iter()
            .find(|(label, _)| label == account)
            .map(|(_, proof)| proof.clone())
            .expect("the account is in the directory")
    }
}

/// One epoch's publish: when the witness signs it, and `(account id, Ed25519 public key)` updates.
type Publish = (u64, Vec<(Vec<u8>, [u8; 32])>);

/// An akd directory (label = account id, value = Ed25519 public key) whose roots a witness signs: each publish
/// `(at_ms, [(account, key)])` is one epoch, and every account so far is looked up right after it.
fn kt_directory(publishes: &[Publish]) -> (Vec<u8>, Vec<KtEpoch>) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        let akd = Directory::<WhatsAppV1Configuration, _, _>::new(
            StorageManager::new_no_cache(AsyncInMemoryDatabase::new()),
            HardCodedAkdVRF {},
            AzksParallelismConfig::disabled(),
        )
        .await
        .expect("directory");
        let vrf_public_key = akd.get_public_key().await.expect("vrf key").as_bytes().to_vec();
        let witness = SigningKey::from_bytes(&WITNESS_SEED);
        let key_id = witness_key().key_id();
        let mut accounts: Vec<Vec<u8>> = Vec::new();
        let mut epochs = Vec::new();
        for (at_ms, updates) in publishes {
            let updates: Vec<_> = updates
                .iter()
                .map(|(account, key)| (AkdLabel(account.clone()), AkdValue(key.to_vec())))
                .collect();
            for (label, _) in &updates {
                if !accounts.contains(&label.0) {
                    accounts.push(label.0.clone());
                }
            }
            let epoch_hash = akd.publish(updates).await.expect("publish");
            let (epoch, digest) = (epoch_hash.epoch(), epoch_hash.hash());
            let suite = Ciphersuite::ProtobufEd25519;
            let unsigned = SignedRoot::new(suite, NAMESPACE, *at_ms, epoch, digest, [0; 64], key_id);
            let signature = witness.sign(&unsigned.signed_message()).to_bytes();
            let signed_root = SignedRoot::new(suite, NAMESPACE, *at_ms, epoch, digest, signature, key_id).to_protobuf();
            let mut proofs = Vec::new();
            for account in &accounts {
                let (lookup, at) = akd.lookup(AkdLabel(account.clone())).await.expect("lookup");
                assert_eq!((at.epoch(), at.hash()), (epoch, digest));
                let lookup = akd::proto::specs::types::LookupProof::from(&lookup)
                    .write_to_bytes()
                    .expect("encode");
                let proof = IdentityProof::new(signed_root.clone(), lookup)
                    .expect("short")
                    .to_bytes();
                proofs.push((account.clone(), proof));
            }
            epochs.push(KtEpoch { epoch, digest, proofs });
        }
        (vrf_public_key, epochs)
    })
}

/// The identity fields of a test: the proof's parts and root, and what the vault checks them against.
fn identity_fields(identity_proof: &[u8], vrf_public_key: &[u8], trust: Trust) -> Vec<(&'static str, Value)> {
    let proof = IdentityProof::from_bytes(identity_proof).expect("an identity proof");
    let root = SignedRoot::from_protobuf(proof.signed_root()).expect("a signed root");
    let key = witness_key();
    let mut fields = vec![
        ("signedRoot", json!(hex::encode(proof.signed_root()))),
        ("lookupProof", json!(hex::encode(proof.lookup_proof()))),
        ("rootEpoch", json::decimal(root.epoch())),
        ("rootDigest", json!(hex::encode(root.digest()))),
        ("rootTimestampMs", json::decimal(root.timestamp_ms())),
        ("witnessPublicKey", json!(hex::encode(key.public_key()))),
        ("witnessKeyId", json!(key.key_id())),
        ("namespace", json!(NAMESPACE)),
        ("maxAgeMs", json::decimal(MAX_AGE_MS)),
        ("vrfPublicKey", json!(hex::encode(vrf_public_key))),
        ("nowMs", json::decimal(trust.now_ms)),
    ];
    if let Some((epoch, digest)) = trust.newest {
        fields.push(("newestEpoch", json::decimal(epoch)));
        fields.push(("newestDigest", json!(hex::encode(digest))));
    }
    fields
}

/// Why the vault refuses an identity: vault-core's `IdentityError` name (`Witness(Stale)`, `Lookup(Rejected)`),
/// and for `StaleRoot` and `ForkedRoot` the epochs it carries.
#[derive(Debug, PartialEq, Eq)]
struct IdentityRefusal {
    error: String,
    epoch: Option<u64>,
    newest: Option<u64>,
}

impl IdentityRefusal {
    fn named(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            epoch: None,
            newest: None,
        }
    }
}

fn variant_name(debug: &str) -> &str {
    debug.split(['(', ' ', '{']).next().unwrap_or_default()
}

/// The vault's identity check (vault-core SPEC §4, IplsAuth step 3, as vault-core's `KeyTransparency::verify` and
/// head rule do it), with the trust the test names: the witness-signed root, the lookup of the account at it, the
/// key it holds, then the root against the newest accepted one.
fn verify_identity(
    test: &Map<String, Value>,
    proof: &IdentityProof,
    account: &[u8],
    key: &[u8; 32],
) -> Result<(), IdentityRefusal> {
    let context = |what: String| IdentityRefusal::named(format!("bad vector: {what}"));
    let witness_public: [u8; 32] = json::array(test, "witnessPublicKey").map_err(context)?;
    let key_id = test
        .get("witnessKeyId")
        .and_then(Value::as_u64)
        .ok_or_else(|| context("witnessKeyId".into()))?;
    let witness_key = WitnessKey::new(witness_public, 0).map_err(|error| context(format!("{error:?}")))?;
    if u64::from(witness_key.key_id()) != key_id {
        return Err(context("witnessKeyId is not the key's id".into()));
    }
    let max_age = json::decimal_u64(test, "maxAgeMs").map_err(context)?;
    let now = json::decimal_u64(test, "nowMs").map_err(context)?;
    let namespace = json::text(test, "namespace").map_err(context)?;
    let witness =
        WitnessVerifier::new(namespace, [witness_key], max_age).map_err(|error| context(format!("{error:?}")))?;
    let vrf_public_key = json::bytes(test, "vrfPublicKey").map_err(context)?;
    let directory = WhatsAppDirectoryVerifier::new(&vrf_public_key).map_err(|error| context(format!("{error:?}")))?;
    let newest = match test.get("newestEpoch") {
        None => None,
        Some(_) => Some((
            json::decimal_u64(test, "newestEpoch").map_err(context)?,
            json::array::<32>(test, "newestDigest").map_err(context)?,
        )),
    };

    let signed = SignedRoot::from_protobuf(proof.signed_root())
        .map_err(|error| IdentityRefusal::named(format!("Root({})", variant_name(&format!("{error:?}")))))?;
    let root = witness
        .verify(&signed, now)
        .map_err(|error| IdentityRefusal::named(format!("Witness({})", variant_name(&format!("{error:?}")))))?;
    let current = directory
        .verify_lookup(&root, account, proof.lookup_proof())
        .map_err(|error| IdentityRefusal::named(format!("Lookup({})", variant_name(&format!("{error:?}")))))?;
    if current.value() != key.as_slice() {
        return Err(IdentityRefusal::named("KeyMismatch"));
    }
    match newest {
        Some((epoch, _)) if root.epoch() < epoch => Err(IdentityRefusal {
            error: "StaleRoot".into(),
            epoch: Some(root.epoch()),
            newest: Some(epoch),
        }),
        Some((epoch, digest)) if root.epoch() == epoch && *root.digest() != digest => Err(IdentityRefusal {
            error: "ForkedRoot".into(),
            epoch: Some(epoch),
            newest: None,
        }),
        _ => Ok(()),
    }
}

/// The identity check of a session's inputs.
fn verify_inputs_identity(test: &Map<String, Value>, inputs: &Inputs) -> Result<(), IdentityRefusal> {
    let proof = IdentityProof::from_bytes(&inputs.identity_proof)
        .map_err(|error| IdentityRefusal::named(format!("bad vector: {error}")))?;
    let key = SigningKey::from_bytes(&inputs.account_seed).verifying_key().to_bytes();
    verify_identity(test, &proof, &inputs.account, &key)
}

/// The identity fields a test carries agree with its identity proof.
fn check_identity_fields(test: &Map<String, Value>, inputs: &Inputs) -> Result<(), String> {
    let proof = IdentityProof::from_bytes(&inputs.identity_proof).map_err(|error| fail(test, &error.to_string()))?;
    let root = SignedRoot::from_protobuf(proof.signed_root()).map_err(|error| fail(test, &error.to_string()))?;
    json::all_hold(
        test,
        &[
            (proof.signed_root() == json::bytes(test, "signedRoot")?, "signedRoot"),
            (proof.lookup_proof() == json::bytes(test, "lookupProof")?, "lookupProof"),
            (root.epoch() == json::decimal_u64(test, "rootEpoch")?, "rootEpoch"),
            (
                root.digest().as_slice() == json::bytes(test, "rootDigest")?,
                "rootDigest",
            ),
            (
                root.timestamp_ms() == json::decimal_u64(test, "rootTimestampMs")?,
                "rootTimestampMs",
            ),
        ],
    )
}

/// The test of a session: its inputs, every value by hand, and the identity proof with the vault's trust; the
/// crate must agree, and the identity check must end as `expected` says.
fn session_test(
    comment: &str,
    flags: &[&str],
    inputs: &Inputs,
    vrf_public_key: &[u8],
    trust: Trust,
    expected: &Result<(), IdentityRefusal>,
) -> Value {
    let mut test = json!({
        "comment": comment, "flags": flags, "result": "valid",
        "vaultSecret": hex::encode(inputs.vault_secret), "clientSecret": hex::encode(inputs.client_secret),
        "challenge": hex::encode(inputs.challenge), "vaultEphemeral": hex::encode(inputs.vault_ephemeral),
        "accountId": hex::encode(&inputs.account),
        "accountSeed": hex::encode(inputs.account_seed), "contactKey": hex::encode(inputs.contact_key),
        "purpose": if inputs.upload { "upload" } else { "retrieve" },
        "identityProof": hex::encode(&inputs.identity_proof),
    });
    for (name, value) in identity_fields(&inputs.identity_proof, vrf_public_key, trust) {
        test[name] = value;
    }
    for (name, value) in by_hand(inputs) {
        test[name] = value;
    }
    let messages = run_crate(inputs).expect("the session runs");
    assert_eq!(
        test["auth"],
        json!(hex::encode(messages.auth.to_bytes())),
        "SPEC and crate agree"
    );
    let outcome = verify_inputs_identity(test.as_object().expect("an object"), inputs);
    assert_eq!(&outcome, expected, "{comment}");
    if let Err(refusal) = outcome {
        test["result"] = json!("invalid");
        test["error"] = json!(refusal.error);
        if let Some(epoch) = refusal.epoch {
            test["errorEpoch"] = json::decimal(epoch);
        }
        if let Some(newest) = refusal.newest {
            test["errorNewest"] = json::decimal(newest);
        }
    }
    test
}

/// Sessions that complete (an upload, a retrieval, and a one-byte account id), and sessions whose identity the
/// vault refuses.
///
/// The directory: epoch 1 (signed at `EPOCH_1_MS`) holds the phone number's first key (the upload's) and `a`'s;
/// epoch 2 (an hour later) the phone number's new key after a re-registration (the retrieval's).
#[allow(clippy::too_many_lines)] // the table of refused identities
fn sessions() -> (Vec<Value>, Vec<Value>) {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6970_6c73_6573);
    let mut draw = || {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        bytes
    };
    let vault_secret = draw();
    let mut inputs = Vec::new();
    for (account, upload) in [
        ("15551234567@s.whatsapp.net", true),
        ("15551234567@s.whatsapp.net", false),
        ("a", false),
    ] {
        inputs.push(Inputs {
            vault_secret,
            client_secret: draw(),
            challenge: draw(),
            vault_ephemeral: draw(),
            account: account.as_bytes().to_vec(),
            account_seed: draw(),
            contact_key: draw(),
            upload,
            identity_proof: Vec::new(),
        });
    }
    let key = |inputs: &Inputs| SigningKey::from_bytes(&inputs.account_seed).verifying_key().to_bytes();
    let (vrf, epochs) = kt_directory(&[
        (
            EPOCH_1_MS,
            vec![
                (inputs[0].account.clone(), key(&inputs[0])),
                (inputs[2].account.clone(), key(&inputs[2])),
            ],
        ),
        (EPOCH_2_MS, vec![(inputs[1].account.clone(), key(&inputs[1]))]),
    ]);
    let (first, second) = (&epochs[0], &epochs[1]);
    let at = |newest: Option<&KtEpoch>| Trust {
        now_ms: NOW_MS,
        newest: newest.map(|epoch| (epoch.epoch, epoch.digest)),
    };
    let mut valid = Vec::new();
    for (session, epoch, trust, comment) in [
        (
            &inputs[0],
            first,
            at(None),
            "upload CK (identity at epoch 1; the vault has accepted no root)",
        ),
        (
            &inputs[1],
            second,
            at(Some(first)),
            "retrieve CK (identity at epoch 2, newer than the vault's newest)",
        ),
        (
            &inputs[2],
            second,
            at(Some(second)),
            "retrieve CK (identity at the vault's newest root)",
        ),
    ] {
        let session = Inputs {
            identity_proof: epoch.proof(&session.account),
            ..session.clone()
        };
        valid.push(session_test(comment, &[], &session, &vrf, trust, &Ok(())));
    }

    let retrieve = &inputs[1];
    let old_key = inputs[0].account_seed;
    let mut forked = second.digest;
    forked[0] ^= 0x01;
    let rejects = [
        (
            "the replaced account key with a proof of the account's current key",
            "KeyMismatch",
            old_key,
            second,
            at(Some(first)),
            IdentityRefusal::named("KeyMismatch"),
        ),
        (
            "the replaced account key with its old, still witness-fresh proof: the vault has accepted epoch 2",
            "StaleRoot",
            old_key,
            first,
            at(Some(second)),
            IdentityRefusal {
                error: "StaleRoot".into(),
                epoch: Some(1),
                newest: Some(2),
            },
        ),
        (
            "a root with the epoch of the vault's newest but another digest",
            "ForkedRoot",
            retrieve.account_seed,
            second,
            Trust {
                now_ms: NOW_MS,
                newest: Some((second.epoch, forked)),
            },
            IdentityRefusal {
                error: "ForkedRoot".into(),
                epoch: Some(2),
                newest: None,
            },
        ),
        (
            "a root older than the witness policy allows (maxAgeMs + 1 ms old)",
            "StaleWitnessSignature",
            retrieve.account_seed,
            second,
            Trust {
                now_ms: EPOCH_2_MS + MAX_AGE_MS + 1,
                newest: None,
            },
            IdentityRefusal::named("Witness(Stale)"),
        ),
    ];
    let mut identity_reject = Vec::new();
    for (comment, flag, account_seed, epoch, trust, refusal) in rejects {
        let session = Inputs {
            account_seed,
            identity_proof: epoch.proof(&retrieve.account),
            ..retrieve.clone()
        };
        identity_reject.push(session_test(comment, &[flag], &session, &vrf, trust, &Err(refusal)));
    }
    (valid, identity_reject)
}

/// Sessions one side must refuse, each a retrieval with one message altered.
fn invalid_tests(base: &Value) -> Vec<Value> {
    let flip = |field: &str, position: usize| {
        let mut bytes = hex::decode(base[field].as_str().unwrap_or_default()).unwrap_or_default();
        if let Some(byte) = bytes.get_mut(position) {
            *byte ^= 0x01;
        }
        json!(hex::encode(bytes))
    };
    let invalid = |comment: &str, side: &str, error: &str, field: &str, value: Value| {
        refused_session(base, comment, "Tampered", side, (field, value), error)
    };
    let mut small_order_hello = hex::decode(base["hello"].as_str().unwrap_or_default()).unwrap_or_default();
    small_order_hello[35..67].fill(0);
    let mut small_order_share = hex::decode(base["challengeMessage"].as_str().unwrap_or_default()).unwrap_or_default();
    small_order_share[34..66].fill(0);
    let mut other_vault_hello = hex::decode(base["hello"].as_str().unwrap_or_default()).unwrap_or_default();
    other_vault_hello[3] ^= 0x01;
    let mut tests = vec![
        invalid(
            "confirmation altered",
            "device",
            "VaultNotAuthenticated",
            "challengeMessage",
            flip("challengeMessage", 70),
        ),
        invalid(
            "vault share altered",
            "device",
            "VaultNotAuthenticated",
            "challengeMessage",
            flip("challengeMessage", 40),
        ),
        invalid(
            "vault share of small order (zero)",
            "device",
            "WeakKeyShare",
            "challengeMessage",
            json!(hex::encode(small_order_share)),
        ),
        invalid("auth ciphertext altered", "vault", "Rejected", "auth", flip("auth", 40)),
        invalid(
            "auth names another challenge",
            "vault",
            "WrongChallenge",
            "auth",
            flip("auth", 2),
        ),
        invalid(
            "reply altered",
            "device",
            "VaultNotAuthenticated",
            "reply",
            flip("reply", 5),
        ),
        invalid(
            "client share of small order (zero)",
            "vault",
            "WeakKeyShare",
            "hello",
            json!(hex::encode(small_order_hello)),
        ),
        invalid(
            "hello addressed to another vault key",
            "vault",
            "WrongVaultKey",
            "hello",
            json!(hex::encode(other_vault_hello)),
        ),
        bad_signature(base),
    ];
    tests.extend(payload_tests(base));
    tests
}

/// `base` with `message` replaced, refused by `side`: the error (and `invalidField`) is what the crate's side returns
/// when it runs on the test; `expected` only guards the generator against a case that does not test what it says.
fn refused_session(
    base: &Value,
    comment: &str,
    flag: &str,
    side: &str,
    (message, value): (&str, Value),
    expected: &str,
) -> Value {
    let mut test = json::with_fields(
        base,
        vec![
            ("comment", json!(comment)),
            ("flags", json!([flag])),
            ("result", json!("invalid")),
            ("refusedBy", json!(side)),
            (message, value),
        ],
    );
    let object = test.as_object().expect("object");
    let inputs = Inputs::from_test(object).expect("inputs");
    let found = refusal(object, &inputs, side).expect("well-formed").expect_err(comment);
    let (name, field) = match found.split_once('(') {
        Some((name, rest)) => (name.to_owned(), Some(rest.trim_end_matches(')').to_owned())),
        None => (found.clone(), None),
    };
    assert_eq!(name, expected, "{comment}");
    test["error"] = json!(name);
    if let Some(field) = field {
        test["invalidField"] = json!(field);
    }
    test
}

/// Refusals that need messages the crate's own sides never send: an auth payload that is short, long or carries a
/// weak account key (the vault, ipls SPEC 9 step 4), and a retrieval's reply of an empty key (the device, step 6),
/// each sealed under the session's keys. The error (and `invalidField`) is what the crate's side returns.
fn payload_tests(base: &Value) -> Vec<Value> {
    let field = |name: &str| hex::decode(base[name].as_str().unwrap_or_default()).unwrap_or_default();
    let payload = field("payload");
    let sealed_auth = |payload: &[u8]| {
        let sealed = aes(&field("clientToVaultKey"), &NONCE_FIRST, &field("authAad"), payload);
        json!(hex::encode([&[0x01, 0x74][..], &field("challenge"), &sealed].concat()))
    };
    let mut weak_key = payload.clone();
    weak_key[..32].copy_from_slice(&{
        let mut identity = [0u8; 32];
        identity[0] = 1;
        identity
    });
    let reply_aad = field("replyAad");
    let empty_reply = [
        &[0x01, 0x75][..],
        &aes(&field("vaultToClientKey"), &NONCE_SECOND, &reply_aad, &[]),
    ]
    .concat();
    let case = |comment: &str, side: &str, message: &str, value: Value, expected: &str| {
        refused_session(base, comment, "Tampered", side, (message, value), expected)
    };
    vec![
        case(
            "payload one byte short (inside the lookup proof)",
            "vault",
            "auth",
            sealed_auth(&payload[..payload.len() - 1]),
            "Truncated",
        ),
        case(
            "payload with a byte after the identity proof (a retrieval carries no contact key)",
            "vault",
            "auth",
            sealed_auth(&[payload.as_slice(), &[0]].concat()),
            "TrailingBytes",
        ),
        case(
            "account key of small order (the identity), before the signature",
            "vault",
            "auth",
            sealed_auth(&weak_key),
            "InvalidAccountKey",
        ),
        case(
            "a retrieval's reply that opens but holds no key",
            "device",
            "reply",
            json!(hex::encode(empty_reply)),
            "InvalidField",
        ),
    ]
}

/// The vector file.
pub fn generate() -> Value {
    let (valid, identity_reject) = sessions();
    let invalid = invalid_tests(&valid[1]);
    json::file(
        "IPLS-ESCROW-X25519-HKDF-SHA256-AES256GCM-ED25519",
        "ipls_escrow.schema.json",
        &json!({
            "hello": "0x01 || 0x72 || purpose (0x01 upload, 0x02 retrieve) || vaultPublic || clientShare || len8(accountId) || accountId",
            "keys": "staticShared = X25519(clientSecret, vaultPublic); ephemeralShared = X25519(clientSecret, vaultShare), vaultShare = X25519(vaultEphemeral, 9); clientToVaultKey || vaultToClientKey = HKDF-SHA256(salt absent, staticShared || ephemeralShared, sessionKeysInfo = \"ipls/v1/escrow-session-keys\" || hello || challenge body, 64); challenge body = 0x01 || 0x73 || challenge || vaultShare",
            "transcript": "SHA-256(\"ipls/v1/escrow-transcript\" || hello || challenge body)",
            "challengeMessage": "challenge body || tag of AES-256-GCM(vaultToClientKey, nonce 0^12, confirmAad = \"ipls/v1/escrow-confirm\" || transcript, empty)",
            "auth": "0x01 || 0x74 || challenge || AES-256-GCM(clientToVaultKey, nonce 0^12, authAad = \"ipls/v1/escrow-auth\" || transcript, payload); payload = accountPublic || signature || identity proof without its 2-byte header || contactKey (upload only); signature = Ed25519(accountSeed, signedMessage = \"ipls/v1/escrow-account-signature\" || transcript)",
            "reply": "0x01 || 0x75 || AES-256-GCM(vaultToClientKey, nonce 0^11 || 0x01, replyAad = \"ipls/v1/escrow-reply\" || replyTranscript, contactKey (retrieve) or empty (upload)); replyTranscript = SHA-256(\"ipls/v1/escrow-transcript\" || transcript || auth)",
            "identityProof": "0x01 || 0x76 || len16(signedRoot) || signedRoot || len16(lookupProof) || lookupProof (len16 big-endian); carried opaque by ipls, checked by the vault (vault-core SPEC §4, IplsAuth step 3)",
            "signedRoot": "Plexi protobuf SignedRoot (kt-verify SPEC, as in witness_signature): 1 SignatureMessage{1 ciphersuite (1, protobuf Ed25519), 2 namespace, 3 timestamp ms (rootTimestampMs), 4 Epoch{1 epoch (rootEpoch)}, 5 digest (rootDigest)}, 2 signature, 3 key id; signed by the witness key of seed \"ipls_escrow vectors: witness key\" (witnessPublicKey, witnessKeyId = its last byte, not before 0), namespace `namespace`",
            "lookupProof": "akd 0.13 protobuf LookupProof (as in kt_lookup): WhatsAppV1Configuration, HardCodedAkdVRF (vrfPublicKey), in memory; label = accountId bytes, value = the account's 32-byte Ed25519 public key. Epoch 1 holds the phone number's first key (the upload's accountSeed) and a's; epoch 2 the phone number's new key (the retrieval's)",
            "identity": "the vault (vault-core SPEC §4, KeyTransparency::verify then the kt-head rule), in order: the signed root decodes (Root); WitnessVerifier(namespace, [witnessPublicKey, not before 0], maxAgeMs) at nowMs (Witness(reason), kt-verify's WitnessError); WhatsAppDirectoryVerifier(vrfPublicKey).verify_lookup(root, accountId, lookupProof) (Lookup(ProofError)); its value == accountPublic (KeyMismatch); then against the vault's newest accepted root (newestEpoch, newestDigest; absent: none yet): rootEpoch < newestEpoch (StaleRoot, errorEpoch = rootEpoch, errorNewest = newestEpoch), same epoch and another digest (ForkedRoot, errorEpoch). nowMs, maxAgeMs and the epochs are u64 decimal strings",
            "identityReject": "EscrowIdentityReject sessions complete at the ipls level (the vault opens the auth) and the vault refuses the identity (no refusedBy: always the vault); error names vault-core's IdentityError (vault-core SPEC §12.2), a Witness refusal with kt-verify's WitnessError reason (Witness(Stale))",
            "vaultEscrow": "VaultEscrow tests (vault-core SPEC §4 IplsHello, IplsAuth, ObserveRoot, and a RegistrationFinish on a seeded store; §12): a fresh vault-core Vault<MemoryStore> with VaultConfig::default(), built from keyFile (SPEC §2, type 0x64; the IPLS X25519 secret is its last 32 bytes) and, where the test carries them, KeyTransparency(WitnessVerifier(namespace, [witnessPublicKey, not before witnessNotBeforeMs], maxAgeMs), DirectoryVerifier(vrfPublicKey)); without them every IPLS and ObserveRoot command is KeyTransparencyNotConfigured. storeKeys/storeValues: entries the store holds first (versions 1, 2, ... in order; a damaged store for Corrupt). Then setupCommands, each applied with apply_bytes and accepted (setupResponses its responses), then command: result valid with response (Response::to_bytes), or invalid with error the VaultError (nested variants in parentheses: Command(DecodeError), Ipls(ipls::Error), Identity(IdentityError), Identity(Root(kt-verify DecodeError)), Identity(Witness(WitnessError)), Identity(Lookup(ProofError))) and every field it carries: invalidField, found, expected (Command); expected, found, wireType, count (Root); errorKeyId (UnknownKeyId), errorTimestampMs with errorNotBeforeMs (KeyNotYetValid) or errorNowMs (FromTheFuture, Stale); errorVersion (VersionAfterEpoch), errorValueEpoch (ValueEpochAfterRoot) with errorEpoch, the root's epoch; errorEpoch and errorNewest (StaleRoot), errorEpoch (ForkedRoot); storedValue (Corrupt: what was read); Protocol(backup-protocol Error) for the RegistrationFinish. Each IplsHello's vault draws are ChaCha20 keyed with the command's entropy (challenge, then the ephemeral secret; SPEC §13); the sessions are this file's computations on those draws, their identity proofs real (the witness above, an akd directory of alice@vault at epoch 1 and bob@vault at epoch 2)",
            "decode": "EscrowDecode tests: message decoded as messageType (hello, challenge, auth, reply, identityProof: EscrowHello, EscrowChallenge, EscrowAuth, EscrowReply, IdentityProof::from_bytes); valid: accepted (and re-encoded to the same bytes), else error with found (LegacyVersion, UnknownVersion, WrongType) or invalidField (InvalidField)",
            "invalid": "refusedBy names the side that must refuse and error the ipls error: the vault refuses at challenge (WeakKeyShare, WrongVaultKey; it draws challenge then vaultEphemeral) or at open; the device at authenticate (WeakKeyShare, VaultNotAuthenticated) or at finish (reply); an auth payload short, long or with a weak account key (Truncated, TrailingBytes, InvalidAccountKey) and a retrieval's reply holding no key (InvalidField with invalidField) are sealed by hand under the session's keys",
        }),
        vec![
            json!({"type": "EscrowSession", "tests": valid}),
            json!({"type": "EscrowReject", "tests": invalid}),
            json!({"type": "EscrowIdentityReject", "tests": identity_reject}),
            json!({"type": "VaultEscrow", "tests": vault::tests()}),
            json!({"type": "EscrowDecode", "tests": decode::tests(&valid[1])}),
        ],
    )
}

/// A device that presents one account key and signs with another: built by hand, since the crate's client
/// always signs with the key it presents.
fn bad_signature(base: &Value) -> Value {
    let field = |name: &str| hex::decode(base[name].as_str().unwrap_or_default()).unwrap_or_default();
    let transcript = field("transcript");
    let signature = SigningKey::from_bytes(&[0x42; 32])
        .sign(&[AUTH_CONTEXT, &transcript].concat())
        .to_bytes();
    let mut payload = field("payload");
    payload[32..96].copy_from_slice(&signature);
    let sealed = aes(&field("clientToVaultKey"), &NONCE_FIRST, &field("authAad"), &payload);
    let auth = [&[0x01, 0x74][..], &field("challenge"), &sealed].concat();
    refused_session(
        base,
        "signature by another key than the presented account key",
        "WrongKey",
        "vault",
        ("auth", json!(hex::encode(auth))),
        "BadSignature",
    )
}

/// The variant's name; `InvalidField` with the field it names in parentheses (a test's `error` and
/// `invalidField`, see [`expected_refusal`]).
fn error_name(error: Error) -> String {
    if let Error::InvalidField(what) = error {
        return format!("InvalidField({what})");
    }
    let debug = format!("{error:?}");
    debug.split(['(', ' ']).next().unwrap_or_default().to_owned()
}

/// The refusal a test names, in [`error_name`]'s form.
fn expected_refusal(test: &Map<String, Value>) -> Result<String, String> {
    let error = json::text(test, "error")?;
    Ok(match test.get("invalidField") {
        Some(_) => format!("{error}({})", json::text(test, "invalidField")?),
        None => error.to_owned(),
    })
}

/// `identity_group`: an `EscrowIdentityReject` test, which the vault refuses (it names no `refusedBy`).
fn check_invalid(test: &Map<String, Value>, inputs: &Inputs, identity_group: bool) -> Result<(), String> {
    let expected = expected_refusal(test)?;
    let side = match (identity_group, test.contains_key("refusedBy")) {
        (true, false) => "vault",
        (false, true) => json::text(test, "refusedBy")?,
        (true, true) => {
            return Err(fail(
                test,
                "refusedBy in an EscrowIdentityReject group (always the vault)",
            ));
        }
        (false, false) => return Err(fail(test, "no refusedBy")),
    };
    match refusal(test, inputs, side)? {
        Err(found) if found == expected => Ok(()),
        Err(found) => Err(fail(test, &format!("refused with {found}, not {expected}"))),
        Ok(()) => Err(fail(test, "was accepted")),
    }
}

/// What `side` makes of the test's messages, running the crate: `Ok(Err(name))` for a refusal (in
/// [`error_name`]'s form), `Ok(Ok(()))` if it accepts them.
fn refusal(test: &Map<String, Value>, inputs: &Inputs, side: &str) -> Result<Result<(), String>, String> {
    let vault = IplsVaultKey::from_bytes(&inputs.vault_secret);
    Ok(match side {
        "vault" => (|| {
            let hello = EscrowHello::from_bytes(&json::bytes(test, "hello")?).map_err(error_name)?;
            let (pending, _) = vault.challenge(&mut vault_rng(inputs), &hello).map_err(error_name)?;
            let auth = EscrowAuth::from_bytes(&json::bytes(test, "auth")?).map_err(error_name)?;
            let opened = vault.open(&pending, &auth).map_err(error_name)?;
            // The ipls session holds: the vault checks the identity (vault-core SPEC §4).
            let account = opened.account().as_bytes();
            match verify_identity(test, opened.identity_proof(), account, opened.account_key()) {
                Ok(()) => Ok(()),
                Err(refusal) => {
                    let carried = (
                        test.get("errorEpoch")
                            .map(|_| json::decimal_u64(test, "errorEpoch"))
                            .transpose()?,
                        test.get("errorNewest")
                            .map(|_| json::decimal_u64(test, "errorNewest"))
                            .transpose()?,
                    );
                    if carried == (refusal.epoch, refusal.newest) {
                        Err(refusal.error)
                    } else {
                        Err(format!(
                            "{} with {:?} {:?}",
                            refusal.error, refusal.epoch, refusal.newest
                        ))
                    }
                }
            }
        })(),
        "device" => (|| {
            let account = AccountId::new(inputs.account.clone()).map_err(error_name)?;
            let mut rng = ReplayRng::new(&[&inputs.client_secret]);
            let (device, _) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account).map_err(error_name)?;
            let challenge = EscrowChallenge::from_bytes(&json::bytes(test, "challengeMessage")?).map_err(error_name)?;
            let proof = IdentityProof::from_bytes(&inputs.identity_proof).map_err(error_name)?;
            let signer = SigningKey::from_bytes(&inputs.account_seed);
            let (device, _) = device.authenticate(&challenge, &signer, &proof).map_err(error_name)?;
            let reply = EscrowReply::from_bytes(&json::bytes(test, "reply")?).map_err(error_name)?;
            device.finish(&reply).map(|_| ()).map_err(error_name)
        })(),
        other => return Err(fail(test, &format!("unknown side {other}"))),
    })
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    if json::text(group, "type")? == "VaultEscrow" {
        return vault::check_test(test);
    }
    if json::text(group, "type")? == "EscrowDecode" {
        return decode::check_test(test);
    }
    let inputs = Inputs::from_test(test)?;
    check_identity_fields(test, &inputs)?;
    let identity_group = json::text(group, "type")? == "EscrowIdentityReject";
    if !json::valid(test)? {
        if identity_group {
            // The session itself is intact: every value is the SPEC's.
            let hand = by_hand(&inputs);
            if let Some((name, _)) = hand.iter().find(|(name, value)| test.get(name.as_str()) != Some(value)) {
                return Err(fail(test, &format!("{name} differs from the SPEC computation")));
            }
        }
        return check_invalid(test, &inputs, identity_group);
    }
    if identity_group {
        return Err(fail(test, "a valid test in an EscrowIdentityReject group"));
    }
    if let Err(refusal) = verify_inputs_identity(test, &inputs) {
        return Err(fail(test, &format!("the vault refuses the identity: {refusal:?}")));
    }
    let hand = by_hand(&inputs);
    let mismatch = hand.iter().find(|(name, value)| test.get(name.as_str()) != Some(value));
    if let Some((name, _)) = mismatch {
        return Err(fail(test, &format!("{name} differs from the SPEC computation")));
    }
    let messages = run_crate(&inputs).map_err(|error| fail(test, &format!("the crate refused: {error}")))?;
    let expected_outcome = if inputs.upload {
        EscrowOutcome::Stored
    } else {
        EscrowOutcome::Released(ContactKey::from_bytes(inputs.contact_key))
    };
    json::all_hold(
        test,
        &[
            (messages.hello.to_bytes() == json::bytes(test, "hello")?, "hello"),
            (
                messages.challenge.to_bytes() == json::bytes(test, "challengeMessage")?,
                "challengeMessage",
            ),
            (messages.auth.to_bytes() == json::bytes(test, "auth")?, "auth"),
            (messages.reply.to_bytes() == json::bytes(test, "reply")?, "reply"),
            (messages.outcome == expected_outcome, "outcome"),
        ],
    )
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
