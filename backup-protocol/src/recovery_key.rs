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

/// The separators a parser skips (SPEC §9): the five ASCII whitespace bytes of WHATWG's Infra standard and of
/// Rust's `u8::is_ascii_whitespace` (tab 0x09, line feed 0x0A, form feed 0x0C, carriage return 0x0D, space 0x20),
/// and `-` (0x2D). Not vertical tab 0x0B (which C's `isspace`, Python's `str.isspace` and JavaScript's `\s` also
/// accept) and no non-ASCII space.
const SEPARATORS: [u8; 6] = [0x09, 0x0a, 0x0c, 0x0d, 0x20, b'-'];

impl BackupKey {
    /// Parses a recovery key: exactly 64 hexadecimal digits in either case; ASCII whitespace (tab 0x09, line feed
    /// 0x0A, form feed 0x0C, carriage return 0x0D, space 0x20; not vertical tab 0x0B, no non-ASCII space) and `-`
    /// may appear anywhere and are ignored.
    ///
    /// The input is read byte by byte (its UTF-8 encoding). The first byte that is neither a digit nor a separator
    /// is refused with [`RecoveryKeyError::InvalidCharacter`], whose `position` is that byte's zero-based offset:
    /// every byte before it is ASCII, so the offset is also the character's index counted in Unicode scalar values
    /// or in UTF-16 code units. Only an input with no such byte can be refused with
    /// [`RecoveryKeyError::WrongLength`]. Errors never carry the digits.
    pub fn from_recovery_key(input: &str) -> Result<Self, RecoveryKeyError> {
        let mut key = [0u8; BackupKey::LEN];
        let mut digits = 0usize;
        for (position, &byte) in input.as_bytes().iter().enumerate() {
            if SEPARATORS.contains(&byte) {
                continue;
            }
            let nibble = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'f' => byte - b'a' + 10,
                b'A'..=b'F' => byte - b'A' + 10,
                _ => {
                    key.zeroize();
                    return Err(RecoveryKeyError::InvalidCharacter { position });
                }
            };
            if let Some(slot) = key.get_mut(digits / 2) {
                *slot = (*slot << 4) | nibble;
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
