//! The akd 0.13 directory behind the `kt_lookup`, `kt_history` and `kt_audit` vectors, and what the three
//! families share: the JSON form of u64s, proof errors and byte mutations.
//!
//! One in-memory directory with WhatsApp's configuration (`WhatsAppV1Configuration`) and akd's `HardCodedAkdVRF`
//! (the same fixed VRF key in every run), five epochs of publishes, and every proof taken right after the publish
//! it belongs to. Nothing in it depends on a clock or on hash-map order: the generator's `--check` regenerates the
//! files byte for byte.

use akd::append_only_zks::AzksParallelismConfig;
use akd::directory::Directory;
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{AkdLabel, AkdValue, HistoryParams, WhatsAppV1Configuration};
use kt_verify::{ProofError, ProofFailure};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

/// The labels, in the order epoch 1 inserts them.
pub(crate) const LABELS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

/// What each epoch after the first publishes: `(label, its new version)`.
pub(crate) const UPDATES: [&[(&str, u64)]; 4] = [
    &[("alice", 2)],
    &[("bob", 2), ("frank", 1)],
    &[("alice", 3)],
    &[("alice", 4)],
];

/// The value of `label` at `version`: a 32-byte stand-in for an identity key.
pub(crate) fn value(label: &str, version: u64) -> Vec<u8> {
    Sha256::digest(format!("identity key of {label}, version {version}")).to_vec()
}

/// A proof and the root it was made at.
pub(crate) struct Proof {
    pub epoch: u64,
    pub root: [u8; 32],
    pub label: &'static str,
    pub bytes: Vec<u8>,
}

/// One history proof with its request.
pub(crate) struct History {
    pub proof: Proof,
    /// `None` for `HistoryParams::Complete`, else `MostRecent(n)`.
    pub most_recent: Option<usize>,
}

/// One audit blob: the append-only proof from `epoch - 1` to `epoch`.
pub(crate) struct Blob {
    pub epoch: u64,
    pub previous: [u8; 32],
    pub current: [u8; 32],
    pub bytes: Vec<u8>,
}

/// Everything the three families are made from.
pub(crate) struct Run {
    pub vrf_public_key: Vec<u8>,
    /// `roots[e]` is the root hash at epoch `e` (0: the empty directory).
    pub roots: Vec<[u8; 32]>,
    pub lookups: Vec<Proof>,
    pub histories: Vec<History>,
    pub blobs: Vec<Blob>,
}

fn encode(message: &impl protobuf::Message) -> Vec<u8> {
    message.write_to_bytes().expect("akd proofs encode")
}

/// Builds the directory and takes its proofs.
pub(crate) fn run() -> Run {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
        let akd = Directory::<WhatsAppV1Configuration, _, _>::new(
            storage,
            HardCodedAkdVRF {},
            AzksParallelismConfig::disabled(),
        )
        .await
        .expect("directory");
        let vrf_public_key = akd.get_public_key().await.expect("vrf key").as_bytes().to_vec();
        let mut roots = vec![akd.get_epoch_hash().await.expect("epoch 0").hash()];
        let mut lookups = Vec::new();
        let mut histories = Vec::new();
        let mut publishes: Vec<Vec<(&str, u64)>> = vec![LABELS.iter().map(|label| (*label, 1)).collect()];
        publishes.extend(UPDATES.iter().map(|updates| updates.to_vec()));
        for updates in &publishes {
            let epoch_hash = akd
                .publish(
                    updates
                        .iter()
                        .map(|(label, version)| (AkdLabel::from(*label), AkdValue(value(label, *version))))
                        .collect(),
                )
                .await
                .expect("publish");
            let (epoch, root) = (epoch_hash.epoch(), epoch_hash.hash());
            roots.push(root);
            // Lookups of alice at every epoch; at the last one, of every label whose version is not 1 or that came
            // later, and of one that never changed.
            let lookup_labels: &[&'static str] = if epoch == 5 {
                &["alice", "bob", "carol", "frank"]
            } else {
                &["alice"]
            };
            for label in lookup_labels {
                let (proof, at) = akd.lookup(AkdLabel::from(*label)).await.expect("lookup");
                assert_eq!((at.epoch(), at.hash()), (epoch, root));
                lookups.push(Proof {
                    epoch,
                    root,
                    label,
                    bytes: encode(&akd::proto::specs::types::LookupProof::from(&proof)),
                });
            }
            let history_requests: &[(&'static str, Option<usize>)] = match epoch {
                3 => &[("alice", None), ("bob", None)],
                5 => &[("alice", None), ("alice", Some(2)), ("bob", None), ("carol", None)],
                _ => &[],
            };
            for (label, most_recent) in history_requests {
                let params = most_recent.map_or(HistoryParams::Complete, HistoryParams::MostRecent);
                let (proof, at) = akd.key_history(&AkdLabel::from(*label), params).await.expect("history");
                assert_eq!((at.epoch(), at.hash()), (epoch, root));
                histories.push(History {
                    proof: Proof {
                        epoch,
                        root,
                        label,
                        bytes: encode(&akd::proto::specs::types::HistoryProof::from(&proof)),
                    },
                    most_recent: *most_recent,
                });
            }
        }
        let mut blobs = Vec::new();
        for epoch in 1..roots.len() as u64 {
            let proof = akd.audit(epoch - 1, epoch).await.expect("audit");
            assert_eq!(proof.proofs.len(), 1);
            blobs.push(Blob {
                epoch,
                previous: roots[epoch as usize - 1],
                current: roots[epoch as usize],
                bytes: encode(&akd::proto::specs::types::SingleAppendOnlyProof::from(&proof.proofs[0])),
            });
        }
        Run {
            vrf_public_key,
            roots,
            lookups,
            histories,
            blobs,
        }
    })
}

