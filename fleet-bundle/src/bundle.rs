//! The validation bundle: its contents, canonical binary encoding, and the signed envelope.

use crate::codec::{MessageType, Reader, write_header};
use crate::envelope::Envelope;
use crate::error::{DecodeError, KeyError};
use crate::fleet_id::FleetId;
use crate::key::{self, FleetKey};
use crate::key_set::KeySet;
use crate::role::Role;
use crate::sign::WitnessSignature;
use crate::validity::{UnixSeconds, ValidityWindow};

/// The contents of a validation bundle: which fleet, which epoch, when it is valid, and the fleet's keys.
///
/// Every `Bundle` value is well formed (its parts are checked when built), so [`Bundle::to_bytes`] cannot fail
/// and always yields the one canonical encoding that [`Bundle::from_bytes`] accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bundle {
    fleet_id: FleetId,
    epoch: u64,
    validity: ValidityWindow,
    keys: KeySet,
}

impl Bundle {
    /// Assembles a bundle from checked parts.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{Bundle, FleetId, FleetKey, KeySet, Role, UnixSeconds, ValidityWindow};
    ///
    /// let vault = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
    /// let bundle = Bundle::new(
    ///     FleetId::new("fleet-a")?,
    ///     7,
    ///     ValidityWindow::new(UnixSeconds(1_700_000_000), UnixSeconds(1_700_086_400))?,
    ///     KeySet::new([FleetKey::new(vault, Role::ResponseSigning)?])?,
    /// );
    /// assert_eq!(Bundle::from_bytes(&bundle.to_bytes())?, bundle);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(fleet_id: FleetId, epoch: u64, validity: ValidityWindow, keys: KeySet) -> Self {
        Self {
            fleet_id,
            epoch,
            validity,
            keys,
        }
    }

    /// The fleet the bundle describes.
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// assert_eq!(bundle.fleet_id().as_str(), "fleet-a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fleet_id(&self) -> &FleetId {
        &self.fleet_id
    }

    /// The epoch: a counter that every newer bundle of the fleet increases.
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// assert_eq!(bundle.epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// When the bundle may be accepted.
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// assert!(bundle.validity().contains(UnixSeconds(150)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validity(&self) -> ValidityWindow {
        self.validity
    }

    /// The fleet's keys and their roles.
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// assert_eq!(bundle.keys().as_slice().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The canonical encoding of the body (the bytes the witness signs).
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// let bytes = bundle.to_bytes();
    /// assert_eq!(&bytes[..2], &[0x01, 0x01]); // version 1, bundle body
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.fleet_id.as_bytes().len() + 26 + 33 * self.keys.as_slice().len());
        write_header(&mut out, MessageType::BundleBody);
        self.fleet_id.encode(&mut out);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.validity.issued_at().0.to_be_bytes());
        out.extend_from_slice(&self.validity.expires_at().0.to_be_bytes());
        self.keys.encode(&mut out);
        out
    }

    /// Decodes a body and checks every key for its role.
    ///
    /// This authenticates nothing: use [`BundleVerifier`](crate::BundleVerifier) for bundles received from
    /// anyone.
    ///
    /// ```
    /// use fleet_bundle::{Bundle, DecodeError};
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// let mut bytes = bundle.to_bytes();
    /// bytes.push(0);
    /// assert_eq!(Bundle::from_bytes(&bytes), Err(DecodeError::TrailingBytes { count: 1 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        UncheckedBundle::decode(bytes)?
            .check_keys()
            .map_err(|(index, error)| DecodeError::InvalidKey { index, error })
    }
}

/// A structurally valid body whose keys have not yet been checked for their roles.
///
/// The verifier decodes into this first and checks keys only after the signatures, so that an "invalid key" answer
/// is always about a bundle both parties signed (evidence of a signer-side fault), never about forged bytes.
pub(crate) struct UncheckedBundle {
    fleet_id: FleetId,
    epoch: u64,
    validity: ValidityWindow,
    keys: Vec<FleetKey>,
}

