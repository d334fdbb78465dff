//! Vault message vectors: a whole registration and login, deterministic, with every wire message, the exact bytes
//! the vault signs and its Ed25519 signatures; and responses altered in transit, which must fail verification.

use backup_protocol::hazmat;
use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfParams, KsfPolicy, LoginPurpose, LoginResponse,
    PendingRegistration, RegistrationResponse, UserId, VaultKeys, VaultLoginState,
};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

/// Offsets inside a message after `version || type || len8(userId) || userId`.
fn body(message: &[u8]) -> &[u8] {
    let user_len = usize::from(message.get(2).copied().unwrap_or(0));
    message.get(3 + user_len..).unwrap_or_default()
}

fn run(seed: u64, user_id: &[u8]) -> (Value, Value) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys = VaultKeys::generate(&mut rng);
    let config = ClientConfig::insecure_fast_for_testing(keys.pins());
    let user = UserId::new(user_id.to_vec()).expect("valid user id");
    let key = BackupKey::generate(&mut rng);

    let (client, request) = ClientRegistration::start(&mut rng, &config, user.clone(), b"password").expect("start");
    let (pending, response) = PendingRegistration::start(&keys, &mut rng, &request).expect("answer");
    let upload = client.finish(&mut rng, &response, &key).expect("finish");
    let record = pending.finish(&upload, &KsfPolicy::INSECURE_TESTING).expect("record");
    let (request_bytes, response_bytes) = (request.to_bytes(), response.to_bytes());
    let challenge: [u8; 32] = body(&response_bytes)[..32].try_into().expect("32 bytes");
    let registration = json!({
        "comment": "registration", "flags": [], "result": "valid", "userId": hex::encode(user_id),
        "fleetKey": hex::encode(keys.pins().fleet_key().as_bytes()),
        "opaqueServerKey": hex::encode(keys.pins().opaque_server_key()),
        "registrationRequest": hex::encode(&request_bytes),
        "registrationResponse": hex::encode(&response_bytes),
        "registrationUpload": hex::encode(upload.to_bytes()),
        "challenge": hex::encode(challenge),
        "signedBytes": hex::encode(hazmat::registration_response_signed_bytes(
            &user, &challenge, body(&request_bytes), &body(&response_bytes)[32..96])),
        "signature": hex::encode(&body(&response_bytes)[96..]),
    });

    let (client, request) = ClientLogin::start(&mut rng, &config, user.clone(), b"password").expect("start");
    let (state, response) =
        VaultLoginState::start(&keys, &mut rng, Some(&record), &request, || Ok::<(), ()>(())).expect("answer");
    let (_, finalization) = client.finish(&mut rng, &response).expect("password");
    let release = state.finish(&mut rng, Some(&record), &finalization).expect("release");
    let (request_bytes, response_bytes) = (request.to_bytes(), response.to_bytes());
    let response_body = body(&response_bytes);
    let ksf = KsfParams::INSECURE_FAST;
    let login = json!({
        "comment": "login", "flags": [], "result": "valid", "userId": hex::encode(user_id),
        "fleetKey": hex::encode(keys.pins().fleet_key().as_bytes()),
        "loginRequest": hex::encode(&request_bytes),
        "loginResponse": hex::encode(&response_bytes),
        "loginFinalization": hex::encode(finalization.to_bytes()),
        "keyRelease": hex::encode(release.to_bytes()),
        "purpose": LoginPurpose::RetrieveKey.code(),
        "ksfParams": hex::encode(&response_body[..12]),
        "signedBytes": hex::encode(hazmat::login_response_signed_bytes(
            &user, LoginPurpose::RetrieveKey, &body(&request_bytes)[1..], &ksf, &response_body[12..332])),
        "signature": hex::encode(&response_body[332..]),
    });
    (registration, login)
}

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
    if let Some(object) = test.as_object_mut() {
        object.remove("signedBytes");
    }
    test
}

