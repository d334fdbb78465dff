//! Fleet validation-bundle vectors: the canonical body, what the witness and the operator sign, both signatures
//! and the signed envelope; and bundles altered after signing, which the verifier must reject with the named
//! reason.

use ed25519_dalek::SigningKey;
use fleet_bundle::context::{BUNDLE_OPERATOR, BUNDLE_WITNESS, DEPLOYMENT_OPERATOR, DEPLOYMENT_WITNESS};
use fleet_bundle::{
    AcceptedEpoch, AnchorError, ArtifactError, Bundle, BundleVerifier, DecodeError, DeploymentError, DeploymentMonitor,
    DeploymentRecord, DeploymentVerifier, FleetId, FleetIdError, FleetKey, FleetKeyArtifact, JsonErrorKind, KeyError,
    KeySet, KeySetError, MonitorError, OperatorSigner, Party, ResponderError, Role, TrustAnchors, UnixSeconds,
    ValidityWindow, VerifyError, WitnessSigner,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::json::{self, fail};

const ISSUED_AT: u64 = 1_700_000_000;
const EXPIRES_AT: u64 = 1_700_604_800;

fn reason(error: &VerifyError) -> &'static str {
    match error {
        VerifyError::Malformed(_) => "Malformed",
        VerifyError::UnknownFleet { .. } => "UnknownFleet",
        VerifyError::BadWitnessSignature => "BadWitnessSignature",
        VerifyError::BadCounterSignature => "BadCounterSignature",
        VerifyError::CounterSignatureOverOtherBytes => "CounterSignatureOverOtherBytes",
        VerifyError::Expired { .. } => "Expired",
        VerifyError::NotYetValid { .. } => "NotYetValid",
        VerifyError::StateOfOtherFleet { .. } => "StateOfOtherFleet",
        VerifyError::Rollback { .. } => "Rollback",
        VerifyError::Equivocation { .. } => "Equivocation",
        VerifyError::InvalidKey { .. } => "InvalidKey",
        VerifyError::KeyWithWrongRole { .. } => "KeyWithWrongRole",
        _ => "Other",
    }
}

fn key_error_name(error: KeyError) -> &'static str {
    match error {
        KeyError::NonCanonicalEncoding => "NonCanonicalEncoding",
        KeyError::NotAPoint => "NotAPoint",
        KeyError::SmallOrder => "SmallOrder",
        KeyError::AllZero => "AllZero",
        _ => "Other",
    }
}

