//! kt-verify's in-place audit verifier (SPEC §4.1) against akd 0.13's own `verify_consecutive_append_only` on the
//! committed audit blobs: every `kt_audit.json` test, and every input of the `kt_audit` fuzz corpus verified under
//! every blob name of the vectors. `verify_blob` must give what the previous implementation gave: rust-protobuf's
//! decoding and akd_core's conversion (`Malformed`), akd's re-encoding (`NonCanonical`), then akd's verifier
//! (`Rejected`), after the name, chain and length checks, which did not change and are not compared here.

use std::fs;
use std::path::PathBuf;

use akd::WhatsAppV1Configuration;
use akd::proto::specs::types as pb;
use kt_verify::{AuditBlobName, AuditError, WhatsAppChainAuditor};
use protobuf::Message;
use serde_json::Value;

/// One blob and the auditor it is given to.
struct Case {
    name: String,
    blob: Vec<u8>,
    start: Option<(u64, [u8; 32])>,
    max_blob_len: Option<usize>,
}

fn cases() -> Vec<Case> {
    let vectors: Value = serde_json::from_str(include_str!("../vectors/kt_audit.json")).expect("JSON");
    let digest = |test: &Value, field: &str| -> [u8; 32] {
        hex::decode(test[field].as_str().expect(field))
            .expect("hex")
            .try_into()
            .expect("32 bytes")
    };
    let mut out = vec![];
    for group in vectors["testGroups"].as_array().expect("groups") {
        for test in group["tests"].as_array().expect("tests") {
            let Some(blob) = test["blob"].as_str() else { continue };
            out.push(Case {
                name: test["name"].as_str().expect("name").to_owned(),
                blob: hex::decode(blob).expect("hex"),
                start: test["auditorEpoch"]
                    .as_str()
                    .map(|epoch| (epoch.parse().expect("epoch"), digest(test, "auditorHash"))),
                max_blob_len: test["maxBlobLen"].as_str().map(|max| max.parse().expect("max")),
            });
        }
    }
    out
}

fn auditor(case: &Case) -> WhatsAppChainAuditor {
    let auditor = match case.start {
        Some((epoch, root)) => WhatsAppChainAuditor::starting_at(epoch, root),
        None => WhatsAppChainAuditor::new(),
    }
    .expect("auditor");
    match case.max_blob_len {
        Some(max) => auditor.with_max_blob_len(max),
        None => auditor,
    }
}

/// The previous `verify_blob` from decoding on, with akd's verifier.
fn akd_outcome(name: &AuditBlobName, data: &[u8]) -> Result<(), AuditError> {
    let decoded = pb::SingleAppendOnlyProof::parse_from_bytes(data).map_err(|_| AuditError::Malformed)?;
    let proof = akd::SingleAppendOnlyProof::try_from(&decoded).map_err(|_| AuditError::Malformed)?;
    if pb::SingleAppendOnlyProof::from(&proof)
        .write_to_bytes()
        .expect("encode")
        != data
    {
        return Err(AuditError::NonCanonical);
    }
    test_vectors::kt_bench::runtime()
        .block_on(akd::auditor::verify_consecutive_append_only::<WhatsAppV1Configuration>(
            &proof,
            *name.previous_root(),
            *name.current_root(),
            name.epoch(),
        ))
        .map_err(|_| AuditError::Rejected { epoch: name.epoch() })
}

/// Compares the two on `data` under `case`'s name and auditor; returns whether ours accepted, or `None` when an
/// unchanged check before decoding (name, chain, length) refused it.
fn compare(case: &Case, data: &[u8]) -> Option<bool> {
    let ours = auditor(case).verify_blob(&case.name, data).map(|_| ());
    if matches!(
        ours,
        Err(AuditError::Name(_)
            | AuditError::EpochGap { .. }
            | AuditError::ChainBroken { .. }
            | AuditError::ChainEnded
            | AuditError::TooLarge { .. })
    ) {
        return None;
    }
    let name = AuditBlobName::parse(&case.name).expect("a name the auditor took");
    assert_eq!(ours, akd_outcome(&name, data), "{}", case.name);
    Some(ours.is_ok())
}

#[test]
fn vector_blobs_get_akds_outcome() {
    let cases = cases();
    let outcomes: Vec<_> = cases.iter().map(|case| compare(case, &case.blob)).collect();
    // The vectors hold blobs both verifiers accept and blobs both refuse after decoding.
    assert!(outcomes.contains(&Some(true)), "no accepted blob compared");
    assert!(outcomes.contains(&Some(false)), "no refused blob compared");
}

#[test]
fn fuzz_corpus_blobs_get_akds_outcome() {
    let cases = cases();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/kt_audit");
    let (mut compared, mut accepted) = (0, 0);
    for entry in fs::read_dir(&dir).expect("corpus") {
        let input = fs::read(entry.expect("entry").path()).expect("input");
        // The harness's first byte picks a name; here every name is tried, on the rest and on the whole input.
        for data in [input.get(1..).unwrap_or_default(), &input[..]] {
            for case in &cases {
                if let Some(ok) = compare(case, data) {
                    compared += 1;
                    accepted += usize::from(ok);
                }
            }
        }
    }
    assert!(compared > 100, "only {compared} comparisons");
    assert!(accepted > 0, "no corpus input accepted");
}
