//! Monitor rules: trust on first use, consecutive advance, rollback, gap, timestamp regression, fork evidence, and
//! that a rejected root changes no state.

use ed25519_dalek::{Signer, SigningKey};
use kt_verify::{
    Ciphersuite, Freshness, Monitor, MonitorError, Observation, SignedRoot, VerifiedRoot, WitnessKey, WitnessVerifier,
};

struct Witness {
    signer: SigningKey,
    verifier: WitnessVerifier,
}

impl Witness {
    fn new(namespace: &str) -> Self {
        let signer = SigningKey::from_bytes(&[8; 32]);
        let key = WitnessKey::new(signer.verifying_key().to_bytes(), 0).unwrap();
        Self {
            verifier: WitnessVerifier::new(namespace, [key], u64::MAX).unwrap(),
            signer,
        }
    }

    fn root(&self, ts: u64, epoch: u64, digest: [u8; 32]) -> VerifiedRoot {
        let ns = self.verifier.namespace();
        let key_id = self.signer.verifying_key().to_bytes()[31];
        let unsigned = SignedRoot::new(Ciphersuite::ProtobufEd25519, ns, ts, epoch, digest, [0; 64], key_id);
        let signature = self.signer.sign(&unsigned.signed_message()).to_bytes();
        let signed = SignedRoot::new(Ciphersuite::ProtobufEd25519, ns, ts, epoch, digest, signature, key_id);
        self.verifier.verify(&signed, ts).unwrap()
    }
}

#[test]
fn rules_per_namespace() {
    let a = Witness::new("a");
    let b = Witness::new("b");
    let mut monitor = Monitor::new();
    assert_eq!(monitor.observe(a.root(100, 7, [7; 32])), Ok(Observation::First));
    assert_eq!(monitor.observe(b.root(100, 1, [1; 32])), Ok(Observation::First));
    assert_eq!(monitor.observe(a.root(150, 7, [7; 32])), Ok(Observation::Unchanged));
    assert_eq!(
        monitor.observe(a.root(200, 8, [8; 32])),
        Ok(Observation::Advanced { from_epoch: 7 })
    );
    assert_eq!(monitor.checkpoint("a").map(VerifiedRoot::epoch), Some(8));
    assert_eq!(monitor.checkpoint("b").map(VerifiedRoot::epoch), Some(1));
    assert_eq!(monitor.checkpoint("c"), None);
}

#[test]
fn rejections_leave_state_unchanged() {
    let w = Witness::new("ns");
    let mut monitor = Monitor::new();
    monitor.observe(w.root(100, 10, [10; 32])).unwrap();
    let before = monitor.checkpoint("ns").cloned();

    assert_eq!(
        monitor.observe(w.root(200, 9, [9; 32])),
        Err(MonitorError::Rollback {
            checkpoint_epoch: 10,
            epoch: 9
        })
    );
    assert_eq!(
        monitor.observe(w.root(200, 12, [12; 32])),
        Err(MonitorError::GapWithoutAudit {
            checkpoint_epoch: 10,
            epoch: 12
        })
    );
    assert_eq!(
        monitor.observe(w.root(99, 11, [11; 32])),
        Err(MonitorError::TimestampRegression {
            checkpoint_ms: 100,
            timestamp_ms: 99
        })
    );
    let fork = monitor.observe(w.root(300, 10, [0xee; 32]));
    let Err(MonitorError::Fork(evidence)) = fork else {
        panic!("expected fork, got {fork:?}")
    };
    assert_eq!(evidence.first().digest(), &[10; 32]);
    assert_eq!(evidence.second().digest(), &[0xee; 32]);
    // Both halves of the evidence verify on their own under the witness key.
    assert!(w.verifier.verify(evidence.first(), 100).is_ok());
    assert!(w.verifier.verify(evidence.second(), 300).is_ok());
    assert!(MonitorError::Fork(evidence).to_string().contains("epoch 10"));

    assert_eq!(monitor.checkpoint("ns").cloned(), before);
}

#[test]
fn checkpoints_survive_a_restart_through_their_signed_form() {
    let w = Witness::new("ns");
    let mut monitor = Monitor::new();
    monitor.observe(w.root(100, 10, [10; 32])).unwrap();
    let stored = monitor.checkpoint("ns").unwrap().signed_root().to_protobuf();

    // Later, in a new process: decode, re-verify at the signing time, observe.
    let signed = SignedRoot::from_protobuf(&stored).unwrap();
    let restored = w.verifier.verify(&signed, signed.timestamp_ms()).unwrap();
    let mut monitor = Monitor::new();
    assert_eq!(monitor.observe(restored), Ok(Observation::First));
    assert!(matches!(
        monitor.observe(w.root(200, 9, [9; 32])),
        Err(MonitorError::Rollback { .. })
    ));
    // Restored much later by a client whose verifier bounds freshness: the stored root is too old for it, and
    // `Freshness::Unchecked` is how it re-checks the stored signature without pretending the root is fresh.
    let key = WitnessKey::new(w.signer.verifying_key().to_bytes(), 0).unwrap();
    let client = WitnessVerifier::for_namespace("ns", [key]).unwrap();
    let much_later = signed.timestamp_ms() + 30 * WitnessVerifier::DEFAULT_MAX_AGE_MS;
    assert!(matches!(
        client.verify(&signed, much_later),
        Err(kt_verify::WitnessError::Stale { .. })
    ));
    let restored = client
        .with_freshness(Freshness::Unchecked)
        .verify(&signed, much_later)
        .unwrap();
    let mut monitor = Monitor::new();
    assert_eq!(monitor.observe(restored), Ok(Observation::First));
    assert_eq!(monitor.checkpoint("ns").map(VerifiedRoot::epoch), Some(10));
    // A tampered stored checkpoint does not verify.
    let mut tampered = stored.clone();
    let last = tampered.len() - 70;
    tampered[last] ^= 1;
    assert!(
        SignedRoot::from_protobuf(&tampered)
            .map_or(true, |root| w.verifier.verify(&root, root.timestamp_ms()).is_err())
    );
}

/// The timestamp rule refuses only an earlier signing time: the next epoch signed at the same millisecond as the
/// checkpoint advances it.
#[test]
fn the_next_epoch_signed_at_the_checkpoints_millisecond_advances() {
    let w = Witness::new("ns");
    let mut monitor = Monitor::new();
    monitor.observe(w.root(100, 10, [10; 32])).unwrap();
    assert_eq!(
        monitor.observe(w.root(100, 11, [11; 32])),
        Ok(Observation::Advanced { from_epoch: 10 })
    );
    assert_eq!(monitor.checkpoint("ns").map(VerifiedRoot::digest), Some(&[11; 32]));
}

/// Each refusal's message names its numbers.
#[test]
fn refusal_messages_name_their_epochs_and_times() {
    let cases = [
        (
            MonitorError::Rollback {
                checkpoint_epoch: 10,
                epoch: 9,
            },
            "epoch 9 is older than the checkpoint epoch 10",
        ),
        (
            MonitorError::GapWithoutAudit {
                checkpoint_epoch: 10,
                epoch: 12,
            },
            "epoch 12 skips ahead of 10 without an audit",
        ),
        (
            MonitorError::TimestampRegression {
                checkpoint_ms: 100,
                timestamp_ms: 99,
            },
            "signed at 99 ms, before the checkpoint's 100 ms",
        ),
        (
            MonitorError::AuditMismatch,
            "audit does not connect the checkpoint to the offered root",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}
