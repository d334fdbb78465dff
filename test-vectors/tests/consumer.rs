//! The Rust consumer: every vector of every family agrees with the crates, the committed files are exactly what
//! the generator produces, and a flipped byte makes the check fail.

use std::path::Path;

use serde_json::Value;
use test_vectors::{FAMILIES, Family, render};

fn load(family: &Family) -> (String, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(format!("{}.json", family.name));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    (text, value)
}

/// The field of the first valid test that each family's checker recomputes from the others (`a.b` names field `b`
/// of object `a`).
fn output_field(family: &str) -> &'static str {
    match family {
        "recovery_key" => "key",
        "backup_key_wrap" => "ek",
        "backup_stream" => "file",
        "vault_messages" => "signature",
        "fleet_bundle" => "signedBundle",
        "ipls_sealing" => "sealed",
        "ipls_escrow" => "auth",
        "witness_signature" => "signedRoot",
        "security_code" => "localHash",
        "opaque_messages" => "outputs.export_key",
        "vault_commands" => "command",
        "vault_replica" => "response",
        "kt_lookup" => "value",
        "kt_history" => "proof",
        "kt_audit" => "blob",
        other => panic!("no output field for {other}"),
    }
}

/// A JSON pointer for a dotted field path.
fn pointer(field: &str) -> String {
    format!("/{}", field.replace('.', "/"))
}

#[test]
fn every_vector_agrees_with_the_implementation() {
    for family in &FAMILIES {
        let (_, file) = load(family);
        let checked = (family.check)(&file).unwrap_or_else(|error| panic!("{}: {error}", family.name));
        assert!(checked > 0, "{}", family.name);
        println!("{}: {checked} vectors checked", family.name);
    }
}

#[test]
fn committed_files_are_exactly_what_the_generator_produces() {
    for family in &FAMILIES {
        let (text, _) = load(family);
        assert!(
            text == render(&(family.generate)()),
            "{} is stale: regenerate",
            family.name
        );
        let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas")
            .join(format!("{}.schema.json", family.name));
        let schema = std::fs::read_to_string(schema_path).expect("schema file");
        assert!(
            schema == render(&(family.schema)()),
            "{} schema is stale: regenerate",
            family.name
        );
    }
}

#[test]
fn a_flipped_byte_makes_the_check_fail() {
    for family in &FAMILIES {
        let (_, mut file) = load(family);
        let field = output_field(family.name);
        let test = file["testGroups"]
            .as_array_mut()
            .and_then(|groups| {
                groups
                    .iter_mut()
                    .flat_map(|group| group["tests"].as_array_mut().into_iter().flatten())
                    .find(|test| test["result"] == "valid" && test.pointer(&pointer(field)).is_some())
            })
            .unwrap_or_else(|| panic!("{}: no valid test with {field}", family.name));
        let value = test.pointer_mut(&pointer(field)).expect("present");
        let mut bytes = hex::decode(value.as_str().expect("hex")).expect("hex");
        bytes[0] ^= 0x01;
        *value = Value::String(hex::encode(bytes));
        assert!(
            (family.check)(&file).is_err(),
            "{}: a flipped byte in {field} went unnoticed",
            family.name
        );
    }
}

