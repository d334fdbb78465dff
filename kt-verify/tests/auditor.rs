//! The chain auditor on real akd 0.13 audit proofs: WhatsApp blob names, the chain check, monitor jumps, and
//! rejection of single-bit changes of a blob.
#![cfg(feature = "auditor")]

mod common;

use akd::{AkdLabel, AkdValue, WhatsAppV1Configuration};
use common::{Witness, directory, runtime};
use kt_verify::{
    AuditBlobName, AuditError, BlobNameError, ChainAuditor, Monitor, MonitorError, Observation, WhatsAppChainAuditor,
};
use proptest::prelude::*;
use protobuf::Message;

type Blobs = Vec<(String, Vec<u8>)>;

/// Roots of epochs 0..=epochs (index = epoch) and the blobs for epochs 1..=epochs, `updates` labels per epoch.
fn history(seed: u8, epochs: u64, updates: usize) -> (Vec<[u8; 32]>, Blobs) {
    runtime().block_on(async {
        let akd = directory::<WhatsAppV1Configuration>().await;
        let mut roots = vec![akd.get_epoch_hash().await.expect("epoch 0").hash()];
        for epoch in 1..=epochs {
            let batch = (0..updates)
                .map(|i| {
                    let label = format!("user-{seed}-{}", i + (epoch as usize % 3) * updates);
                    (
                        AkdLabel(label.into_bytes()),
                        AkdValue(format!("key-{epoch}").into_bytes()),
                    )
                })
                .collect();
            roots.push(akd.publish(batch).await.expect("publish").hash());
        }
        let mut blobs = vec![];
        for epoch in 1..=epochs {
            let proof = akd.audit(epoch - 1, epoch).await.expect("audit");
            let data = akd::proto::specs::types::SingleAppendOnlyProof::from(&proof.proofs[0])
                .write_to_bytes()
                .expect("encode");
            let name = AuditBlobName::new(epoch, roots[epoch as usize - 1], roots[epoch as usize]).expect("name");
            blobs.push((name.to_string(), data));
        }
        (roots, blobs)
    })
}

#[test]
fn chain_of_blobs_verifies_and_lets_the_monitor_jump() {
    let (roots, blobs) = history(1, 5, 8);
    // The alias needs no type annotation (`ChainAuditor::new()` alone is E0283) and is the default configuration.
    let mut auditor: ChainAuditor = WhatsAppChainAuditor::new().expect("runtime");
    for (name, data) in &blobs {
        auditor.verify_blob(name, data).expect("valid blob");
    }
    let chain = *auditor.chain().expect("chain");
    assert_eq!((chain.start_epoch(), chain.end_epoch()), (0, 5));
    assert_eq!((chain.start_root(), chain.end_root()), (&roots[0], &roots[5]));

    // The monitor accepts 0 -> 5 only with the audited chain, and only the exact one.
    let witness = Witness::new();
    let mut monitor = Monitor::new();
    monitor.observe(witness.verified(0, roots[0])).expect("first");
    assert!(matches!(
        monitor.observe(witness.verified(5, roots[5])),
        Err(MonitorError::GapWithoutAudit { .. })
    ));
    assert_eq!(
        monitor.observe_audited(witness.verified(5, roots[4]), &chain),
        Err(MonitorError::AuditMismatch)
    );
    assert_eq!(
        monitor.observe_audited(witness.verified(5, roots[5]), &chain),
        Ok(Observation::Advanced { from_epoch: 0 })
    );
}

