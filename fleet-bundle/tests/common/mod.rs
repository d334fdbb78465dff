//! Shared fixtures, and an encoder written from SPEC.md alone (not from the library) so that tests can craft
//! encodings the library's own constructors refuse to build.
#![allow(dead_code)] // each test binary uses a different subset

use ed25519_dalek::{Signer, SigningKey};
use fleet_bundle::{
    Bundle, BundleVerifier, DeploymentRecord, DeploymentVerifier, FleetId, FleetKey, FleetKeyArtifact, KeySet,
    OperatorSigner, Role, TrustAnchors, UnixSeconds, ValidityWindow, WitnessSigner,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub(crate) const FLEET: &str = "fleet-a";
pub(crate) const ISSUED_AT: u64 = 1_700_000_000;
pub(crate) const EXPIRES_AT: u64 = ISSUED_AT + 7 * 86_400;
pub(crate) const NOW: UnixSeconds = UnixSeconds(ISSUED_AT + 3_600);

/// Labels as spelled in SPEC.md.
pub(crate) const BUNDLE_WITNESS: &[u8] = b"fleet-bundle/v1/bundle/witness";
pub(crate) const BUNDLE_OPERATOR: &[u8] = b"fleet-bundle/v1/bundle/operator";
pub(crate) const DEPLOYMENT_WITNESS: &[u8] = b"fleet-bundle/v1/deployment/witness";
pub(crate) const DEPLOYMENT_OPERATOR: &[u8] = b"fleet-bundle/v1/deployment/operator";

/// Message type bytes as in SPEC.md.
pub(crate) const TYPE_BUNDLE_BODY: u8 = 0x01;
pub(crate) const TYPE_SIGNED_BUNDLE: u8 = 0x02;
pub(crate) const TYPE_DEPLOYMENT_BODY: u8 = 0x03;
pub(crate) const TYPE_SIGNED_DEPLOYMENT: u8 = 0x04;

/// The encoding of the identity point: the classic weak Ed25519 key.
pub(crate) const IDENTITY: [u8; 32] = {
    let mut bytes = [0; 32];
    bytes[0] = 1;
    bytes
};

/// The two signing parties and the fleet's own key material.
pub(crate) struct Parties {
    pub(crate) witness_key: SigningKey,
    pub(crate) operator_key: SigningKey,
    pub(crate) vault_keys: Vec<SigningKey>,
}

impl Parties {
    /// Deterministic keys from a seeded RNG, so failures reproduce.
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Self {
            witness_key: SigningKey::generate(&mut rng),
            operator_key: SigningKey::generate(&mut rng),
            vault_keys: (0..4).map(|_| SigningKey::generate(&mut rng)).collect(),
        }
    }

    pub(crate) fn witness(&self) -> WitnessSigner {
        WitnessSigner::new(self.witness_key.clone())
    }

    pub(crate) fn operator(&self) -> OperatorSigner {
        OperatorSigner::new(self.operator_key.clone(), self.witness_key.verifying_key().as_bytes())
            .expect("distinct strong keys")
    }

    pub(crate) fn anchors(&self) -> TrustAnchors {
        self.anchors_for(fleet())
    }

    /// The same witness and operator, pinned for `fleet_id`.
    pub(crate) fn anchors_for(&self, fleet_id: FleetId) -> TrustAnchors {
        TrustAnchors::new(
            fleet_id,
            self.witness_key.verifying_key().as_bytes(),
            self.operator_key.verifying_key().as_bytes(),
        )
        .expect("strong keys")
    }

    /// Publishes `keys` for `fleet_id` at `epoch`: the signed deployment record's bytes and the canonical artifact.
    pub(crate) fn publish_for(&self, fleet_id: FleetId, epoch: u64, keys: KeySet) -> (Vec<u8>, Vec<u8>) {
        let artifact = FleetKeyArtifact::new(fleet_id.clone(), epoch, keys).to_json();
        let record = DeploymentRecord::for_artifact(fleet_id, epoch, &artifact);
        let witness_signature = self.witness().sign_deployment(&record);
        let signed = self
            .operator()
            .countersign_deployment(record, &witness_signature)
            .expect("valid witness signature");
        (signed.to_bytes(), artifact)
    }

    pub(crate) fn verifier(&self) -> BundleVerifier {
        BundleVerifier::new(self.anchors())
    }

    pub(crate) fn deployment_verifier(&self) -> DeploymentVerifier {
        DeploymentVerifier::new(self.anchors())
    }

    /// A realistic key set: two response-signing keys, one OPAQUE and one IPLS key.
    pub(crate) fn keys(&self) -> KeySet {
        let vault = |i: usize| self.vault_keys[i].verifying_key().to_bytes();
        KeySet::new([
            FleetKey::new(vault(0), Role::ResponseSigning).expect("strong"),
            FleetKey::new(vault(1), Role::ResponseSigning).expect("strong"),
            FleetKey::new(vault(2), Role::OpaqueServer).expect("nonzero"),
            FleetKey::new(vault(3), Role::IplsSession).expect("nonzero"),
        ])
        .expect("distinct keys")
    }

    pub(crate) fn bundle(&self, epoch: u64) -> Bundle {
        Bundle::new(fleet(), epoch, window(ISSUED_AT, EXPIRES_AT), self.keys())
    }

    /// The library's signed encoding of `bundle`.
    pub(crate) fn sign(&self, bundle: Bundle) -> Vec<u8> {
        let witness_signature = self.witness().sign_bundle(&bundle);
        self.operator()
            .countersign_bundle(bundle, &witness_signature)
            .expect("valid witness signature")
            .to_bytes()
    }

    /// Signs a raw bundle body as SPEC.md describes, whatever the body contains.
    pub(crate) fn sign_raw_bundle(&self, body: &[u8]) -> Vec<u8> {
        let witness_signature = sign(&self.witness_key, &[BUNDLE_WITNESS, body]);
        let operator_signature = sign(&self.operator_key, &[BUNDLE_OPERATOR, body, &witness_signature]);
        raw_envelope(TYPE_SIGNED_BUNDLE, body, &witness_signature, &operator_signature)
    }

    /// Signs a raw deployment-record body as SPEC.md describes.
    pub(crate) fn sign_raw_deployment(&self, body: &[u8]) -> Vec<u8> {
        let witness_signature = sign(&self.witness_key, &[DEPLOYMENT_WITNESS, body]);
        let operator_signature = sign(&self.operator_key, &[DEPLOYMENT_OPERATOR, body, &witness_signature]);
        raw_envelope(TYPE_SIGNED_DEPLOYMENT, body, &witness_signature, &operator_signature)
    }
}

