//! The akd directory behind kt-verify's benchmarks (not a vector family): the instruction-count harness's
//! `kt-lookup` and `kt-audit` cases (`bin/instruction_counts.rs`) and the audit-at-scale measurements
//! (`bin/audit_at_scale.rs`, kt-verify BENCHMARKS.md) build it here, so both measure the same kind of epoch.
//!
//! akd 0.13, WhatsApp configuration, `HardCodedAkdVRF`, in memory: `labels` labels in epoch 1, one update in epoch
//! 2, `updates` new labels in epoch 3. The audit blob is the append-only proof from epoch 2 to epoch 3.

use std::path::Path;

use akd::append_only_zks::AzksParallelismConfig;
use akd::directory::Directory;
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{AkdLabel, AkdValue, WhatsAppV1Configuration};
use kt_verify::AuditBlobName;
use protobuf::Message;

/// The label of the `i`-th user.
pub fn label(i: usize) -> AkdLabel {
    AkdLabel(format!("user-{i}").into_bytes())
}

/// A current-thread runtime, as kt-verify's auditor and akd's example auditor use.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

/// What the benchmarks need from the directory, all as bytes: the VRF key, epoch 3's number and root, epoch 2's
/// root, the protobuf lookup proof of label 0 at epoch 3 and the protobuf audit proof from epoch 2 to 3.
pub struct Fixture {
    /// The VRF public key.
    pub vrf_public_key: Vec<u8>,
    /// The audited (last) epoch.
    pub epoch: u64,
    /// The root at `epoch`.
    pub root: [u8; 32],
    /// The root at `epoch - 1`.
    pub previous_root: [u8; 32],
    /// akd's protobuf `LookupProof` of label 0 at `epoch`.
    pub lookup: Vec<u8>,
    /// akd's protobuf `SingleAppendOnlyProof` from `epoch - 1` to `epoch`.
    pub audit: Vec<u8>,
}

impl Fixture {
    /// Builds the directory (`labels` labels in epoch 1, one update in epoch 2, `updates` new labels in epoch 3)
    /// and takes its proofs.
    pub fn build(labels: usize, updates: usize) -> Self {
        runtime().block_on(async {
            let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
            let akd = Directory::<WhatsAppV1Configuration, _, _>::new(
                storage,
                HardCodedAkdVRF {},
                AzksParallelismConfig::disabled(),
            )
            .await
            .expect("directory");
            let value = |epoch: u64| AkdValue(format!("key-{epoch}").into_bytes());
            akd.publish((0..labels).map(|i| (label(i), value(1))).collect())
                .await
                .expect("epoch 1");
            let previous = akd.publish(vec![(label(0), value(2))]).await.expect("epoch 2");
            let current = akd
                .publish((labels..labels + updates).map(|i| (label(i), value(3))).collect())
                .await
                .expect("epoch 3");
            let (lookup, _) = akd.lookup(label(0)).await.expect("lookup");
            let audit = akd.audit(2, 3).await.expect("audit").proofs.remove(0);
            Self {
                vrf_public_key: akd.get_public_key().await.expect("key").as_bytes().to_vec(),
                epoch: current.epoch(),
                root: current.hash(),
                previous_root: previous.hash(),
                lookup: akd::proto::specs::types::LookupProof::from(&lookup)
                    .write_to_bytes()
                    .expect("encode"),
                audit: akd::proto::specs::types::SingleAppendOnlyProof::from(&audit)
                    .write_to_bytes()
                    .expect("encode"),
            }
        })
    }

    /// The audit blob's name, `EPOCH/PREVIOUS_ROOT/CURRENT_ROOT` (kt-verify SPEC §4).
    pub fn audit_name(&self) -> String {
        AuditBlobName::new(self.epoch, self.previous_root, self.root)
            .expect("epoch 3")
            .to_string()
    }

    /// Writes the fixture to `path`: each field as a u32 little-endian length and the bytes.
    pub fn write(&self, path: &Path) {
        let mut out = Vec::new();
        for field in [
            &self.vrf_public_key[..],
            &self.epoch.to_le_bytes(),
            &self.root,
            &self.previous_root,
            &self.lookup,
            &self.audit,
        ] {
            out.extend_from_slice(&u32::try_from(field.len()).expect("under 4 GiB").to_le_bytes());
            out.extend_from_slice(field);
        }
        std::fs::write(path, out).expect("write the fixture");
    }

    /// Reads a fixture [`write`](Self::write) made.
    pub fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).expect("the fixture (run `instruction_counts kt-fixture <path>` first)");
        let mut rest = &bytes[..];
        let mut next = || {
            let (len, tail) = rest.split_at(4);
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            let (field, tail) = tail.split_at(len);
            rest = tail;
            field.to_vec()
        };
        Self {
            vrf_public_key: next(),
            epoch: u64::from_le_bytes(next().try_into().expect("8 bytes")),
            root: next().try_into().expect("32 bytes"),
            previous_root: next().try_into().expect("32 bytes"),
            lookup: next(),
            audit: next(),
        }
    }
}

/// akd's own audit verification of one blob, as its example auditor (`examples/src/whatsapp_kt_auditor`) does it:
/// protobuf decoding and conversion (akd's `AuditBlob::decode`), then `akd::auditor::audit_verify` from
/// `previous_root` (at `epoch - 1`) to `root` (at `epoch`) on `runtime`. The baseline kt-verify's
/// `ChainAuditor::verify_blob` is measured against.
pub fn akd_audit_verify(
    runtime: &tokio::runtime::Runtime,
    blob: &[u8],
    epoch: u64,
    previous_root: [u8; 32],
    root: [u8; 32],
) -> Result<(), akd::errors::AkdError> {
    // The protobuf message is dropped before the verification, as `AuditBlob::decode` drops it: kept alive, it would
    // add its size to akd's peak memory (the audit-at-scale measurements compare peak RSS).
    let single = {
        let decoded = akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(blob).expect("protobuf");
        akd::SingleAppendOnlyProof::try_from(&decoded).expect("convert")
    };
    let proof = akd::AppendOnlyProof {
        proofs: vec![single],
        epochs: vec![epoch - 1],
    };
    runtime.block_on(akd::auditor::audit_verify::<WhatsAppV1Configuration>(
        vec![previous_root, root],
        proof,
    ))
}
