//! The append-only check of one audit proof without a tree in memory (SPEC §4.1).
//!
//! akd 0.13's `verify_consecutive_append_only` inserts the proof's elements into two fresh trees (the unchanged
//! nodes; the unchanged nodes and the inserted leaves, each inserted value first bound to the end epoch) and
//! compares their roots with the two roots of the blob's name. Both trees are compressed binary tries whose shape
//! depends only on the set of labels, so each root is a fold over the labels in order: this module sorts an index of
//! the elements (one `u32` per element for blobs under 4 GiB) by label and folds each root with a stack of at most
//! 257 subtrees, reading labels and values where they are (in the blob, or in a decoded proof). The rules akd's
//! insertion applies to the set are checked on the way: no label of length 0, no two equal labels, no label that is
//! a prefix of another (all compared on the bits below each label's length, as akd compares them).
//!
//! The hashing is akd_core's, through the [`Configuration`] trait (`compute_parent_hash_from_children`,
//! `NodeLabel::value`, `hash_leaf_with_commitment`, `empty_node_hash`, `empty_root_value`,
//! `compute_root_hash_from_val`), so any configuration akd_core defines is folded as akd would hash it.
//! `tests/append_only_differential.rs` compares the outcome with akd's own verifier on generated and mutated proofs.

use core::cmp::Ordering;

use akd_core::configuration::Configuration;
use akd_core::{AzksValue, NodeLabel, SingleAppendOnlyProof};

use crate::witness::Digest;

/// Where the elements of one proof are read from: the element at `at` (an offset or a position, see the
/// implementations) has a label, a 32-byte value, and is an inserted leaf or an unchanged node.
pub(crate) trait Elements {
    /// The element's label, as akd_core decodes it (the bits beyond its length kept as they are).
    fn label(&self, at: usize) -> NodeLabel;
    /// The element's value.
    fn value(&self, at: usize) -> [u8; 32];
    /// Whether the element is in `inserted` (else in `unchanged_nodes`).
    fn is_inserted(&self, at: usize) -> bool;
}

/// An index entry: `u32` when every position fits, which is what keeps the working set at 4 bytes per element.
pub(crate) trait Key: Copy {
    /// `at` as a key, if it fits.
    fn new(at: usize) -> Option<Self>;
    /// The position back.
    fn at(self) -> usize;
}

impl Key for u32 {
    fn new(at: usize) -> Option<Self> {
        u32::try_from(at).ok()
    }
    fn at(self) -> usize {
        self as usize
    }
}

impl Key for u64 {
    fn new(at: usize) -> Option<Self> {
        u64::try_from(at).ok()
    }
    fn at(self) -> usize {
        self as usize
    }
}

/// Whether the tree of the elements at `keys` hashes to `expected`: the root akd's `Azks` publishes after inserting
/// them into an empty tree in auditor mode, each inserted leaf's value `v` replaced by
/// `hash_leaf_with_commitment(v, end_epoch)` (only the end tree holds inserted leaves). Reorders `keys`.
pub(crate) fn root_matches<TC: Configuration, E: Elements, K: Key>(
    elements: &E,
    keys: &mut [K],
    end_epoch: u64,
    expected: &Digest,
) -> bool {
    fold_root::<TC, _, _>(elements, keys, end_epoch).is_some_and(|root| root == *expected)
}

/// The bits of a label that akd compares: its first `min(label_len, 256)` bits, the rest zeroed (akd's
/// `get_prefix` and `get_bit_at` ignore the bits beyond the length; its hashing does not, see [`fold_root`]).
fn masked(label: &NodeLabel) -> [u8; 32] {
    let bits = label.label_len.min(256) as usize;
    let mut out = label.label_val;
    let full = bits / 8;
    if full < 32 {
        out[full] &= !(0xffu8 >> (bits % 8));
        out[full + 1..].fill(0);
    }
    out
}

