//! Every parser is total: arbitrary bytes give `Ok` or a typed error, never a panic.

use backup_protocol::{
    BackupKey, BackupRecord, DeletionReceipt, KeyRelease, LoginFinalization, LoginRequest, LoginResponse,
    PendingRegistration, RegistrationReceipt, RegistrationRequest, RegistrationResponse, RegistrationUpload,
    StreamDecryptor, VaultKeys, VaultLoginState,
};
use proptest::prelude::*;

/// Runs every decoder on `bytes`, returning how many accepted it.
fn decode_all(bytes: &[u8]) -> usize {
    [
        RegistrationRequest::from_bytes(bytes).is_ok(),
        RegistrationResponse::from_bytes(bytes).is_ok(),
        RegistrationUpload::from_bytes(bytes).is_ok(),
        RegistrationReceipt::from_bytes(bytes).is_ok(),
        LoginRequest::from_bytes(bytes).is_ok(),
        LoginResponse::from_bytes(bytes).is_ok(),
        LoginFinalization::from_bytes(bytes).is_ok(),
        KeyRelease::from_bytes(bytes).is_ok(),
        DeletionReceipt::from_bytes(bytes).is_ok(),
        BackupRecord::from_bytes(bytes).is_ok(),
        PendingRegistration::from_bytes(bytes).is_ok(),
        VaultLoginState::from_bytes(bytes).is_ok(),
        VaultKeys::from_bytes(bytes).is_ok(),
    ]
    .into_iter()
    .filter(|accepted| *accepted)
    .count()
}

/// A version byte, one of the type codes and a short user id, then arbitrary bytes: reaches the body parsers.
fn framed() -> impl Strategy<Value = Vec<u8>> {
    let types = prop::sample::select(vec![
        0x01u8, 0x02, 0x03, 0x04, 0x11, 0x12, 0x13, 0x14, 0x15, 0x21, 0x22, 0x23, 0x31, 0x41,
    ]);
    (types, prop::collection::vec(any::<u8>(), 0..700)).prop_map(|(type_code, body)| {
        let mut bytes = vec![1, type_code, 5];
        bytes.extend_from_slice(b"alice");
        bytes.extend_from_slice(&body);
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..800)) {
        // At most one decoder can accept a given byte string: the type code differs.
        prop_assert!(decode_all(&bytes) <= 1);
    }

    #[test]
    fn decoders_never_panic_on_framed_bytes(bytes in framed()) {
        prop_assert!(decode_all(&bytes) <= 1);
    }

    #[test]
    fn stream_decryptor_never_panics(
        mut bytes in prop::collection::vec(any::<u8>(), 0..3000),
        split in any::<prop::sample::Index>(),
        framed in any::<bool>(),
    ) {
        if framed && bytes.len() >= 2 {
            bytes[0] = 1;
            bytes[1] = 0x41;
        }
        let mut decryptor = StreamDecryptor::new(&BackupKey::from_bytes([3; 32]));
        let mut out = Vec::new();
        let (head, tail) = bytes.split_at(split.index(bytes.len() + 1));
        let result = decryptor.update(head, &mut out).and_then(|()| decryptor.update(tail, &mut out));
        let finished = result.and_then(|()| decryptor.finish(&mut out));
        // Random bytes are never a valid stream under this key.
        prop_assert!(finished.is_err());
        prop_assert!(out.is_empty());
    }

    #[test]
    fn recovery_key_parser_never_panics(input in ".{0,100}") {
        let _ = BackupKey::from_recovery_key(&input);
    }

    #[test]
    fn recovery_key_parser_accepts_exactly_64_hex_digits(digits in "[0-9a-fA-F]{64}") {
        prop_assert!(BackupKey::from_recovery_key(&digits).is_ok());
    }
}
