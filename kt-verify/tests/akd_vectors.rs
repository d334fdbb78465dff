//! akd's own published test vectors (facebook/akd examples/src/test_vectors/), verified through this crate against
//! the vector's root taken as it is (`UnwitnessedRoot`: the vectors carry no witness signature) and signed by a
//! test witness.

use ed25519_dalek::Signer as _;
use kt_verify::akd_core::{ExampleLabel, ExperimentalConfiguration};
use kt_verify::{
    Ciphersuite, DirectoryVerifier, HistoryScope, ProofError, ProofFailure, ProofRoot, SignedRoot, UnwitnessedRoot,
    VerifiedRoot, WhatsAppDirectoryVerifier, WitnessKey, WitnessVerifier,
};

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

/// The vector's root as published: the caller (this test) vouches for it.
fn vector_root(file: &str) -> UnwitnessedRoot {
    let digest: [u8; 32] = bytes(file, "epoch_hash").try_into().unwrap();
    UnwitnessedRoot::trusted_by_caller(field(file, "epoch").parse().unwrap(), digest)
}

/// The vector's root, signed by a test witness and verified.
fn witnessed_root(file: &str) -> VerifiedRoot {
    let root = vector_root(file);
    let (epoch, digest) = (root.epoch(), *root.digest());
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
    whatsapp_v1_vectors_verify_against(&vector_root(WHATSAPP_V1));
    whatsapp_v1_vectors_verify_against(&witnessed_root(WHATSAPP_V1));
}

fn whatsapp_v1_vectors_verify_against(root: &impl ProofRoot) {
    let label = bytes(WHATSAPP_V1, "label");
    let verifier = WhatsAppDirectoryVerifier::new(&bytes(WHATSAPP_V1, "vrf_public_key")).unwrap();

    let result = verifier
        .verify_lookup(root, &label, &bytes(WHATSAPP_V1, "lookup_proof"))
        .unwrap();
    // Label "16" is written every 16th epoch; at epoch 49 its latest value is "16,48", its third version.
    assert_eq!(
        (result.epoch(), result.version(), result.value()),
        (48, 3, &b"16,48"[..])
    );

    let recent = bytes(WHATSAPP_V1, "history_proof_recent");
    let history = verifier
        .verify_history(root, &label, &recent, HistoryScope::MostRecent(1))
        .unwrap();
    let versions: Vec<_> = history
        .iter()
        .map(|v| (v.epoch(), v.version(), v.value().to_vec()))
        .collect();
    assert_eq!(versions, [(48, 3, b"16,48".to_vec())]);
    // Requested as a complete history, the same proof is incomplete.
    assert!(
        verifier
            .verify_history(root, &label, &recent, HistoryScope::Complete)
            .is_err()
    );
}

#[test]
fn experimental_lookup_vector_verifies_only_under_its_configuration() {
    experimental_vector_verifies_against(&vector_root(EXPERIMENTAL));
    experimental_vector_verifies_against(&witnessed_root(EXPERIMENTAL));
}

#[test]
fn vector_lookup_fails_against_a_root_with_another_digest() {
    let root = vector_root(WHATSAPP_V1);
    let mut digest = *root.digest();
    digest[0] ^= 0x80;
    let other = UnwitnessedRoot::trusted_by_caller(root.epoch(), digest);
    let verifier = WhatsAppDirectoryVerifier::new(&bytes(WHATSAPP_V1, "vrf_public_key")).unwrap();
    let (label, proof) = (bytes(WHATSAPP_V1, "label"), bytes(WHATSAPP_V1, "lookup_proof"));
    assert!(verifier.verify_lookup(&root, &label, &proof).is_ok());
    assert_eq!(
        verifier.verify_lookup(&other, &label, &proof),
        Err(ProofError::Rejected(ProofFailure::Membership))
    );
}

fn experimental_vector_verifies_against(root: &impl ProofRoot) {
    let label = bytes(EXPERIMENTAL, "label");
    let lookup = bytes(EXPERIMENTAL, "lookup_proof");
    let vrf_public_key = bytes(EXPERIMENTAL, "vrf_public_key");
    let verifier = DirectoryVerifier::<ExperimentalConfiguration<ExampleLabel>>::new(&vrf_public_key).unwrap();
    let result = verifier.verify_lookup(root, &label, &lookup).unwrap();
    assert_eq!(
        (result.epoch(), result.version(), result.value()),
        (48, 3, &b"16,48"[..])
    );
    let whatsapp = WhatsAppDirectoryVerifier::new(&vrf_public_key).unwrap();
    assert!(whatsapp.verify_lookup(root, &label, &lookup).is_err());
}
