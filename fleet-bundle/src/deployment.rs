//! Binary-transparency deployment records and their verification, one epoch at a time and as a sequence.
//!
//! A deployment record logs, per epoch, the SHA-256 of the fleet-key artifact that was deployed. Like a bundle it
//! is signed by the witness and counter-signed by the operator. Verifying one checks what Meta's
//! `mbt eb-verify-namespace` checks for an epoch: the artifact's digest equals the logged digest, the witness
//! signature, and the operator counter-signature; a [`DeploymentMonitor`] then diffs consecutive key sets.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::anchor::TrustAnchors;
use crate::artifact::FleetKeyArtifact;
use crate::codec::{MessageType, Reader, write_header};
use crate::diff::{KeySetDiff, diff};
use crate::envelope::{self, Envelope, SignatureFailure};
use crate::error::{DecodeError, DeploymentError, MonitorError};
use crate::fleet_id::FleetId;
use crate::key_set::KeySet;
use crate::sign::{DEPLOYMENT_CONTEXTS, WitnessSignature};

/// What the log holds for one epoch: the fleet, the epoch and the SHA-256 of the artifact.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeploymentRecord {
    fleet_id: FleetId,
    epoch: u64,
    artifact_digest: [u8; 32],
}

impl DeploymentRecord {
    /// A record for an artifact whose digest is already known.
    ///
    /// ```
    /// use fleet_bundle::{DeploymentRecord, FleetId};
    /// let record = DeploymentRecord::new(FleetId::new("fleet-a")?, 7, [0xaa; 32]);
    /// assert_eq!(record.artifact_digest(), &[0xaa; 32]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(fleet_id: FleetId, epoch: u64, artifact_digest: [u8; 32]) -> Self {
        Self {
            fleet_id,
            epoch,
            artifact_digest,
        }
    }

    /// A record for `artifact`, hashing it with SHA-256.
    ///
    /// ```
    /// use fleet_bundle::{DeploymentRecord, FleetId};
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"abc");
    /// // SHA-256("abc"), FIPS 180-2 appendix B.1.
    /// assert_eq!(record.artifact_digest()[..4], [0xba, 0x78, 0x16, 0xbf]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_artifact(fleet_id: FleetId, epoch: u64, artifact: &[u8]) -> Self {
        Self::new(fleet_id, epoch, Sha256::digest(artifact).into())
    }

    /// The fleet.
    ///
    /// ```
    /// # use fleet_bundle::{DeploymentRecord, FleetId};
    /// let record = DeploymentRecord::new(FleetId::new("fleet-a")?, 7, [0; 32]);
    /// assert_eq!(record.fleet_id().as_str(), "fleet-a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fleet_id(&self) -> &FleetId {
        &self.fleet_id
    }

    /// The epoch.
    ///
    /// ```
    /// # use fleet_bundle::{DeploymentRecord, FleetId};
    /// let record = DeploymentRecord::new(FleetId::new("fleet-a")?, 7, [0; 32]);
    /// assert_eq!(record.epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The logged SHA-256 of the artifact.
    ///
    /// ```
    /// # use fleet_bundle::{DeploymentRecord, FleetId};
    /// let record = DeploymentRecord::new(FleetId::new("fleet-a")?, 7, [3; 32]);
    /// assert_eq!(record.artifact_digest(), &[3; 32]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn artifact_digest(&self) -> &[u8; 32] {
        &self.artifact_digest
    }

    /// The canonical encoding of the body (the bytes the witness signs).
    ///
    /// ```
    /// # use fleet_bundle::{DeploymentRecord, FleetId};
    /// let record = DeploymentRecord::new(FleetId::new("f")?, 7, [3; 32]);
    /// let bytes = record.to_bytes();
    /// assert_eq!(bytes.len(), 2 + 1 + 1 + 8 + 32);
    /// assert_eq!(DeploymentRecord::from_bytes(&bytes)?, record);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.fleet_id.as_bytes().len() + 40);
        write_header(&mut out, MessageType::DeploymentBody);
        self.fleet_id.encode(&mut out);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.artifact_digest);
        out
    }

    /// Decodes a body. Authenticates nothing.
    ///
    /// ```
    /// use fleet_bundle::{DecodeError, DeploymentRecord};
    /// assert_eq!(DeploymentRecord::from_bytes(&[2, 3]), Err(DecodeError::UnknownVersion { version: 2 }));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.header(MessageType::DeploymentBody)?;
        let fleet_id_len = reader.u8()?;
        let fleet_id = FleetId::from_wire(reader.take(usize::from(fleet_id_len))?)?;
        let epoch = reader.u64()?;
        let artifact_digest = reader.array()?;
        reader.finish()?;
        Ok(Self {
            fleet_id,
            epoch,
            artifact_digest,
        })
    }
}