/// The fold's order: the masked bits lexicographically (a prefix before its extensions), then the length. A total
/// order, so that sorting cannot fail on any input; labels that are equal in it or prefixes of one another are
/// refused by [`split_bit`] when they meet as neighbours (a label's extensions sort right after it).
fn order(a: &NodeLabel, b: &NodeLabel) -> Ordering {
    masked(a).cmp(&masked(b)).then(a.label_len.cmp(&b.label_len))
}

/// The first bit where two neighbours in [`order`] differ, among the first `min(len, 256)` bits of both, if `left`
/// has a 0 there and `right` a 1; `None` when one is a prefix of the other (equal labels included).
fn split_bit(left: &NodeLabel, right: &NodeLabel) -> Option<u32> {
    let common = left.label_len.min(right.label_len).min(256);
    let (l, r) = (masked(left), masked(right));
    let byte = l.iter().zip(&r).position(|(a, b)| a != b)?;
    let bit = byte as u32 * 8 + (l[byte] ^ r[byte]).leading_zeros();
    // The masked bits beyond the shorter length are zero in that label, so a difference there means a prefix.
    (bit < common && bit_at(&r, bit) && !bit_at(&l, bit)).then_some(bit)
}

/// Bit `index` (0 = the most significant bit of byte 0), as akd numbers them.
fn bit_at(bytes: &[u8; 32], index: u32) -> bool {
    bytes[index as usize / 8] >> (7 - index % 8) & 1 == 1
}

/// A finished subtree on the fold's stack: its label, its value, and the bit at which it splits from the subtree
/// below it on the stack (0 for the bottom one, which is never merged downwards by that number).
struct Subtree {
    label: NodeLabel,
    value: AzksValue,
    split: u32,
}

/// akd's interior node over `left` and `right`, at the label of length `split` they share.
fn merge<TC: Configuration>(left: &Subtree, right: &Subtree) -> Subtree {
    Subtree {
        label: right.label.get_prefix(right.split),
        value: TC::compute_parent_hash_from_children(
            &left.value,
            &left.label.value::<TC>(),
            &right.value,
            &right.label.value::<TC>(),
        ),
        split: left.split,
    }
}

/// The root hash akd's `Azks` would publish after inserting the elements at `keys` into an empty tree in auditor
/// mode, or `None` where akd's insertion fails (a label of length 0, two labels one of which is a prefix of the
/// other). Sorts `keys`.
fn fold_root<TC: Configuration, E: Elements, K: Key>(elements: &E, keys: &mut [K], end_epoch: u64) -> Option<Digest> {
    keys.sort_unstable_by(|a, b| order(&elements.label(a.at()), &elements.label(b.at())));
    // Splits strictly increase up the stack (each is a bit index below 256, the bottom's 0), so it holds at most 257.
    let mut stack: Vec<Subtree> = Vec::with_capacity(257);
    let mut previous: Option<NodeLabel> = None;
    for key in keys.iter() {
        let at = key.at();
        let label = elements.label(at);
        if label.label_len == 0 {
            return None;
        }
        let mut value = AzksValue(elements.value(at));
        if elements.is_inserted(at) {
            value = AzksValue(TC::hash_leaf_with_commitment(value, end_epoch).0);
        }
        let split = match &previous {
            None => 0,
            Some(previous) => {
                let split = split_bit(previous, &label)?;
                while stack.len() >= 2 && stack[stack.len() - 1].split > split {
                    let right = stack.pop()?;
                    let left = stack.pop()?;
                    stack.push(merge::<TC>(&left, &right));
                }
                // Equal splits cannot meet in a sorted, prefix-free set (the new leaf would sort before the top).
                if stack.len() >= 2 && stack[stack.len() - 1].split == split {
                    return None;
                }
                split
            }
        };
        stack.push(Subtree { label, value, split });
        previous = Some(label);
    }
    while stack.len() >= 2 {
        let right = stack.pop()?;
        let left = stack.pop()?;
        stack.push(merge::<TC>(&left, &right));
    }
    let root_value = match stack.pop() {
        // No elements: akd's root keeps its initial value.
        None => TC::empty_root_value(),
        // Elements on both sides of the root: the last merge was at bit 0, and is the root's own hash.
        Some(top) if top.label.label_len == 0 => top.value,
        // One side only: the root hashes its one child with akd's empty node on the other side.
        Some(top) => {
            let child = (top.value, top.label.value::<TC>());
            let empty = (TC::empty_node_hash(), TC::empty_label().value::<TC>());
            let (left, right) = if bit_at(&top.label.label_val, 0) {
                (empty, child)
            } else {
                (child, empty)
            };
            TC::compute_parent_hash_from_children(&left.0, &left.1, &right.0, &right.1)
        }
    };
    Some(TC::compute_root_hash_from_val(&root_value))
}

