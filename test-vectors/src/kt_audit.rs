//! akd 0.13 append-only audit vectors (kt-verify `WhatsAppChainAuditor::verify_blob`, feature `auditor`, SPEC §4):
//! the real audit blobs of consecutive epochs of an in-memory directory with WhatsApp's configuration, under
//! WhatsApp's blob names, with the chain the auditor holds before and after each; and blobs, names and chains that
//! must be refused with the exact `AuditError`.

use kt_verify::{AuditError, AuditedChain, BlobNameError, WhatsAppChainAuditor};
use serde_json::{Map, Value, json};

use crate::json::{self, fail};
use crate::kt_directory::{self, Blob, flipped, offset_of, set_outcome};

mod monitor;

fn notes() -> Value {
    json!({
        "directory": "the directory of kt_lookup.json: akd 0.13, WhatsAppV1Configuration (BLAKE3), akd's HardCodedAkdVRF, in memory, epochs 1 to 5; epoch 0 is the empty directory",
        "name": "WhatsApp's blob name EPOCH/PREVIOUS_ROOT_HEX/CURRENT_ROOT_HEX (kt-verify SPEC §4): CURRENT_ROOT is the root at EPOCH, PREVIOUS_ROOT the root at EPOCH - 1; epoch, previousHash and currentHash are what the name says",
        "blob": "akd's protobuf SingleAppendOnlyProof (akd_core proto/specs/types.proto): 1 inserted (AzksElement: 1 NodeLabel{1 label_val, minimal: trailing zero bytes dropped; 2 label_len}, 2 value), 2 unchanged_nodes; exactly the encoding akd writes, made by akd's Directory::audit(EPOCH - 1, EPOCH)",
        "auditor": "a test with auditorEpoch and auditorHash runs a WhatsAppChainAuditor::starting_at(auditorEpoch, auditorHash); one without them a new auditor (WhatsAppChainAuditor::new) whose chain starts at the first blob it accepts. chainStartEpoch, chainStartHash, chainEndEpoch, chainEndHash: the auditor's chain after a valid blob",
        "chain": "the AuditChain group is one chain, epoch 1 to 5: each of its tests starts where the previous one ended, and the Rust consumer also runs them in order through one auditor",
        "verification": "kt-verify SPEC §4, in order: the name parses (Name, with `failure` Parts, Epoch or Root); with a chain, no blob after a chain ending at 2^64 - 1 (ChainEnded), epoch = chain end epoch + 1 (EpochGap) and previousHash = chain end hash (ChainBroken); length limit (TooLarge, with the blob's length and the limit max; EpochGap carries errorExpected and errorFound, ChainBroken and Rejected errorEpoch, the blob's epoch; the limit is maxBlobLen where given, else 256 MiB); protobuf decoding and akd's conversion (Malformed); re-encoding gives the same bytes (NonCanonical); akd's verify_consecutive_append_only from previousHash at EPOCH - 1 to currentHash at EPOCH (Rejected)",
        "limit": "a test with maxBlobLen runs an auditor with_max_blob_len(maxBlobLen) (AuditLimit: a blob exactly at the limit); TooLarge carries the blob's length and max, the limit",
        "monitor": "Monitor tests (kt-verify SPEC §2, §8.5): a new kt-verify Monitor observes the signed root checkpoint (if present; its observation is First), then signedRoot; both are Plexi SignatureResponse protobufs (as witness_signature.json) of this directory's roots, verified by WitnessVerifier::new(namespace, [witnessPublicKey, not before 0], maxAgeMs) at nowMs. With auditStartEpoch, a new WhatsAppChainAuditor verifies auditBlobs in order, blob i named (auditStartEpoch + 1 + i)/auditRoots[i]/auditRoots[i + 1], and the monitor observes signedRoot with observe_audited and that chain. valid: observation First, Unchanged or Advanced (fromEpoch, the checkpoint's epoch). invalid, in this order: an older epoch is Rollback (errorCheckpointEpoch, errorEpoch); the same epoch with another digest Fork (forkFirst, the checkpoint, and forkSecond, the offered root: the evidence); a later epoch with an earlier signing time TimestampRegression (errorCheckpointMs, errorTimestampMs); a jump of more than one epoch without an audit GapWithoutAudit (errorCheckpointEpoch, errorEpoch), with an audit whose chain is not exactly (checkpoint epoch and digest) to (offered epoch and digest) AuditMismatch",
        "u64": "epoch, auditorEpoch, chainStartEpoch, chainEndEpoch, maxBlobLen, length, max, maxAgeMs, nowMs, auditStartEpoch, fromEpoch and the error* epochs and times are u64 carried as decimal strings",
        "python": "the Python consumer parses the names, checks the chain rules (EpochGap, ChainBroken, the resulting chain) and decodes every blob by hand (every AzksElement, label lengths, canonical re-encoding); it does not rebuild akd's tree (BLAKE3 hashes of the inserted and unchanged nodes), so for an error `Rejected` it checks only that nothing before akd refuses the blob; for the Monitor group it decodes and verifies the signed roots (as witness_signature.json), checks the audit's blob names and decoding and applies the monitor's rules",
    })
}

