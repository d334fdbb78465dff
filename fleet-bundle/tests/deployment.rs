//! Deployment records (binary transparency): digest, signatures, the JSON artifact, the monitor, key-set diffs.

mod common;

use common::*;
use fleet_bundle::{
    ArtifactError, DecodeError, DeploymentError, DeploymentMonitor, DeploymentRecord, FleetKey, FleetKeyArtifact,
    JsonErrorKind, KeyError, KeySet, KeySetError, MonitorError, Party, Role, RoleChange, SignedDeploymentRecord, diff,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// Publishes `keys` for `epoch`: the canonical artifact and its signed record.
fn publish(parties: &Parties, epoch: u64, keys: KeySet) -> (Vec<u8>, Vec<u8>) {
    parties.publish_for(fleet(), epoch, keys)
}

/// Signs `artifact` as given (whatever it contains) for `epoch`.
fn publish_raw(parties: &Parties, epoch: u64, artifact: &[u8]) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(artifact).into();
    parties.sign_raw_deployment(&raw_deployment_body(FLEET.as_bytes(), epoch, &digest))
}

fn hex_key(key: &[u8; 32]) -> String {
    hex::encode(key)
}

#[test]
fn library_encoding_matches_the_spec_encoder_byte_for_byte() {
    let parties = Parties::new(30);
    let (record, artifact) = publish(&parties, 5, parties.keys());
    let digest: [u8; 32] = Sha256::digest(&artifact).into();
    let body = raw_deployment_body(FLEET.as_bytes(), 5, &digest);
    assert_eq!(record, parties.sign_raw_deployment(&body));
    assert_eq!(
        SignedDeploymentRecord::decode_unverified(&record)
            .expect("decodes")
            .record(),
        &DeploymentRecord::from_bytes(&body).expect("decodes")
    );
}

#[test]
fn valid_epoch_verifies() {
    let parties = Parties::new(31);
    let (record, artifact) = publish(&parties, 5, parties.keys());
    let verified = parties.deployment_verifier().verify(&record, &artifact).expect("valid");
    assert_eq!(verified.epoch(), 5);
    assert_eq!(verified.keys(), &parties.keys());
    assert_eq!(verified.artifact_digest()[..], Sha256::digest(&artifact)[..]);
}

#[test]
fn every_single_byte_mutation_of_record_or_artifact_is_rejected() {
    let parties = Parties::new(32);
    let verifier = parties.deployment_verifier();
    let (record, artifact) = publish(&parties, 5, parties.keys());
    for position in 0..record.len() {
        for mask in [0x01, 0xff] {
            let mut mutated = record.clone();
            mutated[position] ^= mask;
            assert!(
                verifier.verify(&mutated, &artifact).is_err(),
                "record byte {position} ^ {mask:#04x}"
            );
        }
    }
    for position in 0..artifact.len() {
        let mut mutated = artifact.clone();
        mutated[position] ^= 0x01;
        assert_eq!(verifier.verify(&record, &mutated), Err(DeploymentError::DigestMismatch));
    }
}

// ---- One crafted case per reason, in verification order. ----

#[test]
fn reason_malformed() {
    let parties = Parties::new(33);
    let verifier = parties.deployment_verifier();
    let bundle = parties.sign(parties.bundle(5));
    assert_eq!(
        verifier.verify(&bundle, b"{}"),
        Err(DeploymentError::Malformed(DecodeError::WrongMessageType {
            expected: TYPE_SIGNED_DEPLOYMENT,
            found: TYPE_SIGNED_BUNDLE
        }))
    );
    let mut body = raw_deployment_body(FLEET.as_bytes(), 5, &[0; 32]);
    body.push(0);
    assert_eq!(
        verifier.verify(&parties.sign_raw_deployment(&body), b"{}"),
        Err(DeploymentError::Malformed(DecodeError::TrailingBytes { count: 1 }))
    );
}

#[test]
fn reason_unknown_fleet() {
    let parties = Parties::new(34);
    let record = parties.sign_raw_deployment(&raw_deployment_body(b"fleet-b", 5, &[0; 32]));
    assert!(matches!(
        parties.deployment_verifier().verify(&record, b"{}"),
        Err(DeploymentError::UnknownFleet { found }) if found.as_str() == "fleet-b"
    ));
}