#[test]
fn chain_check_rejects_gaps_replays_and_branches() {
    let (roots, blobs) = history(2, 3, 4);
    let (_, other_branch) = history(3, 3, 4);

    let mut auditor = ChainAuditor::<WhatsAppV1Configuration>::starting_at(1, roots[1]).expect("runtime");
    assert_eq!(
        auditor.verify_blob(&blobs[0].0, &blobs[0].1).err(),
        Some(AuditError::EpochGap { expected: 2, found: 1 })
    );
    assert_eq!(
        auditor.verify_blob(&blobs[2].0, &blobs[2].1).err(),
        Some(AuditError::EpochGap { expected: 2, found: 3 })
    );
    // A valid proof of another history for epoch 2: each blob alone verifies, but it does not extend this chain.
    assert!(
        ChainAuditor::<WhatsAppV1Configuration>::new()
            .expect("runtime")
            .verify_blob(&other_branch[1].0, &other_branch[1].1)
            .is_ok()
    );
    assert_eq!(
        auditor.verify_blob(&other_branch[1].0, &other_branch[1].1).err(),
        Some(AuditError::ChainBroken { epoch: 2 })
    );
    // A chain that ends at the last epoch cannot be extended, not even by a blob that names that epoch again.
    let mut ended = ChainAuditor::<WhatsAppV1Configuration>::starting_at(u64::MAX, roots[1]).expect("runtime");
    let again = AuditBlobName::new(u64::MAX, roots[1], roots[2])
        .expect("name")
        .to_string();
    assert_eq!(
        ended.verify_blob(&again, &blobs[1].1).err(),
        Some(AuditError::ChainEnded)
    );
    // A name that lies about the current root.
    let lying = AuditBlobName::new(2, roots[1], roots[3]).expect("name").to_string();
    assert_eq!(
        auditor.verify_blob(&lying, &blobs[1].1).err(),
        Some(AuditError::Rejected { epoch: 2 })
    );
    assert_eq!(
        auditor.chain().map(kt_verify::AuditedChain::end_epoch),
        Some(1),
        "rejections change nothing"
    );
    auditor.verify_blob(&blobs[1].0, &blobs[1].1).expect("valid");
    auditor.verify_blob(&blobs[2].0, &blobs[2].1).expect("valid");
    assert_eq!(auditor.chain().map(kt_verify::AuditedChain::end_epoch), Some(3));

    let mut small = ChainAuditor::<WhatsAppV1Configuration>::new()
        .expect("runtime")
        .with_max_blob_len(10);
    assert!(matches!(
        small.verify_blob(&blobs[0].0, &blobs[0].1),
        Err(AuditError::TooLarge { .. })
    ));
    let mut extended = blobs[0].1.clone();
    extended.extend([0xf8, 0x01, 0x00]);
    assert_eq!(
        ChainAuditor::<WhatsAppV1Configuration>::new()
            .expect("runtime")
            .verify_blob(&blobs[0].0, &extended)
            .err(),
        Some(AuditError::NonCanonical)
    );
}

/// SPEC §4: the encoding of a blob is canonical, the order of its elements is not. akd's verifier rebuilds the tree
/// from the sets `inserted` and `unchanged_nodes`, and akd's generator emits them in a depth-first order that
/// depends on its parallelism settings (akd 0.13 `append_only_zks.rs`, `get_append_only_proof_helper`: with parallel
/// levels a left subtree's elements come after the right one's), so no order can be required without refusing some
/// of akd's own blobs. What is pinned is the name: the epoch and both roots, which the sets must reproduce.
#[test]
fn reordered_elements_still_verify_and_the_name_is_what_is_pinned() {
    let (_, blobs) = history(5, 2, 6);
    let (name, data) = &blobs[1];
    let mut proof = akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(data).expect("decode");
    assert!(
        proof.inserted.len() > 1 && proof.unchanged_nodes.len() > 1,
        "too few elements to reorder"
    );
    proof.inserted.reverse();
    proof.unchanged_nodes.reverse();
    let reordered = proof.write_to_bytes().expect("encode");
    assert_ne!(&reordered, data);

    let start = || ChainAuditor::<WhatsAppV1Configuration>::starting_at(1, blobs_previous_root(name)).expect("runtime");
    let (mut first, mut second, mut third) = (start(), start(), start());
    let original = *first.verify_blob(name, data).expect("akd's order");
    let other = *second
        .verify_blob(name, &reordered)
        .expect("reversed order verifies too");
    assert_eq!(original, other);

    // Dropping an element changes the set, and then the roots in the name are not reproduced.
    proof.inserted.pop();
    let fewer = proof.write_to_bytes().expect("encode");
    assert_eq!(
        third.verify_blob(name, &fewer).err(),
        Some(AuditError::Rejected { epoch: 2 })
    );
}

