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