/// A crate outcome: a valid test's outputs, or the error's name and fields, under the vector's field names.
type Outcome = Result<Vec<(&'static str, Value)>, (&'static str, Vec<(&'static str, Value)>)>;

fn role_name(role: Role) -> &'static str {
    match role {
        Role::ResponseSigning => "ResponseSigning",
        Role::OpaqueServer => "OpaqueServer",
        Role::IplsSession => "IplsSession",
        _ => "Other",
    }
}

/// A `DecodeError`'s variant name and its fields, under the vector's field names.
fn decode_fields(error: &DecodeError) -> Vec<(&'static str, Value)> {
    let (name, mut fields) = match error {
        DecodeError::Truncated => ("Truncated", vec![]),
        DecodeError::ObsoleteVersion { version } => ("ObsoleteVersion", vec![("found", json!(version))]),
        DecodeError::UnknownVersion { version } => ("UnknownVersion", vec![("found", json!(version))]),
        DecodeError::WrongMessageType { expected, found } => (
            "WrongMessageType",
            vec![("expected", json!(expected)), ("found", json!(found))],
        ),
        DecodeError::FleetId(error) => ("FleetId", fleet_id_fields(*error)),
        DecodeError::InvalidValidityWindow => ("InvalidValidityWindow", vec![]),
        DecodeError::KeyCount { count } => ("KeyCount", vec![("count", json!(count))]),
        DecodeError::UnknownRole { index, byte } => {
            ("UnknownRole", vec![("index", json!(index)), ("found", json!(byte))])
        }
        DecodeError::NonCanonicalKeyOrder { index } => ("NonCanonicalKeyOrder", vec![("index", json!(index))]),
        DecodeError::TrailingBytes { count } => ("TrailingBytes", vec![("count", json!(count))]),
        _ => ("Other", vec![]),
    };
    fields.insert(0, ("decodeError", json!(name)));
    fields
}

/// The fields of a `VerifyError` beside its name, under the vector's field names.
fn error_fields(error: &VerifyError) -> Vec<(&'static str, Value)> {
    match error {
        VerifyError::Malformed(error) => decode_fields(error),
        VerifyError::UnknownFleet { found } => vec![("foundFleetId", json!(found.as_str()))],
        // `now`, the other field, is the test's input.
        VerifyError::NotYetValid { issued_at, .. } => vec![("issuedAt", json::decimal(issued_at.0))],
        VerifyError::Expired { expires_at, .. } => vec![("expiresAt", json::decimal(expires_at.0))],
        VerifyError::Rollback { epoch, last_accepted } => {
            vec![
                ("epoch", json::decimal(*epoch)),
                ("lastAccepted", json::decimal(*last_accepted)),
            ]
        }
        VerifyError::Equivocation { epoch } => vec![("epoch", json::decimal(*epoch))],
        VerifyError::InvalidKey { index, error } => {
            vec![("index", json!(index)), ("keyError", json!(key_error_name(*error)))]
        }
        VerifyError::KeyWithWrongRole { party, role } => {
            vec![("party", json!(party_name(*party))), ("role", json!(role_name(*role)))]
        }
        _ => vec![],
    }
}

/// The fields every error field name may use: a test carries exactly those of its error.
const ERROR_FIELDS: [&str; 30] = [
    "decodeError",
    "found",
    "expected",
    "fleetIdError",
    "count",
    "index",
    "lastAccepted",
    "keyError",
    "party",
    "role",
    "epoch",
    "foundFleetId",
    "length",
    "max",
    "artifactError",
    "jsonError",
    "line",
    "column",
    "keySetError",
    "recordEpoch",
    "artifactEpoch",
    "deploymentError",
    "lastEpoch",
    "expectedEpoch",
    "foundEpoch",
    "acceptedRecord",
    "conflictingRecord",
    "listedAs",
    "issuedAt",
    "expiresAt",
];

fn notes() -> Value {
    json!({
        "format": "fleet-bundle/SPEC.md: signedBundle = envelope header || body || witness signature || operator signature",
        "witness": "witnessSignature = Ed25519(witnessKey, \"fleet-bundle/v1/bundle/witness\" || body)",
        "operator": "operatorSignature = Ed25519(operatorKey, \"fleet-bundle/v1/bundle/operator\" || body || witnessSignature)",
        "verification": "strict Ed25519; validity window [issued_at, expires_at) against now (Unix seconds); error names the first failing check in the SPEC's order",
        "savedState": "stateFleetId, stateEpoch, stateBodyDigest: the accepted-epoch state (SPEC 6.3) passed to the verifier (SavedState tests; absent: no state)",
        "errorFields": "beside error: Malformed's decodeError with its fields (found, expected, fleetIdError, count, index), Rollback's epoch and lastAccepted, Equivocation's epoch, InvalidKey's index and keyError, KeyWithWrongRole's party and role, UnknownFleet's foundFleetId, NotYetValid's issuedAt and Expired's expiresAt (their now is the test's)",
        "groups": "SignedBundle: BundleVerifier::verify; DeploymentRecord: DeploymentVerifier::verify(signedRecord, artifact); Artifact: FleetKeyArtifact::from_json(artifact); DeploymentLog: DeploymentMonitor::observe of each signedRecords[i] with artifacts[i]; Anchors: TrustAnchors::new(fleetId, witnessKey, operatorKey); Responder: check_responder(responderKey, responderRole, responderNow) on the bundle verified at now. An artifact is artifact followed by artifactPadding spaces (0x20)",
        "u64": "now, epoch, issuedAt and expiresAt are u64 decimal strings (epoch, issuedAt and expiresAt: the body's fields, in valid tests; issuedAt and expiresAt also NotYetValid's and Expired's); BeyondDoubles tests use 2^53 + 1 and 2^53 + 3, which a JSON number parsed as a double does not hold",
    })
}

/// The vector file.
#[allow(clippy::too_many_lines)] // mostly the table of rejected cases, one per verifier reason
pub fn generate() -> Value {
    let witness = WitnessSigner::new(SigningKey::from_bytes(&[0x11; 32]));
    let operator_key = SigningKey::from_bytes(&[0x12; 32]);
    let operator = OperatorSigner::new(operator_key.clone(), witness.verifying_key().as_bytes()).expect("distinct");
    let fleet = FleetId::new("fleet-eu-1").expect("valid");
    let keys = KeySet::new([
        FleetKey::new(
            SigningKey::from_bytes(&[0x13; 32]).verifying_key().to_bytes(),
            Role::ResponseSigning,
        )
        .expect("strong"),
        FleetKey::new([0x24; 32], Role::OpaqueServer).expect("nonzero"),
        FleetKey::new([0x35; 32], Role::IplsSession).expect("nonzero"),
    ])
    .expect("distinct");
    let validity = ValidityWindow::new(UnixSeconds(ISSUED_AT), UnixSeconds(EXPIRES_AT)).expect("window");
    let bundle = Bundle::new(fleet, 42, validity, keys);
    let body = bundle.to_bytes();
    let witness_signature = witness.sign_bundle(&bundle);
    let signed = operator.countersign_bundle(bundle, &witness_signature).expect("valid");
    let wire = signed.to_bytes();
    let witness_signed = [BUNDLE_WITNESS, &body].concat();
    let operator_signed = [BUNDLE_OPERATOR, &body, &witness_signature.to_bytes()].concat();

    let base = json!({
        "fleetId": "fleet-eu-1", "now": json::decimal(ISSUED_AT + 60),
        "witnessKey": hex::encode(witness.verifying_key().as_bytes()),
        "operatorKey": hex::encode(operator.verifying_key().as_bytes()),
    });
    let valid = json::with_fields(
        &base,
        vec![
            ("comment", json!("three keys, one per role")),
            ("flags", json!([])),
            ("result", json!("valid")),
            ("body", json!(hex::encode(&body))),
            ("witnessSignedBytes", json!(hex::encode(&witness_signed))),
            ("witnessSignature", json!(hex::encode(witness_signature.to_bytes()))),
            ("operatorSignedBytes", json!(hex::encode(&operator_signed))),
            ("operatorSignature", json!(hex::encode(signed.operator_signature()))),
            ("signedBundle", json!(hex::encode(&wire))),
            ("epoch", json::decimal(42)),
            ("issuedAt", json::decimal(ISSUED_AT)),
            ("expiresAt", json::decimal(EXPIRES_AT)),
        ],
    );

    let invalid = |comment: &str, bytes: Vec<u8>, error: &str, now: u64| {
        let mut test = base.clone();
        test["comment"] = json!(comment);
        test["flags"] = json!(["Tampered"]);
        test["result"] = json!("invalid");
        test["now"] = json::decimal(now);
        test["signedBundle"] = json!(hex::encode(bytes));
        refused_bundle(&test, error)
    };
    let at = |offset: usize| {
        let mut bytes = wire.clone();
        bytes[offset] ^= 0x01;
        bytes
    };
    let body_start = wire.len() - 128 - body.len();
    // The operator signs the body alone: a valid signature, over the wrong bytes.
    let over_body = ed25519_dalek::Signer::sign(&operator_key, &[BUNDLE_OPERATOR, &body].concat()).to_bytes();
    let mut not_countersigned = wire.clone();
    let end = not_countersigned.len();
    not_countersigned[end - 64..].copy_from_slice(&over_body);
    let tests = vec![
        valid,
        invalid(
            "epoch altered",
            at(body_start + 18),
            "BadWitnessSignature",
            ISSUED_AT + 60,
        ),
        invalid(
            "a key altered",
            at(body_start + body.len() - 1),
            "BadWitnessSignature",
            ISSUED_AT + 60,
        ),
        invalid(
            "witness signature altered",
            at(wire.len() - 100),
            "BadWitnessSignature",
            ISSUED_AT + 60,
        ),
        invalid(
            "counter-signature altered",
            at(wire.len() - 1),
            "BadCounterSignature",
            ISSUED_AT + 60,
        ),
        invalid(
            "operator signed the body only",
            not_countersigned,
            "CounterSignatureOverOtherBytes",
            ISSUED_AT + 60,
        ),
        invalid("expired", wire.clone(), "Expired", EXPIRES_AT),
        invalid("not yet valid", wire.clone(), "NotYetValid", ISSUED_AT - 1),
    ];
    let mut tests = tests;
    let anchors = TrustAnchors::new(
        FleetId::new("fleet-eu-1").expect("valid"),
        witness.verifying_key().as_bytes(),
        operator.verifying_key().as_bytes(),
    )
    .expect("distinct strong keys");
    let case = |comment: &str, flag: &str, wire: &[u8], state: Option<(&str, u64, [u8; 32])>, expected: &str| {
        case(&base, &anchors, comment, flag, wire, state, expected)
    };
    tests.push(case(
        "trailing byte",
        "Tampered",
        &[wire.as_slice(), &[0]].concat(),
        None,
        "Malformed",
    ));
    tests.extend(beyond_doubles(&witness, &operator));
    tests.extend(saved_state(&case, &wire, &body));
    tests.extend(received_keys(&case, &witness, &operator));
    tests.extend(malformed(&case, &wire, &body));
    let mut other_fleet = raw_body(42, &[(2, [0x24; 32])]);
    other_fleet[3..13].copy_from_slice(b"fleet-us-1");
    tests.push(case(
        "a bundle of another fleet, signed by the pinned keys",
        "Tampered",
        &sign_raw(&other_fleet),
        None,
        "UnknownFleet",
    ));
    json::file(
        "FLEET-VALIDATION-BUNDLE-ED25519",
        "fleet_bundle.schema.json",
        &notes(),
        vec![
            json!({"type": "SignedBundle", "tests": tests}),
            json!({"type": "DeploymentRecord", "tests": deployments(&witness, &operator)}),
            json!({"type": "Artifact", "tests": artifacts()}),
            json!({"type": "DeploymentLog", "tests": deployment_log(&witness, &operator)}),
            json!({"type": "Anchors", "tests": anchor_cases(&witness, &operator)}),
            json!({"type": "Responder", "tests": responder_cases(&base, &wire)}),
        ],
    )
}

/// `test`, a bundle without saved state, with the verifier's refusal: its name and fields. `expected` only guards the
/// generator against a case that does not test what its comment says.
fn refused_bundle(test: &Value, expected: &str) -> Value {
    let object = test.as_object().expect("a test object");
    let error = BundleVerifier::new(anchors_of(object).expect("the test's anchors"))
        .verify(
            &json::bytes(object, "signedBundle").expect("hex"),
            UnixSeconds(json::decimal_u64(object, "now").expect("now")),
            None,
        )
        .expect_err(expected);
    assert_eq!(reason(&error), expected, "{}", test["comment"]);
    let mut fields = vec![("error", json!(reason(&error)))];
    fields.extend(error_fields(&error));
    json::with_fields(test, fields)
}

/// Builds a `SignedBundle` test by running the verifier on it: the outcome (and every field of the error) is the
/// crate's; `expected` only guards the generator against a case that does not test what its comment says.
fn case(
    base: &Value,
    anchors: &TrustAnchors,
    comment: &str,
    flag: &str,
    wire: &[u8],
    state: Option<(&str, u64, [u8; 32])>,
    expected: &str,
) -> Value {
    let now = ISSUED_AT + 60;
    let saved =
        state.map(|(fleet, epoch, digest)| AcceptedEpoch::new(FleetId::new(fleet).expect("valid"), epoch, digest));
    let outcome = BundleVerifier::new(anchors.clone()).verify(wire, UnixSeconds(now), saved.as_ref());
    let mut test = json::with_fields(
        base,
        vec![
            ("comment", json!(comment)),
            ("flags", json!([flag])),
            ("now", json::decimal(now)),
            ("signedBundle", json!(hex::encode(wire))),
        ],
    );
    if let Some((fleet, epoch, digest)) = state {
        test["stateFleetId"] = json!(fleet);
        test["stateEpoch"] = json::decimal(epoch);
        test["stateBodyDigest"] = json!(hex::encode(digest));
    }
    match outcome {
        Ok(verified) => {
            assert_eq!(expected, "valid", "{comment}");
            let (body, signatures) = wire[4..].split_at(wire.len() - 132);
            let (witness_signature, operator_signature) = signatures.split_at(64);
            let bundle = verified.bundle();
            json::with_fields(
                &test,
                vec![
                    ("result", json!("valid")),
                    ("body", json!(hex::encode(body))),
                    (
                        "witnessSignedBytes",
                        json!(hex::encode([BUNDLE_WITNESS, body].concat())),
                    ),
                    ("witnessSignature", json!(hex::encode(witness_signature))),
                    (
                        "operatorSignedBytes",
                        json!(hex::encode([BUNDLE_OPERATOR, body, witness_signature].concat())),
                    ),
                    ("operatorSignature", json!(hex::encode(operator_signature))),
                    ("epoch", json::decimal(bundle.epoch())),
                    ("issuedAt", json::decimal(bundle.validity().issued_at().0)),
                    ("expiresAt", json::decimal(bundle.validity().expires_at().0)),
                ],
            )
        }
        Err(error) => {
            assert_eq!(reason(&error), expected, "{comment}");
            let mut fields = vec![("result", json!("invalid")), ("error", json!(expected))];
            fields.extend(error_fields(&error));
            json::with_fields(&test, fields)
        }
    }
}

/// A body of fleet `fleet-eu-1` with the given epoch and key entries (as given: unsorted or repeated if so).
fn raw_body(epoch: u64, keys: &[(u8, [u8; 32])]) -> Vec<u8> {
    let mut body = vec![1, 1, 10];
    body.extend_from_slice(b"fleet-eu-1");
    for value in [epoch, ISSUED_AT, EXPIRES_AT] {
        body.extend_from_slice(&value.to_be_bytes());
    }
    body.extend_from_slice(&u16::try_from(keys.len()).expect("few keys").to_be_bytes());
    for (role, key) in keys {
        body.push(*role);
        body.extend_from_slice(key);
    }
    body
}

/// The signed envelope of any body, signed by both parties with the keys of this file (the producer API refuses
/// the keys these bodies carry, as a verifier must).
fn sign_raw(body: &[u8]) -> Vec<u8> {
    let witness = SigningKey::from_bytes(&[0x11; 32]);
    let operator = SigningKey::from_bytes(&[0x12; 32]);
    let witness_signature = ed25519_dalek::Signer::sign(&witness, &[BUNDLE_WITNESS, body].concat()).to_bytes();
    let operator_signature =
        ed25519_dalek::Signer::sign(&operator, &[BUNDLE_OPERATOR, body, &witness_signature].concat()).to_bytes();
    let length = u16::try_from(body.len()).expect("short body").to_be_bytes();
    [&[1, 2], &length[..], body, &witness_signature, &operator_signature].concat()
}

type Case<'a> = dyn Fn(&str, &str, &[u8], Option<(&str, u64, [u8; 32])>, &str) -> Value + 'a;

/// SPEC 6.3: the bundle of epoch 42 against saved accepted-epoch state (fleet, epoch, SHA-256 of the body).
fn saved_state(case: &Case<'_>, wire: &[u8], body: &[u8]) -> Vec<Value> {
    let digest: [u8; 32] = Sha256::digest(body).into();
    let other: [u8; 32] = Sha256::digest(raw_body(42, &[(2, [0x27; 32])])).into();
    let fleet = "fleet-eu-1";
    let state = "SavedState";
    vec![
        case(
            "saved epoch 41: a newer epoch is accepted",
            state,
            wire,
            Some((fleet, 41, other)),
            "valid",
        ),
        case(
            "saved epoch 0: accepted",
            state,
            wire,
            Some((fleet, 0, [0; 32])),
            "valid",
        ),
        case(
            "saved epoch 42 with this body's digest: re-delivery is accepted",
            state,
            wire,
            Some((fleet, 42, digest)),
            "valid",
        ),
        case(
            "saved epoch 43: rollback",
            state,
            wire,
            Some((fleet, 43, other)),
            "Rollback",
        ),
        case(
            "saved epoch 2^64 - 1: rollback",
            state,
            wire,
            Some((fleet, u64::MAX, digest)),
            "Rollback",
        ),
        case(
            "saved epoch 42 with another body's digest: equivocation",
            state,
            wire,
            Some((fleet, 42, other)),
            "Equivocation",
        ),
        case(
            "saved state of another fleet, checked before anything else (here a garbage bundle)",
            state,
            &[0xff],
            Some(("fleet-us-1", 41, digest)),
            "StateOfOtherFleet",
        ),
        case(
            "saved epoch 43, but the bundle is altered: the signature check comes first",
            state,
            &{
                let mut altered = wire.to_vec();
                altered[wire.len() - 1] ^= 1;
                altered
            },
            Some((fleet, 43, other)),
            "BadCounterSignature",
        ),
    ]
}

/// SPEC 6.1 steps 9 and 10, section 7: keys a verifier receives in a signed bundle.
fn received_keys(case: &Case<'_>, witness: &WitnessSigner, operator: &OperatorSigner) -> Vec<Value> {
    let strong = SigningKey::from_bytes(&[0x13; 32]).verifying_key().to_bytes();
    let key = |text: &str| -> [u8; 32] { hex::decode(text).expect("hex").try_into().expect("32 bytes") };
    let identity = key("0100000000000000000000000000000000000000000000000000000000000000");
    let order8 = key("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
    let y_is_p = key("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    let negative_zero = key("0100000000000000000000000000000000000000000000000000000000000080");
    let not_a_point = key("0200000000000000000000000000000000000000000000000000000000000000");
    let flag = "ReceivedKey";
    let signed = |keys: &[(u8, [u8; 32])]| {
        let mut keys = keys.to_vec();
        keys.sort_by_key(|(_, key)| *key);
        sign_raw(&raw_body(42, &keys))
    };
    let with_strong = |role: u8, bad: [u8; 32]| signed(&[(1, strong), (2, [0x24; 32]), (role, bad)]);
    vec![
        case(
            "response-signing key: the identity (small order)",
            flag,
            &with_strong(1, identity),
            None,
            "InvalidKey",
        ),
        case(
            "response-signing key: a point of order 8",
            flag,
            &with_strong(1, order8),
            None,
            "InvalidKey",
        ),
        case(
            "response-signing key: y = p (non-canonical)",
            flag,
            &with_strong(1, y_is_p),
            None,
            "InvalidKey",
        ),
        case(
            "response-signing key: y = 1 with the sign bit set (non-canonical)",
            flag,
            &with_strong(1, negative_zero),
            None,
            "InvalidKey",
        ),
        case(
            "response-signing key y = 2, not a curve point: received keys are not checked for it (SPEC 7.1)",
            flag,
            &with_strong(1, not_a_point),
            None,
            "valid",
        ),
        case(
            "OPAQUE key all zero",
            flag,
            &with_strong(2, [0; 32]),
            None,
            "InvalidKey",
        ),
        case("IPLS key all zero", flag, &with_strong(3, [0; 32]), None, "InvalidKey"),
        case(
            "the identity encoding as an OPAQUE key: only all zero is refused for that role",
            flag,
            &with_strong(2, identity),
            None,
            "valid",
        ),
        case(
            "the witness key listed as a response-signing key",
            flag,
            &with_strong(1, *witness.verifying_key().as_bytes()),
            None,
            "KeyWithWrongRole",
        ),
        case(
            "the operator key listed as an IPLS key",
            flag,
            &with_strong(3, *operator.verifying_key().as_bytes()),
            None,
            "KeyWithWrongRole",
        ),
        case(
            "one key listed twice under two roles (signed): not strictly ascending",
            flag,
            &sign_raw(&raw_body(42, &[(1, strong), (2, strong)])),
            None,
            "Malformed",
        ),
    ]
}

/// SPEC 12.4: each reason a bundle does not decode, unsigned (decoding comes before any signature).
#[allow(clippy::too_many_lines)] // one line per decoding failure
fn malformed(case: &Case<'_>, wire: &[u8], body: &[u8]) -> Vec<Value> {
    let flag = "Malformed";
    let envelope = |body: &[u8]| {
        let length = u16::try_from(body.len()).expect("short body").to_be_bytes();
        [&[1, 2], &length[..], body, &wire[wire.len() - 128..]].concat()
    };
    let altered = |offset: usize, value: u8| {
        let mut bytes = body.to_vec();
        bytes[offset] = value;
        envelope(&bytes)
    };
    let keys_at = 29 + 10;
    let mut unsorted = body.to_vec();
    let entries = unsorted.split_off(keys_at);
    let mut swapped = entries[33..66].to_vec();
    swapped.extend_from_slice(&entries[..33]);
    swapped.extend_from_slice(&entries[66..]);
    unsorted.extend_from_slice(&swapped);
    let mut zero_keys = body[..keys_at].to_vec();
    zero_keys[keys_at - 2..].copy_from_slice(&[0, 0]);
    let mut too_many = body.to_vec();
    too_many[keys_at - 2..keys_at].copy_from_slice(&1025u16.to_be_bytes());
    let mut bad_window = body.to_vec();
    bad_window[29..37].copy_from_slice(&ISSUED_AT.to_be_bytes());
    let mut empty_fleet = vec![1, 1, 0];
    empty_fleet.extend_from_slice(&body[13..]);
    let mut with_byte = wire.to_vec();
    with_byte.push(0);
    vec![
        case("empty input", flag, &[], None, "Malformed"),
        case("envelope cut inside the length", flag, &wire[..3], None, "Malformed"),
        case(
            "envelope cut inside the operator signature",
            flag,
            &wire[..wire.len() - 1],
            None,
            "Malformed",
        ),
        case(
            "envelope version 0 (obsolete)",
            flag,
            &[&[0], &wire[1..]].concat(),
            None,
            "Malformed",
        ),
        case(
            "envelope version 2 (unknown)",
            flag,
            &[&[2], &wire[1..]].concat(),
            None,
            "Malformed",
        ),
        case(
            "a deployment record's envelope type 0x04",
            flag,
            &[&[1, 4], &wire[2..]].concat(),
            None,
            "Malformed",
        ),
        case(
            "two bytes after the envelope",
            flag,
            &[wire, &[0, 0]].concat(),
            None,
            "Malformed",
        ),
        case("body version 0", flag, &altered(0, 0), None, "Malformed"),
        case("body version 2", flag, &altered(0, 2), None, "Malformed"),
        case("body type 0x03", flag, &altered(1, 3), None, "Malformed"),
        case(
            "body cut inside the fleet id",
            flag,
            &envelope(&body[..8]),
            None,
            "Malformed",
        ),
        case(
            "body cut inside a key",
            flag,
            &envelope(&body[..body.len() - 1]),
            None,
            "Malformed",
        ),
        case("empty fleet id", flag, &envelope(&empty_fleet), None, "Malformed"),
        case(
            "upper-case byte in the fleet id",
            flag,
            &altered(3, b'F'),
            None,
            "Malformed",
        ),
        case(
            "issued_at = expires_at",
            flag,
            &envelope(&bad_window),
            None,
            "Malformed",
        ),
        case("no keys", flag, &envelope(&zero_keys), None, "Malformed"),
        case("1025 keys", flag, &envelope(&too_many), None, "Malformed"),
        case("role byte 0x04", flag, &altered(keys_at + 33, 4), None, "Malformed"),
        case("role byte 0x00", flag, &altered(keys_at, 0), None, "Malformed"),
        case("keys out of order", flag, &envelope(&unsorted), None, "Malformed"),
        case(
            "a byte after the body",
            flag,
            &envelope(&[body, &[0]].concat()),
            None,
            "Malformed",
        ),
        case("a byte after the envelope", flag, &with_byte, None, "Malformed"),
    ]
}

/// 2^53 + 1: the first u64 a JSON number parsed as a double does not hold exactly (it becomes 2^53).
const BEYOND_DOUBLES: u64 = (1 << 53) + 1;

/// A bundle whose epoch and validity window lie beyond 2^53: `now`, `epoch`, `issuedAt` and `expiresAt` must be
/// read exactly (a double would read 2^53 + 1 as 2^53 and turn the valid test into NotYetValid).
fn beyond_doubles(witness: &WitnessSigner, operator: &OperatorSigner) -> Vec<Value> {
    let fleet = FleetId::new("fleet-eu-1").expect("valid");
    let keys = KeySet::new([
        FleetKey::new([0x26; 32], Role::OpaqueServer).expect("nonzero"),
        FleetKey::new([0x36; 32], Role::IplsSession).expect("nonzero"),
    ])
    .expect("distinct");
    let (issued_at, expires_at) = (BEYOND_DOUBLES, BEYOND_DOUBLES + 2);
    let validity = ValidityWindow::new(UnixSeconds(issued_at), UnixSeconds(expires_at)).expect("window");
    let bundle = Bundle::new(fleet, BEYOND_DOUBLES, validity, keys);
    let body = bundle.to_bytes();
    let witness_signature = witness.sign_bundle(&bundle);
    let signed = operator.countersign_bundle(bundle, &witness_signature).expect("valid");
    let base = json!({
        "fleetId": "fleet-eu-1",
        "witnessKey": hex::encode(witness.verifying_key().as_bytes()),
        "operatorKey": hex::encode(operator.verifying_key().as_bytes()),
        "signedBundle": hex::encode(signed.to_bytes()),
    });
    let valid = json::with_fields(
        &base,
        vec![
            (
                "comment",
                json!("epoch, issued_at and now 2^53 + 1, expires_at 2^53 + 3: not exact as doubles"),
            ),
            ("flags", json!(["BeyondDoubles"])),
            ("result", json!("valid")),
            ("now", json::decimal(issued_at)),
            ("body", json!(hex::encode(&body))),
            (
                "witnessSignedBytes",
                json!(hex::encode([BUNDLE_WITNESS, &body].concat())),
            ),
            ("witnessSignature", json!(hex::encode(witness_signature.to_bytes()))),
            (
                "operatorSignedBytes",
                json!(hex::encode(
                    [BUNDLE_OPERATOR, &body, &witness_signature.to_bytes()].concat()
                )),
            ),
            ("operatorSignature", json!(hex::encode(signed.operator_signature()))),
            ("epoch", json::decimal(BEYOND_DOUBLES)),
            ("issuedAt", json::decimal(issued_at)),
            ("expiresAt", json::decimal(expires_at)),
        ],
    );
    let invalid = |comment: &str, now: u64, error: &str| {
        let test = json::with_fields(
            &base,
            vec![
                ("comment", json!(comment)),
                ("flags", json!(["BeyondDoubles"])),
                ("result", json!("invalid")),
                ("now", json::decimal(now)),
            ],
        );
        refused_bundle(&test, error)
    };
    vec![
        valid,
        invalid(
            "now 2^53, one second before issued_at 2^53 + 1",
            issued_at - 1,
            "NotYetValid",
        ),
        invalid("now 2^53 + 3, expires_at", expires_at, "Expired"),
    ]
}

fn party_name(party: Party) -> &'static str {
    if party == Party::Witness { "Witness" } else { "Operator" }
}

/// A `FleetIdError` under the vector's field names.
fn fleet_id_fields(error: FleetIdError) -> Vec<(&'static str, Value)> {
    match error {
        FleetIdError::Length { len } => vec![("fleetIdError", json!("Length")), ("count", json!(len))],
        FleetIdError::Character { index } => vec![("fleetIdError", json!("Character")), ("index", json!(index))],
        _ => vec![("fleetIdError", json!("Other"))],
    }
}

/// An `ArtifactError`'s name and fields, under the vector's field names.
fn artifact_fields(error: &ArtifactError) -> (&'static str, Vec<(&'static str, Value)>) {
    match *error {
        ArtifactError::TooLarge { len, max } => ("TooLarge", vec![("length", json!(len)), ("max", json!(max))]),
        ArtifactError::Json { kind, line, column } => {
            let kind = match kind {
                JsonErrorKind::Syntax => "Syntax",
                JsonErrorKind::Data => "Data",
                JsonErrorKind::Eof => "Eof",
                _ => "Other",
            };
            (
                "Json",
                vec![
                    ("jsonError", json!(kind)),
                    ("line", json!(line)),
                    ("column", json!(column)),
                ],
            )
        }
        ArtifactError::FleetId(error) => ("FleetId", fleet_id_fields(error)),
        ArtifactError::PublicKeyEncoding { index } => ("PublicKeyEncoding", vec![("index", json!(index))]),
        ArtifactError::UnknownRole { index } => ("UnknownRole", vec![("index", json!(index))]),
        ArtifactError::InvalidKey { index, error } => (
            "InvalidKey",
            vec![("index", json!(index)), ("keyError", json!(key_error_name(error)))],
        ),
        ArtifactError::KeySet(error) => (
            "KeySet",
            match error {
                KeySetError::Empty => vec![("keySetError", json!("Empty"))],
                KeySetError::TooMany { count } => vec![("keySetError", json!("TooMany")), ("count", json!(count))],
                KeySetError::DuplicateKey => vec![("keySetError", json!("DuplicateKey"))],
                _ => vec![("keySetError", json!("Other"))],
            },
        ),
        _ => ("Other", vec![]),
    }
}

/// A `DeploymentError`'s name and fields, under the vector's field names (a nested error's name in its own field:
/// `artifactError`, `decodeError`).
fn deployment_fields(error: &DeploymentError) -> (&'static str, Vec<(&'static str, Value)>) {
    match error {
        DeploymentError::Malformed(error) => ("Malformed", decode_fields(error)),
        DeploymentError::UnknownFleet { found } => ("UnknownFleet", vec![("foundFleetId", json!(found.as_str()))]),
        DeploymentError::BadWitnessSignature => ("BadWitnessSignature", vec![]),
        DeploymentError::BadCounterSignature => ("BadCounterSignature", vec![]),
        DeploymentError::CounterSignatureOverOtherBytes => ("CounterSignatureOverOtherBytes", vec![]),
        DeploymentError::ArtifactTooLarge { len, max } => {
            ("ArtifactTooLarge", vec![("length", json!(len)), ("max", json!(max))])
        }
        DeploymentError::DigestMismatch => ("DigestMismatch", vec![]),
        DeploymentError::Artifact(error) => {
            let (name, mut fields) = artifact_fields(error);
            fields.insert(0, ("artifactError", json!(name)));
            ("Artifact", fields)
        }
        DeploymentError::ArtifactFleetMismatch { found } => {
            ("ArtifactFleetMismatch", vec![("foundFleetId", json!(found.as_str()))])
        }
        DeploymentError::ArtifactEpochMismatch { record, artifact } => (
            "ArtifactEpochMismatch",
            vec![
                ("recordEpoch", json::decimal(*record)),
                ("artifactEpoch", json::decimal(*artifact)),
            ],
        ),
        DeploymentError::KeyWithWrongRole { party, role } => (
            "KeyWithWrongRole",
            vec![("party", json!(party_name(*party))), ("role", json!(role_name(*role)))],
        ),
        _ => ("Other", vec![]),
    }
}