/// Every field of every vault-message vector is checked: changing any one (a byte of a hex field, or an integer)
/// makes the check fail, in valid tests and in refusals alike. Except in messages altered in transit (`Tampered`
/// registrations and logins): altered further, they stay refused for the same reason; and the pinned OPAQUE server
/// key of a wrong-password login, which the client never reaches (OPAQUE fails before the key is compared).
#[test]
fn every_field_of_the_vault_message_vectors_is_checked() {
    let family = FAMILIES
        .iter()
        .find(|family| family.name == "vault_messages")
        .expect("family");
    let (_, file) = load(family);
    let mut unnoticed = Vec::new();
    for (group_index, group) in file["testGroups"].as_array().expect("groups").iter().enumerate() {
        if group["type"] == "Api" {
            // Checked by running each call on its inputs (many inputs give the same refusal when altered): its
            // outcome fields are, in `api_outcomes_are_checked`.
            continue;
        }
        for (test_index, test) in group["tests"].as_array().expect("tests").iter().enumerate() {
            let altered_in_transit = test["flags"] == serde_json::json!(["Tampered"]);
            if altered_in_transit && (group["type"] == "Registration" || group["type"] == "Login") {
                continue;
            }
            for (field, value) in test.as_object().expect("object") {
                if test["error"] == "WrongPassword" && group["type"] == "Login" && field == "opaqueServerKey" {
                    continue;
                }
                let changed = match value {
                    Value::String(text) if !["comment", "result", "error"].contains(&field.as_str()) => {
                        let mut bytes = hex::decode(text).expect("hex");
                        let middle = bytes.len() / 2;
                        bytes[middle] ^= 0x01;
                        Value::String(hex::encode(bytes))
                    }
                    Value::Number(number) if field != "tcId" => Value::from(number.as_u64().expect("unsigned") ^ 0x03),
                    _ => continue,
                };
                let mut altered = file.clone();
                altered["testGroups"][group_index]["tests"][test_index][field] = changed;
                if (family.check)(&altered).is_ok() {
                    unnoticed.push(format!("tcId {} {field}", test["tcId"]));
                }
            }
        }
    }
    assert!(unnoticed.is_empty(), "changes that went unnoticed: {unnoticed:?}");
}

/// vault_messages' `Api` group: changing a test's outcome (its result, its error's name or any field of the error)
/// makes the check fail.
#[test]
fn api_outcomes_are_checked() {
    let family = FAMILIES
        .iter()
        .find(|family| family.name == "vault_messages")
        .expect("family");
    let (_, file) = load(family);
    let mut unnoticed = Vec::new();
    let mut altered_fields = 0;
    for (group_index, group) in file["testGroups"].as_array().expect("groups").iter().enumerate() {
        if group["type"] != "Api" {
            continue;
        }
        for (test_index, test) in group["tests"].as_array().expect("tests").iter().enumerate() {
            for field in [
                "result",
                "error",
                "what",
                "decodeError",
                "found",
                "expected",
                "invalidField",
            ] {
                let changed = match &test[field] {
                    Value::String(text) if field == "result" => {
                        Value::from(if text == "valid" { "invalid" } else { "valid" })
                    }
                    Value::String(text) => Value::String(format!("{text}x")),
                    Value::Number(number) => Value::from(number.as_u64().expect("unsigned") ^ 0x01),
                    _ => continue,
                };
                altered_fields += 1;
                let mut altered = file.clone();
                altered["testGroups"][group_index]["tests"][test_index][field] = changed;
                if (family.check)(&altered).is_ok() {
                    unnoticed.push(format!("tcId {} {field}", test["tcId"]));
                }
            }
        }
    }
    assert!(altered_fields > 0);
    assert!(unnoticed.is_empty(), "changes that went unnoticed: {unnoticed:?}");
}

