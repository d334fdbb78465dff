//! Shared fixtures: real akd 0.13 directories in memory, and a test witness that signs their roots.

#![allow(dead_code, unreachable_pub)]

use akd::append_only_zks::AzksParallelismConfig;
use akd::directory::Directory;
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{AkdLabel, AkdValue, Configuration, HistoryParams};
use ed25519_dalek::{Signer, SigningKey};
use kt_verify::{Ciphersuite, SignedRoot, VerifiedRoot, WitnessKey, WitnessVerifier};
use protobuf::Message;

pub const NAMESPACE: &str = "kt.test";
pub const NOW_MS: u64 = 1_800_000_000_000;

pub type Akd<TC> = Directory<TC, AsyncInMemoryDatabase, HardCodedAkdVRF>;

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

pub fn label(i: usize) -> Vec<u8> {
    format!("user-{i}").into_bytes()
}

pub fn value(i: usize, epoch: u64) -> Vec<u8> {
    format!("key-{i}-{epoch}").into_bytes()
}

/// A test witness for [`NAMESPACE`].
pub struct Witness {
    signer: SigningKey,
    pub verifier: WitnessVerifier,
}

impl Witness {
    pub fn new() -> Self {
        let signer = SigningKey::from_bytes(&[42; 32]);
        let key = WitnessKey::new(signer.verifying_key().to_bytes(), 0).expect("strong key");
        Self {
            verifier: WitnessVerifier::new(NAMESPACE, [key], 60_000).expect("one key"),
            signer,
        }
    }

    pub fn sign(&self, epoch: u64, digest: [u8; 32]) -> SignedRoot {
        let key_id = self.signer.verifying_key().to_bytes()[31];
        let suite = Ciphersuite::ProtobufEd25519;
        let unsigned = SignedRoot::new(suite, NAMESPACE, NOW_MS, epoch, digest, [0; 64], key_id);
        let signature = self.signer.sign(&unsigned.signed_message()).to_bytes();
        SignedRoot::new(suite, NAMESPACE, NOW_MS, epoch, digest, signature, key_id)
    }

    pub fn verified(&self, epoch: u64, digest: [u8; 32]) -> VerifiedRoot {
        self.verifier.verify(&self.sign(epoch, digest), NOW_MS).expect("fresh")
    }
}

/// Proofs from a directory of `size` labels: epoch 1 inserts all of them, epochs 2 and 3 update label 0.
pub struct Proofs {
    pub vrf_public_key: Vec<u8>,
    pub epoch: u64,
    pub root: [u8; 32],
    /// Lookup of label 0 (version 3).
    pub lookup_updated: Vec<u8>,
    /// Lookup of the last label (version 1).
    pub lookup_last: Vec<u8>,
    /// Complete history of label 0.
    pub history_complete: Vec<u8>,
    /// Most recent version of label 0.
    pub history_recent: Vec<u8>,
}

pub async fn directory<TC: Configuration>() -> Akd<TC> {
    let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
    Directory::new(storage, HardCodedAkdVRF {}, AzksParallelismConfig::disabled())
        .await
        .expect("directory")
}

pub fn proofs<TC: Configuration>(size: usize) -> Proofs {
    runtime().block_on(async {
        let akd = directory::<TC>().await;
        akd.publish((0..size).map(|i| (AkdLabel(label(i)), AkdValue(value(i, 1)))).collect())
            .await
            .expect("epoch 1");
        for epoch in 2..=3 {
            akd.publish(vec![(AkdLabel(label(0)), AkdValue(value(0, epoch)))])
                .await
                .expect("update");
        }
        let vrf_public_key = akd.get_public_key().await.expect("vrf key").as_bytes().to_vec();
        let (lookup_updated, epoch_hash) = akd.lookup(AkdLabel(label(0))).await.expect("lookup");
        let (lookup_last, _) = akd.lookup(AkdLabel(label(size - 1))).await.expect("lookup");
        let (complete, _) = akd
            .key_history(&AkdLabel(label(0)), HistoryParams::Complete)
            .await
            .expect("history");
        let (recent, _) = akd
            .key_history(&AkdLabel(label(0)), HistoryParams::MostRecent(1))
            .await
            .expect("history");
        Proofs {
            vrf_public_key,
            epoch: epoch_hash.epoch(),
            root: epoch_hash.hash(),
            lookup_updated: akd::proto::specs::types::LookupProof::from(&lookup_updated)
                .write_to_bytes()
                .expect("encode"),
            lookup_last: akd::proto::specs::types::LookupProof::from(&lookup_last)
                .write_to_bytes()
                .expect("encode"),
            history_complete: akd::proto::specs::types::HistoryProof::from(&complete)
                .write_to_bytes()
                .expect("encode"),
            history_recent: akd::proto::specs::types::HistoryProof::from(&recent)
                .write_to_bytes()
                .expect("encode"),
        }
    })
}
