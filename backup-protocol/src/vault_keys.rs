//! The vault's long-term keys and the public pins a client checks them against.

use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use opaque_ke::ServerSetup;
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::codec::{self, Reader};
use crate::error::{DecodeError, Error, decode};
use crate::key::UserId;
use crate::labels::FAKE_CHALLENGE_INFO;
use crate::labels::type_code;
use crate::suite::Suite;
use crate::wrap::CHALLENGE_LEN;

mod strict;
use hkdf::Hkdf;
use sha2::Sha256;

/// Length of a serialized OPAQUE `ServerSetup`: OPRF seed (64), server private key (32) and the public key of the
/// fake records used for unknown users (32). The server public key is recomputed from the private key.
const SERVER_SETUP_LEN: usize = 128;

/// Length of the OPRF seed, the first field of a serialized `ServerSetup`.
const OPRF_SEED_LEN: usize = 64;

/// Length of an OPAQUE (ristretto255) public key.
pub const OPAQUE_PUBLIC_KEY_LEN: usize = 32;

/// The vault fleet's secret keys: the OPAQUE server setup (OPRF seed and static key pair) and the Ed25519 key that
/// signs every response. A deployment loads them once; every replica holds the same value.
///
/// `Debug` prints only the public halves.
///
/// ```
/// use backup_protocol::VaultKeys;
/// let keys = VaultKeys::generate(&mut backup_protocol::rand_core::OsRng);
/// let file = keys.to_bytes();
/// let loaded = VaultKeys::from_bytes(&file)?;
/// assert_eq!(loaded.pins(), keys.pins());
/// # Ok::<(), backup_protocol::Error>(())
/// ```
#[derive(Clone)]
pub struct VaultKeys {
    server_setup: ServerSetup<Suite>,
    signing_key: SigningKey,
}

impl VaultKeys {
    /// Makes fresh keys.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self {
            server_setup: ServerSetup::new(rng),
            signing_key: SigningKey::from_bytes(&seed),
        }
    }

    /// The public values a client pins (normally delivered in a signed fleet bundle).
    pub fn pins(&self) -> VaultPins {
        VaultPins {
            fleet_key: self.signing_key.verifying_key(),
            opaque_server_key: self.opaque_public_key(),
        }
    }

    /// Encodes the keys, OPRF seed included (a setup restored without it would answer every login wrongly):
    /// `version || 0x31 || ServerSetup (128) || Ed25519 seed (32)`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(codec::header(type_code::VAULT_KEYS, SERVER_SETUP_LEN + 32));
        out.extend_from_slice(&Zeroizing::new(self.server_setup.serialize()));
        out.extend_from_slice(self.signing_key.as_bytes());
        out
    }

    /// Decodes keys written by [`VaultKeys::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::read(bytes).map_err(decode("vault keys"))
    }

    fn read(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::header(bytes, type_code::VAULT_KEYS)?;
        let server_setup = ServerSetup::<Suite>::deserialize(reader.take(SERVER_SETUP_LEN)?)
            .map_err(|_| DecodeError::InvalidField("OPAQUE server setup"))?;
        let seed = Zeroizing::new(reader.array::<32>()?);
        reader.finish()?;
        Ok(Self {
            server_setup,
            signing_key: SigningKey::from_bytes(&seed),
        })
    }

    pub(crate) fn server_setup(&self) -> &ServerSetup<Suite> {
        &self.server_setup
    }

    /// The stand-in registration challenge of a user with no record: HKDF-SHA256 of the OPAQUE OPRF seed with
    /// [`FAKE_CHALLENGE_INFO`] || user id. Stable per user, so the fake OPRF key of an unknown user never changes
    /// between requests (a changing one would reveal that the user is unknown), and unrelated to any real record.
    ///
    /// Derived from the OPRF seed, the secret the real records' OPRF keys come from, and from nothing else: rotating
    /// the OPRF seed changes every user's evaluation, real or not, and rotating the response-signing key changes
    /// none, so no rotation sorts users into registered and unknown.
    pub(crate) fn fake_challenge(&self, user_id: &UserId) -> [u8; CHALLENGE_LEN] {
        let setup = Zeroizing::new(self.server_setup.serialize());
        let oprf_seed = &setup[..OPRF_SEED_LEN];
        let mut challenge = [0u8; CHALLENGE_LEN];
        Hkdf::<Sha256>::new(None, oprf_seed)
            .expand_multi_info(&[FAKE_CHALLENGE_INFO, user_id.as_bytes()], &mut challenge)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        challenge
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing_key.sign(message)
    }

    fn opaque_public_key(&self) -> [u8; OPAQUE_PUBLIC_KEY_LEN] {
        let mut key = [0u8; OPAQUE_PUBLIC_KEY_LEN];
        key.copy_from_slice(&self.server_setup.keypair().public().serialize());
        key
    }
}

