//! Fleet keys: a public key together with the one role it holds.

use crate::error::KeyError;
use crate::role::Role;
use crate::strict;

/// A 32-byte public key and its role, checked for the role's weak-key rules.
///
/// * [`Role::ResponseSigning`] keys are Ed25519 keys: they must be canonical encodings and not points of small
///   order. Keys read from the wire (bundles, artifacts) are held to exactly these rules, which need no curve
///   arithmetic; [`FleetKey::new`], which producers use, also requires the key to be a curve point. A received key
///   that is not a point is harmless — no signature verifies under it — so verifiers do not pay a point
///   decompression per key to find it (SPEC.md, section 7).
/// * [`Role::OpaqueServer`] and [`Role::IplsSession`] keys belong to groups this crate does not implement; their
///   owning protocols validate them as group elements. Here they are only required not to be all zero, which is
///   the identity of ristretto255 and the low-order point `u = 0` of X25519 — a key no honest fleet publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FleetKey {
    public_key: [u8; 32],
    role: Role,
}

impl FleetKey {
    /// Checks `public_key` for `role` and pairs them.
    ///
    /// ```
    /// use ed25519_dalek::SigningKey;
    /// use fleet_bundle::{FleetKey, KeyError, Role};
    ///
    /// let vault = SigningKey::from_bytes(&[1; 32]).verifying_key();
    /// let key = FleetKey::new(vault.to_bytes(), Role::ResponseSigning)?;
    /// assert_eq!(key.role(), Role::ResponseSigning);
    ///
    /// // The encoding of the identity point is a small-order (weak) Ed25519 key.
    /// let mut identity = [0u8; 32];
    /// identity[0] = 1;
    /// assert_eq!(FleetKey::new(identity, Role::ResponseSigning), Err(KeyError::SmallOrder));
    /// assert_eq!(FleetKey::new([0; 32], Role::OpaqueServer), Err(KeyError::AllZero));
    /// # Ok::<(), KeyError>(())
    /// ```
    pub fn new(public_key: [u8; 32], role: Role) -> Result<Self, KeyError> {
        check(&public_key, role)?;
        Ok(Self { public_key, role })
    }

    /// Pairs a key and a role that the caller has already checked (or will check) with [`check_received`].
    pub(crate) fn unchecked(public_key: [u8; 32], role: Role) -> Self {
        Self { public_key, role }
    }

    /// The public key bytes.
    ///
    /// ```
    /// # use fleet_bundle::{FleetKey, Role};
    /// let key = FleetKey::new([9; 32], Role::OpaqueServer)?;
    /// assert_eq!(key.public_key(), &[9; 32]);
    /// # Ok::<(), fleet_bundle::KeyError>(())
    /// ```
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The role the key holds.
    ///
    /// ```
    /// # use fleet_bundle::{FleetKey, Role};
    /// let key = FleetKey::new([9; 32], Role::IplsSession)?;
    /// assert_eq!(key.role(), Role::IplsSession);
    /// # Ok::<(), fleet_bundle::KeyError>(())
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }
}

/// The rules for keys read from the wire: per role, and for Ed25519 without curve arithmetic.
pub(crate) fn check_received(public_key: &[u8; 32], role: Role) -> Result<(), KeyError> {
    match role {
        Role::ResponseSigning => strict::check_encoding(public_key),
        Role::OpaqueServer | Role::IplsSession => check_not_zero(public_key),
    }
}

/// The rules of [`FleetKey::new`]: [`check_received`], and an Ed25519 key must also be a curve point.
pub(crate) fn check(public_key: &[u8; 32], role: Role) -> Result<(), KeyError> {
    match role {
        Role::ResponseSigning => strict::strict_verifying_key(public_key).map(|_| ()),
        Role::OpaqueServer | Role::IplsSession => check_not_zero(public_key),
    }
}

fn check_not_zero(public_key: &[u8; 32]) -> Result<(), KeyError> {
    if public_key.iter().all(|&b| b == 0) {
        Err(KeyError::AllZero)
    } else {
        Ok(())
    }
}
