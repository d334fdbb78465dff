//! Plexi witness-signature vectors (kt-verify `SignedRoot` / `WitnessVerifier`): the signed root's fields, the
//! exact message the witness signs in each ciphersuite's encoding, the Ed25519 key and signature, the protobuf
//! transport of the signed root, and the verifier's context (namespace, key validity, freshness); and roots or
//! keys that the verifier must reject with the named reason.

use ed25519_dalek::{Signer, SigningKey};
use kt_verify::{Ciphersuite, SignedRoot, WitnessError, WitnessKey, WitnessVerifier};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::json::{self, fail};

mod setup;

pub(crate) use setup::{decode_error, refused_encodings};

/// cloudflare/plexi `plexi_core/tests/test-vectors.json`: one signing key, two namespaces, one per ciphersuite.
const PLEXI_SOURCE: &str = "cloudflare/plexi plexi_core/tests/test-vectors.json";
const PLEXI_SIGNING_KEY: &str = "d6af1bca3db4fc2766b0c483706c20bf4837a46d54c1d39c2a34a9088572d712";
const PLEXI_TIMESTAMP: u64 = 1_717_084_639_921;
const PLEXI_DIGEST: [u8; 32] = [0x11; 32];
const PLEXI_SIGNATURES: [(&str, u32, &str); 2] = [
    (
        "log1.example.test",
        1,
        "31fbef3ed02ea0c8570e3740857d343857118102698a0822ee070a03d7a20637d6507fc855669ac30b959d6a0d35cba455a39e287ce2a101dbc16236027a400c",
    ),
    (
        "log2.example.test",
        2,
        "9e666ec61efb48e7d0a4c63f9eb50ab3d1674ac7841d97e1a2d85946a7da00bde6ce2dff0d56bcf40d61f4cfcac290001cf20b662c5e223f5e8ce192bb0f7101",
    ),
];

/// Our own roots: namespace, key validity and the verifier's clock.
const NAMESPACE: &str = "kt.example/whatsapp";
const NOT_BEFORE_MS: u64 = 1_700_000_000_000;
const SIGNED_AT_MS: u64 = 1_750_000_000_000;
const MAX_AGE_MS: u64 = 3_600_000;
const WITNESS_SEED: [u8; 32] = [0x21; 32];

/// The order of the Ed25519 base point, little-endian.
pub(crate) const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn reason(error: &WitnessError) -> &'static str {
    match error {
        WitnessError::NonCanonicalKey => "NonCanonicalKey",
        WitnessError::InvalidKey => "InvalidKey",
        WitnessError::WeakKey => "WeakKey",
        WitnessError::WrongNamespace => "WrongNamespace",
        WitnessError::UnknownKeyId { .. } => "UnknownKeyId",
        WitnessError::KeyNotYetValid { .. } => "KeyNotYetValid",
        WitnessError::FromTheFuture { .. } => "FromTheFuture",
        WitnessError::Stale { .. } => "Stale",
        WitnessError::BadSignature => "BadSignature",
        _ => "Other",
    }
}

