//! JSON Schemas of the vector files (draft 2020-12), built from each family's field list so that the schema and
//! the generator cannot drift apart.

use serde_json::{Map, Value, json};

/// How a test field is typed.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    /// Lower-case hex string.
    Hex,
    /// Free text.
    Text,
    /// Unsigned integer.
    Integer,
    /// Unsigned 32-bit integer (a JSON number: every u32 is exact in a double, so no decimal string is needed).
    U32,
    /// Unsigned 64-bit integer as a decimal string (no sign, no leading zeros): a u64 above 2^53 is not exact as a
    /// JSON number in most parsers.
    DecimalU64,
    /// Array of hex strings.
    HexArray,
    /// Array of u64s, each a decimal string as in [`Field::DecimalU64`].
    DecimalU64Array,
    /// Object whose values are hex strings, keyed by name (RFC 9807's `inputs`, `intermediates`, `outputs`).
    HexObject,
}

impl Field {
    fn schema(self) -> Value {
        match self {
            Self::Hex => json!({"type": "string", "pattern": "^([0-9a-f]{2})*$"}),
            Self::Text => json!({"type": "string"}),
            Self::Integer => json!({"type": "integer", "minimum": 0}),
            Self::U32 => json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
            Self::DecimalU64 => json!({
                "type": "string",
                "pattern": "^(0|[1-9][0-9]{0,19})$",
                "maxLength": 20,
                "description": "u64 as a decimal string: values above 2^53 are not exact as JSON numbers; at most 18446744073709551615",
            }),
            Self::HexArray => json!({"type": "array", "items": {"type": "string", "pattern": "^([0-9a-f]{2})*$"}}),
            Self::DecimalU64Array => json!({"type": "array", "items": Self::DecimalU64.schema()}),
            Self::HexObject => {
                json!({"type": "object", "additionalProperties": {"type": "string", "pattern": "^([0-9a-f]{2})*$"}})
            }
        }
    }
}

/// The schema of a family whose tests may carry `fields` besides the common ones.
pub fn for_family(title: &str, group_types: &[&str], fields: &[(&str, Field)]) -> Value {
    let mut properties = Map::new();
    properties.insert("tcId".into(), json!({"type": "integer", "minimum": 1}));
    properties.insert("comment".into(), json!({"type": "string"}));
    properties.insert("flags".into(), json!({"type": "array", "items": {"type": "string"}}));
    properties.insert("result".into(), json!({"enum": ["valid", "invalid"]}));
    properties.insert("error".into(), json!({"type": "string"}));
    for (name, field) in fields {
        properties.insert((*name).into(), field.schema());
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["algorithm", "schema", "generator", "numberOfTests", "notes", "testGroups"],
        "additionalProperties": false,
        "properties": {
            "algorithm": {"type": "string"},
            "schema": {"type": "string"},
            "generator": {"type": "object", "required": ["command"]},
            "numberOfTests": {"type": "integer", "minimum": 1},
            "notes": {"type": "object", "additionalProperties": {"type": "string"}},
            "testGroups": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["type", "tests"],
                    "additionalProperties": false,
                    "properties": {
                        "type": {"enum": group_types},
                        "tests": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["tcId", "comment", "flags", "result"],
                                "additionalProperties": false,
                                "properties": properties,
                                "if": {"properties": {"result": {"const": "invalid"}}},
                                "then": {"required": ["error"]},
                            },
                        },
                    },
                },
            },
        },
    })
}