fn audit_error(error: &AuditError) -> (&'static str, Option<&'static str>) {
    match error {
        AuditError::Name(name) => (
            "Name",
            Some(match name {
                BlobNameError::Parts => "Parts",
                BlobNameError::Epoch => "Epoch",
                BlobNameError::Root => "Root",
                _ => "Other",
            }),
        ),
        AuditError::TooLarge { .. } => ("TooLarge", None),
        AuditError::EpochGap { .. } => ("EpochGap", None),
        AuditError::ChainBroken { .. } => ("ChainBroken", None),
        AuditError::ChainEnded => ("ChainEnded", None),
        AuditError::Malformed => ("Malformed", None),
        AuditError::NonCanonical => ("NonCanonical", None),
        AuditError::Rejected { .. } => ("Rejected", None),
        _ => ("Other", None),
    }
}

fn auditor(start: Option<(u64, [u8; 32])>) -> WhatsAppChainAuditor {
    match start {
        Some((epoch, root)) => WhatsAppChainAuditor::starting_at(epoch, root),
        None => WhatsAppChainAuditor::new(),
    }
    .expect("a current-thread runtime")
}

fn verify(
    start: Option<(u64, [u8; 32])>,
    max_blob_len: Option<usize>,
    name: &str,
    blob: &[u8],
) -> Result<AuditedChain, AuditError> {
    let auditor = auditor(start);
    let mut auditor = match max_blob_len {
        Some(max) => auditor.with_max_blob_len(max),
        None => auditor,
    };
    auditor.verify_blob(name, blob).copied()
}

/// The fields an `AuditError` carries, besides its name: TooLarge's `length` and `max`; EpochGap's `errorExpected`
/// (the epoch after the chain's end) and `errorFound` (the blob's); ChainBroken's and Rejected's `errorEpoch` (the
/// blob's).
const ERROR_FIELDS: [&str; 5] = ["length", "max", "errorExpected", "errorFound", "errorEpoch"];

fn error_fields(error: &AuditError) -> Vec<(&'static str, Value)> {
    match error {
        AuditError::EpochGap { expected, found } => vec![
            ("errorExpected", json::decimal(*expected)),
            ("errorFound", json::decimal(*found)),
        ],
        AuditError::ChainBroken { epoch } | AuditError::Rejected { epoch } => {
            vec![("errorEpoch", json::decimal(*epoch))]
        }
        AuditError::TooLarge { len, max } => vec![
            ("length", json::decimal(*len as u64)),
            ("max", json::decimal(*max as u64)),
        ],
        _ => Vec::new(),
    }
}

fn name(epoch: u64, previous: &[u8; 32], current: &[u8; 32]) -> String {
    format!("{epoch}/{}/{}", hex::encode(previous), hex::encode(current))
}

