//! Every error the crate returns.
//!
//! Each enum is `#[non_exhaustive]` so that later versions can add reasons. `Display` output names the reason and,
//! where useful, public values (epochs, times, indices, fleet identifiers, roles); it never contains signing-key
//! material, which no error holds.

use core::fmt;

use crate::anchor::Party;
use crate::deployment::SignedDeploymentRecord;
use crate::fleet_id::FleetId;
use crate::role::Role;
use crate::validity::UnixSeconds;

/// A fleet identifier outside the allowed lengths or alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetIdError {
    /// Empty, or longer than [`FleetId::MAX_LEN`] bytes.
    Length {
        /// The length found.
        len: usize,
    },
    /// A byte outside `a-z 0-9 - . _`.
    Character {
        /// Position of the first such byte.
        index: usize,
    },
}

impl fmt::Display for FleetIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { len } => write!(f, "fleet id has length {len}, expected 1 to {}", FleetId::MAX_LEN),
            Self::Character { index } => write!(f, "fleet id has a disallowed byte at index {index}"),
        }
    }
}

impl std::error::Error for FleetIdError {}

/// A validity window whose start is not before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityError;

impl fmt::Display for ValidityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("validity window must have issued_at < expires_at")
    }
}

impl std::error::Error for ValidityError {}

/// A public key that fails the weak-key rules for its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Ed25519 key not in RFC 8032 canonical form: `y >= 2^255 - 19`, or `x = 0` written with the sign bit set.
    NonCanonicalEncoding,
    /// Ed25519 key that does not decode to a curve point (checked for pinned keys and by [`FleetKey::new`]).
    ///
    /// [`FleetKey::new`]: crate::FleetKey::new
    NotAPoint,
    /// Ed25519 key of small order (a "weak" key, such as the identity point), for which signatures can be forged.
    SmallOrder,
    /// OPAQUE or IPLS key that is all zero (the identity or a low-order point in those groups).
    AllZero,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NonCanonicalEncoding => "non-canonical Ed25519 public key encoding",
            Self::NotAPoint => "Ed25519 public key is not a curve point",
            Self::SmallOrder => "Ed25519 public key has small order (weak key)",
            Self::AllZero => "public key is all zero",
        })
    }
}

impl std::error::Error for KeyError {}

/// A key set with no keys, too many, or one public key twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySetError {
    /// No keys.
    Empty,
    /// More than [`KeySet::MAX_KEYS`](crate::KeySet::MAX_KEYS) keys.
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// A public key listed more than once (under the same or different roles).
    DuplicateKey,
}

impl fmt::Display for KeySetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("key set is empty"),
            Self::TooMany { count } => {
                write!(
                    f,
                    "key set has {count} keys, at most {} allowed",
                    crate::KeySet::MAX_KEYS
                )
            }
            Self::DuplicateKey => f.write_str("key set lists a public key more than once"),
        }
    }
}

impl std::error::Error for KeySetError {}

