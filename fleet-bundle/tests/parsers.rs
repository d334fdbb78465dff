//! Every parser is total: arbitrary and near-valid inputs give `Ok` or a typed error, never a panic. For
//! near-valid inputs, anything accepted must be byte-identical to the original (no second encoding verifies).

mod common;

use common::*;
use fleet_bundle::{Bundle, DeploymentRecord, FleetKeyArtifact, SignedBundle, SignedDeploymentRecord, UnixSeconds};
use proptest::prelude::*;

/// Overwrites, inserts or removes bytes at random positions.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => any::<usize>().prop_map(Edit::Remove),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(original: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for edit in edits {
        let len = bytes.len();
        match *edit {
            Edit::Set(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Remove(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
            _ => {}
        }
    }
    bytes
}

struct Fixture {
    parties: Parties,
    bundle: Vec<u8>,
    record: Vec<u8>,
    artifact: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let parties = Parties::new(50);
        let bundle = parties.sign(parties.bundle(9));
        let (record, artifact) = parties.publish_for(fleet(), 9, parties.keys());
        Fixture {
            parties,
            bundle,
            record,
            artifact,
        }
    })
}

fn run_every_parser(bytes: &[u8]) {
    let f = fixture();
    let _ = Bundle::from_bytes(bytes);
    let _ = SignedBundle::decode_unverified(bytes);
    let _ = DeploymentRecord::from_bytes(bytes);
    let _ = SignedDeploymentRecord::decode_unverified(bytes);
    let _ = FleetKeyArtifact::from_json(bytes);
    let _ = f.parties.verifier().verify(bytes, NOW, None);
    let _ = f.parties.deployment_verifier().verify(bytes, &f.artifact);
    let _ = f.parties.deployment_verifier().verify(&f.record, bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        run_every_parser(&bytes);
    }

    #[test]
    fn bytes_behind_a_valid_header_never_panic(
        message_type in 1u8..=4,
        rest in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        // Past the version and type checks, so the length, key-count and key-entry paths are exercised.
        let mut bytes = vec![0x01, message_type];
        bytes.extend_from_slice(&rest);
        run_every_parser(&bytes);
    }

    #[test]
    fn near_valid_bundles_never_panic_and_only_the_original_verifies(
        edits in prop::collection::vec(edit_strategy(), 1..4),
    ) {
        let f = fixture();
        let mutated = apply(&f.bundle, &edits);
        run_every_parser(&mutated);
        if f.parties.verifier().verify(&mutated, NOW, None).is_ok() {
            prop_assert_eq!(&mutated, &f.bundle);
        }
        if let Ok(decoded) = SignedBundle::decode_unverified(&mutated) {
            // Decoding is canonical: whatever decodes re-encodes to the same bytes.
            prop_assert_eq!(decoded.to_bytes(), mutated);
        }
    }

    #[test]
    fn near_valid_records_never_panic_and_only_the_original_verifies(
        edits in prop::collection::vec(edit_strategy(), 1..4),
    ) {
        let f = fixture();
        let mutated = apply(&f.record, &edits);
        run_every_parser(&mutated);
        if f.parties.deployment_verifier().verify(&mutated, &f.artifact).is_ok() {
            prop_assert_eq!(&mutated, &f.record);
        }
        if let Ok(decoded) = SignedDeploymentRecord::decode_unverified(&mutated) {
            prop_assert_eq!(decoded.to_bytes(), mutated);
        }
    }

    #[test]
    fn near_valid_artifacts_never_panic_and_only_the_original_verifies(
        edits in prop::collection::vec(edit_strategy(), 1..4),
    ) {
        let f = fixture();
        let mutated = apply(&f.artifact, &edits);
        let _ = FleetKeyArtifact::from_json(&mutated);
        if f.parties.deployment_verifier().verify(&f.record, &mutated).is_ok() {
            prop_assert_eq!(&mutated, &f.artifact);
        }
    }

    #[test]
    fn json_like_text_never_panics(
        text in prop::collection::vec(
            prop::sample::select(vec![
                "{", "}", "[", "]", ":", ",", "\"", "\\", "\\u0000", " ", "0", "1", "-", ".", "e", "true", "null",
                "\"fleet_id\"", "\"epoch\"", "\"keys\"", "\"public_key\"", "\"role\"", "\"opaque_server\"",
                "\"fleet-a\"", "18446744073709551615", "\"0000000000000000000000000000000000000000000000000000000000000001\"",
            ]),
            0..64,
        ),
    ) {
        let _ = FleetKeyArtifact::from_json(text.concat().as_bytes());
    }

    #[test]
    fn any_time_and_state_never_panic(now in any::<u64>(), last_epoch in any::<u64>(), digest in any::<[u8; 32]>()) {
        let f = fixture();
        let last = fleet_bundle::AcceptedEpoch::new(fleet(), last_epoch, digest);
        let result = f.parties.verifier().verify(&f.bundle, UnixSeconds(now), Some(&last));
        let in_window = (ISSUED_AT..EXPIRES_AT).contains(&now);
        prop_assert_eq!(result.is_ok(), in_window && last_epoch < 9);
    }
}

#[test]
fn deeply_nested_json_is_rejected_without_overflowing_the_stack() {
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(FleetKeyArtifact::from_json(nested.as_bytes()).is_err());
}
