//! Witness signatures over epoch roots in Cloudflare Plexi's format.
//!
//! A witness (auditor) signs, per namespace and epoch, the message
//! `SignatureMessage { ciphersuite, namespace, timestamp (ms), epoch, digest }` with Ed25519. Two encodings of the
//! message exist (plexi_core `SignatureMessage::to_vec`):
//!
//! * ciphersuite 1 (`0x0001`, protobuf): fields 1 `uint32 ciphersuite`, 2 `string namespace`,
//!   3 `uint64 timestamp`, 4 `Epoch { uint64 inner = 1 }`, 5 `bytes digest`, all present, in this order;
//! * ciphersuite 2 (`0x0002`, bincode "legacy" configuration): `u32` ciphersuite, `u64` length + namespace bytes,
//!   `u64` timestamp, `u64` epoch, `u64` length + digest bytes, every integer little-endian and fixed width.
//!
//! The signature is checked with `verify_strict` (no small-order keys or `R`, canonical `S`). The key is chosen by
//! key id, the last byte of the Ed25519 public key (plexi_core `crypto.rs`), and must be valid at the signed
//! timestamp (`not_before`). The signed timestamp must be fresh relative to the caller's clock.

use core::fmt;

use ed25519_dalek::VerifyingKey;

use crate::error::{DecodeError, WitnessError};
use crate::proto;
use crate::strict::{self, KeyRejection};

/// An AKD epoch root hash (the digest a witness signs).
pub type Digest = [u8; 32];

/// A witness signature scheme, as numbered by Plexi.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ciphersuite {
    /// `0x0001`: Ed25519 over the protobuf encoding of the signature message.
    ProtobufEd25519,
    /// `0x0002`: Ed25519 over the bincode (legacy configuration) encoding of the signature message.
    BincodeEd25519,
}

impl Ciphersuite {
    /// The number Plexi writes on the wire.
    pub fn id(self) -> u32 {
        match self {
            Self::ProtobufEd25519 => 1,
            Self::BincodeEd25519 => 2,
        }
    }

    /// Parses Plexi's number.
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::{Ciphersuite, WitnessError};
    ///
    /// assert_eq!(Ciphersuite::from_id(1), Ok(Ciphersuite::ProtobufEd25519));
    /// assert_eq!(Ciphersuite::from_id(7), Err(WitnessError::UnknownCiphersuite { id: 7 }));
    /// ```
    pub fn from_id(id: u32) -> Result<Self, WitnessError> {
        match id {
            1 => Ok(Self::ProtobufEd25519),
            2 => Ok(Self::BincodeEd25519),
            _ => Err(WitnessError::UnknownCiphersuite { id }),
        }
    }
}

/// An epoch root with a witness signature, as received; nothing about it is checked yet.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRoot {
    ciphersuite: Ciphersuite,
    namespace: String,
    timestamp_ms: u64,
    epoch: u64,
    digest: Digest,
    signature: [u8; 64],
    key_id: u8,
}

impl SignedRoot {
    /// Assembles a signed root from its parts (for example from Plexi's JSON API).
    pub fn new(
        ciphersuite: Ciphersuite,
        namespace: impl Into<String>,
        timestamp_ms: u64,
        epoch: u64,
        digest: Digest,
        signature: [u8; 64],
        key_id: u8,
    ) -> Self {
        Self {
            ciphersuite,
            namespace: namespace.into(),
            timestamp_ms,
            epoch,
            digest,
            signature,
            key_id,
        }
    }

    /// The exact bytes the witness signed, in the encoding of the ciphersuite.
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::{Ciphersuite, SignedRoot};
    ///
    /// let root = SignedRoot::new(Ciphersuite::ProtobufEd25519, "ns", 5, 1, [0x11; 32], [0; 64], 0);
    /// let message = root.signed_message();
    /// assert_eq!(&message[..6], &[0x08, 0x01, 0x12, 0x02, b'n', b's']);
    /// ```
    pub fn signed_message(&self) -> Vec<u8> {
        signature_message(
            self.ciphersuite,
            &self.namespace,
            self.timestamp_ms,
            self.epoch,
            &self.digest,
        )
    }