/// Why bytes are not a well-formed encoding (before any signature is considered).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before a field does.
    Truncated,
    /// A version older than any this crate accepts.
    ObsoleteVersion {
        /// The version byte found.
        version: u8,
    },
    /// A version newer than this crate knows: the client needs an update.
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// The type byte names another kind of message (for example a deployment record where a bundle was expected).
    WrongMessageType {
        /// The type byte expected here.
        expected: u8,
        /// The type byte found.
        found: u8,
    },
    /// The fleet identifier field is invalid.
    FleetId(FleetIdError),
    /// `issued_at >= expires_at`.
    InvalidValidityWindow,
    /// The key count is zero or above [`KeySet::MAX_KEYS`](crate::KeySet::MAX_KEYS).
    KeyCount {
        /// The count found.
        count: usize,
    },
    /// A role byte no role uses.
    UnknownRole {
        /// Index of the key entry.
        index: usize,
        /// The role byte found.
        byte: u8,
    },
    /// Key entries not in strictly ascending order of public-key bytes (unsorted, or a key listed twice).
    NonCanonicalKeyOrder {
        /// Index of the first entry out of order.
        index: usize,
    },
    /// A key that fails the weak-key rules for its role.
    InvalidKey {
        /// Index of the key entry.
        index: usize,
        /// Why it is rejected.
        error: KeyError,
    },
    /// Bytes after the end of the encoding.
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input is truncated"),
            Self::ObsoleteVersion { version } => write!(f, "obsolete format version {version}"),
            Self::UnknownVersion { version } => write!(f, "unknown (newer) format version {version}"),
            Self::WrongMessageType { expected, found } => {
                write!(f, "message type {found:#04x} where {expected:#04x} was expected")
            }
            Self::FleetId(error) => write!(f, "invalid fleet id: {error}"),
            Self::InvalidValidityWindow => f.write_str("issued_at is not before expires_at"),
            Self::KeyCount { count } => write!(f, "key count {count} is out of bounds"),
            Self::UnknownRole { index, byte } => write!(f, "key {index} has unknown role byte {byte:#04x}"),
            Self::NonCanonicalKeyOrder { index } => {
                write!(f, "key {index} is not in strictly ascending order")
            }
            Self::InvalidKey { index, error } => write!(f, "key {index}: {error}"),
            Self::TrailingBytes { count } => write!(f, "{count} trailing bytes"),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::FleetId(error) => Some(error),
            Self::InvalidKey { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<FleetIdError> for DecodeError {
    fn from(error: FleetIdError) -> Self {
        Self::FleetId(error)
    }
}

/// Pinned keys that cannot serve as trust anchors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnchorError {
    /// One key fails the strict Ed25519 rules.
    InvalidKey {
        /// Whose key.
        party: Party,
        /// Why it is rejected.
        error: KeyError,
    },
    /// The witness and operator keys are the same key.
    SameKey,
}

impl fmt::Display for AnchorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKey { party, error } => write!(f, "pinned {party} key rejected: {error}"),
            Self::SameKey => f.write_str("witness and operator keys must differ"),
        }
    }
}

impl std::error::Error for AnchorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidKey { error, .. } => Some(error),
            Self::SameKey => None,
        }
    }
}

/// Why the operator refused to counter-sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CountersignError {
    /// The witness signature does not verify under the pinned witness key.
    BadWitnessSignature,
    /// A bundle key fails the weak-key rules of [`FleetKey::new`](crate::FleetKey::new).
    InvalidKey {
        /// Index of the key in canonical order.
        index: usize,
        /// Why it is rejected.
        error: KeyError,
    },
    /// The bundle lists the witness or operator key as a fleet key.
    KeyWithWrongRole {
        /// Whose key it is.
        party: Party,
        /// The fleet role it was listed under.
        role: Role,
    },
}

impl fmt::Display for CountersignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadWitnessSignature => f.write_str("witness signature does not verify"),
            Self::InvalidKey { index, error } => write!(f, "key {index}: {error}"),
            Self::KeyWithWrongRole { party, role } => {
                write!(f, "the {party} key is listed as a fleet key with role {role}")
            }
        }
    }
}

