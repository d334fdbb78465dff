//! Validation bundles: encoding, every rejection reason, mutations, freshness, rollback, weak keys.

mod common;

use common::*;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use fleet_bundle::{
    AcceptedEpoch, AnchorError, Bundle, BundleVerifier, CountersignError, DecodeError, FleetKey, KeyError, KeySet,
    Party, ResponderError, Role, SignedBundle, TrustAnchors, UnixSeconds, VerifyError, WitnessSignature, context,
};

#[test]
fn labels_are_the_ones_spec_md_lists() {
    assert_eq!(context::BUNDLE_WITNESS, BUNDLE_WITNESS);
    assert_eq!(context::BUNDLE_OPERATOR, BUNDLE_OPERATOR);
    assert_eq!(context::DEPLOYMENT_WITNESS, DEPLOYMENT_WITNESS);
    assert_eq!(context::DEPLOYMENT_OPERATOR, DEPLOYMENT_OPERATOR);
}

#[test]
fn library_encoding_matches_the_spec_encoder_byte_for_byte() {
    let parties = Parties::new(1);
    let bundle = parties.bundle(9);
    let body = raw_bundle_body(FLEET.as_bytes(), 9, ISSUED_AT, EXPIRES_AT, &entries(bundle.keys()));
    assert_eq!(bundle.to_bytes(), body);
    assert_eq!(parties.sign(bundle), parties.sign_raw_bundle(&body));
}

#[test]
fn valid_bundle_verifies_and_round_trips() {
    let parties = Parties::new(2);
    let bundle = parties.bundle(9);
    let wire = parties.sign(bundle.clone());
    let verified = parties.verifier().verify(&wire, NOW, None).expect("valid");
    assert_eq!(verified.bundle(), &bundle);
    assert_eq!(
        SignedBundle::decode_unverified(&wire).expect("decodes").to_bytes(),
        wire
    );
    for key in &parties.keys() {
        assert!(verified.approves(key.public_key(), key.role(), NOW));
    }
}

#[test]
fn every_single_byte_mutation_is_rejected() {
    let parties = Parties::new(3);
    let verifier = parties.verifier();
    let wire = parties.sign(parties.bundle(9));
    assert!(verifier.verify(&wire, NOW, None).is_ok());
    for position in 0..wire.len() {
        for mask in [0x01, 0xff] {
            let mut mutated = wire.clone();
            mutated[position] ^= mask;
            assert!(
                verifier.verify(&mutated, NOW, None).is_err(),
                "mutation {mask:#04x} at byte {position} accepted"
            );
        }
    }
}

#[test]
fn every_truncation_and_extension_is_rejected() {
    let parties = Parties::new(4);
    let verifier = parties.verifier();
    let wire = parties.sign(parties.bundle(9));
    for len in 0..wire.len() {
        assert!(
            verifier.verify(&wire[..len], NOW, None).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    let mut extended = wire.clone();
    extended.push(0);
    assert_eq!(
        verifier.verify(&extended, NOW, None),
        Err(VerifyError::Malformed(DecodeError::TrailingBytes { count: 1 }))
    );
}

// ---- One crafted case per reason, in verification order. ----

fn malformed(parties: &Parties, body: &[u8]) -> VerifyError {
    parties
        .verifier()
        .verify(&parties.sign_raw_bundle(body), NOW, None)
        .expect_err("crafted to fail")
}

#[test]
fn reason_malformed_versions_and_types() {
    let parties = Parties::new(5);
    let mut wire = parties.sign(parties.bundle(9));
    wire[0] = 0;
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::Malformed(DecodeError::ObsoleteVersion { version: 0 }))
    );
    wire[0] = 2;
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::Malformed(DecodeError::UnknownVersion { version: 2 }))
    );
    // A signed deployment record is not a bundle, even though the envelopes share a layout.
    let record = parties.sign_raw_deployment(&raw_deployment_body(FLEET.as_bytes(), 9, &[0; 32]));
    assert_eq!(
        parties.verifier().verify(&record, NOW, None),
        Err(VerifyError::Malformed(DecodeError::WrongMessageType {
            expected: TYPE_SIGNED_BUNDLE,
            found: TYPE_SIGNED_DEPLOYMENT
        }))
    );
    // The inner body carries its own version, checked the same way.
    let mut body = parties.bundle(9).to_bytes();
    body[0] = 7;
    assert_eq!(
        malformed(&parties, &body),
        VerifyError::Malformed(DecodeError::UnknownVersion { version: 7 })
    );
}