    /// Encodes Plexi's `SignatureResponse { message = 1; signature = 2; key_id = 3 }` protobuf.
    pub fn to_protobuf(&self) -> Vec<u8> {
        let message = protobuf_message(
            self.ciphersuite.id(),
            &self.namespace,
            self.timestamp_ms,
            self.epoch,
            &self.digest,
        );
        let mut out = Vec::with_capacity(message.len() + 72);
        proto::put_bytes_field(&mut out, 1, &message);
        proto::put_bytes_field(&mut out, 2, &self.signature);
        proto::put_varint_field(&mut out, 3, u64::from(self.key_id));
        out
    }

    /// Decodes what [`to_protobuf`](Self::to_protobuf) writes. Only the canonical encoding is accepted: every field
    /// present, in order, minimal varints, a 32-byte digest, a 64-byte signature, a UTF-8 namespace, nothing else.
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::{Ciphersuite, SignedRoot};
    ///
    /// let root = SignedRoot::new(Ciphersuite::BincodeEd25519, "ns", 5, 1, [0x11; 32], [0; 64], 9);
    /// assert_eq!(SignedRoot::from_protobuf(&root.to_protobuf()), Ok(root));
    /// assert!(SignedRoot::from_protobuf(&[0x0a]).is_err());
    /// ```
    pub fn from_protobuf(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = proto::Reader::new(bytes);
        let message = reader.expect_bytes(1)?;
        let signature = reader.expect_bytes(2)?;
        let key_id = reader.expect_varint(3)?;
        reader.finish()?;

        let mut fields = proto::Reader::new(message);
        let ciphersuite = u32::try_from(fields.expect_varint(1)?).map_err(|_| DecodeError::ValueOutOfRange)?;
        let ciphersuite = Ciphersuite::from_id(ciphersuite).map_err(|_| DecodeError::ValueOutOfRange)?;
        let namespace = core::str::from_utf8(fields.expect_bytes(2)?).map_err(|_| DecodeError::NotUtf8)?;
        let timestamp_ms = fields.expect_varint(3)?;
        let mut epoch_reader = proto::Reader::new(fields.expect_bytes(4)?);
        let epoch = epoch_reader.expect_varint(1)?;
        epoch_reader.finish()?;
        let digest = fields.expect_bytes(5)?;
        fields.finish()?;

        let root = Self {
            ciphersuite,
            namespace: namespace.to_owned(),
            timestamp_ms,
            epoch,
            digest: fixed(digest)?,
            signature: fixed(signature)?,
            key_id: u8::try_from(key_id).map_err(|_| DecodeError::ValueOutOfRange)?,
        };
        if root.to_protobuf() != bytes {
            return Err(DecodeError::NonCanonical);
        }
        Ok(root)
    }

    /// The signature scheme.
    pub fn ciphersuite(&self) -> Ciphersuite {
        self.ciphersuite
    }
    /// The log namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
    /// When the witness signed, in milliseconds since the Unix epoch.
    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }
    /// The AKD epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    /// The AKD root hash of that epoch.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
    /// The Ed25519 signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
    /// The key id the signer claims (last byte of its public key).
    pub fn key_id(&self) -> u8 {
        self.key_id
    }
}

impl fmt::Debug for SignedRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRoot")
            .field("ciphersuite", &self.ciphersuite)
            .field("namespace", &self.namespace)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("epoch", &self.epoch)
            .field("digest", &Hex(&self.digest))
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Lower-case hex for `Debug` output of public values.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError::BadLength {
        expected: N,
        found: bytes.len(),
    })
}

fn protobuf_message(ciphersuite: u32, namespace: &str, timestamp_ms: u64, epoch: u64, digest: &[u8]) -> Vec<u8> {
    let mut epoch_message = Vec::with_capacity(11);
    proto::put_varint_field(&mut epoch_message, 1, epoch);
    let mut out = Vec::with_capacity(namespace.len() + digest.len() + 32);
    proto::put_varint_field(&mut out, 1, u64::from(ciphersuite));
    proto::put_bytes_field(&mut out, 2, namespace.as_bytes());
    proto::put_varint_field(&mut out, 3, timestamp_ms);
    proto::put_bytes_field(&mut out, 4, &epoch_message);
    proto::put_bytes_field(&mut out, 5, digest);
    out
}

