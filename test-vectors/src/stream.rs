//! Backup-file stream vectors: file key and nonce prefix from K and the salt, every segment nonce, the whole
//! encrypted file; and files cut, extended, reordered or re-headed, which must be rejected.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit};
use backup_protocol::hazmat;
use backup_protocol::labels::{STREAM_FILE_KEY_INFO, STREAM_NONCE_PREFIX_INFO};
use backup_protocol::{BackupKey, DecodeError, SEGMENT_SIZE, StreamDecryptor, StreamError};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

const SEGMENT_CIPHERTEXT: usize = SEGMENT_SIZE + 16;

/// `error` (the `StreamError` variant's name) and its fields: `decodeError` (the header's `DecodeError` variant)
/// with its `found` and `expected` bytes, or `segmentIndex`.
fn error_fields(error: StreamError) -> Value {
    match error {
        StreamError::Header(reason) => {
            let mut fields = match reason {
                DecodeError::Truncated => json!({"decodeError": "Truncated"}),
                DecodeError::TrailingBytes => json!({"decodeError": "TrailingBytes"}),
                DecodeError::LegacyVersion { found } => json!({"decodeError": "LegacyVersion", "found": found}),
                DecodeError::UnknownVersion { found } => json!({"decodeError": "UnknownVersion", "found": found}),
                DecodeError::WrongType { expected, found } => {
                    json!({"decodeError": "WrongType", "expected": expected, "found": found})
                }
                _ => json!({"decodeError": "Other"}),
            };
            fields["error"] = json!("Header");
            fields
        }
        StreamError::SegmentRejected { index } => json!({"error": "SegmentRejected", "segmentIndex": index}),
        StreamError::Truncated => json!({"error": "Truncated"}),
        StreamError::TooLong => json!({"error": "TooLong"}),
        _ => json!({"error": "Other"}),
    }
}

/// The error fields a refusal carries.
const ERROR_FIELDS: [&str; 5] = ["error", "decodeError", "found", "expected", "segmentIndex"];

fn decrypt(key: &BackupKey, file: &[u8]) -> Result<Vec<u8>, StreamError> {
    let mut decryptor = StreamDecryptor::new(key);
    let mut out = Vec::new();
    decryptor.update(file, &mut out)?;
    decryptor.finish(&mut out)?;
    Ok(out)
}

struct Encrypted {
    test: Map<String, Value>,
    file: Vec<u8>,
}

fn encrypt(rng: &mut ChaCha20Rng, len: usize, comment: &str) -> Encrypted {
    let mut key = [0u8; 32];
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut key);
    rng.fill_bytes(&mut salt);
    let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let key_typed = BackupKey::from_bytes(key);
    let (mut encryptor, header) = hazmat::stream_encryptor_with_salt(&key_typed, salt);
    let mut file = header.to_vec();
    encryptor.update(&plaintext, &mut file).expect("small file");
    encryptor.finish(&mut file).expect("small file");
    let (file_key, prefix) = hazmat::stream_file_keys(&key_typed, &salt);
    let segments = len.div_ceil(SEGMENT_SIZE).max(1);
    let nonces: Vec<String> = (0..segments)
        .map(|index| {
            let index = u32::try_from(index).expect("few segments");
            hex::encode(hazmat::stream_segment_nonce(
                prefix,
                index,
                index as usize + 1 == segments,
            ))
        })
        .collect();
    let test = json!({
        "comment": comment, "flags": [], "result": "valid",
        "key": hex::encode(key), "salt": hex::encode(salt), "plaintext": hex::encode(&plaintext),
        "fileKeyInfo": hex::encode(STREAM_FILE_KEY_INFO), "noncePrefixInfo": hex::encode(STREAM_NONCE_PREFIX_INFO),
        "fileKey": hex::encode(*file_key), "noncePrefix": hex::encode(prefix),
        "header": hex::encode(header), "segmentNonces": nonces, "file": hex::encode(&file),
    });
    Encrypted {
        test: test.as_object().cloned().unwrap_or_default(),
        file,
    }
}

/// A refused file, with the error the crate reports for it (the comment names the case; SPEC §8 says which error
/// each case must report, and `backup-protocol/tests/stream.rs` pins them).
fn invalid(encrypted: &Encrypted, comment: &str, file: &[u8], flag: &str) -> Value {
    invalid_under(&encrypted.test["key"], comment, file, flag)
}

