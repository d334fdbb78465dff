//! vault_messages' `Api` group: each test names one call of backup-protocol's public API (`call`) and carries its
//! inputs as bytes or values; the outcome is what the crate returns, obtained by running that call when generating
//! and again when checking. It covers the errors no whole exchange of the other groups produces: the parameter
//! checks (`InvalidUserId`, `InvalidKsfParams`, `WeakPinnedKey`), every decoder (`Decode` with its `DecodeError`),
//! the vault's own checks (`ChallengeMismatch`, `KsfParamsRejected`, `Rejected(UserMismatch)`, `WrongPurpose`,
//! `ClientAuthenticationFailed`, `RecordUnavailable`) and the client's checks of a signed answer
//! (`UnpinnedServerKey`, `Opaque`, `KsfParamsRejected`).

use backup_protocol::hazmat;
use backup_protocol::{
    BackupKey, BackupRecord, ClientConfig, ClientLogin, ClientRegistration, DeletionReceipt, Error, KeyRelease,
    KsfParams, KsfPolicy, LoginFinalization, LoginPurpose, LoginRequest, LoginResponse, LoginStartError,
    PendingRegistration, RegistrationReceipt, RegistrationRequest, RegistrationResponse, RegistrationUpload, UserId,
    VaultKeys, VaultLoginState, VaultPins,
};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, Value, json};

use super::{Fleet, PASSWORD, body, frame, log_in, register};
use crate::json::{self, fail};
use crate::opaque::ReplayRng;

