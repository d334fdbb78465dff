//! kt-verify against the bare akd calls it wraps, in the same run:
//!
//! * `lookup`: witness signature + `DirectoryVerifier::verify_lookup` from protobuf bytes, against
//!   `akd_core::verify::lookup_verify` on the already-decoded proof (its clone is made outside the timing);
//! * `audit`: `ChainAuditor::verify_blob` on a 1000-update epoch from protobuf bytes, against
//!   `akd::auditor::audit_verify` on the decoded proof with a current-thread runtime built outside the timing.
//!
//! Results and the exact command are in BENCHMARKS.md.

use std::hint::black_box;
use std::sync::OnceLock;

use akd::append_only_zks::AzksParallelismConfig;
use akd::directory::Directory;
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{AkdLabel, AkdValue, AppendOnlyProof, WhatsAppV1Configuration};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use kt_verify::{
    AuditBlobName, Ciphersuite, SignedRoot, UnwitnessedRoot, WhatsAppChainAuditor, WhatsAppDirectoryVerifier,
    WitnessKey, WitnessVerifier,
};
use protobuf::Message;

type Tc = WhatsAppV1Configuration;

const NOW_MS: u64 = 1_800_000_000_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

fn label(i: usize) -> AkdLabel {
    AkdLabel(format!("user-{i}").into_bytes())
}

struct Setup {
    vrf_public_key: Vec<u8>,
    epoch: u64,
    root: [u8; 32],
    lookup: akd::LookupProof,
    lookup_bytes: Vec<u8>,
    previous_root: [u8; 32],
    audit: akd::SingleAppendOnlyProof,
    audit_bytes: Vec<u8>,
}

/// A directory of `labels` labels over two epochs, then an epoch of 1000 updates (new labels).
fn setup(labels: usize) -> Setup {
    runtime().block_on(async {
        let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
        let akd = Directory::<Tc, _, _>::new(storage, HardCodedAkdVRF {}, AzksParallelismConfig::disabled())
            .await
            .expect("directory");
        let value = |epoch: u64| AkdValue(format!("key-{epoch}").into_bytes());
        akd.publish((0..labels).map(|i| (label(i), value(1))).collect())
            .await
            .expect("epoch 1");
        let previous = akd.publish(vec![(label(0), value(2))]).await.expect("epoch 2");
        let current = akd
            .publish((labels..labels + 1000).map(|i| (label(i), value(3))).collect())
            .await
            .expect("epoch 3");
        let (lookup, _) = akd.lookup(label(0)).await.expect("lookup");
        let audit = akd.audit(2, 3).await.expect("audit").proofs.remove(0);
        Setup {
            vrf_public_key: akd.get_public_key().await.expect("key").as_bytes().to_vec(),
            epoch: current.epoch(),
            root: current.hash(),
            lookup_bytes: akd::proto::specs::types::LookupProof::from(&lookup)
                .write_to_bytes()
                .expect("encode"),
            lookup,
            previous_root: previous.hash(),
            audit_bytes: akd::proto::specs::types::SingleAppendOnlyProof::from(&audit)
                .write_to_bytes()
                .expect("encode"),
            audit,
        }
    })
}

/// One directory for both groups: building it takes seconds.
fn fixture() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| setup(10_000))
}