fn bincode_message(ciphersuite: u32, namespace: &str, timestamp_ms: u64, epoch: u64, digest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(namespace.len() + digest.len() + 36);
    out.extend_from_slice(&ciphersuite.to_le_bytes());
    out.extend_from_slice(&(namespace.len() as u64).to_le_bytes());
    out.extend_from_slice(namespace.as_bytes());
    out.extend_from_slice(&timestamp_ms.to_le_bytes());
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(&(digest.len() as u64).to_le_bytes());
    out.extend_from_slice(digest);
    out
}

/// The bytes a Plexi witness signs for `(namespace, timestamp_ms, epoch, digest)` under `ciphersuite`.
fn signature_message(
    ciphersuite: Ciphersuite,
    namespace: &str,
    timestamp_ms: u64,
    epoch: u64,
    digest: &[u8],
) -> Vec<u8> {
    match ciphersuite {
        Ciphersuite::ProtobufEd25519 => protobuf_message(ciphersuite.id(), namespace, timestamp_ms, epoch, digest),
        Ciphersuite::BincodeEd25519 => bincode_message(ciphersuite.id(), namespace, timestamp_ms, epoch, digest),
    }
}

/// A witness public key and the time from which signatures under it are accepted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WitnessKey {
    key: VerifyingKey,
    not_before_ms: u64,
}

impl WitnessKey {
    /// Accepts a 32-byte Ed25519 public key under the workspace's one key rule (SPEC §1.4): the canonical encoding
    /// of a curve point that is not of small order. Checked in this order: canonical encoding
    /// ([`WitnessError::NonCanonicalKey`]), not of small order ([`WitnessError::WeakKey`]), a curve point
    /// ([`WitnessError::InvalidKey`]). Keys are checked here, before any signed root is seen, so a bad key is
    /// reported the same whatever root it would have been used for.
    ///
    /// # Example
    ///
    /// ```
    /// use kt_verify::{WitnessError, WitnessKey};
    ///
    /// // Plexi's test-vector key; its key id is its last byte.
    /// let key = hex_key("606a878700158d92b3a14a0fd37ec82e0f05f92fcf23146abfda2e3a2f10a9bc");
    /// assert_eq!(WitnessKey::new(key, 0)?.key_id(), 0xbc);
    /// // The identity point has small order.
    /// let mut identity = [0; 32];
    /// identity[0] = 1;
    /// assert_eq!(WitnessKey::new(identity, 0), Err(WitnessError::WeakKey));
    /// # fn hex_key(s: &str) -> [u8; 32] {
    /// #     let mut out = [0; 32];
    /// #     for (i, b) in out.iter_mut().enumerate() { *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap(); }
    /// #     out
    /// # }
    /// # Ok::<(), WitnessError>(())
    /// ```
    pub fn new(public_key: [u8; 32], not_before_ms: u64) -> Result<Self, WitnessError> {
        let key = strict::strict_verifying_key(&public_key).map_err(|rejection| match rejection {
            KeyRejection::NonCanonicalEncoding => WitnessError::NonCanonicalKey,
            KeyRejection::SmallOrder => WitnessError::WeakKey,
            KeyRejection::NotAPoint => WitnessError::InvalidKey,
        })?;
        Ok(Self { key, not_before_ms })
    }

    /// Plexi's key id: the last byte of the public key.
    pub fn key_id(&self) -> u8 {
        self.key.as_bytes()[31]
    }

    /// The public key bytes.
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Signatures with an earlier timestamp are rejected.
    pub fn not_before_ms(&self) -> u64 {
        self.not_before_ms
    }
}

impl fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WitnessKey")
            .field("public_key", &Hex(self.key.as_bytes()))
            .field("not_before_ms", &self.not_before_ms)
            .finish()
    }
}