#[test]
fn reason_malformed_body_fields() {
    let parties = Parties::new(6);
    let good = entries(&parties.keys());
    let fleet = FLEET.as_bytes();

    let bad_id = raw_bundle_body(b"Fleet", 9, ISSUED_AT, EXPIRES_AT, &good);
    assert!(matches!(
        malformed(&parties, &bad_id),
        VerifyError::Malformed(DecodeError::FleetId(_))
    ));

    let empty_window = raw_bundle_body(fleet, 9, ISSUED_AT, ISSUED_AT, &good);
    assert_eq!(
        malformed(&parties, &empty_window),
        VerifyError::Malformed(DecodeError::InvalidValidityWindow)
    );

    let no_keys = raw_bundle_body(fleet, 9, ISSUED_AT, EXPIRES_AT, &[]);
    assert_eq!(
        malformed(&parties, &no_keys),
        VerifyError::Malformed(DecodeError::KeyCount { count: 0 })
    );

    let mut unknown_role = good.clone();
    unknown_role[1].0 = 4;
    let body = raw_bundle_body(fleet, 9, ISSUED_AT, EXPIRES_AT, &unknown_role);
    assert_eq!(
        malformed(&parties, &body),
        VerifyError::Malformed(DecodeError::UnknownRole { index: 1, byte: 4 })
    );

    let mut reordered = good.clone();
    reordered.swap(0, 1);
    let body = raw_bundle_body(fleet, 9, ISSUED_AT, EXPIRES_AT, &reordered);
    assert_eq!(
        malformed(&parties, &body),
        VerifyError::Malformed(DecodeError::NonCanonicalKeyOrder { index: 1 })
    );

    // One key under two roles: sorted by key bytes, the duplicate is out of order.
    let mut twice = good.clone();
    twice.insert(1, (Role::OpaqueServer.wire_byte(), good[0].1));
    let body = raw_bundle_body(fleet, 9, ISSUED_AT, EXPIRES_AT, &twice);
    assert_eq!(
        malformed(&parties, &body),
        VerifyError::Malformed(DecodeError::NonCanonicalKeyOrder { index: 1 })
    );

    let mut trailing = raw_bundle_body(fleet, 9, ISSUED_AT, EXPIRES_AT, &good);
    trailing.push(0);
    assert_eq!(
        malformed(&parties, &trailing),
        VerifyError::Malformed(DecodeError::TrailingBytes { count: 1 })
    );
}

#[test]
fn reason_unknown_fleet() {
    let parties = Parties::new(7);
    let body = raw_bundle_body(b"fleet-b", 9, ISSUED_AT, EXPIRES_AT, &entries(&parties.keys()));
    assert!(matches!(
        malformed(&parties, &body),
        VerifyError::UnknownFleet { found } if found.as_str() == "fleet-b"
    ));
}

#[test]
fn reason_bad_witness_signature() {
    let parties = Parties::new(8);
    let impostor = Parties::new(108);
    let body = parties.bundle(9).to_bytes();
    // Counter-signed correctly by the real operator, but the witness signature is the impostor's.
    let witness_signature = sign(&impostor.witness_key, &[BUNDLE_WITNESS, &body]);
    let operator_signature = sign(&parties.operator_key, &[BUNDLE_OPERATOR, &body, &witness_signature]);
    let wire = raw_envelope(TYPE_SIGNED_BUNDLE, &body, &witness_signature, &operator_signature);
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::BadWitnessSignature)
    );

    // The witness signing under the operator's label is not a witness signature either.
    let witness_signature = sign(&parties.witness_key, &[BUNDLE_OPERATOR, &body]);
    let operator_signature = sign(&parties.operator_key, &[BUNDLE_OPERATOR, &body, &witness_signature]);
    let wire = raw_envelope(TYPE_SIGNED_BUNDLE, &body, &witness_signature, &operator_signature);
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::BadWitnessSignature)
    );
}

#[test]
fn reason_bad_counter_signature() {
    let parties = Parties::new(9);
    let impostor = Parties::new(109);
    let body = parties.bundle(9).to_bytes();
    let witness_signature = sign(&parties.witness_key, &[BUNDLE_WITNESS, &body]);
    let operator_signature = sign(&impostor.operator_key, &[BUNDLE_OPERATOR, &body, &witness_signature]);
    let wire = raw_envelope(TYPE_SIGNED_BUNDLE, &body, &witness_signature, &operator_signature);
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::BadCounterSignature)
    );
}

#[test]
fn reason_counter_signature_over_other_bytes() {
    let parties = Parties::new(10);
    let verifier = parties.verifier();
    let body = parties.bundle(9).to_bytes();
    let witness_signature = sign(&parties.witness_key, &[BUNDLE_WITNESS, &body]);

    // The operator signed the body without the witness signature (it did not counter-sign the witness).
    let body_only = sign(&parties.operator_key, &[BUNDLE_OPERATOR, &body]);
    let wire = raw_envelope(TYPE_SIGNED_BUNDLE, &body, &witness_signature, &body_only);
    assert_eq!(
        verifier.verify(&wire, NOW, None),
        Err(VerifyError::CounterSignatureOverOtherBytes)
    );

    // The operator co-signed the witness's message instead of counter-signing.
    let co_signed = sign(&parties.operator_key, &[BUNDLE_WITNESS, &body]);
    let wire = raw_envelope(TYPE_SIGNED_BUNDLE, &body, &witness_signature, &co_signed);
    assert_eq!(
        verifier.verify(&wire, NOW, None),
        Err(VerifyError::CounterSignatureOverOtherBytes)
    );
}

#[test]
fn counter_signature_spliced_from_another_bundle_is_a_bad_counter_signature() {
    // Documented limit: the other bundle's bytes are not in the envelope, so this cannot be told from a forgery.
    let parties = Parties::new(11);
    let epoch_9 = parties.sign(parties.bundle(9));
    let epoch_10 = parties.sign(parties.bundle(10));
    let mut spliced = epoch_10.clone();
    let tail = spliced.len() - 64;
    spliced[tail..].copy_from_slice(&epoch_9[epoch_9.len() - 64..]);
    assert_eq!(
        parties.verifier().verify(&spliced, NOW, None),
        Err(VerifyError::BadCounterSignature)
    );
}

