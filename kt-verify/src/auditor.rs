//! Append-only audit of an AKD, blob by blob, with the chain check between blobs (feature `auditor`).
//!
//! WhatsApp publishes one audit proof per epoch, as akd's protobuf `SingleAppendOnlyProof`, under the name
//! `EPOCH/PREVIOUS_ROOT_HEX/CURRENT_ROOT_HEX`, where `CURRENT_ROOT` is the root at `EPOCH` and `PREVIOUS_ROOT` the
//! root at `EPOCH - 1` (akd's `examples/src/whatsapp_kt_auditor` verifies a blob from `EPOCH - 1` to `EPOCH`).
//! [`ChainAuditor`] verifies each blob as akd's `verify_consecutive_append_only` does, with the same outcome, but
//! without rebuilding akd's trees: it reads the elements in place and folds both roots along the sorted labels
//! (SPEC §4.1, `append_only.rs`); and in addition it requires that each blob starts where the previous one ended:
//! the same root, the next epoch. akd's example auditor checks each blob alone, so a log could publish proofs for
//! two branches and pass it.
//!
//! Memory stays bounded by one blob: blobs are handed in one at a time, verified and dropped, and only the running
//! chain `(start, end)` is kept. A blob is verified in place, with 4 bytes of index per element beside it (about
//! 0.07× the blob); a blob the in-place layout refuses is classified (`Malformed` or `NonCanonical`) by a walk of
//! its wire format that allocates nothing (`refusal.rs`). Blobs longer than a configurable limit are refused before
//! decoding.

use core::fmt;
use core::marker::PhantomData;
use core::str::FromStr;

use akd_core::configuration::Configuration;
use akd_core::{SingleAppendOnlyProof, WhatsAppV1Configuration};

use crate::append_only::{self, CanonicalBlob};
use crate::refusal::refused_encoding;
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
    /// The tokio runtime could not be built. No longer raised: the verification needs no runtime since it stopped
    /// calling akd's (async) tree rebuild; kept so that code matching on it still compiles.
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
    /// The append-only proof does not verify (where akd's `verify_consecutive_append_only` fails).
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
    ///
    /// Never fails since the auditor stopped building a tokio runtime; the `Result` is kept for compatibility.
    pub fn new() -> Result<Self, AuditError> {
        Ok(Self {
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
    /// chain's end root, the length limit, the canonical protobuf encoding, and the append-only proof from the
    /// previous to the current root (SPEC §4.1: the outcome of akd's `verify_consecutive_append_only`, computed in
    /// place). On any error the chain is unchanged.
    pub fn verify_blob(&mut self, name: &str, data: &[u8]) -> Result<&AuditedChain, AuditError> {
        let name = self.check_name(name)?;
        if data.len() > self.max_blob_len {
            return Err(AuditError::TooLarge {
                len: data.len(),
                max: self.max_blob_len,
            });
        }
        let Some(blob) = CanonicalBlob::parse(data) else {
            return Err(refused_encoding(data));
        };
        let verified = blob.verify::<TC>(&name.previous_root, &name.current_root, name.epoch);
        self.extend(name, verified)
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
        let verified = append_only::verify_proof::<TC>(proof, &name.previous_root, &name.current_root, name.epoch);
        self.extend(name, verified)
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

    /// On a verified proof, moves the chain's end; otherwise `Rejected`.
    fn extend(&mut self, name: AuditBlobName, verified: bool) -> Result<&AuditedChain, AuditError> {
        if !verified {
            return Err(AuditError::Rejected { epoch: name.epoch });
        }
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