/// How recent a witness signature must be, relative to the caller's clock, for [`WitnessVerifier::verify`] to
/// accept it.
///
/// The default is [`Freshness::DEFAULT`]: within [`WitnessVerifier::DEFAULT_MAX_AGE_MS`] (24 hours). Freshness is
/// what stops a server from keeping a client on an old root (a stale but validly signed view of the directory,
/// for instance one from before a key change): after the maximum age, the client needs a newly signed root. A
/// day is long enough that a phone which fetched a root before going offline overnight, or a witness that signs
/// some time after an epoch is published, is not refused, and short enough to bound such a freeze to a day,
/// the same order as Certificate Transparency's 24-hour maximum merge delay. A caller who knows how often its
/// log's roots are witnessed should set a tighter bound with [`Freshness::Within`].
///
/// # Example
///
/// ```
/// use kt_verify::{Freshness, WitnessVerifier};
///
/// assert_eq!(Freshness::default(), Freshness::Within { max_age_ms: WitnessVerifier::DEFAULT_MAX_AGE_MS });
/// assert_eq!(WitnessVerifier::DEFAULT_MAX_AGE_MS, 24 * 60 * 60 * 1000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Freshness {
    /// The signing time may be at most `max_age_ms` before the caller's `now_ms`, and at most the verifier's
    /// skew ([`WitnessVerifier::with_max_skew_ms`]) after it.
    Within {
        /// The largest accepted `now_ms - timestamp_ms`, in milliseconds.
        max_age_ms: u64,
    },
    /// The signing time is not compared with the caller's clock at all: neither maximum age nor skew is checked,
    /// and the `now_ms` given to [`WitnessVerifier::verify`] is ignored. Namespace, key, `not_before` and
    /// signature are still checked.
    ///
    /// For roots whose freshness was established elsewhere or does not matter: re-checking a checkpoint the
    /// caller stored after accepting it (see [`Monitor`](crate::Monitor)), checking fork evidence or an archived
    /// root, or a caller without a trustworthy clock that bounds staleness by other means. A client that takes
    /// keys from a server on this setting can be kept on an old root indefinitely.
    Unchecked,
}

impl Freshness {
    /// Within [`WitnessVerifier::DEFAULT_MAX_AGE_MS`] (24 hours); see the type's documentation for why.
    pub const DEFAULT: Self = Self::Within {
        max_age_ms: WitnessVerifier::DEFAULT_MAX_AGE_MS,
    };
}

impl Default for Freshness {
    /// [`Freshness::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Verifies witness signatures for one namespace: key selection, validity period, freshness and signature.
#[derive(Clone, Debug)]
pub struct WitnessVerifier {
    namespace: String,
    keys: Vec<WitnessKey>,
    freshness: Freshness,
    max_skew_ms: u64,
}

impl WitnessVerifier {
    /// Default tolerance for a signature timestamp ahead of the caller's clock: one minute.
    pub const DEFAULT_MAX_SKEW_MS: u64 = 60_000;

    /// Default maximum age of a signature, in milliseconds: 24 hours (see [`Freshness`] for why).
    pub const DEFAULT_MAX_AGE_MS: u64 = 24 * 60 * 60 * 1000;