#[test]
fn reason_not_yet_valid_and_expired_with_exact_boundaries() {
    let parties = Parties::new(12);
    let verifier = parties.verifier();
    let wire = parties.sign(parties.bundle(9));
    assert_eq!(
        verifier.verify(&wire, UnixSeconds(ISSUED_AT - 1), None),
        Err(VerifyError::NotYetValid {
            issued_at: UnixSeconds(ISSUED_AT),
            now: UnixSeconds(ISSUED_AT - 1)
        })
    );
    assert!(verifier.verify(&wire, UnixSeconds(ISSUED_AT), None).is_ok());
    assert!(verifier.verify(&wire, UnixSeconds(EXPIRES_AT - 1), None).is_ok());
    // A stale bundle: valid signatures, but past its window.
    assert_eq!(
        verifier.verify(&wire, UnixSeconds(EXPIRES_AT), None),
        Err(VerifyError::Expired {
            expires_at: UnixSeconds(EXPIRES_AT),
            now: UnixSeconds(EXPIRES_AT)
        })
    );
    assert!(matches!(
        verifier.verify(&wire, UnixSeconds(u64::MAX), None),
        Err(VerifyError::Expired { .. })
    ));
}

#[test]
fn reason_rollback() {
    let parties = Parties::new(13);
    let verifier = parties.verifier();
    let old = parties.sign(parties.bundle(9));
    let new = parties.sign(parties.bundle(10));
    let accepted = verifier.verify(&new, NOW, None).expect("valid").accepted_epoch();
    assert_eq!(
        verifier.verify(&old, NOW, Some(&accepted)),
        Err(VerifyError::Rollback {
            epoch: 9,
            last_accepted: 10
        })
    );
    // The older bundle alone is fine: only the saved state makes it a rollback.
    assert!(verifier.verify(&old, NOW, None).is_ok());
}

#[test]
fn reason_equivocation_and_idempotent_redelivery() {
    let parties = Parties::new(14);
    let verifier = parties.verifier();
    let first = parties.sign(parties.bundle(9));
    let accepted = verifier.verify(&first, NOW, None).expect("valid").accepted_epoch();
    // The same bundle again is accepted and yields the same state.
    let again = verifier.verify(&first, NOW, Some(&accepted)).expect("re-delivery");
    assert_eq!(again.accepted_epoch(), accepted);
    // A different bundle signed for the same epoch is equivocation.
    let other = parties.sign(Bundle::new(
        fleet(),
        9,
        window(ISSUED_AT, EXPIRES_AT + 1),
        parties.keys(),
    ));
    assert_eq!(
        verifier.verify(&other, NOW, Some(&accepted)),
        Err(VerifyError::Equivocation { epoch: 9 })
    );
    // Newer epochs move forward.
    let next = parties.sign(parties.bundle(10));
    assert_eq!(
        verifier
            .verify(&next, NOW, Some(&accepted))
            .expect("newer")
            .accepted_epoch()
            .epoch(),
        10
    );
}

#[test]
fn accepted_epoch_round_trips_through_storage_bytes() {
    let parties = Parties::new(15);
    let verifier = parties.verifier();
    let accepted = verifier
        .verify(&parties.sign(parties.bundle(9)), NOW, None)
        .expect("valid")
        .accepted_epoch();
    let restored = AcceptedEpoch::from_bytes(&accepted.to_bytes()).expect("well-formed");
    assert_eq!(restored, accepted);
    assert_eq!(
        verifier.verify(&parties.sign(parties.bundle(8)), NOW, Some(&restored)),
        Err(VerifyError::Rollback {
            epoch: 8,
            last_accepted: 9
        })
    );
}

#[test]
fn accepted_epoch_is_bound_to_its_fleet() {
    let parties = Parties::new(115);
    let fleet_b = fleet_bundle::FleetId::new("fleet-b").expect("valid");
    let verifier_b = BundleVerifier::new(
        TrustAnchors::new(
            fleet_b.clone(),
            parties.witness_key.verifying_key().as_bytes(),
            parties.operator_key.verifying_key().as_bytes(),
        )
        .expect("strong keys"),
    );
    let bundle_b = |epoch| {
        parties.sign(Bundle::new(
            fleet_b.clone(),
            epoch,
            window(ISSUED_AT, EXPIRES_AT),
            parties.keys(),
        ))
    };
    let state_a = parties
        .verifier()
        .verify(&parties.sign(parties.bundle(9)), NOW, None)
        .expect("valid")
        .accepted_epoch();
    assert_eq!(state_a.fleet_id(), &fleet());

    // Fleet A's state handed to fleet B's verifier is refused, whether it would have looked like a rollback
    // (epoch 3 < 9) or would have let an older bundle through (epoch 10 > 9).
    for epoch in [3, 9, 10] {
        assert_eq!(
            verifier_b.verify(&bundle_b(epoch), NOW, Some(&state_a)),
            Err(VerifyError::StateOfOtherFleet { state_fleet: fleet() }),
            "epoch {epoch}"
        );
    }
    // Fleet B's own state works as before.
    let state_b = verifier_b
        .verify(&bundle_b(10), NOW, None)
        .expect("valid")
        .accepted_epoch();
    assert_eq!(
        verifier_b.verify(&bundle_b(3), NOW, Some(&state_b)),
        Err(VerifyError::Rollback {
            epoch: 3,
            last_accepted: 10
        })
    );

    // The fleet is part of the stored encoding; the unversioned 40-byte drafts are refused.
    let bytes = state_a.to_bytes();
    assert_eq!(&bytes[..3], &[0x01, 0x05, FLEET.len() as u8]);
    assert_eq!(&bytes[3..3 + FLEET.len()], FLEET.as_bytes());
    assert_eq!(bytes.len(), 43 + FLEET.len());
    let mut wrong_type = bytes.clone();
    wrong_type[1] = 0x01;
    assert_eq!(
        AcceptedEpoch::from_bytes(&wrong_type),
        Err(DecodeError::WrongMessageType { expected: 5, found: 1 })
    );
    assert_eq!(
        AcceptedEpoch::from_bytes(&bytes[..bytes.len() - 1]),
        Err(DecodeError::Truncated)
    );
    let mut legacy = [0u8; 40];
    legacy[7] = 9;
    assert_eq!(
        AcceptedEpoch::from_bytes(&legacy),
        Err(DecodeError::ObsoleteVersion { version: 0 })
    );
}

