//! kt_audit's `Monitor` group (kt-verify SPEC §2, §8.5): the directory's real roots, signed by a witness, offered to
//! a kt-verify `Monitor` after a checkpoint, with or without an audited chain of real blobs (`observe_audited`); the
//! observation, or the `MonitorError` with its fields. Every outcome is the crate's, obtained by running it.

use ed25519_dalek::{Signer, SigningKey};
use kt_verify::{
    Ciphersuite, Monitor, MonitorError, Observation, SignedRoot, WhatsAppChainAuditor, WitnessKey, WitnessVerifier,
};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};
use crate::kt_directory::Run;

const NAMESPACE: &str = "kt.example/audit";
const WITNESS_SEED: [u8; 32] = [0x41; 32];
/// The witness signs epoch `e`'s root at `SIGNED_AT_MS + e` seconds; the monitor's clock is after all of them.
const SIGNED_AT_MS: u64 = 1_760_000_000_000;
const NOW_MS: u64 = SIGNED_AT_MS + 60_000;
const MAX_AGE_MS: u64 = 3_600_000;

fn signed(epoch: u64, digest: [u8; 32], timestamp_ms: u64) -> SignedRoot {
    let signer = SigningKey::from_bytes(&WITNESS_SEED);
    let key_id = signer.verifying_key().to_bytes()[31];
    let unsigned = SignedRoot::new(
        Ciphersuite::ProtobufEd25519,
        NAMESPACE,
        timestamp_ms,
        epoch,
        digest,
        [0; 64],
        key_id,
    );
    let signature = signer.sign(&unsigned.signed_message()).to_bytes();
    SignedRoot::new(
        Ciphersuite::ProtobufEd25519,
        NAMESPACE,
        timestamp_ms,
        epoch,
        digest,
        signature,
        key_id,
    )
}

/// The name of the blob from `epoch - 1` to `epoch`.
fn blob_name(epoch: u64, previous: &[u8], current: &[u8]) -> String {
    format!("{epoch}/{}/{}", hex::encode(previous), hex::encode(current))
}

/// An audit as the generator holds it: its start epoch, the roots from there on, the blobs between them.
type Audit<'a> = (u64, Vec<[u8; 32]>, Vec<&'a [u8]>);
/// An audit as a test carries it: the start epoch, the roots and the blobs, as bytes.
type AuditBytes<'a> = (u64, &'a [Vec<u8>], &'a [Vec<u8>]);

/// The inputs of one test: the checkpoint (if any), the offered root, and the audit (its start epoch, the roots from
/// there on and the blobs between them).
struct Case<'a> {
    checkpoint: Option<SignedRoot>,
    offered: SignedRoot,
    audit: Option<Audit<'a>>,
}

/// Runs a new monitor over the case: the checkpoint (which must be its first root), then the offered root, audited
/// when the case has an audit. The verifier and the auditor are kt-verify's.
fn observe(
    witness_public: [u8; 32],
    max_age_ms: u64,
    now_ms: u64,
    checkpoint: Option<&[u8]>,
    offered: &[u8],
    audit: Option<AuditBytes<'_>>,
) -> Result<Result<Observation, MonitorError>, String> {
    let key = WitnessKey::new(witness_public, 0).map_err(|error| format!("witness key: {error}"))?;
    let verifier = WitnessVerifier::new(NAMESPACE, [key], max_age_ms).map_err(|error| format!("verifier: {error}"))?;
    let accept = |bytes: &[u8]| {
        let root = SignedRoot::from_protobuf(bytes).map_err(|error| format!("a signed root: {error}"))?;
        verifier
            .verify(&root, now_ms)
            .map_err(|error| format!("a signed root: {error}"))
    };
    let mut monitor = Monitor::new();
    if let Some(checkpoint) = checkpoint {
        let first = monitor.observe(accept(checkpoint)?);
        if first != Ok(Observation::First) {
            return Err(format!("the checkpoint is not the first root: {first:?}"));
        }
    }
    let offered = accept(offered)?;
    let Some((start, roots, blobs)) = audit else {
        return Ok(monitor.observe(offered));
    };
    let mut auditor = WhatsAppChainAuditor::new().map_err(|error| error.to_string())?;
    if roots.len() != blobs.len() + 1 {
        return Err("auditRoots holds one root more than auditBlobs".into());
    }
    for (index, blob) in blobs.iter().enumerate() {
        let epoch = start + 1 + index as u64;
        auditor
            .verify_blob(&blob_name(epoch, &roots[index], &roots[index + 1]), blob)
            .map_err(|error| format!("the audit blob of epoch {epoch}: {error}"))?;
    }
    let chain = auditor.chain().ok_or("an audit without blobs")?;
    Ok(monitor.observe_audited(offered, chain))
}