    /// A verifier for `namespace` trusting `keys`, with the default freshness ([`Freshness::DEFAULT`], 24 hours)
    /// and skew ([`DEFAULT_MAX_SKEW_MS`](Self::DEFAULT_MAX_SKEW_MS)); change them with
    /// [`with_freshness`](Self::with_freshness) and [`with_max_skew_ms`](Self::with_max_skew_ms).
    ///
    /// Key ids must be distinct, so that the key id in a signature selects exactly one key.
    ///
    /// # Example
    ///
    /// ```
    /// use ed25519_dalek::{Signer, SigningKey};
    /// use kt_verify::{Ciphersuite, Freshness, SignedRoot, WitnessError, WitnessKey, WitnessVerifier};
    ///
    /// let signer = SigningKey::from_bytes(&[7; 32]);
    /// let key = WitnessKey::new(signer.verifying_key().to_bytes(), 0)?;
    /// let verifier = WitnessVerifier::for_namespace("kt.example", [key])?;
    /// assert_eq!(verifier.freshness(), Freshness::DEFAULT);
    ///
    /// let (suite, signed_at) = (Ciphersuite::ProtobufEd25519, 1_717_084_639_921);
    /// let unsigned = SignedRoot::new(suite, "kt.example", signed_at, 42, [9; 32], [0; 64], key.key_id());
    /// let signature = signer.sign(&unsigned.signed_message()).to_bytes();
    /// let signed = SignedRoot::new(suite, "kt.example", signed_at, 42, [9; 32], signature, key.key_id());
    ///
    /// // Two days later the signature is too old by default ...
    /// let two_days_later = signed_at + 2 * WitnessVerifier::DEFAULT_MAX_AGE_MS;
    /// assert!(matches!(verifier.verify(&signed, two_days_later), Err(WitnessError::Stale { .. })));
    /// // ... and accepted by a verifier that was told not to check freshness.
    /// let archive = verifier.with_freshness(Freshness::Unchecked);
    /// assert_eq!(archive.verify(&signed, two_days_later)?.epoch(), 42);
    /// # Ok::<(), WitnessError>(())
    /// ```
    pub fn for_namespace(
        namespace: impl Into<String>,
        keys: impl IntoIterator<Item = WitnessKey>,
    ) -> Result<Self, WitnessError> {
        let keys: Vec<WitnessKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(WitnessError::NoKeys);
        }
        for (index, key) in keys.iter().enumerate() {
            if keys[..index].iter().any(|other| other.key_id() == key.key_id()) {
                return Err(WitnessError::DuplicateKeyId { key_id: key.key_id() });
            }
        }
        Ok(Self {
            namespace: namespace.into(),
            keys,
            freshness: Freshness::DEFAULT,
            max_skew_ms: Self::DEFAULT_MAX_SKEW_MS,
        })
    }

    /// A verifier for `namespace` trusting `keys`, accepting signatures at most `max_age_ms` old: the same as
    /// [`for_namespace`](Self::for_namespace) followed by
    /// [`with_freshness`](Self::with_freshness)`(Freshness::Within { max_age_ms })`.
    ///
    /// Key ids must be distinct, so that the key id in a signature selects exactly one key.
    ///
    /// # Example
    ///
    /// ```
    /// use ed25519_dalek::{Signer, SigningKey};
    /// use kt_verify::{Ciphersuite, SignedRoot, WitnessKey, WitnessVerifier};
    ///
    /// let signer = SigningKey::from_bytes(&[7; 32]);
    /// let key = WitnessKey::new(signer.verifying_key().to_bytes(), 0)?;
    /// let verifier = WitnessVerifier::new("kt.example", [key], 3_600_000)?;
    ///
    /// let now_ms = 1_717_084_639_921;
    /// let unsigned = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt.example", now_ms, 42, [9; 32], [0; 64], key.key_id());
    /// let signature = signer.sign(&unsigned.signed_message()).to_bytes();
    /// let signed = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt.example", now_ms, 42, [9; 32], signature, key.key_id());
    ///
    /// let root = verifier.verify(&signed, now_ms + 1_000)?;
    /// assert_eq!((root.epoch(), *root.digest()), (42, [9; 32]));
    /// // An hour and a bit later the same signature is stale.
    /// assert!(verifier.verify(&signed, now_ms + 3_700_000).is_err());
    /// # Ok::<(), kt_verify::WitnessError>(())
    /// ```
    pub fn new(
        namespace: impl Into<String>,
        keys: impl IntoIterator<Item = WitnessKey>,
        max_age_ms: u64,
    ) -> Result<Self, WitnessError> {
        Ok(Self::for_namespace(namespace, keys)?.with_freshness(Freshness::Within { max_age_ms }))
    }

