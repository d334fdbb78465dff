//! Time as the caller supplies it, and the validity window of a bundle.

use core::fmt;

use crate::error::ValidityError;

/// A point in time as whole seconds since the Unix epoch (1970-01-01T00:00:00Z, leap seconds ignored).
///
/// The crate never reads a clock: the caller passes its notion of "now", which keeps verification deterministic
/// and testable and lets the caller decide how much clock skew to allow (subtract it before calling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixSeconds(pub u64);

impl fmt::Display for UnixSeconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

/// The half-open interval `[issued_at, expires_at)` in which a bundle may be accepted.
///
/// `issued_at < expires_at` always holds, so the window is never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValidityWindow {
    issued_at: UnixSeconds,
    expires_at: UnixSeconds,
}

impl ValidityWindow {
    /// A window from `issued_at` (inclusive) to `expires_at` (exclusive).
    ///
    /// ```
    /// use fleet_bundle::{UnixSeconds, ValidityWindow};
    /// let window = ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?;
    /// assert!(window.contains(UnixSeconds(100)));
    /// assert!(!window.contains(UnixSeconds(200)));
    /// assert!(ValidityWindow::new(UnixSeconds(200), UnixSeconds(200)).is_err());
    /// # Ok::<(), fleet_bundle::ValidityError>(())
    /// ```
    pub fn new(issued_at: UnixSeconds, expires_at: UnixSeconds) -> Result<Self, ValidityError> {
        if issued_at < expires_at {
            Ok(Self { issued_at, expires_at })
        } else {
            Err(ValidityError)
        }
    }

    /// First second at which the bundle is valid.
    ///
    /// ```
    /// # use fleet_bundle::{UnixSeconds, ValidityWindow};
    /// let window = ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?;
    /// assert_eq!(window.issued_at(), UnixSeconds(100));
    /// # Ok::<(), fleet_bundle::ValidityError>(())
    /// ```
    pub fn issued_at(&self) -> UnixSeconds {
        self.issued_at
    }

    /// First second at which the bundle is no longer valid.
    ///
    /// ```
    /// # use fleet_bundle::{UnixSeconds, ValidityWindow};
    /// let window = ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?;
    /// assert_eq!(window.expires_at(), UnixSeconds(200));
    /// # Ok::<(), fleet_bundle::ValidityError>(())
    /// ```
    pub fn expires_at(&self) -> UnixSeconds {
        self.expires_at
    }

    /// Whether `issued_at <= now < expires_at`.
    ///
    /// ```
    /// # use fleet_bundle::{UnixSeconds, ValidityWindow};
    /// let window = ValidityWindow::new(UnixSeconds(100), UnixSeconds(200))?;
    /// assert!(!window.contains(UnixSeconds(99)));
    /// assert!(window.contains(UnixSeconds(199)));
    /// # Ok::<(), fleet_bundle::ValidityError>(())
    /// ```
    pub fn contains(&self, now: UnixSeconds) -> bool {
        self.issued_at <= now && now < self.expires_at
    }
}
