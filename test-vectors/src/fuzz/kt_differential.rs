//! kt-verify against akd_core (issue #17's differential target): the same decoded lookup or history proof, root
//! and label go to `DirectoryVerifier::verify_*_proof` and to akd_core's own `lookup_verify` /
//! `key_history_verify`. kt-verify adds checks before akd_core's (versions against the root's epoch, the top
//! label of each Merkle path, a non-empty history; SPEC §3), so the two must agree on every proof that passes
//! those: the same accept with the same versions, or both refusing.

use akd_core::verify::history::{HistoryParams, HistoryVerificationParams};
use akd_core::{AkdLabel, HistoryProof, LookupProof, WhatsAppV1Configuration};
use kt_verify::{HistoryScope, KeyVersion, ProofError, akd_core};
use protobuf::Message as _;

use super::kt::{ProofContext, history_context, lookup_context};

/// (value epoch, version, value) of each version a verifier accepted, newest first.
type Versions = Vec<(u64, u64, Vec<u8>)>;

fn versions(found: impl IntoIterator<Item = KeyVersion>) -> Versions {
    found
        .into_iter()
        .map(|v| (v.epoch(), v.version(), v.value().to_vec()))
        .collect()
}

/// Compares kt-verify's outcome with akd_core's, asked only when kt-verify reached akd_core (kt-verify's own
/// refusals come first, and akd_core panics on version 0 and 2^64 - 1, which is why those checks exist). Returns
/// whether both accepted.
fn compare(ours: &Result<Versions, ProofError>, akd: impl FnOnce() -> Option<Versions>) -> bool {
    if matches!(ours, Err(error) if !matches!(error, ProofError::Rejected(_))) {
        return false;
    }
    match (ours, akd()) {
        (Ok(ours), Some(theirs)) => {
            assert!(
                *ours == theirs,
                "kt differential: kt-verify and akd_core accept with different versions"
            );
            true
        }
        (Err(_), None) => false,
        (Ok(_), None) => panic!("kt differential: kt-verify accepts a proof akd_core refuses"),
        (Err(_), Some(_)) => panic!("kt differential: akd_core accepts a proof kt-verify refuses in akd_core's checks"),
    }
}

/// Selector byte: bit 0 picks lookup or history, the rest the case (label and scope); then a protobuf proof,
/// decoded without the canonical-encoding check so that any proof structure the bytes give is compared.
pub(super) fn differential(data: &[u8]) -> bool {
    let Some((&selector, proof)) = data.split_first() else {
        return false;
    };
    if selector & 1 == 0 {
        let context = lookup_context();
        let Some(parsed) = decode_lookup(proof) else {
            return false;
        };
        let case = &context.cases[usize::from(selector >> 1) % context.cases.len()];
        let ours = context
            .verifier
            .verify_lookup_proof(&context.root, &case.label, parsed.clone());
        compare(&ours.map(|found| versions([found])), || {
            let akd = akd_core::verify::lookup_verify::<WhatsAppV1Configuration>(
                &context.vrf_public_key,
                *context.root.digest(),
                context.root.epoch(),
                AkdLabel(case.label.clone()),
                parsed,
            );
            akd.ok().map(|found| versions([KeyVersion::from(found)]))
        })
    } else {
        let context = history_context();
        let Some(parsed) = decode_history(proof) else {
            return false;
        };
        let case = &context.cases[usize::from(selector >> 1) % context.cases.len()];
        let ours = context
            .verifier
            .verify_history_proof(&context.root, &case.label, parsed.clone(), case.scope);
        compare(&ours.map(versions), || {
            akd_history(context, &case.label, case.scope, parsed)
        })
    }
}

fn akd_history(context: &ProofContext, label: &[u8], scope: HistoryScope, proof: HistoryProof) -> Option<Versions> {
    let history_params = match scope {
        HistoryScope::Complete => HistoryParams::Complete,
        HistoryScope::MostRecent(count) => HistoryParams::MostRecent(count),
        _ => unreachable!("the history cases use only the two scopes above"),
    };
    let found = akd_core::verify::key_history_verify::<WhatsAppV1Configuration>(
        &context.vrf_public_key,
        *context.root.digest(),
        context.root.epoch(),
        AkdLabel(label.to_vec()),
        proof,
        HistoryVerificationParams::Default { history_params },
    );
    found
        .ok()
        .map(|found| versions(found.into_iter().map(KeyVersion::from)))
}

fn decode_lookup(bytes: &[u8]) -> Option<LookupProof> {
    let decoded = akd_core::proto::specs::types::LookupProof::parse_from_bytes(bytes).ok()?;
    LookupProof::try_from(&decoded).ok()
}

fn decode_history(bytes: &[u8]) -> Option<HistoryProof> {
    let decoded = akd_core::proto::specs::types::HistoryProof::parse_from_bytes(bytes).ok()?;
    HistoryProof::try_from(&decoded).ok()
}
