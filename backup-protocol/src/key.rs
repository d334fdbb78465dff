//! The backup key K and the user id it is escrowed under.

use alloc::vec::Vec;
use core::fmt;

use rand_core::{CryptoRng, RngCore};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::codec::{Reader, put_short_vec};
use crate::error::{DecodeError, Error};

/// The 256-bit backup key K. It encrypts the backup ([`crate::StreamEncryptor`]), is escrowed in the vault under
/// the user's password, and doubles as the 64-digit recovery key.
///
/// Zeroized on drop; `Debug` prints no bytes; `==` runs in constant time.
///
/// ```
/// use backup_protocol::BackupKey;
/// let key = BackupKey::generate(&mut backup_protocol::rand_core::OsRng);
/// assert_eq!(format!("{key:?}"), "BackupKey { .. }");
/// assert!(key == BackupKey::from_bytes(*key.expose_secret()));
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BackupKey([u8; BackupKey::LEN]);

impl BackupKey {
    /// Length of K in bytes.
    pub const LEN: usize = 32;

    /// Draws a fresh K from a cryptographically secure generator.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut key = Self([0u8; Self::LEN]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// Wraps existing key bytes.
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes, for callers that must hand K to another implementation.
    pub fn expose_secret(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl ConstantTimeEq for BackupKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for BackupKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for BackupKey {}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupKey").finish_non_exhaustive()
    }
}

/// The account a backup key is escrowed for: 1 to 255 opaque bytes (for example a phone-number JID).
///
/// It keys the vault record, is the OPAQUE client identity, and is bound into every signature and AEAD.
///
/// ```
/// use backup_protocol::UserId;
/// let user = UserId::new(b"15551234567@s.whatsapp.net".to_vec())?;
/// assert_eq!(user.as_bytes(), b"15551234567@s.whatsapp.net");
/// assert!(UserId::new(Vec::new()).is_err());
/// # Ok::<(), backup_protocol::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Vec<u8>);

impl UserId {
    /// Checks the length (1 to 255 bytes).
    pub fn new(bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() > usize::from(u8::MAX) {
            return Err(Error::InvalidUserId);
        }
        Ok(Self(bytes))
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes = reader.short_vec()?;
        Self::new(bytes.to_vec()).map_err(|_| DecodeError::InvalidField("user id"))
    }

    /// Appends the one-byte length and the id.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        put_short_vec(out, &self.0);
    }
}

impl fmt::Debug for UserId {
    /// The id as text when it is UTF-8 (as account ids usually are), otherwise as hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Ok(text) = core::str::from_utf8(&self.0) {
            return f.debug_tuple("UserId").field(&text).finish();
        }
        f.write_str("UserId(0x")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))?;
        f.write_str(")")
    }
}
