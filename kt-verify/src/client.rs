//! Client verification of AKD lookup and key-history proofs against a witnessed epoch root.
//!
//! The checks are akd_core's (`verify::lookup_verify`, `verify::key_history_verify`), run for the configuration
//! type parameter (WhatsApp's by default). Before handing a proof to akd_core this module:
//!
//! * decodes akd's protobuf encoding and accepts it only if re-encoding gives the same bytes, so exactly one byte
//!   string stands for each proof (no malleable duplicates, no unknown fields carried along);
//! * rejects version 0, on which akd_core asserts (panics), and versions or value epochs after the root's epoch,
//!   on which its arithmetic could overflow;
//! * takes the root as a [`ProofRoot`]: a [`VerifiedRoot`](crate::VerifiedRoot), witness-signed (and fresh unless
//!   the caller chose [`Freshness::Unchecked`](crate::Freshness::Unchecked)), or an
//!   [`UnwitnessedRoot`](crate::UnwitnessedRoot) the caller explicitly vouches for; an `(epoch, digest)` pair
//!   from anywhere else cannot be passed by mistake.

use core::fmt;
use core::marker::PhantomData;

use akd_core::configuration::Configuration;
use akd_core::proto::specs::types as pb;
use akd_core::verify::VerificationError;
use akd_core::verify::history::{HistoryParams, HistoryVerificationParams};
use akd_core::{
    AkdLabel, HistoryProof, LookupProof, MembershipProof, NodeLabel, VerifyResult, WhatsAppV1Configuration,
};
use protobuf::Message as _;

use crate::root::ProofRoot;

/// How much history a key-history proof was requested to cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryScope {
    /// Every version since the first.
    Complete,
    /// At most this many of the most recent versions.
    MostRecent(usize),
}

/// One version of a label's value, proven to be in the directory.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyVersion {
    epoch: u64,
    version: u64,
    value: Vec<u8>,
}

impl KeyVersion {
    /// The epoch in which this version was published.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    /// The version number (1 for the first value of a label).
    pub fn version(&self) -> u64 {
        self.version
    }
    /// The value (for WhatsApp, the identity public key material).
    pub fn value(&self) -> &[u8] {
        &self.value
    }
}

impl fmt::Debug for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVersion")
            .field("epoch", &self.epoch)
            .field("version", &self.version)
            .field("value_len", &self.value.len())
            .finish()
    }
}

impl From<VerifyResult> for KeyVersion {
    fn from(result: VerifyResult) -> Self {
        Self {
            epoch: result.epoch,
            version: result.version,
            value: result.value.0,
        }
    }
}

/// Which akd_core check rejected a proof. The messages akd_core attaches (which may contain the label, a user
/// identifier) are deliberately not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofFailure {
    /// A Merkle membership proof does not lead to the root.
    Membership,
    /// A non-membership proof does not lead to the root or is inconsistent.
    NonMembership,
    /// The lookup proof's structure is inconsistent.
    Lookup,
    /// The history proof's structure is inconsistent (versions, markers, counts).
    History,
    /// A VRF proof does not verify or does not match the node label.
    Vrf,
    /// akd_core rejected an encoding.
    Serialization,
}

/// A lookup or key-history proof that is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// The VRF public key is not a valid Ed25519 point encoding.
    InvalidVrfKey,
    /// The bytes are not a valid protobuf encoding of the proof.
    Malformed,
    /// The bytes decode, but are not the canonical encoding of what they decode to, or a field that verification
    /// does not bind (the root's label at the top of a Merkle path) differs from its only valid value.
    NonCanonical,
    /// A proof for version 0, which no label has (akd_core would panic on it).
    ZeroVersion,
    /// A proof for version 2^64 - 1: akd_core computes the next version's marker from it, which overflows.
    VersionOutOfRange,
    /// A version above the root's epoch (each epoch adds at most one version).
    VersionAfterEpoch {
        /// The version in the proof.
        version: u64,
        /// The root's epoch.
        epoch: u64,
    },
    /// A value published in an epoch after the root's epoch.
    ValueEpochAfterRoot {
        /// The epoch in the proof.
        value_epoch: u64,
        /// The root's epoch.
        epoch: u64,
    },
    /// A history proof with no versions.
    EmptyHistory,
    /// akd_core's verification failed.
    Rejected(ProofFailure),
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidVrfKey => f.write_str("invalid VRF public key"),
            Self::Malformed => f.write_str("malformed proof encoding"),
            Self::NonCanonical => f.write_str("non-canonical proof encoding"),
            Self::ZeroVersion => f.write_str("proof for version 0"),
            Self::VersionOutOfRange => f.write_str("proof for version 2^64 - 1"),
            Self::VersionAfterEpoch { version, epoch } => write!(f, "version {version} after root epoch {epoch}"),
            Self::ValueEpochAfterRoot { value_epoch, epoch } => {
                write!(f, "value from epoch {value_epoch} after root epoch {epoch}")
            }
            Self::EmptyHistory => f.write_str("history proof without versions"),
            Self::Rejected(failure) => write!(f, "proof rejected ({failure:?})"),
        }
    }
}