/// Protobuf lets a repeated field's elements come anywhere in the message, so an inserted element placed after the
/// unchanged nodes decodes to the very same proof. It is not the canonical encoding, and one proof has one
/// accepted encoding: it is refused as `NonCanonical`, although the proof it decodes to verifies.
#[test]
fn an_inserted_element_after_the_unchanged_nodes_is_non_canonical() {
    let (_, blobs) = history(5, 2, 6);
    let (name, data) = &blobs[1];
    let mut proof = akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(data).expect("decode");
    assert!(!proof.unchanged_nodes.is_empty(), "no unchanged node to come after");
    let last = proof.inserted.pop().expect("an inserted element");
    let element = last.write_to_bytes().expect("encode");
    let mut interleaved = proof.write_to_bytes().expect("encode");
    // Field 1 (`inserted`), length-delimited, with a one-byte length.
    interleaved.push(0x0a);
    interleaved.push(
        u8::try_from(element.len())
            .ok()
            .filter(|len| *len < 0x80)
            .expect("short element"),
    );
    interleaved.extend_from_slice(&element);
    proof.inserted.push(last);
    assert_eq!(
        akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(&interleaved).expect("decodes"),
        proof
    );

    let mut auditor =
        ChainAuditor::<WhatsAppV1Configuration>::starting_at(1, blobs_previous_root(name)).expect("auditor");
    assert_eq!(
        auditor.verify_blob(name, &interleaved).err(),
        Some(AuditError::NonCanonical)
    );
    assert_eq!(
        auditor.verify_blob(name, data).map(kt_verify::AuditedChain::end_epoch),
        Ok(2)
    );
}

fn blobs_previous_root(name: &str) -> [u8; 32] {
    *AuditBlobName::parse(name).expect("name").previous_root()
}

#[test]
fn every_single_bit_change_of_a_small_blob_is_rejected() {
    let (_, blobs) = history(4, 2, 2);
    let (name, data) = &blobs[1];
    let mut auditor = ChainAuditor::<WhatsAppV1Configuration>::new().expect("runtime");
    let mut mutated = data.clone();
    for index in 0..data.len() {
        for bit in 0..8 {
            mutated[index] ^= 1 << bit;
            assert!(
                auditor.verify_blob(name, &mutated).is_err(),
                "byte {index} bit {bit} accepted"
            );
            mutated[index] ^= 1 << bit;
        }
    }
    assert!(auditor.verify_blob(name, data).is_ok());
}

#[test]
fn blob_names_are_strict() {
    let zeros = "00".repeat(32);
    let ones = "01".repeat(32);
    assert!(AuditBlobName::parse(&format!("1/{zeros}/{ones}")).is_ok());
    for (name, error) in [
        (format!("0/{zeros}/{ones}"), BlobNameError::Epoch),
        (format!("+1/{zeros}/{ones}"), BlobNameError::Epoch),
        (format!("01/{zeros}/{ones}"), BlobNameError::Epoch),
        (format!("18446744073709551616/{zeros}/{ones}"), BlobNameError::Epoch),
        (format!("/{zeros}/{ones}"), BlobNameError::Epoch),
        (format!("1/{}/{ones}", "AB".repeat(32)), BlobNameError::Root),
        (format!("1/{zeros}/{ones}0"), BlobNameError::Root),
        (format!("1/{zeros}/{ones}/extra"), BlobNameError::Parts),
        (format!("1/{zeros}"), BlobNameError::Parts),
    ] {
        assert_eq!(AuditBlobName::parse(&name), Err(error), "{name}");
    }
    assert_eq!(
        AuditBlobName::parse("18446744073709551615/0000000000000000000000000000000000000000000000000000000000000000/0000000000000000000000000000000000000000000000000000000000000000").map(|n| n.epoch()),
        Ok(u64::MAX)
    );
}

