//! Fuzz harnesses (issue #17): one plain function per fuzz target, called by the libFuzzer binaries in `fuzz/`
//! and by `tests/fuzz_corpus.rs`, which replays the committed corpus on stable Rust. Each function takes arbitrary
//! bytes, must never panic on them, and panics only when a property fails: a decoder that accepts an input whose
//! re-encoding differs (every wire format here is canonical), or a verifier that accepts a proof, signature or
//! file that it must refuse. FUZZING.md at the repository root lists the targets and how to run them.

mod backup;
mod fleet;
mod ipls;
mod kt;
mod kt_differential;
mod vault;
mod vault_driven;
mod vault_sequence;

/// One fuzz target: the name of its binary and of its corpus directory (`fuzz/corpus/<name>`), and its harness.
pub struct Target {
    /// Name of the libFuzzer binary and of the corpus directory.
    pub name: &'static str,
    /// The property check run on one input; returns whether the input was accepted (decoded, verified or
    /// decrypted), so the replay test can tell that a corpus reaches past the first refusal.
    pub run: fn(&[u8]) -> bool,
}

/// Every target.
pub const TARGETS: [Target; 15] = [
    Target {
        name: "backup_messages",
        run: backup::messages,
    },
    Target {
        name: "backup_stream",
        run: backup::stream,
    },
    Target {
        name: "ipls_messages",
        run: ipls::messages,
    },
    Target {
        name: "fleet_bundle",
        run: fleet::bundle,
    },
    Target {
        name: "fleet_deployment",
        run: fleet::deployment,
    },
    Target {
        name: "fleet_artifact",
        run: fleet::artifact,
    },
    Target {
        name: "kt_witness",
        run: kt::witness,
    },
    Target {
        name: "kt_lookup",
        run: kt::lookup,
    },
    Target {
        name: "kt_history",
        run: kt::history,
    },
    Target {
        name: "kt_audit",
        run: kt::audit,
    },
    Target {
        name: "kt_codes",
        run: kt::codes,
    },
    Target {
        name: "kt_differential",
        run: kt_differential::differential,
    },
    Target {
        name: "vault_messages",
        run: vault::messages,
    },
    Target {
        name: "vault_sequence",
        run: vault_sequence::sequence,
    },
    Target {
        name: "vault_driven",
        run: vault_driven::driven,
    },
];

/// Runs the target called `name` on `data`; `None` when there is no such target, else whether it accepted.
pub fn run(name: &str, data: &[u8]) -> Option<bool> {
    TARGETS
        .iter()
        .find(|target| target.name == name)
        .map(|target| (target.run)(data))
}

/// Splits a selector byte off the input: targets that group several decoders of one crate use it to pick the
/// decoder, so that one corpus file names the decoder it exercises.
fn select(data: &[u8], choices: u8) -> Option<(u8, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((first % choices, rest))
}

/// Decodes `input` with one decoder and checks that whatever it accepts re-encodes to the input; returns whether
/// it was accepted.
fn decode<T, E>(
    what: &str,
    input: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, E>,
    encode: impl Fn(&T) -> Vec<u8>,
) -> bool {
    let Ok(message) = decode(input) else {
        return false;
    };
    assert_round_trip(what, input, &encode(&message));
    true
}

/// The property every canonical decoder owes: what it accepted re-encodes to exactly the input.
fn assert_round_trip(what: &str, input: &[u8], encoded: &[u8]) {
    assert!(
        encoded == input,
        "{what}: accepted an input that does not re-encode to itself"
    );
}

/// Reads one hex field of a vector (the harnesses take their keys and roots from the committed vectors).
fn hex_field(test: &serde_json::Value, field: &str) -> Vec<u8> {
    hex::decode(test[field].as_str().unwrap_or_else(|| panic!("vector field {field}")))
        .unwrap_or_else(|_| panic!("vector field {field} is not hex"))
}

/// Reads one decimal-string field of a vector.
fn u64_field(test: &serde_json::Value, field: &str) -> u64 {
    test[field]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("vector field {field}"))
}

/// The tests of a vector file's groups of type `group`.
fn vector_tests(file: &str, group: &str) -> Vec<serde_json::Value> {
    let file: serde_json::Value = serde_json::from_str(file).expect("committed vector file is JSON");
    file["testGroups"]
        .as_array()
        .expect("testGroups")
        .iter()
        .filter(|g| g["type"] == group)
        .flat_map(|g| g["tests"].as_array().expect("tests").iter().cloned())
        .collect()
}