impl fmt::Debug for VaultKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultKeys")
            .field("pins", &self.pins())
            .finish_non_exhaustive()
    }
}

/// What a client trusts about the vault: the fleet's Ed25519 response-signing key and the OPAQUE server public key.
///
/// ```
/// use backup_protocol::{VaultKeys, VaultPins};
/// let pins = VaultKeys::generate(&mut backup_protocol::rand_core::OsRng).pins();
/// let again = VaultPins::new(pins.fleet_key().to_bytes(), *pins.opaque_server_key())?;
/// assert_eq!(again, pins);
/// // The identity point is a weak key: signatures under it are forgeable.
/// let mut identity = [0u8; 32];
/// identity[0] = 1;
/// assert!(VaultPins::new(identity, *pins.opaque_server_key()).is_err());
/// # Ok::<(), backup_protocol::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VaultPins {
    fleet_key: VerifyingKey,
    opaque_server_key: [u8; OPAQUE_PUBLIC_KEY_LEN],
}

impl VaultPins {
    /// Builds pins from raw keys. The Ed25519 key must pass the workspace's one key rule (SPEC §1, `strict.rs`):
    /// the canonical encoding of a curve point that is not of small order; a non-canonical encoding (`y >= p`, or
    /// the sign bit on `x = 0`), a small-order point and a `y` off the curve are each [`Error::WeakPinnedKey`].
    pub fn new(fleet_key: [u8; 32], opaque_server_key: [u8; OPAQUE_PUBLIC_KEY_LEN]) -> Result<Self, Error> {
        let fleet_key = strict::strict_verifying_key(&fleet_key).map_err(|_| Error::WeakPinnedKey)?;
        Ok(Self {
            fleet_key,
            opaque_server_key,
        })
    }

    /// The fleet's response-signing key.
    pub fn fleet_key(&self) -> &VerifyingKey {
        &self.fleet_key
    }

    /// The OPAQUE server public key.
    pub fn opaque_server_key(&self) -> &[u8; OPAQUE_PUBLIC_KEY_LEN] {
        &self.opaque_server_key
    }