/// The element at position `at` of a decoded proof: `inserted[at]`, then `unchanged_nodes[at - inserted.len()]`.
fn element_at(proof: &SingleAppendOnlyProof, at: usize) -> &akd_core::AzksElement {
    match proof.inserted.get(at) {
        Some(element) => element,
        None => &proof.unchanged_nodes[at - proof.inserted.len()],
    }
}

/// A decoded proof as [`Elements`], by position (see [`element_at`]).
impl Elements for SingleAppendOnlyProof {
    fn label(&self, at: usize) -> NodeLabel {
        element_at(self, at).label
    }
    fn value(&self, at: usize) -> [u8; 32] {
        element_at(self, at).value.0
    }
    fn is_inserted(&self, at: usize) -> bool {
        at < self.inserted.len()
    }
}

/// Verifies a decoded proof: the start root from its unchanged nodes, then the end root from all its elements.
pub(crate) fn verify_proof<TC: Configuration>(
    proof: &SingleAppendOnlyProof,
    start_root: &Digest,
    end_root: &Digest,
    end_epoch: u64,
) -> bool {
    let total = proof.inserted.len() + proof.unchanged_nodes.len();
    let inserted = proof.inserted.len();
    match u32::try_from(total) {
        Ok(_) => collect_keys((0..total).map(u32::new), total)
            .is_some_and(|keys| verify_keys::<TC, _, u32>(proof, keys, inserted, start_root, end_root, end_epoch)),
        Err(_) => collect_keys((0..total).map(u64::new), total)
            .is_some_and(|keys| verify_keys::<TC, _, u64>(proof, keys, inserted, start_root, end_root, end_epoch)),
    }
}

/// The keys in a vector of exactly `total` entries (no spare capacity), or `None` if one does not fit.
fn collect_keys<K: Key>(keys: impl Iterator<Item = Option<K>>, total: usize) -> Option<Vec<K>> {
    let mut out = Vec::with_capacity(total);
    for key in keys {
        out.push(key?);
    }
    Some(out)
}

/// With the keys of all elements (the inserted ones first, `inserted` of them), checks the start root over
/// the unchanged ones, then the end root over all.
fn verify_keys<TC: Configuration, E: Elements, K: Key>(
    elements: &E,
    mut keys: Vec<K>,
    inserted: usize,
    start_root: &Digest,
    end_root: &Digest,
    end_epoch: u64,
) -> bool {
    let Some(unchanged) = keys.get_mut(inserted..) else {
        return false;
    };
    root_matches::<TC, _, _>(elements, unchanged, end_epoch, start_root)
        && root_matches::<TC, _, _>(elements, &mut keys, end_epoch, end_root)
}

/// A blob that is exactly akd's protobuf encoding of a `SingleAppendOnlyProof` akd_core can convert, read in place:
/// the elements are found by their offsets in it (SPEC §4.1 gives the byte layout).
pub(crate) struct CanonicalBlob<'a> {
    data: &'a [u8],
    /// The number of inserted elements (they come first).
    inserted: usize,
    /// The number of all elements.
    total: usize,
}

