//! Client-side verification of signed validation bundles.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::anchor::TrustAnchors;
use crate::bundle::{Bundle, UncheckedBundle};
use crate::codec::{MessageType, Reader, write_header};
use crate::deployment::VerifiedDeployment;
use crate::envelope::{self, Envelope, SignatureFailure};
use crate::error::{DecodeError, ResponderError, VerifyError};
use crate::fleet_id::FleetId;
use crate::role::Role;
use crate::sign::BUNDLE_CONTEXTS;
use crate::validity::UnixSeconds;

/// What a client remembers about the last bundle it accepted, to refuse rollbacks: the fleet, the epoch and the
/// SHA-256 of the bundle body.
///
/// The digest makes re-delivery of the same bundle harmless (accepted again) while two different bundles for one
/// epoch are reported as [`VerifyError::Equivocation`]. The fleet binds the state to the verifier it came from:
/// [`BundleVerifier::verify`] refuses state of another fleet ([`VerifyError::StateOfOtherFleet`]) rather than
/// report false rollbacks or lose rollback protection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AcceptedEpoch {
    fleet_id: FleetId,
    epoch: u64,
    body_digest: [u8; 32],
}

impl AcceptedEpoch {
    /// Rebuilds the state from its parts.
    ///
    /// ```
    /// use fleet_bundle::{AcceptedEpoch, FleetId};
    /// let state = AcceptedEpoch::new(FleetId::new("fleet-a")?, 7, [0xab; 32]);
    /// assert_eq!(AcceptedEpoch::from_bytes(&state.to_bytes())?, state);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(fleet_id: FleetId, epoch: u64, body_digest: [u8; 32]) -> Self {
        Self {
            fleet_id,
            epoch,
            body_digest,
        }
    }

    /// The fleet of the accepted bundle.
    ///
    /// ```
    /// # use fleet_bundle::{AcceptedEpoch, FleetId};
    /// assert_eq!(AcceptedEpoch::new(FleetId::new("fleet-a")?, 7, [0; 32]).fleet_id().as_str(), "fleet-a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fleet_id(&self) -> &FleetId {
        &self.fleet_id
    }

    /// The accepted epoch.
    ///
    /// ```
    /// # use fleet_bundle::{AcceptedEpoch, FleetId};
    /// assert_eq!(AcceptedEpoch::new(FleetId::new("fleet-a")?, 7, [0; 32]).epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// SHA-256 of the accepted bundle body.
    ///
    /// ```
    /// # use fleet_bundle::{AcceptedEpoch, FleetId};
    /// assert_eq!(AcceptedEpoch::new(FleetId::new("fleet-a")?, 7, [1; 32]).body_digest(), &[1; 32]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn body_digest(&self) -> &[u8; 32] {
        &self.body_digest
    }

    /// The versioned encoding for storage (SPEC.md 6.3): version `0x01`, type `0x05`, fleet-id length and fleet
    /// id, epoch (u64 big-endian), digest; `43 + n` bytes.
    ///
    /// ```
    /// # use fleet_bundle::{AcceptedEpoch, FleetId};
    /// let bytes = AcceptedEpoch::new(FleetId::new("f")?, 1, [0; 32]).to_bytes();
    /// assert_eq!(&bytes[..12], &[1, 5, 1, b'f', 0, 0, 0, 0, 0, 0, 0, 1]);
    /// assert_eq!(bytes.len(), 44);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(43 + self.fleet_id.as_bytes().len());
        write_header(&mut out, MessageType::AcceptedEpoch);
        self.fleet_id.encode(&mut out);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.body_digest);
        out
    }

    /// Reads the encoding of [`AcceptedEpoch::to_bytes`]. Integrity of stored state is the storage's concern;
    /// this checks only the structure. The unversioned 40-byte state of earlier drafts (epoch then digest, no
    /// fleet) is refused: it starts with the epoch's high byte, `0x00` for any realistic epoch, which reads as
    /// an obsolete version.
    ///
    /// ```
    /// use fleet_bundle::{AcceptedEpoch, DecodeError};
    /// assert_eq!(AcceptedEpoch::from_bytes(&[0; 40]), Err(DecodeError::ObsoleteVersion { version: 0 }));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.header(MessageType::AcceptedEpoch)?;
        let fleet_id_len = reader.u8()?;
        let fleet_id = FleetId::from_wire(reader.take(usize::from(fleet_id_len))?)?;
        let epoch = reader.u64()?;
        let body_digest = reader.array()?;
        reader.finish()?;
        Ok(Self {
            fleet_id,
            epoch,
            body_digest,
        })
    }
}

