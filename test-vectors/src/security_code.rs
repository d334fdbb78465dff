//! Security-code vectors (kt-verify `SecurityCode`): each party's iterated SHA-512 fingerprint, its 30 digits, the
//! 60-digit code and the QR payload; and scanned payloads that must not match (other key, other version, malformed).

use std::fmt::Write as _;

use kt_verify::{ITERATIONS, SecurityCode, SecurityCodeError};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha512};

use crate::json::{self, fail};

/// signalapp/libsignal `rust/protocol/src/fingerprint.rs`, tests `fingerprint_test_v1` and `fingerprint_test_v2`
/// (the same values as libsignal's Java `testVectorsVersion1/2`).
const LIBSIGNAL_SOURCE: &str =
    "signalapp/libsignal rust/protocol/src/fingerprint.rs, tests fingerprint_test_v1 / fingerprint_test_v2";
const ALICE_ID: &[u8] = b"+14152222222";
const ALICE_KEY: &str = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868";
const BOB_ID: &[u8] = b"+14153333333";
const BOB_KEY: &str = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b";
/// The displayable fingerprint libsignal publishes for Alice and Bob (both versions).
const LIBSIGNAL_DIGITS: &str = "300354477692869396892869876765458257569162576843440918079131";

/// One party's fingerprint: `H_0 = SHA-512(0x0000 || key || id || key)`, `H_i = SHA-512(H_{i-1} || key)`.
struct Party {
    input: Vec<u8>,
    hash: [u8; 64],
    digits: String,
}

impl Party {
    fn new(id: &[u8], key: &[u8]) -> Self {
        let input = [&[0u8, 0][..], key, id, key].concat();
        let mut hash: [u8; 64] = Sha512::digest(&input).into();
        for _ in 1..ITERATIONS {
            hash = Sha512::new().chain_update(hash).chain_update(key).finalize().into();
        }
        let mut digits = String::with_capacity(30);
        for chunk in hash.chunks_exact(5).take(6) {
            let value = chunk.iter().fold(0u64, |acc, &byte| acc << 8 | u64::from(byte));
            // Writing to a String cannot fail.
            let _ = write!(digits, "{:05}", value % 100_000);
        }
        Self { input, hash, digits }
    }
}

/// The two parties' digits, the smaller string first.
fn combined(local: &Party, remote: &Party) -> String {
    if local.digits < remote.digits {
        format!("{}{}", local.digits, remote.digits)
    } else {
        format!("{}{}", remote.digits, local.digits)
    }
}

fn error_name(error: SecurityCodeError) -> &'static str {
    match error {
        SecurityCodeError::Malformed(_) => "Malformed",
        SecurityCodeError::VersionMismatch { .. } => "VersionMismatch",
        _ => "Other",
    }
}

struct Side<'a> {
    version: u32,
    local_id: &'a [u8],
    local_key: &'a [u8],
    remote_id: &'a [u8],
    remote_key: &'a [u8],
}

impl Side<'_> {
    fn code(&self) -> SecurityCode {
        SecurityCode::new(
            self.version,
            self.local_id,
            self.local_key,
            self.remote_id,
            self.remote_key,
        )
    }

    fn fields(&self) -> Value {
        json!({
            "version": self.version,
            "localId": hex::encode(self.local_id),
            "localKey": hex::encode(self.local_key),
            "remoteId": hex::encode(self.remote_id),
            "remoteKey": hex::encode(self.remote_key),
        })
    }

    fn swapped(&self) -> Self {
        Side {
            version: self.version,
            local_id: self.remote_id,
            local_key: self.remote_key,
            remote_id: self.local_id,
            remote_key: self.local_key,
        }
    }
}

