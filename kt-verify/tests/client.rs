//! Lookup and key-history verification on real proofs made by akd 0.13 (in-memory database) for directories of
//! several sizes, for WhatsApp's configuration and the experimental one; and rejection of every single-bit
//! change of a serialized proof; proofs against a root the caller vouches for (`UnwitnessedRoot`).

mod common;

use akd::{ExampleLabel, ExperimentalConfiguration, WhatsAppV1Configuration};
use common::{Proofs, Witness, label, proofs, value};
use kt_verify::akd_core::configuration::Configuration;
use kt_verify::akd_core::proto::specs::types as pb;
use kt_verify::{
    DirectoryVerifier, HistoryScope, KeyVersion, ProofError, ProofFailure, UnwitnessedRoot, VerifiedRoot,
    WhatsAppDirectoryVerifier,
};
use protobuf::Message;

type Experimental = ExperimentalConfiguration<ExampleLabel>;

fn check_valid<TC: Configuration>(size: usize, p: &Proofs) {
    let witness = Witness::new();
    let root = witness.verified(p.epoch, p.root);
    let verifier = DirectoryVerifier::<TC>::new(&p.vrf_public_key).expect("key");
    assert_eq!(p.epoch, 3);

    let current = verifier
        .verify_lookup(&root, &label(0), &p.lookup_updated)
        .expect("lookup");
    assert_eq!(
        (current.epoch(), current.version(), current.value()),
        (3, 3, &value(0, 3)[..])
    );

    let last = verifier
        .verify_lookup(&root, &label(size - 1), &p.lookup_last)
        .expect("lookup");
    let expected_last = if size == 1 {
        (3, 3, value(0, 3))
    } else {
        (1, 1, value(size - 1, 1))
    };
    assert_eq!((last.epoch(), last.version(), last.value().to_vec()), expected_last);

    let history = verifier
        .verify_history(&root, &label(0), &p.history_complete, HistoryScope::Complete)
        .expect("history");
    let versions: Vec<_> = history
        .iter()
        .map(|v| (v.epoch(), v.version(), v.value().to_vec()))
        .collect();
    assert_eq!(
        versions,
        [(3, 3, value(0, 3)), (2, 2, value(0, 2)), (1, 1, value(0, 1))]
    );

    let recent = verifier
        .verify_history(&root, &label(0), &p.history_recent, HistoryScope::MostRecent(1))
        .expect("history");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].version(), 3);

    // Wrong label, wrong root, wrong epoch, wrong key, wrong scope.
    assert!(
        verifier
            .verify_lookup(&root, b"someone-else", &p.lookup_updated)
            .is_err()
    );
    let other_root = witness.verified(p.epoch, [0x55; 32]);
    assert!(
        verifier
            .verify_lookup(&other_root, &label(0), &p.lookup_updated)
            .is_err()
    );
    let earlier = witness.verified(2, p.root);
    assert!(matches!(
        verifier.verify_lookup(&earlier, &label(0), &p.lookup_updated),
        Err(ProofError::VersionAfterEpoch { version: 3, epoch: 2 })
    ));
    let other_key = DirectoryVerifier::<TC>::new(&witness_key_as_vrf()).expect("valid point");
    assert!(other_key.verify_lookup(&root, &label(0), &p.lookup_updated).is_err());
    assert!(
        verifier
            .verify_history(&root, &label(0), &p.history_recent, HistoryScope::Complete)
            .is_err()
    );
}

/// Any valid Ed25519 point other than the directory's VRF key.
fn witness_key_as_vrf() -> Vec<u8> {
    ed25519_dalek::SigningKey::from_bytes(&[1; 32])
        .verifying_key()
        .to_bytes()
        .to_vec()
}

#[test]
fn whatsapp_v1_directories_of_several_sizes() {
    for size in [1, 10, 200] {
        let p = proofs::<WhatsAppV1Configuration>(size);
        check_valid::<WhatsAppV1Configuration>(size, &p);
        // A proof made under one configuration does not verify under the other.
        let root = Witness::new().verified(p.epoch, p.root);
        let experimental = DirectoryVerifier::<Experimental>::new(&p.vrf_public_key).expect("key");
        assert!(experimental.verify_lookup(&root, &label(0), &p.lookup_updated).is_err());
    }
}