/// A `MonitorError`'s name and fields (the failed verification's in `deploymentError` and its fields; an
/// equivocation's two signed records as the evidence it carries).
fn monitor_fields(error: &MonitorError) -> (&'static str, Vec<(&'static str, Value)>) {
    match error {
        MonitorError::Deployment(error) => {
            let (name, mut fields) = deployment_fields(error);
            fields.insert(0, ("deploymentError", json!(name)));
            ("Deployment", fields)
        }
        MonitorError::Replay { epoch } => ("Replay", vec![("epoch", json::decimal(*epoch))]),
        MonitorError::Equivocation {
            epoch,
            accepted,
            conflicting,
        } => (
            "Equivocation",
            vec![
                ("epoch", json::decimal(*epoch)),
                ("acceptedRecord", json!(hex::encode(accepted.to_bytes()))),
                ("conflictingRecord", json!(hex::encode(conflicting.to_bytes()))),
            ],
        ),
        MonitorError::NotIncreasing { epoch, last } => (
            "NotIncreasing",
            vec![("epoch", json::decimal(*epoch)), ("lastEpoch", json::decimal(*last))],
        ),
        MonitorError::Gap { expected, found } => (
            "Gap",
            vec![
                ("expectedEpoch", json::decimal(*expected)),
                ("foundEpoch", json::decimal(*found)),
            ],
        ),
        _ => ("Other", vec![]),
    }
}

