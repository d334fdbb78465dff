//! Fleet validation-bundle vectors: the canonical body, what the witness and the operator sign, both signatures
//! and the signed envelope; and bundles altered after signing, which the verifier must reject with the named
//! reason.

use ed25519_dalek::SigningKey;
use fleet_bundle::context::{BUNDLE_OPERATOR, BUNDLE_WITNESS, DEPLOYMENT_OPERATOR, DEPLOYMENT_WITNESS};
use fleet_bundle::{
    AcceptedEpoch, Bundle, BundleVerifier, DecodeError, DeploymentError, DeploymentRecord, DeploymentVerifier, FleetId,
    FleetIdError, FleetKey, FleetKeyArtifact, KeyError, KeySet, OperatorSigner, Party, Role, TrustAnchors, UnixSeconds,
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
        DecodeError::FleetId(FleetIdError::Length { len }) => (
            "FleetId",
            vec![("fleetIdError", json!("Length")), ("count", json!(len))],
        ),
        DecodeError::FleetId(FleetIdError::Character { index }) => (
            "FleetId",
            vec![("fleetIdError", json!("Character")), ("index", json!(index))],
        ),
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
        VerifyError::KeyWithWrongRole { party, role } => vec![
            (
                "party",
                json!(if *party == Party::Witness {
                    "Witness"
                } else {
                    "Operator"
                }),
            ),
            ("role", json!(role_name(*role))),
        ],
        _ => vec![],
    }
}

/// The fields every error field name may use: a test carries exactly those of its error.
const ERROR_FIELDS: [&str; 11] = [
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
];

