//! Targeted cases of the in-place audit check (SPEC §4.1) against akd 0.13's own verifier and roots, from an outside
//! review: empty and one-element sets, one side of the root only, duplicates, prefixes (on the bits below the length
//! only), zero lengths, lengths above 256 in decoded proofs, and the deepest tree (the fold's stack at its largest).
//! Each case is compared as a decoded proof and, where it can be encoded, as a blob, with akd's roots and with one
//! root wrong.
#![cfg(feature = "auditor")]

mod common;

use akd::append_only_zks::{Azks, AzksParallelismConfig, InsertMode};
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{Configuration, WhatsAppV1Configuration};
use common::runtime;
use kt_verify::akd_core::proto::specs::types as pb;
use kt_verify::akd_core::{AzksElement, AzksValue, NodeLabel, SingleAppendOnlyProof};
use kt_verify::{AuditBlobName, AuditError, ChainAuditor};
use protobuf::Message;

type Tc = WhatsAppV1Configuration;
type Digest = [u8; 32];

fn el(val: [u8; 32], len: u32, value: u8) -> AzksElement {
    AzksElement {
        label: NodeLabel::new(val, len),
        value: AzksValue([value; 32]),
    }
}

fn val(prefix: &[u8]) -> [u8; 32] {
    let mut v = [0u8; 32];
    v[..prefix.len()].copy_from_slice(prefix);
    v
}

/// akd's own root for `nodes` (auditor mode, fresh tree), `None` where insertion fails.
fn akd_root(nodes: Vec<AzksElement>, latest_epoch: Option<u64>) -> Option<Digest> {
    runtime().block_on(async {
        let manager = StorageManager::new_no_cache(AsyncInMemoryDatabase::new_with_remove_child_nodes_on_insertion());
        let mut azks = Azks::new::<Tc, _>(&manager).await.expect("empty tree");
        if let Some(epoch) = latest_epoch {
            azks.latest_epoch = epoch;
        }
        azks.batch_insert_nodes::<Tc, _>(&manager, nodes, InsertMode::Auditor, AzksParallelismConfig::default())
            .await
            .ok()?;
        Some(azks.get_root_hash::<Tc, _>(&manager).await.expect("root"))
    })
}

fn akd_verify(proof: &SingleAppendOnlyProof, start: Digest, end: Digest, epoch: u64) -> bool {
    runtime()
        .block_on(akd::auditor::verify_consecutive_append_only::<Tc>(
            proof, start, end, epoch,
        ))
        .is_ok()
}

fn name(start: Digest, end: Digest, epoch: u64) -> String {
    AuditBlobName::new(epoch, start, end).expect("epoch").to_string()
}

fn ours_proof(proof: &SingleAppendOnlyProof, start: Digest, end: Digest, epoch: u64) -> bool {
    let mut auditor = ChainAuditor::<Tc>::new().expect("auditor");
    auditor.verify_proof(&name(start, end, epoch), proof).is_ok()
}

fn ours_blob(data: &[u8], start: Digest, end: Digest, epoch: u64) -> Result<(), AuditError> {
    let mut auditor = ChainAuditor::<Tc>::new()
        .expect("auditor")
        .with_max_blob_len(usize::MAX);
    auditor.verify_blob(&name(start, end, epoch), data).map(|_| ())
}

/// Compares akd and ours on `proof` with akd's own roots (if any), and with one of them wrong; returns whether akd
/// accepted with its roots.
fn compare(inserted: Vec<AzksElement>, unchanged_nodes: Vec<AzksElement>, epoch: u64) -> bool {
    let proof = SingleAppendOnlyProof {
        inserted,
        unchanged_nodes,
    };
    let start = akd_root(proof.unchanged_nodes.clone(), None);
    let mut end_nodes = proof.unchanged_nodes.clone();
    end_nodes.extend(proof.inserted.iter().map(|e| AzksElement {
        label: e.label,
        value: AzksValue(Tc::hash_leaf_with_commitment(e.value, epoch).0),
    }));
    let end = akd_root(end_nodes, Some(epoch - 1));
    let dummy = [0x5a; 32];
    let blob_ok = proof
        .inserted
        .iter()
        .chain(&proof.unchanged_nodes)
        .all(|e| e.label.label_len <= 256);
    let data = pb::SingleAppendOnlyProof::from(&proof)
        .write_to_bytes()
        .expect("encode");
    let mut accepted = false;
    for (s, e) in [
        (start.unwrap_or(dummy), end.unwrap_or(dummy)),
        (dummy, end.unwrap_or(dummy)),
        (start.unwrap_or(dummy), dummy),
    ] {
        let akd = akd_verify(&proof, s, e, epoch);
        let ours = ours_proof(&proof, s, e, epoch);
        assert_eq!(
            ours, akd,
            "decoded proof: ours {ours}, akd {akd}: {proof:?} epoch {epoch}"
        );
        if blob_ok {
            let blob = ours_blob(&data, s, e, epoch);
            assert_eq!(blob.is_ok(), akd, "blob: ours {blob:?}, akd {akd}: {proof:?}");
        }
        accepted |= akd;
    }
    accepted
}

