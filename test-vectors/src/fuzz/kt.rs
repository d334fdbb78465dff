//! kt-verify: witness signed roots (SPEC §1), lookup and history proofs (§3), audit blobs and their names (§4),
//! and the security code's QR payload (§5).
//!
//! The verifiers are set up from the committed vectors (real akd 0.13 proofs, Plexi's witness vector). The fuzzer
//! holds none of the keys, so beyond "no panic" each target checks the one thing a verifier exists for: anything it
//! accepts says exactly what the honest directory or witness said.

use std::collections::HashSet;
use std::sync::OnceLock;

use kt_verify::{
    AuditBlobName, Digest, HistoryScope, SecurityCode, SignedRoot, UnwitnessedRoot, WhatsAppChainAuditor,
    WhatsAppDirectoryVerifier, WitnessKey, WitnessVerifier,
};
use serde_json::Value;

use super::{assert_round_trip, hex_field, select, u64_field, vector_tests};

/// The epoch every lookup and history case is proven at (the vectors' latest root).
const PROOF_EPOCH: &str = "5";

/// What an accepted proof must say: (value epoch, version, value), newest first for a history.
type Versions = Vec<(u64, u64, Vec<u8>)>;

/// One label at the proof epoch's root, and what the directory holds for it.
pub(super) struct ProofCase {
    pub(super) label: Vec<u8>,
    pub(super) scope: HistoryScope,
    expected: Versions,
}

/// A directory's verifier, its VRF key and root at the proof epoch, and the labels the vectors prove there.
pub(super) struct ProofContext {
    pub(super) verifier: WhatsAppDirectoryVerifier,
    pub(super) vrf_public_key: Vec<u8>,
    pub(super) root: UnwitnessedRoot,
    pub(super) cases: Vec<ProofCase>,
}

fn proof_context(file: &str, group: &str, case: fn(&Value) -> ProofCase) -> ProofContext {
    let tests: Vec<Value> = vector_tests(file, group)
        .into_iter()
        .filter(|test| test["epoch"] == PROOF_EPOCH)
        .collect();
    let first = &tests[0];
    let digest: Digest = hex_field(first, "rootHash").try_into().expect("32-byte root");
    ProofContext {
        verifier: WhatsAppDirectoryVerifier::new(&hex_field(first, "vrfPublicKey")).expect("vector VRF key"),
        vrf_public_key: hex_field(first, "vrfPublicKey"),
        root: UnwitnessedRoot::trusted_by_caller(u64_field(first, "epoch"), digest),
        cases: tests.iter().map(case).collect(),
    }
}

fn decimals(test: &Value, field: &str) -> Vec<u64> {
    let values = test[field].as_array().expect("array field");
    values
        .iter()
        .map(|v| v.as_str().and_then(|s| s.parse().ok()).expect("decimal"))
        .collect()
}

/// The lookup labels of `kt_lookup.json` at the proof epoch.
pub(super) fn lookup_context() -> &'static ProofContext {
    static CONTEXT: OnceLock<ProofContext> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        proof_context(include_str!("../../vectors/kt_lookup.json"), "KtLookup", |test| {
            ProofCase {
                label: hex_field(test, "label"),
                scope: HistoryScope::Complete,
                expected: vec![(
                    u64_field(test, "valueEpoch"),
                    u64_field(test, "version"),
                    hex_field(test, "value"),
                )],
            }
        })
    })
}

/// Selector byte: the label; the rest is a protobuf lookup proof verified against the epoch-5 root.
pub(super) fn lookup(data: &[u8]) -> bool {
    let context = lookup_context();
    let Some((which, proof)) = select(data, context.cases.len() as u8) else {
        return false;
    };
    let case = &context.cases[usize::from(which)];
    let Ok(found) = context.verifier.verify_lookup(&context.root, &case.label, proof) else {
        return false;
    };
    let found = vec![(found.epoch(), found.version(), found.value().to_vec())];
    assert!(found == case.expected, "kt lookup: accepted a proof of another value");
    true
}

/// The history cases (label and scope) of `kt_history.json` at the proof epoch.
pub(super) fn history_context() -> &'static ProofContext {
    static CONTEXT: OnceLock<ProofContext> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        proof_context(include_str!("../../vectors/kt_history.json"), "KtHistory", |test| {
            let values = test["values"].as_array().expect("values");
            let values = values
                .iter()
                .map(|v| hex::decode(v.as_str().expect("hex")).expect("hex"));
            let epochs = decimals(test, "valueEpochs")
                .into_iter()
                .zip(decimals(test, "versions"));
            ProofCase {
                label: hex_field(test, "label"),
                scope: match test["mostRecent"].as_u64() {
                    Some(count) => HistoryScope::MostRecent(usize::try_from(count).expect("small count")),
                    None => HistoryScope::Complete,
                },
                expected: epochs
                    .zip(values)
                    .map(|((epoch, version), value)| (epoch, version, value))
                    .collect(),
            }
        })
    })
}

/// Selector byte: the label and history scope; the rest is a protobuf history proof against the epoch-5 root.
pub(super) fn history(data: &[u8]) -> bool {
    let context = history_context();
    let Some((which, proof)) = select(data, context.cases.len() as u8) else {
        return false;
    };
    let case = &context.cases[usize::from(which)];
    let Ok(found) = context
        .verifier
        .verify_history(&context.root, &case.label, proof, case.scope)
    else {
        return false;
    };
    let found: Versions = found
        .iter()
        .map(|v| (v.epoch(), v.version(), v.value().to_vec()))
        .collect();
    assert!(
        found == case.expected,
        "kt history: accepted a proof of another history"
    );
    true
}