fn notes() -> Value {
    json!({
        "format": "kt-verify/SPEC.md and src/witness.rs, after cloudflare/plexi plexi_core: the witness signs SignatureMessage{ciphersuite, namespace, timestamp (ms), epoch, digest}",
        "u64": "timestampMs, epoch, notBeforeMs, maxAgeMs and nowMs are u64 decimal strings; ciphersuite (u32) and keyId (u8) are JSON numbers; BeyondDoubles tests use 2^53 + 1 and 2^64 - 1, which a JSON number parsed as a double does not hold",
        "ciphersuite1": "signedMessage = protobuf: field 1 varint ciphersuite, 2 bytes namespace, 3 varint timestamp, 4 bytes Epoch{1 varint epoch}, 5 bytes digest; every field written, in this order, minimal varints",
        "ciphersuite2": "signedMessage = bincode (legacy): u32 ciphersuite, u64 length || namespace, u64 timestamp, u64 epoch, u64 length || digest; all little-endian",
        "signedRoot": "protobuf SignatureResponse{1 bytes message (the ciphersuite-1 protobuf SignatureMessage, whatever the ciphersuite), 2 bytes signature, 3 varint keyId}",
        "keyId": "the last byte of the Ed25519 public key; it selects the verifier's key",
        "verification": "in this order: public key (kt-verify SPEC 1.4, the workspace's one Ed25519 key rule, checked when the verifier is built, so before anything of the root) canonical, i.e. y < p and no sign bit on y = 1 or y = p - 1 (else NonCanonicalKey), not one of the eight small-order encodings (else WeakKey), a curve point (else InvalidKey); namespace == verifierNamespace (WrongNamespace); keyId of the trusted key (UnknownKeyId, errorKeyId the root's key id); timestampMs >= notBeforeMs (KeyNotYetValid, errorTimestampMs and errorNotBeforeMs); timestampMs <= nowMs + 60000 (FromTheFuture, errorTimestampMs and errorNowMs); nowMs - timestampMs <= maxAgeMs (Stale, errorTimestampMs and errorNowMs); S < l, then strict Ed25519 (BadSignature)",
        "signedRootDecode": "SignedRootDecode tests: signedRoot bytes that SignedRoot::from_protobuf refuses (kt-verify SPEC §1.2, §8.2), error the DecodeError with its fields: expected (UnexpectedField: the field number expected; BadLength: the length), found (BadLength), wireType (UnsupportedWireType), count (TrailingBytes). The decoder reads the outer fields 1 message, 2 signature, 3 key_id (each present, in order, of its wire type), then no bytes may follow; then inside the message 1 ciphersuite (a u32 and 1 or 2, else ValueOutOfRange), 2 namespace (UTF-8, else NotUtf8), 3 timestamp, 4 the epoch message (its field 1, then nothing), 5 digest, then nothing; then the digest's length (32), the signature's (64) and key_id <= 255 (ValueOutOfRange); then re-encodes and compares (NonCanonical). A varint is at most 10 bytes and at most u64::MAX (VarintOverflow); a field key with number 0 or above u32::MAX is BadFieldNumber, a wire type other than 0 and 2 UnsupportedWireType; input ending inside a field is Truncated",
        "keySet": "KeySet tests: WitnessKey::new(key, notBeforeMs) for each of publicKeys in order (the key rule; NonCanonicalKey, WeakKey, InvalidKey), then WitnessVerifier::new(verifierNamespace, keys, maxAgeMs): no keys is NoKeys, two keys with one key id DuplicateKeyId with duplicateKeyId; valid: keyIds is each key's id (last byte), in order",
        "ciphersuite": "Ciphersuite tests: Ciphersuite::from_id(ciphersuite): 1 and 2 are Plexi's, any other u32 is UnknownCiphersuite with id",
        "privateKey": "the Ed25519 seed where known: Ed25519 is deterministic, so signing signedMessage with it gives signature",
        "source": "tests naming a source carry that project's published values; the others are ours",
    })
}

struct Root {
    ciphersuite: Ciphersuite,
    namespace: String,
    timestamp_ms: u64,
    epoch: u64,
    digest: [u8; 32],
}

impl Root {
    fn ours(ciphersuite: Ciphersuite, epoch: u64) -> Self {
        Self {
            ciphersuite,
            namespace: NAMESPACE.into(),
            timestamp_ms: SIGNED_AT_MS,
            epoch,
            digest: Sha256::digest(format!("AKD root of epoch {epoch}")).into(),
        }
    }

    fn signed(&self, signature: [u8; 64], key_id: u8) -> SignedRoot {
        SignedRoot::new(
            self.ciphersuite,
            self.namespace.clone(),
            self.timestamp_ms,
            self.epoch,
            self.digest,
            signature,
            key_id,
        )
    }

