//! Epoch-chain monitoring: per namespace, the last witnessed `(epoch, root)` and the rules a new one must meet.
//!
//! The monitor is sans-IO: it only sees [`VerifiedRoot`]s, which a [`WitnessVerifier`] produced with the
//! caller's clock, and it never reads a clock, a file or the network. A rejected root leaves the state unchanged.
//!
//! [`WitnessVerifier`]: crate::WitnessVerifier

use core::fmt;
use std::collections::BTreeMap;

use crate::witness::{SignedRoot, VerifiedRoot};

/// What an accepted root did to the monitor's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Observation {
    /// First root seen for the namespace (trust on first use); it becomes the checkpoint.
    First,
    /// Same epoch and root as the checkpoint; nothing changes.
    Unchanged,
    /// The checkpoint moved forward from `from_epoch`.
    Advanced {
        /// The previous checkpoint's epoch.
        from_epoch: u64,
    },
}

/// Two different roots, both witness-signed, for the same namespace and epoch: proof that the log (or the
/// witness) equivocated, which anyone holding the witness key can check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkEvidence {
    first: SignedRoot,
    second: SignedRoot,
}

impl ForkEvidence {
    /// The root the monitor had accepted.
    pub fn first(&self) -> &SignedRoot {
        &self.first
    }
    /// The conflicting root.
    pub fn second(&self) -> &SignedRoot {
        &self.second
    }
}

/// A verified root that the monitor refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorError {
    /// The epoch is older than the checkpoint.
    Rollback {
        /// Checkpoint epoch.
        checkpoint_epoch: u64,
        /// Epoch offered.
        epoch: u64,
    },
    /// The epoch skips ahead by more than one and no audit of the skipped range was supplied.
    GapWithoutAudit {
        /// Checkpoint epoch.
        checkpoint_epoch: u64,
        /// Epoch offered.
        epoch: u64,
    },
    /// A later epoch carries an earlier signing time than the checkpoint.
    TimestampRegression {
        /// Checkpoint signing time.
        checkpoint_ms: u64,
        /// Signing time offered.
        timestamp_ms: u64,
    },
    /// The supplied audit does not start at the checkpoint or does not end at the offered root.
    AuditMismatch,
    /// The same epoch with a different root.
    Fork(Box<ForkEvidence>),
}

impl fmt::Display for MonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rollback {
                checkpoint_epoch,
                epoch,
            } => write!(f, "epoch {epoch} is older than the checkpoint epoch {checkpoint_epoch}"),
            Self::GapWithoutAudit {
                checkpoint_epoch,
                epoch,
            } => write!(f, "epoch {epoch} skips ahead of {checkpoint_epoch} without an audit"),
            Self::TimestampRegression {
                checkpoint_ms,
                timestamp_ms,
            } => write!(
                f,
                "signed at {timestamp_ms} ms, before the checkpoint's {checkpoint_ms} ms"
            ),
            Self::AuditMismatch => f.write_str("audit does not connect the checkpoint to the offered root"),
            Self::Fork(evidence) => write!(
                f,
                "fork: two roots signed for epoch {} of namespace {:?}",
                evidence.first.epoch(),
                evidence.first.namespace()
            ),
        }
    }
}

impl std::error::Error for MonitorError {}