pub(crate) fn fleet() -> FleetId {
    FleetId::new(FLEET).expect("valid fleet id")
}

pub(crate) fn window(issued_at: u64, expires_at: u64) -> ValidityWindow {
    ValidityWindow::new(UnixSeconds(issued_at), UnixSeconds(expires_at)).expect("non-empty window")
}

/// Ed25519 over the concatenation of `parts`.
pub(crate) fn sign(key: &SigningKey, parts: &[&[u8]]) -> [u8; 64] {
    key.sign(&parts.concat()).to_bytes()
}

/// A bundle body per SPEC.md. `entries` are written in the order given (the caller decides canonicity).
pub(crate) fn raw_bundle_body(
    fleet_id: &[u8],
    epoch: u64,
    issued_at: u64,
    expires_at: u64,
    entries: &[(u8, [u8; 32])],
) -> Vec<u8> {
    let mut out = vec![0x01, TYPE_BUNDLE_BODY, u8::try_from(fleet_id.len()).expect("short id")];
    out.extend_from_slice(fleet_id);
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&issued_at.to_be_bytes());
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(&u16::try_from(entries.len()).expect("few entries").to_be_bytes());
    for (role, key) in entries {
        out.push(*role);
        out.extend_from_slice(key);
    }
    out
}

/// A deployment-record body per SPEC.md.
pub(crate) fn raw_deployment_body(fleet_id: &[u8], epoch: u64, digest: &[u8; 32]) -> Vec<u8> {
    let mut out = vec![
        0x01,
        TYPE_DEPLOYMENT_BODY,
        u8::try_from(fleet_id.len()).expect("short id"),
    ];
    out.extend_from_slice(fleet_id);
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(digest);
    out
}

/// A signed envelope per SPEC.md.
pub(crate) fn raw_envelope(
    message_type: u8,
    body: &[u8],
    witness_signature: &[u8; 64],
    operator_signature: &[u8; 64],
) -> Vec<u8> {
    let mut out = vec![0x01, message_type];
    out.extend_from_slice(&u16::try_from(body.len()).expect("short body").to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(witness_signature);
    out.extend_from_slice(operator_signature);
    out
}

/// Entries of `keys` as (role byte, key) in canonical order.
pub(crate) fn entries(keys: &KeySet) -> Vec<(u8, [u8; 32])> {
    keys.iter()
        .map(|key| (key.role().wire_byte(), *key.public_key()))
        .collect()
}

/// `l`, the Ed25519 group order, little-endian (RFC 8032 section 5.1).
pub(crate) const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The signature with `S` replaced by `S + l`: the same group element, a non-canonical encoding (malleability).
pub(crate) fn malleate(signature: &[u8; 64]) -> [u8; 64] {
    let mut out = *signature;
    let mut carry = 0u16;
    for (byte, l) in out[32..].iter_mut().zip(GROUP_ORDER) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + l < 2^256 since S < l < 2^253");
    out
}

/// Canonical encodings of the eight points of small order, as listed in "Taming the many EdDSAs"
/// (Chalkias, Garillot, Nikolaenko, SSR 2020), table 6; each is checked against dalek's `is_weak` in the tests.
pub(crate) const SMALL_ORDER_POINTS: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];

pub(crate) fn small_order_points() -> Vec<[u8; 32]> {
    SMALL_ORDER_POINTS
        .iter()
        .map(|text| {
            let mut out = [0; 32];
            hex::decode_to_slice(text, &mut out).expect("hex");
            out
        })
        .collect()
}
