//! IPLS contact-sealing vectors: the account key from CK, the AAD binding account and contact, the sealed record;
//! and records moved to another contact or account, or altered, which must not open.

use ipls::{AccountId, CONTACT_AAD, CONTACT_KEY_INFO, ContactId, ContactKey, ContactSealer, Error};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

fn len8(bytes: &[u8]) -> Vec<u8> {
    [&[bytes.len() as u8], bytes].concat()
}

fn ids(test: &Map<String, Value>) -> Result<(AccountId, ContactId), String> {
    let account = AccountId::new(json::bytes(test, "accountId")?).map_err(|error| error.to_string())?;
    let contact = ContactId::new(json::bytes(test, "contactId")?).map_err(|error| error.to_string())?;
    Ok((account, contact))
}

/// The vector file.
pub fn generate() -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6970_6c73);
    let mut ck = [0u8; 32];
    rng.fill_bytes(&mut ck);
    let key = ContactKey::from_bytes(ck);
    let mut tests = Vec::new();
    let mut first = None;
    for (account, contact, record) in [
        (
            "15551234567@s.whatsapp.net",
            "c-0001",
            r#"{"name":"Ada Lovelace","phone":"+15550001"}"#,
        ),
        ("15551234567@s.whatsapp.net", "c-0002", ""),
        ("15557654321@s.whatsapp.net", "c-0001", r#"{"name":"Grace Hopper"}"#),
    ] {
        let account_id = AccountId::new(account.as_bytes().to_vec()).expect("valid");
        let contact_id = ContactId::new(contact.as_bytes().to_vec()).expect("valid");
        let sealed = ContactSealer::new(&key, &account_id).seal(&mut rng, &contact_id, record.as_bytes());
        let account_key_info = [CONTACT_KEY_INFO, &len8(account.as_bytes())].concat();
        let aad = [
            CONTACT_AAD,
            &[0x01],
            &len8(account.as_bytes()),
            &len8(contact.as_bytes()),
        ]
        .concat();
        let test = json!({
            "comment": "sealed contact", "flags": [], "result": "valid",
            "contactKey": hex::encode(ck), "accountId": hex::encode(account), "contactId": hex::encode(contact),
            "record": hex::encode(record), "accountKeyInfo": hex::encode(account_key_info), "aad": hex::encode(aad),
            "nonce": hex::encode(&sealed[2..14]), "sealed": hex::encode(&sealed),
        });
        first.get_or_insert_with(|| test.clone());
        tests.push(test);
    }
    let base = first.unwrap_or_default();
    let invalid = |comment: &str, field: &str, value: Vec<u8>| {
        let mut test = json!({
            "comment": comment, "flags": ["Tampered"], "result": "invalid", "error": "Rejected",
            "contactKey": base["contactKey"], "accountId": base["accountId"], "contactId": base["contactId"],
            "sealed": base["sealed"],
        });
        test[field] = json!(hex::encode(value));
        test
    };
    let sealed = hex::decode(base["sealed"].as_str().unwrap_or_default()).unwrap_or_default();
    let mut flipped = sealed.clone();
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    tests.push(invalid("moved to another contact", "contactId", b"c-0002".to_vec()));
    tests.push(invalid(
        "moved to another account",
        "accountId",
        b"15557654321@s.whatsapp.net".to_vec(),
    ));
    tests.push(invalid("tag altered", "sealed", flipped));
    tests.push(invalid("another contact key", "contactKey", vec![0x42; 32]));
    json::file(
        "IPLS-CONTACT-SEALING-AES256GCM-HKDF-SHA256",
        "ipls_sealing.schema.json",
        &json!({
            "accountKey": "HKDF-SHA256(salt absent, ikm = contactKey, info = accountKeyInfo = \"ipls/v1/contact-key\" || len8(accountId) || accountId, 32)",
            "aad": "\"ipls/v1/contact\" || 0x01 || len8(accountId) || accountId || len8(contactId) || contactId",
            "sealed": "0x01 || 0x71 || nonce (12) || AES-256-GCM(accountKey, nonce, aad, record)",
        }),
        vec![json!({"type": "ContactSealing", "tests": tests})],
    )
}

fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    let (account, contact) = ids(test)?;
    let sealer = ContactSealer::new(&ContactKey::from_bytes(json::array(test, "contactKey")?), &account);
    let opened = sealer.open(&contact, &json::bytes(test, "sealed")?);
    if !json::valid(test)? {
        return match opened {
            Err(Error::Rejected) if json::text(test, "error")? == "Rejected" => Ok(()),
            _ => Err(fail(test, "record was not rejected as specified")),
        };
    }
    let aad = [
        CONTACT_AAD,
        &[0x01],
        &len8(account.as_bytes()),
        &len8(contact.as_bytes()),
    ]
    .concat();
    json::all_hold(
        test,
        &[
            (
                json::bytes(test, "accountKeyInfo")? == [CONTACT_KEY_INFO, &len8(account.as_bytes())].concat(),
                "accountKeyInfo",
            ),
            (json::bytes(test, "aad")? == aad, "aad"),
            (
                opened.is_ok_and(|record| *record == json::bytes(test, "record").unwrap_or_default()),
                "record",
            ),
        ],
    )
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, |_, test| check_test(test))
}