fn code_test(comment: &str, side: &Side<'_>, source: Option<&str>) -> Value {
    let local = Party::new(side.local_id, side.local_key);
    let remote = Party::new(side.remote_id, side.remote_key);
    let code = side.code();
    let digits = combined(&local, &remote);
    assert_eq!(code.digits(), digits, "kt-verify and the step-by-step derivation agree");
    let mut test = json::with_fields(
        &side.fields(),
        vec![
            ("comment", json!(comment)),
            ("flags", json!([])),
            ("result", json!("valid")),
            ("iterations", json!(ITERATIONS)),
            ("localFingerprintInput", json!(hex::encode(&local.input))),
            ("localHash", json!(hex::encode(local.hash))),
            ("localDigits", json!(local.digits)),
            ("remoteFingerprintInput", json!(hex::encode(&remote.input))),
            ("remoteHash", json!(hex::encode(remote.hash))),
            ("remoteDigits", json!(remote.digits)),
            ("digits", json!(digits)),
            ("qrPayload", json!(hex::encode(code.qr_payload()))),
        ],
    );
    if let Some(source) = source {
        test["source"] = json!(source);
    }
    test
}

/// The fields a scan's refusal carries: Malformed's `decodeError` (kt-verify's DecodeError) with that error's fields
/// (`expected`, `found`, `wireType`, `count`), VersionMismatch's `ours` and `theirs`.
fn scan_error_fields(error: SecurityCodeError) -> Vec<(String, Value)> {
    match error {
        SecurityCodeError::Malformed(decode) => {
            let named = crate::witness_signature::decode_error(&decode);
            named
                .as_object()
                .expect("an object")
                .iter()
                .map(|(field, value)| {
                    (
                        if field == "error" {
                            "decodeError".into()
                        } else {
                            field.clone()
                        },
                        value.clone(),
                    )
                })
                .collect()
        }
        SecurityCodeError::VersionMismatch { ours, theirs } => {
            vec![("ours".into(), json!(ours)), ("theirs".into(), json!(theirs))]
        }
        _ => Vec::new(),
    }
}

const SCAN_ERROR_FIELDS: [&str; 7] = [
    "decodeError",
    "expected",
    "found",
    "wireType",
    "count",
    "ours",
    "theirs",
];

fn scan_test(comment: &str, flag: &str, side: &Side<'_>, scanned: &[u8]) -> Value {
    let outcome = side.code().matches_qr_payload(scanned);
    let (result, error) = match outcome {
        Ok(true) => ("valid", None),
        Ok(false) => ("invalid", Some("Mismatch")),
        Err(error) => ("invalid", Some(error_name(error))),
    };
    let mut test = json::with_fields(
        &side.fields(),
        vec![
            ("comment", json!(comment)),
            ("flags", json!(if flag.is_empty() { vec![] } else { vec![flag] })),
            ("result", json!(result)),
            ("scannedPayload", json!(hex::encode(scanned))),
        ],
    );
    if let Some(error) = error {
        test["error"] = json!(error);
    }
    if let Err(error) = outcome {
        for (field, value) in scan_error_fields(error) {
            test[field] = value;
        }
    }
    test
}