    fn message(&self) -> Vec<u8> {
        self.signed([0; 64], 0).signed_message()
    }

    fn sign(&self, signer: &SigningKey) -> SignedRoot {
        let key_id = signer.verifying_key().to_bytes()[31];
        self.signed(signer.sign(&self.message()).to_bytes(), key_id)
    }
}

/// The verifier's side of a test.
struct Context {
    namespace: String,
    public_key: [u8; 32],
    not_before_ms: u64,
    max_age_ms: u64,
    now_ms: u64,
}

/// The fields a `WitnessError` of the verification carries, as the vectors name them: `errorKeyId` (UnknownKeyId),
/// `errorTimestampMs` with `errorNotBeforeMs` (KeyNotYetValid) or `errorNowMs` (FromTheFuture, Stale).
fn witness_error_fields(error: &WitnessError) -> Vec<(&'static str, Value)> {
    match *error {
        WitnessError::UnknownKeyId { key_id } => vec![("errorKeyId", json!(key_id))],
        WitnessError::KeyNotYetValid {
            timestamp_ms,
            not_before_ms,
        } => vec![
            ("errorTimestampMs", json::decimal(timestamp_ms)),
            ("errorNotBeforeMs", json::decimal(not_before_ms)),
        ],
        WitnessError::FromTheFuture { timestamp_ms, now_ms } | WitnessError::Stale { timestamp_ms, now_ms } => vec![
            ("errorTimestampMs", json::decimal(timestamp_ms)),
            ("errorNowMs", json::decimal(now_ms)),
        ],
        _ => Vec::new(),
    }
}

const WITNESS_ERROR_FIELDS: [&str; 4] = ["errorKeyId", "errorTimestampMs", "errorNotBeforeMs", "errorNowMs"];

/// kt-verify's verdict on `root` in `context`: the key, the verifier, then `verify`.
fn verdict(root: &SignedRoot, context: &Context) -> Result<(), WitnessError> {
    let key = WitnessKey::new(context.public_key, context.not_before_ms)?;
    let verifier = WitnessVerifier::new(context.namespace.as_str(), [key], context.max_age_ms)?;
    verifier.verify(root, context.now_ms).map(|_| ())
}

/// A test of `root` in `context`; its outcome is kt-verify's, which must be the one the table names (`intended`).
fn test(comment: &str, root: &SignedRoot, context: &Context, intended: Result<(), &str>) -> Value {
    let verdict = verdict(root, context);
    assert_eq!(verdict.as_ref().map_err(reason).err(), intended.err(), "{comment}");
    let mut test = json!({
        "comment": comment,
        "flags": [],
        "ciphersuite": root.ciphersuite().id(),
        "namespace": root.namespace(),
        "timestampMs": json::decimal(root.timestamp_ms()),
        "epoch": json::decimal(root.epoch()),
        "digest": hex::encode(root.digest()),
        "keyId": root.key_id(),
        "signedMessage": hex::encode(root.signed_message()),
        "signature": hex::encode(root.signature()),
        "signedRoot": hex::encode(root.to_protobuf()),
        "publicKey": hex::encode(context.public_key),
        "verifierNamespace": context.namespace,
        "notBeforeMs": json::decimal(context.not_before_ms),
        "maxAgeMs": json::decimal(context.max_age_ms),
        "nowMs": json::decimal(context.now_ms),
    });
    match verdict {
        Ok(()) => test["result"] = json!("valid"),
        Err(error) => {
            test["result"] = json!("invalid");
            test["error"] = json!(reason(&error));
            for (field, value) in witness_error_fields(&error) {
                test[field] = value;
            }
        }
    }
    test
}

fn with(mut test: Value, fields: Vec<(&str, Value)>) -> Value {
    for (field, value) in fields {
        test[field] = value;
    }
    test
}

