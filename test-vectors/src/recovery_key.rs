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

/// `error` (the variant's name) and its field: `position` (the refused byte's offset) or `digits`.
fn error_fields(error: RecoveryKeyError) -> Value {
    match error {
        RecoveryKeyError::InvalidCharacter { position } => json!({"error": "InvalidCharacter", "position": position}),
        RecoveryKeyError::WrongLength { digits } => json!({"error": "WrongLength", "digits": digits}),
        _ => json!({"error": "Other"}),
    }
}

/// The separators SPEC §9 skips, and bytes or characters it refuses that some languages call whitespace.
const ACCEPTED: [(char, &str); 6] = [
    ('\t', "tab 0x09"),
    ('\n', "line feed 0x0A"),
    ('\x0c', "form feed 0x0C"),
    ('\r', "carriage return 0x0D"),
    (' ', "space 0x20"),
    ('-', "dash 0x2D"),
];
const REFUSED: [(char, &str); 6] = [
    ('\x0b', "vertical tab 0x0B (whitespace to C, Python and JavaScript)"),
    ('\x1f', "unit separator 0x1F (whitespace to Python)"),
    ('\u{85}', "next line U+0085"),
    ('\u{a0}', "no-break space U+00A0 (two UTF-8 bytes)"),
    ('\u{3000}', "ideographic space U+3000 (three UTF-8 bytes)"),
    ('\u{feff}', "byte order mark U+FEFF"),
];

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
    let mut inputs = vec![
        (digits.to_uppercase(), "upper case".to_string()),
        (format!("  {digits}\n"), "surrounding whitespace".to_string()),
        (
            digits
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-"),
            "dashes".to_string(),
        ),
    ];
    for (separator, name) in ACCEPTED {
        inputs.push((
            format!(
                "{separator}{}{separator}{separator}{}{separator}",
                &digits[..32],
                &digits[32..]
            ),
            format!("{name} before, inside and after: skipped"),
        ));
    }
    for (refused, name) in REFUSED {
        inputs.push((
            format!("{}{refused}{}", &digits[..32], &digits[32..]),
            format!("{name} at byte 32: refused"),
        ));
    }
    inputs.extend([
        (digits[..63].to_string(), "63 digits".to_string()),
        (format!("{digits}0"), "65 digits".to_string()),
        (String::new(), "empty".to_string()),
        (
            format!("{}g{}", &digits[..10], &digits[11..]),
            "non-hex letter".to_string(),
        ),
        (
            format!("{}_{}", &digits[..32], &digits[32..]),
            "underscore separator".to_string(),
        ),
        (
            format!("{}é{}", &digits[..10], &digits[11..]),
            "non-ASCII character".to_string(),
        ),
        (
            format!("{}-\t {}x", &digits[..8], &digits[8..]),
            "refused byte after 64 digits and separators: its offset counts the separators; not WrongLength"
                .to_string(),
        ),
        (format!("é{digits}"), "non-ASCII first character: offset 0".to_string()),
    ]);
    let parse: Vec<Value> = inputs
        .iter()
        .map(|(input, comment)| match BackupKey::from_recovery_key(input) {
            Ok(key) => json!({"comment": comment, "flags": [], "input": input,
                              "key": hex::encode(key.expose_secret()), "result": "valid"}),
            Err(error) => json::with_fields(
                &error_fields(error),
                vec![
                    ("comment", json!(comment)),
                    ("flags", json!([])),
                    ("input", json!(input)),
                    ("result", json!("invalid")),
                ],
            ),
        })
        .collect();
    json::file(
        "RECOVERY-KEY-64HEX",
        "recovery_key.schema.json",
        &json!({
            "display": "K as 64 lower-case hex digits, high nibble first, 16 groups of 4 separated by one space",
            "parse": "the input's UTF-8 bytes in order: a hex digit in either case is the next nibble; ASCII whitespace (exactly 0x09, 0x0A, 0x0C, 0x0D, 0x20; not 0x0B, no non-ASCII space) and '-' (0x2D) are skipped anywhere; any other byte is InvalidCharacter, reported at once; only then, not exactly 64 digits is WrongLength",
            "position": "InvalidCharacter's position: the zero-based byte offset of the refused byte in the input's UTF-8 encoding (equal to its index in code points or UTF-16 units, since every byte before it is ASCII)",
            "digits": "WrongLength's digits: how many hex digits the input holds",
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
                (false, Err(error)) if error_matches(&error_fields(error), test) => Ok(()),
                _ => Err(fail(test, "parse result differs")),
            }
        }
        other => Err(format!("unknown group type {other}")),
    }
}

/// The error's name and field equal the test's, and the test carries no other error field.
fn error_matches(expected: &Value, test: &Map<String, Value>) -> bool {
    ["error", "position", "digits"]
        .iter()
        .all(|field| expected.get(field) == test.get(*field))
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
