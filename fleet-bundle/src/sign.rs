//! Signing APIs for the two parties: the witness signs first, the operator counter-signs the witness signature.
//!
//! Ed25519 signing is deterministic, so neither party needs randomness; signing keys are held in
//! `ed25519_dalek::SigningKey`, which zeroizes on drop, and no `Debug` or `Display` here prints them.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::anchor::Party;
use crate::bundle::{Bundle, SignedBundle};
use crate::context;
use crate::deployment::{DeploymentRecord, SignedDeploymentRecord};
use crate::envelope::{self, Contexts};
use crate::error::{AnchorError, CountersignError};
use crate::key;
use crate::strict::{self, strict_verifying_key};

pub(crate) const BUNDLE_CONTEXTS: Contexts = Contexts {
    witness: context::BUNDLE_WITNESS,
    operator: context::BUNDLE_OPERATOR,
};

pub(crate) const DEPLOYMENT_CONTEXTS: Contexts = Contexts {
    witness: context::DEPLOYMENT_WITNESS,
    operator: context::DEPLOYMENT_OPERATOR,
};

/// A witness signature, as the witness hands it to the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WitnessSignature([u8; 64]);

impl WitnessSignature {
    /// Wraps signature bytes received from the witness (checked when the operator counter-signs).
    ///
    /// ```
    /// use fleet_bundle::WitnessSignature;
    /// let signature = WitnessSignature::from_bytes([0; 64]);
    /// assert_eq!(signature.to_bytes(), [0; 64]);
    /// ```
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// The signature bytes (`R || S`).
    ///
    /// ```
    /// # use fleet_bundle::WitnessSignature;
    /// assert_eq!(WitnessSignature::from_bytes([1; 64]).to_bytes()[0], 1);
    /// ```
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

/// The witness's signing half.
pub struct WitnessSigner {
    key: SigningKey,
}

impl WitnessSigner {
    /// Wraps the witness signing key.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::WitnessSigner;
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// assert_eq!(witness.verifying_key(), SigningKey::from_bytes(&[1; 32]).verifying_key());
    /// ```
    pub fn new(key: SigningKey) -> Self {
        Self { key }
    }

    /// The public key clients pin for this witness.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::WitnessSigner;
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// assert_eq!(witness.verifying_key().to_bytes().len(), 32);
    /// ```
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `BUNDLE_WITNESS || body`, where body is the bundle's canonical encoding.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{context, WitnessSigner};
    /// # use fleet_bundle::{Bundle, FleetId, FleetKey, KeySet, Role, UnixSeconds, ValidityWindow};
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?);
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// let signature = witness.sign_bundle(&bundle);
    ///
    /// // Anyone can check it with a general Ed25519 library.
    /// let message = [context::BUNDLE_WITNESS, &bundle.to_bytes()].concat();
    /// let signature = ed25519_dalek::Signature::from_bytes(&signature.to_bytes());
    /// assert!(witness.verifying_key().verify_strict(&message, &signature).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_bundle(&self, bundle: &Bundle) -> WitnessSignature {
        self.sign(BUNDLE_CONTEXTS, &bundle.to_bytes())
    }

    /// Signs `DEPLOYMENT_WITNESS || body`, where body is the deployment record's canonical encoding.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{DeploymentRecord, FleetId, WitnessSigner};
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"{}");
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// let signature = witness.sign_deployment(&record);
    /// assert_ne!(signature.to_bytes(), [0; 64]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_deployment(&self, record: &DeploymentRecord) -> WitnessSignature {
        self.sign(DEPLOYMENT_CONTEXTS, &record.to_bytes())
    }

    fn sign(&self, contexts: Contexts, body: &[u8]) -> WitnessSignature {
        let message = envelope::witness_message(contexts, body);
        WitnessSignature(self.key.sign(&message).to_bytes())
    }
}

impl fmt::Debug for WitnessSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WitnessSigner")
            .field("verifying_key", &self.key.verifying_key())
            .finish_non_exhaustive()
    }
}

/// The operator's signing half: counter-signs a witness signature after checking it against the pinned witness
/// key.
pub struct OperatorSigner {
    key: SigningKey,
    witness: VerifyingKey,
}

