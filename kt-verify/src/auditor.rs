//! Append-only audit of an AKD, blob by blob, with the chain check between blobs (feature `auditor`).
//!
//! WhatsApp publishes one audit proof per epoch, as akd's protobuf `SingleAppendOnlyProof`, under the name
//! `EPOCH/PREVIOUS_ROOT_HEX/CURRENT_ROOT_HEX`, where `CURRENT_ROOT` is the root at `EPOCH` and `PREVIOUS_ROOT` the
//! root at `EPOCH - 1` (akd's `examples/src/whatsapp_kt_auditor` verifies a blob from `EPOCH - 1` to `EPOCH`).
//! [`ChainAuditor`] verifies each blob with akd's `verify_consecutive_append_only` on a current-thread tokio
//! runtime of its own, and in addition requires that each blob starts where the previous one ended: the same
//! root, the next epoch. akd's example auditor checks each blob alone, so a log could publish proofs for two
//! branches and pass it.
//!
//! Memory stays bounded by one blob: blobs are handed in one at a time, verified and dropped, and only the running
//! chain `(start, end)` is kept. Blobs longer than a configurable limit are refused before decoding.

use core::fmt;
use core::marker::PhantomData;
use core::str::FromStr;

use akd_core::configuration::Configuration;
use akd_core::proto::specs::types as pb;
use akd_core::{SingleAppendOnlyProof, WhatsAppV1Configuration};
use protobuf::Message as _;

use crate::witness::{Digest, Hex};

/// Why a blob name does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobNameError {
    /// Not exactly three `/`-separated parts.
    Parts,
    /// The epoch is not a canonical decimal number (no sign, no leading zero) in `1 ..= u64::MAX`.
    Epoch,
    /// A root is not 64 lower-case hex digits.
    Root,
}

impl fmt::Display for BlobNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parts => "audit blob name must be EPOCH/PREVIOUS_ROOT/CURRENT_ROOT",
            Self::Epoch => "audit blob epoch must be a canonical decimal number from 1",
            Self::Root => "audit blob root must be 64 lower-case hex digits",
        })
    }
}

impl std::error::Error for BlobNameError {}

/// An audit blob that is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditError {
    /// The tokio runtime could not be built.
    RuntimeUnavailable,
    /// The blob name does not parse.
    Name(BlobNameError),
    /// The blob is longer than the configured limit.
    TooLarge {
        /// The blob's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The blob is not for the epoch after the end of the chain.
    EpochGap {
        /// The epoch expected.
        expected: u64,
        /// The blob's epoch.
        found: u64,
    },
    /// The blob's previous root is not the root the chain ended at: two branches of history.
    ChainBroken {
        /// The blob's epoch.
        epoch: u64,
    },
    /// The chain already ends at the last epoch (2^64 - 1): no blob can extend it.
    ChainEnded,
    /// The blob is not a valid protobuf `SingleAppendOnlyProof`.
    Malformed,
    /// The blob decodes, but is not the canonical encoding of what it decodes to.
    NonCanonical,
    /// akd's append-only verification failed.
    Rejected {
        /// The blob's epoch.
        epoch: u64,
    },
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RuntimeUnavailable => f.write_str("cannot build the tokio runtime"),
            Self::Name(error) => error.fmt(f),
            Self::TooLarge { len, max } => write!(f, "audit blob of {len} bytes exceeds {max}"),
            Self::EpochGap { expected, found } => write!(f, "audit blob for epoch {found}, expected {expected}"),
            Self::ChainBroken { epoch } => write!(f, "audit blob for epoch {epoch} does not extend the chain"),
            Self::ChainEnded => f.write_str("the audited chain ends at the last epoch"),
            Self::Malformed => f.write_str("malformed audit proof"),
            Self::NonCanonical => f.write_str("non-canonical audit proof encoding"),
            Self::Rejected { epoch } => write!(f, "append-only proof for epoch {epoch} does not verify"),
        }
    }
}

impl std::error::Error for AuditError {}

impl From<BlobNameError> for AuditError {
    fn from(error: BlobNameError) -> Self {
        Self::Name(error)
    }
}

/// The name of one audit blob: `EPOCH/PREVIOUS_ROOT_HEX/CURRENT_ROOT_HEX`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditBlobName {
    epoch: u64,
    previous_root: Digest,
    current_root: Digest,
}