/// The vector file.
pub fn generate() -> Value {
    let (registration, login) = run(0x0076_6175_6c74, b"15551234567@s.whatsapp.net");
    let (registration_short, login_short) = run(0x0076_6175_6c75, b"a");
    let header = 3 + 26;
    let registrations = vec![
        tampered(&registration, "registrationResponse", header, 0x01, "challenge altered"),
        tampered(
            &registration,
            "registrationResponse",
            header + 40,
            0x01,
            "OPRF evaluation altered",
        ),
        tampered(
            &registration,
            "registrationRequest",
            header + 3,
            0x01,
            "request altered before the vault answered",
        ),
        tampered(
            &registration,
            "registrationResponse",
            header + 159,
            0x01,
            "signature altered",
        ),
        registration,
        registration_short,
    ];
    let logins = vec![
        tampered(&login, "loginResponse", header + 3, 0x01, "Argon2id parameters altered"),
        tampered(
            &login,
            "loginResponse",
            header + 100,
            0x01,
            "credential response altered",
        ),
        tampered(
            &login,
            "loginRequest",
            header,
            0x03,
            "purpose changed from retrieve (1) to delete (2)",
        ),
        login,
        login_short,
    ];
    json::file(
        "BACKUP-VAULT-MESSAGES-OPAQUE-RISTRETTO255-ED25519",
        "vault_messages.schema.json",
        &json!({
            "framing": "every message: 0x01 || type || len8(userId) || userId || body; see backup-protocol/SPEC.md section 4",
            "RegistrationSignature": "signedBytes = \"backup-protocol/v1/registration-response\" || 0x01 || len8(userId) || userId || challenge || OPAQUE RegistrationRequest (request body) || OPAQUE RegistrationResponse (response body[32..96]); signature = response body[96..160], Ed25519 (strict) under fleetKey",
            "LoginSignature": "signedBytes = \"backup-protocol/v1/login-response\" || 0x01 || len8(userId) || userId || purpose || OPAQUE CredentialRequest (request body[1..97]) || Argon2id parameters (response body[0..12]) || OPAQUE CredentialResponse (response body[12..332]); signature = response body[332..396]",
            "Tampered": "a byte of a message changed in transit; the signature check must fail",
            "opaque": "the OPAQUE fields themselves (ristretto255, 3DH) follow RFC 9807; these vectors pin the framing and signatures around them",
        }),
        vec![
            json!({"type": "Registration", "tests": registrations}),
            json!({"type": "Login", "tests": logins}),
        ],
    )
}

fn verify(fleet_key: &[u8; 32], signed: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(fleet_key) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify_strict(signed, &signature).is_ok()
}

fn check_test(kind: &str, test: &Map<String, Value>) -> Result<(), String> {
    let user = UserId::new(json::bytes(test, "userId")?).map_err(|error| error.to_string())?;
    let fleet_key = json::array::<32>(test, "fleetKey")?;
    let (signed, signature) = if kind == "Registration" {
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
        let challenge: [u8; 32] = body(&response)
            .get(..32)
            .and_then(|c| c.try_into().ok())
            .ok_or("short")?;
        let signed =
            hazmat::registration_response_signed_bytes(&user, &challenge, body(&request), &body(&response)[32..96]);
        (signed, body(&response)[96..].to_vec())
    } else {
        let request = json::bytes(test, "loginRequest")?;
        let response = json::bytes(test, "loginResponse")?;
        let (Ok(decoded_request), Ok(_)) = (
            backup_protocol::LoginRequest::from_bytes(&request),
            LoginResponse::from_bytes(&response),
        ) else {
            return if json::valid(test)? {
                Err(fail(test, "message does not decode"))
            } else {
                Ok(())
            };
        };
        let response_body = body(&response);
        let ksf_bytes = &response_body[..12];
        let ksf = KsfParams::new(
            u32::from_be_bytes(ksf_bytes[..4].try_into().map_err(|_| "ksf")?),
            u32::from_be_bytes(ksf_bytes[4..8].try_into().map_err(|_| "ksf")?),
            u32::from_be_bytes(ksf_bytes[8..].try_into().map_err(|_| "ksf")?),
        )
        .map_err(|error| error.to_string())?;
        // The signed purpose is the one the client asked for; here the request carries it.
        let signed = hazmat::login_response_signed_bytes(
            &user,
            decoded_request.purpose(),
            &body(&request)[1..],
            &ksf,
            &response_body[12..332],
        );
        (signed, response_body[332..].to_vec())
    };
    let verified = verify(&fleet_key, &signed, &signature);
    match (json::valid(test)?, verified) {
        (true, true) if json::bytes(test, "signedBytes")? == signed && json::bytes(test, "signature")? == signature => {
            Ok(())
        }
        (false, false) => Ok(()),
        _ => Err(fail(test, "signature verification disagrees with the expected result")),
    }
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, |group, test| check_test(json::text(group, "type")?, test))
}