impl std::error::Error for CountersignError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidKey { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a signed bundle was rejected. Variants are listed in the order the checks run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The caller passed accepted-epoch state saved for another fleet (checked before the bundle is looked at).
    StateOfOtherFleet {
        /// The fleet the state belongs to.
        state_fleet: FleetId,
    },
    /// Not a well-formed signed bundle (including unsupported versions).
    Malformed(DecodeError),
    /// A bundle for a fleet other than the pinned one.
    UnknownFleet {
        /// The fleet the bundle names.
        found: FleetId,
    },
    /// The witness signature does not verify (strictly) under the pinned witness key.
    BadWitnessSignature,
    /// The operator counter-signature does not verify under the pinned operator key, over any bytes the verifier
    /// can reconstruct.
    BadCounterSignature,
    /// The operator signature is valid, but over other bytes than the counter-signature message: over the body
    /// without the witness signature, or over the witness's message (see SPEC.md).
    CounterSignatureOverOtherBytes,
    /// `now` is before `issued_at`.
    NotYetValid {
        /// Start of validity.
        issued_at: UnixSeconds,
        /// The caller's time.
        now: UnixSeconds,
    },
    /// `now` is at or after `expires_at`: a stale bundle.
    Expired {
        /// End of validity.
        expires_at: UnixSeconds,
        /// The caller's time.
        now: UnixSeconds,
    },
    /// The epoch is below the last accepted epoch.
    Rollback {
        /// The bundle's epoch.
        epoch: u64,
        /// The caller's last accepted epoch.
        last_accepted: u64,
    },
    /// Same epoch as the last accepted bundle but a different body: the signers issued two bundles for one epoch.
    Equivocation {
        /// The epoch.
        epoch: u64,
    },
    /// A listed key fails the weak-key rules for its role.
    InvalidKey {
        /// Index of the key entry.
        index: usize,
        /// Why it is rejected.
        error: KeyError,
    },
    /// A trust-anchor key (witness or operator) is listed with a fleet role.
    KeyWithWrongRole {
        /// Whose key it is.
        party: Party,
        /// The fleet role it was listed under.
        role: Role,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StateOfOtherFleet { state_fleet } => {
                write!(
                    f,
                    "accepted-epoch state is for fleet {state_fleet}, not the pinned fleet"
                )
            }
            Self::Malformed(error) => write!(f, "malformed bundle: {error}"),
            Self::UnknownFleet { found } => write!(f, "bundle is for unknown fleet {found}"),
            Self::BadWitnessSignature => f.write_str("witness signature does not verify"),
            Self::BadCounterSignature => f.write_str("operator counter-signature does not verify"),
            Self::CounterSignatureOverOtherBytes => {
                f.write_str("operator signature covers other bytes than the body and witness signature")
            }
            Self::NotYetValid { issued_at, now } => {
                write!(f, "bundle not yet valid: issued at {issued_at}, now {now}")
            }
            Self::Expired { expires_at, now } => write!(f, "bundle expired at {expires_at}, now {now}"),
            Self::Rollback { epoch, last_accepted } => {
                write!(f, "epoch {epoch} rolls back from accepted epoch {last_accepted}")
            }
            Self::Equivocation { epoch } => {
                write!(f, "a different bundle was already accepted for epoch {epoch}")
            }
            Self::InvalidKey { index, error } => write!(f, "key {index}: {error}"),
            Self::KeyWithWrongRole { party, role } => {
                write!(f, "the pinned {party} key is listed as a fleet key with role {role}")
            }
        }
    }
}

impl std::error::Error for VerifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(error) => Some(error),
            Self::InvalidKey { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<DecodeError> for VerifyError {
    fn from(error: DecodeError) -> Self {
        Self::Malformed(error)
    }
}

/// Why a verified bundle does not approve a responder's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponderError {
    /// `now` is before the bundle's `issued_at`.
    NotYetValid {
        /// Start of validity.
        issued_at: UnixSeconds,
        /// The caller's time.
        now: UnixSeconds,
    },
    /// `now` is at or after the bundle's `expires_at`: the bundle approves nothing any more.
    Expired {
        /// End of validity.
        expires_at: UnixSeconds,
        /// The caller's time.
        now: UnixSeconds,
    },
    /// The key is not in the bundle.
    NotInBundle,
    /// The key is in the bundle under another role.
    WrongRole {
        /// The role the bundle lists it under.
        listed_as: Role,
    },
}

impl fmt::Display for ResponderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotYetValid { issued_at, now } => {
                write!(f, "bundle not yet valid: issued at {issued_at}, now {now}")
            }
            Self::Expired { expires_at, now } => write!(f, "bundle expired at {expires_at}, now {now}"),
            Self::NotInBundle => f.write_str("responder key is not in the bundle"),
            Self::WrongRole { listed_as } => write!(f, "responder key is listed with role {listed_as}"),
        }
    }
}