#[test]
fn reason_invalid_key_for_each_weak_key_rule() {
    let parties = Parties::new(16);
    let mut negative_zero = IDENTITY;
    negative_zero[31] |= 0x80;
    let cases: [(u8, [u8; 32], KeyError); 4] = [
        (Role::ResponseSigning.wire_byte(), IDENTITY, KeyError::SmallOrder),
        (
            Role::ResponseSigning.wire_byte(),
            non_canonical_strong_point(),
            KeyError::NonCanonicalEncoding,
        ),
        (
            Role::ResponseSigning.wire_byte(),
            negative_zero,
            KeyError::NonCanonicalEncoding,
        ),
        (Role::OpaqueServer.wire_byte(), [0; 32], KeyError::AllZero),
    ];
    for (role, key, error) in cases {
        let mut list = entries(&parties.keys());
        list.push((role, key));
        list.sort_by_key(|entry| entry.1);
        let index = list.iter().position(|entry| entry.1 == key).expect("inserted");
        let body = raw_bundle_body(FLEET.as_bytes(), 9, ISSUED_AT, EXPIRES_AT, &list);
        assert_eq!(
            malformed(&parties, &body),
            VerifyError::InvalidKey { index, error },
            "{error}"
        );
        // The unauthenticated decoder applies the same rules.
        assert_eq!(Bundle::from_bytes(&body), Err(DecodeError::InvalidKey { index, error }));
    }
}

#[test]
fn off_curve_key_is_refused_to_producers_but_harmless_to_verifiers() {
    // Documented trade-off (SPEC.md, weak-key rules): verifiers check encodings only, so a bundle signed with a
    // key that is no curve point verifies; that key can never verify a response, so nothing is gained by it.
    let parties = Parties::new(116);
    let off_curve = not_a_point();
    assert_eq!(
        FleetKey::new(off_curve, Role::ResponseSigning),
        Err(KeyError::NotAPoint)
    );

    let mut list = entries(&parties.keys());
    list.push((Role::ResponseSigning.wire_byte(), off_curve));
    list.sort_by_key(|entry| entry.1);
    let index = list.iter().position(|entry| entry.1 == off_curve).expect("inserted");
    let body = raw_bundle_body(FLEET.as_bytes(), 9, ISSUED_AT, EXPIRES_AT, &list);
    let verified = parties
        .verifier()
        .verify(&parties.sign_raw_bundle(&body), NOW, None)
        .expect("encoding rules hold");
    assert!(verified.approves(&off_curve, Role::ResponseSigning, NOW));
    assert!(
        VerifyingKey::from_bytes(&off_curve).is_err(),
        "unusable for verifying anything"
    );

    // The operator's signing API refuses to counter-sign it.
    let bundle = Bundle::from_bytes(&body).expect("encoding rules hold");
    let witness_signature = parties.witness().sign_bundle(&bundle);
    assert_eq!(
        parties.operator().countersign_bundle(bundle, &witness_signature),
        Err(CountersignError::InvalidKey {
            index,
            error: KeyError::NotAPoint
        })
    );
}

#[test]
fn every_small_order_point_is_rejected_as_pinned_key_and_as_response_signing_key() {
    let parties = Parties::new(17);
    let strong = parties.operator_key.verifying_key().to_bytes();
    for point in small_order_points() {
        assert!(
            VerifyingKey::from_bytes(&point).expect("on curve").is_weak(),
            "{point:02x?} not weak per dalek"
        );
        assert_eq!(
            TrustAnchors::new(fleet(), &point, &strong),
            Err(AnchorError::InvalidKey {
                party: Party::Witness,
                error: KeyError::SmallOrder
            })
        );
        assert_eq!(
            TrustAnchors::new(fleet(), &strong, &point),
            Err(AnchorError::InvalidKey {
                party: Party::Operator,
                error: KeyError::SmallOrder
            })
        );
        assert_eq!(FleetKey::new(point, Role::ResponseSigning), Err(KeyError::SmallOrder));
        let body = raw_bundle_body(FLEET.as_bytes(), 9, ISSUED_AT, EXPIRES_AT, &[(1, point)]);
        assert_eq!(
            malformed(&parties, &body),
            VerifyError::InvalidKey {
                index: 0,
                error: KeyError::SmallOrder
            }
        );
    }
    // Non-canonical encodings of small-order points (y >= p) are rejected for their encoding first.
    let mut y_is_p_plus_1 = [0xff; 32];
    y_is_p_plus_1[0] = 0xee;
    y_is_p_plus_1[31] = 0x7f;
    assert_eq!(
        FleetKey::new(y_is_p_plus_1, Role::ResponseSigning),
        Err(KeyError::NonCanonicalEncoding)
    );
    assert!(matches!(
        TrustAnchors::new(fleet(), &y_is_p_plus_1, &strong),
        Err(AnchorError::InvalidKey {
            error: KeyError::NonCanonicalEncoding,
            ..
        })
    ));
}

