//! fleet-bundle: bundles, signed envelopes and the accepted-epoch state (SPEC §4 to §6), deployment records (§8.1)
//! and the fleet-key artifact (§8.2).

use std::collections::HashSet;
use std::sync::OnceLock;

use fleet_bundle::{
    AcceptedEpoch, Bundle, BundleVerifier, DeploymentRecord, DeploymentVerifier, FleetId, FleetKeyArtifact,
    SignedBundle, SignedDeploymentRecord, TrustAnchors, UnixSeconds,
};

use super::{assert_round_trip, decode, hex_field, select, u64_field, vector_tests};

/// The verifiers of `fleet_bundle.json`'s fleet, and every signed bundle and record its keys ever signed.
struct Context {
    bundles: BundleVerifier,
    deployments: DeploymentVerifier,
    now: UnixSeconds,
    signed: HashSet<Vec<u8>>,
}

fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let file = include_str!("../../vectors/fleet_bundle.json");
        let first = vector_tests(file, "SignedBundle").remove(0);
        let anchors = || {
            let fleet = FleetId::new(first["fleetId"].as_str().expect("fleetId")).expect("vector fleet id");
            let witness: [u8; 32] = hex_field(&first, "witnessKey").try_into().expect("32-byte key");
            let operator: [u8; 32] = hex_field(&first, "operatorKey").try_into().expect("32-byte key");
            TrustAnchors::new(fleet, &witness, &operator).expect("vector anchors")
        };
        let mut signed = HashSet::new();
        for group in ["SignedBundle", "DeploymentRecord", "DeploymentLog", "Responder"] {
            for test in vector_tests(file, group) {
                for field in ["signedBundle", "signedRecord"] {
                    if test[field].is_string() {
                        signed.insert(hex_field(&test, field));
                    }
                }
                for record in test["signedRecords"].as_array().into_iter().flatten() {
                    signed.insert(hex::decode(record.as_str().expect("hex")).expect("hex"));
                }
            }
        }
        Context {
            bundles: BundleVerifier::new(anchors()),
            deployments: DeploymentVerifier::new(anchors()),
            now: UnixSeconds(u64_field(&first, "now")),
            signed,
        }
    })
}

/// Selector byte: [`Bundle`], [`SignedBundle`], [`AcceptedEpoch`] (each re-encodes to the input when accepted),
/// and [`BundleVerifier::verify`]: the fuzzer holds neither signing key, so every bundle it gets accepted must be one
/// the vectors' keys signed.
pub(super) fn bundle(data: &[u8]) -> bool {
    let Some((which, input)) = select(data, 4) else {
        return false;
    };
    match which {
        0 => decode("Bundle", input, Bundle::from_bytes, Bundle::to_bytes),
        1 => decode(
            "SignedBundle",
            input,
            SignedBundle::decode_unverified,
            SignedBundle::to_bytes,
        ),
        2 => decode(
            "AcceptedEpoch",
            input,
            AcceptedEpoch::from_bytes,
            AcceptedEpoch::to_bytes,
        ),
        _ => {
            let context = context();
            let accepted = context.bundles.verify(input, context.now, None).is_ok();
            assert!(
                !accepted || context.signed.contains(input),
                "fleet: accepted a bundle its keys never signed"
            );
            accepted
        }
    }
}

/// Selector byte: [`DeploymentRecord`], [`SignedDeploymentRecord`] (round trips), and
/// [`DeploymentVerifier::verify`] on a signed record and an artifact (the input cut after a 2-byte big-endian
/// length): an accepted record must be one the vectors' keys signed.
pub(super) fn deployment(data: &[u8]) -> bool {
    let Some((which, input)) = select(data, 3) else {
        return false;
    };
    match which {
        0 => decode(
            "DeploymentRecord",
            input,
            DeploymentRecord::from_bytes,
            DeploymentRecord::to_bytes,
        ),
        1 => decode(
            "SignedDeploymentRecord",
            input,
            SignedDeploymentRecord::decode_unverified,
            SignedDeploymentRecord::to_bytes,
        ),
        _ => {
            let Some((length, rest)) = input.split_first_chunk::<2>() else {
                return false;
            };
            let (record, artifact) = rest.split_at(usize::from(u16::from_be_bytes(*length)).min(rest.len()));
            let context = context();
            let accepted = context.deployments.verify(record, artifact).is_ok();
            let signed = context.signed.contains(record);
            assert!(
                !accepted || signed,
                "fleet: accepted a deployment record its keys never signed"
            );
            accepted
        }
    }
}

/// [`FleetKeyArtifact::from_json`]: JSON has many spellings of one artifact, so the property is that the canonical
/// form of an accepted artifact reads back as the same artifact and is its own canonical form.
pub(super) fn artifact(data: &[u8]) -> bool {
    let Ok(artifact) = FleetKeyArtifact::from_json(data) else {
        return false;
    };
    let canonical = artifact.to_json();
    let reread = FleetKeyArtifact::from_json(&canonical).expect("the canonical form of an accepted artifact");
    assert!(
        reread == artifact,
        "fleet artifact: the canonical form reads as another artifact"
    );
    assert_round_trip("FleetKeyArtifact canonical form", &canonical, &reread.to_json());
    true
}
