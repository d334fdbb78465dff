//! The pinned trust anchors of a fleet: its identifier, the witness key and the operator key.

use core::fmt;

use ed25519_dalek::VerifyingKey;

use crate::error::AnchorError;
use crate::fleet_id::FleetId;
use crate::key_set::KeySet;
use crate::role::Role;
use crate::strict::strict_verifying_key;

/// One of the two signing parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// The third party that signs first (and logs the bundle in its key-transparency namespace).
    Witness,
    /// The fleet operator, whose counter-signature covers the witness signature.
    Operator,
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Party::Witness => "witness",
            Party::Operator => "operator",
        })
    }
}

/// What a client pins for a fleet: the fleet identifier and the witness and operator Ed25519 public keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchors {
    fleet_id: FleetId,
    witness: VerifyingKey,
    operator: VerifyingKey,
}

impl TrustAnchors {
    /// Checks both keys under the strict rules (canonical, on the curve, not of small order) and that they differ:
    /// if one key played both parties, the counter-signature would add no independent assurance.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{AnchorError, FleetId, KeyError, Party, TrustAnchors};
    ///
    /// let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let anchors = TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?;
    /// assert_eq!(anchors.fleet_id().as_str(), "fleet-a");
    ///
    /// let mut identity = [0u8; 32];
    /// identity[0] = 1; // the identity point: a weak key
    /// assert_eq!(
    ///     TrustAnchors::new(FleetId::new("fleet-a")?, &identity, &operator),
    ///     Err(AnchorError::InvalidKey { party: Party::Witness, error: KeyError::SmallOrder })
    /// );
    /// assert_eq!(
    ///     TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &witness),
    ///     Err(AnchorError::SameKey)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(fleet_id: FleetId, witness_key: &[u8; 32], operator_key: &[u8; 32]) -> Result<Self, AnchorError> {
        let witness = strict_verifying_key(witness_key).map_err(|error| AnchorError::InvalidKey {
            party: Party::Witness,
            error,
        })?;
        let operator = strict_verifying_key(operator_key).map_err(|error| AnchorError::InvalidKey {
            party: Party::Operator,
            error,
        })?;
        if witness == operator {
            return Err(AnchorError::SameKey);
        }
        Ok(Self {
            fleet_id,
            witness,
            operator,
        })
    }

    /// The pinned fleet identifier.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::{FleetId, TrustAnchors};
    /// # let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// # let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let anchors = TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?;
    /// assert_eq!(anchors.fleet_id(), &FleetId::new("fleet-a")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fleet_id(&self) -> &FleetId {
        &self.fleet_id
    }

    /// The pinned witness key.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::{FleetId, TrustAnchors};
    /// # let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// # let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let anchors = TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?;
    /// assert_eq!(anchors.witness_key().as_bytes(), &witness);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn witness_key(&self) -> &VerifyingKey {
        &self.witness
    }

    /// The pinned operator key.
    ///
    /// ```
    /// # use ed25519_dalek::SigningKey;
    /// # use fleet_bundle::{FleetId, TrustAnchors};
    /// # let witness = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// # let operator = SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes();
    /// let anchors = TrustAnchors::new(FleetId::new("fleet-a")?, &witness, &operator)?;
    /// assert_eq!(anchors.operator_key().as_bytes(), &operator);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn operator_key(&self) -> &VerifyingKey {
        &self.operator
    }

    /// The first fleet key that is a pinned trust-anchor key, as (whose key, fleet role). A trust-anchor key must
    /// never also hold a fleet role: a witness key accepted as a response-signing key would let the witness alone
    /// impersonate a vault.
    pub(crate) fn listed_in(&self, keys: &KeySet) -> Option<(Party, Role)> {
        keys.iter().find_map(|key| {
            let party = if key.public_key() == self.witness.as_bytes() {
                Party::Witness
            } else if key.public_key() == self.operator.as_bytes() {
                Party::Operator
            } else {
                return None;
            };
            Some((party, key.role()))
        })
    }
}