impl OperatorSigner {
    /// Wraps the operator signing key together with the witness key it counter-signs for.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{AnchorError, OperatorSigner};
    /// let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), &witness)?;
    /// assert!(matches!(
    ///     OperatorSigner::new(SigningKey::from_bytes(&[1; 32]), &witness),
    ///     Err(AnchorError::SameKey)
    /// ));
    /// # Ok::<(), AnchorError>(())
    /// ```
    pub fn new(key: SigningKey, witness_key: &[u8; 32]) -> Result<Self, AnchorError> {
        let witness = strict_verifying_key(witness_key).map_err(|error| AnchorError::InvalidKey {
            party: Party::Witness,
            error,
        })?;
        if witness == key.verifying_key() {
            return Err(AnchorError::SameKey);
        }
        Ok(Self { key, witness })
    }

    /// The public key clients pin for this operator.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::OperatorSigner;
    /// # let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), &witness)?;
    /// assert_eq!(operator.verifying_key(), SigningKey::from_bytes(&[2; 32]).verifying_key());
    /// # Ok::<(), fleet_bundle::AnchorError>(())
    /// ```
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Checks every key under the full weak-key rules, refuses bundles that list the witness or operator key as a
    /// fleet key, checks the witness signature, and counter-signs `BUNDLE_OPERATOR || body || witness signature`.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{CountersignError, OperatorSigner, WitnessSignature, WitnessSigner};
    /// # use fleet_bundle::{Bundle, FleetId, FleetKey, KeySet, Role, UnixSeconds, ValidityWindow};
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?])?);
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    ///
    /// let witness_signature = witness.sign_bundle(&bundle);
    /// let signed = operator.countersign_bundle(bundle.clone(), &witness_signature)?;
    /// assert_eq!(signed.bundle(), &bundle);
    ///
    /// let forged = WitnessSignature::from_bytes([0; 64]);
    /// assert_eq!(
    ///     operator.countersign_bundle(bundle, &forged),
    ///     Err(CountersignError::BadWitnessSignature)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn countersign_bundle(
        &self,
        bundle: Bundle,
        witness_signature: &WitnessSignature,
    ) -> Result<SignedBundle, CountersignError> {
        let own = self.key.verifying_key();
        for (index, key) in bundle.keys().iter().enumerate() {
            // Producers are held to the full rules, including "is a curve point", which verifiers need not check
            // (an off-curve key verifies nothing; SPEC.md section 7.1).
            key::check(key.public_key(), key.role()).map_err(|error| CountersignError::InvalidKey { index, error })?;
            let party = if key.public_key() == self.witness.as_bytes() {
                Some(Party::Witness)
            } else if key.public_key() == own.as_bytes() {
                Some(Party::Operator)
            } else {
                None
            };
            if let Some(party) = party {
                return Err(CountersignError::KeyWithWrongRole {
                    party,
                    role: key.role(),
                });
            }
        }
        let operator_signature = self.countersign(BUNDLE_CONTEXTS, &bundle.to_bytes(), witness_signature)?;
        Ok(SignedBundle::new(bundle, *witness_signature, operator_signature))
    }

    /// Checks the witness signature on `record` and counter-signs
    /// `DEPLOYMENT_OPERATOR || body || witness signature`.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{DeploymentRecord, FleetId, OperatorSigner, WitnessSigner};
    /// let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    /// let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())?;
    ///
    /// let record = DeploymentRecord::for_artifact(FleetId::new("fleet-a")?, 7, b"artifact bytes");
    /// let witness_signature = witness.sign_deployment(&record);
    /// let signed = operator.countersign_deployment(record, &witness_signature)?;
    /// assert_eq!(signed.record().epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn countersign_deployment(
        &self,
        record: DeploymentRecord,
        witness_signature: &WitnessSignature,
    ) -> Result<SignedDeploymentRecord, CountersignError> {
        let operator_signature = self.countersign(DEPLOYMENT_CONTEXTS, &record.to_bytes(), witness_signature)?;
        Ok(SignedDeploymentRecord::new(
            record,
            *witness_signature,
            operator_signature,
        ))
    }

    fn countersign(
        &self,
        contexts: Contexts,
        body: &[u8],
        witness_signature: &WitnessSignature,
    ) -> Result<[u8; 64], CountersignError> {
        let witness_message = envelope::witness_message(contexts, body);
        if !strict::verify(&self.witness, &witness_message, &witness_signature.0) {
            return Err(CountersignError::BadWitnessSignature);
        }
        let message = envelope::operator_message(contexts, body, &witness_signature.0);
        Ok(self.key.sign(&message).to_bytes())
    }
}

impl fmt::Debug for OperatorSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorSigner")
            .field("verifying_key", &self.key.verifying_key())
            .field("witness", &self.witness)
            .finish_non_exhaustive()
    }
}
