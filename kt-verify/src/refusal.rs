//! The error for an audit blob that the in-place layout refuses (SPEC §4.1), decided by walking its wire format.
//!
//! The answer is the one rust-protobuf 3.7 and akd_core 0.13 give (`Malformed` unless the blob parses as a
//! `SingleAppendOnlyProof` and every element converts), but nothing is decoded: the walk keeps a few integers per
//! open message (at most three: the proof, an element, its label) and a counter of open groups, so its memory does
//! not grow with the blob. The rules it follows, from rust-protobuf's generated `merge_from` and `CodedInputStream`:
//!
//! - a tag is a varint of at most 5 bytes (the fifth at most `0x0f`); tags are matched whole, so a known field
//!   number with another wire type is an unknown field; an unknown tag with field number 0 or wire type 6 or 7, or
//!   an end-group outside a group, is an error;
//! - unknown fields are skipped: varints of at most 10 bytes (the tenth at most `0x01`), fixed 4 and 8 bytes,
//!   length-delimited with a 5-byte length within bounds, groups up to the matching count of end-groups (their
//!   field numbers are not compared), nested at most `101 - level` deep in a message at recursion level `level`
//!   (the proof 0, an element 1, a label 2: the recursion limit of 100 counts the enclosing messages and every
//!   group but the outermost); a group not closed inside its message is an error;
//! - an embedded message's length is a 10-byte varint; the message's limit (where it ends) must not pass the
//!   enclosing one's (no limit for the blob itself), but it may pass the end of the blob: every read stops at the
//!   end of the blob, so such a message, and those around it, end with the blob;
//! - a bytes field's length is a 5-byte varint that must fit; the last occurrence of a singular field wins, and a
//!   second `label` replaces the first (`read_singular_message_into_field` does not merge);
//! - `label_len` is read as `uint32`: a 5-byte varint, the fifth byte at most `0x0f`.
//!
//! akd_core then requires, of each element: a `label` with both `label_val` (at most 32 bytes) and `label_len` (at
//! most 256), and a `value` of exactly 32 bytes.

use crate::auditor::AuditError;

/// rust-protobuf 3's default recursion limit.
const RECURSION_LIMIT: usize = 100;

/// Field tags matched by the generated code (field number << 3 | wire type).
const TAG_1_BYTES: u32 = 10;
const TAG_2_BYTES: u32 = 18;
const TAG_2_VARINT: u32 = 16;

/// The error for a blob [`CanonicalBlob::parse`](crate::append_only::CanonicalBlob::parse) refused: `NonCanonical`
/// when rust-protobuf would parse it and akd_core convert every element, else `Malformed`.
pub(crate) fn refused_encoding(data: &[u8]) -> AuditError {
    if converts(data).is_some() {
        AuditError::NonCanonical
    } else {
        AuditError::Malformed
    }
}

/// `Some` when the blob parses as a `SingleAppendOnlyProof` and every element converts.
fn converts(data: &[u8]) -> Option<()> {
    let mut walk = Walk { data, at: 0 };
    let (end, limit) = (data.len(), u64::MAX);
    while walk.at < end {
        match walk.tag(end)? {
            TAG_1_BYTES | TAG_2_BYTES => walk.element(end, limit)?,
            tag => walk.unknown(end, tag, 0)?,
        }
    }
    Some(())
}

/// A position in the blob.
struct Walk<'a> {
    data: &'a [u8],
    at: usize,
}

/// The fields of one `NodeLabel` seen so far: the last `label_val`'s length and the last `label_len`.
#[derive(Default)]
struct Label {
    val_len: Option<u64>,
    len: Option<u32>,
}

