//! akd 0.13 key-history vectors (kt-verify `WhatsAppDirectoryVerifier::verify_history`, SPEC §3): real proofs of
//! the versions of one label across epochs, from an in-memory directory with WhatsApp's configuration, with the
//! root, the VRF public key, the history request and every version the proof establishes (newest first); and
//! proofs, roots, labels and requests that must be refused with the exact `ProofError`.

use akd::proto::specs::types as pb;
use kt_verify::{HistoryScope, UnwitnessedRoot, WhatsAppDirectoryVerifier};
use protobuf::Message as _;
use serde_json::{Map, Value, json};

use crate::json::{self, fail};
use crate::kt_directory::{self, field_offset, flipped, offset_of, set_outcome};

fn notes() -> Value {
    json!({
        "directory": "the directory of kt_lookup.json: akd 0.13, WhatsAppV1Configuration (BLAKE3), akd's HardCodedAkdVRF, in memory; epoch 1 inserts alice, bob, carol, dave, erin (version 1); epoch 2 updates alice; epoch 3 bob and inserts frank; epochs 4 and 5 update alice. value = SHA-256(\"identity key of LABEL, version N\")",
        "proof": "akd's protobuf HistoryProof (akd_core proto/specs/types.proto): 1 update_proofs (UpdateProof: 1 epoch, 2 value, 3 version, 4 existence_vrf_proof, 5 existence_proof, 6 previous_version_vrf_proof, 7 previous_version_proof, 8 commitment_nonce), 2 past_marker_vrf_proofs, 3 existence_of_past_marker_proofs, 4 future_marker_vrf_proofs, 5 non_existence_of_future_marker_proofs; exactly the encoding akd writes",
        "historyParams": "the request the proof answers and the verifier is given: Complete (every version since the first) or MostRecent with mostRecent versions",
        "verification": "kt-verify SPEC §3, in order: VRF key a curve point (curve25519-dalek decoding, y mod p) not of small order (InvalidVrfKey); protobuf decoding and akd's conversion (Malformed); re-encoding gives the same bytes (NonCanonical); at least one update (EmptyHistory); per update version 0 (ZeroVersion), 2^64 - 1 (VersionOutOfRange), version > epoch (VersionAfterEpoch), update epoch > epoch (ValueEpochAfterRoot; both with errorEpoch, the root's epoch, and errorVersion or errorValueEpoch, the update's); each Merkle path's top parent label is the root label (NonCanonical); akd_core key_history_verify against rootHash and epoch (Rejected, with `failure` naming the failing akd_core check)",
        "result": "valid: versions[i] of label was published at valueEpochs[i] with values[i], newest first, in the directory whose root at `epoch` is `rootHash`",
        "u64": "epoch, versions and valueEpochs are u64 carried as decimal strings",
        "python": "the Python consumer decodes every proof by hand (every nested message, field lengths, canonical re-encoding, root labels), checks the pre-checks and the VRF key's point decoding and small-order test, re-derives with BLAKE3 each committed value's leaf and every Merkle path up to rootHash, and compares the result with the vector; it does not run the VRF (ECVRF-EDWARDS25519-SHA512-TAI), which binds the label and version to the tree position, nor akd_core's marker-version arithmetic and label and prefix comparisons: for an error `Rejected` whose Merkle paths hold it checks only that the failure is one of those",
    })
}

fn scope(most_recent: Option<usize>) -> HistoryScope {
    most_recent.map_or(HistoryScope::Complete, HistoryScope::MostRecent)
}

type Versions = Vec<(u64, u64, Vec<u8>)>;

fn verify(
    vrf_public_key: &[u8],
    epoch: u64,
    root: &[u8; 32],
    label: &[u8],
    proof: &[u8],
    most_recent: Option<usize>,
) -> Result<Versions, kt_verify::ProofError> {
    let verifier = WhatsAppDirectoryVerifier::new(vrf_public_key)?;
    let root = UnwitnessedRoot::trusted_by_caller(epoch, *root);
    let versions = verifier.verify_history(&root, label, proof, scope(most_recent))?;
    Ok(versions
        .iter()
        .map(|version| (version.version(), version.epoch(), version.value().to_vec()))
        .collect())
}

/// The test's request and what is checked against it.
struct Request<'a> {
    vrf_public_key: &'a [u8],
    epoch: u64,
    root: &'a [u8; 32],
    label: &'a str,
    most_recent: Option<usize>,
}

