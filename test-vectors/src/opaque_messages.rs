//! Our OPAQUE exchanges in RFC 9807's vector layout (`inputs`, `intermediates`, `outputs`): our ciphersuite
//! ([`backup_protocol::Suite`], Argon2id KSF), our identifiers (client identity = user id, server identity = the
//! server's public key by default) and our context (`OPAQUE_CONTEXT || purpose code`); and exchanges with a
//! wrong password, an altered message or a mismatched context, which must fail at the named step.

use backup_protocol::labels::OPAQUE_CONTEXT;
use backup_protocol::{KsfParams, LoginPurpose, Suite};
use opaque_ke::argon2::{Algorithm, Argon2, Params, Version};
use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};
use crate::opaque::{self, Failure, Inputs, Outputs};

/// The messages and keys of an exchange, in the order they are produced (RFC 9807's `outputs`).
pub const OUTPUTS: [&str; 8] = [
    "registration_request",
    "registration_response",
    "registration_upload",
    "KE1",
    "KE2",
    "KE3",
    "export_key",
    "session_key",
];

/// The Argon2id KSF opaque-ke runs for `params` (as backup-protocol configures it).
pub(crate) fn argon2(params: KsfParams) -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(params.memory_kib(), params.iterations(), params.parallelism(), None).expect("valid parameters"),
    )
}

fn notes() -> Value {
    json!({
        "configuration": "RFC 9807 OPAQUE-3DH: OPRF ristretto255-SHA512, key exchange 3DH over ristretto255, Hash SHA-512, KDF HKDF-SHA512, MAC HMAC-SHA512, KSF Argon2id (version 0x13, 16 zero bytes of salt, 64-byte output, parameters in ksfMemoryKib / ksfIterations / ksfParallelism), as opaque-ke 4.0.1 with backup_protocol::Suite",
        "layout": "inputs / intermediates / outputs named as in RFC 9807 appendix C; inputs also carry client_identity (the user id; server_identity is absent: it defaults to the server public key), context (OPAQUE_CONTEXT || purpose code) and credential_identifier (len8(user id) || user id || registration challenge), as backup-protocol/SPEC.md sets them",
        "tamperedKe2": "in the tests that alter KE2 (flag Tampered, failingStep client_login_finish) the key schedule shown (preamble, handshake_secret, server_mac_key, client_mac_key) is the client's view: it is computed over the altered KE2 the client received, not over the KE2 the server sent and computed its MAC over (where the altered bytes are in the preamble, it differs from the server's schedule); ikm is the exchange's (the altered bytes are not key shares). With only the MAC altered, the preamble (which excludes the MAC) and so the schedule equal the honest exchange's, and the client fails at the server MAC (InvalidLogin); with the masking nonce or the masked response altered, the client fails earlier, when it unmasks another server public key and envelope and the envelope does not open (InvalidLogin), and never reaches this schedule. backup-protocol/SPEC.md section 2 says the same",
        "randomness": "the blinds are canonical scalars below 2^252; opaque-ke draws: registration blind, envelope_nonce; login blind, client_keyshare_seed, client_nonce; masking_nonce, server_keyshare_seed, server_nonce",
        "intermediates": "oprf_output = the OPRF output (RFC 9497 Finalize) at registration, login_oprf_output the client's at login (with login_password if present); randomized_password = HKDF-Extract(salt = empty, oprf_output || Argon2id(oprf_output)); masking_key = Expand(randomized_password, \"MaskingKey\", 64); auth_key = Expand(randomized_password, envelope_nonce || \"AuthKey\", 64); export_key = Expand(randomized_password, envelope_nonce || \"ExportKey\", 64); envelope = envelope_nonce || HMAC(auth_key, envelope_nonce || server_public_key || len16(server_identity) || server_identity || len16(client_identity) || client_identity); registration_upload = client_public_key || masking_key || envelope; KE2's masked_response = (server_public_key || envelope) XOR Expand(masking_key, masking_nonce || \"CredentialResponsePad\", 128)",
        "keySchedule": "RFC 9807 section 6.4, as the server computes it in valid tests (in tests that alter KE2 it is the client's view: see tamperedKe2): ikm = dh1 || dh2 || dh3 (server ephemeral x client ephemeral, server static x client ephemeral, server ephemeral x client static); preamble = \"OPAQUEv1-\" || len16(context) || context || len16(client_identity) || client_identity || KE1 || len16(server_identity) || server_identity || KE2 without its MAC; prk = HKDF-Extract(empty, ikm); handshake_secret = Expand-Label(prk, \"HandshakeSecret\", SHA-512(preamble)); session_key = Expand-Label(prk, \"SessionKey\", SHA-512(preamble)); server_mac_key / client_mac_key = Expand-Label(handshake_secret, \"ServerMAC\" / \"ClientMAC\", empty); KE2's MAC = HMAC(server_mac_key, SHA-512(preamble)); KE3 = HMAC(client_mac_key, SHA-512(preamble || KE2's MAC)); Expand-Label(secret, label, context) = HKDF-Expand(secret, u16(64) || len8(\"OPAQUE-\" || label) || \"OPAQUE-\" || label || len8(context) || context, 64). The Rust consumer checks this schedule against opaque-ke's messages and RFC 9807's own intermediates",
        "negative": "invalid tests replay the exchange feeding each party the vector's messages; the party named by failingStep must reject with error. login_password (used by the client at login instead of password) and client_context (the client's context instead of context) are our extensions for these cases; their intermediates are the login's (login_oprf_output and the key schedule over the messages the test carries: the server's, except for an altered KE2, see tamperedKe2). A test refused during registration, or at a KE1 of another length than 96 bytes, stops at the refused message and carries no intermediates. error: InvalidLogin, Deserialization (a group element that is no canonical ristretto255 encoding), ReflectedValue (the evaluation equals the blinded element), Other (opaque-ke's SizeError: a message of another length)",
        "python": "check_vectors.py has no ristretto255, so it takes oprf_output, login_oprf_output and ikm from the intermediates and re-derives everything downstream with the cryptography package: randomized_password (Argon2id), masking_key, auth_key, export_key, the envelope, the registration upload, KE2's masked response, the preamble, the key schedule, both MACs, KE3 and session_key, playing the client (with its own context and password) and the server; the OPRF evaluation, the key pairs and the Diffie-Hellman values themselves it cannot check, and checks those for length and encoding only",
    })
}