impl std::error::Error for ProofError {}

impl From<VerificationError> for ProofError {
    fn from(error: VerificationError) -> Self {
        Self::Rejected(match error {
            VerificationError::MembershipProof(_) => ProofFailure::Membership,
            VerificationError::NonMembershipProof(_) => ProofFailure::NonMembership,
            VerificationError::LookupProof(_) => ProofFailure::Lookup,
            VerificationError::HistoryProof(_) => ProofFailure::History,
            VerificationError::Vrf(_) => ProofFailure::Vrf,
            VerificationError::Serialization(_) => ProofFailure::Serialization,
        })
    }
}

/// Verifies lookup and key-history proofs of one directory, identified by its VRF public key.
///
/// `TC` is the akd configuration: [`WhatsAppV1Configuration`] by default, or for example
/// `akd_core::ExperimentalConfiguration<akd_core::ExampleLabel>`. The default applies where a type is written
/// (a field `directory: DirectoryVerifier`), not to inference in an expression: `DirectoryVerifier::new(..)` alone
/// fails with E0283 (type annotations needed). Write [`WhatsAppDirectoryVerifier::new`] for WhatsApp's
/// configuration, or `DirectoryVerifier::<TC>::new(..)` for another.
///
/// Each proof method takes its root as a [`ProofRoot`]: a [`VerifiedRoot`](crate::VerifiedRoot) (witness-checked;
/// the usual case) or an [`UnwitnessedRoot`](crate::UnwitnessedRoot) (the caller vouches for it).
///
/// # Example
///
/// ```
/// use akd::{AkdLabel, AkdValue, HistoryParams};
/// use ed25519_dalek::{Signer, SigningKey};
/// use kt_verify::{Ciphersuite, HistoryScope, SignedRoot, WhatsAppDirectoryVerifier, WitnessKey, WitnessVerifier};
/// use protobuf::Message;
///
/// // A server: an akd 0.13 directory in memory with one label updated once.
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let (vrf_key, epoch_hash, lookup, history) = runtime.block_on(async {
///     let storage = akd::storage::StorageManager::new_no_cache(akd::storage::memory::AsyncInMemoryDatabase::new());
///     let config = akd::AzksParallelismConfig::disabled();
///     let akd = akd::Directory::<akd::WhatsAppV1Configuration, _, _>::new(storage, akd::ecvrf::HardCodedAkdVRF {}, config)
///         .await?;
///     akd.publish(vec![(AkdLabel::from("alice"), AkdValue::from("key-1"))]).await?;
///     akd.publish(vec![(AkdLabel::from("alice"), AkdValue::from("key-2"))]).await?;
///     let (lookup, epoch_hash) = akd.lookup(AkdLabel::from("alice")).await?;
///     let (history, _) = akd.key_history(&AkdLabel::from("alice"), HistoryParams::Complete).await?;
///     let vrf_key = akd.get_public_key().await?.as_bytes().to_vec();
///     Ok::<_, akd::errors::AkdError>((vrf_key, epoch_hash, lookup, history))
/// })?;
/// let lookup = akd::proto::specs::types::LookupProof::from(&lookup).write_to_bytes()?;
/// let history = akd::proto::specs::types::HistoryProof::from(&history).write_to_bytes()?;
///
/// // A witness signs the epoch root.
/// let witness = SigningKey::from_bytes(&[7; 32]);
/// let key = WitnessKey::new(witness.verifying_key().to_bytes(), 0)?;
/// let now_ms = 1_800_000_000_000;
/// let (epoch, digest) = (epoch_hash.epoch(), epoch_hash.hash());
/// let unsigned = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt", now_ms, epoch, digest, [0; 64], key.key_id());
/// let signature = witness.sign(&unsigned.signed_message()).to_bytes();
/// let signed = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt", now_ms, epoch, digest, signature, key.key_id());
///
/// // The client.
/// let root = WitnessVerifier::new("kt", [key], 60_000)?.verify(&signed, now_ms)?;
/// let directory = WhatsAppDirectoryVerifier::new(&vrf_key)?;
/// let current = directory.verify_lookup(&root, b"alice", &lookup)?;
/// assert_eq!((current.epoch(), current.version(), current.value()), (2, 2, &b"key-2"[..]));
/// let versions = directory.verify_history(&root, b"alice", &history, HistoryScope::Complete)?;
/// assert_eq!(versions.iter().map(|v| v.version()).collect::<Vec<_>>(), [2, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DirectoryVerifier<TC = WhatsAppV1Configuration> {
    vrf_public_key: [u8; 32],
    configuration: PhantomData<fn() -> TC>,
}

/// A [`DirectoryVerifier`] for WhatsApp's akd configuration ([`WhatsAppV1Configuration`]), named so that
/// `WhatsAppDirectoryVerifier::new(..)` needs no type annotation.
pub type WhatsAppDirectoryVerifier = DirectoryVerifier<WhatsAppV1Configuration>;

impl<TC> Clone for DirectoryVerifier<TC> {
    fn clone(&self) -> Self {
        Self {
            vrf_public_key: self.vrf_public_key,
            configuration: PhantomData,
        }
    }
}

impl<TC> fmt::Debug for DirectoryVerifier<TC> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryVerifier")
            .field("vrf_public_key", &crate::witness::Hex(&self.vrf_public_key))
            .finish()
    }
}