/// Verifies signed bundles against pinned trust anchors.
#[derive(Clone, Debug)]
pub struct BundleVerifier {
    anchors: TrustAnchors,
}

impl BundleVerifier {
    /// A verifier for one fleet.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{BundleVerifier, FleetId, TrustAnchors};
    /// let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let verifier = BundleVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?);
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
    /// # use fleet_bundle::{BundleVerifier, FleetId, TrustAnchors};
    /// # let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// # let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let verifier = BundleVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?);
    /// assert_eq!(verifier.anchors().witness_key().as_bytes(), &witness);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }

    /// Verifies a signed bundle received over the air.
    ///
    /// `now` is the caller's current time; `last_accepted` is the state saved from the last bundle this client
    /// accepted (`None` on first use). The checks run in the order of SPEC.md: decoding, fleet identifier,
    /// witness signature, counter-signature, validity window, epoch, keys. The first failure is returned, and
    /// verification has no side effect, so a rejected bundle leaves the caller's state as it was.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::*;
    ///
    /// // Operator and witness produce a bundle.
    /// let vault = SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes();
    /// let bundle = Bundle::new(
    ///     FleetId::new("fleet-a")?,
    ///     7,
    ///     ValidityWindow::new(UnixSeconds(1_000), UnixSeconds(2_000))?,
    ///     KeySet::new([FleetKey::new(vault, Role::ResponseSigning)?])?,
    /// );
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// let witness_signature = witness.sign_bundle(&bundle);
    /// let wire = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
    ///
    /// // A client with pinned keys checks it.
    /// let anchors = TrustAnchors::new(
    ///     FleetId::new("fleet-a")?,
    ///     witness.verifying_key().as_bytes(),
    ///     operator.verifying_key().as_bytes(),
    /// )?;
    /// let verifier = BundleVerifier::new(anchors);
    /// let verified = verifier.verify(&wire, UnixSeconds(1_500), None)?;
    /// assert!(verified.approves(&vault, Role::ResponseSigning, UnixSeconds(1_500)));
    ///
    /// // The client persists `accepted_epoch()` and passes it next time.
    /// let state = verified.accepted_epoch();
    /// assert!(verifier.verify(&wire, UnixSeconds(1_500), Some(&state)).is_ok());
    /// assert!(matches!(
    ///     verifier.verify(&wire, UnixSeconds(2_000), Some(&state)),
    ///     Err(VerifyError::Expired { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        signed_bundle: &[u8],
        now: UnixSeconds,
        last_accepted: Option<&AcceptedEpoch>,
    ) -> Result<VerifiedBundle, VerifyError> {
        // SPEC.md 6.1, step 0. The caller's state must be this fleet's: another fleet's epochs say nothing here.
        if let Some(last) = last_accepted
            && last.fleet_id != *self.anchors.fleet_id()
        {
            return Err(VerifyError::StateOfOtherFleet {
                state_fleet: last.fleet_id.clone(),
            });
        }

        // Steps 1–2. Structure only: cheap, and bounds all later work.
        let envelope = Envelope::decode(signed_bundle, MessageType::SignedBundle)?;
        let unchecked = UncheckedBundle::decode(envelope.body)?;

        // Step 3. Fleet identifier: a bundle of another fleet is rejected before any signature work.
        if unchecked.fleet_id() != self.anchors.fleet_id() {
            return Err(VerifyError::UnknownFleet {
                found: unchecked.fleet_id().clone(),
            });
        }

        // Steps 4–5. Witness signature, then the counter-signature over the body and the witness signature.
        envelope::check_signatures(
            BUNDLE_CONTEXTS,
            &envelope,
            self.anchors.witness_key(),
            self.anchors.operator_key(),
        )
        .map_err(|failure| match failure {
            SignatureFailure::Witness => VerifyError::BadWitnessSignature,
            SignatureFailure::CounterSignature => VerifyError::BadCounterSignature,
            SignatureFailure::CounterSignatureOverOtherBytes => VerifyError::CounterSignatureOverOtherBytes,
        })?;

        // Steps 6–7. Freshness; from here on every reason is about a bundle both parties signed.
        let validity = unchecked.validity();
        if now < validity.issued_at() {
            return Err(VerifyError::NotYetValid {
                issued_at: validity.issued_at(),
                now,
            });
        }
        if now >= validity.expires_at() {
            return Err(VerifyError::Expired {
                expires_at: validity.expires_at(),
                now,
            });
        }

        // Step 8. Monotonic epochs.
        let body_digest: [u8; 32] = Sha256::digest(envelope.body).into();
        if let Some(last) = last_accepted {
            let epoch = unchecked.epoch();
            if epoch < last.epoch {
                return Err(VerifyError::Rollback {
                    epoch,
                    last_accepted: last.epoch,
                });
            }
            if epoch == last.epoch && !bool::from(body_digest.ct_eq(&last.body_digest)) {
                return Err(VerifyError::Equivocation { epoch });
            }
        }

        // Steps 9–10. Keys: the weak-key rules per role, then no trust-anchor key in a fleet role.
        let bundle = unchecked
            .check_keys()
            .map_err(|(index, error)| VerifyError::InvalidKey { index, error })?;
        if let Some((party, role)) = self.anchors.listed_in(bundle.keys()) {
            return Err(VerifyError::KeyWithWrongRole { party, role });
        }

        Ok(VerifiedBundle { bundle, body_digest })
    }
}