/// A deployment record with its witness signature and operator counter-signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDeploymentRecord {
    record: DeploymentRecord,
    witness_signature: WitnessSignature,
    operator_signature: [u8; 64],
}

impl SignedDeploymentRecord {
    pub(crate) fn new(
        record: DeploymentRecord,
        witness_signature: WitnessSignature,
        operator_signature: [u8; 64],
    ) -> Self {
        Self {
            record,
            witness_signature,
            operator_signature,
        }
    }

    /// The record.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"artifact");
    /// let witness_signature = witness.sign_deployment(&record);
    /// let signed = operator.countersign_deployment(record.clone(), &witness_signature)?;
    /// assert_eq!(signed.record(), &record);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record(&self) -> &DeploymentRecord {
        &self.record
    }

    /// The witness signature over `DEPLOYMENT_WITNESS || body`.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"artifact");
    /// let witness_signature = witness.sign_deployment(&record);
    /// let signed = operator.countersign_deployment(record, &witness_signature)?;
    /// assert_eq!(signed.witness_signature(), &witness_signature);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn witness_signature(&self) -> &WitnessSignature {
        &self.witness_signature
    }

    /// The operator counter-signature over `DEPLOYMENT_OPERATOR || body || witness signature`.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"artifact");
    /// let witness_signature = witness.sign_deployment(&record);
    /// let signed = operator.countersign_deployment(record, &witness_signature)?;
    /// assert_ne!(signed.operator_signature(), &witness_signature.to_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn operator_signature(&self) -> &[u8; 64] {
        &self.operator_signature
    }

    /// The wire encoding, as logged and as passed to [`DeploymentVerifier::verify`].
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"artifact");
    /// let witness_signature = witness.sign_deployment(&record);
    /// let wire = operator.countersign_deployment(record, &witness_signature)?.to_bytes();
    /// assert_eq!(&wire[..2], &[0x01, 0x04]); // version 1, signed deployment record
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = self.record.to_bytes();
        Envelope {
            body: &body,
            witness_signature: self.witness_signature.to_bytes(),
            operator_signature: self.operator_signature,
        }
        .encode(MessageType::SignedDeployment)
    }

    /// Decodes the wire encoding **without checking either signature**: for display tools only.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"artifact");
    /// let witness_signature = witness.sign_deployment(&record);
    /// let signed = operator.countersign_deployment(record, &witness_signature)?;
    /// assert_eq!(SignedDeploymentRecord::decode_unverified(&signed.to_bytes())?, signed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode_unverified(bytes: &[u8]) -> Result<Self, DecodeError> {
        let envelope = Envelope::decode(bytes, MessageType::SignedDeployment)?;
        Ok(Self {
            record: DeploymentRecord::from_bytes(envelope.body)?,
            witness_signature: WitnessSignature::from_bytes(envelope.witness_signature),
            operator_signature: envelope.operator_signature,
        })
    }
}

/// Verifies deployment records and their artifacts against pinned trust anchors.
#[derive(Clone, Debug)]
pub struct DeploymentVerifier {
    anchors: TrustAnchors,
}