impl AuditBlobName {
    /// A name for the proof from `previous_root` (at `epoch - 1`) to `current_root` (at `epoch`).
    pub fn new(epoch: u64, previous_root: Digest, current_root: Digest) -> Result<Self, BlobNameError> {
        if epoch == 0 {
            return Err(BlobNameError::Epoch);
        }
        Ok(Self {
            epoch,
            previous_root,
            current_root,
        })
    }

    /// Parses a name strictly: exactly three parts, a canonical decimal epoch of at least 1, lower-case hex roots.
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::{AuditBlobName, BlobNameError};
    ///
    /// let name = format!("54/{}/{}", "01".repeat(32), "00".repeat(32));
    /// let parsed = AuditBlobName::parse(&name)?;
    /// assert_eq!((parsed.epoch(), parsed.previous_root()[0], parsed.to_string()), (54, 1, name));
    /// assert_eq!(AuditBlobName::parse(&format!("054/{}/{}", "01".repeat(32), "00".repeat(32))), Err(BlobNameError::Epoch));
    /// assert_eq!(AuditBlobName::parse("54/01/00"), Err(BlobNameError::Root));
    /// # Ok::<(), BlobNameError>(())
    /// ```
    pub fn parse(name: &str) -> Result<Self, BlobNameError> {
        let mut parts = name.split('/');
        let (Some(epoch), Some(previous), Some(current), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BlobNameError::Parts);
        };
        let canonical = !epoch.is_empty() && epoch.bytes().all(|byte| byte.is_ascii_digit()) && !epoch.starts_with('0');
        let epoch = if canonical { epoch.parse().ok() } else { None };
        Self::new(
            epoch.ok_or(BlobNameError::Epoch)?,
            parse_root(previous)?,
            parse_root(current)?,
        )
    }

    /// The epoch whose root is [`current_root`](Self::current_root).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    /// The root at `epoch - 1`.
    pub fn previous_root(&self) -> &Digest {
        &self.previous_root
    }
    /// The root at `epoch`.
    pub fn current_root(&self) -> &Digest {
        &self.current_root
    }
}

fn parse_root(hex: &str) -> Result<Digest, BlobNameError> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return Err(BlobNameError::Root);
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(BlobNameError::Root),
    };
    let mut root = [0; 32];
    for (out, pair) in root.iter_mut().zip(bytes.chunks_exact(2)) {
        *out = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Ok(root)
}

impl FromStr for AuditBlobName {
    type Err = BlobNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name)
    }
}

impl fmt::Display for AuditBlobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{:?}/{:?}",
            self.epoch,
            Hex(&self.previous_root),
            Hex(&self.current_root)
        )
    }
}

impl fmt::Debug for AuditBlobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditBlobName({self})")
    }
}

/// A verified append-only chain: every epoch from `start_epoch` to `end_epoch` was audited, and each step started
/// at the root the previous step ended at. Only a [`ChainAuditor`] makes one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuditedChain {
    start_epoch: u64,
    start_root: Digest,
    end_epoch: u64,
    end_root: Digest,
}

impl AuditedChain {
    /// The first audited root's epoch.
    pub fn start_epoch(&self) -> u64 {
        self.start_epoch
    }
    /// The first audited root.
    pub fn start_root(&self) -> &Digest {
        &self.start_root
    }
    /// The last audited root's epoch.
    pub fn end_epoch(&self) -> u64 {
        self.end_epoch
    }
    /// The last audited root.
    pub fn end_root(&self) -> &Digest {
        &self.end_root
    }
}

impl fmt::Debug for AuditedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditedChain")
            .field("start_epoch", &self.start_epoch)
            .field("start_root", &Hex(&self.start_root))
            .field("end_epoch", &self.end_epoch)
            .field("end_root", &Hex(&self.end_root))
            .finish()
    }
}

