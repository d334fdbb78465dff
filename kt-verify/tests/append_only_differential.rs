//! Differential test of the in-place audit verifier (SPEC §4.1) against akd 0.13's `verify_consecutive_append_only`,
//! the function `ChainAuditor` called before: real audit proofs of generated directories (random label sets,
//! updates of existing labels, several epochs, akd's serial and parallel insertion orders), and the same proofs
//! mutated, as bytes and as decoded proofs. For every case both must give the same result, with the same error.
//!
//! The reference (`akd_outcome`) is the previous `verify_blob` after the name and length checks: rust-protobuf's
//! decoding and akd_core's conversion (`Malformed`), re-encoding with akd's encoder (`NonCanonical`), then akd's
//! verifier on a current-thread runtime (`Rejected`).
#![cfg(feature = "auditor")]

mod common;

use std::collections::BTreeMap;

use akd::append_only_zks::AzksParallelismConfig;
use akd::directory::Directory;
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{AkdLabel, AkdValue, WhatsAppV1Configuration};
use common::runtime;
use kt_verify::akd_core::proto::specs::types as pb;
use kt_verify::akd_core::{AzksElement, AzksValue, NodeLabel, SingleAppendOnlyProof};
use kt_verify::{AuditBlobName, AuditError, ChainAuditor};
use proptest::prelude::*;
use protobuf::Message;

type Tc = WhatsAppV1Configuration;
type Digest = [u8; 32];

/// One epoch transition: the roots before and after, the epoch, and akd's blob.
#[derive(Clone, Debug)]
struct Transition {
    previous: Digest,
    current: Digest,
    epoch: u64,
    blob: Vec<u8>,
}

/// A directory with one batch per epoch (label ids and value ids; a later batch may update earlier labels), and its
/// audit blobs for every epoch.
fn transitions(batches: &[BTreeMap<u8, u8>], parallel: bool) -> Vec<Transition> {
    runtime().block_on(async {
        let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
        let config = if parallel {
            AzksParallelismConfig::default()
        } else {
            AzksParallelismConfig::disabled()
        };
        let akd = Directory::<Tc, _, _>::new(storage, HardCodedAkdVRF {}, config)
            .await
            .expect("directory");
        let mut roots = vec![akd.get_epoch_hash().await.expect("epoch 0").hash()];
        for (index, batch) in batches.iter().enumerate() {
            let updates = batch
                .iter()
                .map(|(label, value)| {
                    (
                        AkdLabel(format!("user-{label}").into_bytes()),
                        // The epoch in the value: akd skips an update to the value a label already has.
                        AkdValue(vec![*value, index as u8]),
                    )
                })
                .collect();
            roots.push(akd.publish(updates).await.expect("publish").hash());
        }
        let mut out = vec![];
        for epoch in 1..roots.len() as u64 {
            let proof = akd.audit(epoch - 1, epoch).await.expect("audit");
            out.push(Transition {
                previous: roots[epoch as usize - 1],
                current: roots[epoch as usize],
                epoch,
                blob: encode(&proof.proofs[0]),
            });
        }
        out
    })
}

fn encode(proof: &SingleAppendOnlyProof) -> Vec<u8> {
    pb::SingleAppendOnlyProof::from(proof).write_to_bytes().expect("encode")
}

/// The previous `verify_blob`, from decoding on.
fn akd_outcome(previous: Digest, current: Digest, epoch: u64, data: &[u8]) -> Result<(), AuditError> {
    let decoded = pb::SingleAppendOnlyProof::parse_from_bytes(data).map_err(|_| AuditError::Malformed)?;
    let proof = SingleAppendOnlyProof::try_from(&decoded).map_err(|_| AuditError::Malformed)?;
    if encode(&proof) != data {
        return Err(AuditError::NonCanonical);
    }
    akd_proof_outcome(previous, current, epoch, &proof)
}

