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

/// An ipls error's name and its fields under the vector's field names (`found`: a version or type byte).
fn error_fields(error: &Error) -> (String, Vec<(&'static str, Value)>) {
    let fields = match *error {
        Error::LegacyVersion { found } | Error::UnknownVersion { found } | Error::WrongType { found } => {
            vec![("found", json!(found))]
        }
        _ => vec![],
    };
    let debug = format!("{error:?}");
    (debug.split(['(', ' ']).next().unwrap_or_default().to_owned(), fields)
}

/// What opening gives, from the test's inputs as the API takes them: the ids (`AccountId::new`, `ContactId::new`
/// check their length first), then `ContactSealer::open`.
fn open(test: &Map<String, Value>) -> Result<Result<Vec<u8>, Error>, String> {
    let (account, contact, key, sealed) = (
        json::bytes(test, "accountId")?,
        json::bytes(test, "contactId")?,
        json::array(test, "contactKey")?,
        json::bytes(test, "sealed")?,
    );
    Ok((|| {
        let (account, contact) = (AccountId::new(account)?, ContactId::new(contact)?);
        let record = ContactSealer::new(&ContactKey::from_bytes(key), &account).open(&contact, &sealed)?;
        Ok(record.to_vec())
    })())
}

/// The vector file.
#[allow(clippy::too_many_lines)] // mostly the table of refused records, one per error
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
    // The outcome is the crate's: `expected` only guards against a case that does not test what it says.
    let invalid = |comment: &str, field: &str, value: Vec<u8>, expected: &str| {
        let mut test = json!({
            "comment": comment, "flags": ["Tampered"], "result": "invalid",
            "contactKey": base["contactKey"], "accountId": base["accountId"], "contactId": base["contactId"],
            "sealed": base["sealed"],
        });
        test[field] = json!(hex::encode(value));
        let error = open(test.as_object().expect("object"))
            .expect("well-formed test")
            .expect_err(comment);
        let (name, fields) = error_fields(&error);
        assert_eq!(name, expected, "{comment}");
        json::with_fields(&test, [vec![("error", json!(name))], fields].concat())
    };
    let sealed = hex::decode(base["sealed"].as_str().unwrap_or_default()).unwrap_or_default();
    let mut flipped = sealed.clone();
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    let with = |offset: usize, byte: u8| {
        let mut altered = sealed.clone();
        altered[offset] = byte;
        altered
    };
    tests.push(invalid(
        "moved to another contact",
        "contactId",
        b"c-0002".to_vec(),
        "Rejected",
    ));
    tests.push(invalid(
        "moved to another account",
        "accountId",
        b"15557654321@s.whatsapp.net".to_vec(),
        "Rejected",
    ));
    tests.push(invalid("tag altered", "sealed", flipped, "Rejected"));
    tests.push(invalid("another contact key", "contactKey", vec![0x42; 32], "Rejected"));
    tests.push(invalid("empty", "sealed", vec![], "Truncated"));
    tests.push(invalid(
        "29 bytes, one short of version, type, nonce and tag",
        "sealed",
        sealed[..29].to_vec(),
        "Truncated",
    ));
    tests.push(invalid(
        "29 bytes of version 0: the length is checked before the version",
        "sealed",
        with(0, 0)[..29].to_vec(),
        "Truncated",
    ));
    tests.push(invalid("version 0", "sealed", with(0, 0), "LegacyVersion"));
    tests.push(invalid("version 2", "sealed", with(0, 2), "UnknownVersion"));
    tests.push(invalid(
        "type 0x72 (an escrow hello)",
        "sealed",
        with(1, 0x72),
        "WrongType",
    ));
    tests.push(invalid(
        "version 2 and type 0x72: the version first",
        "sealed",
        with(1, 0x72)
            .into_iter()
            .enumerate()
            .map(|(i, byte)| if i == 0 { 2 } else { byte })
            .collect(),
        "UnknownVersion",
    ));
    tests.push(invalid("empty account id", "accountId", vec![], "InvalidId"));
    tests.push(invalid(
        "contact id of 256 bytes",
        "contactId",
        vec![b'c'; 256],
        "InvalidId",
    ));
    json::file(
        "IPLS-CONTACT-SEALING-AES256GCM-HKDF-SHA256",
        "ipls_sealing.schema.json",
        &json!({
            "accountKey": "HKDF-SHA256(salt absent, ikm = contactKey, info = accountKeyInfo = \"ipls/v1/contact-key\" || len8(accountId) || accountId, 32)",
            "aad": "\"ipls/v1/contact\" || 0x01 || len8(accountId) || accountId || len8(contactId) || contactId",
            "sealed": "0x01 || 0x71 || nonce (12) || AES-256-GCM(accountKey, nonce, aad, record)",
            "errors": "in order: the ids (InvalidId: 0 or more than 255 bytes), a record shorter than 30 bytes (Truncated), its version (LegacyVersion, UnknownVersion) and type (WrongType), each with the byte found, then the AEAD (Rejected)",
        }),
        vec![json!({"type": "ContactSealing", "tests": tests})],
    )
}

fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    let opened = open(test)?;
    if !json::valid(test)? {
        return match opened {
            Err(error) => {
                let (name, fields) = error_fields(&error);
                let same = json::text(test, "error")? == name
                    && test.get("found")
                        == fields
                            .iter()
                            .find(|(field, _)| *field == "found")
                            .map(|(_, value)| value);
                if same {
                    Ok(())
                } else {
                    Err(fail(
                        test,
                        &format!("refused with {name} {fields:?}, not as the test says"),
                    ))
                }
            }
            Ok(_) => Err(fail(test, "record was not rejected")),
        };
    }
    let account = AccountId::new(json::bytes(test, "accountId")?).map_err(|error| fail(test, &error.to_string()))?;
    let contact = ContactId::new(json::bytes(test, "contactId")?).map_err(|error| fail(test, &error.to_string()))?;
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
                opened.is_ok_and(|record| record == json::bytes(test, "record").unwrap_or_default()),
                "record",
            ),
        ],
    )
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, |_, test| check_test(test))
}
