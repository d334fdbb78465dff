//! Full bundle verification against its cryptographic floor: two bare `verify_strict` calls and one SHA-256 over
//! the same bytes. The difference is parsing, the weak-key rules (byte comparisons only: received keys are not
//! decompressed, SPEC.md 7.1), the trust-anchor check, message assembly and the time/epoch logic. Results and the
//! exact command are in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signature, SigningKey};
use fleet_bundle::{
    Bundle, BundleVerifier, FleetId, FleetKey, KeySet, OperatorSigner, Role, TrustAnchors, UnixSeconds, ValidityWindow,
    WitnessSigner, context,
};
use sha2::{Digest, Sha256};

struct Case {
    name: &'static str,
    verifier: BundleVerifier,
    wire: Vec<u8>,
    witness: ed25519_dalek::VerifyingKey,
    operator: ed25519_dalek::VerifyingKey,
    witness_message: Vec<u8>,
    operator_message: Vec<u8>,
    witness_signature: Signature,
    operator_signature: Signature,
    body: Vec<u8>,
}

const NOW: UnixSeconds = UnixSeconds(1_700_000_100);

/// 16 keys: `response_signing` of them are Ed25519 response-signing keys, the rest split between OPAQUE and IPLS.
fn case(name: &'static str, response_signing: usize) -> Case {
    let fleet = FleetId::new("eu-west-1.backup-vault").expect("valid id");
    let keys = KeySet::new((0..16u8).map(|i| {
        let public_key = SigningKey::from_bytes(&[i + 10; 32]).verifying_key().to_bytes();
        let role = if usize::from(i) < response_signing {
            Role::ResponseSigning
        } else if i % 2 == 0 {
            Role::OpaqueServer
        } else {
            Role::IplsSession
        };
        FleetKey::new(public_key, role).expect("strong key")
    }))
    .expect("distinct");
    let bundle = Bundle::new(
        fleet.clone(),
        1_234,
        ValidityWindow::new(UnixSeconds(1_700_000_000), UnixSeconds(1_700_604_800)).expect("window"),
        keys,
    );
    let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
    let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())
        .expect("distinct keys");
    let body = bundle.to_bytes();
    let witness_signature = witness.sign_bundle(&bundle);
    let signed = operator
        .countersign_bundle(bundle, &witness_signature)
        .expect("valid witness signature");
    let anchors = TrustAnchors::new(
        fleet,
        witness.verifying_key().as_bytes(),
        operator.verifying_key().as_bytes(),
    )
    .expect("strong keys");
    Case {
        name,
        verifier: BundleVerifier::new(anchors),
        wire: signed.to_bytes(),
        witness: witness.verifying_key(),
        operator: operator.verifying_key(),
        witness_message: [context::BUNDLE_WITNESS, &body].concat(),
        operator_message: [context::BUNDLE_OPERATOR, &body, &witness_signature.to_bytes()].concat(),
        witness_signature: Signature::from_bytes(&witness_signature.to_bytes()),
        operator_signature: Signature::from_bytes(signed.operator_signature()),
        body,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("bundle_verify");
    for case in [case("16_keys_4_signing", 4), case("16_keys_16_signing", 16)] {
        assert!(case.verifier.verify(&case.wire, NOW, None).is_ok());
        group.bench_function(format!("{}/fleet_bundle", case.name), |b| {
            b.iter(|| case.verifier.verify(black_box(&case.wire), NOW, None));
        });
        group.bench_function(format!("{}/baseline_2x_verify_strict_sha256", case.name), |b| {
            b.iter(|| {
                let witness = case
                    .witness
                    .verify_strict(black_box(&case.witness_message), &case.witness_signature);
                let operator = case
                    .operator
                    .verify_strict(black_box(&case.operator_message), &case.operator_signature);
                let digest = Sha256::digest(black_box(&case.body));
                (witness.is_ok() && operator.is_ok(), digest)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