/// An `AnchorError`'s name and fields.
fn anchor_fields(error: AnchorError) -> (&'static str, Vec<(&'static str, Value)>) {
    match error {
        AnchorError::InvalidKey { party, error } => (
            "InvalidKey",
            vec![
                ("party", json!(party_name(party))),
                ("keyError", json!(key_error_name(error))),
            ],
        ),
        AnchorError::SameKey => ("SameKey", vec![]),
        _ => ("Other", vec![]),
    }
}

/// A `ResponderError`'s name and fields (the input `responderNow` is not repeated).
fn responder_fields(error: &ResponderError) -> (&'static str, Vec<(&'static str, Value)>) {
    match error {
        ResponderError::NotYetValid { issued_at, .. } => {
            ("NotYetValid", vec![("issuedAt", json::decimal(issued_at.0))])
        }
        ResponderError::Expired { expires_at, .. } => ("Expired", vec![("expiresAt", json::decimal(expires_at.0))]),
        ResponderError::NotInBundle => ("NotInBundle", vec![]),
        ResponderError::WrongRole { listed_as } => ("WrongRole", vec![("listedAs", json!(role_name(*listed_as)))]),
        _ => ("Other", vec![]),
    }
}

/// `test` with the outcome: `result` valid and the `valid` fields, or invalid with the error's name and fields.
/// `expected` only guards the generator against a case that does not test what its comment says.
fn with_outcome(test: &Value, comment: &str, expected: &str, outcome: Outcome) -> Value {
    match outcome {
        Ok(fields) => {
            assert_eq!(expected, "valid", "{comment}");
            let mut fields = fields;
            fields.insert(0, ("result", json!("valid")));
            json::with_fields(test, fields)
        }
        Err((name, error_fields)) => {
            assert_eq!(name, expected, "{comment}");
            let mut fields = vec![("result", json!("invalid")), ("error", json!(name))];
            fields.extend(error_fields);
            json::with_fields(test, fields)
        }
    }
}

