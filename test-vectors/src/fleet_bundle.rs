//! Fleet validation-bundle vectors: the canonical body, what the witness and the operator sign, both signatures
//! and the signed envelope; and bundles altered after signing, which the verifier must reject with the named
//! reason.

use ed25519_dalek::SigningKey;
use fleet_bundle::context::{BUNDLE_OPERATOR, BUNDLE_WITNESS, DEPLOYMENT_OPERATOR, DEPLOYMENT_WITNESS};
use fleet_bundle::{
    Bundle, BundleVerifier, DeploymentError, DeploymentRecord, DeploymentVerifier, FleetId, FleetKey, FleetKeyArtifact,
    KeySet, OperatorSigner, Role, TrustAnchors, UnixSeconds, ValidityWindow, VerifyError, WitnessSigner,
};
use serde_json::{Map, Value, json};

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
        _ => "Other",
    }
}

fn notes() -> Value {
    json!({
        "format": "fleet-bundle/SPEC.md: signedBundle = envelope header || body || witness signature || operator signature",
        "witness": "witnessSignature = Ed25519(witnessKey, \"fleet-bundle/v1/bundle/witness\" || body)",
        "operator": "operatorSignature = Ed25519(operatorKey, \"fleet-bundle/v1/bundle/operator\" || body || witnessSignature)",
        "verification": "strict Ed25519; validity window [issued_at, expires_at) against now (Unix seconds); error names the first failing check in the SPEC's order",
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
        invalid(
            "trailing byte",
            [wire.as_slice(), &[0]].concat(),
            "Malformed",
            ISSUED_AT + 60,
        ),
    ];
    let mut tests = tests;
    tests.extend(beyond_doubles(&witness, &operator));
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

fn check_bundle(test: &Map<String, Value>) -> Result<(), String> {
    let fleet = FleetId::new(json::text(test, "fleetId")?).map_err(|error| error.to_string())?;
    let anchors = TrustAnchors::new(
        fleet,
        &json::array(test, "witnessKey")?,
        &json::array(test, "operatorKey")?,
    )
    .map_err(|error| error.to_string())?;
    let now = json::decimal_u64(test, "now")?;
    let verified = BundleVerifier::new(anchors).verify(&json::bytes(test, "signedBundle")?, UnixSeconds(now), None);
    if !json::valid(test)? {
        return match verified {
            Err(error) if reason(&error) == json::text(test, "error")? => Ok(()),
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
