//! The fleet's secret keys, loaded once per deployment.

use core::fmt;
use std::vec::Vec;

use backup_protocol::codec::{self, Reader};
use backup_protocol::{DecodeError, VaultKeys, VaultPins};
#[cfg(feature = "ipls")]
use ipls::IplsVaultKey;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::records::{put_u16_vec, u16_vec};

const FLEET_KEYS_TYPE: u8 = 0x64;

/// Every secret key the vault fleet holds: the backup protocol's OPAQUE server setup and response-signing key
/// ([`VaultKeys`]) and the X25519 key of IPLS escrow sessions (`ipls::IplsVaultKey`). Every replica of every
/// island loads the same value; the fleet bundle publishes the public halves. The key file has the same format
/// with or without the `ipls` feature: a backup-only build keeps the IPLS secret as bytes, unused.
///
/// `Debug` prints only public keys.
///
/// ```
/// use vault_core::FleetKeys;
/// let keys = FleetKeys::generate(&mut vault_core::rand_core::OsRng);
/// let loaded = FleetKeys::from_bytes(&keys.to_bytes()).unwrap();
/// assert_eq!(loaded.backup().pins(), keys.backup().pins());
/// # #[cfg(feature = "ipls")]
/// assert_eq!(loaded.ipls().public_key(), keys.ipls().public_key());
/// ```
#[derive(Clone)]
pub struct FleetKeys {
    backup: VaultKeys,
    ipls: IplsKey,
}

/// The IPLS escrow key, ready to use.
#[cfg(feature = "ipls")]
type IplsKey = IplsVaultKey;

/// The IPLS escrow key's 32 secret bytes, kept so that a backup-only build reads and writes the same key file.
#[cfg(not(feature = "ipls"))]
#[derive(Clone)]
struct IplsKey(Zeroizing<[u8; 32]>);

#[cfg(not(feature = "ipls"))]
impl IplsKey {
    /// Draws 32 bytes, as `IplsVaultKey::generate` does.
    fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        Self(secret)
    }

    fn from_bytes(secret: &[u8; 32]) -> Self {
        Self(Zeroizing::new(*secret))
    }

    fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }
}

#[cfg(not(feature = "ipls"))]
impl fmt::Debug for IplsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IplsKey").finish_non_exhaustive()
    }
}

impl FleetKeys {
    /// Makes fresh keys.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        Self {
            backup: VaultKeys::generate(rng),
            ipls: IplsKey::generate(rng),
        }
    }

    /// Wraps existing keys.
    #[cfg(feature = "ipls")]
    pub fn new(backup: VaultKeys, ipls: IplsVaultKey) -> Self {
        Self { backup, ipls }
    }

    /// Wraps existing keys, the IPLS escrow key given by its 32 secret bytes (in every build).
    pub fn from_parts(backup: VaultKeys, ipls_secret: &[u8; 32]) -> Self {
        Self {
            backup,
            ipls: IplsKey::from_bytes(ipls_secret),
        }
    }

    /// The IPLS escrow key.
    #[cfg(feature = "ipls")]
    pub fn ipls(&self) -> &IplsVaultKey {
        &self.ipls
    }

    /// The backup protocol's keys.
    pub fn backup(&self) -> &VaultKeys {
        &self.backup
    }

    /// What clients pin for the backup protocol.
    pub fn backup_pins(&self) -> VaultPins {
        self.backup.pins()
    }

    /// Encodes the key file: `version || 0x64 || u16be(len) || VaultKeys || IPLS X25519 secret (32)`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let backup = self.backup.to_bytes();
        let mut out = Zeroizing::new(codec::header(FLEET_KEYS_TYPE, 2 + backup.len() + 32));
        put_u16_vec(&mut out, &backup);
        out.extend_from_slice(self.ipls.to_bytes().as_ref());
        out
    }

    /// Decodes a key file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, FLEET_KEYS_TYPE)?;
        let backup = VaultKeys::from_bytes(u16_vec(&mut reader)?)
            .map_err(|_| DecodeError::InvalidField("backup-protocol vault keys"))?;
        let ipls = IplsKey::from_bytes(&Zeroizing::new(reader.array()?));
        reader.finish()?;
        Ok(Self { backup, ipls })
    }
}

impl fmt::Debug for FleetKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetKeys")
            .field("backup", &self.backup)
            .field("ipls", &self.ipls)
            .finish()
    }
}