impl DeploymentVerifier {
    /// A verifier for one fleet.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{DeploymentVerifier, FleetId, TrustAnchors};
    /// let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let verifier = DeploymentVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?);
    /// assert_eq!(verifier.anchors().fleet_id().as_str(), "fleet-a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(anchors: TrustAnchors) -> Self {
        Self { anchors }
    }

    /// The pinned anchors.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::{DeploymentVerifier, FleetId, TrustAnchors};
    /// # let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// # let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let verifier = DeploymentVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?);
    /// assert_eq!(verifier.anchors().operator_key().as_bytes(), &operator);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }

    /// Verifies one epoch: the signed record, then the artifact against the logged digest, then the artifact's
    /// contents. Order and reasons are in SPEC.md.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::*;
    ///
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let keys = KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?;
    /// let artifact = FleetKeyArtifact::new(FleetId::new("fleet-a")?, 7, keys).to_json();
    ///
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, &artifact);
    /// let witness_signature = witness.sign_deployment(&record);
    /// let record = operator.countersign_deployment(record, &witness_signature)?.to_bytes();
    ///
    /// let verifier = DeploymentVerifier::new(TrustAnchors::new(
    ///     FleetId::new("fleet-a")?,
    ///     witness.verifying_key().as_bytes(),
    ///     operator.verifying_key().as_bytes(),
    /// )?);
    /// let verified = verifier.verify(&record, &artifact)?;
    /// assert_eq!(verified.epoch(), 7);
    ///
    /// let mut tampered = artifact.clone();
    /// tampered.push(b' ');
    /// assert_eq!(verifier.verify(&record, &tampered), Err(DeploymentError::DigestMismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self, signed_record: &[u8], artifact: &[u8]) -> Result<VerifiedDeployment, DeploymentError> {
        // SPEC.md 8.3, step 1. Structure.
        let envelope = Envelope::decode(signed_record, MessageType::SignedDeployment)?;
        let record = DeploymentRecord::from_bytes(envelope.body)?;

        // Step 2. Fleet identifier.
        if record.fleet_id() != self.anchors.fleet_id() {
            return Err(DeploymentError::UnknownFleet {
                found: record.fleet_id().clone(),
            });
        }

        // Steps 3–4. Witness signature, counter-signature: the logged digest is authentic from here on.
        envelope::check_signatures(
            DEPLOYMENT_CONTEXTS,
            &envelope,
            self.anchors.witness_key(),
            self.anchors.operator_key(),
        )
        .map_err(|failure| match failure {
            SignatureFailure::Witness => DeploymentError::BadWitnessSignature,
            SignatureFailure::CounterSignature => DeploymentError::BadCounterSignature,
            SignatureFailure::CounterSignatureOverOtherBytes => DeploymentError::CounterSignatureOverOtherBytes,
        })?;

        // Steps 5–6. The artifact is the logged one: bounded size, then SHA-256 compared in constant time.
        if artifact.len() > FleetKeyArtifact::MAX_LEN {
            return Err(DeploymentError::ArtifactTooLarge {
                len: artifact.len(),
                max: FleetKeyArtifact::MAX_LEN,
            });
        }
        let digest: [u8; 32] = Sha256::digest(artifact).into();
        if !bool::from(digest.ct_eq(record.artifact_digest())) {
            return Err(DeploymentError::DigestMismatch);
        }

        // Steps 7–8. Its contents: valid JSON for the same fleet and epoch.
        let parsed = FleetKeyArtifact::from_json(artifact)?;
        if parsed.fleet_id() != record.fleet_id() {
            return Err(DeploymentError::ArtifactFleetMismatch {
                found: parsed.fleet_id().clone(),
            });
        }
        if parsed.epoch() != record.epoch() {
            return Err(DeploymentError::ArtifactEpochMismatch {
                record: record.epoch(),
                artifact: parsed.epoch(),
            });
        }

        // Step 9. No trust-anchor key in a fleet role.
        if let Some((party, role)) = self.anchors.listed_in(parsed.keys()) {
            return Err(DeploymentError::KeyWithWrongRole { party, role });
        }

        Ok(VerifiedDeployment {
            fleet_id: record.fleet_id.clone(),
            epoch: record.epoch,
            artifact_digest: record.artifact_digest,
            keys: parsed.into_keys(),
            signed: SignedDeploymentRecord::new(
                record,
                WitnessSignature::from_bytes(envelope.witness_signature),
                envelope.operator_signature,
            ),
        })
    }
}