/// akd's verifier on a decoded proof.
fn akd_proof_outcome(
    previous: Digest,
    current: Digest,
    epoch: u64,
    proof: &SingleAppendOnlyProof,
) -> Result<(), AuditError> {
    runtime()
        .block_on(akd::auditor::verify_consecutive_append_only::<Tc>(
            proof, previous, current, epoch,
        ))
        .map_err(|_| AuditError::Rejected { epoch })
}

fn auditor() -> ChainAuditor<Tc> {
    ChainAuditor::<Tc>::new()
        .expect("auditor")
        .with_max_blob_len(usize::MAX)
}

fn name(previous: Digest, current: Digest, epoch: u64) -> String {
    AuditBlobName::new(epoch, previous, current)
        .expect("epoch >= 1")
        .to_string()
}

/// `verify_blob`'s result, and on success that the chain ends at the current root.
fn our_outcome(previous: Digest, current: Digest, epoch: u64, data: &[u8]) -> Result<(), AuditError> {
    let mut auditor = auditor();
    let chain = *auditor.verify_blob(&name(previous, current, epoch), data)?;
    assert_eq!((chain.end_epoch(), chain.end_root()), (epoch, &current));
    Ok(())
}

fn our_proof_outcome(
    previous: Digest,
    current: Digest,
    epoch: u64,
    proof: &SingleAppendOnlyProof,
) -> Result<(), AuditError> {
    auditor()
        .verify_proof(&name(previous, current, epoch), proof)
        .map(|_| ())
}

/// The mutations of a decoded proof. `i` and `j` pick elements, `bit` a bit, `other` an element of the other list.
#[derive(Clone, Copy, Debug)]
enum Mutation {
    FlipValueBit,
    FlipLabelBit,
    LengthPlusOne,
    LengthMinusOne,
    LengthZero,
    Length256,
    Length257,
    ShortenToPrefixOfAnother,
    DuplicateInSameList,
    DuplicateInOtherList,
    Drop,
    Swap,
    MoveToOtherList,
    /// An unchanged node whose label is the longest common prefix of two elements: the committed-interior-node
    /// forgery akd 0.13 refuses.
    AddInteriorNode,
    ReverseBoth,
}

const MUTATIONS: [Mutation; 15] = [
    Mutation::FlipValueBit,
    Mutation::FlipLabelBit,
    Mutation::LengthPlusOne,
    Mutation::LengthMinusOne,
    Mutation::LengthZero,
    Mutation::Length256,
    Mutation::Length257,
    Mutation::ShortenToPrefixOfAnother,
    Mutation::DuplicateInSameList,
    Mutation::DuplicateInOtherList,
    Mutation::Drop,
    Mutation::Swap,
    Mutation::MoveToOtherList,
    Mutation::AddInteriorNode,
    Mutation::ReverseBoth,
];

