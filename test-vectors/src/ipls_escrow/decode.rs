//! ipls_escrow's `EscrowDecode` group (ipls SPEC 7, 12): each escrow encoding's decoder on bytes, the outcome the
//! crate's `from_bytes`. An accepted encoding re-encodes to the same bytes; a refused one names the error with its
//! field (`found`: a version or type byte; `invalidField`: the field `InvalidField` names).

use ipls::{Error, EscrowAuth, EscrowChallenge, EscrowHello, EscrowReply, IdentityProof};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};

/// The crate's decoder for `kind`, re-encoding what it accepts.
fn decode(kind: &str, bytes: &[u8]) -> Option<Result<Vec<u8>, Error>> {
    Some(match kind {
        "hello" => EscrowHello::from_bytes(bytes).map(|message| message.to_bytes()),
        "challenge" => EscrowChallenge::from_bytes(bytes).map(|message| message.to_bytes()),
        "auth" => EscrowAuth::from_bytes(bytes).map(|message| message.to_bytes()),
        "reply" => EscrowReply::from_bytes(bytes).map(|message| message.to_bytes()),
        "identityProof" => IdentityProof::from_bytes(bytes).map(|message| message.to_bytes()),
        _ => return None,
    })
}

/// An error's name and fields under the vector's field names.
fn error_fields(error: Error) -> (String, Vec<(&'static str, Value)>) {
    let fields = match error {
        Error::LegacyVersion { found } | Error::UnknownVersion { found } | Error::WrongType { found } => {
            vec![("found", json!(found))]
        }
        Error::InvalidField(what) => vec![("invalidField", json!(what))],
        _ => vec![],
    };
    let debug = format!("{error:?}");
    (debug.split(['(', ' ']).next().unwrap_or_default().to_owned(), fields)
}

/// Every field an error of this group may carry: a test carries exactly those of its error.
const ERROR_FIELDS: [&str; 2] = ["found", "invalidField"];

/// The group's tests, from the messages of `session` (a valid retrieval of the file).
#[allow(clippy::too_many_lines)] // one line per case
pub(super) fn tests(session: &Value) -> Vec<Value> {
    let field = |name: &str| hex::decode(session[name].as_str().unwrap_or_default()).unwrap_or_default();
    let (hello, challenge, auth, reply, proof) = (
        field("hello"),
        field("challengeMessage"),
        field("auth"),
        field("reply"),
        field("identityProof"),
    );
    let with = |bytes: &[u8], offset: usize, byte: u8| {
        let mut altered = bytes.to_vec();
        altered[offset] = byte;
        altered
    };
    let case = |comment: &str, kind: &str, message: &[u8], expected: &str| {
        let test = json!({
            "comment": comment, "flags": ["Decode"], "messageType": kind, "message": hex::encode(message),
        });
        match decode(kind, message).expect("a known message type") {
            Ok(_) => {
                assert_eq!(expected, "valid", "{comment}");
                json::with_fields(&test, vec![("result", json!("valid"))])
            }
            Err(error) => {
                let (name, fields) = error_fields(error);
                assert_eq!(name, expected, "{comment}");
                let mut all = vec![("result", json!("invalid")), ("error", json!(name))];
                all.extend(fields);
                json::with_fields(&test, all)
            }
        }
    };
    let account_at = 67;
    let mut empty_account = hello[..account_at].to_vec();
    empty_account.push(0);
    vec![
        case("a hello", "hello", &hello, "valid"),
        case("empty", "hello", &[], "Truncated"),
        case("version 0", "hello", &with(&hello, 0, 0), "LegacyVersion"),
        case("version 2", "hello", &with(&hello, 0, 2), "UnknownVersion"),
        case("only the version byte", "hello", &hello[..1], "Truncated"),
        case("a challenge's type 0x73", "hello", &with(&hello, 1, 0x73), "WrongType"),
        case("purpose 0x03", "hello", &with(&hello, 2, 3), "InvalidField"),
        case(
            "purpose 0x00 in a hello cut after it: the purpose is read before the end is found",
            "hello",
            &with(&hello, 2, 0)[..3],
            "InvalidField",
        ),
        case("account id of length 0", "hello", &empty_account, "InvalidId"),
        case(
            "cut inside the account id",
            "hello",
            &hello[..hello.len() - 1],
            "Truncated",
        ),
        case(
            "a byte after the account id",
            "hello",
            &[hello.as_slice(), &[0]].concat(),
            "TrailingBytes",
        ),
        case("a challenge", "challenge", &challenge, "valid"),
        case(
            "cut inside the confirmation",
            "challenge",
            &challenge[..challenge.len() - 1],
            "Truncated",
        ),
        case(
            "a byte after the confirmation",
            "challenge",
            &[challenge.as_slice(), &[0]].concat(),
            "TrailingBytes",
        ),
        case(
            "a hello's type 0x72",
            "challenge",
            &with(&challenge, 1, 0x72),
            "WrongType",
        ),
        case("an auth", "auth", &auth, "valid"),
        case(
            "an auth of a 16-byte ciphertext (the tag alone)",
            "auth",
            &auth[..34 + 16],
            "valid",
        ),
        case("an auth of a 15-byte ciphertext", "auth", &auth[..34 + 15], "Truncated"),
        case("a reply", "reply", &reply, "valid"),
        case(
            "a reply of a 16-byte ciphertext (an upload's)",
            "reply",
            &reply[..2 + 16],
            "valid",
        ),
        case(
            "a reply of a 17-byte ciphertext",
            "reply",
            &reply[..2 + 17],
            "InvalidField",
        ),
        case(
            "a reply of a 49-byte ciphertext",
            "reply",
            &[reply.as_slice(), &[0]].concat(),
            "InvalidField",
        ),
        case("an identity proof", "identityProof", &proof, "valid"),
        case(
            "an identity proof cut inside its lookup proof",
            "identityProof",
            &proof[..proof.len() - 1],
            "Truncated",
        ),
        case(
            "a byte after an identity proof",
            "identityProof",
            &[proof.as_slice(), &[0]].concat(),
            "TrailingBytes",
        ),
    ]
}

/// Checks an `EscrowDecode` test by running the crate's decoder.
pub(super) fn check_test(test: &Map<String, Value>) -> Result<(), String> {
    let message = json::bytes(test, "message")?;
    let outcome =
        decode(json::text(test, "messageType")?, &message).ok_or_else(|| fail(test, "unknown messageType"))?;
    match (json::valid(test)?, outcome) {
        (true, Ok(encoded)) if encoded == message => Ok(()),
        (true, Ok(_)) => Err(fail(test, "re-encodes to other bytes")),
        (false, Err(error)) => {
            let (name, fields) = error_fields(error);
            let same = json::text(test, "error")? == name
                && ERROR_FIELDS
                    .iter()
                    .all(|field| test.get(*field) == fields.iter().find(|(f, _)| f == field).map(|(_, value)| value));
            if same {
                Ok(())
            } else {
                Err(fail(
                    test,
                    &format!("refused with {name} {fields:?}, not as the test says"),
                ))
            }
        }
        (true, Err(error)) => Err(fail(test, &format!("refused: {error}"))),
        (false, Ok(_)) => Err(fail(test, "accepted")),
    }
}