/// The workspace's one Ed25519 key rule (SPEC §7.1), with the exact error of each check: y = p and y = p + 1 with
/// both sign bits (ed25519-dalek decodes all four), small order, off the curve; for pinned keys, producers'
/// keys and received response-signing keys.
#[test]
fn one_key_rule_with_its_exact_errors() {
    let parties = Parties::new(20);
    let strong = parties.operator_key.verifying_key().to_bytes();
    let p_plus = |k: u8, sign: u8| {
        let mut encoding = [0xff; 32];
        encoding[0] = 0xed + k;
        encoding[31] = 0x7f | sign;
        encoding
    };
    let mut cases = vec![];
    for k in [0, 1] {
        for sign in [0, 0x80] {
            assert!(VerifyingKey::from_bytes(&p_plus(k, sign)).is_ok());
            cases.push((p_plus(k, sign), KeyError::NonCanonicalEncoding));
        }
    }
    cases.push((IDENTITY, KeyError::SmallOrder));
    cases.push((not_a_point(), KeyError::NotAPoint));
    for (key, error) in cases {
        assert_eq!(FleetKey::new(key, Role::ResponseSigning), Err(error), "{key:02x?}");
        assert_eq!(
            TrustAnchors::new(fleet(), &key, &strong),
            Err(AnchorError::InvalidKey {
                party: Party::Witness,
                error
            })
        );
        // Received in a bundle: the encoding checks apply, the curve check is left to whoever uses the key.
        let body = raw_bundle_body(FLEET.as_bytes(), 9, ISSUED_AT, EXPIRES_AT, &[(1, key)]);
        let received = Bundle::from_bytes(&body).map(|_| ());
        if error == KeyError::NotAPoint {
            assert_eq!(received, Ok(()));
        } else {
            assert_eq!(received, Err(DecodeError::InvalidKey { index: 0, error }));
            assert_eq!(malformed(&parties, &body), VerifyError::InvalidKey { index: 0, error });
        }
    }
}

#[test]
fn reason_key_with_wrong_role() {
    let parties = Parties::new(18);
    for (key, party, role) in [
        (
            parties.witness_key.verifying_key().to_bytes(),
            Party::Witness,
            Role::ResponseSigning,
        ),
        (
            parties.operator_key.verifying_key().to_bytes(),
            Party::Operator,
            Role::IplsSession,
        ),
    ] {
        let mut list = entries(&parties.keys());
        list.push((role.wire_byte(), key));
        list.sort_by_key(|entry| entry.1);
        let body = raw_bundle_body(FLEET.as_bytes(), 9, ISSUED_AT, EXPIRES_AT, &list);
        assert_eq!(
            malformed(&parties, &body),
            VerifyError::KeyWithWrongRole { party, role }
        );

        // The operator's signing API refuses to produce such a bundle in the first place.
        let bundle = Bundle::from_bytes(&body).expect("structurally valid");
        let witness_signature = parties.witness().sign_bundle(&bundle);
        assert_eq!(
            parties.operator().countersign_bundle(bundle, &witness_signature),
            Err(CountersignError::KeyWithWrongRole { party, role })
        );
    }
}

#[test]
fn non_canonical_signatures_are_rejected() {
    let parties = Parties::new(19);
    let bundle = parties.bundle(9);
    let body = bundle.to_bytes();
    let witness_signature = sign(&parties.witness_key, &[BUNDLE_WITNESS, &body]);

    // S + l: the same scalar mod l, so a lax verifier would accept it. Whether ed25519-dalek's `verify_strict`
    // refuses it depends on the build: its `legacy_compatibility` feature (which akd_core switches on in workspace
    // builds) makes it accept an unreduced S. The crate checks S < l itself, which is what this test pins.
    let malleated = malleate(&witness_signature);
    let operator_signature = sign(&parties.operator_key, &[BUNDLE_OPERATOR, &body, &malleated]);
    let wire = raw_envelope(TYPE_SIGNED_BUNDLE, &body, &malleated, &operator_signature);
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::BadWitnessSignature)
    );

    // Same for the counter-signature.
    let operator_signature = sign(&parties.operator_key, &[BUNDLE_OPERATOR, &body, &witness_signature]);
    let wire = raw_envelope(
        TYPE_SIGNED_BUNDLE,
        &body,
        &witness_signature,
        &malleate(&operator_signature),
    );
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::BadCounterSignature)
    );

    // And the operator will not counter-sign a malleated witness signature.
    assert_eq!(
        parties
            .operator()
            .countersign_bundle(bundle, &WitnessSignature::from_bytes(malleated)),
        Err(CountersignError::BadWitnessSignature)
    );
}