    /// Strict Ed25519 verification (canonical encodings, no small-order components) under the fleet key.
    /// S is checked here too: ed25519-dalek accepts an unreduced S (S >= l, a second encoding of the same
    /// signature) when any crate in the build enables its `legacy_compatibility` feature, as akd_core does.
    pub(crate) fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        if strict::verify(&self.fleet_key, message, &signature.to_bytes()) {
            Ok(())
        } else {
            Err(Error::BadVaultSignature)
        }
    }

    pub(crate) fn check_opaque_server_key(&self, key: &[u8]) -> Result<(), Error> {
        if bool::from(self.opaque_server_key.as_slice().ct_eq(key)) {
            Ok(())
        } else {
            Err(Error::UnpinnedServerKey)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strict::p_plus;
    use super::*;

    /// Known answer from test-vectors/vectors/vault_messages.json, UnknownUser tcId 46 ("another unknown user
    /// (one-byte id)"), whose `fakeChallenge` (HKDF-SHA256 of the key file's OPRF seed) and `fleetKey` (the Ed25519
    /// public key of the key file's seed) test-vectors/python/check_vectors.py recomputes with the `cryptography`
    /// package, and whose `opaqueServerKey` it checks against the fake KE2.
    #[test]
    fn fake_challenge_and_pins_match_vault_messages_vector_46() {
        let file = hex::decode(
            "01317b5dd389a4a6e72368a4f161a039616d44045a74946338730e4a21330074\
             3fbe9b9ee9e3f56108f527447fddf2a2abb52f63084dc46a7cd9cfafd9815c73\
             6a7d8e30424cc2309e77473c2a37f4ee3775c3ebdc765df60a8d23a87e690cab\
             080e64b3ea2d409fb39f9f8a38baafe0d6a2bc032d778f3a5f7d1716fe658e63\
             fd11a7796b68cd74639109658b0f31f6750be06ff5707bda6c9f5e4840d92b92\
             3394",
        )
        .unwrap();
        let keys = VaultKeys::from_bytes(&file).unwrap();
        let encoded = keys.to_bytes();
        assert_eq!(encoded.as_slice(), file.as_slice());
        // Allocated at its final size: a buffer that grows leaves a copy of the OPRF seed and signing key in the
        // freed allocation, which `Zeroizing` never clears.
        assert_eq!(encoded.capacity(), encoded.len());
        let user = UserId::new(alloc::vec![0x7a]).unwrap();
        assert_eq!(
            hex::encode(keys.fake_challenge(&user)),
            "3a9a9bcb432a48ca0108a9c6ef00fff7d42d0e2fb536428de493f690ba0bf06c"
        );
        assert_eq!(
            hex::encode(keys.pins().fleet_key().to_bytes()),
            "1ef9181f325981ce9edba6349ca2de5d7686401babb4314750c43ca93607e491"
        );
        // `opaqueServerKey`: the key the Python consumer finds inside the vector's fake KE2 once unmasked.
        assert_eq!(
            hex::encode(keys.pins().opaque_server_key()),
            "aa683d5836fe9c382b3fe6ef745fbfe93afc91716eb46e6785a9b2bad59aca55"
        );
    }

    #[test]
    fn pinned_fleet_key_follows_the_one_key_rule() {
        let opaque = [7; OPAQUE_PUBLIC_KEY_LEN];
        // y = p and y = p + 1 with either sign bit: ed25519-dalek decodes them, the rule refuses them.
        for k in [0, 1] {
            for sign in [0, 0x80] {
                assert!(VerifyingKey::from_bytes(&p_plus(k, sign)).is_ok());
                assert_eq!(VaultPins::new(p_plus(k, sign), opaque), Err(Error::WeakPinnedKey));
            }
        }
        // A non-canonical encoding of a large-order point (y = p + k, k small, on the curve).
        let large = (2..19)
            .map(|k| p_plus(k, 0))
            .find(|bytes| VerifyingKey::from_bytes(bytes).is_ok_and(|key| !key.is_weak()))
            .expect("some y in 2..19 is on the curve");
        assert_eq!(VaultPins::new(large, opaque), Err(Error::WeakPinnedKey));
        // Small order (the identity) and off the curve (y = 2).
        let mut identity = [0; 32];
        identity[0] = 1;
        assert_eq!(VaultPins::new(identity, opaque), Err(Error::WeakPinnedKey));
        let mut not_a_point = [0; 32];
        not_a_point[0] = 2;
        assert_eq!(VaultPins::new(not_a_point, opaque), Err(Error::WeakPinnedKey));
        // A strong key is accepted and keeps its bytes.
        let strong = SigningKey::from_bytes(&[5; 32]).verifying_key().to_bytes();
        assert_eq!(
            VaultPins::new(strong, opaque).map(|pins| pins.fleet_key().to_bytes()),
            Ok(strong)
        );
    }

    #[test]
    fn unreduced_s_is_a_bad_signature() {
        let keys = SigningKey::from_bytes(&[5; 32]);
        let pins = VaultPins::new(keys.verifying_key().to_bytes(), [7; OPAQUE_PUBLIC_KEY_LEN]).expect("strong key");
        let signature = keys.sign(b"m");
        assert_eq!(pins.verify(b"m", &signature), Ok(()));
        // S + l: the same point equation, a second encoding.
        let mut bytes = signature.to_bytes();
        // l, little-endian: 2^252 + 27742317777372353535851937790883648493.
        let mut order = [0u8; 32];
        order[..16].copy_from_slice(&27_742_317_777_372_353_535_851_937_790_883_648_493u128.to_le_bytes());
        order[31] = 0x10;
        let mut carry = 0u16;
        for (s, l) in bytes[32..].iter_mut().zip(order) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum.to_le_bytes()[0];
            carry = sum >> 8;
        }
        assert_eq!(
            pins.verify(b"m", &Signature::from_bytes(&bytes)),
            Err(Error::BadVaultSignature)
        );
    }
}
