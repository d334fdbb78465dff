//! The `witness_signature` groups around verification (kt-verify SPEC §1.1 to §1.3, §8.1, §8.2): signed-root
//! encodings that do not decode (`SignedRootDecode`, every `DecodeError` with its fields), key sets a verifier is
//! not built from (`KeySet`: `NoKeys`, `DuplicateKeyId`, and a refused key before either) and ciphersuite numbers
//! (`Ciphersuite`: `UnknownCiphersuite`). Every outcome is kt-verify's, obtained by running it.

use ed25519_dalek::SigningKey;
use kt_verify::{Ciphersuite, DecodeError, SignedRoot, WitnessError, WitnessKey, WitnessVerifier};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

/// `error` and the variant's fields: `expected` (UnexpectedField's field number, BadLength's length), `found`
/// (BadLength), `wireType` (UnsupportedWireType), `count` (TrailingBytes).
pub(crate) fn decode_error(error: &DecodeError) -> Value {
    match error {
        DecodeError::Truncated => json!({"error": "Truncated"}),
        DecodeError::VarintOverflow => json!({"error": "VarintOverflow"}),
        DecodeError::BadFieldNumber => json!({"error": "BadFieldNumber"}),
        DecodeError::UnsupportedWireType { wire_type } => {
            json!({"error": "UnsupportedWireType", "wireType": wire_type})
        }
        DecodeError::UnexpectedField { expected } => json!({"error": "UnexpectedField", "expected": expected}),
        DecodeError::BadLength { expected, found } => {
            json!({"error": "BadLength", "expected": expected, "found": found})
        }
        DecodeError::ValueOutOfRange => json!({"error": "ValueOutOfRange"}),
        DecodeError::NotUtf8 => json!({"error": "NotUtf8"}),
        DecodeError::NonCanonical => json!({"error": "NonCanonical"}),
        DecodeError::TrailingBytes { count } => json!({"error": "TrailingBytes", "count": count}),
        _ => json!({"error": "Other"}),
    }
}

/// The error fields a test of these groups may carry besides `error`.
const ERROR_FIELDS: [&str; 6] = ["expected", "found", "wireType", "count", "duplicateKeyId", "id"];

/// Whether `test` names exactly `expected` (`error` and every field of it, and no other error field).
fn names(test: &Map<String, Value>, expected: &Value) -> bool {
    let Some(expected) = expected.as_object() else {
        return false;
    };
    test.get("error") == expected.get("error")
        && ERROR_FIELDS
            .iter()
            .all(|field| test.get(*field) == expected.get(*field))
}

fn outcome_test(comment: &str, flags: &[&str], mut test: Value, outcome: Result<(), Value>) -> Value {
    test["comment"] = json!(comment);
    test["flags"] = json!(flags);
    match outcome {
        Ok(()) => test["result"] = json!("valid"),
        Err(error) => {
            test["result"] = json!("invalid");
            for (field, value) in error.as_object().expect("an error object") {
                test[field] = value.clone();
            }
        }
    }
    test
}

// --- SignedRootDecode -------------------------------------------------------------------------------------------

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_field(field: u64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, field << 3);
    varint(&mut out, value);
    out
}

/// A varint field whose value takes one byte more than its minimal encoding (the last byte continued by 0x00).
fn padded_varint_field(field: u64, value: u64) -> Vec<u8> {
    let mut out = varint_field(field, value);
    let last = out.pop().expect("a varint");
    out.extend_from_slice(&[last | 0x80, 0x00]);
    out
}

fn bytes_field(field: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, field << 3 | 2);
    varint(&mut out, data.len() as u64);
    out.extend_from_slice(data);
    out
}

/// The parts of a SignatureResponse, each already encoded as a whole field (tag included), so that any can be
/// replaced by a malformed one.
struct Parts {
    ciphersuite: Vec<u8>,
    namespace: Vec<u8>,
    timestamp: Vec<u8>,
    epoch: Vec<u8>,
    digest: Vec<u8>,
    signature: Vec<u8>,
    key_id: Vec<u8>,
}

impl Parts {
    fn of(root: &SignedRoot) -> Self {
        Self {
            ciphersuite: varint_field(1, u64::from(root.ciphersuite().id())),
            namespace: bytes_field(2, root.namespace().as_bytes()),
            timestamp: varint_field(3, root.timestamp_ms()),
            epoch: bytes_field(4, &varint_field(1, root.epoch())),
            digest: bytes_field(5, root.digest()),
            signature: bytes_field(2, root.signature()),
            key_id: varint_field(3, u64::from(root.key_id())),
        }
    }

