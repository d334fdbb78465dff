//! Vault message vectors: whole registrations, logins and deletions, deterministic, with every wire message, the
//! exact bytes the vault signs and its Ed25519 signatures, the registration and deletion receipts with every
//! intermediate, and the stand-in answer to a user with no record; and messages altered in transit, forged or taken
//! from another exchange, which must be refused with the named error.
//!
//! Tests that carry `clientRandomness` (every byte the client drew in the exchange, in order) and `password` are
//! also replayed through the crate's client ([`ReplayRng`]): the replayed client must produce the vector's own
//! messages, and its verdict on the vault's answer (and on the receipt) must be the vector's result.

use std::ops::Range;

use backup_protocol::hazmat;
use backup_protocol::labels::{
    DELETED_K_INFO, DELETION_RECEIPT_MAC, FAKE_CHALLENGE_INFO, OPAQUE_CONTEXT, REGISTRATION_RECEIPT_SIGNATURE,
};
use backup_protocol::{
    BackupKey, BackupRecord, ClientConfig, ClientLogin, ClientRegistration, DeletionReceipt, Error, KeyRelease,
    KsfParams, KsfPolicy, LoginPurpose, LoginRequest, LoginResponse, PendingDeletionReceipt, PendingKeyRelease,
    PendingRegistration, RegistrationReceipt, RegistrationResponse, RegistrationUpload, Suite, UserId, VaultKeys,
    VaultLoginState, VaultPins,
};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use opaque_ke::{
    ClientLoginFinishParameters, CredentialRequest, CredentialResponse, Identifiers, ServerLogin,
    ServerLoginParameters, ServerSetup,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::json::{self, fail};
use crate::opaque::{RecordingRng, ReplayRng};

mod api;
use crate::opaque_messages::argon2;
use crate::witness_signature::{GROUP_ORDER, add_group_order};

/// The password of every exchange but the wrong-password one.
const PASSWORD: &[u8] = b"correct horse battery staple";

/// LoginResponse body: Argon2id parameters, guesses remaining, OPAQUE CredentialResponse, signature.
const RESPONSE_KSF: Range<usize> = 0..12;
const RESPONSE_GUESSES: Range<usize> = 12..16;
const RESPONSE_KE2: Range<usize> = 16..336;
const RESPONSE_SIGNATURE: Range<usize> = 336..400;

/// The body of a message after `version || type || len8(userId) || userId`.
fn body(message: &[u8]) -> &[u8] {
    let user_len = usize::from(message.get(2).copied().unwrap_or(0));
    message.get(3 + user_len..).unwrap_or_default()
}

/// The last `n` bytes (a receipt's signature or tag).
fn tail(message: &[u8], n: usize) -> &[u8] {
    &message[message.len().saturating_sub(n)..]
}

/// `version || type || len8(userId) || userId || body`.
fn frame(type_code: u8, user_id: &[u8], body: &[u8]) -> Vec<u8> {
    [&[0x01, type_code, user_id.len() as u8][..], user_id, body].concat()
}

/// The name of an error variant (`WrongPassword { .. }` is `WrongPassword`).
fn error_name(error: &Error) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

fn purpose_of(code: u64) -> Result<LoginPurpose, String> {
    match code {
        1 => Ok(LoginPurpose::RetrieveKey),
        2 => Ok(LoginPurpose::DeleteRecord),
        other => Err(format!("unknown purpose {other}")),
    }
}

fn ksf_params(bytes: &[u8]) -> Result<KsfParams, String> {
    let word = |range: Range<usize>| {
        bytes
            .get(range)
            .and_then(|word| word.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or("Argon2id parameters are 12 bytes")
    };
    KsfParams::new(word(0..4)?, word(4..8)?, word(8..12)?).map_err(|error| error.to_string())
}

fn ksf_bytes(params: &KsfParams) -> Vec<u8> {
    [params.memory_kib(), params.iterations(), params.parallelism()]
        .iter()
        .flat_map(|word| word.to_be_bytes())
        .collect()
}

/// The OPAQUE context of a login: `OPAQUE_CONTEXT || purpose`.
fn context(purpose: LoginPurpose) -> Vec<u8> {
    [OPAQUE_CONTEXT, &[purpose.code()]].concat()
}

/// The deletion receipt's MAC input: `DELETION_RECEIPT_MAC || 0x01 || len8(userId) || userId`.
fn mac_input(user_id: &[u8]) -> Vec<u8> {
    [DELETION_RECEIPT_MAC, &[0x01, user_id.len() as u8], user_id].concat()
}

/// An unknown user's stand-in challenge: HKDF-SHA256(salt absent, ikm = OPRF seed, info, 32), computed here from the
/// specification (the crate keeps its own private).
fn fake_challenge(oprf_seed: &[u8], info: &[u8]) -> [u8; 32] {
    let mut challenge = [0; 32];
    Hkdf::<Sha256>::new(None, oprf_seed)
        .expand(info, &mut challenge)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    challenge
}

/// Strict Ed25519 as the client checks the vault: `S < l`, then `verify_strict`.
fn verify(fleet_key: &[u8; 32], signed: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(fleet_key) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    let s_reduced = signature
        .s_bytes()
        .iter()
        .rev()
        .zip(GROUP_ORDER.iter().rev())
        .find(|(s, l)| s != l)
        .is_some_and(|(s, l)| s < l);
    s_reduced && key.verify_strict(signed, &signature).is_ok()
}

/// The client's OPAQUE login run directly on opaque-ke with the client's recorded draws and the vault's response
/// body: (KE3, session key). The crate wipes the session key; this recovers it for the deletion receipt's
/// intermediates, and KE3 equal to the client's finalization shows it is the same run.
fn opaque_client_login(
    user_id: &[u8],
    password: &[u8],
    purpose: LoginPurpose,
    draws: &[u8],
    response_body: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let ksf = argon2(ksf_params(response_body.get(RESPONSE_KSF).ok_or("short response")?)?);
    let mut rng = ReplayRng::new(&[draws]);
    let started = opaque_ke::ClientLogin::<Suite>::start(&mut rng, password).map_err(|error| error.to_string())?;
    let ke2 = CredentialResponse::<Suite>::deserialize(response_body.get(RESPONSE_KE2).ok_or("short response")?)
        .map_err(|error| error.to_string())?;
    let context = context(purpose);
    let finished = started
        .state
        .finish(
            &mut rng,
            password,
            ke2,
            ClientLoginFinishParameters::new(
                Some(&context),
                Identifiers {
                    client: Some(user_id),
                    server: None,
                },
                Some(&ksf),
            ),
        )
        .map_err(|error| error.to_string())?;
    if !rng.is_exhausted() {
        return Err("the client's draws were not all used".into());
    }
    Ok((finished.message.serialize().to_vec(), finished.session_key.to_vec()))
}

// --- generation --------------------------------------------------------------------------------------------------

fn chacha(seed: u64, stream: u64) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A vault fleet and the randomness of its clients.
struct Fleet {
    keys: VaultKeys,
    config: ClientConfig,
    vault_rng: ChaCha20Rng,
    client_seeds: ChaCha20Rng,
}

impl Fleet {
    fn new(seed: u64) -> Self {
        let keys = VaultKeys::generate(&mut chacha(seed, 0));
        let config = ClientConfig::insecure_fast_for_testing(keys.pins());
        Self {
            keys,
            config,
            vault_rng: chacha(seed, 1),
            client_seeds: chacha(seed, 2),
        }
    }

    /// A fresh rng for one exchange of one party, recording its draws.
    fn recording(rng: &mut ChaCha20Rng) -> RecordingRng<ChaCha20Rng> {
        RecordingRng::new(ChaCha20Rng::seed_from_u64(rng.next_u64()))
    }

    /// `userId` and the client's pins.
    fn fields(&self, user_id: &[u8]) -> Value {
        json!({
            "userId": hex::encode(user_id),
            "fleetKey": hex::encode(self.keys.pins().fleet_key().as_bytes()),
            "opaqueServerKey": hex::encode(self.keys.pins().opaque_server_key()),
        })
    }
}

/// A registration, as both sides ran it.
struct Registered {
    user: UserId,
    key: BackupKey,
    client_draws: Vec<u8>,
    request: Vec<u8>,
    response: Vec<u8>,
    upload: Vec<u8>,
    pending: PendingRegistration,
    record: BackupRecord,
    receipt: Vec<u8>,
}

fn register(fleet: &mut Fleet, user_id: &[u8]) -> Registered {
    let user = UserId::new(user_id.to_vec()).expect("valid user id");
    let key = BackupKey::generate(&mut fleet.client_seeds);
    let mut rng = Fleet::recording(&mut fleet.client_seeds);
    let (client, request) = ClientRegistration::start(&mut rng, &fleet.config, user.clone(), PASSWORD).expect("start");
    let (pending, response) = PendingRegistration::start(&fleet.keys, &mut fleet.vault_rng, &request).expect("answer");
    let (awaiting, upload) = client.finish(&mut rng, &response, &key).expect("finish");
    let (record, receipt) = pending
        .finish(&fleet.keys, &upload, &KsfPolicy::INSECURE_TESTING)
        .expect("stored");
    awaiting.verify(&receipt).expect("the vault's receipt verifies");
    Registered {
        user,
        key,
        client_draws: rng.drawn().to_vec(),
        request: request.to_bytes(),
        response: response.to_bytes(),
        upload: upload.to_bytes(),
        pending,
        record,
        receipt: receipt.to_bytes(),
    }
}

/// A login, as both sides ran it, up to where the client stopped.
struct LoggedIn {
    purpose: LoginPurpose,
    guesses: u32,
    client_draws: Vec<u8>,
    vault_draws: Vec<u8>,
    request: Vec<u8>,
    response: Vec<u8>,
    /// The finalization and what the vault answered it with (key release or deletion receipt), or the client's
    /// error.
    finished: Result<(Vec<u8>, Vec<u8>), Error>,
}

fn log_in(
    fleet: &mut Fleet,
    record: Option<&BackupRecord>,
    user: &UserId,
    password: &[u8],
    purpose: LoginPurpose,
    guesses: u32,
) -> LoggedIn {
    let mut rng = Fleet::recording(&mut fleet.client_seeds);
    let (client, request) =
        ClientLogin::start_for(&mut rng, &fleet.config, user.clone(), password, purpose).expect("start");
    let mut vault_rng = Fleet::recording(&mut fleet.vault_rng);
    let (state, response) =
        VaultLoginState::start(&fleet.keys, &mut vault_rng, record, &request, || Ok::<u32, ()>(guesses))
            .expect("charged and answered");
    let finished = if purpose == LoginPurpose::DeleteRecord {
        client
            .finish_deletion(&mut rng, &response)
            .map(|(awaiting, finalization)| {
                assert_eq!(awaiting.guesses_remaining(), guesses);
                let receipt = state.finish_deletion(record, &finalization).expect("deleted");
                awaiting.verify(&receipt).expect("the vault's receipt verifies");
                (finalization.to_bytes(), receipt.to_bytes())
            })
    } else {
        client.finish(&mut rng, &response).map(|(awaiting, finalization)| {
            assert_eq!(awaiting.guesses_remaining(), guesses);
            let release = state
                .finish(&mut fleet.vault_rng, record, &finalization)
                .expect("released");
            (finalization.to_bytes(), release.to_bytes())
        })
    };
    LoggedIn {
        purpose,
        guesses,
        client_draws: rng.drawn().to_vec(),
        vault_draws: vault_rng.drawn().to_vec(),
        request: request.to_bytes(),
        response: response.to_bytes(),
        finished,
    }
}

fn registration_test(fleet: &Fleet, registered: &Registered) -> Value {
    let response = body(&registered.response);
    let challenge: [u8; 32] = response[..32].try_into().expect("32 bytes");
    let signed = hazmat::registration_response_signed_bytes(
        &registered.user,
        &challenge,
        body(&registered.request),
        &response[32..96],
    );
    json::with_fields(
        &fleet.fields(registered.user.as_bytes()),
        vec![
            ("comment", json!("registration")),
            ("flags", json!([])),
            ("result", json!("valid")),
            ("registrationRequest", json!(hex::encode(&registered.request))),
            ("registrationResponse", json!(hex::encode(&registered.response))),
            ("challenge", json!(hex::encode(challenge))),
            ("signedBytes", json!(hex::encode(signed))),
            ("signature", json!(hex::encode(&response[96..]))),
        ],
    )
}

/// What the outcome fields of a test are: `result`, and `error` for a refusal.
fn outcome_fields(comment: &str, flag: Option<&str>, error: Option<&str>) -> Vec<(&'static str, Value)> {
    let mut fields = vec![
        ("comment", json!(comment)),
        ("flags", json!(flag.map_or_else(Vec::new, |flag| vec![flag]))),
        ("result", json!(if error.is_some() { "invalid" } else { "valid" })),
    ];
    if let Some(error) = error {
        fields.push(("error", json!(error)));
    }
    fields
}

/// A registration receipt test: the client's whole registration and the receipt it is handed.
fn receipt_test(
    fleet: &Fleet,
    registered: &Registered,
    receipt: &[u8],
    stored: Option<&[u8]>,
    (comment, flag, error): (&str, Option<&str>, Option<&str>),
) -> Value {
    let upload_body = body(&registered.upload);
    let mut fields = outcome_fields(comment, flag, error);
    fields.extend([
        ("password", json!(hex::encode(PASSWORD))),
        ("key", json!(hex::encode(registered.key.expose_secret()))),
        ("clientRandomness", json!(hex::encode(&registered.client_draws))),
        ("registrationRequest", json!(hex::encode(&registered.request))),
        ("registrationResponse", json!(hex::encode(&registered.response))),
        ("registrationUpload", json!(hex::encode(&registered.upload))),
        ("uploadBody", json!(hex::encode(upload_body))),
        (
            "signedBytes",
            json!(hex::encode(hazmat::registration_receipt_signed_bytes(
                &registered.user,
                upload_body
            ))),
        ),
        ("registrationReceipt", json!(hex::encode(receipt))),
        ("signature", json!(hex::encode(tail(receipt, 64)))),
    ]);
    if let Some(stored) = stored {
        fields.push(("storedUpload", json!(hex::encode(stored))));
    }
    json::with_fields(&fleet.fields(registered.user.as_bytes()), fields)
}

fn receipt_tests(fleet: &mut Fleet, registered: &Registered, other_user: &[u8]) -> Vec<Value> {
    let user_id = registered.user.as_bytes();
    let type_code = backup_protocol::labels::type_code::REGISTRATION_RECEIPT;
    let upload_body = body(&registered.upload);
    let signed = hazmat::registration_receipt_signed_bytes(&registered.user, upload_body);
    let honest = &registered.receipt;
    let signature: [u8; 64] = tail(honest, 64).try_into().expect("64 bytes");

    // The vault stored an upload altered on the way (EK's last byte: the vault cannot check EK) and signed that.
    let mut altered = registered.upload.clone();
    *altered.last_mut().expect("non-empty") ^= 0x01;
    let altered_upload = RegistrationUpload::from_bytes(&altered).expect("still decodes");
    let (_, altered_receipt) = registered
        .pending
        .finish(&fleet.keys, &altered_upload, &KsfPolicy::INSECURE_TESTING)
        .expect("the vault accepts it");

    let again = register(fleet, user_id);
    let other = register(fleet, other_user);
    let stranger = SigningKey::from_bytes(&{
        let mut seed = [0; 32];
        fleet.vault_rng.fill_bytes(&mut seed);
        seed
    });
    let mut flipped = signature;
    flipped[0] ^= 0x01;
    let rejected = Some("ReceiptRejected");
    let forged = Some("Forged");
    vec![
        receipt_test(fleet, registered, honest, None, ("registration receipt", None, None)),
        receipt_test(
            fleet,
            registered,
            &frame(type_code, user_id, &stranger.sign(&signed).to_bytes()),
            None,
            (
                "forged: signed over the right bytes by a key other than the pinned fleet key",
                forged,
                rejected,
            ),
        ),
        receipt_test(
            fleet,
            registered,
            &again.receipt,
            None,
            (
                "receipt of another registration of the same user (another exchange)",
                Some("OtherExchange"),
                rejected,
            ),
        ),
        receipt_test(
            fleet,
            registered,
            &altered_receipt.to_bytes(),
            Some(&altered),
            (
                "the vault stored (and signed) an upload altered in transit: EK's last byte",
                Some("OtherExchange"),
                rejected,
            ),
        ),
        receipt_test(
            fleet,
            registered,
            &frame(type_code, user_id, &body(&registered.response)[96..]),
            None,
            (
                "the registration response's signature presented as the receipt (another context)",
                forged,
                rejected,
            ),
        ),
        receipt_test(
            fleet,
            registered,
            &frame(type_code, user_id, &flipped),
            None,
            ("signature altered (first byte of R)", Some("Tampered"), rejected),
        ),
        receipt_test(
            fleet,
            registered,
            &frame(type_code, user_id, &add_group_order(&signature)),
            None,
            (
                "signature with S + l (unreduced scalar, same point equation)",
                Some("Tampered"),
                rejected,
            ),
        ),
        receipt_test(
            fleet,
            registered,
            &other.receipt,
            None,
            (
                "the fleet's genuine receipt for another user",
                Some("WrongUser"),
                Some("UserMismatch"),
            ),
        ),
    ]
}

/// The fields every login test carries: the client's inputs and draws, and the two messages.
fn login_fields(fleet: &Fleet, user_id: &[u8], login: &LoggedIn, password: &[u8]) -> Value {
    json::with_fields(
        &fleet.fields(user_id),
        vec![
            ("password", json!(hex::encode(password))),
            ("clientRandomness", json!(hex::encode(&login.client_draws))),
            ("purpose", json!(login.purpose.code())),
            ("loginRequest", json!(hex::encode(&login.request))),
            ("loginResponse", json!(hex::encode(&login.response))),
            ("guessesRemaining", json!(login.guesses)),
        ],
    )
}

/// A login test with the vault's signature and its signed bytes.
fn login_test(
    fleet: &Fleet,
    user: &UserId,
    login: &LoggedIn,
    password: &[u8],
    key: &BackupKey,
    comment: &str,
) -> Value {
    let response = body(&login.response);
    let ksf = ksf_params(&response[RESPONSE_KSF]).expect("valid parameters");
    let signed = hazmat::login_response_signed_bytes(
        user,
        login.purpose,
        &body(&login.request)[1..],
        &ksf,
        login.guesses,
        &response[RESPONSE_KE2],
    );
    let error = login.finished.as_ref().err().map(error_name);
    let flag = error.as_ref().map(|_| "WrongPassword");
    let mut fields = outcome_fields(comment, flag, error.as_deref());
    fields.extend([
        ("ksfParams", json!(hex::encode(&response[RESPONSE_KSF]))),
        ("signedBytes", json!(hex::encode(signed))),
        ("signature", json!(hex::encode(&response[RESPONSE_SIGNATURE]))),
    ]);
    if let Ok((finalization, release)) = &login.finished {
        fields.extend([
            ("loginFinalization", json!(hex::encode(finalization))),
            ("keyRelease", json!(hex::encode(release))),
            ("key", json!(hex::encode(key.expose_secret()))),
        ]);
    }
    json::with_fields(&login_fields(fleet, user.as_bytes(), login, password), fields)
}

/// A registration or login test with a byte of one message changed in transit: the client's signature check fails.
/// A changed request is not what the replayed client sends, so such a test carries no replay inputs.
fn tampered(valid: &Value, field: &str, position: usize, mask: u8, comment: &str) -> Value {
    let mut test = valid.clone();
    let mut bytes = hex::decode(valid[field].as_str().unwrap_or_default()).unwrap_or_default();
    if let Some(byte) = bytes.get_mut(position) {
        *byte ^= mask;
    }
    test[field] = json!(hex::encode(bytes));
    test["comment"] = json!(comment);
    test["result"] = json!("invalid");
    test["error"] = json!("BadVaultSignature");
    test["flags"] = json!(["Tampered"]);
    // What was derived from the genuine messages does not describe the altered ones.
    if let Some(object) = test.as_object_mut() {
        for derived in [
            "challenge",
            "signedBytes",
            "signature",
            "ksfParams",
            "guessesRemaining",
            "loginFinalization",
            "keyRelease",
            "key",
        ] {
            object.remove(derived);
        }
        if field == "loginRequest" || field.starts_with("registration") {
            for replay in ["clientRandomness", "password", "purpose", "opaqueServerKey"] {
                object.remove(replay);
            }
        }
    }
    test
}

/// A deletion receipt test: the client's whole deletion login, the session key and the receipt it is handed.
fn deletion_test(
    fleet: &Fleet,
    user: &UserId,
    login: &LoggedIn,
    receipt: &[u8],
    (comment, flag, error): (&str, Option<&str>, Option<&str>),
) -> Value {
    let (finalization, _) = login.finished.as_ref().expect("an honest deletion login");
    let (ke3, session_key) = opaque_client_login(
        user.as_bytes(),
        PASSWORD,
        login.purpose,
        &login.client_draws,
        body(&login.response),
    )
    .expect("replays");
    assert_eq!(ke3, body(finalization), "opaque-ke's run is the client's");
    let mut fields = outcome_fields(comment, flag, error);
    fields.extend([
        ("loginFinalization", json!(hex::encode(finalization))),
        ("sessionKey", json!(hex::encode(&session_key))),
        ("deletedKInfo", json!(hex::encode(DELETED_K_INFO))),
        ("deletedK", json!(hex::encode(*hazmat::deleted_k(&session_key)))),
        ("macInput", json!(hex::encode(mac_input(user.as_bytes())))),
        ("tag", json!(hex::encode(tail(receipt, 32)))),
        ("deletionReceipt", json!(hex::encode(receipt))),
    ]);
    json::with_fields(&login_fields(fleet, user.as_bytes(), login, PASSWORD), fields)
}

fn deletion_tests(fleet: &mut Fleet, registered: &Registered, other_user: &[u8], guesses: [u32; 2]) -> Vec<Value> {
    let user = &registered.user;
    let type_code = backup_protocol::labels::type_code::DELETION_RECEIPT;
    let login = log_in(
        fleet,
        Some(&registered.record),
        user,
        PASSWORD,
        LoginPurpose::DeleteRecord,
        guesses[0],
    );
    let (_, honest) = login.finished.clone().expect("deleted");
    let again = log_in(
        fleet,
        Some(&registered.record),
        user,
        PASSWORD,
        LoginPurpose::DeleteRecord,
        guesses[1],
    );
    let (_, other_receipt) = again.finished.clone().expect("deleted");
    let session_key = opaque_client_login(
        user.as_bytes(),
        PASSWORD,
        login.purpose,
        &login.client_draws,
        body(&login.response),
    )
    .expect("replays")
    .1;
    let deleted_k = hazmat::deleted_k(&session_key);
    let other = UserId::new(other_user.to_vec()).expect("valid user id");
    let mut flipped = honest.clone();
    *flipped.last_mut().expect("non-empty") ^= 0x80;
    let rejected = Some("ReceiptRejected");
    let receipt = |tag: &[u8]| frame(type_code, user.as_bytes(), tag);
    vec![
        deletion_test(fleet, user, &login, &honest, ("deletion receipt", None, None)),
        deletion_test(
            fleet,
            user,
            &login,
            &flipped,
            ("tag altered (last byte)", Some("Tampered"), rejected),
        ),
        deletion_test(
            fleet,
            user,
            &login,
            &other_receipt,
            (
                "receipt of another deletion login of the same user (another session key)",
                Some("OtherExchange"),
                rejected,
            ),
        ),
        deletion_test(
            fleet,
            user,
            &login,
            &receipt(&hazmat::deletion_receipt_tag(&hazmat::shared_k(&session_key), user)),
            (
                "forged: tag under SHARED_K (the key-release key) instead of DELETED_K",
                Some("Forged"),
                rejected,
            ),
        ),
        deletion_test(
            fleet,
            user,
            &login,
            &receipt(&hazmat::deletion_receipt_tag(&deleted_k, &other)),
            (
                "tag over another user id under the right key",
                Some("WrongUser"),
                rejected,
            ),
        ),
        deletion_test(
            fleet,
            user,
            &login,
            &frame(type_code, other_user, &hazmat::deletion_receipt_tag(&deleted_k, &other)),
            (
                "receipt for another user (its tag computed for that user under the right key)",
                Some("WrongUser"),
                Some("UserMismatch"),
            ),
        ),
    ]
}

/// A login for a user with no record: the vault's stand-in answer, its challenge and every input of the derivation.
fn unknown_user_test(fleet: &mut Fleet, user_id: &[u8], purpose: LoginPurpose, guesses: u32, comment: &str) -> Value {
    let user = UserId::new(user_id.to_vec()).expect("valid user id");
    let login = log_in(fleet, None, &user, PASSWORD, purpose, guesses);
    let keys = fleet.keys.to_bytes();
    let oprf_seed = &keys[2..66];
    let info = [FAKE_CHALLENGE_INFO, user_id].concat();
    let challenge = fake_challenge(oprf_seed, &info);
    let response = body(&login.response);
    let signed = hazmat::login_response_signed_bytes(
        &user,
        purpose,
        &body(&login.request)[1..],
        &KsfParams::RECOMMENDED,
        guesses,
        &response[RESPONSE_KE2],
    );
    let error = login.finished.as_ref().err().map(error_name);
    assert_eq!(
        error.as_deref(),
        Some("WrongPassword"),
        "an unknown user's login never finishes"
    );
    let mut fields = outcome_fields(comment, Some("UnknownUser"), error.as_deref());
    fields.extend([
        ("vaultKeys", json!(hex::encode(&*keys))),
        ("oprfSeed", json!(hex::encode(oprf_seed))),
        ("fakeChallengeInfo", json!(hex::encode(&info))),
        ("fakeChallenge", json!(hex::encode(challenge))),
        (
            "credentialIdentifier",
            json!(hex::encode([&[user_id.len() as u8][..], user_id, &challenge].concat())),
        ),
        ("vaultRandomness", json!(hex::encode(&login.vault_draws))),
        ("ksfParams", json!(hex::encode(&response[RESPONSE_KSF]))),
        ("signedBytes", json!(hex::encode(signed))),
        ("signature", json!(hex::encode(&response[RESPONSE_SIGNATURE]))),
    ]);
    json::with_fields(&login_fields(fleet, user_id, &login, PASSWORD), fields)
}

/// One user's registration, retrieval logins and deletion logins, under a fleet of its own.
struct UserVectors {
    registration: Value,
    receipts: Vec<Value>,
    login: Value,
    deletions: Vec<Value>,
}

fn user_vectors(seed: u64, user_id: &[u8], other_user: &[u8], guesses: [u32; 3]) -> (Fleet, Registered, UserVectors) {
    let mut fleet = Fleet::new(seed);
    let registered = register(&mut fleet, user_id);
    let registration = registration_test(&fleet, &registered);
    let receipts = receipt_tests(&mut fleet, &registered, other_user);
    let login = log_in(
        &mut fleet,
        Some(&registered.record),
        &registered.user,
        PASSWORD,
        LoginPurpose::RetrieveKey,
        guesses[0],
    );
    let login = login_test(
        &fleet,
        &registered.user,
        &login,
        PASSWORD,
        &registered.key,
        &format!("login ({} guesses remaining)", guesses[0]),
    );
    let deletions = deletion_tests(&mut fleet, &registered, other_user, [guesses[1], guesses[2]]);
    (
        fleet,
        registered,
        UserVectors {
            registration,
            receipts,
            login,
            deletions,
        },
    )
}

/// The file's notes.
fn notes() -> Value {
    json!({
        "framing": "every message: 0x01 || type || len8(userId) || userId || body; see backup-protocol/SPEC.md section 4. Types: RegistrationRequest 0x01, RegistrationResponse 0x02, RegistrationUpload 0x03, RegistrationReceipt 0x04, LoginRequest 0x11, LoginResponse 0x12, LoginFinalization 0x13, KeyRelease 0x14, DeletionReceipt 0x15",
        "RegistrationSignature": "signedBytes = \"backup-protocol/v1/registration-response\" || 0x01 || len8(userId) || userId || challenge || OPAQUE RegistrationRequest (request body) || OPAQUE RegistrationResponse (response body[32..96]); signature = response body[96..160], Ed25519 (strict: S < l, verify_strict) under fleetKey",
        "LoginResponse": "body = Argon2id parameters (body[0..12], ksfParams: u32be m_kib || u32be t || u32be p) || guesses remaining (body[12..16], u32be; guessesRemaining) || OPAQUE CredentialResponse (body[16..336]) || signature (body[336..400])",
        "LoginSignature": "signedBytes = \"backup-protocol/v1/login-response\" || 0x01 || len8(userId) || userId || purpose || OPAQUE CredentialRequest (request body[1..97]) || Argon2id parameters (response body[0..12]) || u32be(guessesRemaining) (response body[12..16]) || OPAQUE CredentialResponse (response body[16..336]); signature = response body[336..400]",
        "RegistrationReceipt": "registrationReceipt = 0x01 || 0x04 || len8(userId) || userId || signature (64); uploadBody = the client's registrationUpload after its user id (Argon2id parameters 12 || OPAQUE RegistrationUpload 192 || challenge 32 || K_NONCE 12 || EK 48); signedBytes = \"backup-protocol/v1/registration-receipt\" || 0x01 || len8(userId) || userId || uploadBody; the client checks the receipt's user id (UserMismatch), then Ed25519 (strict: S < l, verify_strict) under fleetKey (ReceiptRejected). signature is the receipt's; storedUpload, where present, is what the vault stored and honestly signed instead of the client's upload",
        "DeletionReceipt": "deletedK = HKDF-SHA256(salt absent, ikm = sessionKey (the OPAQUE session key of the deletion login, 64), info = deletedKInfo = \"backup-protocol/v1/deleted-k\", 32); macInput = \"backup-protocol/v1/deletion-receipt\" || 0x01 || len8(userId) || userId; the expected tag = HMAC-SHA256(deletedK, macInput); deletionReceipt = 0x01 || 0x15 || len8(userId) || userId || tag (32); tag is the receipt's. The client checks the receipt's user id (UserMismatch), then the tag in constant time (ReceiptRejected). sessionKey is the client's, recomputed by running opaque-ke on clientRandomness (its KE3 is loginFinalization's body)",
        "UnknownUser": "a login for a user with no record: the vault answers with OPAQUE's fake credential response for credentialIdentifier = len8(userId) || userId || fakeChallenge, where fakeChallenge = HKDF-SHA256(salt absent, ikm = oprfSeed, info = fakeChallengeInfo = \"backup-protocol/v1/fake-challenge\" || userId, 32) and oprfSeed = the first 64 bytes of the serialized OPAQUE ServerSetup (vaultKeys[2..66]; vaultKeys = 0x01 || 0x31 || ServerSetup (OPRF seed 64 || server private key 32 || fake-record public key 32) || Ed25519 seed 32), with the default Argon2id parameters (19456, 2, 1) and the same signature as a real answer; the client's finish fails as for a wrong password (WrongPassword). vaultRandomness is what the vault drew (opaque-ke's ServerLogin::start: fake masking key 64, masking_nonce 32, server_keyshare_seed 32, server_nonce 32): opaque-ke run on it with this credentialIdentifier gives the response's CredentialResponse, which pins the derivation to the vault's",
        "replay": "clientRandomness is every byte the client drew in the exchange, in order (opaque-ke's blind draws, envelope_nonce, client_keyshare_seed, client_nonce, and K_NONCE at registration); the Rust consumer replays the crate's client on it with password (and key, the backup key K) and requires the vector's messages and verdict; purpose 1 is a retrieval (ClientLogin::finish), 2 a deletion (ClientLogin::finish_deletion)",
        "Tampered": "a byte of a message changed in transit; the client's check must fail with error",
        "Forged": "a receipt made without the vault's key for this exchange",
        "OtherExchange": "a genuine receipt, but for another exchange than the client's",
        "WrongUser": "a receipt naming, or computed for, another user",
        "WrongPassword": "the vault's answer is genuine and its signature verifies; OPAQUE fails at the client (Error::WrongPassword, which carries guessesRemaining)",
        "python": "check_vectors.py has no ristretto255: it re-derives the framing, every signature and its signed bytes (strict Ed25519, S < l checked), guessesRemaining, each receipt's verdict, deletedK, macInput and the tag from sessionKey, the stand-in challenge and credentialIdentifier from vaultKeys, the fake masked response from vaultRandomness, and the nonces that end clientRandomness; the OPAQUE runs themselves (password, clientRandomness as a whole, sessionKey from the exchange, finalizations, key releases, the OPRF evaluation under the stand-in key) only the Rust consumer checks, by replaying the crate",
        "opaque": "the OPAQUE fields themselves (ristretto255, 3DH) follow RFC 9807; these vectors pin the framing, signatures, receipts and derivations around them (opaque_messages.json covers OPAQUE itself)",
    })
}

/// Copies of `valid`, each with one byte of one message changed in transit: (field, offset after the phone-number
/// user id's header, XOR mask, comment).
fn altered_in_transit(valid: &Value, cases: &[(&str, usize, u8, &str)]) -> Vec<Value> {
    let header = 3 + 26;
    cases
        .iter()
        .map(|&(field, offset, mask, comment)| tampered(valid, field, header + offset, mask, comment))
        .collect()
}

fn unknown_user_tests(fleet: &mut Fleet) -> Vec<Value> {
    let unknown: &[u8] = b"15550000000@s.whatsapp.net";
    vec![
        unknown_user_test(
            fleet,
            unknown,
            LoginPurpose::RetrieveKey,
            9,
            "unknown user, retrieval login",
        ),
        unknown_user_test(
            fleet,
            unknown,
            LoginPurpose::DeleteRecord,
            8,
            "the same unknown user again, deletion login: the same stand-in challenge",
        ),
        unknown_user_test(
            fleet,
            b"z",
            LoginPurpose::RetrieveKey,
            0,
            "another unknown user (one-byte id): another stand-in challenge",
        ),
    ]
}

/// The vector file.
pub fn generate() -> Value {
    let (mut fleet, registered, long) = user_vectors(
        0x0076_6175_6c74,
        b"15551234567@s.whatsapp.net",
        b"15557654321@s.whatsapp.net",
        [9, 7, 6],
    );
    let (_, _, short) = user_vectors(0x0076_6175_6c75, b"a", b"b", [u32::MAX, 0, 1]);
    let wrong = b"correct horse battery stable";
    let wrong_password = log_in(
        &mut fleet,
        Some(&registered.record),
        &registered.user,
        wrong,
        LoginPurpose::RetrieveKey,
        0,
    );
    let wrong_password = login_test(
        &fleet,
        &registered.user,
        &wrong_password,
        wrong,
        &registered.key,
        "wrong password: the answer is genuine, OPAQUE fails at the client (0 guesses remaining)",
    );
    let mut registrations = altered_in_transit(
        &long.registration,
        &[
            ("registrationResponse", 0, 0x01, "challenge altered"),
            ("registrationResponse", 40, 0x01, "OPRF evaluation altered"),
            (
                "registrationRequest",
                3,
                0x01,
                "request altered before the vault answered",
            ),
            ("registrationResponse", 159, 0x01, "signature altered"),
        ],
    );
    registrations.extend([long.registration, short.registration]);
    let mut logins = altered_in_transit(
        &long.login,
        &[
            ("loginResponse", 3, 0x01, "Argon2id parameters altered"),
            (
                "loginResponse",
                RESPONSE_GUESSES.end - 1,
                0x06,
                "guesses remaining altered (9 to 15)",
            ),
            (
                "loginResponse",
                RESPONSE_GUESSES.start,
                0x80,
                "guesses remaining altered (high byte)",
            ),
            ("loginResponse", 100, 0x01, "credential response altered"),
            (
                "loginRequest",
                0,
                0x03,
                "purpose changed from retrieve (1) to delete (2)",
            ),
            ("loginResponse", RESPONSE_SIGNATURE.end - 1, 0x01, "signature altered"),
        ],
    );
    logins.extend([wrong_password, long.login, short.login]);
    let file = json::file(
        "BACKUP-VAULT-MESSAGES-OPAQUE-RISTRETTO255-ED25519",
        "vault_messages.schema.json",
        &notes(),
        vec![
            json!({"type": "Registration", "tests": registrations}),
            json!({"type": "RegistrationReceipt", "tests": ([long.receipts, short.receipts].concat())}),
            json!({"type": "Login", "tests": logins}),
            json!({"type": "DeletionReceipt", "tests": ([long.deletions, short.deletions].concat())}),
            json!({"type": "UnknownUser", "tests": unknown_user_tests(&mut fleet)}),
            json!({"type": "Api", "tests": api::tests()}),
        ],
    );
    // Every expectation written above holds for the crate (a wrong one fails here rather than in a consumer).
    check(&file).unwrap_or_else(|error| panic!("generated vault_messages vector does not check: {error}"));
    file
}

// --- checking ----------------------------------------------------------------------------------------------------

fn user_of(test: &Map<String, Value>) -> Result<UserId, String> {
    UserId::new(json::bytes(test, "userId")?).map_err(|error| error.to_string())
}

fn config_of(test: &Map<String, Value>) -> Result<ClientConfig, String> {
    let pins = VaultPins::new(json::array(test, "fleetKey")?, json::array(test, "opaqueServerKey")?)
        .map_err(|error| fail(test, &error.to_string()))?;
    Ok(ClientConfig::insecure_fast_for_testing(pins))
}

fn guesses_of(test: &Map<String, Value>) -> Result<u32, String> {
    test.get("guessesRemaining")
        .and_then(Value::as_u64)
        .and_then(|value| u32::try_from(value).ok())
        .ok_or_else(|| fail(test, "guessesRemaining is not a u32"))
}

fn purpose_field(test: &Map<String, Value>) -> Result<LoginPurpose, String> {
    purpose_of(
        test.get("purpose")
            .and_then(Value::as_u64)
            .ok_or_else(|| fail(test, "no purpose"))?,
    )
}

/// The test's result against what the crate did: `Ok` for a valid test, the named error for an invalid one.
fn same_outcome(test: &Map<String, Value>, outcome: &Result<(), Error>) -> Result<(), String> {
    match (json::valid(test)?, outcome) {
        (true, Ok(())) => Ok(()),
        (false, Err(error)) if error_name(error) == json::text(test, "error")? => Ok(()),
        (_, outcome) => Err(fail(
            test,
            &format!(
                "the crate's client says {outcome:?}, the vector {}",
                json::text(test, "result")?
            ),
        )),
    }
}

fn check_registration(test: &Map<String, Value>) -> Result<(), String> {
    let user = user_of(test)?;
    let fleet_key = json::array::<32>(test, "fleetKey")?;
    let request = json::bytes(test, "registrationRequest")?;
    let response = json::bytes(test, "registrationResponse")?;
    // A tampered message may no longer decode; that is a rejection too.
    if RegistrationResponse::from_bytes(&response).is_err() {
        return if json::valid(test)? {
            Err(fail(test, "response does not decode"))
        } else {
            Ok(())
        };
    }
    let challenge: [u8; 32] = body(&response)[..32].try_into().map_err(|_| "short")?;
    let signed =
        hazmat::registration_response_signed_bytes(&user, &challenge, body(&request), &body(&response)[32..96]);
    let signature = &body(&response)[96..];
    match (json::valid(test)?, verify(&fleet_key, &signed, signature)) {
        (true, true) => json::all_hold(
            test,
            &[
                (json::bytes(test, "signedBytes")? == signed, "signedBytes"),
                (json::bytes(test, "signature")? == signature, "signature"),
                (json::bytes(test, "challenge")? == challenge, "challenge"),
                (
                    json::bytes(test, "opaqueServerKey")? == body(&response)[64..96],
                    "opaqueServerKey",
                ),
            ],
        ),
        (false, false) if json::text(test, "error")? == "BadVaultSignature" => Ok(()),
        _ => Err(fail(test, "signature verification disagrees with the expected result")),
    }
}

/// The login response's signature: `None` if a message does not decode, else whether it verifies; checks
/// `signedBytes`, `signature`, `ksfParams` and `guessesRemaining` against the messages where the test has them.
fn check_login_signature(test: &Map<String, Value>) -> Result<Option<bool>, String> {
    let user = user_of(test)?;
    let request = json::bytes(test, "loginRequest")?;
    let response = json::bytes(test, "loginResponse")?;
    let (Ok(decoded), Ok(_)) = (LoginRequest::from_bytes(&request), LoginResponse::from_bytes(&response)) else {
        return Ok(None);
    };
    let response = body(&response);
    let ksf = ksf_params(&response[RESPONSE_KSF])?;
    let guesses = u32::from_be_bytes(response[RESPONSE_GUESSES].try_into().map_err(|_| "guesses")?);
    // The signed purpose is the one the client asked for; here the request carries it.
    let signed = hazmat::login_response_signed_bytes(
        &user,
        decoded.purpose(),
        &body(&request)[1..],
        &ksf,
        guesses,
        &response[RESPONSE_KE2],
    );
    let signature = &response[RESPONSE_SIGNATURE];
    let verified = verify(&json::array(test, "fleetKey")?, &signed, signature);
    if verified {
        let mut checks = vec![
            (json::bytes(test, "signature")? == signature, "signature"),
            (json::bytes(test, "ksfParams")? == response[RESPONSE_KSF], "ksfParams"),
            (guesses_of(test)? == guesses, "guessesRemaining"),
        ];
        if test.contains_key("signedBytes") {
            checks.push((json::bytes(test, "signedBytes")? == signed, "signedBytes"));
        }
        json::all_hold(test, &checks)?;
    }
    Ok(Some(verified))
}

/// What the replayed client holds after a successful finish.
enum Finished {
    Retrieval(PendingKeyRelease),
    Deletion(PendingDeletionReceipt),
}

/// Replays the crate's client login on the test's draws: it must send the test's request; returns its verdict on
/// the test's response (and the finalization it sends).
fn replay_login(test: &Map<String, Value>) -> Result<Result<(Finished, Vec<u8>), Error>, String> {
    let purpose = purpose_field(test)?;
    let draws = json::bytes(test, "clientRandomness")?;
    let mut rng = ReplayRng::new(&[&draws]);
    let (client, request) = ClientLogin::start_for(
        &mut rng,
        &config_of(test)?,
        user_of(test)?,
        &json::bytes(test, "password")?,
        purpose,
    )
    .map_err(|error| fail(test, &error.to_string()))?;
    if request.to_bytes() != json::bytes(test, "loginRequest")? {
        return Err(fail(test, "the replayed client sends another loginRequest"));
    }
    let response = match LoginResponse::from_bytes(&json::bytes(test, "loginResponse")?) {
        Ok(response) => response,
        Err(error) => return Ok(Err(error)),
    };
    let finished = if purpose == LoginPurpose::DeleteRecord {
        client
            .finish_deletion(&mut rng, &response)
            .map(|(pending, finalization)| (Finished::Deletion(pending), finalization.to_bytes()))
    } else {
        client
            .finish(&mut rng, &response)
            .map(|(pending, finalization)| (Finished::Retrieval(pending), finalization.to_bytes()))
    };
    if !rng.is_exhausted() {
        return Err(fail(test, "clientRandomness has bytes the client did not draw"));
    }
    Ok(finished)
}

fn check_login(test: &Map<String, Value>) -> Result<(), String> {
    let verified = check_login_signature(test)?;
    let valid = json::valid(test)?;
    let error = if valid { "" } else { json::text(test, "error")? };
    match verified {
        None if valid => return Err(fail(test, "message does not decode")),
        Some(true) if error == "BadVaultSignature" => return Err(fail(test, "the altered response verifies")),
        Some(false) if error != "BadVaultSignature" => return Err(fail(test, "the signature does not verify")),
        _ => {}
    }
    if !test.contains_key("clientRandomness") {
        return Ok(());
    }
    match replay_login(test)? {
        Ok((Finished::Retrieval(pending), finalization)) if valid => {
            let release = KeyRelease::from_bytes(&json::bytes(test, "keyRelease")?)
                .map_err(|error| fail(test, &error.to_string()))?;
            let key = pending.open(&release).map_err(|error| fail(test, &error.to_string()))?;
            json::all_hold(
                test,
                &[
                    (
                        finalization == json::bytes(test, "loginFinalization")?,
                        "loginFinalization",
                    ),
                    (pending.guesses_remaining() == guesses_of(test)?, "guessesRemaining"),
                    (*key.expose_secret() == json::array::<32>(test, "key")?, "key"),
                ],
            )
        }
        Ok(_) => same_outcome(test, &Ok(())),
        Err(error) => {
            if let Error::WrongPassword { guesses_remaining } = error {
                json::all_hold(
                    test,
                    &[(
                        guesses_remaining == guesses_of(test)?,
                        "WrongPassword's guesses_remaining",
                    )],
                )?;
            }
            same_outcome(test, &Err(error))
        }
    }
}

fn check_registration_receipt(test: &Map<String, Value>) -> Result<(), String> {
    let user = user_of(test)?;
    let mut rng = ReplayRng::new(&[&json::bytes(test, "clientRandomness")?]);
    let (client, request) = ClientRegistration::start(
        &mut rng,
        &config_of(test)?,
        user.clone(),
        &json::bytes(test, "password")?,
    )
    .map_err(|error| fail(test, &error.to_string()))?;
    let response = RegistrationResponse::from_bytes(&json::bytes(test, "registrationResponse")?)
        .map_err(|error| fail(test, &error.to_string()))?;
    let key = BackupKey::from_bytes(json::array(test, "key")?);
    let (awaiting, upload) = client
        .finish(&mut rng, &response, &key)
        .map_err(|error| fail(test, &error.to_string()))?;
    let upload = upload.to_bytes();
    let receipt = json::bytes(test, "registrationReceipt")?;
    let signed = hazmat::registration_receipt_signed_bytes(&user, body(&upload));
    json::all_hold(
        test,
        &[
            (rng.is_exhausted(), "clientRandomness (bytes left over)"),
            (
                request.to_bytes() == json::bytes(test, "registrationRequest")?,
                "registrationRequest",
            ),
            (upload == json::bytes(test, "registrationUpload")?, "registrationUpload"),
            (body(&upload) == json::bytes(test, "uploadBody")?, "uploadBody"),
            (json::bytes(test, "signedBytes")? == signed, "signedBytes"),
            (signed.starts_with(REGISTRATION_RECEIPT_SIGNATURE), "signedBytes label"),
            (tail(&receipt, 64) == json::bytes(test, "signature")?, "signature"),
        ],
    )?;
    if test.contains_key("storedUpload") {
        // The receipt is the vault's honest signature over what it stored, which is not the client's upload.
        let stored = json::bytes(test, "storedUpload")?;
        let signed = hazmat::registration_receipt_signed_bytes(&user, body(&stored));
        json::all_hold(
            test,
            &[
                (stored != upload, "storedUpload equals the upload"),
                (
                    verify(&json::array(test, "fleetKey")?, &signed, tail(&receipt, 64)),
                    "the receipt over storedUpload",
                ),
            ],
        )?;
    }
    let outcome = RegistrationReceipt::from_bytes(&receipt).and_then(|receipt| awaiting.verify(&receipt));
    same_outcome(test, &outcome)
}

fn check_deletion_receipt(test: &Map<String, Value>) -> Result<(), String> {
    let user = user_of(test)?;
    let Ok((Finished::Deletion(awaiting), finalization)) = replay_login(test)? else {
        return Err(fail(test, "the replayed deletion login does not finish"));
    };
    let (ke3, session_key) = opaque_client_login(
        user.as_bytes(),
        &json::bytes(test, "password")?,
        purpose_field(test)?,
        &json::bytes(test, "clientRandomness")?,
        body(&json::bytes(test, "loginResponse")?),
    )
    .map_err(|error| fail(test, &error))?;
    let deleted_k = hazmat::deleted_k(&session_key);
    let receipt = json::bytes(test, "deletionReceipt")?;
    let tag = hazmat::deletion_receipt_tag(&deleted_k, &user);
    json::all_hold(
        test,
        &[
            (
                finalization == json::bytes(test, "loginFinalization")?,
                "loginFinalization",
            ),
            (ke3 == body(&finalization), "opaque-ke's KE3"),
            (awaiting.guesses_remaining() == guesses_of(test)?, "guessesRemaining"),
            (json::bytes(test, "sessionKey")? == session_key, "sessionKey"),
            (json::bytes(test, "deletedKInfo")? == DELETED_K_INFO, "deletedKInfo"),
            (json::array::<32>(test, "deletedK")? == *deleted_k, "deletedK"),
            (json::bytes(test, "macInput")? == mac_input(user.as_bytes()), "macInput"),
            (json::bytes(test, "tag")? == tail(&receipt, 32), "tag"),
        ],
    )?;
    if json::valid(test)? {
        json::all_hold(
            test,
            &[(
                receipt
                    == frame(
                        backup_protocol::labels::type_code::DELETION_RECEIPT,
                        user.as_bytes(),
                        &tag,
                    ),
                "deletionReceipt",
            )],
        )?;
    }
    let outcome = DeletionReceipt::from_bytes(&receipt).and_then(|receipt| awaiting.verify(&receipt));
    same_outcome(test, &outcome)
}

fn check_unknown_user(test: &Map<String, Value>) -> Result<(), String> {
    let user = user_of(test)?;
    let user_id = user.as_bytes();
    let key_file = json::bytes(test, "vaultKeys")?;
    let keys = VaultKeys::from_bytes(&key_file).map_err(|error| fail(test, &error.to_string()))?;
    let oprf_seed = json::bytes(test, "oprfSeed")?;
    let info = json::bytes(test, "fakeChallengeInfo")?;
    let challenge = fake_challenge(&oprf_seed, &info);
    let identifier = json::bytes(test, "credentialIdentifier")?;
    let request = LoginRequest::from_bytes(&json::bytes(test, "loginRequest")?)
        .map_err(|error| fail(test, &error.to_string()))?;
    let response = json::bytes(test, "loginResponse")?;
    let guesses = guesses_of(test)?;
    let vault_draws = json::bytes(test, "vaultRandomness")?;

    // The crate's vault, on the vector's keys and draws, answers with exactly the vector's response ...
    let mut rng = ReplayRng::new(&[&vault_draws]);
    let (_, answered) = VaultLoginState::start(&keys, &mut rng, None, &request, || Ok::<u32, ()>(guesses))
        .map_err(|_| fail(test, "the vault refuses the request"))?;
    // ... and opaque-ke, given the stand-in challenge derived here, computes the same CredentialResponse.
    let setup = ServerSetup::<Suite>::deserialize(key_file.get(2..130).ok_or("short vaultKeys")?)
        .map_err(|error| fail(test, &error.to_string()))?;
    let ke1 = CredentialRequest::<Suite>::deserialize(&body(&request.to_bytes())[1..])
        .map_err(|error| fail(test, &error.to_string()))?;
    let context = context(request.purpose());
    let mut direct_rng = ReplayRng::new(&[&vault_draws]);
    let started = ServerLogin::start(
        &mut direct_rng,
        &setup,
        None,
        ke1,
        &identifier,
        ServerLoginParameters {
            context: Some(&context),
            identifiers: Identifiers {
                client: Some(user_id),
                server: None,
            },
        },
    )
    .map_err(|error| fail(test, &error.to_string()))?;
    json::all_hold(
        test,
        &[
            (
                rng.is_exhausted() && direct_rng.is_exhausted(),
                "vaultRandomness (bytes left over)",
            ),
            (key_file.get(2..66) == Some(oprf_seed.as_slice()), "oprfSeed"),
            (info == [FAKE_CHALLENGE_INFO, user_id].concat(), "fakeChallengeInfo"),
            (json::bytes(test, "fakeChallenge")? == challenge, "fakeChallenge"),
            (
                identifier == [&[user_id.len() as u8][..], user_id, &challenge].concat(),
                "credentialIdentifier",
            ),
            (answered.to_bytes() == response, "the vault's loginResponse"),
            (
                started.message.serialize().as_slice() == &body(&response)[RESPONSE_KE2],
                "opaque-ke's fake CredentialResponse for credentialIdentifier",
            ),
            (
                body(&response)[RESPONSE_KSF] == ksf_bytes(&KsfParams::RECOMMENDED),
                "ksfParams are the defaults",
            ),
            (keys.pins() == *config_of(test)?.pins(), "fleetKey and opaqueServerKey"),
        ],
    )?;
    check_login(test)
}

fn check_test(kind: &str, test: &Map<String, Value>) -> Result<(), String> {
    match kind {
        "Registration" => check_registration(test),
        "RegistrationReceipt" => check_registration_receipt(test),
        "Login" => check_login(test),
        "DeletionReceipt" => check_deletion_receipt(test),
        "UnknownUser" => check_unknown_user(test),
        "Api" => api::check_test(test),
        other => Err(format!("unknown group type {other}")),
    }
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, |group, test| check_test(json::text(group, "type")?, test))
}