/// Signs a deployment record of `fleet` and `epoch` for `artifact` (any bytes: the record logs only a digest).
fn sign_record(
    witness: &WitnessSigner,
    operator: &OperatorSigner,
    fleet: &str,
    epoch: u64,
    artifact: &[u8],
) -> Vec<u8> {
    let record = DeploymentRecord::for_artifact(FleetId::new(fleet).expect("valid"), epoch, artifact);
    let witness_signature = witness.sign_deployment(&record);
    operator
        .countersign_deployment(record, &witness_signature)
        .expect("the witness signature verifies")
        .to_bytes()
}

/// The artifact a test carries: `artifact`, then `artifactPadding` spaces (JSON whitespace), so that a 1 MiB
/// artifact is a short field.
fn artifact_of(test: &Map<String, Value>) -> Result<Vec<u8>, String> {
    let mut artifact = json::bytes(test, "artifact")?;
    if let Some(padding) = test.get("artifactPadding") {
        let padding = padding
            .as_u64()
            .ok_or_else(|| fail(test, "artifactPadding is not a number"))?;
        artifact.resize(
            artifact.len() + usize::try_from(padding).map_err(|_| fail(test, "artifactPadding"))?,
            b' ',
        );
    }
    Ok(artifact)
}

/// `artifact` and `artifactPadding` fields for bytes that end in `padding` spaces.
fn artifact_fields_of(artifact: &[u8], padding: usize) -> Vec<(&'static str, Value)> {
    let mut fields = vec![("artifact", json!(hex::encode(&artifact[..artifact.len() - padding])))];
    if padding > 0 {
        fields.push(("artifactPadding", json!(padding)));
    }
    fields
}

/// What an accepted deployment yields, from the signed record's bytes.
fn deployment_outputs(signed: &[u8], epoch: u64) -> Vec<(&'static str, Value)> {
    let body = &signed[4..signed.len() - 128];
    let witness_signature = &signed[signed.len() - 128..signed.len() - 64];
    vec![
        ("body", json!(hex::encode(body))),
        (
            "witnessSignedBytes",
            json!(hex::encode([DEPLOYMENT_WITNESS, body].concat())),
        ),
        ("witnessSignature", json!(hex::encode(witness_signature))),
        (
            "operatorSignedBytes",
            json!(hex::encode([DEPLOYMENT_OPERATOR, body, witness_signature].concat())),
        ),
        ("epoch", json::decimal(epoch)),
    ]
}

/// A `DeploymentRecord` test, its outcome obtained by running the crate's verifier.
fn deployment_case(
    base: &Value,
    anchors: &TrustAnchors,
    comment: &str,
    flag: &str,
    (signed, artifact, padding): (&[u8], &[u8], usize),
    expected: &str,
) -> Value {
    let mut fields = vec![
        ("comment", json!(comment)),
        ("flags", json!([flag])),
        ("signedRecord", json!(hex::encode(signed))),
    ];
    fields.extend(artifact_fields_of(artifact, padding));
    let test = json::with_fields(base, fields);
    let outcome = DeploymentVerifier::new(anchors.clone())
        .verify(signed, artifact)
        .map(|verified| deployment_outputs(signed, verified.epoch()))
        .map_err(|error| deployment_fields(&error));
    with_outcome(&test, comment, expected, outcome)
}

/// An `Artifact` test: the artifact parser alone (SPEC 8.2), its outcome the crate's. A valid artifact yields its
/// canonical form and epoch.
fn artifact_case(comment: &str, flag: &str, artifact: &[u8], padding: usize, expected: &str) -> Value {
    let test = json::with_fields(
        &json!({"comment": comment, "flags": [flag]}),
        artifact_fields_of(artifact, padding),
    );
    let outcome = FleetKeyArtifact::from_json(artifact)
        .map(|parsed| {
            vec![
                ("canonical", json!(hex::encode(parsed.to_json()))),
                ("epoch", json::decimal(parsed.epoch())),
            ]
        })
        .map_err(|error| artifact_fields(&error));
    with_outcome(&test, comment, expected, outcome)
}

/// The keys of the deployment vectors: a response-signing key and an OPAQUE key.
fn deployment_keys() -> (String, String) {
    (
        hex::encode(SigningKey::from_bytes(&[0x14; 32]).verifying_key().to_bytes()),
        hex::encode([0x25; 32]),
    )
}