struct Case {
    comment: &'static str,
    ksf: KsfParams,
    purpose: LoginPurpose,
    user_id: &'static [u8],
}

/// Deterministic inputs for one exchange.
fn inputs_for(seed: u8, case: &Case) -> Inputs {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let mut draw = |length: usize| {
        let mut bytes = vec![0; length];
        rng.fill_bytes(&mut bytes);
        bytes
    };
    let mut scalar = || {
        let mut bytes = draw(32);
        bytes[31] &= 0x0f; // below 2^252 < l: a canonical scalar
        bytes
    };
    let blind_registration = scalar();
    let blind_login = scalar();
    let server_private_key = scalar();
    let challenge = draw(32);
    let credential_identifier = [&[case.user_id.len() as u8][..], case.user_id, &challenge].concat();
    let context = [OPAQUE_CONTEXT, &[case.purpose.code()]].concat();
    let fields = [
        ("oprf_seed", draw(64)),
        ("server_private_key", server_private_key),
        ("credential_identifier", credential_identifier),
        ("client_identity", case.user_id.to_vec()),
        ("context", context),
        ("password", b"correct horse battery staple".to_vec()),
        ("blind_registration", blind_registration),
        ("envelope_nonce", draw(32)),
        ("blind_login", blind_login),
        ("client_keyshare_seed", draw(32)),
        ("client_nonce", draw(32)),
        ("masking_nonce", draw(32)),
        ("server_keyshare_seed", draw(32)),
        ("server_nonce", draw(32)),
    ];
    Inputs {
        fields: fields
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    }
}

fn hex_object<'a>(entries: impl IntoIterator<Item = (&'a str, &'a Vec<u8>)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(name, value)| (name.to_string(), json!(hex::encode(value))))
            .collect(),
    )
}

fn base_test(comment: &str, ksf: KsfParams, inputs: &Inputs) -> Value {
    json!({
        "comment": comment,
        "flags": [],
        "ksfMemoryKib": ksf.memory_kib(),
        "ksfIterations": ksf.iterations(),
        "ksfParallelism": ksf.parallelism(),
        "inputs": hex_object(inputs.fields.iter().map(|(name, value)| (name.as_str(), value))),
    })
}