/// One epoch of the log that passed [`DeploymentVerifier::verify`]; only the verifier constructs it.
///
/// ```
/// use ed25519_dalek::SigningKey;
/// use fleet_bundle::*;
/// use sha2::{Digest, Sha256};
///
/// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
/// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
/// let keys = KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?;
/// let artifact = FleetKeyArtifact::new(FleetId::new("fleet-a")?, 7, keys).to_json();
/// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, &artifact);
/// let witness_signature = witness.sign_deployment(&record);
/// let record = operator.countersign_deployment(record, &witness_signature)?.to_bytes();
/// let anchors = TrustAnchors::new(
///     FleetId::new("fleet-a")?,
///     witness.verifying_key().as_bytes(),
///     operator.verifying_key().as_bytes(),
/// )?;
///
/// let verified = DeploymentVerifier::new(anchors).verify(&record, &artifact)?;
/// assert_eq!(verified.fleet_id().as_str(), "fleet-a");
/// assert_eq!(verified.epoch(), 7);
/// assert_eq!(verified.artifact_digest()[..], Sha256::digest(&artifact)[..]);
/// assert_eq!(verified.keys().role_of(&[0x11; 32]), Some(Role::OpaqueServer));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDeployment {
    fleet_id: FleetId,
    epoch: u64,
    artifact_digest: [u8; 32],
    keys: KeySet,
    signed: SignedDeploymentRecord,
}

impl VerifiedDeployment {
    /// The fleet.
    pub fn fleet_id(&self) -> &FleetId {
        &self.fleet_id
    }

    /// The epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The logged SHA-256 of the artifact, which the artifact was checked against.
    pub fn artifact_digest(&self) -> &[u8; 32] {
        &self.artifact_digest
    }

    /// The key set the artifact lists.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The signed record as verified (body, witness signature, operator counter-signature): evidence that both
    /// parties logged this digest for this epoch, e.g. for [`MonitorError::Equivocation`].
    pub fn signed_record(&self) -> &SignedDeploymentRecord {
        &self.signed
    }
}

/// The outcome of observing one epoch with a [`DeploymentMonitor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochReport {
    deployment: VerifiedDeployment,
    diff: Option<KeySetDiff>,
}

impl EpochReport {
    /// The verified epoch.
    ///
    /// See [`DeploymentMonitor::observe`] for an example.
    pub fn deployment(&self) -> &VerifiedDeployment {
        &self.deployment
    }

    /// The key-set change from the previous epoch; `None` for the first epoch the monitor saw, which has nothing
    /// to compare with.
    ///
    /// See [`DeploymentMonitor::observe`] for an example.
    pub fn diff(&self) -> Option<&KeySetDiff> {
        self.diff.as_ref()
    }
}

/// Follows a fleet's deployment log epoch by epoch (sans-IO: the caller fetches records and artifacts).
///
/// Epochs must be consecutive: each observed epoch is exactly one more than the last. A gap is an error, not a
/// skip, because the point of a transparency log is that no deployment goes unseen; a monitor that starts mid-log
/// begins wherever its first observation is. A rejected observation leaves the monitor's state unchanged.
///
/// The monitor keeps the last accepted signed record, so a validly signed record for that same epoch is told apart:
/// the same artifact digest is a harmless re-delivery ([`MonitorError::Replay`]), a different one is a fork of the
/// log ([`MonitorError::Equivocation`], carrying both signed records as evidence). Records for older epochs are
/// [`MonitorError::NotIncreasing`]: the monitor keeps no history to compare them with.
#[derive(Clone, Debug)]
pub struct DeploymentMonitor {
    verifier: DeploymentVerifier,
    last: Option<VerifiedDeployment>,
}