    fn message(&self) -> Vec<u8> {
        [
            &self.ciphersuite[..],
            &self.namespace,
            &self.timestamp,
            &self.epoch,
            &self.digest,
        ]
        .concat()
    }

    fn encode(&self) -> Vec<u8> {
        [&bytes_field(1, &self.message())[..], &self.signature, &self.key_id].concat()
    }
}

fn decode_test(comment: &str, flag: &str, bytes: &[u8]) -> Value {
    let outcome = SignedRoot::from_protobuf(bytes)
        .map(|_| ())
        .map_err(|error| decode_error(&error));
    assert!(outcome.is_err(), "{comment}: decodes");
    outcome_test(comment, &[flag], json!({"signedRoot": hex::encode(bytes)}), outcome)
}

fn decode_tests(good: &SignedRoot) -> Vec<Value> {
    refused_encodings(good)
        .into_iter()
        .map(|(comment, flag, bytes)| decode_test(comment, flag, &bytes))
        .collect()
}

/// Encodings of `good` (a valid signed root) altered so that each `DecodeError` is the first failure:
/// `(comment, flag, bytes)`. Also what vault-core refuses as `Identity(Root(...))` (ipls_escrow's VaultEscrow).
#[allow(clippy::too_many_lines)] // the table of encodings, one per reason
pub(crate) fn refused_encodings(good: &SignedRoot) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let canonical = good.to_protobuf();
    assert_eq!(Parts::of(good).encode(), canonical, "Parts encodes as kt-verify does");
    let with = |change: &dyn Fn(&mut Parts)| {
        let mut parts = Parts::of(good);
        change(&mut parts);
        parts.encode()
    };
    let mut tests = Vec::new();
    let mut push = |comment: &'static str, flag: &'static str, bytes: Vec<u8>| tests.push((comment, flag, bytes));
    push("empty input: the message field is missing", "Missing", Vec::new());
    push(
        "without key_id (Plexi's types.proto marks it optional; kt-verify requires it, SPEC §1.2)",
        "MissingKeyId",
        canonical[..canonical.len() - 2].to_vec(),
    );
    push(
        "the key_id tag without its value",
        "Truncated",
        canonical[..canonical.len() - 1].to_vec(),
    );
    push(
        "the message field's length runs past the end",
        "Truncated",
        canonical[..40].to_vec(),
    );
    push(
        "key_id as a 10-byte varint whose last byte carries more than the one bit left of a u64",
        "VarintOverflow",
        with(&|parts| parts.key_id = [&[0x18][..], &[0xff; 9], &[0x02]].concat()),
    );
    push(
        "key_id as an 11-byte varint",
        "VarintOverflow",
        with(&|parts| parts.key_id = [&[0x18][..], &[0x80; 10], &[0x00]].concat()),
    );
    push(
        "a first field with number 0 (tag 0x02)",
        "BadFieldNumber",
        [&[0x02][..], &canonical[1..]].concat(),
    );
    push(
        "a field number above u32::MAX (tag varint 2^35 + 2)",
        "BadFieldNumber",
        [
            &{
                let mut tag = Vec::new();
                varint(&mut tag, (1 << 35) | 2);
                tag
            }[..],
            &canonical[1..],
        ]
        .concat(),
    );
    push(
        "the message field with wire type 5 (32-bit)",
        "UnsupportedWireType",
        [&[0x0d][..], &canonical[1..]].concat(),
    );
    push(
        "the message field with wire type 1 (64-bit)",
        "UnsupportedWireType",
        [&[0x09][..], &canonical[1..]].concat(),
    );
    push("signature before message", "UnexpectedField", {
        let parts = Parts::of(good);
        [&parts.signature[..], &bytes_field(1, &parts.message()), &parts.key_id].concat()
    });
    push(
        "key_id as a length-delimited field",
        "UnexpectedField",
        with(&|parts| parts.key_id = bytes_field(3, &[good.key_id()])),
    );
    push(
        "the message without its timestamp",
        "UnexpectedField",
        with(&|parts| parts.timestamp = Vec::new()),
    );
    push(
        "the epoch message empty (its field 1 missing)",
        "UnexpectedField",
        with(&|parts| parts.epoch = bytes_field(4, &[])),
    );
    push(
        "a 31-byte digest",
        "BadLength",
        with(&|parts| parts.digest = bytes_field(5, &good.digest()[..31])),
    );
    push(
        "a 65-byte signature",
        "BadLength",
        with(&|parts| parts.signature = bytes_field(2, &[&good.signature()[..], &[0]].concat())),
    );
    push(
        "a 31-byte digest and a 63-byte signature: the digest is checked first",
        "BadLength",
        with(&|parts| {
            parts.digest = bytes_field(5, &good.digest()[..31]);
            parts.signature = bytes_field(2, &good.signature()[..63]);
        }),
    );
    push(
        "key_id 256",
        "ValueOutOfRange",
        with(&|parts| parts.key_id = varint_field(3, 256)),
    );
    push(
        "ciphersuite 3 (Plexi defines 1 and 2)",
        "ValueOutOfRange",
        with(&|parts| parts.ciphersuite = varint_field(1, 3)),
    );
    push(
        "ciphersuite 2^32 + 1 (above u32::MAX)",
        "ValueOutOfRange",
        with(&|parts| parts.ciphersuite = varint_field(1, (1 << 32) + 1)),
    );
    push(
        "a 63-byte signature and key_id 256: the lengths are checked before the key id",
        "BadLength",
        with(&|parts| {
            parts.signature = bytes_field(2, &good.signature()[..63]);
            parts.key_id = varint_field(3, 256);
        }),
    );
    push(
        "a namespace that is not UTF-8 (0xff)",
        "NotUtf8",
        with(&|parts| parts.namespace = bytes_field(2, b"kt.example/\xff")),
    );
    push(
        "key_id with one varint byte more than needed (non-minimal)",
        "NonCanonical",
        with(&|parts| parts.key_id = padded_varint_field(3, u64::from(good.key_id()))),
    );
    push(
        "the timestamp with one varint byte more than needed (non-minimal)",
        "NonCanonical",
        with(&|parts| parts.timestamp = padded_varint_field(3, good.timestamp_ms())),
    );
    push(
        "a trailing zero byte after key_id",
        "TrailingBytes",
        [&canonical[..], &[0x00]].concat(),
    );
    push(
        "a fourth field (4, varint 0) after key_id",
        "TrailingBytes",
        [&canonical[..], &[0x20, 0x00]].concat(),
    );
    push(
        "a second field inside the epoch message",
        "TrailingBytes",
        with(&|parts| parts.epoch = bytes_field(4, &[varint_field(1, good.epoch()), varint_field(2, 0)].concat())),
    );
    push(
        "a sixth field inside the signed message",
        "TrailingBytes",
        with(&|parts| parts.digest = [&bytes_field(5, good.digest())[..], &varint_field(6, 0)].concat()),
    );
    tests
}

