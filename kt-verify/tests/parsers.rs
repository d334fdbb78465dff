//! Every parser is total: arbitrary bytes give `Ok` or a typed error, never a panic; and what parses re-encodes
//! to the same bytes.

use std::sync::OnceLock;

use kt_verify::{SecurityCode, SignedRoot};
use proptest::prelude::*;

/// One code for all cases: computing it costs 10 400 SHA-512 calls.
fn code() -> &'static SecurityCode {
    static CODE: OnceLock<SecurityCode> = OnceLock::new();
    CODE.get_or_init(|| SecurityCode::new(1, b"a", &[1], b"b", &[2]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn signed_root_parser_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(root) = SignedRoot::from_protobuf(&bytes) {
            prop_assert_eq!(root.to_protobuf(), bytes);
        }
    }

    #[test]
    fn qr_payload_parser_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = code().matches_qr_payload(&bytes);
    }

    #[test]
    fn signed_root_near_valid_inputs(index in 0usize..150, byte in any::<u8>(), cut in 0usize..160) {
        let root = SignedRoot::new(kt_verify::Ciphersuite::ProtobufEd25519, "ns.example", 1, 2, [3; 32], [4; 64], 5);
        let mut wire = root.to_protobuf();
        if index < wire.len() {
            wire[index] = byte;
        }
        wire.truncate(cut);
        if let Ok(parsed) = SignedRoot::from_protobuf(&wire) {
            prop_assert_eq!(parsed.to_protobuf(), wire);
        }
    }
}

mod proofs {
    //! The akd proof decoders behind `DirectoryVerifier` are total too.

    use std::sync::OnceLock;

    use ed25519_dalek::Signer as _;
    use kt_verify::akd_core::WhatsAppV1Configuration;
    use kt_verify::{
        Ciphersuite, DirectoryVerifier, HistoryScope, SignedRoot, VerifiedRoot, WitnessKey, WitnessVerifier,
    };
    use proptest::prelude::*;

    fn fixture() -> &'static (VerifiedRoot, DirectoryVerifier<WhatsAppV1Configuration>) {
        static FIXTURE: OnceLock<(VerifiedRoot, DirectoryVerifier<WhatsAppV1Configuration>)> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let witness = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
            let key = WitnessKey::new(witness.verifying_key().to_bytes(), 0).unwrap();
            let suite = Ciphersuite::ProtobufEd25519;
            let unsigned = SignedRoot::new(suite, "ns", 1, 5, [1; 32], [0; 64], key.key_id());
            let signature = witness.sign(&unsigned.signed_message()).to_bytes();
            let signed = SignedRoot::new(suite, "ns", 1, 5, [1; 32], signature, key.key_id());
            let root = WitnessVerifier::new("ns", [key], 10)
                .unwrap()
                .verify(&signed, 1)
                .unwrap();
            // Any valid point serves as VRF key here.
            let directory = DirectoryVerifier::new(witness.verifying_key().as_bytes()).unwrap();
            (root, directory)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn lookup_and_history_decoders_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let (root, directory) = fixture();
            prop_assert!(directory.verify_lookup(root, b"label", &bytes).is_err());
            prop_assert!(directory.verify_history(root, b"label", &bytes, HistoryScope::Complete).is_err());
        }
    }
}
