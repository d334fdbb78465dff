//! What a key-transparency server and its witness do, in memory: an akd directory (WhatsApp's configuration)
//! mapping account ids to Ed25519 account keys, whose every epoch root a witness signs (Plexi format).
//!
//! Shared by the walkthrough and vault-core's IPLS tests. It uses akd's hard-coded test VRF key: a stand-in for a
//! real directory, never for production.

#![allow(dead_code, unreachable_pub)]

use akd::append_only_zks::AzksParallelismConfig;
use akd::directory::Directory;
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::{AkdLabel, AkdValue, WhatsAppV1Configuration};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use ipls::{AccountId, IdentityProof};
use kt_verify::{Ciphersuite, DirectoryVerifier, SignedRoot, WitnessKey, WitnessVerifier};
use protobuf::Message;
use vault_core::KeyTransparency;

/// The witness namespace of the directory.
pub const NAMESPACE: &str = "ipls.kt.example";

type Akd = Directory<WhatsAppV1Configuration, AsyncInMemoryDatabase, HardCodedAkdVRF>;

/// The directory, its witness, and the signed root of its newest epoch.
pub struct KtDirectory {
    runtime: tokio::runtime::Runtime,
    akd: Akd,
    witness: SigningKey,
    root: Option<SignedRoot>,
}

impl KtDirectory {
    /// An empty directory; `witness_seed` makes the witness's Ed25519 key.
    pub fn new(witness_seed: [u8; 32]) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        let akd = runtime
            .block_on(Directory::new(
                StorageManager::new_no_cache(AsyncInMemoryDatabase::new()),
                HardCodedAkdVRF {},
                AzksParallelismConfig::disabled(),
            ))
            .expect("an empty directory");
        Self {
            runtime,
            akd,
            witness: SigningKey::from_bytes(&witness_seed),
            root: None,
        }
    }

    /// Publishes a new epoch that sets each account's key, and has the witness sign its root at `at_ms`.
    pub fn publish(&mut self, updates: &[(&AccountId, &VerifyingKey)], at_ms: u64) -> u64 {
        let updates = updates
            .iter()
            .map(|(account, key)| (AkdLabel(account.as_bytes().to_vec()), AkdValue(key.to_bytes().to_vec())))
            .collect();
        let epoch_hash = self.runtime.block_on(self.akd.publish(updates)).expect("publish");
        self.root = Some(self.sign(epoch_hash.epoch(), epoch_hash.hash(), at_ms));
        epoch_hash.epoch()
    }

    fn sign(&self, epoch: u64, digest: [u8; 32], at_ms: u64) -> SignedRoot {
        let suite = Ciphersuite::ProtobufEd25519;
        let key_id = self.witness_key().key_id();
        let unsigned = SignedRoot::new(suite, NAMESPACE, at_ms, epoch, digest, [0; 64], key_id);
        let signature = self.witness.sign(&unsigned.signed_message()).to_bytes();
        SignedRoot::new(suite, NAMESPACE, at_ms, epoch, digest, signature, key_id)
    }

    /// The newest epoch's witness-signed root.
    pub fn signed_root(&self) -> &SignedRoot {
        self.root.as_ref().expect("an epoch was published")
    }

    /// The identity proof of `account` at the newest epoch: its lookup proof and the witness-signed root.
    pub fn identity_proof(&self, account: &AccountId) -> IdentityProof {
        let (lookup, _) = self
            .runtime
            .block_on(self.akd.lookup(AkdLabel(account.as_bytes().to_vec())))
            .expect("the account is in the directory");
        let lookup = akd::proto::specs::types::LookupProof::from(&lookup)
            .write_to_bytes()
            .expect("encode the lookup proof");
        IdentityProof::new(self.signed_root().to_protobuf(), lookup).expect("proofs are a few KiB")
    }

    /// The witness's public key, as clients and the vault pin it.
    pub fn witness_key(&self) -> WitnessKey {
        WitnessKey::new(self.witness.verifying_key().to_bytes(), 0).expect("a strong key")
    }

    /// The directory's VRF public key.
    pub fn vrf_public_key(&self) -> Vec<u8> {
        let key = self.runtime.block_on(self.akd.get_public_key()).expect("the VRF key");
        key.as_bytes().to_vec()
    }

    /// The vault's trust in this directory: roots at most `max_age_ms` old.
    pub fn trust(&self, max_age_ms: u64) -> KeyTransparency {
        let witness = WitnessVerifier::new(NAMESPACE, [self.witness_key()], max_age_ms).expect("one key");
        KeyTransparency::new(witness, self.directory())
    }

    /// A verifier of this directory's lookup and history proofs.
    pub fn directory(&self) -> DirectoryVerifier {
        DirectoryVerifier::new(&self.vrf_public_key()).expect("akd's VRF key is valid")
    }
}