/// Field keys of `SingleAppendOnlyProof`: 1 `inserted`, 2 `unchanged_nodes` (length-delimited).
const INSERTED: u8 = 0x0a;
const UNCHANGED: u8 = 0x12;

impl<'a> CanonicalBlob<'a> {
    /// The blob, if it is the canonical encoding of a proof akd_core's conversion accepts; `None` otherwise (the
    /// caller then tells `Malformed` from `NonCanonical`).
    pub(crate) fn parse(data: &'a [u8]) -> Option<Self> {
        let (mut at, mut inserted, mut total, mut in_unchanged) = (0, 0, 0, false);
        while at < data.len() {
            let (field, end) = element_end(data, at)?;
            match field {
                INSERTED if !in_unchanged => inserted += 1,
                UNCHANGED => in_unchanged = true,
                _ => return None,
            }
            total += 1;
            at = end;
        }
        Some(Self { data, inserted, total })
    }

    /// Verifies both roots, with an index of `u32` offsets when the blob is shorter than 4 GiB.
    pub(crate) fn verify<TC: Configuration>(&self, start_root: &Digest, end_root: &Digest, end_epoch: u64) -> bool {
        if u32::try_from(self.data.len()).is_ok() {
            self.verify_with::<TC, u32>(start_root, end_root, end_epoch)
        } else {
            self.verify_with::<TC, u64>(start_root, end_root, end_epoch)
        }
    }

    fn verify_with<TC: Configuration, K: Key>(&self, start_root: &Digest, end_root: &Digest, end_epoch: u64) -> bool {
        let mut at = 0;
        let offsets = core::iter::from_fn(|| {
            let (_, end) = element_end(self.data, at)?;
            let key = K::new(at);
            at = end;
            Some(key)
        });
        // Exactly `total` offsets: `parse` walked the same elements.
        collect_keys(offsets, self.total)
            .is_some_and(|keys| verify_keys::<TC, _, K>(self, keys, self.inserted, start_root, end_root, end_epoch))
    }

    /// The label bytes (without trailing zero bytes) and the length of the element at offset `at`.
    fn label_parts(&self, at: usize) -> (&[u8], u32) {
        let data = self.data;
        let val_len = data[at + 5] as usize;
        let len_at = at + 6 + val_len + 1;
        let label_len = match data[len_at] {
            low @ 0..0x80 => u32::from(low),
            low => u32::from(low & 0x7f) | u32::from(data[len_at + 1]) << 7,
        };
        (&data[at + 6..at + 6 + val_len], label_len)
    }
}

impl Elements for CanonicalBlob<'_> {
    fn label(&self, at: usize) -> NodeLabel {
        let (bytes, label_len) = self.label_parts(at);
        let mut label_val = [0; 32];
        label_val[..bytes.len()].copy_from_slice(bytes);
        NodeLabel { label_val, label_len }
    }
    fn value(&self, at: usize) -> [u8; 32] {
        let end = at + 2 + self.data[at + 1] as usize;
        let mut value = [0; 32];
        value.copy_from_slice(&self.data[end - 32..end]);
        value
    }
    fn is_inserted(&self, at: usize) -> bool {
        self.data[at] == INSERTED
    }
}