// --- KeySet and Ciphersuite -------------------------------------------------------------------------------------

fn witness_error(error: &WitnessError) -> Value {
    match error {
        WitnessError::NonCanonicalKey => json!({"error": "NonCanonicalKey"}),
        WitnessError::WeakKey => json!({"error": "WeakKey"}),
        WitnessError::InvalidKey => json!({"error": "InvalidKey"}),
        WitnessError::NoKeys => json!({"error": "NoKeys"}),
        WitnessError::DuplicateKeyId { key_id } => json!({"error": "DuplicateKeyId", "duplicateKeyId": key_id}),
        WitnessError::UnknownCiphersuite { id } => json!({"error": "UnknownCiphersuite", "id": id}),
        _ => json!({"error": "Other"}),
    }
}

/// Builds a verifier from `keys` (each not valid before `not_before_ms`); returns each key's id.
fn key_set(namespace: &str, keys: &[[u8; 32]], not_before_ms: u64, max_age_ms: u64) -> Result<Vec<u8>, Value> {
    let keys = keys
        .iter()
        .map(|key| WitnessKey::new(*key, not_before_ms))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| witness_error(&error))?;
    let ids = keys.iter().map(WitnessKey::key_id).collect();
    WitnessVerifier::new(namespace, keys, max_age_ms).map_err(|error| witness_error(&error))?;
    Ok(ids)
}

fn key_set_test(
    comment: &str,
    flag: &str,
    (namespace, not_before_ms, max_age_ms): (&str, u64, u64),
    keys: &[[u8; 32]],
) -> Value {
    let outcome = key_set(namespace, keys, not_before_ms, max_age_ms);
    let mut test = json!({
        "verifierNamespace": namespace,
        "publicKeys": keys.iter().map(hex::encode).collect::<Vec<_>>(),
        "notBeforeMs": json::decimal(not_before_ms),
        "maxAgeMs": json::decimal(max_age_ms),
    });
    if let Ok(ids) = &outcome {
        test["keyIds"] = json!(hex::encode(ids));
    }
    outcome_test(comment, &[flag], test, outcome.map(|_| ()))
}

