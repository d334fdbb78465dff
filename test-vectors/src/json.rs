//! The Wycheproof-style envelope shared by every vector file, and typed access to its fields.

use serde_json::{Map, Value, json};

/// Builds a vector file. `numberOfTests` is counted from the groups and `tcId`s are assigned in order, so they
/// can never disagree with the content.
pub fn file(algorithm: &str, schema: &str, notes: &Value, mut groups: Vec<Value>) -> Value {
    let mut next_id = 1u64;
    for group in &mut groups {
        if let Some(tests) = group.get_mut("tests").and_then(Value::as_array_mut) {
            for test in tests {
                if let Some(test) = test.as_object_mut() {
                    test.insert("tcId".into(), json!(next_id));
                }
                next_id += 1;
            }
        }
    }
    json!({
        "algorithm": algorithm,
        "schema": schema,
        "generator": {
            "command": "cargo run -p test-vectors --bin generate",
            "source": "test-vectors/src (deterministic: fixed seeds, no clock)",
        },
        "numberOfTests": next_id - 1,
        "notes": notes,
        "testGroups": groups,
    })
}

/// A test with the group it belongs to.
pub type GroupedTest<'a> = (&'a Map<String, Value>, &'a Map<String, Value>);

/// Every test of a file with its group.
pub fn tests(file: &Value) -> Result<Vec<GroupedTest<'_>>, String> {
    let groups = file["testGroups"].as_array().ok_or("testGroups is not an array")?;
    let mut all = Vec::new();
    for group in groups {
        let group = group.as_object().ok_or("a test group is not an object")?;
        for test in group
            .get("tests")
            .and_then(Value::as_array)
            .ok_or("a group has no tests")?
        {
            all.push((group, test.as_object().ok_or("a test is not an object")?));
        }
    }
    let declared = file["numberOfTests"].as_u64().ok_or("numberOfTests missing")?;
    if declared != all.len() as u64 {
        return Err(format!("numberOfTests {declared} but {} tests", all.len()));
    }
    Ok(all)
}

/// A hex field as bytes.
pub fn bytes(object: &Map<String, Value>, field: &str) -> Result<Vec<u8>, String> {
    let text = object
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing field {field}"))?;
    hex::decode(text).map_err(|error| format!("field {field}: {error}"))
}

/// A hex field of exactly `N` bytes.
pub fn array<const N: usize>(object: &Map<String, Value>, field: &str) -> Result<[u8; N], String> {
    bytes(object, field)?
        .try_into()
        .map_err(|_| format!("field {field} is not {N} bytes"))
}

/// A string field.
pub fn text<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a str, String> {
    object
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing field {field}"))
}

/// A u64 as a JSON decimal string (schema field `DecimalU64`): above 2^53 a JSON number is not exact in most
/// parsers.
pub fn decimal(value: u64) -> Value {
    Value::String(value.to_string())
}

/// A `DecimalU64` field: a decimal string with no sign and no leading zero, at most 2^64 - 1. A JSON number is
/// refused, whatever its value.
pub fn decimal_u64(object: &Map<String, Value>, field: &str) -> Result<u64, String> {
    let text = match object.get(field) {
        Some(Value::String(text)) => text,
        Some(_) => return Err(format!("field {field} is not a decimal string")),
        None => return Err(format!("missing field {field}")),
    };
    canonical_u64(text).ok_or_else(|| format!("field {field} is not a canonical decimal u64"))
}

/// A canonical decimal u64: digits only, no leading zero (but "0" itself), at most 2^64 - 1.
pub fn canonical_u64(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    text.parse::<u64>().ok().filter(|_| canonical)
}

/// Whether the test is expected to be accepted.
pub fn valid(test: &Map<String, Value>) -> Result<bool, String> {
    match text(test, "result")? {
        "valid" => Ok(true),
        "invalid" => Ok(false),
        other => Err(format!("unknown result {other}")),
    }
}

/// Fails with the test's id.
pub fn fail(test: &Map<String, Value>, what: &str) -> String {
    format!("tcId {}: {what}", test.get("tcId").cloned().unwrap_or(Value::Null))
}

/// Runs `check` on every test of a file; returns how many were checked.
pub fn check_each(
    file: &Value,
    mut check: impl FnMut(&Map<String, Value>, &Map<String, Value>) -> Result<(), String>,
) -> Result<usize, String> {
    let tests = tests(file)?;
    for (group, test) in &tests {
        check(group, test)?;
    }
    Ok(tests.len())
}

/// Fails with the name of the first comparison that does not hold.
pub fn all_hold(test: &Map<String, Value>, checks: &[(bool, &str)]) -> Result<(), String> {
    checks
        .iter()
        .find(|(holds, _)| !holds)
        .map_or(Ok(()), |(_, what)| Err(fail(test, &format!("{what} differs"))))
}

/// `base` with `fields` set, replacing any already there.
pub fn with_fields(base: &Value, fields: Vec<(&str, Value)>) -> Value {
    let mut value = base.clone();
    for (field, field_value) in fields {
        value[field] = field_value;
    }
    value
}