fn test(comment: &str, flags: &[&str], request: &Request<'_>, proof: &[u8]) -> Value {
    let mut test = json!({
        "comment": comment,
        "flags": flags,
        "vrfPublicKey": hex::encode(request.vrf_public_key),
        "epoch": json::decimal(request.epoch),
        "rootHash": hex::encode(request.root),
        "label": hex::encode(request.label),
        "historyParams": if request.most_recent.is_some() { "MostRecent" } else { "Complete" },
        "proof": hex::encode(proof),
    });
    if let Some(count) = request.most_recent {
        test["mostRecent"] = json!(count);
    }
    match verify(
        request.vrf_public_key,
        request.epoch,
        request.root,
        request.label.as_bytes(),
        proof,
        request.most_recent,
    ) {
        Ok(versions) => {
            set_outcome(&mut test, Ok(()));
            test["versions"] = versions.iter().map(|(version, _, _)| json::decimal(*version)).collect();
            test["valueEpochs"] = versions.iter().map(|(_, epoch, _)| json::decimal(*epoch)).collect();
            test["values"] = versions.iter().map(|(_, _, value)| json!(hex::encode(value))).collect();
        }
        Err(error) => kt_directory::set_proof_error(&mut test, &error),
    }
    test
}

fn mutated(proof: &[u8], change: impl FnOnce(&mut pb::HistoryProof)) -> Vec<u8> {
    let mut decoded = pb::HistoryProof::parse_from_bytes(proof).expect("akd's encoding");
    change(&mut decoded);
    decoded.write_to_bytes().expect("encode")
}

/// The vector file.
#[allow(clippy::too_many_lines)] // the table of rejected cases
pub fn generate() -> Value {
    let run = kt_directory::run();
    let key = &run.vrf_public_key[..];
    let mut valid = Vec::new();
    for history in &run.histories {
        let proof = &history.proof;
        let request = Request {
            vrf_public_key: key,
            epoch: proof.epoch,
            root: &proof.root,
            label: proof.label,
            most_recent: history.most_recent,
        };
        let scope = history.most_recent.map_or_else(
            || "complete history".to_string(),
            |count| format!("{count} most recent versions"),
        );
        let test = test(
            &format!("{scope} of {} at epoch {}", proof.label, proof.epoch),
            &[],
            &request,
            &proof.bytes,
        );
        assert_eq!(test["result"], "valid", "{}", test["comment"]);
        for (version, value) in test["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(test["values"].as_array().into_iter().flatten())
        {
            let version = version
                .as_str()
                .and_then(|version| version.parse().ok())
                .expect("version");
            assert_eq!(value, &json!(hex::encode(kt_directory::value(proof.label, version))));
        }
        valid.push(test);
    }
    let complete = run
        .histories
        .iter()
        .find(|history| history.proof.epoch == 5 && history.proof.label == "alice" && history.most_recent.is_none())
        .expect("alice's complete history at 5");
    let bytes = &complete.proof.bytes;
    let request = Request {
        vrf_public_key: key,
        epoch: 5,
        root: &complete.proof.root,
        label: "alice",
        most_recent: None,
    };
    let decoded = pb::HistoryProof::parse_from_bytes(bytes).expect("akd's encoding");
    let newest = &decoded.update_proofs[0];
    let oldest = decoded.update_proofs.last().expect("an update");
    let existence = newest.existence_proof.as_ref().expect("existence proof");
    let mut flips: Vec<(&str, usize)> = vec![
        ("the first byte (the first update proof's tag)", 0),
        ("the newest value", field_offset(bytes, 0x12, newest.value())),
        (
            "the newest existence VRF proof",
            field_offset(bytes, 0x22, newest.existence_vrf_proof()),
        ),
        (
            "the newest existence proof's leaf hash",
            offset_of(bytes, existence.hash_val()),
        ),
        (
            "the previous-version VRF proof of the newest update",
            field_offset(bytes, 0x32, newest.previous_version_vrf_proof()),
        ),
        (
            "the oldest update's commitment nonce",
            field_offset(bytes, 0x42, oldest.commitment_nonce()),
        ),
        ("the last byte (in the last future-marker proof)", bytes.len() - 1),
    ];
    if let Some(past) = decoded.past_marker_vrf_proofs.first() {
        flips.push(("a past-marker VRF proof", field_offset(bytes, 0x12, past)));
    }
    if let Some(future) = decoded.future_marker_vrf_proofs.first() {
        flips.push(("a future-marker VRF proof", field_offset(bytes, 0x22, future)));
    }
    let mut invalid = Vec::new();
    for (what, offset) in flips {
        invalid.push(test(
            &format!("alice's complete history at epoch 5, bit 0 of byte {offset} flipped ({what})"),
            &["FlippedByte"],
            &request,
            &flipped(bytes, offset),
        ));
    }
    invalid.push(test(
        "alice's complete history at epoch 5, truncated by one byte",
        &["Truncated"],
        &request,
        &bytes[..bytes.len() - 1],
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 against the root hash of epoch 4",
        &["WrongRoot"],
        &Request {
            root: &run.roots[4],
            ..request
        },
        bytes,
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 presented for bob",
        &["WrongLabel"],
        &Request {
            label: "bob",
            ..request
        },
        bytes,
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 against its root hash paired with epoch 6",
        &["WrongEpoch"],
        &Request { epoch: 6, ..request },
        bytes,
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 (versions up to 4) against epoch 3",
        &["WrongEpoch"],
        &Request { epoch: 3, ..request },
        bytes,
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 with the update of version 3 (epoch 4) removed",
        &["SkippedUpdate"],
        &request,
        &mutated(bytes, |proof| {
            proof.update_proofs.remove(1);
        }),
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 with the newest update (version 4) removed",
        &["SkippedUpdate"],
        &request,
        &mutated(bytes, |proof| {
            proof.update_proofs.remove(0);
        }),
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 with the first update (version 1) removed",
        &["SkippedUpdate"],
        &request,
        &mutated(bytes, |proof| {
            proof.update_proofs.pop();
        }),
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 with every update removed",
        &["EmptyHistory"],
        &request,
        &mutated(bytes, |proof| proof.update_proofs.clear()),
    ));
    invalid.push(test(
        "alice's complete history at epoch 5 with the newest update's version set to 0",
        &["ZeroVersion"],
        &request,
        &mutated(bytes, |proof| proof.update_proofs[0].set_version(0)),
    ));
    let recent = run
        .histories
        .iter()
        .find(|history| history.most_recent == Some(2))
        .expect("alice's 2 most recent");
    invalid.push(test(
        "alice's 2 most recent versions at epoch 5, verified as a complete history",
        &["WrongHistoryParams"],
        &Request {
            root: &recent.proof.root,
            ..request
        },
        &recent.proof.bytes,
    ));
    let other_key = ed25519_dalek::SigningKey::from_bytes(&[0x4b; 32])
        .verifying_key()
        .to_bytes();
    invalid.push(test(
        "alice's complete history at epoch 5 under another VRF key",
        &["WrongVrfKey"],
        &Request {
            vrf_public_key: &other_key,
            ..request
        },
        bytes,
    ));
    for test in &invalid {
        assert_eq!(test["result"], "invalid", "{}", test["comment"]);
    }
    json::file(
        "AKD key-history proof (akd 0.13, WhatsAppV1Configuration)",
        "kt_history.schema.json",
        &notes(),
        vec![
            json!({"type": "KtHistory", "tests": valid}),
            json!({"type": "KtHistoryReject", "tests": invalid}),
        ],
    )
}

fn decimals(test: &Map<String, Value>, field: &str) -> Result<Vec<u64>, String> {
    let items = test
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| fail(test, &format!("missing field {field}")))?;
    items
        .iter()
        .map(|item| {
            let digits = item
                .as_str()
                .ok_or_else(|| fail(test, &format!("{field} holds a non-string")))?;
            crate::json::canonical_u64(digits)
                .ok_or_else(|| fail(test, &format!("{field} holds a non-canonical decimal")))
        })
        .collect()
}