/// Checks the element starting at `at` against the canonical layout and returns its field key and end offset.
///
/// The layout (every length fits one varint byte: an element is at most 73 bytes):
/// `key, E, 0x0a, M, 0x0a, V, label_val[V], 0x10, varint(label_len), 0x12, 0x20, value[32]` with `key` 0x0a or
/// 0x12, `V <= 32`, `label_val` without a trailing zero byte, `label_len <= 256` as a minimal varint,
/// `M = 3 + V + len(varint(label_len))` and `E = M + 36`.
fn element_end(data: &[u8], at: usize) -> Option<(u8, usize)> {
    let header = data.get(at..at + 6)?;
    let (field, element_len, label_msg_len) = (header[0], usize::from(header[1]), usize::from(header[3]));
    let val_len = usize::from(header[5]);
    if header[2] != 0x0a || header[4] != 0x0a || val_len > 32 {
        return None;
    }
    let label_val = data.get(at + 6..at + 6 + val_len)?;
    if label_val.last() == Some(&0) {
        return None;
    }
    let len_at = at + 6 + val_len;
    let varint_len = match data.get(len_at..len_at + 2)? {
        [0x10, 0..0x80] => 1,
        // Two bytes: 128 ..= 256, the second byte non-zero (minimal).
        [0x10, low] => match data.get(len_at + 2)? {
            1 => 2,
            2 if *low == 0x80 => 2,
            _ => return None,
        },
        _ => return None,
    };
    if label_msg_len != 3 + val_len + varint_len || element_len != label_msg_len + 36 {
        return None;
    }
    let value_at = len_at + 1 + varint_len;
    if data.get(value_at..value_at + 2)? != [0x12, 0x20] {
        return None;
    }
    let end = value_at + 34;
    (end <= data.len() && end == at + 2 + element_len).then_some((field, end))
}

#[cfg(test)]
mod tests {
    use akd_core::proto::specs::types as pb;
    use akd_core::{AzksElement, WhatsAppV1Configuration};
    use proptest::prelude::*;
    use protobuf::Message as _;

    use super::*;

    fn akd_encoding(proof: &SingleAppendOnlyProof) -> Vec<u8> {
        pb::SingleAppendOnlyProof::from(proof)
            .write_to_bytes()
            .expect("encodes")
    }

    /// What the old decoding path accepts: rust-protobuf parses it, akd_core converts it, and re-encoding gives the
    /// same bytes. Returns the decoded proof.
    fn canonical_by_akd(data: &[u8]) -> Option<SingleAppendOnlyProof> {
        let decoded = pb::SingleAppendOnlyProof::parse_from_bytes(data).ok()?;
        let proof = SingleAppendOnlyProof::try_from(&decoded).ok()?;
        (akd_encoding(&proof) == data).then_some(proof)
    }

    fn element(max_len: u32) -> impl Strategy<Value = AzksElement> {
        // Labels with trailing zero bytes (trimmed by akd's encoding), all-zero ones, and lengths up to `max_len`
        // (two-byte varints from 128).
        (any::<[u8; 32]>(), 0usize..=32, 0u32..=max_len, any::<[u8; 32]>()).prop_map(
            |(mut label_val, keep, label_len, value)| {
                label_val[keep..].fill(0);
                AzksElement {
                    label: NodeLabel { label_val, label_len },
                    value: AzksValue(value),
                }
            },
        )
    }

    fn read_back(blob: &CanonicalBlob<'_>) -> Vec<(NodeLabel, [u8; 32], bool)> {
        let mut out = vec![];
        let mut at = 0;
        while at < blob.data.len() {
            out.push((blob.label(at), blob.value(at), blob.is_inserted(at)));
            at = element_end(blob.data, at).expect("parsed").1;
        }
        out
    }

