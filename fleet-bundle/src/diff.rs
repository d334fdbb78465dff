//! Differences between the key sets of two epochs.

use core::cmp::Ordering;

use crate::key::FleetKey;
use crate::key_set::{KeySet, by_public_key};
use crate::role::Role;

/// A key present in both sets whose role changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoleChange {
    /// The public key.
    pub public_key: [u8; 32],
    /// Its role in the earlier set.
    pub from: Role,
    /// Its role in the later set.
    pub to: Role,
}

/// What changed from one key set to the next. Each list is sorted by public-key bytes, so two diffs of the same
/// sets are equal and print the same.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeySetDiff {
    added: Vec<FleetKey>,
    removed: Vec<FleetKey>,
    role_changed: Vec<RoleChange>,
}

impl KeySetDiff {
    /// Keys only in the later set, with their role there.
    ///
    /// ```
    /// # use fleet_bundle::{diff, FleetKey, KeySet, Role};
    /// let before = KeySet::new([FleetKey::new([1; 32], Role::OpaqueServer)?])?;
    /// let after = KeySet::new([
    ///     FleetKey::new([1; 32], Role::OpaqueServer)?,
    ///     FleetKey::new([2; 32], Role::IplsSession)?,
    /// ])?;
    /// assert_eq!(diff(&before, &after).added(), &[FleetKey::new([2; 32], Role::IplsSession)?]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn added(&self) -> &[FleetKey] {
        &self.added
    }

    /// Keys only in the earlier set, with their role there.
    ///
    /// ```
    /// # use fleet_bundle::{diff, FleetKey, KeySet, Role};
    /// let before = KeySet::new([
    ///     FleetKey::new([1; 32], Role::OpaqueServer)?,
    ///     FleetKey::new([2; 32], Role::IplsSession)?,
    /// ])?;
    /// let after = KeySet::new([FleetKey::new([1; 32], Role::OpaqueServer)?])?;
    /// assert_eq!(diff(&before, &after).removed(), &[FleetKey::new([2; 32], Role::IplsSession)?]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn removed(&self) -> &[FleetKey] {
        &self.removed
    }

    /// Keys in both sets under different roles.
    ///
    /// ```
    /// # use fleet_bundle::{diff, FleetKey, KeySet, Role, RoleChange};
    /// let before = KeySet::new([FleetKey::new([1; 32], Role::OpaqueServer)?])?;
    /// let after = KeySet::new([FleetKey::new([1; 32], Role::IplsSession)?])?;
    /// assert_eq!(
    ///     diff(&before, &after).role_changed(),
    ///     &[RoleChange { public_key: [1; 32], from: Role::OpaqueServer, to: Role::IplsSession }]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn role_changed(&self) -> &[RoleChange] {
        &self.role_changed
    }

    /// Whether the two sets were equal.
    ///
    /// ```
    /// # use fleet_bundle::{diff, FleetKey, KeySet, Role};
    /// let set = KeySet::new([FleetKey::new([1; 32], Role::OpaqueServer)?])?;
    /// assert!(diff(&set, &set).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.role_changed.is_empty()
    }
}

/// Compares two key sets: added, removed and role-changed keys, each sorted by public-key bytes.
///
/// Both sets are sorted by public key, so one merge walk in `O(|prev| + |next|)` classifies every key.
///
/// ```
/// use fleet_bundle::{diff, FleetKey, KeySet, Role};
/// let before = KeySet::new([
///     FleetKey::new([1; 32], Role::OpaqueServer)?,
///     FleetKey::new([2; 32], Role::IplsSession)?,
/// ])?;
/// let after = KeySet::new([
///     FleetKey::new([2; 32], Role::OpaqueServer)?,
///     FleetKey::new([3; 32], Role::IplsSession)?,
/// ])?;
/// let changes = diff(&before, &after);
/// assert_eq!(changes.added().len(), 1);
/// assert_eq!(changes.removed().len(), 1);
/// assert_eq!(changes.role_changed().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff(prev: &KeySet, next: &KeySet) -> KeySetDiff {
    let mut out = KeySetDiff::default();
    let mut old = prev.iter().peekable();
    let mut new = next.iter().peekable();
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(&&gone), None) => {
                out.removed.push(gone);
                old.next();
            }
            (None, Some(&&fresh)) => {
                out.added.push(fresh);
                new.next();
            }
            (Some(&&a), Some(&&b)) => match by_public_key(&a, &b) {
                Ordering::Less => {
                    out.removed.push(a);
                    old.next();
                }
                Ordering::Greater => {
                    out.added.push(b);
                    new.next();
                }
                Ordering::Equal => {
                    if a.role() != b.role() {
                        out.role_changed.push(RoleChange {
                            public_key: *a.public_key(),
                            from: a.role(),
                            to: b.role(),
                        });
                    }
                    old.next();
                    new.next();
                }
            },
        }
    }
    out
}