impl Walk<'_> {
    /// A varint of at most `max_len` bytes ending before `end`, whose last possible byte is at most `last_max`.
    fn varint(&mut self, end: usize, max_len: u32, last_max: u8) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..max_len {
            let byte = *self.data[..end].get(self.at)?;
            self.at += 1;
            if i == max_len - 1 {
                return (byte <= last_max).then_some(value | u64::from(byte) << (7 * i));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    /// A `uint32` varint (tags, lengths of bytes fields, `label_len`).
    fn varint32(&mut self, end: usize) -> Option<u32> {
        self.varint(end, 5, 0x0f).and_then(|value| u32::try_from(value).ok())
    }

    /// A `uint64` varint.
    fn varint64(&mut self, end: usize) -> Option<u64> {
        self.varint(end, 10, 0x01)
    }

    fn tag(&mut self, end: usize) -> Option<u32> {
        self.varint32(end)
    }

    /// Skips `len` bytes, if they are before `end`.
    fn skip(&mut self, end: usize, len: u64) -> Option<()> {
        if len > (end - self.at) as u64 {
            return None;
        }
        self.at += len as usize;
        Some(())
    }

    /// A bytes field: skips it and returns its length.
    fn bytes(&mut self, end: usize) -> Option<u64> {
        let len = u64::from(self.varint32(end)?);
        self.skip(end, len)?;
        Some(len)
    }

    /// An embedded message's limit, after its length: where rust-protobuf stops reading it, which must not pass the
    /// enclosing message's limit (`u64::MAX` for the whole blob) but may pass the end of the blob, as the limits of
    /// a `CodedInputStream` over a slice do (the message then ends with the blob).
    fn message_limit(&mut self, end: usize, limit: u64) -> Option<u64> {
        let len = self.varint64(end)?;
        let message_limit = (self.at as u64).checked_add(len)?;
        (message_limit <= limit).then_some(message_limit)
    }

    /// Where reads stop in a message with `limit`: at the limit, or at the end of the blob.
    fn end(&self, limit: u64) -> usize {
        usize::try_from(limit).map_or(self.data.len(), |limit| limit.min(self.data.len()))
    }

    /// Skips an unknown field whose tag was just read, inside a message at recursion `level`.
    fn unknown(&mut self, end: usize, tag: u32, level: usize) -> Option<()> {
        let mut tag = tag;
        let mut groups = 0usize;
        loop {
            if tag >> 3 == 0 {
                return None;
            }
            match tag & 7 {
                0 => {
                    self.varint64(end)?;
                }
                1 => self.skip(end, 8)?,
                2 => {
                    self.bytes(end)?;
                }
                3 => {
                    groups += 1;
                    // The outermost group is skipped without counting; each nested one counts.
                    if groups >= 2 && level + groups - 2 >= RECURSION_LIMIT {
                        return None;
                    }
                }
                4 => groups = groups.checked_sub(1)?,
                5 => self.skip(end, 4)?,
                _ => return None,
            }
            if groups == 0 {
                return Some(());
            }
            tag = self.tag(end)?;
        }
    }

    /// An `AzksElement` (recursion level 1), length first, in a message that ends at `end` with `limit`; `None`
    /// if it does not parse or convert.
    fn element(&mut self, end: usize, limit: u64) -> Option<()> {
        let limit = self.message_limit(end, limit)?;
        let end = self.end(limit);
        let (mut label, mut value_len) = (None, None);
        while self.at < end {
            match self.tag(end)? {
                TAG_1_BYTES => label = Some(self.label(end, limit)?),
                TAG_2_BYTES => value_len = Some(self.bytes(end)?),
                tag => self.unknown(end, tag, 1)?,
            }
        }
        match label {
            Some(Label {
                val_len: Some(0..=32),
                len: Some(0..=256),
            }) if value_len == Some(32) => Some(()),
            _ => None,
        }
    }

    /// A `NodeLabel` (recursion level 2), length first, in a message that ends at `end` with `limit`.
    fn label(&mut self, end: usize, limit: u64) -> Option<Label> {
        let limit = self.message_limit(end, limit)?;
        let end = self.end(limit);
        let mut label = Label::default();
        while self.at < end {
            match self.tag(end)? {
                TAG_1_BYTES => label.val_len = Some(self.bytes(end)?),
                TAG_2_VARINT => label.len = Some(self.varint32(end)?),
                tag => self.unknown(end, tag, 2)?,
            }
        }
        Some(label)
    }
}

#[cfg(test)]
mod tests {
    use akd_core::proto::specs::types as pb;
    use akd_core::{AzksElement, AzksValue, NodeLabel, SingleAppendOnlyProof};
    use proptest::prelude::*;
    use protobuf::Message as _;

    use super::*;

    /// The old path, kept as the oracle: rust-protobuf decodes the whole blob, akd_core converts each element.
    fn oracle(data: &[u8]) -> AuditError {
        let Ok(decoded) = pb::SingleAppendOnlyProof::parse_from_bytes(data) else {
            return AuditError::Malformed;
        };
        let converts = decoded
            .inserted
            .iter()
            .chain(&decoded.unchanged_nodes)
            .all(|element| AzksElement::try_from(element).is_ok());
        if converts {
            AuditError::NonCanonical
        } else {
            AuditError::Malformed
        }
    }

    fn element() -> impl Strategy<Value = AzksElement> {
        (any::<[u8; 32]>(), 0usize..=32, 0u32..=300, any::<[u8; 32]>()).prop_map(
            |(mut label_val, keep, label_len, value)| {
                label_val[keep..].fill(0);
                AzksElement {
                    label: NodeLabel { label_val, label_len },
                    value: AzksValue(value),
                }
            },
        )
    }

    fn canonical() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(element(), 0..4),
            prop::collection::vec(element(), 0..4),
        )
            .prop_map(|(inserted, unchanged_nodes)| {
                let proof = SingleAppendOnlyProof {
                    inserted,
                    unchanged_nodes,
                };
                pb::SingleAppendOnlyProof::from(&proof)
                    .write_to_bytes()
                    .expect("encodes")
            })
    }

    fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push(value as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    /// Protobuf fields: numbers 0–5 and unknown ones, every wire type (6 and 7 too), nested messages with the
    /// same generator, groups, lengths that lie, over-long and overflowing varints.
    fn fields(depth: u32) -> BoxedStrategy<Vec<u8>> {
        let leaf = (
            0u32..8,
            0u32..8,
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..40),
            0u8..6,
        )
            .prop_map(|(field, wire, value, bytes, shape)| {
                let field = if field == 7 { 1 << 20 } else { field };
                let mut out = vec![];
                varint(u64::from(field) << 3 | u64::from(wire), &mut out);
                match (wire, shape) {
                    (0, 0) => out.extend([0xff; 10]),
                    (0, 1) => out.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
                    (0, _) => varint(
                        value % [1 << 7, 1 << 9, u64::from(u32::MAX) + 2, u64::MAX][shape as usize % 4],
                        &mut out,
                    ),
                    (1, _) => out.extend(&bytes.iter().chain([0; 8].iter()).copied().take(8).collect::<Vec<_>>()),
                    (5, _) => out.extend(&bytes.iter().chain([0; 4].iter()).copied().take(4).collect::<Vec<_>>()),
                    (2, 0) => varint(bytes.len() as u64 + 1, &mut out),
                    (2, 1) => {
                        let len = [0usize, 16, 31, 32, 33][value as usize % 5];
                        varint(len as u64, &mut out);
                        out.extend(bytes.iter().cycle().take(len));
                    }
                    (2, _) => {
                        varint(bytes.len() as u64, &mut out);
                        out.extend(&bytes);
                    }
                    _ => {}
                }
                out
            })
            .boxed();
        if depth == 0 {
            return leaf;
        }
        let inner = fields(depth - 1);
        prop_oneof![
            3 => leaf,
            2 => (1u32..=2, prop::collection::vec(inner.clone(), 0..4), 0u8..8).prop_map(|(field, parts, lie)| {
                let body = parts.concat();
                let mut out = vec![];
                varint(u64::from(field) << 3 | 2, &mut out);
                // Lengths that lie: short, long, past the end of any blob, overflowing the position.
                let len = body.len() as u64;
                let len = match lie {
                    0 => len.saturating_sub(1),
                    1 => len + 1,
                    2 => len + 1000,
                    3 => u64::MAX,
                    4 => u64::MAX - 3,
                    _ => len,
                };
                varint(len, &mut out);
                out.extend(body);
                out
            }),
            1 => (1u32..=6, prop::collection::vec(inner, 0..3), any::<bool>()).prop_map(|(field, parts, close)| {
                let mut out = vec![];
                varint(u64::from(field) << 3 | 3, &mut out);
                out.extend(parts.concat());
                if close {
                    varint(u64::from(field) << 3 | 4, &mut out);
                }
                out
            }),
        ]
        .boxed()
    }

    fn mutated(data: Vec<u8>, at: prop::sample::Index, byte: u8, how: u8) -> Vec<u8> {
        let mut data = data;
        if data.is_empty() {
            data.push(byte);
            return data;
        }
        let i = at.index(data.len());
        match how % 4 {
            0 => data[i] ^= byte | 1,
            1 => data.truncate(i),
            2 => data.insert(i, byte),
            _ => data.push(byte),
        }
        data
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn random_bytes_classify_as_the_decoder_does(data in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(refused_encoding(&data), oracle(&data));
        }

        #[test]
        fn mutated_canonical_blobs_classify_as_the_decoder_does(
            data in canonical(), at in any::<prop::sample::Index>(), byte in any::<u8>(), how in any::<u8>(),
        ) {
            prop_assert_eq!(refused_encoding(&data), oracle(&data));
            let data = mutated(data, at, byte, how);
            prop_assert_eq!(refused_encoding(&data), oracle(&data));
        }

        #[test]
        fn generated_fields_classify_as_the_decoder_does(
            parts in prop::collection::vec(fields(3), 0..5), at in any::<prop::sample::Index>(), byte in any::<u8>(),
            how in any::<u8>(),
        ) {
            let data = parts.concat();
            prop_assert_eq!(refused_encoding(&data), oracle(&data));
            let data = mutated(data, at, byte, how);
            prop_assert_eq!(refused_encoding(&data), oracle(&data));
        }
    }

    /// Groups nested to the recursion limit and one past it, at each message level; and the patterns of the review.
    #[test]
    fn deep_groups_and_review_patterns_classify_as_the_decoder_does() {
        let label = |inner: &[u8]| [&[0x0a, inner.len() as u8][..], inner].concat();
        for depth in 95..=103 {
            let groups = [vec![0x1b; depth], vec![0x1c; depth]].concat();
            let top = groups.clone();
            let mut element_body = groups.clone();
            element_body.extend([0x12, 0x20]);
            element_body.extend([0u8; 32]);
            let mut element = vec![0x0a];
            varint(element_body.len() as u64 + 6, &mut element);
            element.extend(label(&[0x0a, 0x00, 0x10, 0x01]));
            element.extend(&element_body);
            let mut in_label = vec![0x0a];
            let label_body = [&[0x0a, 0x00, 0x10, 0x01][..], &groups].concat();
            let mut label_message = vec![0x0a];
            varint(label_body.len() as u64, &mut label_message);
            label_message.extend(&label_body);
            varint(label_message.len() as u64 + 34, &mut in_label);
            in_label.extend(label_message);
            in_label.extend([0x12, 0x20]);
            in_label.extend([0u8; 32]);
            for (level, data) in [top, element, in_label].iter().enumerate() {
                assert_eq!(refused_encoding(data), oracle(data), "depth {depth}: {data:02x?}");
                // The limit is where the walk says: 101 groups deep in the blob, 100 in an element, 99 in a label.
                let expected = if depth <= 101 - level {
                    AuditError::NonCanonical
                } else {
                    AuditError::Malformed
                };
                assert_eq!(refused_encoding(data), expected, "depth {depth} at level {level}");
            }
        }
        for pattern in [
            &[0x0a, 0x02, 0x18, 0x00][..],
            &[0x0a, 0x02, 0x0a, 0x00],
            &[0x0a, 0x00],
            &[0x1a, 0x00],
            &[0x0a, 0x06, 0x0a, 0x04, 0x1a, 0x02, 0x18, 0x00],
        ] {
            let data = pattern.repeat(1000);
            assert_eq!(refused_encoding(&data), oracle(&data), "{pattern:02x?}");
        }
    }

    /// A length may pass the end of the blob (rust-protobuf's limits over a slice allow it: the message ends with
    /// the blob) but not the enclosing message's limit, nor overflow the position.
    #[test]
    fn lengths_past_the_end_of_the_blob_classify_as_the_decoder_does() {
        let element = |len: &[u8], label_len: &[u8]| {
            let mut data = [
                &[0x0a][..],
                len,
                &[0x0a],
                label_len,
                &[0x0a, 0x00, 0x10, 0x01, 0x12, 0x20],
            ]
            .concat();
            data.extend([0u8; 32]);
            data
        };
        let cases = [
            // The element's length passes the end: it ends with the blob, and converts.
            (element(&[0x59], &[0x04]), AuditError::NonCanonical),
            (
                element(&[0xff, 0xff, 0xff, 0xff, 0x0f], &[0x04]),
                AuditError::NonCanonical,
            ),
            // The end of the blob is 12 bytes into `u64::MAX` after the length: the limit overflows.
            (
                element(&[0xff; 9].iter().chain(&[0x01]).copied().collect::<Vec<_>>(), &[0x04]),
                AuditError::Malformed,
            ),
            // The label's length passes the element's limit, though not the end of the blob.
            (element(&[0x03], &[0x04]), AuditError::Malformed),
            // Both pass the end of the blob, the label's within the element's: the label takes the rest (the value
            // as an unknown field), and the element has no value.
            (element(&[0x7f], &[0x7d]), AuditError::Malformed),
            // The value first, and the label to the element's limit, past the end of the blob: it converts.
            (
                [
                    &[0x0a, 0x7f, 0x12, 0x20][..],
                    &[0; 32],
                    &[0x0a, 0x5b, 0x0a, 0x00, 0x10, 0x01],
                ]
                .concat(),
                AuditError::NonCanonical,
            ),
        ];
        for (data, expected) in cases {
            assert_eq!(oracle(&data), expected, "{data:02x?}");
            assert_eq!(refused_encoding(&data), expected, "{data:02x?}");
        }
    }

    /// The committed audit vectors (`test-vectors/vectors/kt_audit.json`), each blob as it is and with every byte
    /// flipped, every cut, and a byte appended.
    #[test]
    fn the_committed_vectors_and_their_mutations_classify_as_the_decoder_does() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/vectors/kt_audit.json");
        let json = std::fs::read_to_string(path).expect("the vectors");
        let mut blobs = 0;
        for part in json.split("\"blob\": \"").skip(1) {
            // The notes also have a "blob" entry, in words.
            let Ok(blob) = hex::decode(&part[..part.find('"').expect("closing quote")]) else {
                continue;
            };
            blobs += 1;
            let mut variants = vec![blob.clone(), [blob.as_slice(), &[0x00]].concat()];
            for at in 0..blob.len() {
                variants.push(blob[..at].to_vec());
                for flip in [0x01, 0x80, 0xff] {
                    let mut altered = blob.clone();
                    altered[at] ^= flip;
                    variants.push(altered);
                }
            }
            for data in &variants {
                assert_eq!(refused_encoding(data), oracle(data), "{data:02x?}");
            }
        }
        assert!(blobs > 0);
    }

    /// The fuzzing corpus of the audit target.
    #[test]
    fn the_fuzz_corpus_classifies_as_the_decoder_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/kt_audit");
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let data = std::fs::read(entry.expect("entry").path()).expect("reads");
            assert_eq!(refused_encoding(&data), oracle(&data));
        }
    }
}