/// Payloads scanned by Alice (libsignal's vector parties).
fn scan_tests(alice_key: &[u8], bob_key: &[u8]) -> Vec<Value> {
    let alice = |version| Side {
        version,
        local_id: ALICE_ID,
        local_key: alice_key,
        remote_id: BOB_ID,
        remote_key: bob_key,
    };
    let bob_payload = alice(1).swapped().code().qr_payload();
    let mut mallory_key = bob_key.to_vec();
    mallory_key[5] ^= 0x01;
    let mallory_payload = Side {
        remote_key: &mallory_key,
        ..alice(1)
    }
    .swapped()
    .code()
    .qr_payload();
    let mut non_minimal = bob_payload.clone();
    non_minimal.splice(1..2, [0x81, 0x00]);
    let mut flipped = bob_payload.clone();
    flipped[10] ^= 0x01;
    vec![
        scan_test("Bob's payload scanned by Alice", "", &alice(1), &bob_payload),
        scan_test(
            "Bob's version-2 payload scanned by Alice",
            "",
            &alice(2),
            &alice(2).swapped().code().qr_payload(),
        ),
        scan_test(
            "Alice scans her own payload",
            "Mismatch",
            &alice(1),
            &alice(1).code().qr_payload(),
        ),
        scan_test(
            "payload of a substituted key for Bob",
            "Mismatch",
            &alice(1),
            &mallory_payload,
        ),
        scan_test("a hash byte flipped", "Mismatch", &alice(1), &flipped),
        scan_test(
            "version-2 payload scanned by a version-1 client",
            "WrongVersion",
            &alice(1),
            &alice(2).swapped().code().qr_payload(),
        ),
        scan_test(
            "version-1 payload scanned by a version-2 client",
            "WrongVersion",
            &alice(2),
            &bob_payload,
        ),
        scan_test(
            "truncated by one byte",
            "Malformed",
            &alice(1),
            &bob_payload[..bob_payload.len() - 1],
        ),
        scan_test(
            "trailing byte",
            "Malformed",
            &alice(1),
            &[bob_payload.as_slice(), &[0]].concat(),
        ),
        scan_test("version as a non-minimal varint", "Malformed", &alice(1), &non_minimal),
        scan_test("empty", "Malformed", &alice(1), &[]),
    ]
}

/// The vector file.
pub fn generate() -> Value {
    let alice_key = hex::decode(ALICE_KEY).expect("hex");
    let bob_key = hex::decode(BOB_KEY).expect("hex");
    let alice = |version| Side {
        version,
        local_id: ALICE_ID,
        local_key: &alice_key,
        remote_id: BOB_ID,
        remote_key: &bob_key,
    };
    let mut codes = Vec::new();
    for version in [1, 2] {
        codes.push(code_test(
            &format!("libsignal Alice's view, scannable version {version}"),
            &alice(version),
            Some(LIBSIGNAL_SOURCE),
        ));
        codes.push(code_test(
            &format!("libsignal Bob's view, scannable version {version}"),
            &alice(version).swapped(),
            Some(LIBSIGNAL_SOURCE),
        ));
    }
    assert_eq!(
        alice(1).code().digits(),
        LIBSIGNAL_DIGITS,
        "libsignal's published digits"
    );
    // Raw 32-byte identity keys with opaque account ids, as a key-transparency deployment would bind them.
    let ours_local_key = Sha512::digest(b"local identity key")[..32].to_vec();
    let ours_remote_key = Sha512::digest(b"remote identity key")[..32].to_vec();
    let ours = Side {
        version: 1,
        local_id: b"account:0001",
        local_key: &ours_local_key,
        remote_id: b"account:0002",
        remote_key: &ours_remote_key,
    };
    codes.push(code_test("32-byte keys, opaque account ids", &ours, None));
    let empty = Side {
        version: 2,
        local_id: b"",
        local_key: &ours_local_key,
        remote_id: b"",
        remote_key: &ours_remote_key,
    };
    codes.push(code_test("empty ids", &empty, None));

    let scans = scan_tests(&alice_key, &bob_key);
    json::file(
        "SECURITY-CODE-SHA512-FINGERPRINT",
        "security_code.schema.json",
        &json!({
            "construction": "kt-verify/SPEC.md and src/security_code.rs, libsignal's numeric fingerprint: per party H_0 = SHA-512(0x0000 || key || id || key) (= FingerprintInput), H_i = SHA-512(H_{i-1} || key) for i = 1 .. iterations - 1; Hash = H_{iterations-1}",
            "digits": "per party: the first six 5-byte big-endian chunks of Hash, each mod 100000, five digits each; the code is the two 30-digit strings concatenated, the smaller string first",
            "qrPayload": "protobuf CombinedFingerprints{1 varint version, 2 bytes {1 bytes localHash[0..32]}, 3 bytes {1 bytes remoteHash[0..32]}}, as the local party displays it",
            "scan": "decode scannedPayload exactly (canonical encoding only, else Malformed, with decodeError the DecodeError of kt-verify SPEC §8.2 and its fields expected, found, wireType, count; fields in order 1 version (a u32), 2 and 3 each a message whose one field 1 holds 32 bytes, nothing after, then the re-encoding compared); its version must equal ours (else VersionMismatch, with ours and theirs); its local hash must equal our remote hash and its remote hash our local hash (else Mismatch)",
            "ids": "ids and keys are bytes, given in hex (libsignal's ids are the ASCII phone numbers)",
            "source": "tests naming a source reproduce that project's published values; the others are ours",
        }),
        vec![
            json!({"type": "SecurityCode", "tests": codes}),
            json!({"type": "QrPayloadScan", "tests": scans}),
        ],
    )
}