/// `Debug` shows a version's numbers and the length of its value, never the value (an identity key, which a log
/// line should not carry), and the verifier's VRF key in hex; each refusal's `Display` says what was refused.
#[test]
fn debug_and_display_output() {
    let p = proofs::<WhatsAppV1Configuration>(2);
    let root = Witness::new().verified(p.epoch, p.root);
    let verifier = WhatsAppDirectoryVerifier::new(&p.vrf_public_key).expect("key");
    let current = verifier
        .verify_lookup(&root, &label(0), &p.lookup_updated)
        .expect("lookup");
    assert_eq!(
        format!("{current:?}"),
        format!(
            "KeyVersion {{ epoch: 3, version: 3, value_len: {} }}",
            value(0, 3).len()
        )
    );
    assert_eq!(
        format!("{verifier:?}"),
        format!(
            "DirectoryVerifier {{ vrf_public_key: {} }}",
            hex::encode(&p.vrf_public_key)
        )
    );
    for (error, message) in [
        (ProofError::InvalidVrfKey, "invalid VRF public key"),
        (ProofError::Malformed, "malformed proof encoding"),
        (ProofError::NonCanonical, "non-canonical proof encoding"),
        (ProofError::ZeroVersion, "proof for version 0"),
        (ProofError::VersionOutOfRange, "proof for version 2^64 - 1"),
        (
            ProofError::VersionAfterEpoch { version: 9, epoch: 7 },
            "version 9 after root epoch 7",
        ),
        (
            ProofError::ValueEpochAfterRoot {
                value_epoch: 8,
                epoch: 7,
            },
            "value from epoch 8 after root epoch 7",
        ),
        (ProofError::EmptyHistory, "history proof without versions"),
        (ProofError::Rejected(ProofFailure::Vrf), "proof rejected (Vrf)"),
    ] {
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn experimental_configuration_as_type_parameter() {
    for size in [1, 50] {
        check_valid::<Experimental>(size, &proofs::<Experimental>(size));
    }
}

#[test]
fn version_zero_is_rejected_before_akd_core() {
    let p = proofs::<WhatsAppV1Configuration>(4);
    let root = Witness::new().verified(p.epoch, p.root);
    let verifier = DirectoryVerifier::<WhatsAppV1Configuration>::new(&p.vrf_public_key).expect("key");

    let mut proof = pb::LookupProof::parse_from_bytes(&p.lookup_last).expect("decode");
    proof.set_version(0);
    let bytes = proof.write_to_bytes().expect("encode");
    assert_eq!(
        verifier.verify_lookup(&root, &label(3), &bytes),
        Err(ProofError::ZeroVersion)
    );

    let mut history = pb::HistoryProof::parse_from_bytes(&p.history_complete).expect("decode");
    history.update_proofs[2].set_version(0);
    let bytes = history.write_to_bytes().expect("encode");
    assert_eq!(
        verifier.verify_history(&root, &label(0), &bytes, HistoryScope::Complete),
        Err(ProofError::ZeroVersion)
    );

    let mut history = pb::HistoryProof::parse_from_bytes(&p.history_complete).expect("decode");
    history.update_proofs[0].set_version(u64::MAX);
    let bytes = history.write_to_bytes().expect("encode");
    // Refused before any epoch comparison: against a root at epoch 2^64 - 1, akd_core would overflow on it.
    assert_eq!(
        verifier.verify_history(&root, &label(0), &bytes, HistoryScope::Complete),
        Err(ProofError::VersionOutOfRange)
    );
    let mut proof = pb::LookupProof::parse_from_bytes(&p.lookup_last).expect("decode");
    proof.set_version(u64::MAX);
    let bytes = proof.write_to_bytes().expect("encode");
    assert_eq!(
        verifier.verify_lookup(&root, &label(3), &bytes),
        Err(ProofError::VersionOutOfRange)
    );

    let mut history = pb::HistoryProof::parse_from_bytes(&p.history_complete).expect("decode");
    history.update_proofs.clear();
    let bytes = history.write_to_bytes().expect("encode");
    assert_eq!(
        verifier.verify_history(&root, &label(0), &bytes, HistoryScope::Complete),
        Err(ProofError::EmptyHistory)
    );
}

#[test]
fn non_canonical_encodings_are_rejected() {
    let p = proofs::<WhatsAppV1Configuration>(2);
    let root = Witness::new().verified(p.epoch, p.root);
    let verifier = DirectoryVerifier::<WhatsAppV1Configuration>::new(&p.vrf_public_key).expect("key");
    // An unknown field appended: protobuf parsers skip it, this verifier does not.
    let mut extended = p.lookup_updated.clone();
    extended.extend([0xf8, 0x01, 0x00]);
    assert_eq!(
        verifier.verify_lookup(&root, &label(0), &extended),
        Err(ProofError::NonCanonical)
    );
    assert_eq!(
        verifier.verify_lookup(&root, &label(0), &[]),
        Err(ProofError::Malformed)
    );
    assert_eq!(
        DirectoryVerifier::<WhatsAppV1Configuration>::new(&[0; 31]).map(|_| ()),
        Err(ProofError::InvalidVrfKey)
    );
}

/// Flips every bit of `proof` in turn; none of the results may verify.
fn assert_every_bit_flip_rejected(proof: &[u8], verify: impl Fn(&[u8]) -> bool) {
    let mut mutated = proof.to_vec();
    for index in 0..proof.len() {
        for bit in 0..8 {
            mutated[index] ^= 1 << bit;
            assert!(!verify(&mutated), "byte {index} bit {bit} accepted");
            mutated[index] ^= 1 << bit;
        }
    }
}

#[test]
fn every_single_bit_change_of_lookup_proofs_is_rejected() {
    for size in [1, 10] {
        let p = proofs::<WhatsAppV1Configuration>(size);
        let root = Witness::new().verified(p.epoch, p.root);
        let verifier = DirectoryVerifier::<WhatsAppV1Configuration>::new(&p.vrf_public_key).expect("key");
        assert_every_bit_flip_rejected(&p.lookup_updated, |bytes| {
            verifier.verify_lookup(&root, &label(0), bytes).is_ok()
        });
    }
}

#[test]
fn every_single_bit_change_of_history_proofs_is_rejected() {
    let p = proofs::<WhatsAppV1Configuration>(1);
    let root = Witness::new().verified(p.epoch, p.root);
    let verifier = DirectoryVerifier::<WhatsAppV1Configuration>::new(&p.vrf_public_key).expect("key");
    assert_every_bit_flip_rejected(&p.history_recent, |bytes| {
        verifier
            .verify_history(&root, &label(0), bytes, HistoryScope::MostRecent(1))
            .is_ok()
    });
}

#[test]
fn unbound_root_label_is_rejected_although_akd_core_accepts_it() {
    let p = proofs::<WhatsAppV1Configuration>(10);
    let root = Witness::new().verified(p.epoch, p.root);
    let verifier = DirectoryVerifier::<WhatsAppV1Configuration>::new(&p.vrf_public_key).expect("key");
    let decoded = pb::LookupProof::parse_from_bytes(&p.lookup_updated).expect("decode");
    let mut proof = kt_verify::akd_core::LookupProof::try_from(&decoded).expect("convert");
    proof.existence_proof.sibling_proofs[0].label.label_len = 1;
    // The bare verifier does not notice the change ...
    assert!(
        kt_verify::akd_core::verify::lookup_verify::<WhatsAppV1Configuration>(
            &p.vrf_public_key,
            p.root,
            p.epoch,
            kt_verify::akd_core::AkdLabel(label(0)),
            proof.clone(),
        )
        .is_ok()
    );
    // ... this crate does, in struct and in encoded form.
    assert_eq!(
        verifier.verify_lookup_proof(&root, &label(0), proof.clone()),
        Err(ProofError::NonCanonical)
    );
    let bytes = pb::LookupProof::from(&proof).write_to_bytes().expect("encode");
    assert_eq!(
        verifier.verify_lookup(&root, &label(0), &bytes),
        Err(ProofError::NonCanonical)
    );
}

#[test]
fn whatsapp_alias_needs_no_annotation_and_is_the_default_configuration() {
    let p = proofs::<WhatsAppV1Configuration>(2);
    // `DirectoryVerifier::new(..)` alone is E0283; the alias names the configuration.
    let verifier = WhatsAppDirectoryVerifier::new(&p.vrf_public_key).expect("key");
    // It is the same type as `DirectoryVerifier` with its default parameter, so it fits fields typed that way.
    let as_default: DirectoryVerifier = verifier.clone();
    let root = Witness::new().verified(p.epoch, p.root);
    let current = as_default
        .verify_lookup(&root, &label(0), &p.lookup_updated)
        .expect("lookup");
    assert_eq!(
        current,
        verifier
            .verify_lookup(&root, &label(0), &p.lookup_updated)
            .expect("lookup")
    );
    assert_eq!(current.value(), &value(0, 3)[..]);
}

#[test]
fn unwitnessed_root_with_the_right_digest_verifies_like_a_witnessed_one() {
    let p = proofs::<WhatsAppV1Configuration>(10);
    let verifier = WhatsAppDirectoryVerifier::new(&p.vrf_public_key).expect("key");
    let pinned = UnwitnessedRoot::trusted_by_caller(p.epoch, p.root);
    let witnessed = Witness::new().verified(p.epoch, p.root);

    let via_pinned = verifier
        .verify_lookup(&pinned, &label(0), &p.lookup_updated)
        .expect("lookup");
    assert_eq!(
        (via_pinned.epoch(), via_pinned.version(), via_pinned.value()),
        (3, 3, &value(0, 3)[..])
    );
    assert_eq!(
        via_pinned,
        verifier
            .verify_lookup(&witnessed, &label(0), &p.lookup_updated)
            .expect("lookup")
    );
    let history = verifier
        .verify_history(&pinned, &label(0), &p.history_complete, HistoryScope::Complete)
        .expect("history");
    assert_eq!(history.iter().map(KeyVersion::version).collect::<Vec<_>>(), [3, 2, 1]);

    // Roots held by reference (as when iterating a collection of them) are accepted too.
    let witnessed_roots: Vec<&VerifiedRoot> = vec![&witnessed];
    for root in &witnessed_roots {
        assert_eq!(
            verifier.verify_lookup(root, &label(0), &p.lookup_updated),
            Ok(via_pinned.clone())
        );
    }
}

#[test]
fn unwitnessed_root_with_another_digest_or_epoch_rejects_the_proof() {
    let p = proofs::<WhatsAppV1Configuration>(10);
    let verifier = WhatsAppDirectoryVerifier::new(&p.vrf_public_key).expect("key");

    // Another digest for the same epoch, including one differing in a single bit: the Merkle paths lead elsewhere.
    let mut one_bit_off = p.root;
    one_bit_off[31] ^= 1;
    for digest in [[0x55; 32], one_bit_off] {
        let other = UnwitnessedRoot::trusted_by_caller(p.epoch, digest);
        let membership = Err(ProofError::Rejected(ProofFailure::Membership));
        assert_eq!(
            verifier.verify_lookup(&other, &label(0), &p.lookup_updated).map(|_| ()),
            membership
        );
        assert_eq!(
            verifier.verify_lookup(&other, &label(9), &p.lookup_last).map(|_| ()),
            membership
        );
        assert_eq!(
            verifier
                .verify_history(&other, &label(0), &p.history_complete, HistoryScope::Complete)
                .map(|_| ()),
            membership
        );
    }

    // The right digest under an earlier epoch: the same pre-checks as for a witnessed root.
    let earlier = UnwitnessedRoot::trusted_by_caller(2, p.root);
    assert_eq!(
        verifier.verify_lookup(&earlier, &label(0), &p.lookup_updated),
        Err(ProofError::VersionAfterEpoch { version: 3, epoch: 2 })
    );

    // The right digest under a later epoch: a lookup proof does not bind the root's epoch (akd_core checks the
    // Merkle paths against the digest alone), so the caller vouches for the pair, not only for the digest. A
    // history proof does compare its epochs with the root's and refuses.
    let later = UnwitnessedRoot::trusted_by_caller(p.epoch + 1, p.root);
    assert_eq!(
        verifier
            .verify_lookup(&later, &label(0), &p.lookup_updated)
            .map(|v| v.version()),
        Ok(3)
    );
    assert_eq!(
        verifier
            .verify_history(&later, &label(0), &p.history_complete, HistoryScope::Complete)
            .map(|_| ()),
        Err(ProofError::Rejected(ProofFailure::History))
    );

    // The right root for another label, or under another directory's VRF key.
    let pinned = UnwitnessedRoot::trusted_by_caller(p.epoch, p.root);
    assert!(
        verifier
            .verify_lookup(&pinned, b"someone-else", &p.lookup_updated)
            .is_err()
    );
    let other_key = WhatsAppDirectoryVerifier::new(&witness_key_as_vrf()).expect("valid point");
    assert!(other_key.verify_lookup(&pinned, &label(0), &p.lookup_updated).is_err());
}