/// The fields of a `DecodeError` beside `decodeError`.
fn decode_fields(error: &backup_protocol::DecodeError) -> (String, Vec<(&'static str, Value)>) {
    use backup_protocol::DecodeError as D;
    let fields = match *error {
        D::LegacyVersion { found } | D::UnknownVersion { found } => vec![("found", json!(found))],
        D::WrongType { expected, found } => vec![("expected", json!(expected)), ("found", json!(found))],
        D::InvalidField(what) => vec![("invalidField", json!(what))],
        _ => vec![],
    };
    (variant(&format!("{error:?}")), fields)
}

/// The leading identifier of a `Debug` form: the variant's name.
fn variant(debug: &str) -> String {
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// An `Error`'s name and fields under the vector's field names (`Decode`: `what`, `decodeError` and its fields).
fn error_fields(error: &Error) -> (String, Vec<(&'static str, Value)>) {
    match error {
        Error::Decode { what, reason } => {
            let (name, mut fields) = decode_fields(reason);
            fields.splice(0..0, [("what", json!(what)), ("decodeError", json!(name))]);
            ("Decode".into(), fields)
        }
        other => (variant(&format!("{other:?}")), vec![]),
    }
}

/// Every field an error of this group may carry: a refusal carries exactly those of its error. (No call here
/// reaches `WrongPassword`, whose `guesses_remaining` the Login group carries.)
const ERROR_FIELDS: [&str; 5] = ["what", "decodeError", "found", "expected", "invalidField"];

type Outcome = Result<Vec<(&'static str, Value)>, (String, Vec<(&'static str, Value)>)>;

fn refused(error: &Error) -> (String, Vec<(&'static str, Value)>) {
    error_fields(error)
}

/// The decoder of each encoding, by its `what` (backup-protocol SPEC 11.1): whether it accepts the bytes.
fn decode(what: &str, bytes: &[u8]) -> Result<Result<(), Error>, String> {
    Ok(match what {
        "registration request" => RegistrationRequest::from_bytes(bytes).map(|_| ()),
        "registration response" => RegistrationResponse::from_bytes(bytes).map(|_| ()),
        "registration upload" => RegistrationUpload::from_bytes(bytes).map(|_| ()),
        "registration receipt" => RegistrationReceipt::from_bytes(bytes).map(|_| ()),
        "login request" => LoginRequest::from_bytes(bytes).map(|_| ()),
        "login response" => LoginResponse::from_bytes(bytes).map(|_| ()),
        "login finalization" => LoginFinalization::from_bytes(bytes).map(|_| ()),
        "key release" => KeyRelease::from_bytes(bytes).map(|_| ()),
        "deletion receipt" => DeletionReceipt::from_bytes(bytes).map(|_| ()),
        "pending registration" => PendingRegistration::from_bytes(bytes).map(|_| ()),
        "backup record" => BackupRecord::from_bytes(bytes).map(|_| ()),
        "vault login state" => VaultLoginState::from_bytes(bytes).map(|_| ()),
        "vault keys" => VaultKeys::from_bytes(bytes).map(|_| ()),
        other => return Err(format!("unknown encoding {other}")),
    })
}

fn u32_field(test: &Map<String, Value>, field: &str) -> Result<u32, String> {
    test.get(field)
        .and_then(Value::as_u64)
        .and_then(|value| u32::try_from(value).ok())
        .ok_or_else(|| fail(test, &format!("{field} is not a u32")))
}

fn pins_of(test: &Map<String, Value>) -> Result<VaultPins, String> {
    VaultPins::new(json::array(test, "fleetKey")?, json::array(test, "opaqueServerKey")?)
        .map_err(|error| fail(test, &error.to_string()))
}

fn decoded<T>(result: Result<T, Error>, test: &Map<String, Value>) -> Result<T, String> {
    result.map_err(|error| fail(test, &format!("an input does not decode: {error}")))
}

/// Runs the test's call on its inputs: the crate's outcome.
#[allow(clippy::too_many_lines)] // one arm per call
fn run(test: &Map<String, Value>) -> Result<Outcome, String> {
    let call = json::text(test, "call")?;
    let unit = |result: Result<(), Error>| result.map(|()| vec![]).map_err(|error| refused(&error));
    Ok(match call {
        "UserId::new" => unit(UserId::new(json::bytes(test, "userId")?).map(|_| ())),
        "KsfParams::new" => unit(
            KsfParams::new(
                u32_field(test, "ksfMemoryKib")?,
                u32_field(test, "ksfIterations")?,
                u32_field(test, "ksfParallelism")?,
            )
            .map(|_| ()),
        ),
        "VaultPins::new" => {
            unit(VaultPins::new(json::array(test, "fleetKey")?, json::array(test, "opaqueServerKey")?).map(|_| ()))
        }
        "decode" => unit(decode(json::text(test, "what")?, &json::bytes(test, "message")?)?),
        "PendingRegistration::finish" => {
            let keys = decoded(VaultKeys::from_bytes(&json::bytes(test, "vaultKeys")?), test)?;
            let pending = decoded(
                PendingRegistration::from_bytes(&json::bytes(test, "pendingRegistration")?),
                test,
            )?;
            let upload = decoded(
                RegistrationUpload::from_bytes(&json::bytes(test, "registrationUpload")?),
                test,
            )?;
            pending
                .finish(&keys, &upload, &KsfPolicy::INSECURE_TESTING)
                .map(|(record, receipt)| {
                    vec![
                        ("record", json!(hex::encode(record.to_bytes()))),
                        ("registrationReceipt", json!(hex::encode(receipt.to_bytes()))),
                    ]
                })
                .map_err(|error| refused(&error))
        }
        "VaultLoginState::start" => {
            let keys = decoded(VaultKeys::from_bytes(&json::bytes(test, "vaultKeys")?), test)?;
            let record = decoded(BackupRecord::from_bytes(&json::bytes(test, "record")?), test)?;
            let request = decoded(LoginRequest::from_bytes(&json::bytes(test, "loginRequest")?), test)?;
            let guesses = u32_field(test, "guessesRemaining")?;
            let mut rng = ReplayRng::new(&[&json::bytes(test, "vaultRandomness")?]);
            match VaultLoginState::start(&keys, &mut rng, Some(&record), &request, || Ok::<u32, ()>(guesses)) {
                Ok((_, response)) => Ok(vec![("loginResponse", json!(hex::encode(response.to_bytes())))]),
                Err(LoginStartError::Rejected(error)) => Err((format!("Rejected({})", error_fields(&error).0), vec![])),
                Err(other) => Err((variant(&format!("{other:?}")), vec![])),
            }
        }
        "VaultLoginState::finish" | "VaultLoginState::finish_deletion" => {
            let state = decoded(
                VaultLoginState::from_bytes(&json::bytes(test, "vaultLoginState")?),
                test,
            )?;
            let record = decoded(BackupRecord::from_bytes(&json::bytes(test, "record")?), test)?;
            let finalization = decoded(
                LoginFinalization::from_bytes(&json::bytes(test, "loginFinalization")?),
                test,
            )?;
            if call == "VaultLoginState::finish" {
                let mut rng = ReplayRng::new(&[&json::bytes(test, "vaultRandomness")?]);
                state
                    .finish(&mut rng, Some(&record), &finalization)
                    .map(|release| vec![("keyRelease", json!(hex::encode(release.to_bytes())))])
                    .map_err(|error| refused(&error))
            } else {
                state
                    .finish_deletion(Some(&record), &finalization)
                    .map(|receipt| vec![("deletionReceipt", json!(hex::encode(receipt.to_bytes())))])
                    .map_err(|error| refused(&error))
            }
        }
        "ClientRegistration::finish" => {
            let config = ClientConfig::insecure_fast_for_testing(pins_of(test)?);
            let user = UserId::new(json::bytes(test, "userId")?).map_err(|error| fail(test, &error.to_string()))?;
            let mut rng = ReplayRng::new(&[&json::bytes(test, "clientRandomness")?]);
            let (client, request) = ClientRegistration::start(&mut rng, &config, user, &json::bytes(test, "password")?)
                .map_err(|error| fail(test, &error.to_string()))?;
            if request.to_bytes() != json::bytes(test, "registrationRequest")? {
                return Err(fail(test, "the replayed client sends another registration request"));
            }
            let response = decoded(
                RegistrationResponse::from_bytes(&json::bytes(test, "registrationResponse")?),
                test,
            )?;
            let key = BackupKey::from_bytes(json::array(test, "key")?);
            client
                .finish(&mut rng, &response, &key)
                .map(|(_, upload)| vec![("registrationUpload", json!(hex::encode(upload.to_bytes())))])
                .map_err(|error| refused(&error))
        }
        "ClientLogin::finish" | "ClientLogin::finish_deletion" => {
            let config = ClientConfig::insecure_fast_for_testing(pins_of(test)?);
            let user = UserId::new(json::bytes(test, "userId")?).map_err(|error| fail(test, &error.to_string()))?;
            let purpose = match u32_field(test, "purpose")? {
                1 => LoginPurpose::RetrieveKey,
                2 => LoginPurpose::DeleteRecord,
                other => return Err(fail(test, &format!("purpose {other}"))),
            };
            let mut rng = ReplayRng::new(&[&json::bytes(test, "clientRandomness")?]);
            let (client, request) =
                ClientLogin::start_for(&mut rng, &config, user, &json::bytes(test, "password")?, purpose)
                    .map_err(|error| fail(test, &error.to_string()))?;
            if request.to_bytes() != json::bytes(test, "loginRequest")? {
                return Err(fail(test, "the replayed client sends another login request"));
            }
            let response = decoded(LoginResponse::from_bytes(&json::bytes(test, "loginResponse")?), test)?;
            let finished = if call == "ClientLogin::finish" {
                client.finish(&mut rng, &response).map(|(_, finalization)| finalization)
            } else {
                client
                    .finish_deletion(&mut rng, &response)
                    .map(|(_, finalization)| finalization)
            };
            finished
                .map(|finalization| vec![("loginFinalization", json!(hex::encode(finalization.to_bytes())))])
                .map_err(|error| refused(&error))
        }
        other => return Err(fail(test, &format!("unknown call {other}"))),
    })
}

/// A test of `call` with `inputs`, its outcome the crate's; `expected` guards the generator against a case that
/// does not test what its comment says.
fn case(comment: &str, call: &str, inputs: Vec<(&str, Value)>, expected: &str) -> Value {
    let mut fields = vec![
        ("comment", json!(comment)),
        ("flags", json!([call])),
        ("call", json!(call)),
    ];
    fields.extend(inputs);
    let mut test = json::with_fields(&json!({}), fields);
    let outcome = run(test.as_object().expect("object")).expect("well-formed inputs");
    match outcome {
        Ok(outputs) => {
            assert_eq!(expected, "valid", "{comment}");
            test["result"] = json!("valid");
            json::with_fields(&test, outputs)
        }
        Err((name, fields)) => {
            assert_eq!(name, expected, "{comment}");
            test["result"] = json!("invalid");
            test["error"] = json!(name);
            json::with_fields(&test, fields)
        }
    }
}

fn hex(bytes: &[u8]) -> Value {
    json!(hex::encode(bytes))
}

/// `bytes` with the byte at `offset` set to `value`.
fn with(bytes: &[u8], offset: usize, value: u8) -> Vec<u8> {
    let mut altered = bytes.to_vec();
    altered[offset] = value;
    altered
}

/// The group's tests.
#[allow(clippy::too_many_lines)] // the table of cases
pub(super) fn tests() -> Vec<Value> {
    let mut fleet = Fleet::new(0x0061_7069);
    let user = b"alice@example.com";
    let registered = register(&mut fleet, user);
    let other = register(&mut fleet, b"bob@example.com");
    let again = register(&mut fleet, user);
    let vault_keys = fleet.keys.to_bytes().to_vec();
    let fleet_key = fleet.keys.pins().fleet_key().to_bytes();
    let opaque_key = *fleet.keys.pins().opaque_server_key();
    let key32 = |text: &str| hex::decode(text).expect("hex");
    let identity = key32("0100000000000000000000000000000000000000000000000000000000000000");
    let y_is_p = key32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    let not_a_point = key32("0200000000000000000000000000000000000000000000000000000000000000");
    let header = 3 + user.len();

    let mut tests = vec![
        case("a 1-byte user id", "UserId::new", vec![("userId", hex(b"a"))], "valid"),
        case(
            "an empty user id",
            "UserId::new",
            vec![("userId", hex(b""))],
            "InvalidUserId",
        ),
        case(
            "a 256-byte user id",
            "UserId::new",
            vec![("userId", hex(&[b'u'; 256]))],
            "InvalidUserId",
        ),
    ];
    for (comment, (m, t, p), expected) in [
        ("the cheapest valid parameters", (8, 1, 1), "valid"),
        ("memory below 8 KiB per lane", (15, 1, 2), "InvalidKsfParams"),
        ("no iteration", (8, 0, 1), "InvalidKsfParams"),
        ("no lane", (8, 1, 0), "InvalidKsfParams"),
        (
            "2^24 lanes (at most 2^24 - 1)",
            (u32::MAX, 1, 1 << 24),
            "InvalidKsfParams",
        ),
    ] {
        tests.push(case(
            comment,
            "KsfParams::new",
            vec![
                ("ksfMemoryKib", json!(m)),
                ("ksfIterations", json!(t)),
                ("ksfParallelism", json!(p)),
            ],
            expected,
        ));
    }
    for (comment, fleet, expected) in [
        ("the fleet's keys", fleet_key.to_vec(), "valid"),
        (
            "a fleet key of small order (the identity)",
            identity.clone(),
            "WeakPinnedKey",
        ),
        ("a fleet key y = p (non-canonical)", y_is_p, "WeakPinnedKey"),
        (
            "a fleet key that is no curve point (y = 2)",
            not_a_point,
            "WeakPinnedKey",
        ),
    ] {
        tests.push(case(
            comment,
            "VaultPins::new",
            vec![("fleetKey", hex(&fleet)), ("opaqueServerKey", hex(&opaque_key))],
            expected,
        ));
    }

    // Decoding (SPEC 4, 11.3), on the messages of the registration and a login.
    let login = log_in(
        &mut fleet,
        Some(&registered.record),
        &registered.user,
        PASSWORD,
        LoginPurpose::DeleteRecord,
        3,
    );
    let (finalization, _) = login.finished.clone().expect("the deletion login succeeds");
    let decode = |comment: &str, what: &str, message: &[u8], expected: &str| {
        case(
            comment,
            "decode",
            vec![("what", json!(what)), ("message", hex(message))],
            expected,
        )
    };
    let mut upload_bad_ksf = registered.upload.clone();
    upload_bad_ksf[header + 8..header + 12].copy_from_slice(&0u32.to_be_bytes());
    let mut request_bad_element = registered.request.clone();
    request_bad_element[header..header + 32].fill(0xff);
    tests.extend([
        decode("a login request", "login request", &login.request, "valid"),
        decode("empty", "login request", &[], "Decode"),
        decode("version 0", "login request", &with(&login.request, 0, 0), "Decode"),
        decode(
            "version 2, one byte long: the version is read first",
            "login request",
            &[2],
            "Decode",
        ),
        decode(
            "a login response's type",
            "login request",
            &with(&login.request, 1, 0x12),
            "Decode",
        ),
        decode(
            "user id of length 0",
            "login request",
            &with(&login.request, 2, 0),
            "Decode",
        ),
        decode(
            "purpose 0x03",
            "login request",
            &with(&login.request, header, 3),
            "Decode",
        ),
        decode(
            "one byte short",
            "login request",
            &login.request[..login.request.len() - 1],
            "Decode",
        ),
        decode(
            "a byte after the body",
            "login request",
            &[login.request.as_slice(), &[0]].concat(),
            "Decode",
        ),
        decode(
            "a blinded element that is no canonical ristretto255 encoding",
            "registration request",
            &request_bad_element,
            "Decode",
        ),
        decode(
            "Argon2id parameters with no lane",
            "registration upload",
            &upload_bad_ksf,
            "Decode",
        ),
        decode(
            "a registration upload",
            "registration upload",
            &registered.upload,
            "valid",
        ),
        decode(
            "a registration upload as a backup record",
            "backup record",
            &registered.upload,
            "Decode",
        ),
        decode(
            "a backup record",
            "backup record",
            &registered.record.to_bytes(),
            "valid",
        ),
        decode("a login finalization", "login finalization", &finalization, "valid"),
    ]);

    // The vault at registration (SPEC 7, PendingRegistration::finish, under KsfPolicy::INSECURE_TESTING).
    let pending = registered.pending.to_bytes();
    let vault_registration = |comment: &str, pending: &[u8], upload: &[u8], expected: &str| {
        case(
            comment,
            "PendingRegistration::finish",
            vec![
                ("vaultKeys", hex(&vault_keys)),
                ("fleetKey", hex(&fleet_key)),
                ("pendingRegistration", hex(pending)),
                ("registrationUpload", hex(upload)),
            ],
            expected,
        )
    };
    let mut upload_above_ceiling = registered.upload.clone();
    upload_above_ceiling[header..header + 4]
        .copy_from_slice(&(KsfPolicy::INSECURE_TESTING.max.memory_kib() + 1).to_be_bytes());
    tests.extend([
        vault_registration("the client's upload", &pending, &registered.upload, "valid"),
        vault_registration("another user's upload", &pending, &other.upload, "UserMismatch"),
        vault_registration(
            "an upload for another challenge (another registration of the user)",
            &pending,
            &again.upload,
            "ChallengeMismatch",
        ),
        vault_registration(
            "Argon2id memory above the vault's maximum",
            &pending,
            &upload_above_ceiling,
            "KsfParamsRejected",
        ),
    ]);

    // The vault at login (SPEC 7.2): the record of another user is refused before anything is charged.
    tests.push(case(
        "the record of another user",
        "VaultLoginState::start",
        vec![
            ("vaultKeys", hex(&vault_keys)),
            ("record", hex(&other.record.to_bytes())),
            ("loginRequest", hex(&login.request)),
            ("guessesRemaining", json!(3)),
            ("vaultRandomness", hex(&login.vault_draws)),
        ],
        "Rejected(UserMismatch)",
    ));

    // The vault finishing a login (SPEC 7): the state is what it kept from the login's start.
    let state_rng_seed = login.vault_draws.clone();
    let (state, _) = VaultLoginState::start(
        &fleet.keys,
        &mut ReplayRng::new(&[&state_rng_seed]),
        Some(&registered.record),
        &LoginRequest::from_bytes(&login.request).expect("decodes"),
        || Ok::<u32, ()>(3),
    )
    .expect("the same start again");
    let state = state.to_bytes().to_vec();
    let finish = |comment: &str, call: &str, record: &BackupRecord, finalization: &[u8], expected: &str| {
        let mut inputs = vec![
            ("vaultLoginState", hex(&state)),
            ("record", hex(&record.to_bytes())),
            ("loginFinalization", hex(finalization)),
        ];
        if call == "VaultLoginState::finish" {
            inputs.push(("vaultRandomness", hex(&[0x4e; 12])));
        }
        case(comment, call, inputs, expected)
    };
    let deletion = "VaultLoginState::finish_deletion";
    let other_user_finalization = frame(0x13, b"bob@example.com", body(&finalization));
    tests.extend([
        finish(
            "the client's finalization",
            deletion,
            &registered.record,
            &finalization,
            "valid",
        ),
        finish(
            "a deletion login finished as a key retrieval",
            "VaultLoginState::finish",
            &registered.record,
            &finalization,
            "WrongPurpose",
        ),
        finish(
            "the finalization framed for another user",
            deletion,
            &registered.record,
            &other_user_finalization,
            "UserMismatch",
        ),
        finish(
            "the client MAC altered",
            deletion,
            &registered.record,
            &with(
                &finalization,
                finalization.len() - 1,
                finalization[finalization.len() - 1] ^ 1,
            ),
            "ClientAuthenticationFailed",
        ),
        finish(
            "a proven password, but the record was replaced by a new registration",
            deletion,
            &again.record,
            &finalization,
            "RecordUnavailable",
        ),
        finish(
            "a proven password, but the record read is another user's",
            deletion,
            &other.record,
            &finalization,
            "RecordUnavailable",
        ),
    ]);

    // The client checking a signed answer (SPEC 7): what a vault holding the fleet key can sign.
    let seed: [u8; 32] = vault_keys[vault_keys.len() - 32..]
        .try_into()
        .expect("the Ed25519 seed");
    let fleet_signer = SigningKey::from_bytes(&seed);
    let response_body = body(&registered.response);
    let challenge: [u8; 32] = response_body[..32].try_into().expect("challenge");
    let reflected_opaque = [body(&registered.request), &response_body[64..96]].concat();
    let signed = hazmat::registration_response_signed_bytes(
        &registered.user,
        &challenge,
        body(&registered.request),
        &reflected_opaque,
    );
    let reflected = frame(
        0x02,
        user,
        &[
            &challenge[..],
            &reflected_opaque,
            &fleet_signer.sign(&signed).to_bytes(),
        ]
        .concat(),
    );
    let client_registration = |comment: &str, opaque_server_key: &[u8], response: &[u8], expected: &str| {
        case(
            comment,
            "ClientRegistration::finish",
            vec![
                ("userId", hex(user)),
                ("fleetKey", hex(&fleet_key)),
                ("opaqueServerKey", hex(opaque_server_key)),
                ("password", hex(PASSWORD)),
                ("key", hex(registered.key.expose_secret())),
                ("clientRandomness", hex(&registered.client_draws)),
                ("registrationRequest", hex(&registered.request)),
                ("registrationResponse", hex(response)),
            ],
            expected,
        )
    };
    let other_fleet = Fleet::new(0x0061_706a);
    tests.extend([
        client_registration("the vault's answer", &opaque_key, &registered.response, "valid"),
        client_registration(
            "signed by the pinned fleet key, with an OPAQUE server key that is not the pinned one",
            other_fleet.keys.pins().opaque_server_key(),
            &registered.response,
            "UnpinnedServerKey",
        ),
        client_registration(
            "signed by the pinned fleet key, evaluating to the blinded element itself (opaque-ke: ReflectedValue)",
            &opaque_key,
            &reflected,
            "Opaque",
        ),
    ]);

    // The client's policy on a signed login answer (SPEC 4.2, 7 step 3).
    let ksf = KsfParams::new(KsfPolicy::INSECURE_TESTING.max.memory_kib() * 2, 1, 1).expect("valid Argon2id");
    let response_body = body(&login.response);
    let signed = hazmat::login_response_signed_bytes(
        &registered.user,
        LoginPurpose::DeleteRecord,
        &body(&login.request)[1..],
        &ksf,
        u32::from_be_bytes(response_body[12..16].try_into().expect("4 bytes")),
        &response_body[16..336],
    );
    let ksf_bytes = [ksf.memory_kib(), ksf.iterations(), ksf.parallelism()]
        .iter()
        .flat_map(|value| value.to_be_bytes())
        .collect::<Vec<u8>>();
    let above_policy = frame(
        0x12,
        user,
        &[
            &ksf_bytes[..],
            &response_body[12..336],
            &fleet_signer.sign(&signed).to_bytes(),
        ]
        .concat(),
    );
    let client_login = |comment: &str, call: &str, response: &[u8], expected: &str| {
        case(
            comment,
            call,
            vec![
                ("userId", hex(user)),
                ("fleetKey", hex(&fleet_key)),
                ("opaqueServerKey", hex(&opaque_key)),
                ("password", hex(PASSWORD)),
                ("purpose", json!(LoginPurpose::DeleteRecord.code())),
                ("clientRandomness", hex(&login.client_draws)),
                ("loginRequest", hex(&login.request)),
                ("loginResponse", hex(response)),
            ],
            expected,
        )
    };
    tests.extend([
        client_login(
            "the vault's answer",
            "ClientLogin::finish_deletion",
            &login.response,
            "valid",
        ),
        client_login(
            "a signed answer with Argon2id memory above the client's maximum",
            "ClientLogin::finish_deletion",
            &above_policy,
            "KsfParamsRejected",
        ),
        client_login(
            "a deletion login finished as a key retrieval",
            "ClientLogin::finish",
            &login.response,
            "WrongPurpose",
        ),
    ]);
    tests
}

/// Checks an `Api` test: the crate's outcome is the test's (a valid test's outputs each equal the test's field; a
/// refusal has the test's name and exactly the test's error fields).
pub(super) fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    match (json::valid(test)?, run(test)?) {
        (true, Ok(outputs)) => match outputs.iter().find(|(name, value)| test.get(*name) != Some(value)) {
            Some((name, _)) => Err(fail(test, &format!("{name} differs"))),
            None => Ok(()),
        },
        (false, Err((name, fields))) => {
            let same = json::text(test, "error")? == name
                && ERROR_FIELDS
                    .iter()
                    .all(|field| test.get(*field) == fields.iter().find(|(f, _)| f == field).map(|(_, value)| value));
            if same {
                Ok(())
            } else {
                Err(fail(
                    test,
                    &format!("refused with {name} {fields:?}, not as the test says"),
                ))
            }
        }
        (true, Err((name, _))) => Err(fail(test, &format!("refused with {name}"))),
        (false, Ok(_)) => Err(fail(test, "accepted")),
    }
}