    proptest! {
        /// The in-place parser accepts exactly what akd's decoding accepts and re-encodes to the same bytes, and
        /// reads back the same elements: on akd's encodings, and on them altered, cut or extended.
        #[test]
        fn the_parser_accepts_exactly_akds_canonical_encodings(
            inserted in prop::collection::vec(element(300), 0..5),
            unchanged_nodes in prop::collection::vec(element(300), 0..5),
            offset in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            extra in any::<u8>(),
        ) {
            let proof = SingleAppendOnlyProof { inserted, unchanged_nodes };
            let encoded = akd_encoding(&proof);
            let mut variants = vec![encoded.clone(), [encoded.as_slice(), &[extra]].concat()];
            if !encoded.is_empty() {
                let at = offset.index(encoded.len());
                let mut altered = encoded.clone();
                altered[at] ^= flip;
                variants.push(altered);
                variants.push(encoded[..at].to_vec());
                let mut inserted_byte = encoded.clone();
                inserted_byte.insert(at, extra);
                variants.push(inserted_byte);
            }
            for data in &variants {
                let ours = CanonicalBlob::parse(data);
                let akds = canonical_by_akd(data);
                prop_assert_eq!(ours.is_some(), akds.is_some());
                if let (Some(ours), Some(akds)) = (ours, akds) {
                    let expected: Vec<_> = akds.inserted.iter().map(|e| (e.label, e.value.0, true))
                        .chain(akds.unchanged_nodes.iter().map(|e| (e.label, e.value.0, false)))
                        .collect();
                    prop_assert_eq!(ours.total, expected.len());
                    prop_assert_eq!(read_back(&ours), expected);
                }
            }
        }

        /// `order` is a total order consistent with akd's prefix relation: a label sorts before its extensions, and
        /// `split_bit` finds the bit akd's longest common prefix stops at.
        #[test]
        fn split_bit_is_akds_longest_common_prefix(a in element(300), b in element(300)) {
            let (a, b) = (a.label, b.label);
            let (left, right) = if order(&a, &b) == Ordering::Greater { (b, a) } else { (a, b) };
            let lcp = left.get_longest_common_prefix::<WhatsAppV1Configuration>(right);
            let prefix_related = left.label_len == 0 || right.label_len == 0
                || left.get_prefix(left.label_len.min(256)).label_val == right.get_prefix(left.label_len.min(256)).label_val
                    && left.label_len <= right.label_len;
            match split_bit(&left, &right) {
                None => prop_assert!(prefix_related),
                Some(bit) => {
                    prop_assert!(!prefix_related);
                    prop_assert_eq!(lcp.label_len, bit);
                    prop_assert_eq!(lcp, right.get_prefix(bit));
                }
            }
        }
    }

    /// akd's own tree for `nodes`, as `verify_consecutive_append_only` builds it (akd 0.13 `auditor.rs`,
    /// `verify_append_only_hash`, through akd's public `Azks` API): its root, or `None` where the insertion fails.
    fn akd_root<TC: Configuration>(
        runtime: &tokio::runtime::Runtime,
        nodes: Vec<AzksElement>,
        latest_epoch: Option<u64>,
    ) -> Option<Digest> {
        use akd::append_only_zks::{Azks, AzksParallelismConfig, InsertMode};
        use akd::storage::StorageManager;
        use akd::storage::memory::AsyncInMemoryDatabase;
        runtime.block_on(async {
            let manager =
                StorageManager::new_no_cache(AsyncInMemoryDatabase::new_with_remove_child_nodes_on_insertion());
            let mut azks = Azks::new::<TC, _>(&manager).await.expect("empty tree");
            if let Some(epoch) = latest_epoch {
                azks.latest_epoch = epoch;
            }
            azks.batch_insert_nodes::<TC, _>(&manager, nodes, InsertMode::Auditor, AzksParallelismConfig::default())
                .await
                .ok()?;
            Some(azks.get_root_hash::<TC, _>(&manager).await.expect("root"))
        })
    }