fn hex_items(test: &Map<String, Value>, field: &str) -> Result<Vec<Vec<u8>>, String> {
    let items = test
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| fail(test, &format!("missing field {field}")))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .and_then(|text| hex::decode(text).ok())
                .ok_or_else(|| fail(test, &format!("{field} holds a non-hex item")))
        })
        .collect()
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    let reject = json::text(group, "type")? == "KtHistoryReject";
    if json::valid(test)? == reject {
        return Err(fail(test, "result does not match the group"));
    }
    let most_recent = match json::text(test, "historyParams")? {
        "Complete" if !test.contains_key("mostRecent") => None,
        "MostRecent" => Some(
            test.get("mostRecent")
                .and_then(Value::as_u64)
                .and_then(|count| usize::try_from(count).ok())
                .ok_or_else(|| fail(test, "mostRecent missing"))?,
        ),
        _ => return Err(fail(test, "unknown historyParams")),
    };
    let outcome = verify(
        &json::bytes(test, "vrfPublicKey")?,
        json::decimal_u64(test, "epoch")?,
        &json::array(test, "rootHash")?,
        &json::bytes(test, "label")?,
        &json::bytes(test, "proof")?,
        most_recent,
    );
    match outcome {
        Ok(versions) => {
            if reject {
                return Err(fail(test, "accepted"));
            }
            json::all_hold(
                test,
                &[
                    (
                        decimals(test, "versions")?
                            == versions.iter().map(|(version, _, _)| *version).collect::<Vec<_>>(),
                        "versions",
                    ),
                    (
                        decimals(test, "valueEpochs")?
                            == versions.iter().map(|(_, epoch, _)| *epoch).collect::<Vec<_>>(),
                        "valueEpochs",
                    ),
                    (
                        hex_items(test, "values")?
                            == versions.into_iter().map(|(_, _, value)| value).collect::<Vec<_>>(),
                        "values",
                    ),
                ],
            )
        }
        Err(error) if reject => kt_directory::expect_error(test, &error),
        Err(error) => Err(fail(test, &format!("refused: {error}"))),
    }
}

/// Checks every vector with kt-verify.
pub fn check(file: &Value) -> Result<usize, String> {
    json::check_each(file, check_test)
}
