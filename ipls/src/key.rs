//! The per-account contact key CK.

use core::fmt;

use rand_core::{CryptoRng, RngCore};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The 256-bit contact key CK of one account. Zeroized on drop; `Debug` prints no bytes; `==` is constant time.
///
/// ```
/// use ipls::ContactKey;
/// let key = ContactKey::generate(&mut ipls::rand_core::OsRng);
/// assert_eq!(format!("{key:?}"), "ContactKey { .. }");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ContactKey([u8; 32]);

impl ContactKey {
    /// Draws a fresh key.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut key = Self([0u8; 32]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// Wraps existing key bytes (for example, as released by the vault).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl ConstantTimeEq for ContactKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for ContactKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for ContactKey {}

impl fmt::Debug for ContactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactKey").finish_non_exhaustive()
    }
}