/// Applies `mutation` to `proof` (to `inserted` if `in_inserted` and it is not empty, else to `unchanged_nodes`).
fn mutate(
    proof: &SingleAppendOnlyProof,
    mutation: Mutation,
    in_inserted: bool,
    i: usize,
    j: usize,
    bit: usize,
) -> SingleAppendOnlyProof {
    let mut proof = proof.clone();
    let in_inserted = in_inserted && !proof.inserted.is_empty() || proof.unchanged_nodes.is_empty();
    let (list, other) = if in_inserted {
        (&mut proof.inserted, &mut proof.unchanged_nodes)
    } else {
        (&mut proof.unchanged_nodes, &mut proof.inserted)
    };
    if list.is_empty() {
        return proof;
    }
    let (i, j) = (i % list.len(), j % list.len());
    let element = list[i];
    let label_len = &mut list[i].label.label_len;
    match mutation {
        Mutation::FlipValueBit => list[i].value.0[bit / 8 % 32] ^= 1 << (bit % 8),
        Mutation::FlipLabelBit => list[i].label.label_val[bit / 8 % 32] ^= 1 << (bit % 8),
        Mutation::LengthPlusOne => *label_len += 1,
        Mutation::LengthMinusOne => *label_len = label_len.saturating_sub(1),
        Mutation::LengthZero => *label_len = 0,
        Mutation::Length256 => *label_len = 256,
        Mutation::Length257 => *label_len = 257,
        Mutation::ShortenToPrefixOfAnother => {
            let target = list[j].label;
            let keep = (bit as u32) % (target.label_len + 1);
            list[i].label = target.get_prefix(keep);
        }
        Mutation::DuplicateInSameList => list.push(element),
        Mutation::DuplicateInOtherList => other.push(element),
        Mutation::Drop => {
            list.remove(i);
        }
        Mutation::Swap => list.swap(i, j),
        Mutation::MoveToOtherList => other.push(list.remove(i)),
        Mutation::AddInteriorNode => {
            let lcp = element.label.get_longest_common_prefix::<Tc>(list[j].label);
            other.push(AzksElement {
                label: lcp,
                value: AzksValue([bit as u8; 32]),
            });
        }
        Mutation::ReverseBoth => {
            list.reverse();
            other.reverse();
        }
    }
    proof
}

/// Byte mutations of a blob: flip, cut, insert, append.
fn mutate_bytes(data: &[u8], kind: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut out = data.to_vec();
    let at = if data.is_empty() { 0 } else { at % data.len() };
    match kind % 4 {
        0 if !out.is_empty() => out[at] ^= byte.max(1),
        1 => out.truncate(at),
        2 => out.insert(at, byte),
        _ => out.push(byte),
    }
    out
}

fn batches() -> impl Strategy<Value = Vec<BTreeMap<u8, u8>>> {
    prop::collection::vec(prop::collection::btree_map(0u8..40, any::<u8>(), 1..10), 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every real blob verifies with both verifiers, and every mutation gets the same result from both, as bytes
    /// (`verify_blob`) and as a decoded proof (`verify_proof`, which also takes label lengths above 256).
    #[test]
    fn generated_and_mutated_blobs_get_akds_outcome(
        batches in batches(),
        parallel in any::<bool>(),
        mutations in prop::collection::vec(
            (0..MUTATIONS.len(), any::<bool>(), any::<usize>(), any::<usize>(), 0usize..300),
            12,
        ),
        byte_mutations in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 12),
        epoch_shift in prop_oneof![Just(1i8), Just(-1)],
    ) {
        for t in transitions(&batches, parallel) {
            prop_assert_eq!(our_outcome(t.previous, t.current, t.epoch, &t.blob), Ok(()));
            prop_assert_eq!(akd_outcome(t.previous, t.current, t.epoch, &t.blob), Ok(()));
            let proof = SingleAppendOnlyProof::try_from(
                &pb::SingleAppendOnlyProof::parse_from_bytes(&t.blob).expect("decode"),
            ).expect("convert");

            // The roots and the epoch the leaves are bound to.
            let shifted = t.epoch.checked_add_signed(epoch_shift.into()).filter(|e| *e >= 1).unwrap_or(2);
            for (previous, current, epoch) in [
                (t.current, t.previous, t.epoch),
                (t.previous, t.previous, t.epoch),
                (t.current, t.current, t.epoch),
                (t.previous, t.current, shifted),
            ] {
                prop_assert_eq!(
                    our_outcome(previous, current, epoch, &t.blob),
                    akd_outcome(previous, current, epoch, &t.blob)
                );
            }

            for &(which, in_inserted, i, j, bit) in &mutations {
                let mutated = mutate(&proof, MUTATIONS[which], in_inserted, i, j, bit);
                prop_assert_eq!(
                    our_proof_outcome(t.previous, t.current, t.epoch, &mutated),
                    akd_proof_outcome(t.previous, t.current, t.epoch, &mutated),
                    "{:?}", MUTATIONS[which]
                );
                let data = encode(&mutated);
                prop_assert_eq!(
                    our_outcome(t.previous, t.current, t.epoch, &data),
                    akd_outcome(t.previous, t.current, t.epoch, &data),
                    "{:?} as bytes", MUTATIONS[which]
                );
            }
            for &(kind, at, byte) in &byte_mutations {
                let data = mutate_bytes(&t.blob, kind, at, byte);
                prop_assert_eq!(
                    our_outcome(t.previous, t.current, t.epoch, &data),
                    akd_outcome(t.previous, t.current, t.epoch, &data)
                );
            }
        }
    }
}