/// A test of `blob` under the name `(epoch, previous, current)` (or `raw_name`), by an auditor starting at `start`.
fn test(
    comment: &str,
    flags: &[&str],
    start: Option<(u64, [u8; 32])>,
    (epoch, previous, current): (u64, &[u8; 32], &[u8; 32]),
    raw_name: Option<&str>,
    blob: &[u8],
) -> Value {
    limited_test(comment, flags, start, None, (epoch, previous, current), raw_name, blob)
}

/// As `test`, by an auditor whose largest blob is `max_blob_len` bytes (`maxBlobLen`; absent: the default).
fn limited_test(
    comment: &str,
    flags: &[&str],
    start: Option<(u64, [u8; 32])>,
    max_blob_len: Option<usize>,
    (epoch, previous, current): (u64, &[u8; 32], &[u8; 32]),
    raw_name: Option<&str>,
    blob: &[u8],
) -> Value {
    let name = raw_name.map_or_else(|| name(epoch, previous, current), str::to_string);
    let mut test = json!({
        "comment": comment,
        "flags": flags,
        "name": name,
        "epoch": json::decimal(epoch),
        "previousHash": hex::encode(previous),
        "currentHash": hex::encode(current),
        "blob": hex::encode(blob),
    });
    if let Some((epoch, root)) = start {
        test["auditorEpoch"] = json::decimal(epoch);
        test["auditorHash"] = json!(hex::encode(root));
    }
    if let Some(max) = max_blob_len {
        test["maxBlobLen"] = json::decimal(max as u64);
    }
    match verify(start, max_blob_len, &name, blob) {
        Ok(chain) => {
            set_outcome(&mut test, Ok(()));
            test["chainStartEpoch"] = json::decimal(chain.start_epoch());
            test["chainStartHash"] = json!(hex::encode(chain.start_root()));
            test["chainEndEpoch"] = json::decimal(chain.end_epoch());
            test["chainEndHash"] = json!(hex::encode(chain.end_root()));
        }
        Err(error) => {
            set_outcome(&mut test, Err(audit_error(&error)));
            for (field, value) in error_fields(&error) {
                test[field] = value;
            }
        }
    }
    test
}

fn named(blob: &Blob) -> (u64, &[u8; 32], &[u8; 32]) {
    (blob.epoch, &blob.previous, &blob.current)
}

