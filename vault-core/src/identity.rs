//! Which account keys the vault believes: those key transparency proves current.

use ipls::{AccountId, IdentityProof};
use kt_verify::{DirectoryVerifier, SignedRoot, VerifiedRoot, WitnessVerifier};

use crate::error::IdentityError;

/// The key-transparency trust the vault checks IPLS identity proofs against: the witness keys and namespace (with
/// the maximum age of a signed root), and the directory's VRF public key.
///
/// The directory maps AKD label = account id bytes to AKD value = the account's 32-byte Ed25519 public key.
///
/// ```
/// use ed25519_dalek::SigningKey;
/// use kt_verify::{DirectoryVerifier, WitnessKey, WitnessVerifier};
/// use vault_core::KeyTransparency;
/// let witness = SigningKey::from_bytes(&[42; 32]).verifying_key().to_bytes();
/// let witness = WitnessVerifier::new("kt.example", [WitnessKey::new(witness, 0)?], 24 * 3_600_000)?;
/// // The directory's VRF public key (an Ed25519-encoded point; a stand-in here).
/// let vrf_key = SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
/// let trust = KeyTransparency::new(witness, DirectoryVerifier::new(&vrf_key)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct KeyTransparency {
    witness: WitnessVerifier,
    directory: DirectoryVerifier,
}

impl KeyTransparency {
    /// Trusts roots that `witness` accepts and lookup proofs of the directory `directory` verifies.
    pub fn new(witness: WitnessVerifier, directory: DirectoryVerifier) -> Self {
        Self { witness, directory }
    }

    /// Checks that `key` is `account`'s current key at a witness-signed root fresh at `now_ms`, and returns the
    /// root. Whether the root is older than one the vault has already seen is the caller's check (it needs the
    /// store).
    pub(crate) fn verify(
        &self,
        now_ms: u64,
        proof: &IdentityProof,
        account: &AccountId,
        key: &[u8; 32],
    ) -> Result<VerifiedRoot, IdentityError> {
        let root = self.verify_root(now_ms, proof.signed_root())?;
        let current = self
            .directory
            .verify_lookup(&root, account.as_bytes(), proof.lookup_proof())
            .map_err(IdentityError::Lookup)?;
        if current.value() != key.as_slice() {
            return Err(IdentityError::KeyMismatch);
        }
        Ok(root)
    }

    /// Decodes a witness-signed root (Plexi protobuf `SignedRoot`) and checks its signature and freshness at
    /// `now_ms`.
    pub(crate) fn verify_root(&self, now_ms: u64, signed_root: &[u8]) -> Result<VerifiedRoot, IdentityError> {
        let signed = SignedRoot::from_protobuf(signed_root).map_err(IdentityError::Root)?;
        self.witness.verify(&signed, now_ms).map_err(IdentityError::Witness)
    }
}