/// A bundle that passed every check of [`BundleVerifier::verify`]. Only the verifier can construct one, so holding
/// a `VerifiedBundle` is proof that the checks ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBundle {
    bundle: Bundle,
    body_digest: [u8; 32],
}

impl VerifiedBundle {
    /// The verified contents.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?);
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let wire = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
    /// # let verifier = BundleVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?,
    /// #     witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?);
    /// let verified = verifier.verify(&wire, UnixSeconds(150), None)?;
    /// assert_eq!(verified.bundle().epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The state to persist and pass as `last_accepted` to the next verification.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?);
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let wire = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
    /// # let verifier = BundleVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?,
    /// #     witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?);
    /// let verified = verifier.verify(&wire, UnixSeconds(150), None)?;
    /// assert_eq!(verified.accepted_epoch().epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accepted_epoch(&self) -> AcceptedEpoch {
        AcceptedEpoch {
            fleet_id: self.bundle.fleet_id().clone(),
            epoch: self.bundle.epoch(),
            body_digest: self.body_digest,
        }
    }

    /// Whether `now` is still inside the bundle's validity window. A `VerifiedBundle` kept in memory goes stale;
    /// [`VerifiedBundle::check_responder`] and [`VerifiedBundle::approves`] check this themselves.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?);
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let wire = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
    /// # let verifier = BundleVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?,
    /// #     witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?);
    /// let verified = verifier.verify(&wire, UnixSeconds(150), None)?;
    /// assert!(verified.is_valid_at(UnixSeconds(199)));
    /// assert!(!verified.is_valid_at(UnixSeconds(200)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_valid_at(&self, now: UnixSeconds) -> bool {
        self.bundle.validity().contains(now)
    }

    /// Checks the key a vault answered with, at the caller's time `now`: the bundle must still be valid
    /// (`issued_at <= now < expires_at`), and the key must be listed, under `role`.
    ///
    /// `now` is required so that a `VerifiedBundle` kept in memory stops approving keys once it expires; there is
    /// deliberately no time-blind variant (use [`Bundle::keys`] on [`VerifiedBundle::bundle`] to inspect the list).
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?);
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let wire = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
    /// # let verifier = BundleVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?,
    /// #     witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?);
    /// let verified = verifier.verify(&wire, UnixSeconds(150), None)?;
    /// let now = UnixSeconds(150);
    /// assert_eq!(verified.check_responder(&[9; 32], Role::OpaqueServer, now), Ok(()));
    /// assert_eq!(
    ///     verified.check_responder(&[9; 32], Role::IplsSession, now),
    ///     Err(ResponderError::WrongRole { listed_as: Role::OpaqueServer })
    /// );
    /// assert_eq!(verified.check_responder(&[8; 32], Role::OpaqueServer, now), Err(ResponderError::NotInBundle));
    /// // Kept in memory past its expiry, the bundle approves nothing.
    /// assert_eq!(
    ///     verified.check_responder(&[9; 32], Role::OpaqueServer, UnixSeconds(200)),
    ///     Err(ResponderError::Expired { expires_at: UnixSeconds(200), now: UnixSeconds(200) })
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_responder(&self, public_key: &[u8; 32], role: Role, now: UnixSeconds) -> Result<(), ResponderError> {
        let validity = self.bundle.validity();
        if now < validity.issued_at() {
            return Err(ResponderError::NotYetValid {
                issued_at: validity.issued_at(),
                now,
            });
        }
        if now >= validity.expires_at() {
            return Err(ResponderError::Expired {
                expires_at: validity.expires_at(),
                now,
            });
        }
        match self.bundle.keys().role_of(public_key) {
            None => Err(ResponderError::NotInBundle),
            Some(listed) if listed == role => Ok(()),
            Some(listed_as) => Err(ResponderError::WrongRole { listed_as }),
        }
    }

    /// Whether the bundle, at time `now`, approves `public_key` for `role`: [`VerifiedBundle::check_responder`] as a
    /// boolean (so `false` once the bundle has expired).
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?);
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let wire = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
    /// # let verifier = BundleVerifier::new(TrustAnchors::new(FleetId::new("fleet-a")?,
    /// #     witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?);
    /// let verified = verifier.verify(&wire, UnixSeconds(150), None)?;
    /// assert!(verified.approves(&[9; 32], Role::OpaqueServer, UnixSeconds(150)));
    /// assert!(!verified.approves(&[9; 32], Role::ResponseSigning, UnixSeconds(150)));
    /// assert!(!verified.approves(&[9; 32], Role::OpaqueServer, UnixSeconds(200)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn approves(&self, public_key: &[u8; 32], role: Role, now: UnixSeconds) -> bool {
        self.check_responder(public_key, role, now).is_ok()
    }

    /// Whether a verified deployment record logs exactly this bundle's fleet, epoch and key set: the client-side
    /// cross-check between the over-the-air bundle and the binary-transparency log.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::*;
    /// # let keys = KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?, keys.clone());
    /// # let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let wire = operator.countersign_bundle(bundle, &witness_signature)?.to_bytes();
    /// # let anchors = TrustAnchors::new(FleetId::new("fleet-a")?,
    /// #     witness.verifying_key().as_bytes(), operator.verifying_key().as_bytes())?;
    /// let verified = BundleVerifier::new(anchors.clone()).verify(&wire, UnixSeconds(150), None)?;
    ///
    /// let artifact = FleetKeyArtifact::new(FleetId::new("fleet-a")?, 7, keys).to_json();
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, &artifact);
    /// let witness_signature = witness.sign_deployment(&record);
    /// let record = operator.countersign_deployment(record, &witness_signature)?.to_bytes();
    /// let deployment = DeploymentVerifier::new(anchors).verify(&record, &artifact)?;
    /// assert!(verified.matches_deployment(&deployment));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches_deployment(&self, deployment: &VerifiedDeployment) -> bool {
        self.bundle.fleet_id() == deployment.fleet_id()
            && self.bundle.epoch() == deployment.epoch()
            && self.bundle.keys() == deployment.keys()
    }
}