/// The outcome's fields: `observation` (and `fromEpoch`) for a valid test; `error` and the error's fields
/// (`errorCheckpointEpoch` and `errorEpoch`; `errorCheckpointMs` and `errorTimestampMs`; `forkFirst` and
/// `forkSecond`, the evidence's two signed roots) for a refused one.
fn outcome_fields(outcome: &Result<Observation, MonitorError>) -> Map<String, Value> {
    let fields = match outcome {
        Ok(Observation::First) => json!({"result": "valid", "observation": "First"}),
        Ok(Observation::Unchanged) => json!({"result": "valid", "observation": "Unchanged"}),
        Ok(Observation::Advanced { from_epoch }) => {
            json!({"result": "valid", "observation": "Advanced", "fromEpoch": json::decimal(*from_epoch)})
        }
        Err(MonitorError::Rollback {
            checkpoint_epoch,
            epoch,
        }) => json!({
            "result": "invalid", "error": "Rollback",
            "errorCheckpointEpoch": json::decimal(*checkpoint_epoch), "errorEpoch": json::decimal(*epoch),
        }),
        Err(MonitorError::GapWithoutAudit {
            checkpoint_epoch,
            epoch,
        }) => json!({
            "result": "invalid", "error": "GapWithoutAudit",
            "errorCheckpointEpoch": json::decimal(*checkpoint_epoch), "errorEpoch": json::decimal(*epoch),
        }),
        Err(MonitorError::TimestampRegression {
            checkpoint_ms,
            timestamp_ms,
        }) => json!({
            "result": "invalid", "error": "TimestampRegression",
            "errorCheckpointMs": json::decimal(*checkpoint_ms), "errorTimestampMs": json::decimal(*timestamp_ms),
        }),
        Err(MonitorError::AuditMismatch) => json!({"result": "invalid", "error": "AuditMismatch"}),
        Err(MonitorError::Fork(evidence)) => json!({
            "result": "invalid", "error": "Fork",
            "forkFirst": hex::encode(evidence.first().to_protobuf()),
            "forkSecond": hex::encode(evidence.second().to_protobuf()),
        }),
        Ok(other) => json!({"result": "valid", "observation": format!("{other:?}")}),
        Err(other) => json!({"result": "invalid", "error": format!("{other:?}")}),
    };
    fields.as_object().expect("an object").clone()
}

/// Every field an outcome may set, so that a test naming one its outcome lacks is refused.
const OUTCOME_FIELDS: [&str; 10] = [
    "result",
    "observation",
    "fromEpoch",
    "error",
    "errorCheckpointEpoch",
    "errorEpoch",
    "errorCheckpointMs",
    "errorTimestampMs",
    "forkFirst",
    "forkSecond",
];

fn test(comment: &str, flags: &[&str], case: &Case<'_>) -> Value {
    let witness_public = SigningKey::from_bytes(&WITNESS_SEED).verifying_key().to_bytes();
    let checkpoint = case.checkpoint.as_ref().map(SignedRoot::to_protobuf);
    let offered = case.offered.to_protobuf();
    let mut test = json!({
        "comment": comment,
        "flags": flags,
        "witnessPublicKey": hex::encode(witness_public),
        "namespace": NAMESPACE,
        "maxAgeMs": json::decimal(MAX_AGE_MS),
        "nowMs": json::decimal(NOW_MS),
        "signedRoot": hex::encode(&offered),
    });
    if let Some(checkpoint) = &checkpoint {
        test["checkpoint"] = json!(hex::encode(checkpoint));
    }
    let audit = case.audit.as_ref().map(|(start, roots, blobs)| {
        let roots: Vec<Vec<u8>> = roots.iter().map(|root| root.to_vec()).collect();
        let blobs: Vec<Vec<u8>> = blobs.iter().map(|blob| blob.to_vec()).collect();
        (*start, roots, blobs)
    });
    if let Some((start, roots, blobs)) = &audit {
        test["auditStartEpoch"] = json::decimal(*start);
        test["auditRoots"] = json!(roots.iter().map(hex::encode).collect::<Vec<_>>());
        test["auditBlobs"] = json!(blobs.iter().map(hex::encode).collect::<Vec<_>>());
    }
    let outcome = observe(
        witness_public,
        MAX_AGE_MS,
        NOW_MS,
        checkpoint.as_deref(),
        &offered,
        audit
            .as_ref()
            .map(|(start, roots, blobs)| (*start, &roots[..], &blobs[..])),
    )
    .expect("the vector's roots and blobs verify");
    for (field, value) in outcome_fields(&outcome) {
        test[field] = value;
    }
    test
}