impl std::error::Error for ResponderError {}

/// Which kind of JSON problem [`ArtifactError::Json`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// Not JSON.
    Syntax,
    /// JSON of the wrong shape: a missing, unknown or duplicate field, or a value of the wrong type or range.
    Data,
    /// The input ends inside a value.
    Eof,
}

/// Why a fleet-key artifact was rejected.
///
/// Only positions are reported for JSON errors, not serde's message, which can quote attacker-chosen text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArtifactError {
    /// Longer than [`FleetKeyArtifact::MAX_LEN`](crate::FleetKeyArtifact::MAX_LEN).
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid JSON for the schema.
    Json {
        /// What kind of problem.
        kind: JsonErrorKind,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The `fleet_id` value is invalid.
    FleetId(FleetIdError),
    /// A `public_key` that is not exactly 64 lowercase hex digits.
    PublicKeyEncoding {
        /// Index in `keys`.
        index: usize,
    },
    /// A `role` that names no role.
    UnknownRole {
        /// Index in `keys`.
        index: usize,
    },
    /// A key that fails the weak-key rules for its role.
    InvalidKey {
        /// Index in `keys`.
        index: usize,
        /// Why it is rejected.
        error: KeyError,
    },
    /// No keys, too many, or a public key listed twice.
    KeySet(KeySetError),
}

impl fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => write!(f, "artifact is {len} bytes, at most {max} allowed"),
            Self::Json { kind, line, column } => {
                write!(f, "artifact JSON error ({kind:?}) at line {line}, column {column}")
            }
            Self::FleetId(error) => write!(f, "artifact fleet_id: {error}"),
            Self::PublicKeyEncoding { index } => {
                write!(f, "artifact key {index}: public_key is not 64 lowercase hex digits")
            }
            Self::UnknownRole { index } => write!(f, "artifact key {index}: unknown role"),
            Self::InvalidKey { index, error } => write!(f, "artifact key {index}: {error}"),
            Self::KeySet(error) => write!(f, "artifact keys: {error}"),
        }
    }
}

impl std::error::Error for ArtifactError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::FleetId(error) => Some(error),
            Self::InvalidKey { error, .. } => Some(error),
            Self::KeySet(error) => Some(error),
            _ => None,
        }
    }
}

impl From<FleetIdError> for ArtifactError {
    fn from(error: FleetIdError) -> Self {
        Self::FleetId(error)
    }
}

impl From<KeySetError> for ArtifactError {
    fn from(error: KeySetError) -> Self {
        Self::KeySet(error)
    }
}

/// Why one epoch of the deployment log was rejected. Variants are listed in the order the checks run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeploymentError {
    /// Not a well-formed signed deployment record.
    Malformed(DecodeError),
    /// A record for a fleet other than the pinned one.
    UnknownFleet {
        /// The fleet the record names.
        found: FleetId,
    },
    /// The witness signature does not verify.
    BadWitnessSignature,
    /// The operator counter-signature does not verify.
    BadCounterSignature,
    /// The operator signature covers other bytes than the counter-signature message.
    CounterSignatureOverOtherBytes,
    /// The artifact exceeds [`FleetKeyArtifact::MAX_LEN`](crate::FleetKeyArtifact::MAX_LEN).
    ArtifactTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The artifact's SHA-256 differs from the logged digest.
    DigestMismatch,
    /// The artifact (whose digest matches) is not a valid fleet-key artifact.
    Artifact(ArtifactError),
    /// The artifact names another fleet than its record.
    ArtifactFleetMismatch {
        /// The fleet the artifact names.
        found: FleetId,
    },
    /// The artifact names another epoch than its record.
    ArtifactEpochMismatch {
        /// The record's epoch.
        record: u64,
        /// The artifact's epoch.
        artifact: u64,
    },
    /// A trust-anchor key (witness or operator) is listed with a fleet role.
    KeyWithWrongRole {
        /// Whose key it is.
        party: Party,
        /// The fleet role it was listed under.
        role: Role,
    },
}