fn side(test: &Map<String, Value>) -> Result<(u32, [Vec<u8>; 4]), String> {
    let version = test
        .get("version")
        .and_then(Value::as_u64)
        .and_then(|version| u32::try_from(version).ok())
        .ok_or_else(|| fail(test, "version"))?;
    Ok((
        version,
        [
            json::bytes(test, "localId")?,
            json::bytes(test, "localKey")?,
            json::bytes(test, "remoteId")?,
            json::bytes(test, "remoteKey")?,
        ],
    ))
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    let (version, [local_id, local_key, remote_id, remote_key]) = side(test)?;
    let code = SecurityCode::new(version, &local_id, &local_key, &remote_id, &remote_key);
    match json::text(group, "type")? {
        "SecurityCode" => {
            let local = Party::new(&local_id, &local_key);
            let remote = Party::new(&remote_id, &remote_key);
            let payload = json::bytes(test, "qrPayload")?;
            json::all_hold(
                test,
                &[
                    (
                        test.get("iterations").and_then(Value::as_u64) == Some(u64::from(ITERATIONS)),
                        "iterations",
                    ),
                    (
                        json::bytes(test, "localFingerprintInput")? == local.input,
                        "localFingerprintInput",
                    ),
                    (json::bytes(test, "localHash")? == local.hash, "localHash"),
                    (json::text(test, "localDigits")? == local.digits, "localDigits"),
                    (
                        json::bytes(test, "remoteFingerprintInput")? == remote.input,
                        "remoteFingerprintInput",
                    ),
                    (json::bytes(test, "remoteHash")? == remote.hash, "remoteHash"),
                    (json::text(test, "remoteDigits")? == remote.digits, "remoteDigits"),
                    (json::text(test, "digits")? == code.digits(), "digits"),
                    (code.digits() == combined(&local, &remote), "digits from the parties"),
                    (payload == code.qr_payload(), "qrPayload"),
                    (
                        payload.windows(32).any(|window| window == &local.hash[..32])
                            && payload.windows(32).any(|window| window == &remote.hash[..32]),
                        "qrPayload carries both hashes",
                    ),
                ],
            )
        }
        "QrPayloadScan" => {
            let outcome = code.matches_qr_payload(&json::bytes(test, "scannedPayload")?);
            let expected = if json::valid(test)? {
                "match"
            } else {
                json::text(test, "error")?
            };
            let fields = outcome.map_or_else(scan_error_fields, |_| Vec::new());
            let fields_hold = SCAN_ERROR_FIELDS
                .iter()
                .all(|field| test.get(*field) == fields.iter().find(|(name, _)| name == field).map(|(_, value)| value));
            let found = match outcome {
                Ok(true) => "match",
                Ok(false) => "Mismatch",
                Err(error) => error_name(error),
            };
            if found == expected && fields_hold {
                Ok(())
            } else {
                Err(fail(test, &format!("expected {expected}, got {found}")))
            }
        }
        other => Err(format!("unknown group type {other}")),
    }
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
