//! Backup key-wrap vectors: OPAQUE_K and EK = AES-GCM(OPAQUE_K, K) at registration, SHARED_K and the sealed key
//! release at login, with every intermediate (HKDF info, derived keys, AAD, plaintext).

use backup_protocol::hazmat;
use backup_protocol::labels::{OPAQUE_K_INFO, SHARED_K_INFO};
use backup_protocol::{BackupKey, UserId};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

fn random<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill_bytes(&mut out);
    out
}

fn user(bytes: &[u8]) -> Result<UserId, String> {
    UserId::new(bytes.to_vec()).map_err(|error| error.to_string())
}

fn wrap_test(rng: &mut ChaCha20Rng, user_id: &[u8], comment: &str) -> Map<String, Value> {
    let export_key: [u8; 64] = random(rng);
    let (challenge, k_nonce, key) = (random::<32>(rng), random::<12>(rng), random::<32>(rng));
    let user_id_typed = UserId::new(user_id.to_vec()).expect("1 to 255 bytes");
    let opaque_k = hazmat::opaque_k(&export_key);
    let ek = hazmat::wrap_key(
        &opaque_k,
        &user_id_typed,
        challenge,
        k_nonce,
        &BackupKey::from_bytes(key),
    );
    let value = json!({
        "comment": comment, "flags": [], "result": "valid",
        "exportKey": hex::encode(export_key), "userId": hex::encode(user_id), "challenge": hex::encode(challenge),
        "kNonce": hex::encode(k_nonce), "key": hex::encode(key),
        "opaqueKInfo": hex::encode(OPAQUE_K_INFO), "opaqueK": hex::encode(*opaque_k),
        "aad": hex::encode(hazmat::wrapped_key_aad(&user_id_typed, &challenge)), "ek": hex::encode(ek),
    });
    value.as_object().cloned().unwrap_or_default()
}

fn release_test(rng: &mut ChaCha20Rng, user_id: &[u8], comment: &str) -> Map<String, Value> {
    let session_key: [u8; 64] = random(rng);
    let (nonce, challenge, k_nonce, ek) = (
        random::<12>(rng),
        random::<32>(rng),
        random::<12>(rng),
        random::<48>(rng),
    );
    let user_id_typed = UserId::new(user_id.to_vec()).expect("1 to 255 bytes");
    let shared_k = hazmat::shared_k(&session_key);
    let sealed = hazmat::seal_key_release(&shared_k, &user_id_typed, nonce, challenge, k_nonce, ek);
    let value = json!({
        "comment": comment, "flags": [], "result": "valid",
        "sessionKey": hex::encode(session_key), "userId": hex::encode(user_id), "nonce": hex::encode(nonce),
        "sharedKInfo": hex::encode(SHARED_K_INFO), "sharedK": hex::encode(*shared_k),
        "aad": hex::encode(hazmat::key_release_aad(&user_id_typed)),
        "plaintext": hex::encode([challenge.as_slice(), &k_nonce, &ek].concat()), "sealed": hex::encode(sealed),
    });
    value.as_object().cloned().unwrap_or_default()
}

/// Turns a valid test into an invalid one: `field` is replaced by `value` and the result is `error`.
fn spoil(mut test: Map<String, Value>, comment: &str, field: &str, value: Vec<u8>, error: &str) -> Value {
    test.insert("comment".into(), json!(comment));
    test.insert(field.into(), json!(hex::encode(value)));
    test.insert("result".into(), json!("invalid"));
    test.insert("error".into(), json!(error));
    test.insert("flags".into(), json!(["Tampered"]));
    // What the failing side would compute is not a valid intermediate any more.
    for derived in ["aad", "opaqueK", "sharedK"] {
        test.remove(derived);
    }
    Value::Object(test)
}

fn flipped(test: &Map<String, Value>, field: &str, position: usize) -> Vec<u8> {
    let mut bytes = json::bytes(test, field).unwrap_or_default();
    if let Some(byte) = bytes.get_mut(position) {
        *byte ^= 0x01;
    }
    bytes
}