/// The group's tests, on the roots and blobs of `run`'s directory.
pub(super) fn tests(run: &Run) -> Vec<Value> {
    let root = |epoch: u64| signed(epoch, run.roots[epoch as usize], SIGNED_AT_MS + epoch * 1_000);
    let blobs = |from: u64, to: u64| -> Vec<&[u8]> {
        run.blobs
            .iter()
            .filter(|blob| blob.epoch > from && blob.epoch <= to)
            .map(|blob| &blob.bytes[..])
            .collect()
    };
    let audit = |from: u64, to: u64| Some((from, run.roots[from as usize..=to as usize].to_vec(), blobs(from, to)));
    let case = |checkpoint: Option<u64>, offered: SignedRoot, audit| Case {
        checkpoint: checkpoint.map(root),
        offered,
        audit,
    };
    vec![
        test(
            "no checkpoint: the root of epoch 2 is trusted on first use",
            &["First"],
            &case(None, root(2), None),
        ),
        test(
            "the checkpoint's root again",
            &["Unchanged"],
            &case(Some(2), root(2), None),
        ),
        test("epoch 3 after epoch 2", &["Advanced"], &case(Some(2), root(3), None)),
        test("epoch 2 after epoch 3", &["Rollback"], &case(Some(3), root(2), None)),
        test(
            "epoch 3 with the root hash of epoch 4, after the root of epoch 3 (both witness-signed)",
            &["Fork"],
            &case(Some(3), signed(3, run.roots[4], SIGNED_AT_MS + 4_000), None),
        ),
        test(
            "epoch 4 signed one millisecond before the checkpoint of epoch 3",
            &["TimestampRegression"],
            &case(Some(3), signed(4, run.roots[4], SIGNED_AT_MS + 3_000 - 1), None),
        ),
        test(
            "epoch 4 signed before the checkpoint of epoch 2 with an audit from 2 to 4: the timestamp comes first",
            &["TimestampRegression"],
            &case(Some(2), signed(4, run.roots[4], SIGNED_AT_MS + 1_000), audit(2, 4)),
        ),
        test(
            "epoch 4 after epoch 2, no audit",
            &["GapWithoutAudit"],
            &case(Some(2), root(4), None),
        ),
        test(
            "epoch 4 after epoch 2 with the audited chain from epoch 2 to 4",
            &["Audited"],
            &case(Some(2), root(4), audit(2, 4)),
        ),
        test(
            "epoch 5 after epoch 2 with the audited chain from epoch 2 to 4 (ends before the offered root)",
            &["AuditMismatch"],
            &case(Some(2), root(5), audit(2, 4)),
        ),
        test(
            "epoch 4 after epoch 2 with the audited chain from epoch 1 to 4 (starts before the checkpoint)",
            &["AuditMismatch"],
            &case(Some(2), root(4), audit(1, 4)),
        ),
        test(
            "epoch 3 after epoch 2 with an audit from 1 to 4: a step of one epoch needs none, the audit is not read",
            &["Advanced"],
            &case(Some(2), root(3), audit(1, 4)),
        ),
    ]
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

/// Checks a `Monitor` test with kt-verify's verifier, monitor and auditor.
pub(super) fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    if json::text(test, "namespace")? != NAMESPACE {
        return Err(fail(test, "namespace"));
    }
    let audit = match test.get("auditStartEpoch") {
        Some(_) => Some((
            json::decimal_u64(test, "auditStartEpoch")?,
            hex_list(test, "auditRoots")?,
            hex_list(test, "auditBlobs")?,
        )),
        None => None,
    };
    let checkpoint = match test.get("checkpoint") {
        Some(_) => Some(json::bytes(test, "checkpoint")?),
        None => None,
    };
    let outcome = observe(
        json::array(test, "witnessPublicKey")?,
        json::decimal_u64(test, "maxAgeMs")?,
        json::decimal_u64(test, "nowMs")?,
        checkpoint.as_deref(),
        &json::bytes(test, "signedRoot")?,
        audit
            .as_ref()
            .map(|(start, roots, blobs)| (*start, &roots[..], &blobs[..])),
    )
    .map_err(|error| fail(test, &error))?;
    let expected = outcome_fields(&outcome);
    let differing: Vec<&str> = OUTCOME_FIELDS
        .iter()
        .copied()
        .filter(|field| test.get(*field) != expected.get(*field))
        .collect();
    if differing.is_empty() {
        Ok(())
    } else {
        Err(fail(
            test,
            &format!("the monitor gives {expected:?}; differing: {differing:?}"),
        ))
    }
}