/// `s + l`, little-endian: the same point equation, an unreduced encoding.
pub(crate) fn add_group_order(signature: &[u8; 64]) -> [u8; 64] {
    let mut out = *signature;
    let mut carry = 0u16;
    for (s, l) in out[32..].iter_mut().zip(GROUP_ORDER) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum as u8;
        carry = sum >> 8;
    }
    out
}

fn plexi_tests() -> Vec<Value> {
    let signer = SigningKey::from_bytes(
        &hex::decode(PLEXI_SIGNING_KEY)
            .expect("hex")
            .try_into()
            .expect("32 bytes"),
    );
    let mut tests = Vec::new();
    for (namespace, suite, signature) in PLEXI_SIGNATURES {
        let root = Root {
            ciphersuite: Ciphersuite::from_id(suite).expect("known"),
            namespace: namespace.into(),
            timestamp_ms: PLEXI_TIMESTAMP,
            epoch: 1,
            digest: PLEXI_DIGEST,
        };
        let signature: [u8; 64] = hex::decode(signature).expect("hex").try_into().expect("64 bytes");
        let key_id = signer.verifying_key().to_bytes()[31];
        let context = Context {
            namespace: namespace.into(),
            public_key: signer.verifying_key().to_bytes(),
            not_before_ms: 0,
            max_age_ms: 1_000,
            now_ms: PLEXI_TIMESTAMP + 500,
        };
        tests.push(with(
            test(
                &format!("Plexi published vector, ciphersuite {suite}"),
                &root.signed(signature, key_id),
                &context,
                Ok(()),
            ),
            vec![
                ("privateKey", json!(PLEXI_SIGNING_KEY)),
                ("source", json!(PLEXI_SOURCE)),
            ],
        ));
        let other = Ciphersuite::from_id(3 - suite).expect("known");
        let mismatched = Root {
            ciphersuite: other,
            ..root
        };
        tests.push(with(
            test(
                &format!("Plexi vector's signature presented as ciphersuite {}", other.id()),
                &mismatched.signed(signature, key_id),
                &context,
                Err("BadSignature"),
            ),
            vec![
                ("flags", json!(["CiphersuiteMismatch"])),
                ("source", json!(PLEXI_SOURCE)),
            ],
        ));
    }
    tests
}

/// A signing key other than `signer` whose public key ends in the same byte (so has the same key id).
fn same_key_id_as(signer: &SigningKey) -> SigningKey {
    let target = signer.verifying_key().to_bytes()[31];
    (0u16..=u16::MAX)
        .map(|index| {
            let mut seed = [0x5e; 32];
            seed[..2].copy_from_slice(&index.to_le_bytes());
            SigningKey::from_bytes(&seed)
        })
        .find(|candidate| candidate.verifying_key().to_bytes()[31] == target && candidate != signer)
        .expect("one key in 256 shares the last byte")
}

