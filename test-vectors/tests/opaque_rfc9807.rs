//! RFC 9807's own test vectors (appendix C; `third_party/rfc9807-opaque-vectors.json`, from the CFRG draft
//! repository `cfrg/draft-irtf-cfrg-opaque` `poc/vectors/vectors.json`) run through opaque-ke with our OPAQUE
//! configuration: [`backup_protocol::Suite`]'s OPRF (ristretto255-SHA512) and key exchange
//! (3DH over ristretto255 with SHA-512), with the RFC's `Identity` KSF in place of our Argon2id
//! ([`test_vectors::opaque::RfcSuite`]).
//!
//! Which vectors run: those whose `config` is ristretto255 / SHA512 / 3DH / KSF Identity, the real exchange
//! (C.1.1 without identities, C.1.2 with client and server identities) and the fake-record KE2 (C.1.3). The others
//! use curve25519 or P-256 as the key-exchange group, which is not our configuration; each is listed with its
//! reason in `skip_reason`.

use std::path::Path;

use opaque_ke::ksf::Identity;
use serde_json::{Map, Value};
use test_vectors::opaque::{self, Failure, Inputs, Outputs, RfcSuite};
use test_vectors::opaque_messages::OUTPUTS;

fn vectors() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("third_party/rfc9807-opaque-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str::<Value>(&text)
        .expect("JSON")
        .as_array()
        .expect("an array of vectors")
        .clone()
}

/// `None` if the vector's configuration is ours (up to the KSF), else why it cannot run here.
fn skip_reason(config: &Map<String, Value>) -> Option<String> {
    let field = |name: &str| config.get(name).and_then(Value::as_str).unwrap_or("");
    let ours = [
        ("Group", "ristretto255"),
        ("OPRF", "ristretto255-SHA512"),
        ("Hash", "SHA512"),
        ("KDF", "HKDF-SHA512"),
        ("MAC", "HMAC-SHA512"),
        ("Name", "3DH"),
        ("KSF", "Identity"),
    ];
    ours.iter()
        .find(|(name, value)| field(name) != *value)
        .map(|(name, value)| {
            let what = if *name == "Group" {
                " (the 3DH key-exchange group)"
            } else {
                ""
            };
            format!(
                "{name}{what} is {}, ours is {value}: not our configuration",
                field(name)
            )
        })
}

fn hex_map(object: &Value, what: &str) -> Map<String, Value> {
    object[what].as_object().unwrap_or_else(|| panic!("no {what}")).clone()
}

fn bytes(object: &Map<String, Value>, name: &str) -> Vec<u8> {
    hex::decode(object[name].as_str().unwrap_or_else(|| panic!("no {name}"))).expect("hex")
}

fn inputs_of(vector: &Value) -> Inputs {
    let mut inputs = Inputs::from_json(&hex_map(vector, "inputs")).expect("hex inputs");
    let context = vector["config"]["Context"].as_str().expect("Context");
    inputs
        .fields
        .insert("context".into(), hex::decode(context).expect("hex"));
    inputs
}

/// The real exchange: every output and the intermediates opaque-ke's public API lets us observe.
fn check_real(index: usize, vector: &Value) {
    let inputs = inputs_of(vector);
    let (produced, outcome) = opaque::replay::<RfcSuite>(&inputs, &Identity, &Outputs::new());
    if let Err(failure) = outcome {
        panic!("vector {index}: {failure:?}");
    }
    let outputs = hex_map(vector, "outputs");
    for name in OUTPUTS {
        assert_eq!(
            hex::encode(&produced[name]),
            hex::encode(bytes(&outputs, name)),
            "vector {index}: {name}"
        );
    }
    assert_eq!(
        produced["login_export_key"],
        bytes(&outputs, "export_key"),
        "vector {index}"
    );
    assert_eq!(
        produced["server_session_key"],
        bytes(&outputs, "session_key"),
        "vector {index}"
    );

    let derived = opaque::intermediates::<RfcSuite>(&inputs, &Identity, &produced)
        .unwrap_or_else(|error| panic!("vector {index}: {error}"));
    let expected = hex_map(vector, "intermediates");
    for name in [
        "randomized_password",
        "masking_key",
        "auth_key",
        "client_public_key",
        "envelope",
    ] {
        assert_eq!(
            hex::encode(&derived[name]),
            hex::encode(bytes(&expected, name)),
            "vector {index}: {name}"
        );
    }
    let schedule =
        opaque::login_intermediates(&inputs, &produced, true).unwrap_or_else(|error| panic!("vector {index}: {error}"));
    for name in ["handshake_secret", "server_mac_key", "client_mac_key"] {
        assert_eq!(
            hex::encode(&schedule[name]),
            hex::encode(bytes(&expected, name)),
            "vector {index}: {name}"
        );
    }
    assert_eq!(
        derived["server_public_key"],
        bytes(&hex_map(vector, "inputs"), "server_public_key"),
        "vector {index}: server_public_key"
    );
}

/// The fake-record vector: the server's KE2 for an unknown user.
fn check_fake(index: usize, vector: &Value) {
    let inputs = inputs_of(vector);
    let ke1 = inputs.get("KE1").expect("KE1").to_vec();
    let ke2 =
        opaque::fake_ke2::<RfcSuite>(&inputs, &ke1).unwrap_or_else(|failure| panic!("vector {index}: {failure:?}"));
    assert_eq!(
        hex::encode(ke2),
        hex::encode(bytes(&hex_map(vector, "outputs"), "KE2")),
        "vector {index}: KE2"
    );
}

#[test]
fn rfc9807_vectors_of_our_configuration() {
    let vectors = vectors();
    let (mut real, mut fake, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (index, vector) in vectors.iter().enumerate() {
        let config = vector["config"].as_object().expect("config");
        if let Some(reason) = skip_reason(config) {
            println!("vector {index}: skipped: {reason}");
            skipped.push(index);
            continue;
        }
        if config.get("Fake").and_then(Value::as_str) == Some("True") {
            check_fake(index, vector);
            fake.push(index);
        } else {
            check_real(index, vector);
            real.push(index);
        }
        println!("vector {index}: ran");
    }
    // C.1.1, C.1.2 (real exchanges, without and with identities) and C.1.3 (fake record) are ristretto255; the
    // curve25519 and P-256 vectors are the six others.
    assert_eq!(real, [0, 1]);
    assert_eq!(fake, [6]);
    assert_eq!(skipped, [2, 3, 4, 5, 7, 8]);
}

#[test]
fn an_altered_rfc_output_is_noticed() {
    let vector = &vectors()[0];
    let inputs = inputs_of(vector);
    let outputs = hex_map(vector, "outputs");
    // Feed the client the RFC's KE2 with one byte of the server MAC flipped: the login must fail.
    let mut ke2 = bytes(&outputs, "KE2");
    let last = ke2.len() - 1;
    ke2[last] ^= 0x01;
    let given = Outputs::from([("KE2", ke2)]);
    let (_, outcome) = opaque::replay::<RfcSuite>(&inputs, &Identity, &given);
    assert!(matches!(
        outcome,
        Err(Failure::Protocol {
            step: "client_login_finish",
            error: "InvalidLogin"
        })
    ));
}
