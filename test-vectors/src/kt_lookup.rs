//! akd 0.13 lookup-proof vectors (kt-verify `WhatsAppDirectoryVerifier::verify_lookup`, SPEC §3): real proofs
//! from an in-memory directory with WhatsApp's configuration, with the root `(epoch, rootHash)`, the VRF public key,
//! the label and the version, value epoch and value the proof establishes; and proofs, roots, labels and keys that
//! must be refused with the exact `ProofError`.

use akd::proto::specs::types as pb;
use kt_verify::{UnwitnessedRoot, WhatsAppDirectoryVerifier};
use protobuf::Message as _;
use serde_json::{Map, Value, json};

use crate::json::{self, fail};
use crate::kt_directory::{self, Proof, field_offset, flipped, offset_of, set_outcome};

fn notes() -> Value {
    json!({
        "directory": "akd 0.13, WhatsAppV1Configuration (BLAKE3), akd's HardCodedAkdVRF, in memory; epoch 1 inserts alice, bob, carol, dave, erin (version 1); epoch 2 updates alice; epoch 3 bob and inserts frank; epochs 4 and 5 update alice. value = SHA-256(\"identity key of LABEL, version N\")",
        "proof": "akd's protobuf LookupProof (akd_core proto/specs/types.proto): 1 epoch, 2 value, 3 version, 4 existence_vrf_proof, 5 existence_proof, 6 marker_vrf_proof, 7 marker_proof, 8 freshness_vrf_proof, 9 freshness_proof, 10 commitment_nonce; exactly the encoding akd writes",
        "verification": "kt-verify SPEC §3, in order: VRF key a curve point (curve25519-dalek decoding, y mod p) not of small order (InvalidVrfKey); protobuf decoding and akd's conversion (Malformed); re-encoding gives the same bytes (NonCanonical); version 0 (ZeroVersion), 2^64 - 1 (VersionOutOfRange), version > epoch (VersionAfterEpoch), proof epoch > epoch (ValueEpochAfterRoot; both with errorEpoch, the root's epoch, and errorVersion or errorValueEpoch, the proof's); each Merkle path's top parent label is the root label (NonCanonical); akd_core lookup_verify against rootHash and epoch (Rejected, with `failure` naming the failing akd_core check: Membership, NonMembership, Lookup, History, Vrf, Serialization)",
        "result": "valid: the proof establishes label's value `value`, published at `valueEpoch` as `version`, in the directory whose root at `epoch` is `rootHash`",
        "epochBinding": "akd_core's lookup verification checks the Merkle paths against rootHash only: a root hash paired with a later epoch than its own still verifies (flag EpochNotBound; kt-verify SPEC §3, the caller vouches for the pair)",
        "u64": "epoch, version and valueEpoch are u64 carried as decimal strings",
        "python": "the Python consumer decodes every proof by hand (every nested message, field lengths, canonical re-encoding, root labels), checks the pre-checks and the VRF key's point decoding and small-order test, re-derives with BLAKE3 each committed value's leaf and every Merkle path up to rootHash, and compares the result with the vector; it does not run the VRF (ECVRF-EDWARDS25519-SHA512-TAI), which binds the label and version to the tree position, nor akd_core's marker-version arithmetic and label and prefix comparisons: for an error `Rejected` whose Merkle paths hold it checks only that the failure is one of those",
    })
}

/// A test for `proof` checked against `(epoch, root)` as `label` under `vrf_public_key`.
fn test(
    comment: &str,
    flags: &[&str],
    vrf_public_key: &[u8],
    epoch: u64,
    root: &[u8; 32],
    label: &str,
    proof: &[u8],
) -> Value {
    let mut test = json!({
        "comment": comment,
        "flags": flags,
        "vrfPublicKey": hex::encode(vrf_public_key),
        "epoch": json::decimal(epoch),
        "rootHash": hex::encode(root),
        "label": hex::encode(label),
        "proof": hex::encode(proof),
    });
    match verify(vrf_public_key, epoch, root, label.as_bytes(), proof) {
        Ok((version, value_epoch, value)) => {
            set_outcome(&mut test, Ok(()));
            test["version"] = json::decimal(version);
            test["valueEpoch"] = json::decimal(value_epoch);
            test["value"] = json!(hex::encode(value));
        }
        Err(error) => kt_directory::set_proof_error(&mut test, &error),
    }
    test
}

fn verify(
    vrf_public_key: &[u8],
    epoch: u64,
    root: &[u8; 32],
    label: &[u8],
    proof: &[u8],
) -> Result<(u64, u64, Vec<u8>), kt_verify::ProofError> {
    let verifier = WhatsAppDirectoryVerifier::new(vrf_public_key)?;
    let key = verifier.verify_lookup(&UnwitnessedRoot::trusted_by_caller(epoch, *root), label, proof)?;
    Ok((key.version(), key.epoch(), key.value().to_vec()))
}

