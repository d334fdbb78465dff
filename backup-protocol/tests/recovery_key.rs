//! The 64-digit recovery key: formatting, tolerant parsing, and typed errors that reveal no digits.

use backup_protocol::{BackupKey, RecoveryKey, RecoveryKeyError};

const KEY: [u8; 32] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45,
    0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
];

#[test]
fn formats_as_sixteen_groups_of_four_digits() {
    let shown = RecoveryKey::from_backup_key(&BackupKey::from_bytes(KEY));
    assert_eq!(
        shown.expose_secret(),
        "0011 2233 4455 6677 8899 aabb ccdd eeff 0123 4567 89ab cdef fedc ba98 7654 3210"
    );
    assert_eq!(format!("{shown:?}"), "RecoveryKey { .. }");
}

#[test]
fn parsing_tolerates_case_whitespace_and_dashes() {
    let expected = BackupKey::from_bytes(KEY);
    for input in [
        "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210",
        "0011 2233 4455 6677 8899 AABB CCDD EEFF 0123 4567 89AB CDEF FEDC BA98 7654 3210",
        "  0011-2233-4455-6677\n8899-aabb-ccdd-eeff\t0123-4567-89ab-cdef-fedc-ba98-7654-3210 ",
    ] {
        assert_eq!(BackupKey::from_recovery_key(input).unwrap(), expected, "{input:?}");
    }
}

#[test]
fn round_trips_random_keys() {
    for seed in 0..64u8 {
        let key = BackupKey::from_bytes([seed.wrapping_mul(37); 32]);
        let shown = RecoveryKey::from_backup_key(&key);
        assert_eq!(BackupKey::from_recovery_key(shown.expose_secret()).unwrap(), key);
    }
}

#[test]
fn wrong_lengths_and_characters_are_typed_errors() {
    let full = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
    assert_eq!(
        BackupKey::from_recovery_key(&full[..63]),
        Err(RecoveryKeyError::WrongLength { digits: 63 })
    );
    assert_eq!(
        BackupKey::from_recovery_key(&format!("{full}0")),
        Err(RecoveryKeyError::WrongLength { digits: 65 })
    );
    assert_eq!(
        BackupKey::from_recovery_key(""),
        Err(RecoveryKeyError::WrongLength { digits: 0 })
    );
    let mut typo = full.to_string();
    typo.replace_range(10..11, "g");
    assert_eq!(
        BackupKey::from_recovery_key(&typo),
        Err(RecoveryKeyError::InvalidCharacter { position: 10 })
    );
    assert_eq!(
        BackupKey::from_recovery_key("0011 22é3"),
        Err(RecoveryKeyError::InvalidCharacter { position: 7 })
    );
    // The message names the position, not the character or any digit.
    assert_eq!(
        RecoveryKeyError::InvalidCharacter { position: 10 }.to_string(),
        "character 10 is not a hexadecimal digit"
    );
}

/// SPEC §9: the accepted whitespace is exactly tab, line feed, form feed, carriage return and space.
#[test]
fn each_ascii_whitespace_byte_and_dash_is_skipped() {
    let full = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
    for separator in ['\t', '\n', '\x0c', '\r', ' ', '-'] {
        let input = format!("{separator}{}{separator}{}{separator}", &full[..32], &full[32..]);
        assert_eq!(
            BackupKey::from_recovery_key(&input),
            Ok(BackupKey::from_bytes(KEY)),
            "{separator:?}"
        );
    }
}

/// Vertical tab, the other C0 separators and Unicode spaces are refused, at the byte offset where they start.
#[test]
fn vertical_tab_and_non_ascii_spaces_are_refused_at_their_byte_offset() {
    let full = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
    for refused in [
        '\x0b', '\x1c', '\x1f', '\u{85}', '\u{a0}', '\u{2003}', '\u{3000}', '\u{feff}',
    ] {
        let input = format!("{}{refused}{}", &full[..32], &full[32..]);
        assert_eq!(
            BackupKey::from_recovery_key(&input),
            Err(RecoveryKeyError::InvalidCharacter { position: 32 }),
            "{refused:?}"
        );
    }
}

/// The first refused byte wins over a wrong length, and its offset counts every byte before it.
#[test]
fn the_first_refused_byte_is_reported_before_the_length() {
    assert_eq!(
        BackupKey::from_recovery_key("ab - \t g"),
        Err(RecoveryKeyError::InvalidCharacter { position: 7 })
    );
    assert_eq!(
        BackupKey::from_recovery_key("é"),
        Err(RecoveryKeyError::InvalidCharacter { position: 0 })
    );
    // A refused byte after 64 digits is still an invalid character, not a wrong length.
    let full = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
    assert_eq!(
        BackupKey::from_recovery_key(&format!("{full}00x")),
        Err(RecoveryKeyError::InvalidCharacter { position: 66 })
    );
}

proptest::proptest! {
    /// The parser agrees with the SPEC's rule on any input: skip the six separator bytes, refuse the first byte
    /// that is not a hexadecimal digit at its offset, then count digits.
    #[test]
    fn parser_follows_the_byte_rule(input in "[0-9a-fA-F \t\n\x0b\x0c\r\u{a0}é_-]{0,80}") {
        let separators = [0x09u8, 0x0a, 0x0c, 0x0d, 0x20, b'-'];
        let mut digits = Vec::new();
        let mut expected = None;
        for (position, byte) in input.bytes().enumerate() {
            if separators.contains(&byte) {
                continue;
            }
            if !byte.is_ascii_hexdigit() {
                expected = Some(Err(RecoveryKeyError::InvalidCharacter { position }));
                break;
            }
            digits.push(byte);
        }
        let expected = expected.unwrap_or_else(|| {
            if digits.len() == 64 {
                let bytes: [u8; 32] = hex::decode(&digits).unwrap().try_into().unwrap();
                Ok(BackupKey::from_bytes(bytes))
            } else {
                Err(RecoveryKeyError::WrongLength { digits: digits.len() })
            }
        });
        proptest::prop_assert_eq!(BackupKey::from_recovery_key(&input), expected);
    }
}