fn notes() -> Value {
    json!({
        "format": "fleet-bundle/SPEC.md: signedBundle = envelope header || body || witness signature || operator signature",
        "witness": "witnessSignature = Ed25519(witnessKey, \"fleet-bundle/v1/bundle/witness\" || body)",
        "operator": "operatorSignature = Ed25519(operatorKey, \"fleet-bundle/v1/bundle/operator\" || body || witnessSignature)",
        "verification": "strict Ed25519; validity window [issued_at, expires_at) against now (Unix seconds); error names the first failing check in the SPEC's order",
        "savedState": "stateFleetId, stateEpoch, stateBodyDigest: the accepted-epoch state (SPEC 6.3) passed to the verifier (SavedState tests; absent: no state)",
        "errorFields": "beside error: Malformed's decodeError with its fields (found, expected, fleetIdError, count, index), Rollback's epoch and lastAccepted, Equivocation's epoch, InvalidKey's index and keyError, KeyWithWrongRole's party and role",
        "u64": "now, epoch, issuedAt and expiresAt are u64 decimal strings (epoch, issuedAt and expiresAt: the body's fields, in valid tests); BeyondDoubles tests use 2^53 + 1 and 2^53 + 3, which a JSON number parsed as a double does not hold",
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
        test["error"] = json!(error);
        test["now"] = json::decimal(now);
        test["signedBundle"] = json!(hex::encode(bytes));
        test
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
    json::file(
        "FLEET-VALIDATION-BUNDLE-ED25519",
        "fleet_bundle.schema.json",
        &notes(),
        vec![
            json!({"type": "SignedBundle", "tests": tests}),
            json!({"type": "DeploymentRecord", "tests": deployments(&witness, &operator)}),
        ],
    )
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
        json::with_fields(
            &base,
            vec![
                ("comment", json!(comment)),
                ("flags", json!(["BeyondDoubles"])),
                ("result", json!("invalid")),
                ("error", json!(error)),
                ("now", json::decimal(now)),
            ],
        )
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

fn deployment_reason(error: &DeploymentError) -> &'static str {
    match error {
        DeploymentError::Malformed(_) => "Malformed",
        DeploymentError::BadWitnessSignature => "BadWitnessSignature",
        DeploymentError::BadCounterSignature => "BadCounterSignature",
        DeploymentError::DigestMismatch => "DigestMismatch",
        _ => "Other",
    }
}

/// Deployment records (binary transparency): one epoch's artifact, its logged digest and both signatures.
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
    let artifact = FleetKeyArtifact::new(fleet.clone(), 43, keys).to_json();
    let record = DeploymentRecord::for_artifact(fleet, 43, &artifact);
    let body = record.to_bytes();
    let witness_signature = witness.sign_deployment(&record);
    let signed = operator
        .countersign_deployment(record, &witness_signature)
        .expect("valid")
        .to_bytes();
    let base = json!({
        "fleetId": "fleet-eu-1",
        "witnessKey": hex::encode(witness.verifying_key().as_bytes()),
        "operatorKey": hex::encode(operator.verifying_key().as_bytes()),
    });
    let valid = json::with_fields(
        &base,
        vec![
            ("comment", json!("canonical artifact of two keys")),
            ("flags", json!([])),
            ("result", json!("valid")),
            ("artifact", json!(hex::encode(&artifact))),
            ("body", json!(hex::encode(&body))),
            (
                "witnessSignedBytes",
                json!(hex::encode([DEPLOYMENT_WITNESS, &body].concat())),
            ),
            ("witnessSignature", json!(hex::encode(witness_signature.to_bytes()))),
            (
                "operatorSignedBytes",
                json!(hex::encode(
                    [DEPLOYMENT_OPERATOR, &body, &witness_signature.to_bytes()].concat()
                )),
            ),
            ("signedRecord", json!(hex::encode(&signed))),
            ("epoch", json::decimal(43)),
        ],
    );
    let invalid = |comment: &str, record: &[u8], artifact: &[u8], error: &str| {
        let mut test = base.clone();
        test["comment"] = json!(comment);
        test["flags"] = json!(["Tampered"]);
        test["result"] = json!("invalid");
        test["error"] = json!(error);
        test["artifact"] = json!(hex::encode(artifact));
        test["signedRecord"] = json!(hex::encode(record));
        test
    };
    let mut other_artifact = artifact.clone();
    let last_digit = other_artifact
        .iter()
        .rposition(u8::is_ascii_hexdigit)
        .expect("hex digits");
    other_artifact[last_digit] = if other_artifact[last_digit] == b'0' { b'1' } else { b'0' };
    let mut digest_altered = signed.clone();
    digest_altered[4 + body.len() - 1] ^= 0x01;
    let mut countersignature_altered = signed.clone();
    let end = countersignature_altered.len() - 1;
    countersignature_altered[end] ^= 0x01;
    vec![
        valid,
        invalid(
            "artifact not the one logged",
            &signed,
            &other_artifact,
            "DigestMismatch",
        ),
        invalid(
            "logged digest altered",
            &digest_altered,
            &artifact,
            "BadWitnessSignature",
        ),
        invalid(
            "counter-signature altered",
            &countersignature_altered,
            &artifact,
            "BadCounterSignature",
        ),
    ]
}

fn check_deployment(test: &Map<String, Value>, anchors: TrustAnchors) -> Result<(), String> {
    let verified =
        DeploymentVerifier::new(anchors).verify(&json::bytes(test, "signedRecord")?, &json::bytes(test, "artifact")?);
    if !json::valid(test)? {
        return match verified {
            Err(error) if deployment_reason(&error) == json::text(test, "error")? => Ok(()),
            _ => Err(fail(test, "record was not rejected as specified")),
        };
    }
    let verified = verified.map_err(|error| fail(test, &error.to_string()))?;
    let body = json::bytes(test, "body")?;
    json::all_hold(
        test,
        &[
            (verified.epoch() == json::decimal_u64(test, "epoch")?, "epoch"),
            (
                json::bytes(test, "witnessSignedBytes")? == [DEPLOYMENT_WITNESS, &body].concat(),
                "witnessSignedBytes",
            ),
            (
                json::bytes(test, "operatorSignedBytes")?
                    == [DEPLOYMENT_OPERATOR, &body, &json::bytes(test, "witnessSignature")?].concat(),
                "operatorSignedBytes",
            ),
        ],
    )
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    if json::text(group, "type")? == "DeploymentRecord" {
        let fleet = FleetId::new(json::text(test, "fleetId")?).map_err(|error| error.to_string())?;
        let anchors = TrustAnchors::new(
            fleet,
            &json::array(test, "witnessKey")?,
            &json::array(test, "operatorKey")?,
        )
        .map_err(|error| error.to_string())?;
        return check_deployment(test, anchors);
    }
    check_bundle(test)
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