/// Every field of every vault-command vector is checked: changing any one (a byte of a hex field, a decimal string,
/// a number or a name) makes the check fail, in valid tests and in refusals alike. Except the encoding of a refusal
/// (`principal`, `command` or `response` in the `*Reject` groups): altered further, most stay refused for the same
/// reason.
#[test]
fn every_field_of_the_vault_command_vectors_is_checked() {
    let family = FAMILIES
        .iter()
        .find(|family| family.name == "vault_commands")
        .expect("family");
    let (_, file) = load(family);
    let decimal = ["atMs", "epoch"];
    let mut unnoticed = Vec::new();
    let mut altered_fields = 0;
    for (group_index, group) in file["testGroups"].as_array().expect("groups").iter().enumerate() {
        let reject = group["type"].as_str().expect("type").ends_with("Reject");
        for (test_index, test) in group["tests"].as_array().expect("tests").iter().enumerate() {
            for (field, value) in test.as_object().expect("object") {
                if ["tcId", "comment", "flags", "result"].contains(&field.as_str())
                    || (reject && ["principal", "command", "response"].contains(&field.as_str()))
                {
                    continue;
                }
                let changed = match value {
                    Value::String(text) if decimal.contains(&field.as_str()) => {
                        let number: u64 = text.parse().expect("decimal");
                        Value::String(number.wrapping_add(1).to_string())
                    }
                    Value::String(text) if hex::decode(text).is_ok() && field != "kindName" => {
                        let mut bytes = hex::decode(text).expect("hex");
                        if bytes.is_empty() {
                            bytes.push(0x00);
                        } else {
                            let middle = bytes.len() / 2;
                            bytes[middle] ^= 0x01;
                        }
                        Value::String(hex::encode(bytes))
                    }
                    Value::String(text) => Value::String(format!("{text}x")),
                    Value::Number(number) => Value::from(number.as_u64().expect("unsigned") ^ 0x03),
                    _ => continue,
                };
                altered_fields += 1;
                let mut altered = file.clone();
                altered["testGroups"][group_index]["tests"][test_index][field] = changed;
                if (family.check)(&altered).is_ok() {
                    unnoticed.push(format!("tcId {} {field}", test["tcId"]));
                }
            }
        }
    }
    assert!(altered_fields > 0);
    assert!(unnoticed.is_empty(), "changes that went unnoticed: {unnoticed:?}");
}

/// Each refusal's error fields are compared: changing the name or a field of the error (recovery key, stream) is
/// noticed. And every u64 field is read as a decimal string: the same value as a JSON number, or a string with a
/// leading zero, is refused (fleet bundle, witness signature, stream's neighbours).
#[test]
fn error_fields_and_u64_strings_are_checked() {
    let error_fields: [(&str, &[&str]); 2] = [
        ("recovery_key", &["error", "position", "digits"]),
        (
            "backup_stream",
            &["error", "decodeError", "found", "expected", "segmentIndex"],
        ),
    ];
    let u64_fields: [(&str, &[&str]); 2] = [
        (
            "fleet_bundle",
            &[
                "now",
                "epoch",
                "issuedAt",
                "expiresAt",
                "stateEpoch",
                "lastAccepted",
                "recordEpoch",
                "artifactEpoch",
                "lastEpoch",
                "expectedEpoch",
                "foundEpoch",
                "responderNow",
            ],
        ),
        (
            "witness_signature",
            &["timestampMs", "epoch", "notBeforeMs", "maxAgeMs", "nowMs"],
        ),
    ];
    let mut unnoticed = Vec::new();
    let mut altered_fields = 0;
    let mut try_change = |family: &Family, file: &Value, at: (usize, usize), field: &str, changed: Value| {
        let mut altered = file.clone();
        altered["testGroups"][at.0]["tests"][at.1][field] = changed.clone();
        altered_fields += 1;
        if (family.check)(&altered).is_ok() {
            unnoticed.push(format!(
                "{} tcId {} {field} = {changed}",
                family.name, file["testGroups"][at.0]["tests"][at.1]["tcId"]
            ));
        }
    };
    for (name, fields) in error_fields.iter().chain(&u64_fields) {
        let family = FAMILIES.iter().find(|family| family.name == *name).expect("family");
        let (_, file) = load(family);
        for (group_index, group) in file["testGroups"].as_array().expect("groups").iter().enumerate() {
            for (test_index, test) in group["tests"].as_array().expect("tests").iter().enumerate() {
                for field in *fields {
                    let at = (group_index, test_index);
                    match &test[*field] {
                        Value::String(text) if u64_fields.iter().any(|(n, _)| n == name) => {
                            let number: u64 = text.parse().expect("decimal");
                            try_change(family, &file, at, field, Value::from(number));
                            try_change(family, &file, at, field, Value::String(format!("0{text}")));
                        }
                        Value::String(text) => try_change(family, &file, at, field, Value::String(format!("{text}x"))),
                        Value::Number(number) => {
                            let changed = Value::from(number.as_u64().expect("unsigned") ^ 0x01);
                            try_change(family, &file, at, field, changed);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(altered_fields > 0);
    assert!(unnoticed.is_empty(), "changes that went unnoticed: {unnoticed:?}");
}