#[test]
fn reason_signatures() {
    let parties = Parties::new(35);
    let impostor = Parties::new(135);
    let verifier = parties.deployment_verifier();
    let (_, artifact) = publish(&parties, 5, parties.keys());
    let digest: [u8; 32] = Sha256::digest(&artifact).into();
    let body = raw_deployment_body(FLEET.as_bytes(), 5, &digest);
    let witness_signature = sign(&parties.witness_key, &[DEPLOYMENT_WITNESS, &body]);

    let bad_witness = sign(&impostor.witness_key, &[DEPLOYMENT_WITNESS, &body]);
    let operator_signature = sign(&parties.operator_key, &[DEPLOYMENT_OPERATOR, &body, &bad_witness]);
    let record = raw_envelope(TYPE_SIGNED_DEPLOYMENT, &body, &bad_witness, &operator_signature);
    assert_eq!(
        verifier.verify(&record, &artifact),
        Err(DeploymentError::BadWitnessSignature)
    );

    // A bundle witness signature over the same bytes is not a deployment witness signature.
    let wrong_label = sign(&parties.witness_key, &[BUNDLE_WITNESS, &body]);
    let operator_signature = sign(&parties.operator_key, &[DEPLOYMENT_OPERATOR, &body, &wrong_label]);
    let record = raw_envelope(TYPE_SIGNED_DEPLOYMENT, &body, &wrong_label, &operator_signature);
    assert_eq!(
        verifier.verify(&record, &artifact),
        Err(DeploymentError::BadWitnessSignature)
    );

    let bad_operator = sign(
        &impostor.operator_key,
        &[DEPLOYMENT_OPERATOR, &body, &witness_signature],
    );
    let record = raw_envelope(TYPE_SIGNED_DEPLOYMENT, &body, &witness_signature, &bad_operator);
    assert_eq!(
        verifier.verify(&record, &artifact),
        Err(DeploymentError::BadCounterSignature)
    );

    let body_only = sign(&parties.operator_key, &[DEPLOYMENT_OPERATOR, &body]);
    let record = raw_envelope(TYPE_SIGNED_DEPLOYMENT, &body, &witness_signature, &body_only);
    assert_eq!(
        verifier.verify(&record, &artifact),
        Err(DeploymentError::CounterSignatureOverOtherBytes)
    );

    let malleated = malleate(&sign(
        &parties.operator_key,
        &[DEPLOYMENT_OPERATOR, &body, &witness_signature],
    ));
    let record = raw_envelope(TYPE_SIGNED_DEPLOYMENT, &body, &witness_signature, &malleated);
    assert_eq!(
        verifier.verify(&record, &artifact),
        Err(DeploymentError::BadCounterSignature)
    );
}

#[test]
fn reason_artifact_too_large_and_digest_mismatch() {
    let parties = Parties::new(36);
    let verifier = parties.deployment_verifier();
    let huge = vec![b' '; FleetKeyArtifact::MAX_LEN + 1];
    assert_eq!(
        verifier.verify(&publish_raw(&parties, 5, &huge), &huge),
        Err(DeploymentError::ArtifactTooLarge {
            len: FleetKeyArtifact::MAX_LEN + 1,
            max: FleetKeyArtifact::MAX_LEN
        })
    );
    let (record, _) = publish(&parties, 5, parties.keys());
    let (_, other_artifact) = publish(&parties, 6, parties.keys());
    assert_eq!(
        verifier.verify(&record, &other_artifact),
        Err(DeploymentError::DigestMismatch)
    );
}

/// The size bound of SPEC step 5 is inclusive: an artifact of exactly `MAX_LEN` bytes (the canonical JSON padded
/// with the trailing whitespace JSON allows) verifies; one byte more is refused by the test above.
#[test]
fn an_artifact_of_exactly_the_maximum_length_verifies() {
    let parties = Parties::new(37);
    let (_, mut artifact) = publish(&parties, 5, parties.keys());
    artifact.resize(FleetKeyArtifact::MAX_LEN, b' ');
    let verified = parties
        .deployment_verifier()
        .verify(&publish_raw(&parties, 5, &artifact), &artifact)
        .expect("an artifact at the bound verifies");
    assert_eq!(verified.epoch(), 5);
    assert_eq!(verified.keys(), &parties.keys());
    assert_eq!(verified.artifact_digest(), &<[u8; 32]>::from(Sha256::digest(&artifact)));
}

/// Signs `json` as the artifact of epoch 5 and returns why verification rejects it.
fn rejection(parties: &Parties, json: String) -> DeploymentError {
    let artifact = json.into_bytes();
    parties
        .deployment_verifier()
        .verify(&publish_raw(parties, 5, &artifact), &artifact)
        .expect_err("crafted to fail")
}

