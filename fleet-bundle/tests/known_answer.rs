//! The worked example of SPEC.md, byte for byte: pins the wire format so that any change to it is deliberate.
//! The same hex was checked with an independent implementation of SPEC.md (Python, `cryptography` Ed25519).

use ed25519_dalek::SigningKey;
use fleet_bundle::{
    Bundle, BundleVerifier, DeploymentRecord, DeploymentVerifier, FleetId, FleetKey, FleetKeyArtifact, KeySet,
    OperatorSigner, Role, TrustAnchors, UnixSeconds, ValidityWindow, WitnessSigner,
};
use sha2::{Digest, Sha256};

const WITNESS_KEY: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const OPERATOR_KEY: &str = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
const BODY: &str = concat!(
    "010107666c6565742d61",
    "0000000000000007",
    "000000006553f100",
    "00000000655d2b80",
    "0002",
    "022222222222222222222222222222222222222222222222222222222222222222",
    "01ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1",
);
const WITNESS_SIGNATURE: &str = concat!(
    "4c7d670e1986306a445bfec81c9c93088b86ddf799573f0230126283ead7f107",
    "890ce208ab1ccac2c7f2259a756c9120ebab7ab5ad1e701d81b16bf3adc47504",
);
const OPERATOR_SIGNATURE: &str = concat!(
    "0e0c6c373227fccdefe1376910391e100febad20ac705a443af0a203295b1da2",
    "3be916508ac8cfd096fa7ff73c5724ae249efdc553d39962cceb61b1c1f14e0d",
);
const ACCEPTED_EPOCH: &str = concat!(
    "0105",
    "07666c6565742d61",
    "0000000000000007594576aba6092718cf21a6aeac9b1085267f5c4e6190fb58edab1a63ab6c0d8c",
);
const ARTIFACT: &str = concat!(
    r#"{"fleet_id":"fleet-a","epoch":7,"keys":["#,
    r#"{"public_key":"2222222222222222222222222222222222222222222222222222222222222222","role":"opaque_server"},"#,
    r#"{"public_key":"ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1","role":"response_signing"}]}"#,
);
const RECORD_BODY: &str = concat!(
    "010307666c6565742d61",
    "0000000000000007",
    "385d47844d784a72f72bb38d5b171cc1f147b700498a613d76b3cec2be8d4ab4",
);
const RECORD_WITNESS_SIGNATURE: &str = concat!(
    "1e0101b2d503e6fc28a7ea8642c7f374be4fe0174c0c02e12a2342c648c837a0",
    "f3a0333c43789300b506aaea931238f2c69f4d81be0319bd4a7f07a1b82e7f0b",
);
const RECORD_OPERATOR_SIGNATURE: &str = concat!(
    "b10b15758d40f6922fcb45e0691e805dec4538c9326fb1d3c5d91d878d0a9201",
    "406970dc51b3a93a6efb4b6ddd0d06d4f46adc1f2afb265df6fcc46d4d6e2708",
);

#[test]
fn spec_worked_example() {
    let witness = WitnessSigner::new(SigningKey::from_bytes(&[0x01; 32]));
    let operator =
        OperatorSigner::new(SigningKey::from_bytes(&[0x02; 32]), witness.verifying_key().as_bytes()).expect("distinct");
    assert_eq!(hex::encode(witness.verifying_key().as_bytes()), WITNESS_KEY);
    assert_eq!(hex::encode(operator.verifying_key().as_bytes()), OPERATOR_KEY);

    let vault = SigningKey::from_bytes(&[0x03; 32]).verifying_key().to_bytes();
    let keys = KeySet::new([
        FleetKey::new(vault, Role::ResponseSigning).expect("strong"),
        FleetKey::new([0x22; 32], Role::OpaqueServer).expect("nonzero"),
    ])
    .expect("distinct");
    let fleet = FleetId::new("fleet-a").expect("valid");
    let bundle = Bundle::new(
        fleet.clone(),
        7,
        ValidityWindow::new(UnixSeconds(1_700_000_000), UnixSeconds(1_700_604_800)).expect("window"),
        keys.clone(),
    );
    assert_eq!(hex::encode(bundle.to_bytes()), BODY);

    let witness_signature = witness.sign_bundle(&bundle);
    assert_eq!(hex::encode(witness_signature.to_bytes()), WITNESS_SIGNATURE);
    let signed = operator.countersign_bundle(bundle, &witness_signature).expect("valid");
    assert_eq!(hex::encode(signed.operator_signature()), OPERATOR_SIGNATURE);
    let wire = signed.to_bytes();
    assert_eq!(
        hex::encode(&wire),
        format!("01020066{BODY}{WITNESS_SIGNATURE}{OPERATOR_SIGNATURE}")
    );

    let anchors = TrustAnchors::new(
        fleet.clone(),
        witness.verifying_key().as_bytes(),
        operator.verifying_key().as_bytes(),
    )
    .expect("strong");
    let verified = BundleVerifier::new(anchors.clone())
        .verify(&wire, UnixSeconds(1_700_000_000), None)
        .expect("valid");
    assert_eq!(hex::encode(verified.accepted_epoch().to_bytes()), ACCEPTED_EPOCH);
    // The state's parts: the fleet, the epoch and SHA-256 of the body (computed here with sha2).
    let state = verified.accepted_epoch();
    assert_eq!(state.fleet_id(), &fleet);
    assert_eq!(state.epoch(), 7);
    let body_digest: [u8; 32] = Sha256::digest(hex::decode(BODY).expect("hex")).into();
    assert_eq!(state.body_digest(), &body_digest);
    assert!(ACCEPTED_EPOCH.ends_with(&hex::encode(body_digest)));

    let artifact = FleetKeyArtifact::new(fleet.clone(), 7, keys).to_json();
    assert_eq!(artifact, ARTIFACT.as_bytes());
    let record = DeploymentRecord::for_artifact(fleet, 7, &artifact);
    assert_eq!(hex::encode(record.to_bytes()), RECORD_BODY);
    let record_witness_signature = witness.sign_deployment(&record);
    assert_eq!(
        hex::encode(record_witness_signature.to_bytes()),
        RECORD_WITNESS_SIGNATURE
    );
    let signed_record = operator
        .countersign_deployment(record, &record_witness_signature)
        .expect("valid");
    let record_wire = signed_record.to_bytes();
    assert_eq!(
        hex::encode(signed_record.operator_signature()),
        RECORD_OPERATOR_SIGNATURE
    );
    assert_eq!(
        hex::encode(signed_record.witness_signature().to_bytes()),
        RECORD_WITNESS_SIGNATURE
    );
    assert_eq!(
        hex::encode(&record_wire),
        format!("01040032{RECORD_BODY}{RECORD_WITNESS_SIGNATURE}{RECORD_OPERATOR_SIGNATURE}")
    );
    let deployment = DeploymentVerifier::new(anchors)
        .verify(&record_wire, &artifact)
        .expect("valid");
    assert!(verified.matches_deployment(&deployment));
    assert_eq!(deployment.signed_record(), &signed_record);
}