fn valid_test(case: &Case, inputs: &Inputs) -> Value {
    let ksf = argon2(case.ksf);
    let (outputs, outcome) = opaque::replay::<Suite>(inputs, &ksf, &Outputs::new());
    outcome.expect("an honest exchange succeeds");
    assert_eq!(outputs["export_key"], outputs["login_export_key"]);
    assert_eq!(outputs["session_key"], outputs["server_session_key"]);
    let mut intermediates = opaque::intermediates::<Suite>(inputs, &ksf, &outputs).expect("consistent");
    intermediates.extend(opaque::login_intermediates(inputs, &outputs, true).expect("consistent"));
    let mut test = base_test(case.comment, case.ksf, inputs);
    test["result"] = json!("valid");
    test["intermediates"] = hex_object(intermediates.iter().map(|(name, value)| (*name, value)));
    test["outputs"] = hex_object(OUTPUTS.iter().map(|name| (*name, &outputs[name])));
    test
}

/// An exchange that must fail: `alter_inputs` changes the inputs, `alter_messages` the messages the parties
/// honestly produce from them; replaying the altered messages must fail at `failing_step`. The test records the
/// messages up to the one the failing party rejects.
fn invalid_test(
    comment: &str,
    flag: &str,
    inputs: &Inputs,
    alter_inputs: impl FnOnce(&mut Inputs),
    alter_messages: impl FnOnce(&mut Outputs),
    failing_step: &str,
) -> Value {
    let ksf = argon2(KsfParams::INSECURE_FAST);
    let mut inputs = inputs.clone();
    alter_inputs(&mut inputs);
    let (mut given, _) = opaque::replay::<Suite>(&inputs, &ksf, &Outputs::new());
    let last_message = match failing_step {
        "server_registration_start" => "registration_request",
        "client_registration_finish" => "registration_response",
        "server_registration_finish" => "registration_upload",
        "server_login_start" => "KE1",
        "client_login_finish" => "KE2",
        "server_login_finish" => "KE3",
        other => panic!("no message is rejected at {other}"),
    };
    let shown = &OUTPUTS[..=OUTPUTS
        .iter()
        .position(|name| *name == last_message)
        .expect("a message")];
    given.retain(|name, _| shown.contains(name));
    alter_messages(&mut given);
    let (_, outcome) = opaque::replay::<Suite>(&inputs, &ksf, &given);
    let error = match outcome {
        Err(Failure::Protocol { step, error }) if step == failing_step => error,
        other => panic!("{comment}: expected a failure at {failing_step}, got {other:?}"),
    };
    let mut test = base_test(comment, KsfParams::INSECURE_FAST, &inputs);
    test["flags"] = json!([flag]);
    test["result"] = json!("invalid");
    test["failingStep"] = json!(failing_step);
    test["error"] = json!(error);
    let intermediates = rejection_intermediates(&inputs, &given).expect("computable");
    test["intermediates"] = hex_object(intermediates.iter().map(|(name, value)| (*name, value)));
    test["outputs"] = hex_object(given.iter().map(|(name, value)| (*name, value)));
    test
}

/// The intermediates of a rejected exchange: the login's (the client's view, see the notes); none if it is refused
/// during registration (the vector then stops before KE1) or KE1 has another length than 96 bytes (no party reads
/// it, so nothing follows from it).
fn rejection_intermediates(inputs: &Inputs, given: &Outputs) -> Result<BTreeMap<&'static str, Vec<u8>>, String> {
    match given.get("KE1") {
        Some(ke1) if ke1.len() == 96 => opaque::login_intermediates(inputs, given, false),
        _ => Ok(BTreeMap::new()),
    }
}

fn flip(message: &mut Outputs, name: &'static str, index: usize) {
    let value = message.get_mut(name).expect("message present");
    value[index] ^= 0x01;
}

/// Replaces the 32-byte group element at `offset` of `name` by all-ones bytes: above p, so no canonical ristretto255
/// encoding (RFC 9496 section 4.3.1 step 1).
fn non_canonical(given: &mut Outputs, name: &'static str, offset: usize) {
    given.get_mut(name).expect("message present")[offset..offset + 32].fill(0xff);
}

