//! Recovery-key vectors: K ↔ its 64-digit display form, and the tolerant parser's accept/reject decisions.

use backup_protocol::{BackupKey, RecoveryKey, RecoveryKeyError};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

const KEYS: [[u8; 32]; 3] = [
    [0x00; 32],
    [0xff; 32],
    [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23,
        0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
    ],
];

fn error_name(error: RecoveryKeyError) -> &'static str {
    match error {
        RecoveryKeyError::InvalidCharacter { .. } => "InvalidCharacter",
        RecoveryKeyError::WrongLength { .. } => "WrongLength",
        _ => "Other",
    }
}

/// The vector file.
pub fn generate() -> Value {
    let format: Vec<Value> = KEYS
        .iter()
        .map(|key| {
            let shown = RecoveryKey::from_backup_key(&BackupKey::from_bytes(*key));
            json!({"comment": "display form", "flags": [], "key": hex::encode(key),
                   "recoveryKey": shown.expose_secret(), "result": "valid"})
        })
        .collect();
    let digits = hex::encode(KEYS[2]);
    let inputs = [
        (digits.to_uppercase(), "upper case"),
        (format!("  {digits}\n"), "surrounding whitespace"),
        (
            digits
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-"),
            "dashes",
        ),
        (digits[..63].to_string(), "63 digits"),
        (format!("{digits}0"), "65 digits"),
        (String::new(), "empty"),
        (format!("{}g{}", &digits[..10], &digits[11..]), "non-hex letter"),
        (format!("{}_{}", &digits[..32], &digits[32..]), "underscore separator"),
        (format!("{}é{}", &digits[..10], &digits[11..]), "non-ASCII character"),
    ];
    let parse: Vec<Value> = inputs
        .iter()
        .map(|(input, comment)| match BackupKey::from_recovery_key(input) {
            Ok(key) => json!({"comment": comment, "flags": [], "input": input,
                              "key": hex::encode(key.expose_secret()), "result": "valid"}),
            Err(error) => json!({"comment": comment, "flags": [], "input": input,
                                 "error": error_name(error), "result": "invalid"}),
        })
        .collect();
    json::file(
        "RECOVERY-KEY-64HEX",
        "recovery_key.schema.json",
        &json!({
            "display": "K as 64 lower-case hex digits, high nibble first, 16 groups of 4 separated by one space",
            "parse": "either case; ASCII whitespace and '-' ignored anywhere; anything else InvalidCharacter; not exactly 64 digits WrongLength",
        }),
        vec![
            json!({"type": "RecoveryKeyFormat", "tests": format}),
            json!({"type": "RecoveryKeyParse", "tests": parse}),
        ],
    )
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    match json::text(group, "type")? {
        "RecoveryKeyFormat" => {
            let key = BackupKey::from_bytes(json::array(test, "key")?);
            let shown = RecoveryKey::from_backup_key(&key);
            if shown.expose_secret() != json::text(test, "recoveryKey")? {
                return Err(fail(test, "display form differs"));
            }
            Ok(())
        }
        "RecoveryKeyParse" => {
            let parsed = BackupKey::from_recovery_key(json::text(test, "input")?);
            match (json::valid(test)?, parsed) {
                (true, Ok(key)) if key.expose_secret() == &json::array::<32>(test, "key")? => Ok(()),
                (false, Err(error)) if error_name(error) == json::text(test, "error")? => Ok(()),
                _ => Err(fail(test, "parse result differs")),
            }
        }
        other => Err(format!("unknown group type {other}")),
    }
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
