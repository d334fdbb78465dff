//! The roots a lookup or history proof can be checked against: a witness-verified one (the default) or one the
//! caller vouches for itself.

use core::fmt;

use crate::witness::{Digest, Hex, VerifiedRoot};

/// An epoch root `(epoch, digest)` that the **caller vouches for**: no witness signature, namespace or freshness is
/// checked, because there is nothing to check them on.
///
/// Use it for a root the caller already trusts by its own means: one its own monitor or auditor accepted and
/// stored as `(epoch, digest)`, a root pinned in a configuration or a checkpoint, a test vector. Proofs checked
/// against it get exactly the guarantees of the [`DirectoryVerifier`](crate::DirectoryVerifier) checks (SPEC.md §3),
/// relative to this root, and nothing of SPEC.md §1: if the root came unsigned from the server whose proofs are being
/// checked, that server can show this client a directory it shows no one else, or an old one.
///
/// The caller vouches for the pair, not only for the digest: a lookup proof binds the digest but not the epoch
/// (akd_core checks the Merkle paths against the digest alone), so a digest paired with a later epoch than its own
/// still passes a lookup (history proofs do compare epochs). A witness signs the pair; here nobody does.
///
/// The usual path is a [`VerifiedRoot`] from [`WitnessVerifier::verify`](crate::WitnessVerifier::verify).
///
/// # Example
///
/// ```
/// use kt_verify::{ProofError, UnwitnessedRoot, WhatsAppDirectoryVerifier};
///
/// // A root this client pinned earlier, say from its own audited checkpoint.
/// let pinned = UnwitnessedRoot::trusted_by_caller(3, [0x5a; 32]);
/// assert_eq!((pinned.epoch(), pinned.digest()), (3, &[0x5a; 32]));
///
/// // The directory's VRF public key (an Ed25519-encoded point; a stand-in here).
/// let vrf_key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
/// let directory = WhatsAppDirectoryVerifier::new(&vrf_key)?;
/// // The same pre-checks and proof checks apply as against a witnessed root: garbage is refused.
/// assert_eq!(directory.verify_lookup(&pinned, b"alice", b"not a proof"), Err(ProofError::Malformed));
/// # Ok::<(), ProofError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnwitnessedRoot {
    epoch: u64,
    digest: Digest,
}

impl UnwitnessedRoot {
    /// The root `digest` of `epoch`, which the caller vouches for: nothing about it is, or can be, checked here.
    pub fn trusted_by_caller(epoch: u64, digest: Digest) -> Self {
        Self { epoch, digest }
    }

    /// The AKD epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The AKD root hash of that epoch.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
}

impl fmt::Debug for UnwitnessedRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnwitnessedRoot")
            .field("epoch", &self.epoch)
            .field("digest", &Hex(&self.digest))
            .finish()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::VerifiedRoot {}
    impl Sealed for crate::UnwitnessedRoot {}
    impl<R: Sealed + ?Sized> Sealed for &R {}
}

/// A root that [`DirectoryVerifier`](crate::DirectoryVerifier) checks proofs against: a [`VerifiedRoot`]
/// (witness-signed, and fresh as the [`WitnessVerifier`](crate::WitnessVerifier)'s
/// [`Freshness`](crate::Freshness) requires; the default) or an [`UnwitnessedRoot`] (the caller vouches for it).
///
/// The trait is sealed: no other type can implement it, so an `(epoch, digest)` pair reaches a proof check only
/// through [`WitnessVerifier::verify`](crate::WitnessVerifier::verify) or through
/// [`UnwitnessedRoot::trusted_by_caller`], whose name says who vouches for it.
pub trait ProofRoot: sealed::Sealed {
    /// The AKD epoch of the root.
    fn epoch(&self) -> u64;
    /// The AKD root hash of that epoch.
    fn digest(&self) -> &Digest;
}

impl ProofRoot for VerifiedRoot {
    fn epoch(&self) -> u64 {
        VerifiedRoot::epoch(self)
    }
    fn digest(&self) -> &Digest {
        VerifiedRoot::digest(self)
    }
}

impl ProofRoot for UnwitnessedRoot {
    fn epoch(&self) -> u64 {
        self.epoch
    }
    fn digest(&self) -> &Digest {
        &self.digest
    }
}

/// So that a `&&VerifiedRoot`, which deref-coerced to the `&VerifiedRoot` the proof methods took before they were
/// generic, is still accepted.
impl<R: ProofRoot + ?Sized> ProofRoot for &R {
    fn epoch(&self) -> u64 {
        (**self).epoch()
    }
    fn digest(&self) -> &Digest {
        (**self).digest()
    }
}