fn mutated(proof: &[u8], change: impl FnOnce(&mut pb::LookupProof)) -> Vec<u8> {
    let mut decoded = pb::LookupProof::parse_from_bytes(proof).expect("akd's encoding");
    change(&mut decoded);
    decoded.write_to_bytes().expect("encode")
}

/// The vector file.
#[allow(clippy::too_many_lines)] // the table of rejected cases
pub fn generate() -> Value {
    let run = kt_directory::run();
    let key = &run.vrf_public_key;
    let mut valid = Vec::new();
    for proof in &run.lookups {
        let Proof {
            epoch,
            root,
            label,
            bytes,
        } = proof;
        let test = test(
            &format!("lookup of {label} at epoch {epoch}"),
            &[],
            key,
            *epoch,
            root,
            label,
            bytes,
        );
        assert_eq!(test["result"], "valid", "{label} at {epoch}");
        let version = test["version"]
            .as_str()
            .and_then(|version| version.parse().ok())
            .expect("version");
        assert_eq!(test["value"], json!(hex::encode(kt_directory::value(label, version))));
        valid.push(test);
    }
    let last = run
        .lookups
        .iter()
        .find(|proof| proof.epoch == 5 && proof.label == "alice")
        .expect("alice at 5");
    let (epoch, root, bytes) = (last.epoch, &last.root, &last.bytes);
    let decoded = pb::LookupProof::parse_from_bytes(bytes).expect("akd's encoding");
    let existence = decoded.existence_proof.as_ref().expect("existence proof");
    let sibling = &existence.sibling_proofs.last().expect("a sibling").siblings[0];
    let freshness = decoded.freshness_proof.as_ref().expect("freshness proof");
    let child = &freshness.longest_prefix_children[0];
    // Tag bytes of LookupProof fields 2 (value), 4, 6 and 8 (the VRF proofs) and 10 (commitment nonce).
    let flips: [(&str, usize); 10] = [
        ("the first byte (the epoch field's tag)", 0),
        ("the value", field_offset(bytes, 0x12, decoded.value())),
        (
            "the existence VRF proof",
            field_offset(bytes, 0x22, decoded.existence_vrf_proof()),
        ),
        (
            "the existence proof's leaf hash",
            offset_of(bytes, existence.hash_val()),
        ),
        (
            "a sibling hash of the existence proof",
            offset_of(bytes, sibling.value()),
        ),
        (
            "the marker VRF proof",
            field_offset(bytes, 0x32, decoded.marker_vrf_proof()),
        ),
        (
            "the freshness VRF proof",
            field_offset(bytes, 0x42, decoded.freshness_vrf_proof()),
        ),
        (
            "a child hash of the freshness proof's longest prefix",
            offset_of(bytes, child.value()),
        ),
        (
            "the commitment nonce",
            field_offset(bytes, 0x52, decoded.commitment_nonce()),
        ),
        ("the last byte (in the commitment nonce)", bytes.len() - 1),
    ];
    let mut invalid = Vec::new();
    for (what, offset) in flips {
        invalid.push(test(
            &format!("alice at epoch 5, bit 0 of byte {offset} flipped ({what})"),
            &["FlippedByte"],
            key,
            epoch,
            root,
            "alice",
            &flipped(bytes, offset),
        ));
    }
    let mut unknown_field = bytes.clone();
    unknown_field.extend_from_slice(&[0x58, 0x00]);
    invalid.push(test(
        "alice at epoch 5 with an unknown field appended (field 11, varint 0)",
        &["NonCanonical"],
        key,
        epoch,
        root,
        "alice",
        &unknown_field,
    ));
    assert_eq!(bytes[..2], [0x08, 0x05], "the proof starts with epoch 5");
    let mut long_varint = vec![0x08, 0x85, 0x00];
    long_varint.extend_from_slice(&bytes[2..]);
    invalid.push(test(
        "alice at epoch 5 with the epoch written as a two-byte varint (0x85 0x00)",
        &["NonCanonical"],
        key,
        epoch,
        root,
        "alice",
        &long_varint,
    ));
    invalid.push(test(
        "alice at epoch 5, truncated by one byte",
        &["Truncated"],
        key,
        epoch,
        root,
        "alice",
        &bytes[..bytes.len() - 1],
    ));
    invalid.push(test(
        "alice's epoch-5 proof against the root hash of epoch 4",
        &["WrongRoot"],
        key,
        epoch,
        &run.roots[4],
        "alice",
        bytes,
    ));
    invalid.push(test(
        "alice's epoch-5 proof presented for bob",
        &["WrongLabel"],
        key,
        epoch,
        root,
        "bob",
        bytes,
    ));
    invalid.push(test(
        "alice's epoch-5 proof (version 4) against epoch 3",
        &["WrongEpoch"],
        key,
        3,
        root,
        "alice",
        bytes,
    ));
    let bob = run
        .lookups
        .iter()
        .find(|proof| proof.epoch == 5 && proof.label == "bob")
        .expect("bob at 5");
    invalid.push(test(
        "bob's epoch-5 proof (version 2, published at epoch 3) against epoch 2: its value epoch is after the root",
        &["WrongEpoch"],
        key,
        2,
        &bob.root,
        "bob",
        &bob.bytes,
    ));
    let other_key = ed25519_dalek::SigningKey::from_bytes(&[0x4b; 32])
        .verifying_key()
        .to_bytes();
    invalid.push(test(
        "alice at epoch 5 under another VRF key",
        &["WrongVrfKey"],
        &other_key,
        epoch,
        root,
        "alice",
        bytes,
    ));
    // y = 2 is not the y-coordinate of any Edwards25519 point.
    let mut not_a_point = [0; 32];
    not_a_point[0] = 2;
    invalid.push(test(
        "a VRF public key that is not a curve point",
        &["InvalidVrfKey"],
        &not_a_point,
        epoch,
        root,
        "alice",
        bytes,
    ));
    // akd_core refuses a VRF key of small order ("Small subgroup") after curve25519-dalek decodes it: all-zero
    // bytes (y = 0, a point of order 4) and the identity (y = 1) decode, and are refused.
    let mut identity = [0; 32];
    identity[0] = 1;
    for (comment, small_order) in [
        ("an all-zero VRF public key (y = 0: a point of order 4)", [0; 32]),
        ("the identity point as VRF public key (y = 1)", identity),
    ] {
        invalid.push(test(
            comment,
            &["InvalidVrfKey", "SmallOrder"],
            &small_order,
            epoch,
            root,
            "alice",
            bytes,
        ));
    }
    invalid.push(test(
        "alice at epoch 5 with the version field set to 2^64 - 1 (refused before the epoch comparison)",
        &["VersionOutOfRange"],
        key,
        epoch,
        root,
        "alice",
        &mutated(bytes, |proof| proof.set_version(u64::MAX)),
    ));
    invalid.push(test(
        "alice at epoch 5 with the version field set to 0",
        &["ZeroVersion"],
        key,
        epoch,
        root,
        "alice",
        &mutated(bytes, |proof| proof.set_version(0)),
    ));
    invalid.push(test(
        "alice at epoch 5 with the version field set to 3 (an older version of hers)",
        &["WrongVersion"],
        key,
        epoch,
        root,
        "alice",
        &mutated(bytes, |proof| proof.set_version(3)),
    ));
    invalid.push(test(
        "alice at epoch 5 with the value of her version 3",
        &["WrongValue"],
        key,
        epoch,
        root,
        "alice",
        &mutated(bytes, |proof| proof.set_value(kt_directory::value("alice", 3))),
    ));
    for test in &invalid {
        assert_eq!(test["result"], "invalid", "{}", test["comment"]);
    }
    valid.push(test(
        "alice's epoch-5 proof against her epoch-5 root hash paired with epoch 9: lookups do not bind the epoch",
        &["EpochNotBound"],
        key,
        9,
        root,
        "alice",
        bytes,
    ));
    json::file(
        "AKD lookup proof (akd 0.13, WhatsAppV1Configuration)",
        "kt_lookup.schema.json",
        &notes(),
        vec![
            json!({"type": "KtLookup", "tests": valid}),
            json!({"type": "KtLookupReject", "tests": invalid}),
        ],
    )
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    let reject = json::text(group, "type")? == "KtLookupReject";
    if json::valid(test)? == reject {
        return Err(fail(test, "result does not match the group"));
    }
    let outcome = verify(
        &json::bytes(test, "vrfPublicKey")?,
        json::decimal_u64(test, "epoch")?,
        &json::array(test, "rootHash")?,
        &json::bytes(test, "label")?,
        &json::bytes(test, "proof")?,
    );
    match outcome {
        Ok((version, value_epoch, value)) => {
            if reject {
                return Err(fail(test, "accepted"));
            }
            json::all_hold(
                test,
                &[
                    (json::decimal_u64(test, "version")? == version, "version"),
                    (json::decimal_u64(test, "valueEpoch")? == value_epoch, "valueEpoch"),
                    (json::bytes(test, "value")? == value, "value"),
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