impl<TC: Configuration> DirectoryVerifier<TC> {
    /// A verifier for the directory whose VRF public key is `vrf_public_key` (32 bytes).
    ///
    /// ```
    /// use kt_verify::akd_core::{ExampleLabel, ExperimentalConfiguration};
    /// use kt_verify::{DirectoryVerifier, ProofError, WhatsAppDirectoryVerifier};
    ///
    /// assert_eq!(WhatsAppDirectoryVerifier::new(&[0; 31]).err(), Some(ProofError::InvalidVrfKey));
    /// // Another configuration is named as the type parameter.
    /// let vrf_key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
    /// assert!(DirectoryVerifier::<ExperimentalConfiguration<ExampleLabel>>::new(&vrf_key).is_ok());
    /// ```
    pub fn new(vrf_public_key: &[u8]) -> Result<Self, ProofError> {
        let key: [u8; 32] = vrf_public_key.try_into().map_err(|_| ProofError::InvalidVrfKey)?;
        akd_core::ecvrf::VRFPublicKey::try_from(&key[..]).map_err(|_| ProofError::InvalidVrfKey)?;
        Ok(Self {
            vrf_public_key: key,
            configuration: PhantomData,
        })
    }

    /// Verifies the protobuf-encoded lookup proof (akd's `specs::types::LookupProof`) of `label` against `root`
    /// and returns the label's current version.
    pub fn verify_lookup(&self, root: &impl ProofRoot, label: &[u8], proof: &[u8]) -> Result<KeyVersion, ProofError> {
        let decoded = pb::LookupProof::parse_from_bytes(proof).map_err(|_| ProofError::Malformed)?;
        let parsed = LookupProof::try_from(&decoded).map_err(|_| ProofError::Malformed)?;
        if !is_encoding_of(proof, &pb::LookupProof::from(&parsed)) {
            return Err(ProofError::NonCanonical);
        }
        self.verify_lookup_proof(root, label, parsed)
    }

    /// Verifies a decoded lookup proof of `label` against `root` and returns the label's current version.
    ///
    /// The same checks as [`verify_lookup`](Self::verify_lookup) except the canonical-encoding one, for callers
    /// that already hold akd's struct (see the example on [`DirectoryVerifier`]).
    pub fn verify_lookup_proof(
        &self,
        root: &impl ProofRoot,
        label: &[u8],
        proof: LookupProof,
    ) -> Result<KeyVersion, ProofError> {
        check_version(proof.version, proof.epoch, root.epoch())?;
        check_top_labels([
            &proof.existence_proof,
            &proof.marker_proof,
            &proof.freshness_proof.longest_prefix_membership_proof,
        ])?;
        let result = akd_core::verify::lookup_verify::<TC>(
            &self.vrf_public_key,
            *root.digest(),
            root.epoch(),
            AkdLabel(label.to_vec()),
            proof,
        )?;
        Ok(result.into())
    }