fn key_set_tests(namespace: &str, not_before_ms: u64, max_age_ms: u64) -> Vec<Value> {
    let context = (namespace, not_before_ms, max_age_ms);
    let key = |seed: u8| SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes();
    let first = key(0x31);
    // Another key whose last byte (its key id) equals the first's.
    let twin = (0u16..=u16::MAX)
        .map(|index| {
            let mut seed = [0x32; 32];
            seed[..2].copy_from_slice(&index.to_le_bytes());
            SigningKey::from_bytes(&seed).verifying_key().to_bytes()
        })
        .find(|candidate| candidate[31] == first[31] && *candidate != first)
        .expect("one key in 256 shares the last byte");
    let mut identity = [0; 32];
    identity[0] = 1;
    vec![
        key_set_test("one key", "OneKey", context, &[first]),
        key_set_test(
            "two keys with distinct key ids",
            "TwoKeys",
            context,
            &[first, key(0x33)],
        ),
        key_set_test("no keys", "NoKeys", context, &[]),
        key_set_test(
            "two keys with the same key id (last byte)",
            "DuplicateKeyId",
            context,
            &[first, twin],
        ),
        key_set_test(
            "the same key twice",
            "DuplicateKeyId",
            context,
            &[first, key(0x33), first],
        ),
        key_set_test(
            "two keys with one key id, then a small-order key: every key is checked before the set",
            "WeakKey",
            context,
            &[first, twin, identity],
        ),
    ]
}

fn ciphersuite_tests() -> Vec<Value> {
    [
        (1, "ciphersuite 1: protobuf message, Ed25519"),
        (2, "ciphersuite 2: bincode (legacy) message, Ed25519"),
        (0, "ciphersuite 0"),
        (3, "ciphersuite 3"),
        (u32::MAX, "ciphersuite 2^32 - 1"),
    ]
    .into_iter()
    .map(|(id, comment)| {
        let outcome = Ciphersuite::from_id(id)
            .map(|suite| assert_eq!(suite.id(), id))
            .map_err(|error| witness_error(&error));
        let flag = if outcome.is_ok() { "Known" } else { "Unknown" };
        outcome_test(comment, &[flag], json!({"ciphersuite": id}), outcome)
    })
    .collect()
}

/// The groups, around `good` (a valid signed root) and the family's verifier context.
pub(super) fn groups(good: &SignedRoot, namespace: &str, not_before_ms: u64, max_age_ms: u64) -> Vec<Value> {
    vec![
        json!({"type": "SignedRootDecode", "tests": decode_tests(good)}),
        json!({"type": "KeySet", "tests": key_set_tests(namespace, not_before_ms, max_age_ms)}),
        json!({"type": "Ciphersuite", "tests": ciphersuite_tests()}),
    ]
}

/// Checks a test of one of these groups (`kind` is the group's type); `None` for another group.
pub(super) fn check_test(kind: &str, test: &Map<String, Value>) -> Option<Result<(), String>> {
    let outcome = match kind {
        "SignedRootDecode" => json::bytes(test, "signedRoot").map(|bytes| {
            SignedRoot::from_protobuf(&bytes)
                .map(|_| ())
                .map_err(|error| decode_error(&error))
        }),
        "KeySet" => (|| {
            let keys = test
                .get("publicKeys")
                .and_then(Value::as_array)
                .ok_or("missing publicKeys")?
                .iter()
                .map(|key| {
                    let bytes = hex::decode(key.as_str().ok_or("a key is not a string")?).map_err(|e| e.to_string())?;
                    <[u8; 32]>::try_from(bytes).map_err(|_| "a key is not 32 bytes".to_string())
                })
                .collect::<Result<Vec<_>, String>>()?;
            let outcome = key_set(
                json::text(test, "verifierNamespace")?,
                &keys,
                json::decimal_u64(test, "notBeforeMs")?,
                json::decimal_u64(test, "maxAgeMs")?,
            );
            match &outcome {
                Ok(ids) if json::bytes(test, "keyIds")? != *ids => Err(fail(test, "keyIds")),
                _ => Ok(outcome.map(|_| ())),
            }
        })(),
        "Ciphersuite" => test
            .get("ciphersuite")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| fail(test, "ciphersuite"))
            .map(|id| {
                Ciphersuite::from_id(id)
                    .map(|suite| assert_eq!(suite.id(), id))
                    .map_err(|error| witness_error(&error))
            }),
        _ => return None,
    };
    Some(outcome.and_then(|outcome| match (json::valid(test)?, outcome) {
        (true, Ok(())) => Ok(()),
        (false, Err(error)) if names(test, &error) => Ok(()),
        (_, outcome) => Err(fail(test, &format!("the crate gives {outcome:?}"))),
    }))
}