impl fmt::Display for DeploymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(error) => write!(f, "malformed deployment record: {error}"),
            Self::UnknownFleet { found } => write!(f, "deployment record is for unknown fleet {found}"),
            Self::BadWitnessSignature => f.write_str("witness signature does not verify"),
            Self::BadCounterSignature => f.write_str("operator counter-signature does not verify"),
            Self::CounterSignatureOverOtherBytes => {
                f.write_str("operator signature covers other bytes than the body and witness signature")
            }
            Self::ArtifactTooLarge { len, max } => write!(f, "artifact is {len} bytes, at most {max} allowed"),
            Self::DigestMismatch => f.write_str("artifact SHA-256 differs from the logged digest"),
            Self::Artifact(error) => write!(f, "invalid artifact: {error}"),
            Self::ArtifactFleetMismatch { found } => write!(f, "artifact names fleet {found}, record another"),
            Self::ArtifactEpochMismatch { record, artifact } => {
                write!(f, "artifact names epoch {artifact}, record epoch {record}")
            }
            Self::KeyWithWrongRole { party, role } => {
                write!(f, "the pinned {party} key is listed as a fleet key with role {role}")
            }
        }
    }
}

impl std::error::Error for DeploymentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(error) => Some(error),
            Self::Artifact(error) => Some(error),
            _ => None,
        }
    }
}

impl From<DecodeError> for DeploymentError {
    fn from(error: DecodeError) -> Self {
        Self::Malformed(error)
    }
}

impl From<ArtifactError> for DeploymentError {
    fn from(error: ArtifactError) -> Self {
        Self::Artifact(error)
    }
}

/// Why a [`DeploymentMonitor`](crate::DeploymentMonitor) rejected an epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorError {
    /// The epoch itself does not verify.
    Deployment(DeploymentError),
    /// The last accepted record again: same epoch, same artifact digest. A harmless re-delivery (the monitor's
    /// state is unchanged); callers may ignore it.
    Replay {
        /// The epoch, equal to the last accepted one.
        epoch: u64,
    },
    /// A validly signed record for the last accepted epoch with a different artifact digest: the witness and the
    /// operator both signed two deployments for one epoch, i.e. the log forked. Both signed records are kept as
    /// evidence that a third party can check with the pinned keys.
    Equivocation {
        /// The epoch.
        epoch: u64,
        /// The record the monitor accepted for this epoch.
        accepted: Box<SignedDeploymentRecord>,
        /// The conflicting record just observed.
        conflicting: Box<SignedDeploymentRecord>,
    },
    /// The epoch is below the last accepted one (a replay of an older record or a rollback; the monitor keeps no
    /// older digests to tell which).
    NotIncreasing {
        /// The observed epoch.
        epoch: u64,
        /// The last accepted epoch.
        last: u64,
    },
    /// Epochs were skipped.
    Gap {
        /// The epoch that should come next.
        expected: u64,
        /// The epoch observed.
        found: u64,
    },
}

impl fmt::Display for MonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deployment(error) => write!(f, "{error}"),
            Self::Replay { epoch } => write!(f, "epoch {epoch} was already accepted with the same artifact digest"),
            Self::Equivocation { epoch, .. } => {
                write!(f, "two different deployment records are signed for epoch {epoch}")
            }
            Self::NotIncreasing { epoch, last } => write!(f, "epoch {epoch} does not follow epoch {last}"),
            Self::Gap { expected, found } => write!(f, "expected epoch {expected}, found {found}"),
        }
    }
}

impl std::error::Error for MonitorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Deployment(error) => Some(error),
            _ => None,
        }
    }
}

impl From<DeploymentError> for MonitorError {
    fn from(error: DeploymentError) -> Self {
        Self::Deployment(error)
    }
}