/// Verifies audit blobs one at a time and keeps the chain they form.
///
/// `TC` is the akd configuration, [`WhatsAppV1Configuration`] by default. As with
/// [`DirectoryVerifier`](crate::DirectoryVerifier), the default does not drive inference: `ChainAuditor::new()`
/// alone fails with E0283; write [`WhatsAppChainAuditor::new`] or `ChainAuditor::<TC>::new()`.
///
/// # Example
///
/// ```
/// use akd::{AkdLabel, AkdValue};
/// use kt_verify::{AuditBlobName, AuditError, WhatsAppChainAuditor};
/// use protobuf::Message;
///
/// // A directory with three epochs, and its audit blobs for epochs 2 and 3.
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let blobs = runtime.block_on(async {
///     let storage = akd::storage::StorageManager::new_no_cache(akd::storage::memory::AsyncInMemoryDatabase::new());
///     let config = akd::AzksParallelismConfig::disabled();
///     let akd = akd::Directory::<akd::WhatsAppV1Configuration, _, _>::new(storage, akd::ecvrf::HardCodedAkdVRF {}, config)
///         .await?;
///     let mut roots = vec![];
///     for epoch in 1..=3u64 {
///         let update = (AkdLabel::from(format!("user-{epoch}").as_str()), AkdValue::from("key"));
///         roots.push(akd.publish(vec![update]).await?.hash());
///     }
///     let mut blobs = vec![];
///     for epoch in 2..=3u64 {
///         let proof = akd.audit(epoch - 1, epoch).await?;
///         let (previous, current) = (roots[epoch as usize - 2], roots[epoch as usize - 1]);
///         let data = akd::proto::specs::types::SingleAppendOnlyProof::from(&proof.proofs[0]).write_to_bytes().unwrap();
///         blobs.push((AuditBlobName::new(epoch, previous, current).unwrap().to_string(), data));
///     }
///     Ok::<_, akd::errors::AkdError>(blobs)
/// })?;
///
/// let mut auditor = WhatsAppChainAuditor::new()?;
/// for (name, data) in &blobs {
///     auditor.verify_blob(name, data)?;
/// }
/// let chain = auditor.chain().expect("two blobs");
/// assert_eq!((chain.start_epoch(), chain.end_epoch()), (1, 3));
/// // Replaying a blob is not the next epoch.
/// assert!(matches!(auditor.verify_blob(&blobs[0].0, &blobs[0].1), Err(AuditError::EpochGap { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ChainAuditor<TC = WhatsAppV1Configuration> {
    runtime: tokio::runtime::Runtime,
    chain: Option<AuditedChain>,
    max_blob_len: usize,
    configuration: PhantomData<fn() -> TC>,
}

/// A [`ChainAuditor`] for WhatsApp's akd configuration ([`WhatsAppV1Configuration`]), named so that
/// `WhatsAppChainAuditor::new()` needs no type annotation.
pub type WhatsAppChainAuditor = ChainAuditor<WhatsAppV1Configuration>;

impl<TC> fmt::Debug for ChainAuditor<TC> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainAuditor")
            .field("chain", &self.chain)
            .field("max_blob_len", &self.max_blob_len)
            .finish_non_exhaustive()
    }
}

impl<TC: Configuration> ChainAuditor<TC> {
    /// Default limit on a blob's length: 256 MiB.
    pub const DEFAULT_MAX_BLOB_LEN: usize = 256 << 20;