/// Exchanges that must fail, all from the inputs of the first valid test.
#[allow(clippy::too_many_lines)] // one exchange per case
fn rejections(inputs: &Inputs) -> Vec<Value> {
    let keep = |_: &mut Inputs| {};
    let honest = |_: &mut Outputs| {};
    vec![
        invalid_test(
            "wrong password at login",
            "WrongPassword",
            inputs,
            |inputs| {
                inputs
                    .fields
                    .insert("login_password".into(), b"correct horse battery stable".to_vec());
            },
            honest,
            "client_login_finish",
        ),
        invalid_test(
            "client and server disagree on the context (purpose 0x02 against 0x01)",
            "ContextMismatch",
            inputs,
            |inputs| {
                let mut context = inputs.get("context").expect("context").to_vec();
                *context.last_mut().expect("purpose byte") = LoginPurpose::DeleteRecord.code();
                inputs.fields.insert("client_context".into(), context);
            },
            honest,
            "client_login_finish",
        ),
        invalid_test(
            "KE2 server MAC altered",
            "Tampered",
            inputs,
            keep,
            |given| flip(given, "KE2", 319),
            "client_login_finish",
        ),
        invalid_test(
            "KE2 masked response altered (the server public key inside it)",
            "Tampered",
            inputs,
            keep,
            |given| flip(given, "KE2", 64),
            "client_login_finish",
        ),
        invalid_test(
            "KE2 masking nonce altered",
            "Tampered",
            inputs,
            keep,
            |given| flip(given, "KE2", 32),
            "client_login_finish",
        ),
        invalid_test(
            "KE3 client MAC altered",
            "Tampered",
            inputs,
            keep,
            |given| flip(given, "KE3", 0),
            "server_login_finish",
        ),
        invalid_test(
            "registration request's blinded element not a canonical ristretto255 encoding",
            "InvalidElement",
            inputs,
            keep,
            |given| non_canonical(given, "registration_request", 0),
            "server_registration_start",
        ),
        invalid_test(
            "registration response's evaluated element not a canonical ristretto255 encoding",
            "InvalidElement",
            inputs,
            keep,
            |given| non_canonical(given, "registration_response", 0),
            "client_registration_finish",
        ),
        invalid_test(
            "registration response's server public key not a canonical ristretto255 encoding",
            "InvalidElement",
            inputs,
            keep,
            |given| non_canonical(given, "registration_response", 32),
            "client_registration_finish",
        ),
        invalid_test(
            "registration response evaluates to the blinded element itself (the server reflects it)",
            "Reflected",
            inputs,
            keep,
            |given| {
                let request = given["registration_request"].clone();
                given.get_mut("registration_response").expect("present")[..32].copy_from_slice(&request);
            },
            "client_registration_finish",
        ),
        invalid_test(
            "registration upload's client public key not a canonical ristretto255 encoding",
            "InvalidElement",
            inputs,
            keep,
            |given| non_canonical(given, "registration_upload", 0),
            "server_registration_finish",
        ),
        invalid_test(
            "KE2 evaluates to KE1's blinded element itself (the server reflects it)",
            "Reflected",
            inputs,
            keep,
            |given| {
                let blinded = given["KE1"][..32].to_vec();
                given.get_mut("KE2").expect("present")[..32].copy_from_slice(&blinded);
            },
            "client_login_finish",
        ),
        invalid_test(
            "KE1 one byte short",
            "WrongLength",
            inputs,
            keep,
            |given| {
                given.get_mut("KE1").expect("present").pop();
            },
            "server_login_start",
        ),
        invalid_test(
            "KE1 blinded element not a canonical ristretto255 encoding",
            "InvalidElement",
            inputs,
            keep,
            |given| {
                if let Some(ke1) = given.get_mut("KE1") {
                    ke1[..32].fill(0xff);
                }
            },
            "server_login_start",
        ),
    ]
}