fn invalid_under(key: &Value, comment: &str, file: &[u8], flag: &str) -> Value {
    let key_bytes: [u8; 32] = hex::decode(key.as_str().unwrap_or_default())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .expect("a 32-byte key");
    let error = decrypt(&BackupKey::from_bytes(key_bytes), file).expect_err("a refused file");
    json::with_fields(
        &error_fields(error),
        vec![
            ("comment", json!(comment)),
            ("flags", json!([flag])),
            ("result", json!("invalid")),
            ("key", key.clone()),
            ("file", json!(hex::encode(file))),
        ],
    )
}

/// `header || inner segment 0 || final segment 1 of no plaintext`, both sealed validly: the non-canonical
/// encoding of one segment's plaintext (the canonical one is a single full final segment).
fn with_empty_final_segment(encrypted: &Encrypted) -> Vec<u8> {
    let key = BackupKey::from_bytes(
        hex::decode(encrypted.test["key"].as_str().unwrap_or_default())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .expect("a 32-byte key"),
    );
    let header = &encrypted.file[..34];
    let salt: [u8; 32] = header[2..].try_into().expect("32-byte salt");
    let (file_key, prefix) = hazmat::stream_file_keys(&key, &salt);
    let aead = Aes256Gcm::new(file_key.as_ref().into());
    let nonce = hazmat::stream_segment_nonce(prefix, 1, true);
    let empty = aead
        .encrypt(&nonce.into(), aes_gcm::aead::Payload { msg: &[], aad: header })
        .expect("16-byte tag");
    [&encrypted.file[..34 + SEGMENT_CIPHERTEXT], &empty].concat()
}

/// The vector file.
pub fn generate() -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7374_7265_616d);
    let mut valid = Vec::new();
    for (len, comment) in [(0, "empty file"), (1, "one byte")] {
        valid.push(Value::Object(encrypt(&mut rng, len, comment).test));
    }
    let small = encrypt(&mut rng, 100, "one short segment");
    valid.push(Value::Object(small.test.clone()));
    let two = encrypt(
        &mut rng,
        SEGMENT_SIZE + 1,
        "two segments: one full, one of a single byte",
    );
    valid.push(Value::Object(two.test.clone()));

    let (header, body) = two.file.split_at(34);
    let (first, second) = body.split_at(SEGMENT_CIPHERTEXT);
    let altered = |file: &[u8], offset: usize, value: u8| {
        let mut bytes = file.to_vec();
        bytes[offset] = value;
        bytes
    };
    let flipped = |file: &[u8], offset: usize| altered(file, offset, file[offset] ^ 1);
    let last = small.file.len() - 1;
    let other_key = invalid_under(&json!(hex::encode([0x42u8; 32])), "other key", &small.file, "Tampered");
    let rejected = vec![
        // Header (step 1): version, then type, then length.
        invalid(&small, "empty file: shorter than the header", &[], "Header"),
        invalid(&small, "version byte only", &small.file[..1], "Header"),
        invalid(&small, "33 bytes: header cut by one byte", &small.file[..33], "Header"),
        invalid(&small, "legacy version 0x00", &altered(&small.file, 0, 0), "Header"),
        invalid(&small, "unknown version 0x02", &altered(&small.file, 0, 2), "Header"),
        invalid(
            &small,
            "unknown version 0xff with a wrong type: the version is checked first",
            &altered(&altered(&small.file, 0, 0xff), 1, 0x21),
            "Header",
        ),
        invalid(
            &small,
            "wrong type 0x21 (a BackupRecord's)",
            &altered(&small.file, 1, 0x21),
            "Header",
        ),
        invalid(&small, "wrong type 0x42", &altered(&small.file, 1, 0x42), "Header"),
        invalid(
            &small,
            "legacy version in a file shorter than the header: the version is checked first",
            &[0x00],
            "Header",
        ),
        invalid(
            &small,
            "wrong type in a file shorter than the header: the type is checked before the length",
            &[0x01, 0x42, 0x00],
            "Header",
        ),
        // Segments (step 2).
        invalid(&two, "segments swapped", &[header, second, first].concat(), "Tampered"),
        invalid(&two, "final segment dropped", &[header, first].concat(), "Tampered"),
        invalid(
            &two,
            "one byte appended",
            &[two.file.as_slice(), &[0]].concat(),
            "Tampered",
        ),
        invalid(&small, "last byte cut", &small.file[..last], "Tampered"),
        invalid(&small, "salt altered", &flipped(&small.file, 10), "Tampered"),
        invalid(&small, "tag altered", &flipped(&small.file, last), "Tampered"),
        other_key,
        // End of stream (step 3).
        invalid(&small, "header only", &small.file[..34], "Truncated"),
        invalid(&small, "15 bytes after the header", &small.file[..34 + 15], "Truncated"),
        invalid(
            &two,
            "15 bytes after a full segment",
            &two.file[..34 + SEGMENT_CIPHERTEXT + 15],
            "Truncated",
        ),
        invalid(
            &two,
            "non-canonical empty final segment (validly sealed) after a full segment",
            &with_empty_final_segment(&two),
            "NonCanonical",
        ),
    ];
    json::file(
        "BACKUP-STREAM-AES256GCM-STREAM-64KIB",
        "backup_stream.schema.json",
        &json!({
            "format": "file = header || segments; header = 0x01 || 0x41 || salt (32); fileKey = HKDF-SHA256(salt, key, fileKeyInfo, 32); noncePrefix = HKDF-SHA256(salt, key, noncePrefixInfo, 7); segment i = AES-256-GCM(fileKey, noncePrefix || u32be(i) || last, aad = header, plaintext_i)",
            "segments": "65536 plaintext bytes per segment except the last (0..65536; 0 only for an empty file); a reader takes 65552-byte segments while more bytes follow and opens the rest as the final segment",
            "errors": "backup-protocol SPEC section 8: error is the StreamError variant, the first failing check winning: Header (with decodeError, the DecodeError variant: LegacyVersion or UnknownVersion with found, the version byte; WrongType with expected 0x41 and found, the type byte; Truncated for a file shorter than the 34-byte header; checked in that order on the bytes present), SegmentRejected (with segmentIndex, the zero-based index of the segment that fails to open, or of an empty final segment after a full one, refused before its tag is checked), Truncated (no segment, or 1 to 15 bytes after the last full segment)",
            "Header": "a header refused",
            "Tampered": "a segment altered, moved, cut, extended or opened under another key",
            "Truncated": "the file ends before a final segment could start",
            "NonCanonical": "segment 0 full and sealed as inner, then an empty final segment sealed validly: the plaintext's canonical encoding is one full final segment",
        }),
        vec![
            json!({"type": "StreamEncrypt", "tests": valid}),
            json!({"type": "StreamReject", "tests": rejected}),
        ],
    )
}

fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    let key = BackupKey::from_bytes(json::array(test, "key")?);
    let file = json::bytes(test, "file")?;
    let decrypted = decrypt(&key, &file);
    if !json::valid(test)? {
        return match decrypted {
            Err(error)
                if ERROR_FIELDS
                    .iter()
                    .all(|field| error_fields(error).get(field) == test.get(*field)) =>
            {
                Ok(())
            }
            _ => Err(fail(test, "file was not rejected as specified")),
        };
    }
    let salt = json::array(test, "salt")?;
    let (file_key, prefix) = hazmat::stream_file_keys(&key, &salt);
    let plaintext = json::bytes(test, "plaintext")?;
    let (mut encryptor, header) = hazmat::stream_encryptor_with_salt(&key, salt);
    let mut encrypted = header.to_vec();
    encryptor
        .update(&plaintext, &mut encrypted)
        .map_err(|error| error.to_string())?;
    encryptor.finish(&mut encrypted).map_err(|error| error.to_string())?;
    let nonces = test
        .get("segmentNonces")
        .and_then(Value::as_array)
        .ok_or("segmentNonces missing")?;
    let expected_nonces: Vec<Value> = (0..nonces.len())
        .map(|index| {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            json!(hex::encode(hazmat::stream_segment_nonce(
                prefix,
                index,
                index as usize + 1 == nonces.len()
            )))
        })
        .collect();
    let checks = [
        (json::array::<32>(test, "fileKey")? == *file_key, "fileKey"),
        (json::array::<7>(test, "noncePrefix")? == prefix, "noncePrefix"),
        (json::bytes(test, "header")? == header, "header"),
        (*nonces == expected_nonces, "segmentNonces"),
        (encrypted == file, "file"),
        (
            decrypted.as_ref().is_ok_and(|opened| *opened == plaintext),
            "decryption",
        ),
    ];
    json::all_hold(test, &checks)
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, |_, test| check_test(test))
}