    /// An auditor whose chain starts at the first blob it accepts.
    pub fn new() -> Result<Self, AuditError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|_| AuditError::RuntimeUnavailable)?;
        Ok(Self {
            runtime,
            chain: None,
            max_blob_len: Self::DEFAULT_MAX_BLOB_LEN,
            configuration: PhantomData,
        })
    }

    /// An auditor whose first blob must start at `(epoch, root)`, for example a root already audited or pinned.
    pub fn starting_at(epoch: u64, root: Digest) -> Result<Self, AuditError> {
        let mut auditor = Self::new()?;
        auditor.chain = Some(AuditedChain {
            start_epoch: epoch,
            start_root: root,
            end_epoch: epoch,
            end_root: root,
        });
        Ok(auditor)
    }

    /// Sets the largest blob accepted, in bytes.
    #[must_use]
    pub fn with_max_blob_len(mut self, max_blob_len: usize) -> Self {
        self.max_blob_len = max_blob_len;
        self
    }

    /// The chain verified so far (`None` until the first blob is accepted, unless made with
    /// [`starting_at`](Self::starting_at)).
    pub fn chain(&self) -> Option<&AuditedChain> {
        self.chain.as_ref()
    }

    /// Verifies the blob named `name` with contents `data` and extends the chain with it.
    ///
    /// Checks, in order: the name, that the blob's epoch follows the chain's end and its previous root is the
    /// chain's end root, the length limit, the canonical protobuf decoding, and akd's append-only proof from the
    /// previous to the current root. On any error the chain is unchanged.
    pub fn verify_blob(&mut self, name: &str, data: &[u8]) -> Result<&AuditedChain, AuditError> {
        let name = self.check_name(name)?;
        if data.len() > self.max_blob_len {
            return Err(AuditError::TooLarge {
                len: data.len(),
                max: self.max_blob_len,
            });
        }
        let decoded = pb::SingleAppendOnlyProof::parse_from_bytes(data).map_err(|_| AuditError::Malformed)?;
        let proof = SingleAppendOnlyProof::try_from(&decoded).map_err(|_| AuditError::Malformed)?;
        drop(decoded);
        if !is_canonical_encoding(&proof, data) {
            return Err(AuditError::NonCanonical);
        }
        self.extend(name, &proof)
    }

    /// Like [`verify_blob`](Self::verify_blob) for a proof that is already decoded (no length limit, no
    /// canonical-encoding check).
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::akd_core::SingleAppendOnlyProof;
    /// use kt_verify::{AuditError, BlobNameError, WhatsAppChainAuditor};
    ///
    /// let mut auditor = WhatsAppChainAuditor::new()?;
    /// let empty = SingleAppendOnlyProof { inserted: vec![], unchanged_nodes: vec![] };
    /// assert_eq!(auditor.verify_proof("7/not-hex/x", &empty).err(), Some(AuditError::Name(BlobNameError::Root)));
    /// let name = format!("7/{}/{}", "00".repeat(32), "11".repeat(32));
    /// assert_eq!(auditor.verify_proof(&name, &empty).err(), Some(AuditError::Rejected { epoch: 7 }));
    /// # Ok::<(), AuditError>(())
    /// ```
    pub fn verify_proof(&mut self, name: &str, proof: &SingleAppendOnlyProof) -> Result<&AuditedChain, AuditError> {
        let name = self.check_name(name)?;
        self.extend(name, proof)
    }

    /// Parses `name` and checks that it extends the chain.
    fn check_name(&self, name: &str) -> Result<AuditBlobName, AuditError> {
        let name = AuditBlobName::parse(name)?;
        if let Some(chain) = &self.chain {
            // A chain at epoch 2^64 - 1 has no next epoch; saturating here would accept a second blob for it.
            let expected = chain.end_epoch.checked_add(1).ok_or(AuditError::ChainEnded)?;
            if name.epoch != expected {
                return Err(AuditError::EpochGap {
                    expected,
                    found: name.epoch,
                });
            }
            if name.previous_root != chain.end_root {
                return Err(AuditError::ChainBroken { epoch: name.epoch });
            }
        }
        Ok(name)
    }

    /// Runs akd's append-only verification and, on success, moves the chain's end.
    fn extend(&mut self, name: AuditBlobName, proof: &SingleAppendOnlyProof) -> Result<&AuditedChain, AuditError> {
        self.runtime
            .block_on(akd::auditor::verify_consecutive_append_only::<TC>(
                proof,
                name.previous_root,
                name.current_root,
                name.epoch,
            ))
            .map_err(|_| AuditError::Rejected { epoch: name.epoch })?;
        let chain = self.chain.get_or_insert(AuditedChain {
            start_epoch: name.epoch - 1,
            start_root: name.previous_root,
            end_epoch: name.epoch - 1,
            end_root: name.previous_root,
        });
        chain.end_epoch = name.epoch;
        chain.end_root = name.current_root;
        Ok(chain)
    }
}