/// The vector file.
pub fn generate() -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6b65_792d_7772_6170);
    let mut wraps: Vec<Value> = Vec::new();
    let mut releases: Vec<Value> = Vec::new();
    for (user_id, comment) in [
        (b"15551234567@s.whatsapp.net".as_slice(), "phone-number user id"),
        (b"a".as_slice(), "one-byte user id"),
        (&[0xabu8; 255][..], "255-byte user id"),
    ] {
        let wrap = wrap_test(&mut rng, user_id, comment);
        let release = release_test(&mut rng, user_id, comment);
        wraps.push(Value::Object(wrap.clone()));
        releases.push(Value::Object(release.clone()));
        if user_id.len() == 1 {
            wraps.push(spoil(
                wrap.clone(),
                "EK altered",
                "ek",
                flipped(&wrap, "ek", 0),
                "WrappedKeyRejected",
            ));
            wraps.push(spoil(
                wrap.clone(),
                "tag altered",
                "ek",
                flipped(&wrap, "ek", 47),
                "WrappedKeyRejected",
            ));
            wraps.push(spoil(
                wrap.clone(),
                "other user id",
                "userId",
                b"b".to_vec(),
                "WrappedKeyRejected",
            ));
            wraps.push(spoil(
                wrap.clone(),
                "other challenge",
                "challenge",
                flipped(&wrap, "challenge", 5),
                "WrappedKeyRejected",
            ));
            wraps.push(spoil(
                wrap.clone(),
                "wrong export key (wrong password)",
                "exportKey",
                flipped(&wrap, "exportKey", 63),
                "WrappedKeyRejected",
            ));
            releases.push(spoil(
                release.clone(),
                "sealed altered",
                "sealed",
                flipped(&release, "sealed", 50),
                "KeyReleaseRejected",
            ));
            releases.push(spoil(
                release.clone(),
                "release from another login",
                "sessionKey",
                flipped(&release, "sessionKey", 0),
                "KeyReleaseRejected",
            ));
            releases.push(spoil(
                release.clone(),
                "other user id",
                "userId",
                b"b".to_vec(),
                "KeyReleaseRejected",
            ));
        }
    }
    json::file(
        "BACKUP-KEY-WRAP-AES256GCM-HKDF-SHA256",
        "backup_key_wrap.schema.json",
        &json!({
            "WrapK": "opaqueK = HKDF-SHA256(salt absent, ikm = exportKey, info = opaqueKInfo, 32); aad = \"backup-protocol/v1/wrapped-k\" || 0x01 || len8(userId) || userId || challenge; ek = AES-256-GCM(opaqueK, kNonce, key, aad)",
            "KeyRelease": "sharedK = HKDF-SHA256(salt absent, ikm = sessionKey, info = sharedKInfo, 32); aad = \"backup-protocol/v1/key-release\" || 0x01 || len8(userId) || userId; sealed = AES-256-GCM(sharedK, nonce, plaintext = challenge || kNonce || ek, aad)",
            "Tampered": "one input differs from what was sealed; opening must fail with the named error",
        }),
        vec![
            json!({"type": "WrapK", "tests": wraps}),
            json!({"type": "KeyRelease", "tests": releases}),
        ],
    )
}

fn check_wrap(test: &Map<String, Value>) -> Result<(), String> {
    let user_id = user(&json::bytes(test, "userId")?)?;
    let opaque_k = hazmat::opaque_k(&json::bytes(test, "exportKey")?);
    let challenge = json::array(test, "challenge")?;
    let k_nonce = json::array(test, "kNonce")?;
    let opened = hazmat::unwrap_key(&opaque_k, &user_id, challenge, k_nonce, json::array(test, "ek")?);
    if !json::valid(test)? {
        return match opened {
            Err(backup_protocol::Error::WrappedKeyRejected) if json::text(test, "error")? == "WrappedKeyRejected" => {
                Ok(())
            }
            _ => Err(fail(test, "tampered EK was not rejected as specified")),
        };
    }
    let key = BackupKey::from_bytes(json::array(test, "key")?);
    let checks = [
        (json::bytes(test, "opaqueKInfo")? == OPAQUE_K_INFO, "opaqueKInfo"),
        (json::array::<32>(test, "opaqueK")? == *opaque_k, "opaqueK"),
        (
            json::bytes(test, "aad")? == hazmat::wrapped_key_aad(&user_id, &challenge),
            "aad",
        ),
        (
            json::array::<48>(test, "ek")? == hazmat::wrap_key(&opaque_k, &user_id, challenge, k_nonce, &key),
            "ek",
        ),
        (opened.as_ref().is_ok_and(|opened| *opened == key), "unwrap"),
    ];
    json::all_hold(test, &checks)
}

fn check_release(test: &Map<String, Value>) -> Result<(), String> {
    let user_id = user(&json::bytes(test, "userId")?)?;
    let shared_k = hazmat::shared_k(&json::bytes(test, "sessionKey")?);
    let nonce = json::array(test, "nonce")?;
    let sealed = json::array(test, "sealed")?;
    let opened = hazmat::open_key_release(&shared_k, &user_id, &nonce, &sealed);
    if !json::valid(test)? {
        return match opened {
            Err(backup_protocol::Error::KeyReleaseRejected) if json::text(test, "error")? == "KeyReleaseRejected" => {
                Ok(())
            }
            _ => Err(fail(test, "tampered release was not rejected as specified")),
        };
    }
    let plaintext = json::bytes(test, "plaintext")?;
    let Ok((challenge, k_nonce, ek)) = opened else {
        return Err(fail(test, "release does not open"));
    };
    let checks = [
        (json::bytes(test, "sharedKInfo")? == SHARED_K_INFO, "sharedKInfo"),
        (json::array::<32>(test, "sharedK")? == *shared_k, "sharedK"),
        (json::bytes(test, "aad")? == hazmat::key_release_aad(&user_id), "aad"),
        (plaintext == [challenge.as_slice(), &k_nonce, &ek].concat(), "plaintext"),
        (
            sealed == hazmat::seal_key_release(&shared_k, &user_id, nonce, challenge, k_nonce, ek),
            "sealed",
        ),
    ];
    json::all_hold(test, &checks)
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, |group, test| match json::text(group, "type")? {
        "WrapK" => check_wrap(test),
        "KeyRelease" => check_release(test),
        other => Err(format!("unknown group type {other}")),
    })
}