impl UncheckedBundle {
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.header(MessageType::BundleBody)?;
        let fleet_id_len = reader.u8()?;
        let fleet_id = FleetId::from_wire(reader.take(usize::from(fleet_id_len))?)?;
        let epoch = reader.u64()?;
        let issued_at = UnixSeconds(reader.u64()?);
        let expires_at = UnixSeconds(reader.u64()?);
        let validity = ValidityWindow::new(issued_at, expires_at).map_err(|_| DecodeError::InvalidValidityWindow)?;
        let count = usize::from(reader.u16()?);
        if count == 0 || count > KeySet::MAX_KEYS {
            return Err(DecodeError::KeyCount { count });
        }
        let mut keys: Vec<FleetKey> = Vec::with_capacity(count);
        for index in 0..count {
            let byte = reader.u8()?;
            let role = Role::from_wire_byte(byte).ok_or(DecodeError::UnknownRole { index, byte })?;
            let public_key: [u8; 32] = reader.array()?;
            // Strictly ascending: rejects both reordering and a key listed twice (under any roles).
            if keys.last().is_some_and(|previous| previous.public_key() >= &public_key) {
                return Err(DecodeError::NonCanonicalKeyOrder { index });
            }
            keys.push(FleetKey::unchecked(public_key, role));
        }
        reader.finish()?;
        Ok(Self {
            fleet_id,
            epoch,
            validity,
            keys,
        })
    }

    pub(crate) fn fleet_id(&self) -> &FleetId {
        &self.fleet_id
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn validity(&self) -> ValidityWindow {
        self.validity
    }

    /// Applies the weak-key rules for received keys; on failure, the index of the first bad key (in encoding order).
    pub(crate) fn check_keys(self) -> Result<Bundle, (usize, KeyError)> {
        for (index, key) in self.keys.iter().enumerate() {
            key::check_received(key.public_key(), key.role()).map_err(|error| (index, error))?;
        }
        Ok(Bundle {
            fleet_id: self.fleet_id,
            epoch: self.epoch,
            validity: self.validity,
            keys: KeySet::from_canonical(self.keys),
        })
    }
}

/// A bundle with its witness signature and operator counter-signature: what the operator publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedBundle {
    bundle: Bundle,
    witness_signature: WitnessSignature,
    operator_signature: [u8; 64],
}

impl SignedBundle {
    pub(crate) fn new(bundle: Bundle, witness_signature: WitnessSignature, operator_signature: [u8; 64]) -> Self {
        Self {
            bundle,
            witness_signature,
            operator_signature,
        }
    }

    /// The bundle contents.
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// # let witness = WitnessSigner::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
    /// #     witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let signed = operator.countersign_bundle(bundle, &witness_signature)?;
    /// assert_eq!(signed.bundle().epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The witness signature over `BUNDLE_WITNESS || body`.
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// # let witness = WitnessSigner::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
    /// #     witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let signed = operator.countersign_bundle(bundle, &witness_signature)?;
    /// assert_eq!(signed.witness_signature().to_bytes().len(), 64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn witness_signature(&self) -> &WitnessSignature {
        &self.witness_signature
    }

    /// The operator counter-signature over `BUNDLE_OPERATOR || body || witness signature`.
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// # let witness = WitnessSigner::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
    /// #     witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let signed = operator.countersign_bundle(bundle, &witness_signature)?;
    /// assert_eq!(signed.operator_signature().len(), 64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn operator_signature(&self) -> &[u8; 64] {
        &self.operator_signature
    }

    /// The wire encoding that clients receive and pass to [`BundleVerifier::verify`](crate::BundleVerifier::verify).
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// # let witness = WitnessSigner::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
    /// #     witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let signed = operator.countersign_bundle(bundle, &witness_signature)?;
    /// let wire = signed.to_bytes();
    /// assert_eq!(&wire[..2], &[0x01, 0x02]); // version 1, signed bundle
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = self.bundle.to_bytes();
        Envelope {
            body: &body,
            witness_signature: self.witness_signature.to_bytes(),
            operator_signature: self.operator_signature,
        }
        .encode(MessageType::SignedBundle)
    }

    /// Decodes the wire encoding **without checking either signature** or anything about time or epochs: for
    /// tools that display bundles. Clients must use [`BundleVerifier::verify`](crate::BundleVerifier::verify).
    ///
    /// ```
    /// # use fleet_bundle::*;
    /// # let bundle = Bundle::new(FleetId::new("fleet-a")?, 7,
    /// #     ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?,
    /// #     KeySet::new([FleetKey::new([9; 32], Role::OpaqueServer)?, FleetKey::new([8; 32], Role::IplsSession)?])?);
    /// # let witness = WitnessSigner::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    /// # let operator = OperatorSigner::new(ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
    /// #     witness.verifying_key().as_bytes())?;
    /// # let witness_signature = witness.sign_bundle(&bundle);
    /// # let signed = operator.countersign_bundle(bundle, &witness_signature)?;
    /// let decoded = SignedBundle::decode_unverified(&signed.to_bytes())?;
    /// assert_eq!(decoded, signed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode_unverified(bytes: &[u8]) -> Result<Self, DecodeError> {
        let envelope = Envelope::decode(bytes, MessageType::SignedBundle)?;
        Ok(Self {
            bundle: Bundle::from_bytes(envelope.body)?,
            witness_signature: WitnessSignature::from_bytes(envelope.witness_signature),
            operator_signature: envelope.operator_signature,
        })
    }
}