/// Whether `data` is exactly akd's encoding of `proof` (`pb::SingleAppendOnlyProof::from(&proof)` written by
/// protobuf), compared field by field as that encoder would write them, without building it. Re-encoding through
/// akd's protobuf structs costs about 3 % of a whole audit in instructions, and a second copy of the blob in
/// memory (BENCHMARKS.md); this walk neither allocates nor copies. The unit test below checks it against akd's
/// encoder.
///
/// The encoding (proto2, fields in number order, every field of akd's conversion present): per element of
/// `inserted` (field 1) then of `unchanged_nodes` (field 2) a length-delimited `AzksElement` holding its `NodeLabel`
/// (field 1: `label_val` without trailing zero bytes as field 1, `label_len` as field 2) and its 32-byte value
/// (field 2).
fn is_canonical_encoding(proof: &SingleAppendOnlyProof, data: &[u8]) -> bool {
    let mut rest = data;
    let lists = [(1, &proof.inserted), (2, &proof.unchanged_nodes)];
    lists.into_iter().all(|(field, elements)| {
        elements.iter().all(|element| {
            let label = &element.label;
            let label_val =
                &label.label_val[..label.label_val.iter().rposition(|b| *b != 0).map_or(0, |last| last + 1)];
            let label_len =
                1 + varint_len(label_val.len() as u64) + label_val.len() + 1 + varint_len(label.label_len.into());
            let value = &element.value.0;
            let element_len =
                1 + varint_len(label_len as u64) + label_len + 1 + varint_len(value.len() as u64) + value.len();
            expect_key(&mut rest, field, LENGTH_DELIMITED)
                && expect_varint(&mut rest, element_len as u64)
                && expect_key(&mut rest, 1, LENGTH_DELIMITED)
                && expect_varint(&mut rest, label_len as u64)
                && expect_key(&mut rest, 1, LENGTH_DELIMITED)
                && expect_varint(&mut rest, label_val.len() as u64)
                && expect_bytes(&mut rest, label_val)
                && expect_key(&mut rest, 2, VARINT)
                && expect_varint(&mut rest, label.label_len.into())
                && expect_key(&mut rest, 2, LENGTH_DELIMITED)
                && expect_varint(&mut rest, value.len() as u64)
                && expect_bytes(&mut rest, value)
        })
    }) && rest.is_empty()
}

/// Protobuf's wire types of the fields here.
const VARINT: u8 = 0;
const LENGTH_DELIMITED: u8 = 2;

/// Bytes of the minimal varint of `value`.
fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Consumes the minimal varint of `value` from `rest`, if that is what comes next.
fn expect_varint(rest: &mut &[u8], mut value: u64) -> bool {
    let mut encoded = [0u8; 10];
    let mut len = 0;
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            encoded[len] = low;
            len += 1;
            break;
        }
        encoded[len] = low | 0x80;
        len += 1;
    }
    expect_bytes(rest, &encoded[..len])
}

/// Consumes a field key (a one-byte varint for the field numbers used here).
fn expect_key(rest: &mut &[u8], field: u8, wire_type: u8) -> bool {
    expect_bytes(rest, &[field << 3 | wire_type])
}

/// Consumes `expected` from `rest`, if that is what comes next.
fn expect_bytes(rest: &mut &[u8], expected: &[u8]) -> bool {
    match rest.split_at_checked(expected.len()) {
        Some((head, tail)) if head == expected => {
            *rest = tail;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use akd_core::{AzksElement, AzksValue, NodeLabel};
    use proptest::prelude::*;

    use super::*;

    fn akd_encoding(proof: &SingleAppendOnlyProof) -> Vec<u8> {
        pb::SingleAppendOnlyProof::from(proof)
            .write_to_bytes()
            .expect("encodes")
    }

    fn element() -> impl Strategy<Value = AzksElement> {
        // Labels with trailing zero bytes (trimmed by akd's encoding), all-zero ones, and lengths up to 256 (two-byte
        // varints from 128).
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

    proptest! {
        /// The walk accepts akd's encoding of any proof, and refuses it altered, cut or extended.
        #[test]
        fn the_walk_accepts_exactly_akds_encoding(
            inserted in prop::collection::vec(element(), 0..6),
            unchanged_nodes in prop::collection::vec(element(), 0..6),
            offset in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let proof = SingleAppendOnlyProof { inserted, unchanged_nodes };
            let encoded = akd_encoding(&proof);
            prop_assert!(is_canonical_encoding(&proof, &encoded));
            prop_assert!(!is_canonical_encoding(&proof, &[encoded.as_slice(), &[0]].concat()));
            if !encoded.is_empty() {
                let at = offset.index(encoded.len());
                let mut altered = encoded.clone();
                altered[at] ^= flip;
                prop_assert!(!is_canonical_encoding(&proof, &altered));
                prop_assert!(!is_canonical_encoding(&proof, &encoded[..at]));
            }
        }
    }

    #[test]
    fn varint_lengths() {
        for (value, len) in [
            (0, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(value), len, "{value}");
        }
    }
}
