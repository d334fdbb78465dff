//! The fleet-key artifact: the JSON document whose SHA-256 a deployment record logs.

use core::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::error::{ArtifactError, JsonErrorKind};
use crate::fleet_id::FleetId;
use crate::key::{self, FleetKey};
use crate::key_set::KeySet;
use crate::role::Role;

/// The JSON shape on the wire. Unknown fields are errors so that a field a newer producer adds cannot be silently
/// ignored by an older verifier, and so are duplicate fields.
struct RawArtifact {
    fleet_id: String,
    epoch: u64,
    keys: Vec<RawKey>,
}

struct RawKey {
    public_key: String,
    role: String,
}

/// `Deserialize` for a struct from a JSON object only, refusing unknown, duplicate and missing fields (missing ones
/// in declaration order). Written out rather than derived because serde's derive also accepts a struct as the array
/// of its field values (`["fleet-a", 7, []]`), which is not the schema of SPEC 8.2: asking for a map makes an array
/// a data error.
macro_rules! object_only {
    ($name:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;
                impl<'de> Visitor<'de> for Fields {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a JSON object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        $(let mut $field: Option<$ty> = None;)+
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $(stringify!($field) => {
                                    if $field.is_some() {
                                        return Err(de::Error::duplicate_field(stringify!($field)));
                                    }
                                    $field = Some(map.next_value()?);
                                })+
                                other => return Err(de::Error::unknown_field(other, &[$(stringify!($field)),+])),
                            }
                        }
                        Ok($name {
                            $($field: $field.ok_or_else(|| de::Error::missing_field(stringify!($field)))?,)+
                        })
                    }
                }
                deserializer.deserialize_map(Fields)
            }
        }
    };
}

object_only!(RawArtifact { fleet_id: String, epoch: u64, keys: Vec<RawKey> });
object_only!(RawKey {
    public_key: String,
    role: String
});

/// A fleet's keys for one epoch, as published in the binary-transparency log (schema in SPEC.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetKeyArtifact {
    fleet_id: FleetId,
    epoch: u64,
    keys: KeySet,
}

impl FleetKeyArtifact {
    /// Largest artifact accepted, in bytes. [`KeySet::MAX_KEYS`] entries take about 110 KiB; the margin allows
    /// whitespace without letting an artifact make the verifier hash or parse unbounded input.
    pub const MAX_LEN: usize = 1 << 20;