/// The vector file.
#[allow(clippy::too_many_lines)] // the table of rejected cases
pub fn generate() -> Value {
    let run = kt_directory::run();
    let roots = &run.roots;
    let mut chain = Vec::new();
    let mut start = None;
    for blob in &run.blobs {
        let test = test(
            &format!("the audit blob of epoch {}", blob.epoch),
            &[],
            start,
            named(blob),
            None,
            &blob.bytes,
        );
        assert_eq!(test["result"], "valid", "{}", test["comment"]);
        chain.push(test);
        start = Some((blob.epoch, blob.current));
    }
    let blob = run.blobs.iter().find(|blob| blob.epoch == 3).expect("epoch 3");
    let bytes = &blob.bytes;
    let decoded = {
        use protobuf::Message as _;
        akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(bytes).expect("akd's encoding")
    };
    let inserted = &decoded.inserted[0];
    let unchanged = decoded.unchanged_nodes.last().expect("an unchanged node");
    let flips = [
        ("the first byte (the first inserted element's tag)", 0),
        ("an inserted element's value", offset_of(bytes, inserted.value())),
        (
            "an inserted element's label",
            offset_of(bytes, inserted.label.label_val()),
        ),
        ("an unchanged node's value", offset_of(bytes, unchanged.value())),
        ("the last byte", bytes.len() - 1),
    ];
    let at_2 = Some((2, roots[2]));
    let mut invalid = Vec::new();
    for (what, offset) in flips {
        invalid.push(test(
            &format!("the blob of epoch 3, bit 0 of byte {offset} flipped ({what})"),
            &["FlippedByte"],
            at_2,
            named(blob),
            None,
            &flipped(bytes, offset),
        ));
    }
    invalid.push(test(
        "the blob of epoch 3, truncated by one byte",
        &["Truncated"],
        at_2,
        named(blob),
        None,
        &bytes[..bytes.len() - 1],
    ));
    invalid.push(test(
        "the blob of epoch 3, truncated to half its length",
        &["Truncated"],
        at_2,
        named(blob),
        None,
        &bytes[..bytes.len() / 2],
    ));
    invalid.push(test(
        "the blob of epoch 3 named with the root of epoch 1 as its start (new auditor)",
        &["WrongStartHash"],
        None,
        (3, &roots[1], &roots[3]),
        None,
        bytes,
    ));
    invalid.push(test(
        "the blob of epoch 3 named with the root of epoch 4 as its end",
        &["WrongEndHash"],
        at_2,
        (3, &roots[2], &roots[4]),
        None,
        bytes,
    ));
    invalid.push(test(
        "the blob of epoch 3 after a chain ending at epoch 2 on another root (two branches of history)",
        &["ChainBroken"],
        Some((2, roots[1])),
        named(blob),
        None,
        bytes,
    ));
    let blob_4 = run.blobs.iter().find(|blob| blob.epoch == 4).expect("epoch 4");
    invalid.push(test(
        "the blob of epoch 4 after a chain ending at epoch 2: epoch 3 skipped",
        &["SkippedEpoch"],
        at_2,
        named(blob_4),
        None,
        &blob_4.bytes,
    ));
    invalid.push(test(
        "the blob of epoch 3 again after a chain ending at epoch 3 (replay)",
        &["SkippedEpoch"],
        Some((3, roots[3])),
        named(blob),
        None,
        bytes,
    ));
    invalid.push(test(
        "the content of the epoch-4 blob under the name of epoch 3",
        &["WrongBlob"],
        at_2,
        named(blob),
        None,
        &blob_4.bytes,
    ));
    invalid.push(test(
        "the blob of epoch 3 with an upper-case hex root in its name",
        &["BadName"],
        at_2,
        named(blob),
        Some(&name(3, &roots[2], &roots[3]).to_uppercase()),
        bytes,
    ));
    invalid.push(test(
        "the blob of epoch 3 with a leading zero in its name's epoch",
        &["BadName"],
        at_2,
        named(blob),
        Some(&format!("0{}", name(3, &roots[2], &roots[3]))),
        bytes,
    ));
    invalid.push(test(
        "the blob of epoch 3 under a name of two parts (no current root)",
        &["BadName"],
        at_2,
        named(blob),
        Some(&format!("3/{}", hex::encode(roots[2]))),
        bytes,
    ));
    invalid.push(test(
        "the blob of epoch 3 after a chain ending at epoch 2^64 - 1: no blob can follow (before the epoch check)",
        &["ChainEnded"],
        Some((u64::MAX, roots[2])),
        named(blob),
        None,
        bytes,
    ));
    invalid.push(limited_test(
        "the blob of epoch 3 to an auditor whose limit is one byte less than the blob",
        &["TooLarge"],
        at_2,
        Some(bytes.len() - 1),
        named(blob),
        None,
        bytes,
    ));
    for test in &invalid {
        assert_eq!(test["result"], "invalid", "{}", test["comment"]);
    }
    let at_limit = limited_test(
        "the blob of epoch 3 to an auditor whose limit is exactly the blob's length",
        &["MaxBlobLen"],
        at_2,
        Some(bytes.len()),
        named(blob),
        None,
        bytes,
    );
    assert_eq!(at_limit["result"], "valid");
    json::file(
        "AKD append-only audit blob (akd 0.13, WhatsAppV1Configuration)",
        "kt_audit.schema.json",
        &notes(),
        vec![
            json!({"type": "AuditChain", "tests": chain}),
            json!({"type": "AuditLimit", "tests": [at_limit]}),
            json!({"type": "AuditReject", "tests": invalid}),
            json!({"type": "Monitor", "tests": monitor::tests(&run)}),
        ],
    )
}

