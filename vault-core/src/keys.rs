//! The fleet's secret keys, loaded once per deployment.

use core::fmt;
use std::vec::Vec;

use backup_protocol::codec::{self, Reader};
use backup_protocol::{DecodeError, VaultKeys, VaultPins};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::records::{put_u16_vec, u16_vec};

const FLEET_KEYS_TYPE: u8 = 0x64;

/// Every secret key the vault fleet holds: today the backup protocol's OPAQUE server setup and response-signing
/// key ([`VaultKeys`]). Every replica of every island loads the same value.
///
/// `Debug` prints only public keys.
///
/// ```
/// use vault_core::FleetKeys;
/// let keys = FleetKeys::generate(&mut rand::rngs::OsRng);
/// let loaded = FleetKeys::from_bytes(&keys.to_bytes()).unwrap();
/// assert_eq!(loaded.backup().pins(), keys.backup().pins());
/// ```
#[derive(Clone)]
pub struct FleetKeys {
    backup: VaultKeys,
}

impl FleetKeys {
    /// Makes fresh keys.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        Self {
            backup: VaultKeys::generate(rng),
        }
    }

    /// Wraps existing backup-protocol keys.
    pub fn from_backup_keys(backup: VaultKeys) -> Self {
        Self { backup }
    }

    /// The backup protocol's keys.
    pub fn backup(&self) -> &VaultKeys {
        &self.backup
    }

    /// What clients pin for the backup protocol.
    pub fn backup_pins(&self) -> VaultPins {
        self.backup.pins()
    }

    /// Encodes the key file: `version || 0x64 || u16be(len) || VaultKeys`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let backup = self.backup.to_bytes();
        let mut out = Zeroizing::new(codec::header(FLEET_KEYS_TYPE, 2 + backup.len()));
        put_u16_vec(&mut out, &backup);
        out
    }

    /// Decodes a key file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, FLEET_KEYS_TYPE)?;
        let backup = VaultKeys::from_bytes(u16_vec(&mut reader)?)
            .map_err(|_| DecodeError::InvalidField("backup-protocol vault keys"))?;
        reader.finish()?;
        Ok(Self { backup })
    }
}

impl fmt::Debug for FleetKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetKeys").field("backup", &self.backup).finish()
    }
}
