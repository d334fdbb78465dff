//! The 64-digit recovery key: K written as 64 hexadecimal digits, the alternative to the vault that never leaves
//! the user's hands.

use alloc::string::String;
use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::RecoveryKeyError;
use crate::key::BackupKey;

/// Digits in a recovery key.
pub const RECOVERY_KEY_DIGITS: usize = 2 * BackupKey::LEN;

/// Digits per group in the display form.
const GROUP: usize = 4;

/// K as a recovery key: 64 lower-case hexadecimal digits shown in 16 groups of 4, separated by spaces.
///
/// Zeroized on drop; `Debug` prints no digits. [`BackupKey::from_recovery_key`] reads it back, tolerating case,
/// whitespace and `-` between digits.
///
/// ```
/// use backup_protocol::{BackupKey, RecoveryKey};
/// let key = BackupKey::from_bytes([0xab; 32]);
/// let shown = RecoveryKey::from_backup_key(&key);
/// assert!(shown.expose_secret().starts_with("abab abab "));
/// assert_eq!(BackupKey::from_recovery_key(shown.expose_secret())?, key);
/// # Ok::<(), backup_protocol::RecoveryKeyError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RecoveryKey(String);

impl RecoveryKey {
    /// Formats K for display to the user.
    pub fn from_backup_key(key: &BackupKey) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(RECOVERY_KEY_DIGITS + RECOVERY_KEY_DIGITS / GROUP);
        for (index, byte) in key.expose_secret().iter().enumerate() {
            if index > 0 && (2 * index) % GROUP == 0 {
                out.push(' ');
            }
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        Self(out)
    }

    /// The grouped digits, to show to the user.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryKey").finish_non_exhaustive()
    }
}

impl BackupKey {
    /// Parses a recovery key: exactly 64 hexadecimal digits in either case; ASCII whitespace and `-` may appear
    /// anywhere between them and are ignored.
    ///
    /// Errors name the position of a bad character or the number of digits found, never the digits.
    pub fn from_recovery_key(input: &str) -> Result<Self, RecoveryKeyError> {
        let mut key = [0u8; BackupKey::LEN];
        let mut digits = 0usize;
        for (position, character) in input.chars().enumerate() {
            if character.is_ascii_whitespace() || character == '-' {
                continue;
            }
            let Some(nibble) = character.to_digit(16) else {
                key.zeroize();
                return Err(RecoveryKeyError::InvalidCharacter { position });
            };
            if let Some(byte) = key.get_mut(digits / 2) {
                // A nibble is below 16, so the cast is exact.
                *byte = (*byte << 4) | nibble as u8;
            }
            digits += 1;
        }
        if digits != RECOVERY_KEY_DIGITS {
            key.zeroize();
            return Err(RecoveryKeyError::WrongLength { digits });
        }
        let parsed = Self::from_bytes(key);
        key.zeroize();
        Ok(parsed)
    }
}