/// Per-namespace checkpoints of witnessed epoch roots.
///
/// The monitor keeps no storage of its own. To persist it, store each checkpoint's
/// [`SignedRoot::to_protobuf`](crate::SignedRoot::to_protobuf); to restore, decode it, verify it again with the
/// same [`WitnessVerifier`](crate::WitnessVerifier) set to
/// [`with_freshness`](crate::WitnessVerifier::with_freshness)`(Freshness::Unchecked)` (the signature, key and
/// `not_before` are rechecked; freshness was checked when it was first accepted, and a checkpoint is expected to
/// be older than the maximum age after a while), and `observe` it into a new monitor.
///
/// # Example
///
/// ```
/// use ed25519_dalek::{Signer, SigningKey};
/// use kt_verify::{Ciphersuite, Monitor, MonitorError, Observation, SignedRoot, WitnessKey, WitnessVerifier};
///
/// let signer = SigningKey::from_bytes(&[7; 32]);
/// let key = WitnessKey::new(signer.verifying_key().to_bytes(), 0)?;
/// let verifier = WitnessVerifier::new("kt.example", [key], 60_000)?;
/// let sign = |epoch: u64, digest: [u8; 32]| {
///     let unsigned = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt.example", epoch, epoch, digest, [0; 64], key.key_id());
///     let signature = signer.sign(&unsigned.signed_message()).to_bytes();
///     let signed = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt.example", epoch, epoch, digest, signature, key.key_id());
///     verifier.verify(&signed, epoch).expect("fresh")
/// };
///
/// let mut monitor = Monitor::new();
/// assert_eq!(monitor.observe(sign(10, [1; 32])), Ok(Observation::First));
/// assert_eq!(monitor.observe(sign(11, [2; 32])), Ok(Observation::Advanced { from_epoch: 10 }));
/// assert!(matches!(monitor.observe(sign(10, [1; 32])), Err(MonitorError::Rollback { .. })));
/// assert!(matches!(monitor.observe(sign(13, [3; 32])), Err(MonitorError::GapWithoutAudit { .. })));
/// match monitor.observe(sign(11, [9; 32])) {
///     Err(MonitorError::Fork(evidence)) => assert_eq!(evidence.second().digest(), &[9; 32]),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), kt_verify::WitnessError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Monitor {
    checkpoints: BTreeMap<String, VerifiedRoot>,
}

impl Monitor {
    /// A monitor with no checkpoints.
    pub fn new() -> Self {
        Self::default()
    }

    /// The checkpoint for `namespace`, if any.
    pub fn checkpoint(&self, namespace: &str) -> Option<&VerifiedRoot> {
        self.checkpoints.get(namespace)
    }

    /// Accepts `root` if it is the first for its namespace, equal to the checkpoint, or the checkpoint's epoch
    /// plus one; rejects rollbacks, gaps, timestamp regressions and forks.
    pub fn observe(&mut self, root: VerifiedRoot) -> Result<Observation, MonitorError> {
        self.observe_inner(root, None)
    }