impl DeploymentMonitor {
    /// A monitor that has seen nothing yet.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// # let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let anchors = TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?;
    /// let monitor = DeploymentMonitor::new(DeploymentVerifier::new(anchors));
    /// assert!(monitor.last().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(verifier: DeploymentVerifier) -> Self {
        Self { verifier, last: None }
    }

    /// A monitor that resumes after an epoch verified before: re-verify the stored record and artifact with a
    /// verifier for this fleet to get `last`. The next epoch observed must be `last.epoch() + 1`.
    ///
    /// Fails with [`DeploymentError::UnknownFleet`] (wrapped in [`MonitorError::Deployment`]) if `last` is a
    /// deployment of another fleet than the verifier's, which would otherwise let one fleet's log continue
    /// another's.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::*;
    ///
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// # let keys = KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?;
    /// # let artifact = FleetKeyArtifact::new(FleetId::new("fleet-a")?, 7, keys).to_json();
    /// # let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, &artifact);
    /// # let witness_signature = witness.sign_deployment(&record);
    /// # let record = operator.countersign_deployment(record, &witness_signature)?.to_bytes();
    /// # let anchors = TrustAnchors::new(FleetId::new("fleet-a")?,
    /// #     witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?;
    /// let verifier = DeploymentVerifier::new(anchors);
    /// let last = verifier.verify(&record, &artifact)?; // epoch 7, stored earlier
    /// let mut monitor = DeploymentMonitor::resume(verifier, last)?;
    /// assert_eq!(monitor.last().map(|d| d.epoch()), Some(7));
    /// // Epoch 7 again, with the same digest, is a harmless re-delivery, not the next epoch.
    /// assert_eq!(monitor.observe(&record, &artifact), Err(MonitorError::Replay { epoch: 7 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume(verifier: DeploymentVerifier, last: VerifiedDeployment) -> Result<Self, MonitorError> {
        if last.fleet_id() != verifier.anchors().fleet_id() {
            return Err(MonitorError::Deployment(DeploymentError::UnknownFleet {
                found: last.fleet_id().clone(),
            }));
        }
        Ok(Self {
            verifier,
            last: Some(last),
        })
    }

    /// The last epoch accepted, if any.
    ///
    /// See [`DeploymentMonitor::observe`] for an example.
    pub fn last(&self) -> Option<&VerifiedDeployment> {
        self.last.as_ref()
    }

    /// Verifies the next epoch and reports how the key set changed.
    ///
    /// Rejections, after the record and artifact verify: [`MonitorError::Replay`] for the last accepted record
    /// again (same epoch, same artifact digest; harmless), [`MonitorError::Equivocation`] for a different digest
    /// in the last accepted epoch, [`MonitorError::NotIncreasing`] for an older epoch, [`MonitorError::Gap`] for a
    /// skipped one.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::*;
    ///
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let fleet = FleetId::new("fleet-a")?;
    /// let publish = |epoch: u64, keys: KeySet| -> Result<(Vec<u8>, Vec<u8>), CountersignError> {
    ///     let artifact = FleetKeyArtifact::new(fleet.clone(), epoch, keys).to_json();
    ///     let record = DeploymentRecord::for_artifact(fleet.clone(), epoch, &artifact);
    ///     let witness_signature = witness.sign_deployment(&record);
    ///     Ok((operator.countersign_deployment(record, &witness_signature)?.to_bytes(), artifact))
    /// };
    /// let (record_1, artifact_1) = publish(1, KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?)?;
    /// let (record_2, artifact_2) = publish(2, KeySet::new([FleetKey::new([0x22; 32], Role::OpaqueServer)?])?)?;
    ///
    /// let anchors = TrustAnchors::new(fleet.clone(), witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?;
    /// let mut monitor = DeploymentMonitor::new(DeploymentVerifier::new(anchors));
    /// assert!(monitor.observe(&record_1, &artifact_1)?.diff().is_none());
    /// let report = monitor.observe(&record_2, &artifact_2)?;
    /// let diff = report.diff().expect("second epoch has a predecessor");
    /// assert_eq!(diff.added()[0].public_key(), &[0x22; 32]);
    /// assert_eq!(diff.removed()[0].public_key(), &[0x11; 32]);
    /// assert_eq!(monitor.last().map(|d| d.epoch()), Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe(&mut self, signed_record: &[u8], artifact: &[u8]) -> Result<EpochReport, MonitorError> {
        let deployment = self.verifier.verify(signed_record, artifact)?;
        let diff = match &self.last {
            None => None,
            Some(last) => {
                let expected = last.epoch.checked_add(1);
                if deployment.epoch == last.epoch {
                    // Both digests are public log contents; constant time is not needed but costs nothing.
                    if bool::from(deployment.artifact_digest.ct_eq(&last.artifact_digest)) {
                        return Err(MonitorError::Replay { epoch: last.epoch });
                    }
                    return Err(MonitorError::Equivocation {
                        epoch: last.epoch,
                        accepted: Box::new(last.signed.clone()),
                        conflicting: Box::new(deployment.signed),
                    });
                }
                if deployment.epoch < last.epoch {
                    return Err(MonitorError::NotIncreasing {
                        epoch: deployment.epoch,
                        last: last.epoch,
                    });
                }
                if expected != Some(deployment.epoch) {
                    return Err(MonitorError::Gap {
                        expected: last.epoch.saturating_add(1),
                        found: deployment.epoch,
                    });
                }
                Some(diff(&last.keys, &deployment.keys))
            }
        };
        self.last = Some(deployment.clone());
        Ok(EpochReport { deployment, diff })
    }
}