/// Integers below 2^256 as four little-endian `u64` limbs: just enough arithmetic modulo `l` for the test below,
/// since ed25519-dalek exposes no scalar arithmetic and no dependency is added for it.
type Limbs = [u64; 4];

fn group_order() -> Limbs {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(GROUP_ORDER.chunks_exact(8)) {
        *limb = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    limbs
}

/// `(x + y) mod l` for `x, y < l` (no overflow: `2l < 2^254`).
fn add_mod_l(x: Limbs, y: Limbs) -> Limbs {
    let l = group_order();
    let mut sum = [0u64; 4];
    let mut carry = false;
    for i in 0..4 {
        let (partial, c1) = x[i].overflowing_add(y[i]);
        let (partial, c2) = partial.overflowing_add(u64::from(carry));
        sum[i] = partial;
        carry = c1 || c2;
    }
    assert!(!carry);
    // Limbs compare most significant first.
    if sum.iter().rev().ge(l.iter().rev()) {
        let mut borrow = false;
        for i in 0..4 {
            let (partial, b1) = sum[i].overflowing_sub(l[i]);
            let (partial, b2) = partial.overflowing_sub(u64::from(borrow));
            sum[i] = partial;
            borrow = b1 || b2;
        }
        assert!(!borrow);
    }
    sum
}

/// `(n · x) mod l` for a little-endian integer `n` of any length and `x < l`, by double-and-add.
fn mul_mod_l(n_le: &[u8], x: Limbs) -> Limbs {
    let mut acc = [0u64; 4];
    for byte in n_le.iter().rev() {
        for bit in (0..8).rev() {
            acc = add_mod_l(acc, acc);
            if (byte >> bit) & 1 == 1 {
                acc = add_mod_l(acc, x);
            }
        }
    }
    acc
}

#[test]
fn small_order_r_accepted_by_lax_verify_is_rejected() {
    // R = identity (small order) and S = k·a mod l, with k = SHA-512(R || A || M) mod l and a the witness's secret
    // scalar: [S]B = [k·a]B = [k]A = R + [k]A, so the plain Ed25519 equation holds and lax `verify` accepts it. A
    // verifier must still refuse a small-order R (SPEC.md 7.3), as `verify_strict` does.
    use ed25519_dalek::Verifier;
    use sha2::{Digest, Sha512};

    let parties = Parties::new(20);
    let body = parties.bundle(9).to_bytes();
    let witness = parties.witness_key.verifying_key();
    let message = [BUNDLE_WITNESS, &body[..]].concat();

    let mut a = parties.witness_key.to_scalar_bytes();
    a[0] &= 0xf8; // RFC 8032 5.1.5 clamping
    a[31] &= 0x7f;
    a[31] |= 0x40;
    let hash = Sha512::new()
        .chain_update(IDENTITY)
        .chain_update(witness.as_bytes())
        .chain_update(&message)
        .finalize();
    let k = mul_mod_l(&hash, [1, 0, 0, 0]);
    let s = mul_mod_l(&a, k);
    let mut forged = [0u8; 64];
    forged[..32].copy_from_slice(&IDENTITY);
    for (chunk, limb) in forged[32..].chunks_exact_mut(8).zip(s) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    let signature = Signature::from_bytes(&forged);

    // The construction is right: lax verification accepts it, strict verification does not.
    assert!(
        witness.verify(&message, &signature).is_ok(),
        "lax verify accepts R = identity"
    );
    assert!(witness.verify_strict(&message, &signature).is_err());

    // The crate rejects it, even with a valid counter-signature over it.
    let operator_signature = sign(&parties.operator_key, &[BUNDLE_OPERATOR, &body, &forged]);
    let wire = raw_envelope(TYPE_SIGNED_BUNDLE, &body, &forged, &operator_signature);
    assert_eq!(
        parties.verifier().verify(&wire, NOW, None),
        Err(VerifyError::BadWitnessSignature)
    );
    // And the operator refuses to counter-sign it.
    assert_eq!(
        parties
            .operator()
            .countersign_bundle(parties.bundle(9), &WitnessSignature::from_bytes(forged)),
        Err(CountersignError::BadWitnessSignature)
    );
}

#[test]
fn responder_outside_the_bundle_or_in_another_role_is_rejected() {
    let parties = Parties::new(21);
    let verified = parties
        .verifier()
        .verify(&parties.sign(parties.bundle(9)), NOW, None)
        .expect("valid");
    let stranger = SigningKey::from_bytes(&[0x5a; 32]).verifying_key().to_bytes();
    assert!(!verified.approves(&stranger, Role::ResponseSigning, NOW));
    assert_eq!(
        verified.check_responder(&stranger, Role::ResponseSigning, NOW),
        Err(ResponderError::NotInBundle)
    );

    let opaque = parties.vault_keys[2].verifying_key().to_bytes();
    assert!(verified.approves(&opaque, Role::OpaqueServer, NOW));
    assert!(!verified.approves(&opaque, Role::ResponseSigning, NOW));
    assert_eq!(
        verified.check_responder(&opaque, Role::ResponseSigning, NOW),
        Err(ResponderError::WrongRole {
            listed_as: Role::OpaqueServer
        })
    );
    // (That a pinned anchor key is never approved as a vault key is shown in `reason_key_with_wrong_role`: a bundle
    // listing one is rejected, so no `VerifiedBundle` can hold it.)
}

#[test]
fn a_verified_bundle_kept_in_memory_stops_approving_when_it_expires() {
    let parties = Parties::new(121);
    let verified = parties
        .verifier()
        .verify(&parties.sign(parties.bundle(9)), NOW, None)
        .expect("valid");
    let vault = parties.vault_keys[0].verifying_key().to_bytes();
    assert_eq!(verified.bundle().keys().role_of(&vault), Some(Role::ResponseSigning));
    // Inside [issued_at, expires_at): approved, up to the last second.
    for now in [ISSUED_AT, NOW.0, EXPIRES_AT - 1] {
        assert!(
            verified.approves(&vault, Role::ResponseSigning, UnixSeconds(now)),
            "at {now}"
        );
        assert_eq!(
            verified.check_responder(&vault, Role::ResponseSigning, UnixSeconds(now)),
            Ok(())
        );
    }
    // From expires_at on, the same in-memory bundle approves nothing, listed or not.
    for now in [EXPIRES_AT, EXPIRES_AT + 1, u64::MAX] {
        assert!(
            !verified.approves(&vault, Role::ResponseSigning, UnixSeconds(now)),
            "at {now}"
        );
        assert_eq!(
            verified.check_responder(&vault, Role::ResponseSigning, UnixSeconds(now)),
            Err(ResponderError::Expired {
                expires_at: UnixSeconds(EXPIRES_AT),
                now: UnixSeconds(now)
            })
        );
    }
    // Nor before issued_at (a caller clock that went backwards); time is checked before the key list.
    assert_eq!(
        verified.check_responder(&[0x5a; 32], Role::ResponseSigning, UnixSeconds(ISSUED_AT - 1)),
        Err(ResponderError::NotYetValid {
            issued_at: UnixSeconds(ISSUED_AT),
            now: UnixSeconds(ISSUED_AT - 1)
        })
    );
    assert!(!verified.approves(&vault, Role::ResponseSigning, UnixSeconds(0)));
}

#[test]
fn pinned_keys_must_be_distinct_parties() {
    let parties = Parties::new(22);
    let witness = parties.witness_key.verifying_key().to_bytes();
    assert_eq!(
        TrustAnchors::new(fleet(), &witness, &witness),
        Err(AnchorError::SameKey)
    );
    assert!(matches!(
        fleet_bundle::OperatorSigner::new(parties.witness_key.clone(), &witness),
        Err(AnchorError::SameKey)
    ));
}

#[test]
fn anchors_of_another_deployment_reject_the_bundle() {
    let parties = Parties::new(23);
    let others = Parties::new(123);
    let wire = parties.sign(parties.bundle(9));
    assert_eq!(
        BundleVerifier::new(others.anchors()).verify(&wire, NOW, None),
        Err(VerifyError::BadWitnessSignature)
    );
    // Witness pinned right, operator wrong.
    let mixed = TrustAnchors::new(
        fleet(),
        parties.witness_key.verifying_key().as_bytes(),
        others.operator_key.verifying_key().as_bytes(),
    )
    .expect("strong keys");
    assert_eq!(
        BundleVerifier::new(mixed).verify(&wire, NOW, None),
        Err(VerifyError::BadCounterSignature)
    );
}

#[test]
fn key_set_canonicalises_and_rejects_duplicates() {
    let a = FleetKey::new([2; 32], Role::OpaqueServer).expect("nonzero");
    let b = FleetKey::new([1; 32], Role::IplsSession).expect("nonzero");
    let set = KeySet::new([a, b]).expect("distinct");
    assert_eq!(set.as_slice(), &[b, a]);
    let same_key_other_role = FleetKey::new([2; 32], Role::IplsSession).expect("nonzero");
    assert_eq!(
        KeySet::new([a, same_key_other_role]),
        Err(fleet_bundle::KeySetError::DuplicateKey)
    );
    assert_eq!(KeySet::new([]), Err(fleet_bundle::KeySetError::Empty));
    let too_many = (0..=KeySet::MAX_KEYS).map(|i| {
        let mut key = [1; 32];
        key[..8].copy_from_slice(&(i as u64).to_be_bytes());
        FleetKey::new(key, Role::OpaqueServer).expect("nonzero")
    });
    assert_eq!(
        KeySet::new(too_many),
        Err(fleet_bundle::KeySetError::TooMany {
            count: KeySet::MAX_KEYS + 1
        })
    );
}

#[test]
fn largest_bundle_fits_the_envelope_and_verifies() {
    let parties = Parties::new(24);
    let keys = KeySet::new((0..KeySet::MAX_KEYS).map(|i| {
        let mut key = [1; 32];
        key[..8].copy_from_slice(&(i as u64).to_be_bytes());
        FleetKey::new(key, Role::OpaqueServer).expect("nonzero")
    }))
    .expect("within bounds");
    let bundle = Bundle::new(
        fleet_bundle::FleetId::new(&"f".repeat(64)).expect("valid"),
        u64::MAX,
        window(0, u64::MAX),
        keys,
    );
    let anchors = TrustAnchors::new(
        bundle.fleet_id().clone(),
        parties.witness_key.verifying_key().as_bytes(),
        parties.operator_key.verifying_key().as_bytes(),
    )
    .expect("strong");
    let wire = parties.sign(bundle);
    assert!(wire.len() < 4 + usize::from(u16::MAX) + 128);
    assert!(BundleVerifier::new(anchors).verify(&wire, NOW, None).is_ok());
}

/// A canonical encoding of a point that is on the curve and not of small order, with `y` rewritten as `y + p`.
fn non_canonical_strong_point() -> [u8; 32] {
    for k in 2u8..19 {
        let mut encoding = [0xff; 32];
        encoding[0] = 0xed + k;
        encoding[31] = 0x7f;
        if VerifyingKey::from_bytes(&encoding).is_ok_and(|key| !key.is_weak()) {
            return encoding;
        }
    }
    panic!("no y in 2..19 is on the curve")
}

/// A canonical `y` for which no `x` exists.
fn not_a_point() -> [u8; 32] {
    (2u8..=255)
        .map(|y| {
            let mut encoding = [0; 32];
            encoding[0] = y;
            encoding
        })
        .find(|encoding| VerifyingKey::from_bytes(encoding).is_err())
        .expect("about half of all y are not on the curve")
}

mod weak_key_rules_agree_with_curve_arithmetic {
    use super::*;
    use proptest::prelude::*;

    /// Encodings near the interesting edges: small-order points, `y >= p`, strong keys, each with either sign bit.
    fn interesting_encoding() -> impl Strategy<Value = [u8; 32]> {
        let mut bases = small_order_points();
        for k in 0u8..19 {
            let mut y_plus_p = [0xff; 32];
            y_plus_p[0] = 0xed + k;
            y_plus_p[31] = 0x7f;
            bases.push(y_plus_p);
        }
        bases.push(SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes());
        prop_oneof![
            any::<[u8; 32]>(),
            (prop::sample::select(bases), any::<bool>()).prop_map(|(mut encoding, sign)| {
                encoding[31] = (encoding[31] & 0x7f) | if sign { 0x80 } else { 0 };
                encoding
            }),
        ]
    }

    /// Canonical per RFC 8032, computed by re-compressing the decoded point.
    fn canonical_point(encoding: &[u8; 32]) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(encoding)
            .ok()
            .filter(|key| key.to_edwards().compress().to_bytes() == *encoding)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn constructor_rules_match_decompression(encoding in interesting_encoding()) {
            let expected = canonical_point(&encoding).is_some_and(|key| !key.is_weak());
            prop_assert_eq!(FleetKey::new(encoding, Role::ResponseSigning).is_ok(), expected);
        }

        #[test]
        fn received_rules_match_decompression(encoding in interesting_encoding()) {
            // Received keys: rejected exactly when non-canonical or of small order; off-curve keys pass.
            let decodes = VerifyingKey::from_bytes(&encoding).ok();
            let non_canonical = decodes.is_some_and(|key| key.to_edwards().compress().to_bytes() != encoding)
                || (decodes.is_none() && {
                    // Off-curve bytes: only y >= p is non-canonical.
                    let mut y = encoding;
                    y[31] &= 0x7f;
                    y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f && y[0] >= 0xed
                });
            let weak = decodes.is_some_and(|key| key.is_weak());
            let body = raw_bundle_body(FLEET.as_bytes(), 1, ISSUED_AT, EXPIRES_AT, &[(1, encoding)]);
            prop_assert_eq!(Bundle::from_bytes(&body).is_ok(), !non_canonical && !weak);
        }
    }
}

