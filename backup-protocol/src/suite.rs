//! The OPAQUE configuration: ciphersuite, key-stretching parameters and the identifiers every exchange uses.

use opaque_ke::argon2::{Algorithm, Argon2, Params, Version};
use opaque_ke::{CipherSuite, Identifiers, Ristretto255, TripleDh};

use crate::codec::Reader;
use crate::error::{DecodeError, Error};
use crate::labels::OPAQUE_CONTEXT;
use crate::messages::LoginPurpose;
use alloc::vec::Vec;

/// The OPAQUE ciphersuite: OPRF over ristretto255 with SHA-512, 3DH over ristretto255 with SHA-512, and Argon2id
/// as the key-stretching function (its parameters travel in [`KsfParams`], not in the type).
#[derive(Debug, Clone, Copy)]
pub struct Suite;

impl CipherSuite for Suite {
    type OprfCs = Ristretto255;
    type KeyExchange = TripleDh<Ristretto255, sha2::Sha512>;
    type Ksf = Argon2<'static>;
}

/// Argon2id parameters (version 0x13). They are chosen by the client at registration, stored in the vault's
/// record and returned at every login, so that a new device learns them.
///
/// ```
/// use backup_protocol::KsfParams;
/// let params = KsfParams::new(19_456, 2, 1)?;
/// assert_eq!(params, KsfParams::RECOMMENDED);
/// # Ok::<(), backup_protocol::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KsfParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// Length of an encoded [`KsfParams`]: three big-endian `u32`.
pub(crate) const KSF_PARAMS_LEN: usize = 12;

impl KsfParams {
    /// OWASP's recommended Argon2id configuration: 19 MiB of memory, 2 iterations, 1 lane.
    pub const RECOMMENDED: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest valid Argon2id configuration (8 KiB, 1 iteration, 1 lane). Offers no protection against
    /// offline guessing: for tests and benchmarks only.
    pub const INSECURE_FAST: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    /// Checks that the triple is a valid Argon2id configuration.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, Error> {
        // argon2 0.5.3 computes `8 * parallelism` before range-checking it, which overflows (a panic in debug
        // builds) for parallelism >= 2^29: check the range first so that parsing stays total.
        if !(Params::MIN_P_COST..=Params::MAX_P_COST).contains(&parallelism) {
            return Err(Error::InvalidKsfParams);
        }
        Params::new(memory_kib, iterations, parallelism, None).map_err(|_| Error::InvalidKsfParams)?;
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Number of lanes.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// The Argon2id instance OPAQUE runs. The fields were validated by [`KsfParams::new`], the only constructor.
    pub(crate) fn argon2(&self) -> Result<Argon2<'static>, Error> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|_| Error::InvalidKsfParams)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    pub(crate) fn to_bytes(self) -> [u8; KSF_PARAMS_LEN] {
        let mut out = [0u8; KSF_PARAMS_LEN];
        out[..4].copy_from_slice(&self.memory_kib.to_be_bytes());
        out[4..8].copy_from_slice(&self.iterations.to_be_bytes());
        out[8..].copy_from_slice(&self.parallelism.to_be_bytes());
        out
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (memory_kib, iterations, parallelism) = (reader.u32()?, reader.u32()?, reader.u32()?);
        Self::new(memory_kib, iterations, parallelism).map_err(|_| DecodeError::InvalidField("Argon2id parameters"))
    }
}

/// The range of Argon2id parameters a party accepts from its peer: the floor stops a downgrade to cheap
/// guessing, the ceiling stops a peer from making the other side allocate or compute without bound.
///
/// ```
/// use backup_protocol::{KsfParams, KsfPolicy};
/// assert!(KsfPolicy::RECOMMENDED.accepts(&KsfParams::RECOMMENDED));
/// assert!(!KsfPolicy::RECOMMENDED.accepts(&KsfParams::INSECURE_FAST));
/// assert!(KsfPolicy::INSECURE_TESTING.accepts(&KsfParams::INSECURE_FAST));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KsfPolicy {
    /// Smallest accepted value of each parameter.
    pub min: KsfParams,
    /// Largest accepted value of each parameter.
    pub max: KsfParams,
}

/// 1 GiB, 16 passes, 4 lanes: above any configuration a phone should be asked to run.
const KSF_CEILING: KsfParams = KsfParams {
    memory_kib: 1 << 20,
    iterations: 16,
    parallelism: 4,
};

impl KsfPolicy {
    /// Accepts [`KsfParams::RECOMMENDED`] and anything stronger up to 1 GiB, 16 passes, 4 lanes.
    pub const RECOMMENDED: Self = Self {
        min: KsfParams::RECOMMENDED,
        max: KSF_CEILING,
    };

    /// Also accepts [`KsfParams::INSECURE_FAST`]: for tests and benchmarks only.
    pub const INSECURE_TESTING: Self = Self {
        min: KsfParams::INSECURE_FAST,
        max: KSF_CEILING,
    };

    /// Whether every parameter lies within `[min, max]`.
    pub fn accepts(&self, params: &KsfParams) -> bool {
        let within = |value: u32, low: u32, high: u32| (low..=high).contains(&value);
        within(params.memory_kib, self.min.memory_kib, self.max.memory_kib)
            && within(params.iterations, self.min.iterations, self.max.iterations)
            && within(params.parallelism, self.min.parallelism, self.max.parallelism)
    }

    pub(crate) fn check(&self, params: &KsfParams) -> Result<(), Error> {
        if self.accepts(params) {
            Ok(())
        } else {
            Err(Error::KsfParamsRejected)
        }
    }
}

/// OPAQUE context of a login: [`crate::labels::OPAQUE_CONTEXT`] || purpose code. Both sides must use the same
/// purpose, so a purpose changed in transit fails the key exchange.
pub(crate) fn login_context(purpose: LoginPurpose) -> Vec<u8> {
    let mut context = OPAQUE_CONTEXT.to_vec();
    context.push(purpose.code());
    context
}

/// OPAQUE identifiers: the client identity is the user id (so an envelope only opens for the account it was made
/// for); the server identity is left to its default, the server's public key, which clients pin. The same value
/// must be used at registration, client login and server login, hence this one function.
pub(crate) fn identifiers(user_id: &[u8]) -> Identifiers<'_> {
    Identifiers {
        client: Some(user_id),
        server: None,
    }
}