/// One audit blob's name and the chain the auditor starts from.
struct AuditCase {
    name: String,
    start: Option<(u64, Digest)>,
    end: (u64, Digest),
}

/// Selector byte: which epoch's blob name; the rest is the blob. An accepted blob moves the auditor's chain to
/// exactly the root its name states.
pub(super) fn audit(data: &[u8]) -> bool {
    static CASES: OnceLock<Vec<AuditCase>> = OnceLock::new();
    let cases = CASES.get_or_init(|| {
        let digest = |test: &Value, field: &str| -> Digest { hex_field(test, field).try_into().expect("32 bytes") };
        let tests = vector_tests(include_str!("../../vectors/kt_audit.json"), "AuditChain");
        tests
            .iter()
            .map(|test| AuditCase {
                name: test["name"].as_str().expect("name").to_owned(),
                start: test["auditorEpoch"]
                    .is_string()
                    .then(|| (u64_field(test, "auditorEpoch"), digest(test, "auditorHash"))),
                end: (u64_field(test, "epoch"), digest(test, "currentHash")),
            })
            .collect()
    });
    let Some((which, blob)) = select(data, cases.len() as u8) else {
        return false;
    };
    let case = &cases[usize::from(which)];
    let mut auditor = match case.start {
        Some((epoch, root)) => WhatsAppChainAuditor::starting_at(epoch, root),
        None => WhatsAppChainAuditor::new(),
    }
    .expect("vector auditor");
    let Ok(chain) = auditor.verify_blob(&case.name, blob) else {
        return false;
    };
    assert!(
        (chain.end_epoch(), *chain.end_root()) == case.end,
        "kt audit: accepted a blob to another root"
    );
    true
}

struct WitnessContext {
    verifier: WitnessVerifier,
    now_ms: u64,
    signed: HashSet<Vec<u8>>,
}

/// The input is a signed root in its protobuf transport: it decodes only in its canonical encoding, and it
/// verifies, under Plexi's published key, only if that key really signed it (one of the vectors' roots).
pub(super) fn witness(data: &[u8]) -> bool {
    static CONTEXT: OnceLock<WitnessContext> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| {
        let tests = vector_tests(include_str!("../../vectors/witness_signature.json"), "WitnessSignature");
        let first = &tests[0];
        let public_key: [u8; 32] = hex_field(first, "publicKey").try_into().expect("32-byte key");
        let key = WitnessKey::new(public_key, u64_field(first, "notBeforeMs")).expect("vector key");
        let namespace = first["verifierNamespace"].as_str().expect("namespace");
        WitnessContext {
            verifier: WitnessVerifier::new(namespace, [key], u64_field(first, "maxAgeMs")).expect("vector verifier"),
            now_ms: u64_field(first, "nowMs"),
            signed: tests
                .iter()
                .filter(|t| t["signedRoot"].is_string())
                .map(|t| hex_field(t, "signedRoot"))
                .collect(),
        }
    });
    let Ok(root) = SignedRoot::from_protobuf(data) else {
        return false;
    };
    assert_round_trip("SignedRoot", data, &root.to_protobuf());
    if context.verifier.verify(&root, context.now_ms).is_ok() {
        assert!(
            context.signed.contains(data),
            "kt witness: accepted a root the witness never signed"
        );
    }
    true
}

/// Alice's security code and the QR payload only Bob's device shows.
struct CodeContext {
    alice: SecurityCode,
    bobs_payload: Vec<u8>,
}

/// Selector byte: an audit blob name (printed back exactly when parsed), or a scanned QR payload (a match only for
/// Bob's own payload).
pub(super) fn codes(data: &[u8]) -> bool {
    static CONTEXT: OnceLock<CodeContext> = OnceLock::new();
    let Some((which, input)) = select(data, 2) else {
        return false;
    };
    if which == 0 {
        let Some(parsed) = core::str::from_utf8(input)
            .ok()
            .and_then(|name| AuditBlobName::parse(name).ok())
        else {
            return false;
        };
        assert_round_trip("AuditBlobName", input, parsed.to_string().as_bytes());
        return true;
    }
    let context = CONTEXT.get_or_init(|| {
        let test = &vector_tests(include_str!("../../vectors/security_code.json"), "SecurityCode")[0];
        let version = u32::try_from(test["version"].as_u64().expect("version")).expect("small version");
        let (local_id, local_key) = (hex_field(test, "localId"), hex_field(test, "localKey"));
        let (remote_id, remote_key) = (hex_field(test, "remoteId"), hex_field(test, "remoteKey"));
        CodeContext {
            alice: SecurityCode::new(version, &local_id, &local_key, &remote_id, &remote_key),
            bobs_payload: SecurityCode::new(version, &remote_id, &remote_key, &local_id, &local_key).qr_payload(),
        }
    });
    let scanned = context.alice.matches_qr_payload(input);
    if scanned == Ok(true) {
        assert_round_trip("security code QR payload", input, &context.bobs_payload);
    }
    scanned.is_ok()
}