/// Each mutation kind, once on a fixed directory, with the outcome both verifiers must give where akd's rules fix
/// it: reordering is accepted, every other kind here that changes the proof is refused.
#[test]
fn each_mutation_kind_gets_akds_outcome() {
    let batches: Vec<BTreeMap<u8, u8>> = vec![
        (0..12).map(|i| (i, 1)).collect(),
        [(3, 2), (20, 2), (21, 2), (22, 2)].into_iter().collect(),
    ];
    for parallel in [false, true] {
        let t = &transitions(&batches, parallel)[1];
        let proof =
            SingleAppendOnlyProof::try_from(&pb::SingleAppendOnlyProof::parse_from_bytes(&t.blob).expect("decode"))
                .expect("convert");
        assert!(proof.inserted.len() >= 3 && proof.unchanged_nodes.len() >= 2);
        for mutation in MUTATIONS {
            for in_inserted in [true, false] {
                let mutated = mutate(&proof, mutation, in_inserted, 1, 0, 9);
                let ours = our_proof_outcome(t.previous, t.current, t.epoch, &mutated);
                assert_eq!(
                    ours,
                    akd_proof_outcome(t.previous, t.current, t.epoch, &mutated),
                    "{mutation:?}"
                );
                // Reordering keeps the sets; so does a no-op (a full-length label set to length 256).
                let expected_ok = matches!(mutation, Mutation::Swap | Mutation::ReverseBoth) || mutated == proof;
                assert_eq!(ours.is_ok(), expected_ok, "{mutation:?} {in_inserted}");
                let data = encode(&mutated);
                assert_eq!(
                    our_outcome(t.previous, t.current, t.epoch, &data),
                    akd_outcome(t.previous, t.current, t.epoch, &data),
                    "{mutation:?} as bytes"
                );
            }
        }
    }
}

/// An empty proof verifies exactly between two empty-directory roots, as with akd.
#[test]
fn empty_proof_between_empty_roots() {
    let empty_root = runtime().block_on(async {
        let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
        let akd = Directory::<Tc, _, _>::new(storage, HardCodedAkdVRF {}, AzksParallelismConfig::disabled())
            .await
            .expect("directory");
        akd.get_epoch_hash().await.expect("epoch 0").hash()
    });
    let empty = SingleAppendOnlyProof {
        inserted: vec![],
        unchanged_nodes: vec![],
    };
    assert!(encode(&empty).is_empty());
    for (previous, current) in [(empty_root, empty_root), (empty_root, [0; 32]), ([0; 32], empty_root)] {
        let ours = our_outcome(previous, current, 5, &[]);
        assert_eq!(ours, akd_outcome(previous, current, 5, &[]));
        assert_eq!(ours.is_ok(), previous == empty_root && current == empty_root);
    }
    // One label of length 0 (the root's own label) is refused by both, whatever the roots.
    let root_label = SingleAppendOnlyProof {
        inserted: vec![],
        unchanged_nodes: vec![AzksElement {
            label: NodeLabel::root(),
            value: AzksValue([0; 32]),
        }],
    };
    assert_eq!(
        our_proof_outcome(empty_root, empty_root, 5, &root_label),
        akd_proof_outcome(empty_root, empty_root, 5, &root_label)
    );
}