/// The vector file.
#[allow(clippy::too_many_lines)] // the table of rejected cases, one per reason
pub fn generate() -> Value {
    let signer = SigningKey::from_bytes(&WITNESS_SEED);
    let context = Context {
        namespace: NAMESPACE.into(),
        public_key: signer.verifying_key().to_bytes(),
        not_before_ms: NOT_BEFORE_MS,
        max_age_ms: MAX_AGE_MS,
        now_ms: SIGNED_AT_MS + 1_000,
    };
    let seed = json!(hex::encode(WITNESS_SEED));
    let valid = |comment: &str, root: &Root| {
        with(
            test(comment, &root.sign(&signer), &context, Ok(())),
            vec![("privateKey", seed.clone())],
        )
    };
    let protobuf = Root::ours(Ciphersuite::ProtobufEd25519, 1234);
    let good = protobuf.sign(&signer);
    let mut tests = plexi_tests();
    tests.push(valid("ciphersuite 1 (protobuf)", &protobuf));
    tests.push(valid(
        "ciphersuite 2 (bincode)",
        &Root::ours(Ciphersuite::BincodeEd25519, 1234),
    ));
    tests.push(valid(
        "epoch 0 is still written",
        &Root::ours(Ciphersuite::ProtobufEd25519, 0),
    ));
    tests.push(valid(
        "epoch needing a 9-byte varint",
        &Root::ours(Ciphersuite::ProtobufEd25519, 1 << 56),
    ));
    // u64s a JSON number parsed as a double does not hold: 2^53 + 1 would be read as 2^53 (then the signed
    // message differs and the timestamp falls before notBeforeMs), 2^64 - 1 as 2^64.
    let beyond_doubles = (1u64 << 53) + 1;
    for (comment, timestamp_ms, epoch, suite) in [
        (
            "timestamp, epoch, key not_before and clock 2^53 + 1 (protobuf)",
            beyond_doubles,
            beyond_doubles,
            Ciphersuite::ProtobufEd25519,
        ),
        (
            "timestamp, epoch, key not_before and clock 2^53 + 1 (bincode)",
            beyond_doubles,
            beyond_doubles,
            Ciphersuite::BincodeEd25519,
        ),
        (
            "epoch 2^64 - 1 (10-byte varint), timestamp 2^53 + 1",
            beyond_doubles,
            u64::MAX,
            Ciphersuite::ProtobufEd25519,
        ),
    ] {
        let root = Root {
            timestamp_ms,
            ..Root::ours(suite, epoch)
        };
        tests.push(with(
            test(
                comment,
                &root.sign(&signer),
                &Context {
                    not_before_ms: timestamp_ms,
                    now_ms: timestamp_ms,
                    ..context_like(&context)
                },
                Ok(()),
            ),
            vec![("privateKey", seed.clone()), ("flags", json!(["BeyondDoubles"]))],
        ));
    }

    // Fields altered after signing: the signature no longer covers them.
    let altered = |comment: &str, flag: &str, root: &Root| {
        with(
            test(
                comment,
                &root.signed(*good.signature(), good.key_id()),
                &context,
                Err("BadSignature"),
            ),
            vec![("flags", json!([flag]))],
        )
    };
    tests.push(altered(
        "epoch altered",
        "Tampered",
        &Root {
            epoch: 1235,
            ..Root::ours(Ciphersuite::ProtobufEd25519, 1234)
        },
    ));
    let mut digest = protobuf.digest;
    digest[31] ^= 0x01;
    tests.push(altered(
        "digest altered",
        "Tampered",
        &Root {
            digest,
            ..Root::ours(Ciphersuite::ProtobufEd25519, 1234)
        },
    ));
    tests.push(altered(
        "timestamp altered by 1 ms",
        "Tampered",
        &Root {
            timestamp_ms: SIGNED_AT_MS + 1,
            ..Root::ours(Ciphersuite::ProtobufEd25519, 1234)
        },
    ));
    tests.push(altered(
        "ciphersuite-1 signature presented as ciphersuite 2",
        "CiphersuiteMismatch",
        &Root::ours(Ciphersuite::BincodeEd25519, 1234),
    ));
    let renamed = Root {
        namespace: "kt.example/other".into(),
        ..Root::ours(Ciphersuite::ProtobufEd25519, 1234)
    };
    tests.push(with(
        test(
            "namespace altered, verifier of the altered namespace",
            &renamed.signed(*good.signature(), good.key_id()),
            &Context {
                namespace: renamed.namespace.clone(),
                ..context_like(&context)
            },
            Err("BadSignature"),
        ),
        vec![("flags", json!(["Tampered"]))],
    ));
    tests.push(with(
        test(
            "signed for another namespace",
            &renamed.sign(&signer),
            &context,
            Err("WrongNamespace"),
        ),
        vec![("flags", json!(["WrongNamespace"]))],
    ));
    tests.push(with(
        test(
            "S + l (unreduced scalar, same point equation)",
            &protobuf.signed(add_group_order(good.signature()), good.key_id()),
            &context,
            Err("BadSignature"),
        ),
        vec![("flags", json!(["UnreducedS"]))],
    ));

    // Keys.
    let impostor = same_key_id_as(&signer);
    tests.push(with(
        test(
            "signed by another key with the same key id",
            &protobuf.sign(&impostor),
            &context,
            Err("BadSignature"),
        ),
        vec![("flags", json!(["WrongKey"]))],
    ));
    let stranger = SigningKey::from_bytes(&[0x22; 32]);
    tests.push(with(
        test(
            "signed by an untrusted key",
            &protobuf.sign(&stranger),
            &context,
            Err("UnknownKeyId"),
        ),
        vec![("flags", json!(["WrongKey"]))],
    ));
    let mut identity = [0u8; 32];
    identity[0] = 1;
    // y = p + k, with the sign bit `sign`.
    let p_plus = |k: u8, sign: u8| {
        let mut encoding = [0xff; 32];
        encoding[0] = 0xed + k;
        encoding[31] = 0x7f | sign;
        encoding
    };
    let mut negative_zero = identity;
    negative_zero[31] = 0x80;
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2; // y = 2: (y^2 - 1) / (d y^2 + 1) is not a square
    for (comment, key, flag, error) in [
        ("small-order public key (identity)", identity, "WeakKey", "WeakKey"),
        (
            "non-canonical encoding (y = p + 1) of the identity",
            p_plus(1, 0),
            "NonCanonicalKey",
            "NonCanonicalKey",
        ),
        (
            "non-canonical encoding (y = p + 1, sign bit set) of the identity",
            p_plus(1, 0x80),
            "NonCanonicalKey",
            "NonCanonicalKey",
        ),
        (
            "non-canonical encoding (y = p) of a point of order 4",
            p_plus(0, 0),
            "NonCanonicalKey",
            "NonCanonicalKey",
        ),
        (
            "non-canonical encoding (y = p, sign bit set) of a point of order 4",
            p_plus(0, 0x80),
            "NonCanonicalKey",
            "NonCanonicalKey",
        ),
        (
            "non-canonical encoding (sign bit set on x = 0) of the identity",
            negative_zero,
            "NonCanonicalKey",
            "NonCanonicalKey",
        ),
        (
            "non-canonical y = p + 2 (reduced, y = 2 is off the curve): the canonical check comes first",
            p_plus(2, 0),
            "NonCanonicalKey",
            "NonCanonicalKey",
        ),
        ("public key not on the curve", not_a_point, "InvalidKey", "InvalidKey"),
    ] {
        tests.push(with(
            test(
                comment,
                &protobuf.signed(*good.signature(), key[31]),
                &Context {
                    public_key: key,
                    ..context_like(&context)
                },
                Err(error),
            ),
            vec![("flags", json!([flag]))],
        ));
    }

    // Time.
    for (comment, now_ms, not_before_ms, error) in [
        (
            "signed before the key's not_before",
            SIGNED_AT_MS,
            SIGNED_AT_MS + 1,
            "KeyNotYetValid",
        ),
        (
            "timestamp more than 60 s ahead of the verifier's clock",
            SIGNED_AT_MS - 60_001,
            NOT_BEFORE_MS,
            "FromTheFuture",
        ),
        (
            "older than maxAgeMs",
            SIGNED_AT_MS + MAX_AGE_MS + 1,
            NOT_BEFORE_MS,
            "Stale",
        ),
    ] {
        tests.push(with(
            test(
                comment,
                &good,
                &Context {
                    not_before_ms,
                    now_ms,
                    ..context_like(&context)
                },
                Err(error),
            ),
            vec![("flags", json!(["Freshness"]))],
        ));
    }
    for (comment, now_ms) in [
        ("exactly 60 s ahead of the verifier's clock", SIGNED_AT_MS - 60_000),
        ("exactly maxAgeMs old", SIGNED_AT_MS + MAX_AGE_MS),
    ] {
        tests.push(with(
            test(
                comment,
                &good,
                &Context {
                    now_ms,
                    ..context_like(&context)
                },
                Ok(()),
            ),
            vec![("privateKey", seed.clone()), ("flags", json!(["Freshness"]))],
        ));
    }

    json::file(
        "PLEXI-WITNESS-SIGNATURE-ED25519",
        "witness_signature.schema.json",
        &notes(),
        [
            vec![json!({"type": "WitnessSignature", "tests": tests})],
            setup::groups(&good, NAMESPACE, NOT_BEFORE_MS, MAX_AGE_MS),
        ]
        .concat(),
    )
}