#[test]
fn empty_and_single_elements() {
    assert!(compare(vec![], vec![], 1));
    assert!(compare(vec![], vec![], u64::MAX));
    for len in [1, 2, 7, 8, 9, 255, 256] {
        for first in [0x00u8, 0x7f, 0x80, 0xff] {
            // Garbage beyond the length too.
            for rest in [0x00u8, 0xff] {
                let mut v = [rest; 32];
                v[0] = first;
                assert!(compare(vec![el(v, len, 1)], vec![], 2), "{first} {len}");
                assert!(compare(vec![], vec![el(v, len, 1)], 2), "{first} {len}");
            }
        }
    }
}

#[test]
fn one_side_only_and_both_sides() {
    // Both left (bit 0 = 0), split at bit 1, garbage beyond the length.
    let a = el(val(&[0x00, 0xff]), 3, 1);
    let b = el(val(&[0x40, 0x0f]), 3, 2);
    let c = el(val(&[0x80]), 1, 3);
    let d = el(val(&[0xc0, 0x01]), 256, 4);
    assert!(compare(vec![a], vec![b], 3));
    assert!(compare(vec![a, b], vec![], 3));
    assert!(compare(vec![], vec![a, b], 3));
    assert!(compare(vec![c, a], vec![b], 3));
    // c (len 1, "1") is a prefix of d ("11...").
    assert!(!compare(vec![c], vec![d], 3));
    assert!(!compare(vec![d], vec![c], 3));
    assert!(compare(vec![d], vec![a, b], 3));
}

#[test]
fn duplicates_prefixes_and_zero_lengths() {
    let full = el([0xab; 32], 256, 1);
    let mut other_value = full;
    other_value.value = AzksValue([9; 32]);
    // The same label twice: in one list, or in both.
    assert!(!compare(vec![full, other_value], vec![], 1));
    assert!(!compare(vec![], vec![full, full], 1));
    assert!(!compare(vec![full], vec![full], 1));
    // Masked-equal labels with different bits beyond the length: duplicates for akd.
    let a = el(val(&[0xf0, 0x00]), 4, 1);
    let b = el(val(&[0xff, 0xff]), 4, 2);
    assert!(!compare(vec![a], vec![b], 1));
    assert!(!compare(vec![a, b], vec![], 1));
    // A short label that is a prefix of a longer one only on the bits below its length.
    let short = el(val(&[0xff]), 4, 3); // compared bits 1111
    let long = el(val(&[0xf0, 0x12]), 12, 4); // 1111 0000 0001
    assert!(!compare(vec![short], vec![long], 1));
    assert!(!compare(vec![long], vec![short], 1));
    // An inserted label equal to a prefix of an unchanged node, and the other way round.
    let unchanged = el([0x55; 32], 200, 5);
    let prefix = el(unchanged.label.get_prefix(100).label_val, 100, 6);
    assert!(!compare(vec![prefix], vec![unchanged], 1));
    assert!(!compare(vec![unchanged], vec![prefix], 1));
    // Labels of length 0: the root label, akd's empty label, garbage.
    for zero in [el([0; 32], 0, 7), el([1; 32], 0, 7), el([0xff; 32], 0, 7)] {
        assert!(!compare(vec![zero], vec![], 1));
        assert!(!compare(vec![], vec![zero], 1));
        assert!(!compare(vec![zero], vec![full], 1));
        assert!(!compare(vec![full], vec![zero, unchanged], 1));
    }
}

#[test]
fn long_labels_in_decoded_proofs() {
    // Lengths above 256 (a decoded proof only): equal first 256 bits are prefixes for akd.
    let len_257 = el([0x11; 32], 257, 1);
    let len_300 = el([0x11; 32], 300, 2);
    let len_256 = el([0x11; 32], 256, 3);
    // (Not u32::MAX: akd's own LCP of such a label with itself loops over 2^32 bits, building an error string
    // for each bit from 256 on.)
    let other_5000 = el([0x91; 32], 5000, 4);
    let mut last_bit_differs = [0x11; 32];
    last_bit_differs[31] = 0x10;
    let other_4000 = el(last_bit_differs, 4000, 5);
    assert!(!compare(vec![len_257], vec![len_300], 1));
    assert!(!compare(vec![len_256], vec![len_257], 1));
    assert!(compare(vec![len_257], vec![other_5000], 1));
    assert!(compare(vec![len_257, other_5000], vec![other_4000], 1));
    assert!(compare(vec![other_5000], vec![], u64::MAX));
}

#[test]
fn deepest_stack() {
    // akd inserts recursively: a depth-256 tree needs more than a test thread's default stack in a debug build.
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(deepest_stack_cases)
        .expect("thread")
        .join()
        .expect("the cases pass");
}

fn deepest_stack_cases() {
    // 1^i 0 for i in 0..256 and 1^256: a caterpillar of depth 256, the stack at its largest (257 entries).
    let mut elements = vec![];
    for i in 0..256u32 {
        let mut v = [0u8; 32];
        for bit in 0..i {
            v[bit as usize / 8] |= 0x80 >> (bit % 8);
        }
        elements.push(el(v, i + 1, i as u8));
    }
    elements.push(el([0xff; 32], 256, 0));
    let (ins, unc) = elements.split_at(100);
    assert!(compare(ins.to_vec(), unc.to_vec(), 5));
    let mut reversed = elements.clone();
    reversed.reverse();
    assert!(compare(vec![], reversed, 5));
    // Plus a label that extends one of them: refused.
    let mut extra = elements.clone();
    extra.push(el([0xff; 32], 200, 1));
    assert!(!compare(extra, vec![], 5));
}