/// The vector file.
pub fn generate() -> Value {
    let cases = [
        Case {
            comment: "Argon2id at the cheapest valid parameters (tests only), retrieve-key login",
            ksf: KsfParams::INSECURE_FAST,
            purpose: LoginPurpose::RetrieveKey,
            user_id: b"alice@example.com",
        },
        Case {
            comment: "Argon2id at the recommended parameters (19 MiB, 2 passes, 1 lane)",
            ksf: KsfParams::RECOMMENDED,
            purpose: LoginPurpose::RetrieveKey,
            user_id: b"alice@example.com",
        },
        Case {
            comment: "delete-record login (context ends in 0x02), binary user id",
            ksf: KsfParams::INSECURE_FAST,
            purpose: LoginPurpose::DeleteRecord,
            user_id: &[0x00, 0xff, 0x10, 0x80],
        },
    ];
    let valid: Vec<Value> = cases
        .iter()
        .zip(1u8..)
        .map(|(case, seed)| valid_test(case, &inputs_for(seed, case)))
        .collect();

    let invalid = rejections(&inputs_for(1, &cases[0]));
    json::file(
        "OPAQUE-3DH-RISTRETTO255-SHA512-ARGON2ID",
        "opaque_messages.schema.json",
        &notes(),
        vec![
            json!({"type": "OpaqueExchange", "tests": valid}),
            json!({"type": "OpaqueRejection", "tests": invalid}),
        ],
    )
}

fn hex_fields(test: &Map<String, Value>, field: &str) -> Result<Outputs, String> {
    let object = test
        .get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| fail(test, &format!("no {field}")))?;
    let mut out = Outputs::new();
    for name in OUTPUTS {
        if let Some(value) = object.get(name) {
            let encoded = value.as_str().ok_or_else(|| fail(test, name))?;
            out.insert(
                name,
                hex::decode(encoded).map_err(|error| fail(test, &error.to_string()))?,
            );
        }
    }
    if out.len() != object.len() {
        return Err(fail(test, &format!("unknown entry in {field}")));
    }
    Ok(out)
}

fn ksf_of(test: &Map<String, Value>) -> Result<Argon2<'static>, String> {
    let number = |field: &str| {
        test.get(field)
            .and_then(Value::as_u64)
            .and_then(|value| u32::try_from(value).ok())
            .ok_or_else(|| fail(test, field))
    };
    let params = KsfParams::new(
        number("ksfMemoryKib")?,
        number("ksfIterations")?,
        number("ksfParallelism")?,
    )
    .map_err(|error| fail(test, &error.to_string()))?;
    Ok(argon2(params))
}

fn check_test(_group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    let inputs = Inputs::from_json(
        test.get("inputs")
            .and_then(Value::as_object)
            .ok_or_else(|| fail(test, "no inputs"))?,
    )
    .map_err(|error| fail(test, &error))?;
    let ksf = ksf_of(test)?;
    let given = hex_fields(test, "outputs")?;
    let (produced, outcome) = opaque::replay::<Suite>(&inputs, &ksf, &given);
    if !json::valid(test)? {
        let step = json::text(test, "failingStep")?;
        let error = json::text(test, "error")?;
        return match outcome {
            Err(Failure::Protocol {
                step: failed,
                error: found,
            }) if failed == step && found == error => {
                let derived = rejection_intermediates(&inputs, &given).map_err(|error| fail(test, &error))?;
                same_intermediates(test, &derived)
            }
            other => Err(fail(test, &format!("expected {error} at {step}, got {other:?}"))),
        };
    }
    outcome.map_err(|failure| fail(test, &format!("{failure:?}")))?;
    let mut checks: Vec<(bool, &str)> = OUTPUTS
        .iter()
        .map(|name| (given.get(name) == produced.get(name), *name))
        .collect();
    checks.push((
        produced.get("login_export_key") == given.get("export_key"),
        "login export_key",
    ));
    checks.push((
        produced.get("server_session_key") == given.get("session_key"),
        "server session_key",
    ));
    json::all_hold(test, &checks)?;
    let mut derived = opaque::intermediates::<Suite>(&inputs, &ksf, &produced).map_err(|error| fail(test, &error))?;
    derived.extend(opaque::login_intermediates(&inputs, &produced, true).map_err(|error| fail(test, &error))?);
    same_intermediates(test, &derived)
}

/// The test's `intermediates` are exactly `derived`.
fn same_intermediates(test: &Map<String, Value>, derived: &BTreeMap<&str, Vec<u8>>) -> Result<(), String> {
    let recorded = test
        .get("intermediates")
        .and_then(Value::as_object)
        .ok_or_else(|| fail(test, "no intermediates"))?;
    if recorded.len() != derived.len() {
        return Err(fail(test, "intermediates differ in number"));
    }
    for (name, value) in derived {
        if recorded.get(*name).and_then(Value::as_str) != Some(hex::encode(value).as_str()) {
            return Err(fail(test, &format!("intermediate {name} differs")));
        }
    }
    Ok(())
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