/// The `error` and, for `Rejected`, `failure` a vector names for a proof error.
pub(crate) fn proof_error(error: &ProofError) -> (&'static str, Option<&'static str>) {
    match error {
        ProofError::InvalidVrfKey => ("InvalidVrfKey", None),
        ProofError::Malformed => ("Malformed", None),
        ProofError::NonCanonical => ("NonCanonical", None),
        ProofError::ZeroVersion => ("ZeroVersion", None),
        ProofError::VersionOutOfRange => ("VersionOutOfRange", None),
        ProofError::VersionAfterEpoch { .. } => ("VersionAfterEpoch", None),
        ProofError::ValueEpochAfterRoot { .. } => ("ValueEpochAfterRoot", None),
        ProofError::EmptyHistory => ("EmptyHistory", None),
        ProofError::Rejected(failure) => (
            "Rejected",
            Some(match failure {
                ProofFailure::Membership => "Membership",
                ProofFailure::NonMembership => "NonMembership",
                ProofFailure::Lookup => "Lookup",
                ProofFailure::History => "History",
                ProofFailure::Vrf => "Vrf",
                ProofFailure::Serialization => "Serialization",
                _ => "Other",
            }),
        ),
        _ => ("Other", None),
    }
}

/// The fields a `ProofError` carries, as the vectors name them: `errorVersion` and `errorEpoch` (VersionAfterEpoch),
/// `errorValueEpoch` and `errorEpoch` (ValueEpochAfterRoot); `errorEpoch` is the root's epoch.
pub(crate) fn proof_error_fields(error: &ProofError) -> Vec<(&'static str, Value)> {
    match *error {
        ProofError::VersionAfterEpoch { version, epoch } => vec![
            ("errorVersion", crate::json::decimal(version)),
            ("errorEpoch", crate::json::decimal(epoch)),
        ],
        ProofError::ValueEpochAfterRoot { value_epoch, epoch } => vec![
            ("errorValueEpoch", crate::json::decimal(value_epoch)),
            ("errorEpoch", crate::json::decimal(epoch)),
        ],
        _ => Vec::new(),
    }
}

/// Sets `result`, `error`, `failure` and the error's fields on a test refused with `error`.
pub(crate) fn set_proof_error(test: &mut Value, error: &ProofError) {
    set_outcome(test, Err(proof_error(error)));
    for (field, value) in proof_error_fields(error) {
        test[field] = value;
    }
}

/// Sets `result`, and for an error `error` and `failure`, on a test.
pub(crate) fn set_outcome(test: &mut Value, outcome: Result<(), (&str, Option<&str>)>) {
    match outcome {
        Ok(()) => test["result"] = json!("valid"),
        Err((error, failure)) => {
            test["result"] = json!("invalid");
            test["error"] = json!(error);
            if let Some(failure) = failure {
                test["failure"] = json!(failure);
            }
        }
    }
}

/// Checks a proof error against the test's `error` and `failure`.
pub(crate) fn expect_error(test: &Map<String, Value>, error: &ProofError) -> Result<(), String> {
    let (name, failure) = proof_error(error);
    let named = crate::json::text(test, "error")?;
    let named_failure = test.get("failure").and_then(Value::as_str);
    let fields = proof_error_fields(error);
    let fields_hold = ["errorVersion", "errorValueEpoch", "errorEpoch"]
        .iter()
        .all(|field| test.get(*field) == fields.iter().find(|(name, _)| name == field).map(|(_, value)| value));
    if (name, failure) == (named, named_failure) && fields_hold {
        Ok(())
    } else {
        Err(crate::json::fail(
            test,
            &format!("refused with {name} {failure:?}, expected {named} {named_failure:?}"),
        ))
    }
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn offset_of(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("the field is in the encoding")
}

/// Where the payload of the length-delimited field with tag byte `tag` and content `payload` (shorter than 128
/// bytes) first occurs in `haystack`.
pub(crate) fn field_offset(haystack: &[u8], tag: u8, payload: &[u8]) -> usize {
    let length = u8::try_from(payload.len()).expect("a short field");
    assert!(length < 0x80, "a one-byte length");
    let mut needle = vec![tag, length];
    needle.extend_from_slice(payload);
    offset_of(haystack, &needle) + 2
}

/// `bytes` with bit 0 of the byte at `offset` flipped.
pub(crate) fn flipped(bytes: &[u8], offset: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[offset] ^= 0x01;
    out
}