    /// Like [`observe`](Self::observe), but a jump of more than one epoch is accepted when `chain` is a verified
    /// audit from the checkpoint `(epoch, root)` exactly to the offered `(epoch, root)`.
    ///
    /// # Example
    ///
    /// ```
    /// use akd::{AkdLabel, AkdValue};
    /// use ed25519_dalek::{Signer, SigningKey};
    /// use kt_verify::{AuditBlobName, Ciphersuite, Monitor, Observation, SignedRoot, WhatsAppChainAuditor, WitnessKey, WitnessVerifier};
    /// use protobuf::Message;
    ///
    /// // Roots of epochs 1..=3 of a directory and its audit blobs for epochs 2 and 3.
    /// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// let (roots, blobs) = runtime.block_on(async {
    ///     let storage = akd::storage::StorageManager::new_no_cache(akd::storage::memory::AsyncInMemoryDatabase::new());
    ///     let config = akd::AzksParallelismConfig::disabled();
    ///     let akd = akd::Directory::<akd::WhatsAppV1Configuration, _, _>::new(storage, akd::ecvrf::HardCodedAkdVRF {}, config)
    ///         .await?;
    ///     let mut roots = vec![];
    ///     for epoch in 1..=3u64 {
    ///         let update = (AkdLabel::from(format!("user-{epoch}").as_str()), AkdValue::from("key"));
    ///         roots.push(akd.publish(vec![update]).await?.hash());
    ///     }
    ///     let mut blobs = vec![];
    ///     for epoch in 2..=3u64 {
    ///         let proof = akd.audit(epoch - 1, epoch).await?;
    ///         let data = akd::proto::specs::types::SingleAppendOnlyProof::from(&proof.proofs[0]).write_to_bytes().unwrap();
    ///         let name = AuditBlobName::new(epoch, roots[epoch as usize - 2], roots[epoch as usize - 1]).unwrap();
    ///         blobs.push((name.to_string(), data));
    ///     }
    ///     Ok::<_, akd::errors::AkdError>((roots, blobs))
    /// })?;
    ///
    /// let witness = SigningKey::from_bytes(&[7; 32]);
    /// let key = WitnessKey::new(witness.verifying_key().to_bytes(), 0)?;
    /// let verifier = WitnessVerifier::new("kt", [key], 60_000)?;
    /// let verified = |epoch: u64, digest: [u8; 32]| {
    ///     let unsigned = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt", 5, epoch, digest, [0; 64], key.key_id());
    ///     let signature = witness.sign(&unsigned.signed_message()).to_bytes();
    ///     let signed = SignedRoot::new(Ciphersuite::ProtobufEd25519, "kt", 5, epoch, digest, signature, key.key_id());
    ///     verifier.verify(&signed, 5).expect("fresh")
    /// };
    ///
    /// let mut auditor = WhatsAppChainAuditor::new()?;
    /// for (name, data) in &blobs {
    ///     auditor.verify_blob(name, data)?;
    /// }
    /// let mut monitor = Monitor::new();
    /// monitor.observe(verified(1, roots[0]))?;
    /// let jump = monitor.observe_audited(verified(3, roots[2]), auditor.chain().expect("audited"))?;
    /// assert_eq!(jump, Observation::Advanced { from_epoch: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "auditor")]
    pub fn observe_audited(
        &mut self,
        root: VerifiedRoot,
        chain: &crate::auditor::AuditedChain,
    ) -> Result<Observation, MonitorError> {
        let range = (
            chain.start_epoch(),
            *chain.start_root(),
            chain.end_epoch(),
            *chain.end_root(),
        );
        self.observe_inner(root, Some(range))
    }

    fn observe_inner(
        &mut self,
        root: VerifiedRoot,
        audited: Option<(u64, [u8; 32], u64, [u8; 32])>,
    ) -> Result<Observation, MonitorError> {
        let Some(checkpoint) = self.checkpoints.get(root.namespace()) else {
            self.checkpoints.insert(root.namespace().to_owned(), root);
            return Ok(Observation::First);
        };
        let (checkpoint_epoch, epoch) = (checkpoint.epoch(), root.epoch());
        if epoch < checkpoint_epoch {
            return Err(MonitorError::Rollback {
                checkpoint_epoch,
                epoch,
            });
        }
        if epoch == checkpoint_epoch {
            if root.digest() == checkpoint.digest() {
                return Ok(Observation::Unchanged);
            }
            return Err(MonitorError::Fork(Box::new(ForkEvidence {
                first: checkpoint.signed_root().clone(),
                second: root.signed_root().clone(),
            })));
        }
        if root.timestamp_ms() < checkpoint.timestamp_ms() {
            return Err(MonitorError::TimestampRegression {
                checkpoint_ms: checkpoint.timestamp_ms(),
                timestamp_ms: root.timestamp_ms(),
            });
        }
        if epoch - checkpoint_epoch > 1 {
            match audited {
                None => {
                    return Err(MonitorError::GapWithoutAudit {
                        checkpoint_epoch,
                        epoch,
                    });
                }
                Some(range) if range != (checkpoint_epoch, *checkpoint.digest(), epoch, *root.digest()) => {
                    return Err(MonitorError::AuditMismatch);
                }
                Some(_) => {}
            }
        }
        self.checkpoints.insert(root.namespace().to_owned(), root);
        Ok(Observation::Advanced {
            from_epoch: checkpoint_epoch,
        })
    }
}