fn context_like(context: &Context) -> Context {
    Context {
        namespace: context.namespace.clone(),
        ..*context
    }
}

fn integer(test: &Map<String, Value>, field: &str) -> Result<u64, String> {
    test.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("missing integer {field}"))
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    if let Some(outcome) = setup::check_test(json::text(group, "type")?, test) {
        return outcome;
    }
    let suite = u32::try_from(integer(test, "ciphersuite")?).map_err(|_| fail(test, "ciphersuite"))?;
    let ciphersuite = Ciphersuite::from_id(suite).map_err(|error| fail(test, &error.to_string()))?;
    let root = SignedRoot::from_protobuf(&json::bytes(test, "signedRoot")?)
        .map_err(|error| fail(test, &format!("signedRoot: {error}")))?;
    let fields = SignedRoot::new(
        ciphersuite,
        json::text(test, "namespace")?,
        json::decimal_u64(test, "timestampMs")?,
        json::decimal_u64(test, "epoch")?,
        json::array(test, "digest")?,
        json::array(test, "signature")?,
        u8::try_from(integer(test, "keyId")?).map_err(|_| fail(test, "keyId"))?,
    );
    json::all_hold(
        test,
        &[
            (root == fields, "signedRoot"),
            (
                root.signed_message() == json::bytes(test, "signedMessage")?,
                "signedMessage",
            ),
        ],
    )?;
    let (namespace, max_age_ms, now_ms) = (
        json::text(test, "verifierNamespace")?,
        json::decimal_u64(test, "maxAgeMs")?,
        json::decimal_u64(test, "nowMs")?,
    );
    let outcome = WitnessKey::new(json::array(test, "publicKey")?, json::decimal_u64(test, "notBeforeMs")?)
        .and_then(|key| WitnessVerifier::new(namespace, [key], max_age_ms))
        .and_then(|verifier| verifier.verify(&root, now_ms));
    if !json::valid(test)? {
        return match outcome {
            Err(error)
                if reason(&error) == json::text(test, "error")?
                    && WITNESS_ERROR_FIELDS.iter().all(|field| {
                        test.get(*field)
                            == witness_error_fields(&error)
                                .iter()
                                .find(|(f, _)| f == field)
                                .map(|(_, v)| v)
                    }) =>
            {
                Ok(())
            }
            _ => Err(fail(test, "root was not rejected as specified")),
        };
    }
    let verified = outcome.map_err(|error| fail(test, &error.to_string()))?;
    let mut checks = vec![(
        verified.epoch() == root.epoch() && verified.digest() == root.digest(),
        "verified root",
    )];
    if test.contains_key("privateKey") {
        let signer = SigningKey::from_bytes(&json::array(test, "privateKey")?);
        checks.push((
            signer.verifying_key().to_bytes() == json::array::<32>(test, "publicKey")?,
            "publicKey",
        ));
        checks.push((
            signer.sign(&root.signed_message()).to_bytes() == *root.signature(),
            "signature",
        ));
    }
    json::all_hold(test, &checks)
}

/// Checks every vector against this implementation; returns how many were checked.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
