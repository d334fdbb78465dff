//! akd's own published test vectors (facebook/akd examples/src/test_vectors/), verified through this crate.

use ed25519_dalek::Signer as _;
use kt_verify::akd_core::WhatsAppV1Configuration;
use kt_verify::{Ciphersuite, DirectoryVerifier, SignedRoot, WitnessKey, WitnessVerifier};

const WHATSAPP_V1: &str = include_str!("vectors/akd_whatsapp_v1.txt");

fn field<'a>(file: &'a str, name: &str) -> &'a str {
    file.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("field {name}"))
}

#[test]
fn whatsapp_v1_lookup_vector_verifies() {
    let vrf_public_key = hex::decode(field(WHATSAPP_V1, "vrf_public_key")).unwrap();
    let digest: [u8; 32] = hex::decode(field(WHATSAPP_V1, "epoch_hash"))
        .unwrap()
        .try_into()
        .unwrap();
    let epoch: u64 = field(WHATSAPP_V1, "epoch").parse().unwrap();
    let label = hex::decode(field(WHATSAPP_V1, "label")).unwrap();
    let lookup = hex::decode(field(WHATSAPP_V1, "lookup_proof")).unwrap();

    // The vectors carry no witness signature: a test witness signs the vector's root.
    let witness = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let key = WitnessKey::new(witness.verifying_key().to_bytes(), 0).unwrap();
    let unsigned = SignedRoot::new(
        Ciphersuite::ProtobufEd25519,
        "akd",
        1,
        epoch,
        digest,
        [0; 64],
        key.key_id(),
    );
    let signature = witness.sign(&unsigned.signed_message()).to_bytes();
    let signed = SignedRoot::new(
        Ciphersuite::ProtobufEd25519,
        "akd",
        1,
        epoch,
        digest,
        signature,
        key.key_id(),
    );
    let root = WitnessVerifier::new("akd", [key], 1_000)
        .unwrap()
        .verify(&signed, 1)
        .unwrap();

    let verifier = DirectoryVerifier::<WhatsAppV1Configuration>::new(&vrf_public_key).unwrap();
    let result = verifier.verify_lookup(&root, &label, &lookup).unwrap();
    // Label "16" is written every 16th epoch; at epoch 49 its latest value is "16,48", its third version.
    assert_eq!(
        (result.epoch(), result.version(), result.value()),
        (48, 3, &b"16,48"[..])
    );
}