    /// Labels that collide often: few first bytes, lengths around 0, 8 and 256 (up to 300, which only a decoded
    /// proof can carry), bits beyond the length either zero or random.
    fn structured_element() -> impl Strategy<Value = AzksElement> {
        let first = prop_oneof![
            Just(0x00u8),
            Just(0x40),
            Just(0x80),
            Just(0xc0),
            Just(0xff),
            any::<u8>()
        ];
        let len = prop_oneof![0u32..=10, 250u32..=258, 0u32..=300];
        (
            first,
            any::<[u8; 32]>(),
            any::<bool>(),
            len,
            prop_oneof![Just([7u8; 32]), any::<[u8; 32]>()],
        )
            .prop_map(|(first, mut rest, junk, label_len, value)| {
                rest[0] = first;
                let mut label = NodeLabel::new(rest, label_len);
                if !junk {
                    label = NodeLabel::new(masked(&label), label_len);
                }
                if rest[1] % 2 == 0 {
                    // Also share the second byte, to reach deeper splits.
                    label.label_val[1] = 0x5a & masked(&label)[1] | label.label_val[1] & !0x5a;
                }
                AzksElement {
                    label,
                    value: AzksValue(value),
                }
            })
    }

    /// Our fold and akd's tree give the same root, or both refuse, for each of the two trees of
    /// `verify_consecutive_append_only`; and akd's verifier and ours agree on the proof with those roots.
    fn agrees_with_akd<TC: Configuration>(proof: &SingleAppendOnlyProof, epoch: u64) -> Result<(), TestCaseError> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let total = proof.inserted.len() + proof.unchanged_nodes.len();
        let mut keys: Vec<u32> = (0..total as u32).collect();
        let ours_start = fold_root::<TC, _, _>(proof, &mut keys[proof.inserted.len()..], epoch);
        let ours_end = fold_root::<TC, _, _>(proof, &mut keys, epoch);
        let akd_start = akd_root::<TC>(&runtime, proof.unchanged_nodes.clone(), None);
        let mut end_nodes = proof.unchanged_nodes.clone();
        end_nodes.extend(proof.inserted.iter().map(|element| AzksElement {
            label: element.label,
            value: AzksValue(TC::hash_leaf_with_commitment(element.value, epoch).0),
        }));
        let akd_end = akd_root::<TC>(&runtime, end_nodes, Some(epoch - 1));
        prop_assert_eq!(ours_start, akd_start);
        prop_assert_eq!(ours_end, akd_end);
        let dummy = [0x33; 32];
        for (start, end) in [
            (ours_start.unwrap_or(dummy), ours_end.unwrap_or(dummy)),
            (dummy, ours_end.unwrap_or(dummy)),
            (ours_start.unwrap_or(dummy), dummy),
        ] {
            let akd = runtime
                .block_on(akd::auditor::verify_consecutive_append_only::<TC>(
                    proof, start, end, epoch,
                ))
                .is_ok();
            prop_assert_eq!(verify_proof::<TC>(proof, &start, &end, epoch), akd);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Random element sets (prefixes, duplicates, length 0, bits beyond the length, lengths above 256, one
        /// label in both sets): the same roots and refusals as akd's tree, in both configurations.
        #[test]
        fn roots_and_refusals_are_akds(
            inserted in prop::collection::vec(structured_element(), 0..7),
            unchanged_nodes in prop::collection::vec(structured_element(), 0..7),
            shared in any::<Option<prop::sample::Index>>(),
            epoch in prop_oneof![1u64..=4, Just(u64::MAX), 1u64..],
        ) {
            let mut proof = SingleAppendOnlyProof { inserted, unchanged_nodes };
            if let (Some(shared), false) = (shared, proof.inserted.is_empty()) {
                let element = proof.inserted[shared.index(proof.inserted.len())];
                proof.unchanged_nodes.push(element);
            }
            agrees_with_akd::<WhatsAppV1Configuration>(&proof, epoch)?;
            agrees_with_akd::<akd_core::ExperimentalConfiguration<akd_core::ExampleLabel>>(&proof, epoch)?;
        }

        /// Prefix-free sets of full and short labels, which akd accepts: the roots must agree to the bit.
        #[test]
        fn roots_of_accepted_sets_are_akds(
            labels in prop::collection::btree_set(any::<[u8; 4]>(), 0..40),
            cut in prop::collection::vec(1u32..=256, 40),
            split in any::<prop::sample::Index>(),
            epoch in 1u64..,
        ) {
            // Distinct 32-bit prefixes, each extended to a length of at least 33 bits: no label is a prefix of
            // another.
            let elements: Vec<AzksElement> = labels.iter().zip(&cut).map(|(prefix, extra)| {
                let mut label_val = [0xa5; 32];
                label_val[..4].copy_from_slice(prefix);
                let label_len = (32 + extra).min(256);
                let mut value = [0x3c; 32];
                value[..4].copy_from_slice(prefix);
                AzksElement {
                    label: NodeLabel::new(masked(&NodeLabel::new(label_val, label_len)), label_len),
                    value: AzksValue(value),
                }
            }).collect();
            let at = split.index(elements.len() + 1);
            let proof = SingleAppendOnlyProof {
                inserted: elements[..at].to_vec(),
                unchanged_nodes: elements[at..].to_vec(),
            };
            agrees_with_akd::<WhatsAppV1Configuration>(&proof, epoch)?;
            let total = proof.inserted.len() + proof.unchanged_nodes.len();
            let mut keys: Vec<u32> = (0..total as u32).collect();
            prop_assert!(fold_root::<WhatsAppV1Configuration, _, _>(&proof, &mut keys, epoch).is_some());
        }
    }

    proptest! {
        /// The blob path (offsets into the encoding, `u32` or `u64` keys) and the decoded-proof path give the same
        /// roots and the same outcome, with roots that verify and roots that do not.
        #[test]
        fn the_blob_and_the_decoded_proof_fold_alike(
            inserted in prop::collection::vec(structured_element(), 0..7),
            unchanged_nodes in prop::collection::vec(structured_element(), 0..7),
            epoch in 1u64..,
        ) {
            let clamp = |mut element: AzksElement| {
                element.label.label_len = element.label.label_len.min(256);
                element
            };
            let proof = SingleAppendOnlyProof {
                inserted: inserted.into_iter().map(clamp).collect(),
                unchanged_nodes: unchanged_nodes.into_iter().map(clamp).collect(),
            };
            let data = akd_encoding(&proof);
            let blob = CanonicalBlob::parse(&data).expect("akd's encoding");
            let total = proof.inserted.len() + proof.unchanged_nodes.len();
            let mut keys: Vec<u32> = (0..total as u32).collect();
            let start = fold_root::<WhatsAppV1Configuration, _, _>(&proof, &mut keys[proof.inserted.len()..], epoch);
            let end = fold_root::<WhatsAppV1Configuration, _, _>(&proof, &mut keys, epoch);
            let dummy = [0x44; 32];
            let folded = start.is_some() && end.is_some();
            for (start, end, verifies) in [
                (start.unwrap_or(dummy), end.unwrap_or(dummy), folded),
                (dummy, end.unwrap_or(dummy), false),
            ] {
                let expected = verify_proof::<WhatsAppV1Configuration>(&proof, &start, &end, epoch);
                prop_assert_eq!(expected, verifies);
                prop_assert_eq!(blob.verify_with::<WhatsAppV1Configuration, u32>(&start, &end, epoch), expected);
                prop_assert_eq!(blob.verify_with::<WhatsAppV1Configuration, u64>(&start, &end, epoch), expected);
            }
        }
    }

    #[test]
    fn masking_keeps_the_bits_below_the_length() {
        let label = NodeLabel::new([0xff; 32], 9);
        let mut expected = [0; 32];
        expected[0] = 0xff;
        expected[1] = 0x80;
        assert_eq!(masked(&label), expected);
        assert_eq!(masked(&NodeLabel::new([0xff; 32], 256)), [0xff; 32]);
        assert_eq!(masked(&NodeLabel::new([0xff; 32], 300)), [0xff; 32]);
        assert_eq!(masked(&NodeLabel::new([0xff; 32], 0)), [0; 32]);
    }
}