fn start_of(test: &Map<String, Value>) -> Result<Option<(u64, [u8; 32])>, String> {
    match (test.contains_key("auditorEpoch"), test.contains_key("auditorHash")) {
        (false, false) => Ok(None),
        (true, true) => Ok(Some((
            json::decimal_u64(test, "auditorEpoch")?,
            json::array(test, "auditorHash")?,
        ))),
        _ => Err(fail(test, "auditorEpoch and auditorHash go together")),
    }
}

/// Checks a valid test's name fields and resulting chain.
fn check_chain(test: &Map<String, Value>, chain: &AuditedChain) -> Result<(), String> {
    let name = name(
        json::decimal_u64(test, "epoch")?,
        &json::array(test, "previousHash")?,
        &json::array(test, "currentHash")?,
    );
    json::all_hold(
        test,
        &[
            (json::text(test, "name")? == name, "name"),
            (
                json::decimal_u64(test, "chainStartEpoch")? == chain.start_epoch(),
                "chainStartEpoch",
            ),
            (
                json::array(test, "chainStartHash")? == *chain.start_root(),
                "chainStartHash",
            ),
            (
                json::decimal_u64(test, "chainEndEpoch")? == chain.end_epoch(),
                "chainEndEpoch",
            ),
            (json::array(test, "chainEndHash")? == *chain.end_root(), "chainEndHash"),
        ],
    )
}

fn check_test(group: &Map<String, Value>, test: &Map<String, Value>) -> Result<(), String> {
    if json::text(group, "type")? == "Monitor" {
        return monitor::check_test(test);
    }
    let reject = json::text(group, "type")? == "AuditReject";
    if json::valid(test)? == reject {
        return Err(fail(test, "result does not match the group"));
    }
    let max_blob_len = match test.get("maxBlobLen") {
        Some(_) => Some(usize::try_from(json::decimal_u64(test, "maxBlobLen")?).map_err(|_| fail(test, "maxBlobLen"))?),
        None => None,
    };
    match verify(
        start_of(test)?,
        max_blob_len,
        json::text(test, "name")?,
        &json::bytes(test, "blob")?,
    ) {
        Ok(_) if reject => Err(fail(test, "accepted")),
        Ok(chain) => check_chain(test, &chain),
        Err(error) if reject => {
            let (name, failure) = audit_error(&error);
            let expected = (json::text(test, "error")?, test.get("failure").and_then(Value::as_str));
            let fields_hold = error_fields(&error)
                .iter()
                .all(|(field, value)| test.get(*field) == Some(value))
                && ERROR_FIELDS
                    .iter()
                    .all(|field| test.contains_key(*field) == error_fields(&error).iter().any(|(f, _)| f == field));
            if (name, failure) == expected && fields_hold {
                Ok(())
            } else {
                Err(fail(
                    test,
                    &format!("refused with {name} {failure:?}, expected {expected:?}"),
                ))
            }
        }
        Err(error) => Err(fail(test, &format!("refused: {error}"))),
    }
}

/// Checks every vector with kt-verify's auditor; the `AuditChain` group also as one chain through one auditor.
pub fn check(file: &Value) -> Result<usize, String> {
    let count = json::check_each(file, check_test)?;
    let chain: Vec<_> = json::tests(file)?
        .into_iter()
        .filter(|(group, _)| group.get("type").and_then(Value::as_str) == Some("AuditChain"))
        .map(|(_, test)| test)
        .collect();
    let mut auditor = auditor(start_of(chain.first().ok_or("no AuditChain tests")?)?);
    for test in chain {
        let end = *auditor
            .verify_blob(json::text(test, "name")?, &json::bytes(test, "blob")?)
            .map_err(|error| fail(test, &format!("refused in the chain: {error}")))?;
        json::all_hold(
            test,
            &[
                (
                    json::decimal_u64(test, "chainEndEpoch")? == end.end_epoch(),
                    "the chain's end epoch",
                ),
                (
                    json::array(test, "chainEndHash")? == *end.end_root(),
                    "the chain's end hash",
                ),
            ],
        )?;
    }
    Ok(count)
}