fn artifact_rejection(parties: &Parties, json: String) -> ArtifactError {
    match rejection(parties, json) {
        DeploymentError::Artifact(error) => error,
        other => panic!("expected an artifact error, got {other:?}"),
    }
}

fn entry(key: &str, role: &str) -> String {
    format!(r#"{{"public_key":"{key}","role":"{role}"}}"#)
}

fn doc(fleet: &str, epoch: &str, keys: &[String]) -> String {
    format!(
        r#"{{"fleet_id":"{fleet}","epoch":{epoch},"keys":[{}]}}"#,
        keys.join(",")
    )
}

#[test]
fn reason_artifact_json_shape() {
    let parties = Parties::new(37);
    let vault = hex_key(&parties.vault_keys[0].verifying_key().to_bytes());
    let good = entry(&vault, "response_signing");
    let one = std::slice::from_ref(&good);

    // Unknown field, duplicate field, missing field, wrong types and ranges.
    for json in [
        format!(r#"{{"fleet_id":"fleet-a","epoch":5,"keys":[{good}],"note":"x"}}"#),
        format!(r#"{{"fleet_id":"fleet-a","epoch":5,"epoch":5,"keys":[{good}]}}"#),
        format!(r#"{{"fleet_id":"fleet-a","keys":[{good}]}}"#),
        doc("fleet-a", "5.0", one),
        doc("fleet-a", "-1", one),
        doc("fleet-a", "\"5\"", one),
        doc("fleet-a", "18446744073709551616", one),
        doc(
            "fleet-a",
            "5",
            &[format!(r#"{{"public_key":"{vault}","role":"response_signing","x":1}}"#)],
        ),
    ] {
        assert!(
            matches!(
                artifact_rejection(&parties, json.clone()),
                ArtifactError::Json {
                    kind: JsonErrorKind::Data,
                    ..
                }
            ),
            "{json}"
        );
    }
    assert!(matches!(
        artifact_rejection(&parties, format!("{} trailing", doc("fleet-a", "5", one))),
        ArtifactError::Json {
            kind: JsonErrorKind::Syntax,
            ..
        }
    ));
    assert!(matches!(
        artifact_rejection(&parties, r#"{"fleet_id":"fleet-a","#.to_owned()),
        ArtifactError::Json {
            kind: JsonErrorKind::Eof,
            ..
        }
    ));
}

#[test]
fn reason_artifact_values() {
    let parties = Parties::new(38);
    let vault = hex_key(&parties.vault_keys[0].verifying_key().to_bytes());
    let good = entry(&vault, "response_signing");
    let reject = |json| artifact_rejection(&parties, json);

    assert!(matches!(
        reject(doc("Fleet-A", "5", std::slice::from_ref(&good))),
        ArtifactError::FleetId(_)
    ));
    assert_eq!(
        reject(doc(
            "fleet-a",
            "5",
            &[good.clone(), entry(&vault.to_uppercase(), "opaque_server")]
        )),
        ArtifactError::PublicKeyEncoding { index: 1 }
    );
    assert_eq!(
        reject(doc("fleet-a", "5", &[entry(&vault[..62], "opaque_server")])),
        ArtifactError::PublicKeyEncoding { index: 0 }
    );
    assert_eq!(
        reject(doc("fleet-a", "5", &[entry(&vault, "Response_Signing")])),
        ArtifactError::UnknownRole { index: 0 }
    );
    assert_eq!(
        reject(doc("fleet-a", "5", &[entry(&hex_key(&IDENTITY), "response_signing")])),
        ArtifactError::InvalidKey {
            index: 0,
            error: KeyError::SmallOrder
        }
    );
    assert_eq!(
        reject(doc("fleet-a", "5", &[entry(&hex_key(&[0; 32]), "ipls_session")])),
        ArtifactError::InvalidKey {
            index: 0,
            error: KeyError::AllZero
        }
    );
    assert_eq!(
        reject(doc("fleet-a", "5", &[good.clone(), entry(&vault, "opaque_server")])),
        ArtifactError::KeySet(KeySetError::DuplicateKey)
    );
    assert_eq!(
        reject(doc("fleet-a", "5", &[])),
        ArtifactError::KeySet(KeySetError::Empty)
    );
}

#[test]
fn reason_artifact_disagrees_with_record_or_lists_an_anchor_key() {
    let parties = Parties::new(39);
    let vault = hex_key(&parties.vault_keys[0].verifying_key().to_bytes());
    let good = entry(&vault, "response_signing");
    let one = std::slice::from_ref(&good);

    assert!(matches!(
        rejection(&parties, doc("fleet-b", "5", one)),
        DeploymentError::ArtifactFleetMismatch { found } if found.as_str() == "fleet-b"
    ));
    assert_eq!(
        rejection(&parties, doc("fleet-a", "6", one)),
        DeploymentError::ArtifactEpochMismatch { record: 5, artifact: 6 }
    );
    let witness = hex_key(&parties.witness_key.verifying_key().to_bytes());
    assert_eq!(
        rejection(
            &parties,
            doc("fleet-a", "5", &[good.clone(), entry(&witness, "response_signing")])
        ),
        DeploymentError::KeyWithWrongRole {
            party: Party::Witness,
            role: Role::ResponseSigning
        }
    );
}

#[test]
fn any_valid_json_spelling_verifies_and_parses_to_the_same_artifact() {
    // The log commits to exact bytes, so whitespace, key order and escapes are the producer's choice.
    let parties = Parties::new(40);
    let a = hex_key(&parties.vault_keys[0].verifying_key().to_bytes());
    let b = hex_key(&parties.vault_keys[2].verifying_key().to_bytes());
    let json = format!(
        "{{ \"keys\" : [ {{\"role\":\"opaque_server\",\"public_key\":\"{b}\"}},\n {{\"public_key\":\"{a}\",\
         \"role\":\"response_signing\"}} ], \"epoch\": 5, \"fleet_id\": \"fleet-\\u0061\" }}"
    );
    let artifact = json.into_bytes();
    let verified = parties
        .deployment_verifier()
        .verify(&publish_raw(&parties, 5, &artifact), &artifact)
        .expect("valid");
    let canonical = FleetKeyArtifact::from_json(&artifact).expect("valid");
    assert_eq!(verified.keys(), canonical.keys());
    assert_eq!(
        FleetKeyArtifact::from_json(&canonical.to_json()).expect("valid"),
        canonical
    );
}

#[test]
fn monitor_reports_diffs_and_requires_consecutive_epochs() {
    let parties = Parties::new(41);
    let vault = |i: usize| parties.vault_keys[i].verifying_key().to_bytes();
    let key = |i: usize, role| FleetKey::new(vault(i), role).expect("valid");
    let epoch_1 = KeySet::new([
        key(0, Role::ResponseSigning),
        key(1, Role::OpaqueServer),
        key(2, Role::IplsSession),
    ])
    .expect("valid");
    // Epoch 2: key 0 removed, key 1 becomes IPLS, key 3 added.
    let epoch_2 = KeySet::new([
        key(1, Role::IplsSession),
        key(2, Role::IplsSession),
        key(3, Role::ResponseSigning),
    ])
    .expect("valid");
    let (record_1, artifact_1) = publish(&parties, 1, epoch_1.clone());
    let (record_2, artifact_2) = publish(&parties, 2, epoch_2.clone());
    let (record_4, artifact_4) = publish(&parties, 4, epoch_2.clone());

    let mut monitor = DeploymentMonitor::new(parties.deployment_verifier());
    assert!(monitor.observe(&record_1, &artifact_1).expect("first").diff().is_none());

    // Rejections leave the state unchanged.
    assert_eq!(
        monitor.observe(&record_4, &artifact_4),
        Err(MonitorError::Gap { expected: 2, found: 4 })
    );
    assert_eq!(
        monitor.observe(&record_1, &artifact_1),
        Err(MonitorError::Replay { epoch: 1 })
    );
    assert_eq!(
        monitor.observe(&record_2, &artifact_1),
        Err(MonitorError::Deployment(DeploymentError::DigestMismatch))
    );
    assert_eq!(monitor.last().map(fleet_bundle::VerifiedDeployment::epoch), Some(1));

    let report = monitor.observe(&record_2, &artifact_2).expect("next epoch");
    let changes = report.diff().expect("has a predecessor");
    assert_eq!(changes, &diff(&epoch_1, &epoch_2));
    assert_eq!(changes.added(), &[key(3, Role::ResponseSigning)]);
    assert_eq!(changes.removed(), &[key(0, Role::ResponseSigning)]);
    assert_eq!(
        changes.role_changed(),
        &[RoleChange {
            public_key: vault(1),
            from: Role::OpaqueServer,
            to: Role::IplsSession
        }]
    );
    assert_eq!(
        monitor.observe(&record_1, &artifact_1),
        Err(MonitorError::NotIncreasing { epoch: 1, last: 2 })
    );
}

#[test]
fn monitor_at_the_last_epoch_accepts_nothing_more() {
    let parties = Parties::new(42);
    let (record, artifact) = publish(&parties, u64::MAX, parties.keys());
    let (record_0, artifact_0) = publish(&parties, 0, parties.keys());
    let verifier = parties.deployment_verifier();
    let last = verifier.verify(&record, &artifact).expect("valid");
    let mut monitor = DeploymentMonitor::resume(verifier, last).expect("same fleet");
    assert_eq!(
        monitor.observe(&record_0, &artifact_0),
        Err(MonitorError::NotIncreasing {
            epoch: 0,
            last: u64::MAX
        })
    );
    assert_eq!(
        monitor.observe(&record, &artifact),
        Err(MonitorError::Replay { epoch: u64::MAX })
    );
}

#[test]
fn monitor_tells_a_fork_from_a_replay() {
    let parties = Parties::new(43);
    let vault = |i: usize| parties.vault_keys[i].verifying_key().to_bytes();
    let one_key =
        |i: usize| KeySet::new([FleetKey::new(vault(i), Role::ResponseSigning).expect("valid")]).expect("valid");
    let (record_1, artifact_1) = publish(&parties, 1, one_key(0));
    // A second, validly signed record for epoch 1 that logs another artifact: a fork.
    let (fork_1, fork_artifact_1) = publish(&parties, 1, one_key(1));
    let (record_2, artifact_2) = publish(&parties, 2, one_key(0));
    assert_ne!(record_1, fork_1);

    let mut monitor = DeploymentMonitor::new(parties.deployment_verifier());
    monitor.observe(&record_1, &artifact_1).expect("first");

    // Same epoch, same digest: a re-delivery, told apart from both a fork and a rollback.
    assert_eq!(
        monitor.observe(&record_1, &artifact_1),
        Err(MonitorError::Replay { epoch: 1 })
    );

    // Same epoch, other digest: equivocation, with both signed records as evidence.
    let evidence = monitor.observe(&fork_1, &fork_artifact_1);
    let decoded = |bytes: &[u8]| Box::new(SignedDeploymentRecord::decode_unverified(bytes).expect("decodes"));
    assert_eq!(
        evidence,
        Err(MonitorError::Equivocation {
            epoch: 1,
            accepted: decoded(&record_1),
            conflicting: decoded(&fork_1),
        })
    );
    // The evidence re-encodes to the exact logged bytes, and each record verifies on its own.
    if let Err(MonitorError::Equivocation {
        accepted, conflicting, ..
    }) = evidence
    {
        assert_eq!(accepted.to_bytes(), record_1);
        assert_eq!(conflicting.to_bytes(), fork_1);
        assert_ne!(
            accepted.record().artifact_digest(),
            conflicting.record().artifact_digest()
        );
    }
    assert_eq!(
        monitor.last().map(|d| d.signed_record().to_bytes()),
        Some(record_1.clone()),
        "a rejected observation changes no state"
    );

    // The log goes on from the accepted record.
    monitor.observe(&record_2, &artifact_2).expect("next epoch");
    // An older epoch cannot be compared (no history is kept): not increasing, whichever digest.
    assert_eq!(
        monitor.observe(&fork_1, &fork_artifact_1),
        Err(MonitorError::NotIncreasing { epoch: 1, last: 2 })
    );
}

#[test]
fn resume_refuses_a_deployment_of_another_fleet() {
    let parties = Parties::new(44);
    let other_fleet = fleet_bundle::FleetId::new("fleet-b").expect("valid");
    let (record, artifact) = parties.publish_for(other_fleet.clone(), 3, parties.keys());
    // Same witness and operator, pinned for fleet-b: the deployment verifies there...
    let anchors_b = parties.anchors_for(other_fleet.clone());
    let last_b = fleet_bundle::DeploymentVerifier::new(anchors_b)
        .verify(&record, &artifact)
        .expect("valid for fleet-b");
    // ...but cannot seed a monitor of fleet-a.
    assert_eq!(
        DeploymentMonitor::resume(parties.deployment_verifier(), last_b.clone()).map(|_| ()),
        Err(MonitorError::Deployment(DeploymentError::UnknownFleet {
            found: other_fleet
        }))
    );
    // Its own fleet's deployment resumes.
    let (record_a, artifact_a) = publish(&parties, 3, parties.keys());
    let last_a = parties
        .deployment_verifier()
        .verify(&record_a, &artifact_a)
        .expect("valid");
    let monitor = DeploymentMonitor::resume(parties.deployment_verifier(), last_a).expect("same fleet");
    assert_eq!(monitor.last().map(fleet_bundle::VerifiedDeployment::epoch), Some(3));
}

/// A small pool of strong Ed25519 public keys, so that sets drawn from it overlap and every role is valid.
fn key_pool() -> &'static [[u8; 32]] {
    static POOL: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        (1u8..=16)
            .map(|seed| {
                ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                    .verifying_key()
                    .to_bytes()
            })
            .collect()
    })
}

fn key_set_strategy() -> impl Strategy<Value = KeySet> {
    prop::collection::btree_map(0usize..16, 0usize..3, 1..12).prop_map(|entries| {
        KeySet::new(
            entries
                .into_iter()
                .map(|(key, role)| FleetKey::new(key_pool()[key], Role::ALL[role]).expect("strong key")),
        )
        .expect("distinct and non-empty")
    })
}

proptest! {
    #[test]
    fn diff_is_exact_and_deterministic(prev in key_set_strategy(), next in key_set_strategy()) {
        let changes = diff(&prev, &next);

        // Applying the diff to prev yields next.
        let mut applied: std::collections::BTreeMap<[u8; 32], Role> =
            prev.iter().map(|k| (*k.public_key(), k.role())).collect();
        for key in changes.removed() {
            prop_assert_eq!(applied.remove(key.public_key()), Some(key.role()));
        }
        for change in changes.role_changed() {
            prop_assert_eq!(applied.insert(change.public_key, change.to), Some(change.from));
        }
        for key in changes.added() {
            prop_assert_eq!(applied.insert(*key.public_key(), key.role()), None);
        }
        let expected: std::collections::BTreeMap<[u8; 32], Role> =
            next.iter().map(|k| (*k.public_key(), k.role())).collect();
        prop_assert_eq!(applied, expected);

        // Each list is sorted by public key, and the reverse diff mirrors this one.
        prop_assert!(changes.added().windows(2).all(|w| w[0].public_key() < w[1].public_key()));
        prop_assert!(changes.removed().windows(2).all(|w| w[0].public_key() < w[1].public_key()));
        prop_assert!(changes.role_changed().windows(2).all(|w| w[0].public_key < w[1].public_key));
        let reverse = diff(&next, &prev);
        prop_assert_eq!(reverse.added(), changes.removed());
        prop_assert_eq!(reverse.removed(), changes.added());
        prop_assert_eq!(diff(&prev, &prev).is_empty(), true);
        prop_assert_eq!(changes.is_empty(), prev == next);
    }
}

/// A verified bundle matches a verified deployment only when fleet, epoch and key set all agree: the same keys
/// logged for another epoch, other keys for the same epoch, or the same epoch and keys of another fleet do not
/// match.
#[test]
fn a_bundle_matches_only_the_deployment_of_its_fleet_epoch_and_keys() {
    let parties = Parties::new(41);
    let verified = parties
        .verifier()
        .verify(&parties.sign(parties.bundle(9)), NOW, None)
        .expect("valid");
    let deployment = |epoch: u64, keys: KeySet| {
        let (record, artifact) = publish(&parties, epoch, keys);
        parties.deployment_verifier().verify(&record, &artifact).expect("valid")
    };
    assert!(verified.matches_deployment(&deployment(9, parties.keys())));
    assert!(
        !verified.matches_deployment(&deployment(10, parties.keys())),
        "another epoch"
    );
    let fewer = KeySet::new(parties.keys().iter().take(3).copied()).expect("distinct keys");
    assert!(!verified.matches_deployment(&deployment(9, fewer)), "another key set");

    let other_fleet = fleet_bundle::FleetId::new("fleet-b").expect("valid id");
    let anchors = parties.anchors_for(other_fleet.clone());
    let (record, artifact) = parties.publish_for(other_fleet, 9, parties.keys());
    let elsewhere = fleet_bundle::DeploymentVerifier::new(anchors)
        .verify(&record, &artifact)
        .expect("valid");
    assert!(!verified.matches_deployment(&elsewhere), "another fleet");
}
