//! A fleet's set of keys, in the canonical order used on the wire.

use core::cmp::Ordering;

use crate::error::KeySetError;
use crate::key::FleetKey;
use crate::role::Role;

/// Between 1 and [`KeySet::MAX_KEYS`] fleet keys, each public key at most once, sorted by public-key bytes.
///
/// Sorting by the key bytes alone (not by role) means one public key can never be listed under two roles: a key
/// that must not be used as, say, both an OPAQUE key and a response-signing key cannot be made to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeySet {
    keys: Vec<FleetKey>,
}

impl KeySet {
    /// Largest number of keys in one set. Bounds the decoder's work and keeps an encoded bundle body well under
    /// the 65 535-byte limit of the envelope's length field.
    pub const MAX_KEYS: usize = 1024;

    /// Builds a set from keys in any order; duplicates are an error, not silently merged, because two entries for
    /// one key in an operator's input are a bug worth surfacing.
    ///
    /// ```
    /// use fleet_bundle::{FleetKey, KeySet, Role};
    /// let set = KeySet::new([
    ///     FleetKey::new([7; 32], Role::OpaqueServer)?,
    ///     FleetKey::new([3; 32], Role::IplsSession)?,
    /// ])?;
    /// // Canonical order: by public-key bytes.
    /// assert_eq!(set.as_slice()[0].public_key(), &[3; 32]);
    /// assert_eq!(set.role_of(&[7; 32]), Some(Role::OpaqueServer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(keys: impl IntoIterator<Item = FleetKey>) -> Result<Self, KeySetError> {
        let mut keys: Vec<FleetKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(KeySetError::Empty);
        }
        if keys.len() > Self::MAX_KEYS {
            return Err(KeySetError::TooMany { count: keys.len() });
        }
        keys.sort_unstable_by(|a, b| a.public_key().cmp(b.public_key()));
        if keys.windows(2).any(|pair| pair[0].public_key() == pair[1].public_key()) {
            return Err(KeySetError::DuplicateKey);
        }
        Ok(Self { keys })
    }

    /// Wraps keys that the decoder has already found non-empty, bounded and strictly ascending.
    pub(crate) fn from_canonical(keys: Vec<FleetKey>) -> Self {
        debug_assert!(!keys.is_empty() && keys.len() <= Self::MAX_KEYS);
        debug_assert!(keys.windows(2).all(|pair| pair[0].public_key() < pair[1].public_key()));
        Self { keys }
    }

    /// The keys in canonical order.
    ///
    /// ```
    /// # use fleet_bundle::{FleetKey, KeySet, Role};
    /// let set = KeySet::new([FleetKey::new([7; 32], Role::OpaqueServer)?])?;
    /// assert_eq!(set.as_slice().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_slice(&self) -> &[FleetKey] {
        &self.keys
    }

    /// Iterates over the keys in canonical order.
    ///
    /// ```
    /// # use fleet_bundle::{FleetKey, KeySet, Role};
    /// let set = KeySet::new([FleetKey::new([7; 32], Role::OpaqueServer)?])?;
    /// assert!(set.iter().all(|key| key.role() == Role::OpaqueServer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> core::slice::Iter<'_, FleetKey> {
        self.keys.iter()
    }

    /// The role `public_key` holds in this set, or `None` if it is not listed.
    ///
    /// ```
    /// # use fleet_bundle::{FleetKey, KeySet, Role};
    /// let set = KeySet::new([FleetKey::new([7; 32], Role::OpaqueServer)?])?;
    /// assert_eq!(set.role_of(&[7; 32]), Some(Role::OpaqueServer));
    /// assert_eq!(set.role_of(&[8; 32]), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn role_of(&self, public_key: &[u8; 32]) -> Option<Role> {
        self.keys
            .binary_search_by(|key| key.public_key().cmp(public_key))
            .ok()
            .and_then(|index| self.keys.get(index))
            .map(FleetKey::role)
    }

    /// Appends the count and the `role || key` entries.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.keys.len() as u16).to_be_bytes()); // <= MAX_KEYS < 65536
        for key in &self.keys {
            out.push(key.role().wire_byte());
            out.extend_from_slice(key.public_key());
        }
    }
}

impl<'a> IntoIterator for &'a KeySet {
    type Item = &'a FleetKey;
    type IntoIter = core::slice::Iter<'a, FleetKey>;

    fn into_iter(self) -> Self::IntoIter {
        self.keys.iter()
    }
}

/// Orders two keys for the merge walk of [`crate::diff`].
pub(crate) fn by_public_key(a: &FleetKey, b: &FleetKey) -> Ordering {
    a.public_key().cmp(b.public_key())
}
