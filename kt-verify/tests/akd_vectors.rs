//! akd's own published test vectors (facebook/akd examples/src/test_vectors/), verified through this crate.

use ed25519_dalek::Signer as _;
use kt_verify::akd_core::{ExampleLabel, ExperimentalConfiguration, WhatsAppV1Configuration};
use kt_verify::{Ciphersuite, DirectoryVerifier, HistoryScope, SignedRoot, VerifiedRoot, WitnessKey, WitnessVerifier};

const WHATSAPP_V1: &str = include_str!("vectors/akd_whatsapp_v1.txt");
const EXPERIMENTAL: &str = include_str!("vectors/akd_experimental.txt");

fn field<'a>(file: &'a str, name: &str) -> &'a str {
    file.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("field {name}"))
}

fn bytes(file: &str, name: &str) -> Vec<u8> {
    hex::decode(field(file, name)).unwrap()
}

/// The vector's root, signed by a test witness (the vectors carry no witness signature) and verified.
fn witnessed_root(file: &str) -> VerifiedRoot {
    let digest: [u8; 32] = bytes(file, "epoch_hash").try_into().unwrap();
    let epoch: u64 = field(file, "epoch").parse().unwrap();
    let witness = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let key = WitnessKey::new(witness.verifying_key().to_bytes(), 0).unwrap();
    let suite = Ciphersuite::ProtobufEd25519;
    let unsigned = SignedRoot::new(suite, "akd", 1, epoch, digest, [0; 64], key.key_id());
    let signature = witness.sign(&unsigned.signed_message()).to_bytes();
    let signed = SignedRoot::new(suite, "akd", 1, epoch, digest, signature, key.key_id());
    WitnessVerifier::new("akd", [key], 1_000)
        .unwrap()
        .verify(&signed, 1)
        .unwrap()
}

#[test]
fn whatsapp_v1_lookup_and_history_vectors_verify() {
    let root = witnessed_root(WHATSAPP_V1);
    let label = bytes(WHATSAPP_V1, "label");
    let verifier = DirectoryVerifier::<WhatsAppV1Configuration>::new(&bytes(WHATSAPP_V1, "vrf_public_key")).unwrap();

    let result = verifier
        .verify_lookup(&root, &label, &bytes(WHATSAPP_V1, "lookup_proof"))
        .unwrap();
    // Label "16" is written every 16th epoch; at epoch 49 its latest value is "16,48", its third version.
    assert_eq!(
        (result.epoch(), result.version(), result.value()),
        (48, 3, &b"16,48"[..])
    );

    let recent = bytes(WHATSAPP_V1, "history_proof_recent");
    let history = verifier
        .verify_history(&root, &label, &recent, HistoryScope::MostRecent(1))
        .unwrap();
    let versions: Vec<_> = history
        .iter()
        .map(|v| (v.epoch(), v.version(), v.value().to_vec()))
        .collect();
    assert_eq!(versions, [(48, 3, b"16,48".to_vec())]);
    // Requested as a complete history, the same proof is incomplete.
    assert!(
        verifier
            .verify_history(&root, &label, &recent, HistoryScope::Complete)
            .is_err()
    );
}

#[test]
fn experimental_lookup_vector_verifies_only_under_its_configuration() {
    let root = witnessed_root(EXPERIMENTAL);
    let label = bytes(EXPERIMENTAL, "label");
    let lookup = bytes(EXPERIMENTAL, "lookup_proof");
    let vrf_public_key = bytes(EXPERIMENTAL, "vrf_public_key");
    let verifier = DirectoryVerifier::<ExperimentalConfiguration<ExampleLabel>>::new(&vrf_public_key).unwrap();
    let result = verifier.verify_lookup(&root, &label, &lookup).unwrap();
    assert_eq!(
        (result.epoch(), result.version(), result.value()),
        (48, 3, &b"16,48"[..])
    );
    let whatsapp = DirectoryVerifier::<WhatsAppV1Configuration>::new(&vrf_public_key).unwrap();
    assert!(whatsapp.verify_lookup(&root, &label, &lookup).is_err());
}