    /// Assembles an artifact.
    ///
    /// ```
    /// use fleet_bundle::{FleetId, FleetKey, FleetKeyArtifact, KeySet, Role};
    /// let artifact = FleetKeyArtifact::new(
    ///     FleetId::new("fleet-a")?,
    ///     7,
    ///     KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?,
    /// );
    /// assert_eq!(artifact.epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(fleet_id: FleetId, epoch: u64, keys: KeySet) -> Self {
        Self { fleet_id, epoch, keys }
    }

    /// The fleet.
    ///
    /// ```
    /// # use fleet_bundle::{FleetId, FleetKey, FleetKeyArtifact, KeySet, Role};
    /// # let artifact = FleetKeyArtifact::new(FleetId::new("fleet-a")?, 7,
    /// #     KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?);
    /// assert_eq!(artifact.fleet_id().as_str(), "fleet-a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fleet_id(&self) -> &FleetId {
        &self.fleet_id
    }

    /// The epoch.
    ///
    /// ```
    /// # use fleet_bundle::{FleetId, FleetKey, FleetKeyArtifact, KeySet, Role};
    /// # let artifact = FleetKeyArtifact::new(FleetId::new("fleet-a")?, 7,
    /// #     KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?);
    /// assert_eq!(artifact.epoch(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The keys.
    ///
    /// ```
    /// # use fleet_bundle::{FleetId, FleetKey, FleetKeyArtifact, KeySet, Role};
    /// # let artifact = FleetKeyArtifact::new(FleetId::new("fleet-a")?, 7,
    /// #     KeySet::new([FleetKey::new([0x11; 32], Role::OpaqueServer)?])?);
    /// assert_eq!(artifact.keys().role_of(&[0x11; 32]), Some(Role::OpaqueServer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub(crate) fn into_keys(self) -> KeySet {
        self.keys
    }

    /// Parses an artifact. Keys may appear in any order; each public key at most once; hex is exactly 64 lowercase
    /// digits; every key must pass the weak-key rules of its role for received keys (see [`FleetKey`]).
    ///
    /// ```
    /// use fleet_bundle::{ArtifactError, FleetKeyArtifact, Role};
    /// let json = br#"{"fleet_id": "fleet-a", "epoch": 7, "keys": [
    ///     {"public_key": "1111111111111111111111111111111111111111111111111111111111111111",
    ///      "role": "opaque_server"}]}"#;
    /// let artifact = FleetKeyArtifact::from_json(json)?;
    /// assert_eq!(artifact.keys().role_of(&[0x11; 32]), Some(Role::OpaqueServer));
    ///
    /// let unknown_field = br#"{"fleet_id": "fleet-a", "epoch": 7, "keys": [], "extra": 1}"#;
    /// assert!(matches!(FleetKeyArtifact::from_json(unknown_field), Err(ArtifactError::Json { .. })));
    /// # Ok::<(), ArtifactError>(())
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        if bytes.len() > Self::MAX_LEN {
            return Err(ArtifactError::TooLarge {
                len: bytes.len(),
                max: Self::MAX_LEN,
            });
        }
        let raw: RawArtifact = serde_json::from_slice(bytes).map_err(|error| ArtifactError::Json {
            kind: match error.classify() {
                serde_json::error::Category::Data => JsonErrorKind::Data,
                serde_json::error::Category::Eof => JsonErrorKind::Eof,
                serde_json::error::Category::Io | serde_json::error::Category::Syntax => JsonErrorKind::Syntax,
            },
            line: error.line(),
            column: error.column(),
        })?;
        let fleet_id = FleetId::new(&raw.fleet_id)?;
        if raw.keys.len() > KeySet::MAX_KEYS {
            return Err(ArtifactError::KeySet(crate::error::KeySetError::TooMany {
                count: raw.keys.len(),
            }));
        }
        let mut keys = Vec::with_capacity(raw.keys.len());
        for (index, key) in raw.keys.iter().enumerate() {
            let public_key = decode_key_hex(&key.public_key).ok_or(ArtifactError::PublicKeyEncoding { index })?;
            let role = Role::from_name(&key.role).ok_or(ArtifactError::UnknownRole { index })?;
            key::check_received(&public_key, role).map_err(|error| ArtifactError::InvalidKey { index, error })?;
            keys.push(FleetKey::unchecked(public_key, role));
        }
        Ok(Self {
            fleet_id,
            epoch: raw.epoch,
            keys: KeySet::new(keys)?,
        })
    }

    /// The canonical JSON form: no whitespace, fields in schema order, keys sorted by public-key bytes, lowercase
    /// hex. Producers should publish this form (any valid form verifies, since the log commits to exact bytes).
    ///
    /// ```
    /// use fleet_bundle::{FleetId, FleetKey, FleetKeyArtifact, KeySet, Role};
    /// let artifact = FleetKeyArtifact::new(
    ///     FleetId::new("fleet-a")?,
    ///     7,
    ///     KeySet::new([FleetKey::new([0xab; 32], Role::IplsSession)?])?,
    /// );
    /// let json = artifact.to_json();
    /// assert!(json.starts_with(br#"{"fleet_id":"fleet-a","epoch":7,"keys":[{"public_key":"abab"#));
    /// assert_eq!(FleetKeyArtifact::from_json(&json)?, artifact);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> Vec<u8> {
        // Written by hand: every string is from a fixed alphabet (fleet-id characters, hex digits, role names) that
        // JSON never escapes, so the output is exact and building it cannot fail.
        let mut out = String::with_capacity(64 + 100 * self.keys.as_slice().len());
        out.push_str("{\"fleet_id\":\"");
        out.push_str(self.fleet_id.as_str());
        out.push_str("\",\"epoch\":");
        out.push_str(&self.epoch.to_string());
        out.push_str(",\"keys\":[");
        for (index, key) in self.keys.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str("{\"public_key\":\"");
            out.push_str(&hex::encode(key.public_key()));
            out.push_str("\",\"role\":\"");
            out.push_str(key.role().name());
            out.push_str("\"}");
        }
        out.push_str("]}");
        out.into_bytes()
    }
}

/// Exactly 64 lowercase hexadecimal digits. Uppercase is refused so that one key has one spelling in the log.
fn decode_key_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC 8.2: the artifact and each key are JSON objects; serde's derive would also take the array of their
    /// field values. Unknown, duplicate and missing fields are data errors.
    #[test]
    fn only_objects_of_exactly_the_schema_fields_parse() {
        let key = "11".repeat(32);
        let data = |json: &str| match FleetKeyArtifact::from_json(json.as_bytes()) {
            Err(ArtifactError::Json { kind, .. }) => kind == JsonErrorKind::Data,
            _ => false,
        };
        let object =
            format!(r#"{{"fleet_id":"fleet-a","epoch":7,"keys":[{{"public_key":"{key}","role":"opaque_server"}}]}}"#);
        assert!(FleetKeyArtifact::from_json(object.as_bytes()).is_ok());
        assert!(data(&format!(
            r#"["fleet-a",7,[{{"public_key":"{key}","role":"opaque_server"}}]]"#
        )));
        assert!(data(&format!(
            r#"{{"fleet_id":"fleet-a","epoch":7,"keys":[["{key}","opaque_server"]]}}"#
        )));
        assert!(data(&object.replacen("\"epoch\":7", "\"epoch\":7,\"epoch\":7", 1)));
        assert!(data(&object.replacen("\"epoch\":7", "\"epoch\":7,\"extra\":0", 1)));
        assert!(data(&object.replacen("\"epoch\":7,", "", 1)));
        assert!(data(&object.replacen(
            "\"role\":\"opaque_server\"",
            "\"role\":\"opaque_server\",\"x\":1",
            1
        )));
    }

    #[test]
    fn hex_must_be_exactly_64_lowercase_digits() {
        assert_eq!(decode_key_hex(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(decode_key_hex(&"AB".repeat(32)), None);
        assert_eq!(decode_key_hex(&"ab".repeat(31)), None);
        assert_eq!(decode_key_hex(&"ab".repeat(33)), None);
        assert_eq!(decode_key_hex(&format!("{}0x", "ab".repeat(31))), None);
        assert_eq!(decode_key_hex(&format!("{} a", "ab".repeat(31))), None);
    }
}
