//! IPLS escrow-session vectors (ipls SPEC sections 6-9): both sides' X25519 shares, the two shared secrets, the
//! HKDF session keys, the transcript hashes, the key confirmation, the account's signature, the auth payload and the
//! three encrypted messages; and sessions that must be refused, with the side that refuses and why.
//!
//! The intermediates are computed here by hand from the SPEC (curve25519-dalek, hkdf, sha2, aes-gcm, ed25519-dalek)
//! and the messages by the ipls crate; the consumer checks that both agree.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use curve25519_dalek::MontgomeryPoint;
use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use ipls::{
    AUTH_AAD, AUTH_CONTEXT, AccountId, CONFIRM_AAD, ContactKey, Error, EscrowAuth, EscrowChallenge, EscrowClient,
    EscrowHello, EscrowOutcome, EscrowReply, IdentityProof, IplsVaultKey, REPLY_AAD, SESSION_KEYS_INFO,
    TRANSCRIPT_LABEL,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::json::{self, fail};
use crate::opaque::ReplayRng;

const NONCE_FIRST: [u8; 12] = [0; 12];
const NONCE_SECOND: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// What a session is made from.
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

/// Sessions that complete: an upload, a retrieval, and a one-byte account id.
fn valid_tests() -> Vec<Value> {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6970_6c73_6573);
    let mut draw = || {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        bytes
    };
    let vault_secret = draw();
    let identity_proof = IdentityProof::new(
        b"plexi SignedRoot protobuf (carried, verified by the vault with kt-verify)".to_vec(),
        b"akd LookupProof protobuf (carried, verified by the vault with kt-verify)".to_vec(),
    )
    .expect("short")
    .to_bytes();
    let mut valid = Vec::new();
    for (account, upload) in [
        ("15551234567@s.whatsapp.net", true),
        ("15551234567@s.whatsapp.net", false),
        ("a", false),
    ] {
        let inputs = Inputs {
            vault_secret,
            client_secret: draw(),
            challenge: draw(),
            vault_ephemeral: draw(),
            account: account.as_bytes().to_vec(),
            account_seed: draw(),
            contact_key: draw(),
            upload,
            identity_proof: identity_proof.clone(),
        };
        let mut test = json!({
            "comment": if upload { "upload CK" } else { "retrieve CK" }, "flags": [], "result": "valid",
            "vaultSecret": hex::encode(inputs.vault_secret), "clientSecret": hex::encode(inputs.client_secret),
            "challenge": hex::encode(inputs.challenge), "vaultEphemeral": hex::encode(inputs.vault_ephemeral),
            "accountId": hex::encode(&inputs.account),
            "accountSeed": hex::encode(inputs.account_seed), "contactKey": hex::encode(inputs.contact_key),
            "purpose": if upload { "upload" } else { "retrieve" },
            "identityProof": hex::encode(&inputs.identity_proof),
        });
        for (name, value) in by_hand(&inputs) {
            test[name] = value;
        }
        let messages = run_crate(&inputs).expect("the session runs");
        assert_eq!(
            test["auth"],
            json!(hex::encode(messages.auth.to_bytes())),
            "SPEC and crate agree"
        );
        valid.push(test);
    }
    valid
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
        json::with_fields(
            base,
            vec![
                ("comment", json!(comment)),
                ("flags", json!(["Tampered"])),
                ("result", json!("invalid")),
                ("refusedBy", json!(side)),
                ("error", json!(error)),
                (field, value),
            ],
        )
    };
    let mut small_order_hello = hex::decode(base["hello"].as_str().unwrap_or_default()).unwrap_or_default();
    small_order_hello[35..67].fill(0);
    let mut small_order_share = hex::decode(base["challengeMessage"].as_str().unwrap_or_default()).unwrap_or_default();
    small_order_share[34..66].fill(0);
    let mut other_vault_hello = hex::decode(base["hello"].as_str().unwrap_or_default()).unwrap_or_default();
    other_vault_hello[3] ^= 0x01;
    vec![
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
    ]
}

/// The vector file.
pub fn generate() -> Value {
    let valid = valid_tests();
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
            "identityProof": "carried opaque to ipls; its contents (a Plexi signed root and an akd lookup proof) are kt-verify's vectors",
            "invalid": "refusedBy names the side that must refuse and error the ipls error: the vault refuses at challenge (WeakKeyShare, WrongVaultKey; it draws challenge then vaultEphemeral) or at open; the device at authenticate (WeakKeyShare, VaultNotAuthenticated) or at finish (reply)",
        }),
        vec![
            json!({"type": "EscrowSession", "tests": valid}),
            json!({"type": "EscrowReject", "tests": invalid}),
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
    json::with_fields(
        base,
        vec![
            (
                "comment",
                json!("signature by another key than the presented account key"),
            ),
            ("flags", json!(["WrongKey"])),
            ("result", json!("invalid")),
            ("refusedBy", json!("vault")),
            ("error", json!("BadSignature")),
            ("auth", json!(hex::encode(auth))),
        ],
    )
}

fn error_name(error: Error) -> String {
    let debug = format!("{error:?}");
    debug.split(['(', ' ']).next().unwrap_or_default().to_owned()
}

fn check_invalid(test: &Map<String, Value>, inputs: &Inputs) -> Result<(), String> {
    let expected = json::text(test, "error")?;
    let vault = IplsVaultKey::from_bytes(&inputs.vault_secret);
    let refusal = match json::text(test, "refusedBy")? {
        "vault" => (|| {
            let hello = EscrowHello::from_bytes(&json::bytes(test, "hello")?).map_err(error_name)?;
            let (pending, _) = vault.challenge(&mut vault_rng(inputs), &hello).map_err(error_name)?;
            let auth = EscrowAuth::from_bytes(&json::bytes(test, "auth")?).map_err(error_name)?;
            vault.open(&pending, &auth).map(|_| ()).map_err(error_name)
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
    };
    match refusal {
        Err(found) if found == expected => Ok(()),
        Err(found) => Err(fail(test, &format!("refused with {found}, not {expected}"))),
        Ok(()) => Err(fail(test, "was accepted")),
    }
}

fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    let inputs = Inputs::from_test(test)?;
    if !json::valid(test)? {
        return check_invalid(test, &inputs);
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
    json::check_each(file, |_, test| check_test(test))
}