/// Deployment records (binary transparency, SPEC 8.3): one epoch's artifact, its logged digest and both
/// signatures; and every reason a record and its artifact are refused, in 8.3's order.
#[allow(clippy::too_many_lines)] // one line per case
fn deployments(witness: &WitnessSigner, operator: &OperatorSigner) -> Vec<Value> {
    let fleet = FleetId::new("fleet-eu-1").expect("valid");
    let keys = KeySet::new([
        FleetKey::new(
            SigningKey::from_bytes(&[0x14; 32]).verifying_key().to_bytes(),
            Role::ResponseSigning,
        )
        .expect("strong"),
        FleetKey::new([0x25; 32], Role::OpaqueServer).expect("nonzero"),
    ])
    .expect("distinct");
    let artifact = FleetKeyArtifact::new(fleet, 43, keys).to_json();
    let signed = sign_record(witness, operator, "fleet-eu-1", 43, &artifact);
    let base = json!({
        "fleetId": "fleet-eu-1",
        "witnessKey": hex::encode(witness.verifying_key().as_bytes()),
        "operatorKey": hex::encode(operator.verifying_key().as_bytes()),
    });
    let anchors = TrustAnchors::new(
        FleetId::new("fleet-eu-1").expect("valid"),
        witness.verifying_key().as_bytes(),
        operator.verifying_key().as_bytes(),
    )
    .expect("distinct strong keys");
    let case = |comment: &str, signed: &[u8], artifact: &[u8], expected: &str| {
        deployment_case(&base, &anchors, comment, "Tampered", (signed, artifact, 0), expected)
    };
    // A record signed for these bytes, so that the artifact's own checks (steps 7 to 9) are reached.
    let logged = |comment: &str, artifact: &[u8], expected: &str| {
        let signed = sign_record(witness, operator, "fleet-eu-1", 43, artifact);
        deployment_case(
            &base,
            &anchors,
            comment,
            "LoggedArtifact",
            (&signed, artifact, 0),
            expected,
        )
    };
    let mut other_artifact = artifact.clone();
    let last_digit = other_artifact
        .iter()
        .rposition(u8::is_ascii_hexdigit)
        .expect("hex digits");
    other_artifact[last_digit] = if other_artifact[last_digit] == b'0' { b'1' } else { b'0' };
    let flip = |offset: usize| {
        let mut bytes = signed.clone();
        let offset = if offset < bytes.len() { offset } else { bytes.len() - 1 };
        bytes[offset] ^= 0x01;
        bytes
    };
    let body_len = signed.len() - 132;
    // The operator signs the record alone: a valid signature, over the wrong bytes (6.2).
    let over_body = ed25519_dalek::Signer::sign(
        &SigningKey::from_bytes(&[0x12; 32]),
        &[DEPLOYMENT_OPERATOR, &signed[4..4 + body_len]].concat(),
    )
    .to_bytes();
    let mut not_countersigned = signed.clone();
    not_countersigned[4 + body_len + 64..].copy_from_slice(&over_body);
    let text = |json: &str| json.as_bytes().to_vec();
    let (signing, opaque) = deployment_keys();
    let mut padded = artifact.clone();
    padded.resize(FleetKeyArtifact::MAX_LEN, b' ');
    let padded_signed = sign_record(witness, operator, "fleet-eu-1", 43, &padded);
    let mut too_large = padded.clone();
    too_large.push(b' ');
    vec![
        deployment_case(
            &base,
            &anchors,
            "canonical artifact of two keys",
            "Valid",
            (&signed, &artifact, 0),
            "valid",
        ),
        deployment_case(
            &base,
            &anchors,
            "an artifact of exactly 1 MiB (the canonical form and spaces) is accepted",
            "Valid",
            (&padded_signed, &padded, FleetKeyArtifact::MAX_LEN - artifact.len()),
            "valid",
        ),
        case(
            "artifact not the one logged",
            &signed,
            &other_artifact,
            "DigestMismatch",
        ),
        case(
            "logged digest altered",
            &flip(4 + body_len - 1),
            &artifact,
            "BadWitnessSignature",
        ),
        case(
            "counter-signature altered",
            &flip(signed.len() - 1),
            &artifact,
            "BadCounterSignature",
        ),
        case(
            "operator signed the record only",
            &not_countersigned,
            &artifact,
            "CounterSignatureOverOtherBytes",
        ),
        case("record cut short", &signed[..signed.len() - 1], &artifact, "Malformed"),
        case(
            "a bundle's envelope type 0x02",
            &[&[1, 2], &signed[2..]].concat(),
            &artifact,
            "Malformed",
        ),
        case(
            "a record of another fleet, signed",
            &sign_record(witness, operator, "fleet-us-1", 43, &artifact),
            &artifact,
            "UnknownFleet",
        ),
        deployment_case(
            &base,
            &anchors,
            "artifact of 1 MiB + 1 byte: refused before it is hashed",
            "Tampered",
            (&signed, &too_large, too_large.len() - artifact.len()),
            "ArtifactTooLarge",
        ),
        logged("a logged artifact that is not JSON", b"not json", "Artifact"),
        logged(
            "a logged artifact without keys",
            &text(r#"{"fleet_id":"fleet-eu-1","epoch":43,"keys":[]}"#),
            "Artifact",
        ),
        logged(
            "a logged artifact of another fleet",
            &text(&format!(
                r#"{{"fleet_id":"fleet-us-1","epoch":43,"keys":[{{"public_key":"{opaque}","role":"opaque_server"}}]}}"#
            )),
            "ArtifactFleetMismatch",
        ),
        logged(
            "a logged artifact of another epoch",
            &text(&format!(
                r#"{{"fleet_id":"fleet-eu-1","epoch":44,"keys":[{{"public_key":"{opaque}","role":"opaque_server"}}]}}"#
            )),
            "ArtifactEpochMismatch",
        ),
        logged(
            "a logged artifact of another fleet and epoch: the fleet is compared first",
            &text(&format!(
                r#"{{"fleet_id":"fleet-us-1","epoch":44,"keys":[{{"public_key":"{opaque}","role":"opaque_server"}}]}}"#
            )),
            "ArtifactFleetMismatch",
        ),
        logged(
            "a logged artifact listing the witness key as a response-signing key",
            &text(&format!(
                r#"{{"fleet_id":"fleet-eu-1","epoch":43,"keys":[{{"public_key":"{}","role":"response_signing"}},{{"public_key":"{signing}","role":"response_signing"}}]}}"#,
                hex::encode(witness.verifying_key().as_bytes())
            )),
            "KeyWithWrongRole",
        ),
        logged(
            "a logged artifact listing the operator key as an IPLS key",
            &text(&format!(
                r#"{{"fleet_id":"fleet-eu-1","epoch":43,"keys":[{{"public_key":"{}","role":"ipls_session"}}]}}"#,
                hex::encode(operator.verifying_key().as_bytes())
            )),
            "KeyWithWrongRole",
        ),
    ]
}

/// Artifact JSON (SPEC 8.2), parsed alone: spellings that are accepted, and each refusal with its fields (the JSON
/// error's kind, line and column included).
#[allow(clippy::too_many_lines)] // one line per case
fn artifacts() -> Vec<Value> {
    let (signing, opaque) = deployment_keys();
    let key = |public: &str, role: &str| format!(r#"{{"public_key":"{public}","role":"{role}"}}"#);
    let document = |fleet: &str, epoch: &str, keys: &[String]| {
        format!(
            r#"{{"fleet_id":"{fleet}","epoch":{epoch},"keys":[{}]}}"#,
            keys.join(",")
        )
        .into_bytes()
    };
    let two = [key(&signing, "response_signing"), key(&opaque, "opaque_server")];
    let canonical = document("fleet-eu-1", "43", &two);
    let valid = |comment: &str, artifact: &[u8]| artifact_case(comment, "Valid", artifact, 0, "valid");
    let json = |comment: &str, artifact: &[u8]| artifact_case(comment, "Json", artifact, 0, "Json");
    let content =
        |comment: &str, artifact: &[u8], expected: &str| artifact_case(comment, "Content", artifact, 0, expected);
    let pretty = format!(
        "{{\n  \"keys\": [\n    {{ \"role\": \"opaque_server\", \"public_key\": \"{opaque}\" }},\n    {{ \"role\": \"response_signing\", \"public_key\": \"{signing}\" }}\n  ],\n  \"epoch\": 43,\n  \"fleet_id\": \"fleet-eu-1\"\n}}\n"
    );
    let mut at_limit = canonical.clone();
    at_limit.resize(FleetKeyArtifact::MAX_LEN, b' ');
    let mut too_large = at_limit.clone();
    too_large.push(b' ');
    let one = [key(&opaque, "opaque_server")];
    let minimal_keys: Vec<String> = (0..1025).map(|_| key("", "")).collect();
    let identity = format!("01{}", "00".repeat(31));
    let y_is_p = format!("ed{}7f", "ff".repeat(30));
    let mut not_utf8 = document("fleet-eu-1", "43", &one);
    not_utf8[14] = 0xff;
    vec![
        valid("canonical form", &canonical),
        valid(
            "whitespace, keys and fields in another order: accepted, canonical form differs",
            pretty.as_bytes(),
        ),
        valid(
            "a \\u escape in a string is decoded (\\u002d is '-')",
            &document("fleet\\u002deu-1", "43", &two),
        ),
        valid("epoch 2^64 - 1", &document("fleet-eu-1", "18446744073709551615", &one)),
        artifact_case(
            "exactly 1 MiB (canonical form and spaces)",
            "Valid",
            &at_limit,
            FleetKeyArtifact::MAX_LEN - canonical.len(),
            "valid",
        ),
        artifact_case(
            "1 MiB + 1 byte",
            "Content",
            &too_large,
            too_large.len() - canonical.len(),
            "TooLarge",
        ),
        json("empty input", b""),
        json("not JSON", b"not json"),
        json("cut inside the keys", &canonical[..canonical.len() - 20]),
        json(
            "missing colon on line 3",
            b"{\n  \"fleet_id\": \"fleet-eu-1\",\n  \"epoch\" 43,\n  \"keys\": [] }",
        ),
        json("a byte after the document", &[canonical.as_slice(), b"x"].concat()),
        json(
            "a second document after the first",
            &[canonical.as_slice(), b"{}"].concat(),
        ),
        json("single quotes", b"{'fleet_id':'fleet-eu-1'}"),
        json("a byte that is not UTF-8 inside a string", &not_utf8),
        json(
            "a lone surrogate escape in a string",
            &document("fleet\\ud800", "43", &one),
        ),
        json(
            "a control character inside a string",
            &document("fleet\teu-1", "43", &one),
        ),
        json("epoch with a leading zero", &document("fleet-eu-1", "043", &one)),
        json("missing field keys", br#"{"fleet_id":"fleet-eu-1","epoch":43}"#),
        json(
            "unknown top-level field",
            &[&canonical[..canonical.len() - 1], br#","extra":1}"#].concat(),
        ),
        json(
            "unknown field in a key object",
            &document(
                "fleet-eu-1",
                "43",
                &[format!(
                    r#"{{"public_key":"{opaque}","role":"opaque_server","note":""}}"#
                )],
            ),
        ),
        json(
            "duplicate field epoch",
            format!(
                r#"{{"fleet_id":"fleet-eu-1","epoch":43,"epoch":43,"keys":[{}]}}"#,
                one[0]
            )
            .as_bytes(),
        ),
        json("epoch as a string", &document("fleet-eu-1", "\"43\"", &one)),
        json("epoch negative", &document("fleet-eu-1", "-1", &one)),
        json("epoch 2^64", &document("fleet-eu-1", "18446744073709551616", &one)),
        json("epoch with a fraction", &document("fleet-eu-1", "43.0", &one)),
        json("epoch with an exponent", &document("fleet-eu-1", "43e0", &one)),
        json(
            "keys an object, not an array",
            br#"{"fleet_id":"fleet-eu-1","epoch":43,"keys":{}}"#,
        ),
        json(
            "the document an array, not an object",
            format!(r#"["fleet-eu-1",43,[["{opaque}","opaque_server"]]]"#).as_bytes(),
        ),
        json(
            "null fleet id",
            format!(r#"{{"fleet_id":null,"epoch":43,"keys":[{}]}}"#, one[0]).as_bytes(),
        ),
        content("empty fleet id", &document("", "43", &one), "FleetId"),
        content("upper-case fleet id", &document("Fleet-eu-1", "43", &one), "FleetId"),
        content("no keys", &document("fleet-eu-1", "43", &[]), "KeySet"),
        content(
            "1025 keys: counted before any key is read",
            &document("fleet-eu-1", "43", &minimal_keys),
            "KeySet",
        ),
        content(
            "a key listed twice under two roles",
            &document(
                "fleet-eu-1",
                "43",
                &[key(&opaque, "opaque_server"), key(&opaque, "ipls_session")],
            ),
            "KeySet",
        ),
        content(
            "upper-case hex in the second key",
            &document(
                "fleet-eu-1",
                "43",
                &[
                    key(&opaque, "opaque_server"),
                    key(&signing.to_uppercase(), "response_signing"),
                ],
            ),
            "PublicKeyEncoding",
        ),
        content(
            "63 hex digits",
            &document("fleet-eu-1", "43", &[key(&opaque[1..], "opaque_server")]),
            "PublicKeyEncoding",
        ),
        content(
            "role name in upper case",
            &document("fleet-eu-1", "43", &[key(&opaque, "OPAQUE_SERVER")]),
            "UnknownRole",
        ),
        content(
            "an unknown role at key 0 and bad hex at key 1: keys are checked in order",
            &document(
                "fleet-eu-1",
                "43",
                &[key(&opaque, "witness"), key("00", "opaque_server")],
            ),
            "UnknownRole",
        ),
        content(
            "a response-signing key of small order (the identity)",
            &document(
                "fleet-eu-1",
                "43",
                &[key(&opaque, "opaque_server"), key(&identity, "response_signing")],
            ),
            "InvalidKey",
        ),
        content(
            "a response-signing key y = p (non-canonical)",
            &document("fleet-eu-1", "43", &[key(&y_is_p, "response_signing")]),
            "InvalidKey",
        ),
        content(
            "an all-zero OPAQUE key",
            &document("fleet-eu-1", "43", &[key(&"00".repeat(32), "opaque_server")]),
            "InvalidKey",
        ),
        content(
            "an all-zero IPLS key listed twice: each key's own check comes before the duplicate check",
            &document(
                "fleet-eu-1",
                "43",
                &[
                    key(&"00".repeat(32), "ipls_session"),
                    key(&"00".repeat(32), "ipls_session"),
                ],
            ),
            "InvalidKey",
        ),
        valid(
            "a response-signing key y = 2, not a curve point: received keys are not checked for it (SPEC 7.1)",
            &document(
                "fleet-eu-1",
                "43",
                &[key(&format!("02{}", "00".repeat(31)), "response_signing")],
            ),
        ),
    ]
}

/// A `DeploymentLog` test: the monitor observes `signedRecords` with `artifacts` in order (SPEC 9); every
/// observation but the last must be accepted, the last gives the outcome.
fn log_case(base: &Value, anchors: &TrustAnchors, comment: &str, log: &[(Vec<u8>, Vec<u8>)], expected: &str) -> Value {
    let mut monitor = DeploymentMonitor::new(DeploymentVerifier::new(anchors.clone()));
    let (last, earlier) = log.split_last().expect("a log");
    for (signed, artifact) in earlier {
        monitor.observe(signed, artifact).expect("an earlier epoch is accepted");
    }
    let outcome = monitor
        .observe(&last.0, &last.1)
        .map(|report| vec![("epoch", json::decimal(report.deployment().epoch()))])
        .map_err(|error| monitor_fields(&error));
    let test = json::with_fields(
        base,
        vec![
            ("comment", json!(comment)),
            ("flags", json!(["Log"])),
            (
                "signedRecords",
                json!(log.iter().map(|(signed, _)| hex::encode(signed)).collect::<Vec<_>>()),
            ),
            (
                "artifacts",
                json!(
                    log.iter()
                        .map(|(_, artifact)| hex::encode(artifact))
                        .collect::<Vec<_>>()
                ),
            ),
        ],
    );
    with_outcome(&test, comment, expected, outcome)
}

/// SPEC 9: a monitor following the log.
fn deployment_log(witness: &WitnessSigner, operator: &OperatorSigner) -> Vec<Value> {
    let (signing, opaque) = deployment_keys();
    let artifact = |epoch: u64, public: &str| {
        format!(
            r#"{{"fleet_id":"fleet-eu-1","epoch":{epoch},"keys":[{{"public_key":"{public}","role":"opaque_server"}}]}}"#
        )
        .into_bytes()
    };
    let entry = |epoch: u64, public: &str| {
        let artifact = artifact(epoch, public);
        (sign_record(witness, operator, "fleet-eu-1", epoch, &artifact), artifact)
    };
    let base = json!({
        "fleetId": "fleet-eu-1",
        "witnessKey": hex::encode(witness.verifying_key().as_bytes()),
        "operatorKey": hex::encode(operator.verifying_key().as_bytes()),
    });
    let anchors = TrustAnchors::new(
        FleetId::new("fleet-eu-1").expect("valid"),
        witness.verifying_key().as_bytes(),
        operator.verifying_key().as_bytes(),
    )
    .expect("distinct strong keys");
    let case =
        |comment: &str, log: &[(Vec<u8>, Vec<u8>)], expected: &str| log_case(&base, &anchors, comment, log, expected);
    let other = hex::encode([0x26; 32]);
    let (e43, e44) = (entry(43, &opaque), entry(44, &other));
    vec![
        case(
            "the first epoch sets the starting point",
            std::slice::from_ref(&e43),
            "valid",
        ),
        case("epoch 44 follows 43", &[e43.clone(), e44.clone()], "valid"),
        case("epoch 43 again, same record", &[e43.clone(), e43.clone()], "Replay"),
        case(
            "epoch 43 again with another artifact, both signed: equivocation with both records",
            &[e43.clone(), entry(43, &other)],
            "Equivocation",
        ),
        case(
            "epoch 43 after 44",
            &[e43.clone(), e44.clone(), e43.clone()],
            "NotIncreasing",
        ),
        case("epoch 45 after 43", &[e43.clone(), entry(45, &other)], "Gap"),
        case(
            "epoch 44 whose artifact is not the logged one: the epoch's own verification first",
            &[e43.clone(), (e44.0.clone(), artifact(44, &signing))],
            "Deployment",
        ),
        case(
            "the first epoch's own verification fails",
            &[(e43.0.clone(), b"{}".to_vec())],
            "Deployment",
        ),
    ]
}

/// SPEC 6 and 12.3: the pinned keys (`TrustAnchors::new`): each is checked by 7.1's rule, witness first, then
/// whether they are equal.
fn anchor_cases(witness: &WitnessSigner, operator: &OperatorSigner) -> Vec<Value> {
    let strong = hex::encode(witness.verifying_key().as_bytes());
    let operator_key = hex::encode(operator.verifying_key().as_bytes());
    let identity = format!("01{}", "00".repeat(31));
    let not_a_point = format!("02{}", "00".repeat(31));
    let y_is_p = format!("ed{}7f", "ff".repeat(30));
    let case = |comment: &str, witness_key: &str, operator_key: &str, expected: &str| {
        let test = json!({
            "comment": comment, "flags": ["Anchors"], "fleetId": "fleet-eu-1",
            "witnessKey": witness_key, "operatorKey": operator_key,
        });
        let key = |text: &str| -> [u8; 32] { hex::decode(text).expect("hex").try_into().expect("32 bytes") };
        let outcome = TrustAnchors::new(
            FleetId::new("fleet-eu-1").expect("valid"),
            &key(witness_key),
            &key(operator_key),
        )
        .map(|_| vec![])
        .map_err(anchor_fields);
        with_outcome(&test, comment, expected, outcome)
    };
    vec![
        case("two distinct strong keys", &strong, &operator_key, "valid"),
        case(
            "witness key not a curve point (y = 2)",
            &not_a_point,
            &operator_key,
            "InvalidKey",
        ),
        case(
            "operator key of small order (the identity)",
            &strong,
            &identity,
            "InvalidKey",
        ),
        case("operator key y = p (non-canonical)", &strong, &y_is_p, "InvalidKey"),
        case("witness and operator key equal", &strong, &strong, "SameKey"),
        case(
            "both keys the identity: the witness key is checked first, before equality",
            &identity,
            &identity,
            "InvalidKey",
        ),
    ]
}

/// SPEC 6.4: approving the vault that answered, against the verified bundle of this file.
fn responder_cases(base: &Value, wire: &[u8]) -> Vec<Value> {
    let strong = hex::encode(SigningKey::from_bytes(&[0x13; 32]).verifying_key().to_bytes());
    let anchors = TrustAnchors::new(
        FleetId::new(base["fleetId"].as_str().expect("text")).expect("valid"),
        &hex::decode(base["witnessKey"].as_str().expect("hex"))
            .expect("hex")
            .try_into()
            .expect("32"),
        &hex::decode(base["operatorKey"].as_str().expect("hex"))
            .expect("hex")
            .try_into()
            .expect("32"),
    )
    .expect("strong keys");
    let verified = BundleVerifier::new(anchors)
        .verify(wire, UnixSeconds(ISSUED_AT + 60), None)
        .expect("the bundle of this file verifies");
    let case = |comment: &str, key: &str, role: Role, now: u64, expected: &str| {
        let test = json::with_fields(
            base,
            vec![
                ("comment", json!(comment)),
                ("flags", json!(["Responder"])),
                ("signedBundle", json!(hex::encode(wire))),
                ("responderKey", json!(key)),
                ("responderRole", json!(role_name(role))),
                ("responderNow", json::decimal(now)),
            ],
        );
        let public: [u8; 32] = hex::decode(key).expect("hex").try_into().expect("32 bytes");
        let outcome = verified
            .check_responder(&public, role, UnixSeconds(now))
            .map(|()| vec![])
            .map_err(|error| responder_fields(&error));
        with_outcome(&test, comment, expected, outcome)
    };
    let opaque = hex::encode([0x24; 32]);
    vec![
        case(
            "the response-signing key, inside the window",
            &strong,
            Role::ResponseSigning,
            ISSUED_AT,
            "valid",
        ),
        case("the OPAQUE key", &opaque, Role::OpaqueServer, EXPIRES_AT - 1, "valid"),
        case(
            "a key the bundle does not list",
            &hex::encode([0x99; 32]),
            Role::OpaqueServer,
            ISSUED_AT + 60,
            "NotInBundle",
        ),
        case(
            "the OPAQUE key presented as an IPLS key",
            &opaque,
            Role::IplsSession,
            ISSUED_AT + 60,
            "WrongRole",
        ),
        case(
            "before issued_at",
            &strong,
            Role::ResponseSigning,
            ISSUED_AT - 1,
            "NotYetValid",
        ),
        case(
            "at expires_at, an unlisted key: the window is checked first",
            &hex::encode([0x99; 32]),
            Role::OpaqueServer,
            EXPIRES_AT,
            "Expired",
        ),
    ]
}

/// Whether the crate's outcome is the test's: a valid test's outputs are each equal to the test's fields; a refusal
/// has the test's name and exactly the test's error fields (no field of another error).
fn check_outcome(test: &Map<String, Value>, outcome: Outcome) -> Result<(), String> {
    match (json::valid(test)?, outcome) {
        (true, Ok(fields)) => match fields.iter().find(|(name, value)| test.get(*name) != Some(value)) {
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

/// The pinned anchors a test names.
fn anchors_of(test: &Map<String, Value>) -> Result<TrustAnchors, String> {
    let fleet = FleetId::new(json::text(test, "fleetId")?).map_err(|error| error.to_string())?;
    TrustAnchors::new(
        fleet,
        &json::array(test, "witnessKey")?,
        &json::array(test, "operatorKey")?,
    )
    .map_err(|error| error.to_string())
}

fn check_deployment(test: &Map<String, Value>) -> Result<(), String> {
    let signed = json::bytes(test, "signedRecord")?;
    let outcome = DeploymentVerifier::new(anchors_of(test)?)
        .verify(&signed, &artifact_of(test)?)
        .map(|verified| deployment_outputs(&signed, verified.epoch()))
        .map_err(|error| deployment_fields(&error));
    check_outcome(test, outcome)
}

fn check_artifact(test: &Map<String, Value>) -> Result<(), String> {
    let outcome = FleetKeyArtifact::from_json(&artifact_of(test)?)
        .map(|parsed| {
            vec![
                ("canonical", json!(hex::encode(parsed.to_json()))),
                ("epoch", json::decimal(parsed.epoch())),
            ]
        })
        .map_err(|error| artifact_fields(&error));
    check_outcome(test, outcome)
}

fn check_log(test: &Map<String, Value>) -> Result<(), String> {
    let hex_list = |field: &str| -> Result<Vec<Vec<u8>>, String> {
        test.get(field)
            .and_then(Value::as_array)
            .ok_or_else(|| fail(test, &format!("{field} is not an array")))?
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(|text| hex::decode(text).ok())
                    .ok_or_else(|| fail(test, field))
            })
            .collect()
    };
    let (records, artifacts) = (hex_list("signedRecords")?, hex_list("artifacts")?);
    if records.is_empty() || records.len() != artifacts.len() {
        return Err(fail(test, "signedRecords and artifacts differ in length"));
    }
    let mut monitor = DeploymentMonitor::new(DeploymentVerifier::new(anchors_of(test)?));
    let last = records.len() - 1;
    for (signed, artifact) in records[..last].iter().zip(&artifacts) {
        monitor
            .observe(signed, artifact)
            .map_err(|error| fail(test, &format!("an earlier epoch is refused: {error}")))?;
    }
    let outcome = monitor
        .observe(&records[last], &artifacts[last])
        .map(|report| vec![("epoch", json::decimal(report.deployment().epoch()))])
        .map_err(|error| monitor_fields(&error));
    check_outcome(test, outcome)
}

fn check_anchors(test: &Map<String, Value>) -> Result<(), String> {
    let fleet = FleetId::new(json::text(test, "fleetId")?).map_err(|error| error.to_string())?;
    let outcome = TrustAnchors::new(
        fleet,
        &json::array(test, "witnessKey")?,
        &json::array(test, "operatorKey")?,
    )
    .map(|_| vec![])
    .map_err(anchor_fields);
    check_outcome(test, outcome)
}

fn check_responder(test: &Map<String, Value>) -> Result<(), String> {
    let verified = BundleVerifier::new(anchors_of(test)?)
        .verify(
            &json::bytes(test, "signedBundle")?,
            UnixSeconds(json::decimal_u64(test, "now")?),
            None,
        )
        .map_err(|error| fail(test, &format!("the bundle is refused: {error}")))?;
    let role = [Role::ResponseSigning, Role::OpaqueServer, Role::IplsSession]
        .into_iter()
        .find(|role| role_name(*role) == json::text(test, "responderRole").unwrap_or_default())
        .ok_or_else(|| fail(test, "unknown responderRole"))?;
    let outcome = verified
        .check_responder(
            &json::array(test, "responderKey")?,
            role,
            UnixSeconds(json::decimal_u64(test, "responderNow")?),
        )
        .map(|()| vec![])
        .map_err(|error| responder_fields(&error));
    check_outcome(test, outcome)
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    match json::text(group, "type")? {
        "DeploymentRecord" => check_deployment(test),
        "Artifact" => check_artifact(test),
        "DeploymentLog" => check_log(test),
        "Anchors" => check_anchors(test),
        "Responder" => check_responder(test),
        _ => check_bundle(test),
    }
}

/// Whether the test carries exactly the error's fields (and no other error field).
fn same_error_fields(test: &Map<String, Value>, error: &VerifyError) -> bool {
    let fields = error_fields(error);
    ERROR_FIELDS
        .iter()
        .all(|name| test.get(*name) == fields.iter().find(|(field, _)| field == name).map(|(_, value)| value))
}

fn check_bundle(test: &Map<String, Value>) -> Result<(), String> {
    let fleet = FleetId::new(json::text(test, "fleetId")?).map_err(|error| error.to_string())?;
    let anchors = TrustAnchors::new(
        fleet,
        &json::array(test, "witnessKey")?,
        &json::array(test, "operatorKey")?,
    )
    .map_err(|error| error.to_string())?;
    let now = json::decimal_u64(test, "now")?;
    let state = if test.contains_key("stateEpoch") {
        Some(AcceptedEpoch::new(
            FleetId::new(json::text(test, "stateFleetId")?).map_err(|error| error.to_string())?,
            json::decimal_u64(test, "stateEpoch")?,
            json::array(test, "stateBodyDigest")?,
        ))
    } else {
        None
    };
    let verified =
        BundleVerifier::new(anchors).verify(&json::bytes(test, "signedBundle")?, UnixSeconds(now), state.as_ref());
    if !json::valid(test)? {
        return match verified {
            Err(error) if reason(&error) == json::text(test, "error")? && same_error_fields(test, &error) => Ok(()),
            _ => Err(fail(test, "bundle was not rejected as specified")),
        };
    }
    let verified = verified.map_err(|error| fail(test, &error.to_string()))?;
    let body = json::bytes(test, "body")?;
    let witness_signed = [BUNDLE_WITNESS, &body].concat();
    let operator_signed = [BUNDLE_OPERATOR, &body, &json::bytes(test, "witnessSignature")?].concat();
    let bundle = verified.bundle();
    let checks = [
        (bundle.to_bytes() == body, "body"),
        (bundle.epoch() == json::decimal_u64(test, "epoch")?, "epoch"),
        (
            bundle.validity().issued_at() == UnixSeconds(json::decimal_u64(test, "issuedAt")?),
            "issuedAt",
        ),
        (
            bundle.validity().expires_at() == UnixSeconds(json::decimal_u64(test, "expiresAt")?),
            "expiresAt",
        ),
        (
            json::bytes(test, "witnessSignedBytes")? == witness_signed,
            "witnessSignedBytes",
        ),
        (
            json::bytes(test, "operatorSignedBytes")? == operator_signed,
            "operatorSignedBytes",
        ),
    ];
    json::all_hold(test, &checks)
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