/// A chain that starts at a blob mid-history starts at that blob's previous epoch and root; the length limit
/// takes a blob of exactly its size; and `Debug` shows the name, the chain (roots in hex) and the auditor's limit.
#[test]
fn a_chain_started_mid_history_and_a_blob_of_exactly_the_limit() {
    let (roots, blobs) = history(4, 3, 2);
    let (name, data) = &blobs[2];
    let mut too_small = WhatsAppChainAuditor::new()
        .expect("auditor")
        .with_max_blob_len(data.len() - 1);
    assert_eq!(
        too_small.verify_blob(name, data),
        Err(AuditError::TooLarge {
            len: data.len(),
            max: data.len() - 1
        })
    );
    assert!(too_small.chain().is_none());

    let mut auditor = WhatsAppChainAuditor::new()
        .expect("auditor")
        .with_max_blob_len(data.len());
    let chain = *auditor.verify_blob(name, data).expect("a blob of exactly the limit");
    assert_eq!(
        (
            chain.start_epoch(),
            chain.start_root(),
            chain.end_epoch(),
            chain.end_root()
        ),
        (2, &roots[2], 3, &roots[3])
    );

    let parsed = AuditBlobName::parse(name).expect("name");
    assert_eq!(
        (parsed.epoch(), parsed.previous_root(), parsed.current_root()),
        (3, &roots[2], &roots[3])
    );
    assert_eq!(format!("{parsed:?}"), format!("AuditBlobName({name})"));
    let chain_debug = format!(
        "AuditedChain {{ start_epoch: 2, start_root: {}, end_epoch: 3, end_root: {} }}",
        hex::encode(roots[2]),
        hex::encode(roots[3])
    );
    assert_eq!(format!("{chain:?}"), chain_debug);
    assert_eq!(
        format!("{auditor:?}"),
        format!(
            "ChainAuditor {{ chain: Some({chain_debug}), max_blob_len: {}, .. }}",
            data.len()
        )
    );
}

#[test]
fn refusal_messages() {
    for (error, message) in [
        (
            AuditError::Name(BlobNameError::Parts),
            "audit blob name must be EPOCH/PREVIOUS_ROOT/CURRENT_ROOT",
        ),
        (
            AuditError::Name(BlobNameError::Epoch),
            "audit blob epoch must be a canonical decimal number from 1",
        ),
        (
            AuditError::Name(BlobNameError::Root),
            "audit blob root must be 64 lower-case hex digits",
        ),
        (AuditError::RuntimeUnavailable, "cannot build the tokio runtime"),
        (
            AuditError::TooLarge { len: 11, max: 10 },
            "audit blob of 11 bytes exceeds 10",
        ),
        (
            AuditError::EpochGap { expected: 4, found: 6 },
            "audit blob for epoch 6, expected 4",
        ),
        (
            AuditError::ChainBroken { epoch: 4 },
            "audit blob for epoch 4 does not extend the chain",
        ),
        (AuditError::ChainEnded, "the audited chain ends at the last epoch"),
        (AuditError::Malformed, "malformed audit proof"),
        (AuditError::NonCanonical, "non-canonical audit proof encoding"),
        (
            AuditError::Rejected { epoch: 4 },
            "append-only proof for epoch 4 does not verify",
        ),
    ] {
        assert_eq!(error.to_string(), message);
    }
}

proptest! {
    #[test]
    fn blob_name_parser_is_total(name in "\\PC{0,140}") {
        if let Ok(parsed) = AuditBlobName::parse(&name) {
            prop_assert_eq!(parsed.to_string(), name);
        }
    }

    #[test]
    fn blob_name_round_trips(epoch in 1u64.., previous in any::<[u8; 32]>(), current in any::<[u8; 32]>()) {
        let name = AuditBlobName::new(epoch, previous, current).unwrap();
        prop_assert_eq!(AuditBlobName::parse(&name.to_string()), Ok(name));
    }

    #[test]
    fn audit_blob_decoder_is_total(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let name = format!("1/{}/{}", "00".repeat(32), "00".repeat(32));
        let mut auditor = ChainAuditor::<WhatsAppV1Configuration>::new().unwrap();
        let _ = auditor.verify_blob(&name, &data);
    }
}