    /// Sets how recent a signature must be (see [`Freshness`]).
    #[must_use]
    pub fn with_freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }

    /// Sets how far a signature timestamp may be ahead of the caller's clock (checked only under
    /// [`Freshness::Within`]).
    #[must_use]
    pub fn with_max_skew_ms(mut self, max_skew_ms: u64) -> Self {
        self.max_skew_ms = max_skew_ms;
        self
    }

    /// How recent a signature must be.
    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    /// The namespace this verifier accepts.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Checks, in order: namespace, key id, the key's `not_before`, freshness against `now_ms` (milliseconds since
    /// the Unix epoch, from the caller's clock; skipped under [`Freshness::Unchecked`]), then the Ed25519
    /// signature (strict).
    pub fn verify(&self, root: &SignedRoot, now_ms: u64) -> Result<VerifiedRoot, WitnessError> {
        if root.namespace != self.namespace {
            return Err(WitnessError::WrongNamespace);
        }
        let key = self
            .keys
            .iter()
            .find(|key| key.key_id() == root.key_id)
            .ok_or(WitnessError::UnknownKeyId { key_id: root.key_id })?;
        if root.timestamp_ms < key.not_before_ms {
            return Err(WitnessError::KeyNotYetValid {
                timestamp_ms: root.timestamp_ms,
                not_before_ms: key.not_before_ms,
            });
        }
        match self.freshness {
            Freshness::Within { max_age_ms } => {
                if root.timestamp_ms > now_ms.saturating_add(self.max_skew_ms) {
                    return Err(WitnessError::FromTheFuture {
                        timestamp_ms: root.timestamp_ms,
                        now_ms,
                    });
                }
                if now_ms.saturating_sub(root.timestamp_ms) > max_age_ms {
                    return Err(WitnessError::Stale {
                        timestamp_ms: root.timestamp_ms,
                        now_ms,
                    });
                }
            }
            // The caller chose not to relate the signing time to its clock (a stored checkpoint, evidence).
            Freshness::Unchecked => {}
        }
        // `S < l`, then `verify_strict` (strict.rs): akd_core turns on ed25519-dalek's `legacy_compatibility`
        // feature, which (through feature unification) makes even `verify_strict` accept some unreduced `S`.
        if !strict::verify(&key.key, &root.signed_message(), &root.signature) {
            return Err(WitnessError::BadSignature);
        }
        Ok(VerifiedRoot { signed: root.clone() })
    }
}

/// An epoch root whose witness signature, key and freshness (as the verifier's [`Freshness`] says) were checked by a
/// [`WitnessVerifier`].
///
/// Only [`WitnessVerifier::verify`] makes one, so holding a `VerifiedRoot` means those checks passed. This is the
/// root proofs are normally checked against; for a root the caller already trusts by its own means, without a
/// witness signature, see [`UnwitnessedRoot`](crate::UnwitnessedRoot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRoot {
    signed: SignedRoot,
}

impl VerifiedRoot {
    /// The log namespace.
    pub fn namespace(&self) -> &str {
        &self.signed.namespace
    }
    /// The AKD epoch.
    pub fn epoch(&self) -> u64 {
        self.signed.epoch
    }
    /// The AKD root hash of that epoch.
    pub fn digest(&self) -> &Digest {
        &self.signed.digest
    }
    /// When the witness signed, in milliseconds since the Unix epoch.
    pub fn timestamp_ms(&self) -> u64 {
        self.signed.timestamp_ms
    }
    /// The signed root as received, for evidence.
    pub fn signed_root(&self) -> &SignedRoot {
        &self.signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bincode_layout() {
        let message = bincode_message(2, "ab", 0x0102, 3, &[0xee; 2]);
        let mut expected = vec![2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b'];
        expected.extend([0x02, 0x01, 0, 0, 0, 0, 0, 0]);
        expected.extend([3, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend([2, 0, 0, 0, 0, 0, 0, 0, 0xee, 0xee]);
        assert_eq!(message, expected);
    }

    #[test]
    fn protobuf_epoch_zero_is_still_written() {
        // proto2 `required` fields are always emitted, even when zero.
        let message = protobuf_message(1, "", 0, 0, &[]);
        assert_eq!(
            message,
            [0x08, 0x01, 0x12, 0x00, 0x18, 0x00, 0x22, 0x02, 0x08, 0x00, 0x2a, 0x00]
        );
    }
}