#[test]
fn checks_run_in_the_order_spec_md_documents() {
    // Each bundle fails two checks; the earlier one (SPEC.md 6.1) must be reported.
    let parties = Parties::new(25);
    let impostor = Parties::new(125);
    let verifier = parties.verifier();
    let weak = {
        let mut list = entries(&parties.keys());
        list.insert(0, (Role::ResponseSigning.wire_byte(), IDENTITY));
        list.sort_by_key(|entry| entry.1);
        list
    };
    let stale_epoch_3 = raw_bundle_body(FLEET.as_bytes(), 3, ISSUED_AT, ISSUED_AT + 10, &weak);
    let state = AcceptedEpoch::new(fleet(), 5, [0; 32]);

    // Unknown fleet (3) before bad witness signature (4).
    let other_fleet = raw_bundle_body(b"fleet-b", 9, ISSUED_AT, EXPIRES_AT, &weak);
    assert!(matches!(
        verifier.verify(&impostor.sign_raw_bundle(&other_fleet), NOW, None),
        Err(VerifyError::UnknownFleet { .. })
    ));
    // Bad witness signature (4) before expiry (7).
    assert_eq!(
        verifier.verify(&impostor.sign_raw_bundle(&stale_epoch_3), NOW, Some(&state)),
        Err(VerifyError::BadWitnessSignature)
    );
    // Expired (7) before rollback (8) before invalid key (9).
    let wire = parties.sign_raw_bundle(&stale_epoch_3);
    assert!(matches!(
        verifier.verify(&wire, NOW, Some(&state)),
        Err(VerifyError::Expired { .. })
    ));
    assert!(matches!(
        verifier.verify(&wire, UnixSeconds(ISSUED_AT), Some(&state)),
        Err(VerifyError::Rollback { .. })
    ));
    assert!(matches!(
        verifier.verify(&wire, UnixSeconds(ISSUED_AT), None),
        Err(VerifyError::InvalidKey { .. })
    ));
}