    /// Verifies the protobuf-encoded key-history proof (akd's `specs::types::HistoryProof`) of `label` against
    /// `root`, requested with `scope`, and returns the versions newest first.
    pub fn verify_history(
        &self,
        root: &impl ProofRoot,
        label: &[u8],
        proof: &[u8],
        scope: HistoryScope,
    ) -> Result<Vec<KeyVersion>, ProofError> {
        let decoded = pb::HistoryProof::parse_from_bytes(proof).map_err(|_| ProofError::Malformed)?;
        let parsed = HistoryProof::try_from(&decoded).map_err(|_| ProofError::Malformed)?;
        if !is_encoding_of(proof, &pb::HistoryProof::from(&parsed)) {
            return Err(ProofError::NonCanonical);
        }
        self.verify_history_proof(root, label, parsed, scope)
    }

    /// Verifies a decoded key-history proof of `label` against `root` and returns the versions newest first.
    ///
    /// The same checks as [`verify_history`](Self::verify_history) except the canonical-encoding one.
    pub fn verify_history_proof(
        &self,
        root: &impl ProofRoot,
        label: &[u8],
        proof: HistoryProof,
        scope: HistoryScope,
    ) -> Result<Vec<KeyVersion>, ProofError> {
        if proof.update_proofs.is_empty() {
            return Err(ProofError::EmptyHistory);
        }
        for update in &proof.update_proofs {
            check_version(update.version, update.epoch, root.epoch())?;
            check_top_labels(core::iter::once(&update.existence_proof).chain(&update.previous_version_proof))?;
        }
        check_top_labels(&proof.existence_of_past_marker_proofs)?;
        check_top_labels(
            proof
                .non_existence_of_future_marker_proofs
                .iter()
                .map(|proof| &proof.longest_prefix_membership_proof),
        )?;
        let history_params = match scope {
            HistoryScope::Complete => HistoryParams::Complete,
            HistoryScope::MostRecent(count) => HistoryParams::MostRecent(count),
        };
        let results = akd_core::verify::key_history_verify::<TC>(
            &self.vrf_public_key,
            *root.digest(),
            root.epoch(),
            AkdLabel(label.to_vec()),
            proof,
            HistoryVerificationParams::Default { history_params },
        )?;
        Ok(results.into_iter().map(KeyVersion::from).collect())
    }
}

/// The checks akd_core does not make before doing arithmetic on versions.
fn check_version(version: u64, value_epoch: u64, epoch: u64) -> Result<(), ProofError> {
    if version == 0 {
        return Err(ProofError::ZeroVersion);
    }
    if version == u64::MAX {
        return Err(ProofError::VersionOutOfRange);
    }
    if version > epoch {
        return Err(ProofError::VersionAfterEpoch { version, epoch });
    }
    if value_epoch > epoch {
        return Err(ProofError::ValueEpochAfterRoot { value_epoch, epoch });
    }
    Ok(())
}

/// Requires the parent label of each path's top step to be the root label.
///
/// akd_core hashes every parent label of a Merkle path except the last one, the root's, which it assigns and never
/// reads: without this check that label can be changed freely and the proof still verifies (found by this crate's
/// mutation tests), so one proof would have many encodings.
fn check_top_labels<'a>(proofs: impl IntoIterator<Item = &'a MembershipProof>) -> Result<(), ProofError> {
    let root = NodeLabel::root();
    if proofs
        .into_iter()
        .all(|proof| proof.sibling_proofs.first().is_none_or(|top| top.label == root))
    {
        Ok(())
    } else {
        Err(ProofError::NonCanonical)
    }
}

/// Whether `bytes` is exactly the protobuf encoding of `message`.
fn is_encoding_of(bytes: &[u8], message: &impl protobuf::Message) -> bool {
    message.write_to_bytes().is_ok_and(|encoded| encoded == bytes)
}
