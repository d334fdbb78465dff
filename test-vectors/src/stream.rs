//! Backup-file stream vectors: file key and nonce prefix from K and the salt, every segment nonce, the whole
//! encrypted file; and files cut, extended, reordered or re-headed, which must be rejected.

use backup_protocol::hazmat;
use backup_protocol::labels::{STREAM_FILE_KEY_INFO, STREAM_NONCE_PREFIX_INFO};
use backup_protocol::{BackupKey, SEGMENT_SIZE, StreamDecryptor, StreamError};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

const SEGMENT_CIPHERTEXT: usize = SEGMENT_SIZE + 16;

fn error_name(error: StreamError) -> &'static str {
    match error {
        StreamError::Header(_) => "Header",
        StreamError::SegmentRejected { .. } => "SegmentRejected",
        StreamError::Truncated => "Truncated",
        _ => "Other",
    }
}

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

fn invalid(encrypted: &Encrypted, comment: &str, file: Vec<u8>, error: &str) -> Value {
    json!({
        "comment": comment, "flags": ["Tampered"], "result": "invalid", "error": error,
        "key": encrypted.test["key"], "file": hex::encode(file),
    })
}

/// The vector file.
pub fn generate() -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7374_7265_616d);
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
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
    rejected.push(invalid(
        &two,
        "segments swapped",
        [header, second, first].concat(),
        "SegmentRejected",
    ));
    rejected.push(invalid(
        &two,
        "final segment dropped",
        [header, first].concat(),
        "SegmentRejected",
    ));
    rejected.push(invalid(
        &two,
        "one byte appended",
        [two.file.as_slice(), &[0]].concat(),
        "SegmentRejected",
    ));
    let cut = small.file[..small.file.len() - 1].to_vec();
    rejected.push(invalid(&small, "last byte cut", cut, "SegmentRejected"));
    rejected.push(invalid(&small, "header only", small.file[..34].to_vec(), "Truncated"));
    let mut version = small.file.clone();
    version[0] = 2;
    rejected.push(invalid(&small, "unknown version", version, "Header"));
    let mut salt = small.file.clone();
    salt[10] ^= 1;
    rejected.push(invalid(&small, "salt altered", salt, "SegmentRejected"));
    let mut tag = small.file.clone();
    let last = tag.len() - 1;
    tag[last] ^= 1;
    rejected.push(invalid(&small, "tag altered", tag, "SegmentRejected"));
    let mut other_key = invalid(&small, "other key", small.file.clone(), "SegmentRejected");
    other_key["key"] = json!(hex::encode([0x42u8; 32]));
    rejected.push(other_key);

    json::file(
        "BACKUP-STREAM-AES256GCM-STREAM-64KIB",
        "backup_stream.schema.json",
        &json!({
            "format": "file = header || segments; header = 0x01 || 0x41 || salt (32); fileKey = HKDF-SHA256(salt, key, fileKeyInfo, 32); noncePrefix = HKDF-SHA256(salt, key, noncePrefixInfo, 7); segment i = AES-256-GCM(fileKey, noncePrefix || u32be(i) || last, aad = header, plaintext_i)",
            "segments": "65536 plaintext bytes per segment except the last (0..65536; 0 only for an empty file); a reader takes 65552-byte segments while more bytes follow and opens the rest as the final segment",
            "Tampered": "the file must be rejected; error names the first failure: Header, Truncated or SegmentRejected",
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
            Err(error) if error_name(error) == json::text(test, "error")? => Ok(()),
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