fn lookup_benches(c: &mut Criterion) {
    let s = fixture();

    let witness = SigningKey::from_bytes(&[7; 32]);
    let key = WitnessKey::new(witness.verifying_key().to_bytes(), 0).expect("key");
    let witnesses = WitnessVerifier::new("kt.bench", [key], 60_000).expect("verifier");
    let suite = Ciphersuite::ProtobufEd25519;
    let unsigned = SignedRoot::new(suite, "kt.bench", NOW_MS, s.epoch, s.root, [0; 64], key.key_id());
    let signature = witness.sign(&unsigned.signed_message()).to_bytes();
    let signed = SignedRoot::new(suite, "kt.bench", NOW_MS, s.epoch, s.root, signature, key.key_id());
    let directory = WhatsAppDirectoryVerifier::new(&s.vrf_public_key).expect("vrf key");
    let user = label(0).0;

    let mut lookup = c.benchmark_group("lookup (10 000 labels)");
    lookup.bench_function("kt_verify (witness + lookup from bytes)", |b| {
        b.iter(|| {
            let root = witnesses.verify(black_box(&signed), NOW_MS).expect("witness");
            directory
                .verify_lookup(&root, &user, black_box(&s.lookup_bytes))
                .expect("lookup")
        });
    });
    lookup.bench_function("baseline (akd_core lookup_verify)", |b| {
        b.iter_batched(
            || s.lookup.clone(),
            |proof| {
                akd::verify::lookup_verify::<Tc>(&s.vrf_public_key, s.root, s.epoch, label(0), black_box(proof))
                    .expect("lookup")
            },
            BatchSize::SmallInput,
        );
    });
    lookup.bench_function("kt_verify (lookup only, decoded; no witness)", |b| {
        let root = UnwitnessedRoot::trusted_by_caller(s.epoch, s.root);
        b.iter_batched(
            || s.lookup.clone(),
            |proof| {
                directory
                    .verify_lookup_proof(&root, &user, black_box(proof))
                    .expect("lookup")
            },
            BatchSize::SmallInput,
        );
    });
    lookup.finish();
}

fn audit_benches(c: &mut Criterion) {
    let s = fixture();
    let name = AuditBlobName::new(s.epoch, s.previous_root, s.root)
        .expect("name")
        .to_string();
    let mut audit = c.benchmark_group("audit (1000 updates)");
    audit.sample_size(10);
    audit.bench_function("kt_verify (ChainAuditor::verify_blob from bytes)", |b| {
        b.iter_batched(
            || WhatsAppChainAuditor::new().expect("runtime"),
            |mut auditor| {
                auditor.verify_blob(&name, black_box(&s.audit_bytes)).expect("audit");
                auditor
            },
            BatchSize::PerIteration,
        );
    });
    audit.bench_function("baseline (akd audit_verify)", |b| {
        b.iter_batched(
            || {
                let proof = AppendOnlyProof {
                    proofs: vec![s.audit.clone()],
                    epochs: vec![s.epoch - 1],
                };
                (runtime(), proof)
            },
            |(rt, proof)| {
                rt.block_on(akd::auditor::audit_verify::<Tc>(
                    vec![s.previous_root, s.root],
                    black_box(proof),
                ))
                .expect("audit");
                rt
            },
            BatchSize::PerIteration,
        );
    });
    audit.bench_function("kt_verify (ChainAuditor::verify_proof, decoded)", |b| {
        b.iter_batched(
            || WhatsAppChainAuditor::new().expect("runtime"),
            |mut auditor| {
                auditor.verify_proof(&name, black_box(&s.audit)).expect("audit");
                auditor
            },
            BatchSize::PerIteration,
        );
    });
    audit.bench_function("baseline from bytes (protobuf decode + akd audit_verify)", |b| {
        b.iter_batched(
            runtime,
            |rt| {
                let decoded =
                    akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(black_box(&s.audit_bytes))
                        .expect("parse");
                let proof = AppendOnlyProof {
                    proofs: vec![akd::SingleAppendOnlyProof::try_from(&decoded).expect("convert")],
                    epochs: vec![s.epoch - 1],
                };
                rt.block_on(akd::auditor::audit_verify::<Tc>(vec![s.previous_root, s.root], proof))
                    .expect("audit");
                rt
            },
            BatchSize::PerIteration,
        );
    });
    audit.bench_function("decoding only (protobuf parse, conversion, canonical re-encode)", |b| {
        b.iter(|| {
            let decoded = akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(black_box(&s.audit_bytes))
                .expect("parse");
            let proof = akd::SingleAppendOnlyProof::try_from(&decoded).expect("convert");
            akd::proto::specs::types::SingleAppendOnlyProof::from(&proof)
                .write_to_bytes()
                .expect("encode")
        });
    });
    audit.finish();
}

criterion_group!(kt_benches, lookup_benches, audit_benches);
criterion_main!(kt_benches);
