//! The security code against libsignal's published vectors (rust/protocol/src/fingerprint.rs, tests
//! `fingerprint_test_v1` and `fingerprint_test_v2`, the same values as Java's `testVectorsVersion1/2`).

use kt_verify::{SecurityCode, SecurityCodeError};

const ALICE_IDENTITY: &str = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868";
const BOB_IDENTITY: &str = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b";
const ALICE_ID: &[u8] = b"+14152222222";
const BOB_ID: &[u8] = b"+14153333333";
const DISPLAYABLE: &str = "300354477692869396892869876765458257569162576843440918079131";
const ALICE_SCANNABLE_V1: &str = "080112220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d";
const BOB_SCANNABLE_V1: &str = "080112220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d1a220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df";
const ALICE_SCANNABLE_V2: &str = "080212220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d";
const BOB_SCANNABLE_V2: &str = "080212220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d1a220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df";

fn codes(version: u32) -> (SecurityCode, SecurityCode) {
    let alice = hex::decode(ALICE_IDENTITY).unwrap();
    let bob = hex::decode(BOB_IDENTITY).unwrap();
    (
        SecurityCode::new(version, ALICE_ID, &alice, BOB_ID, &bob),
        SecurityCode::new(version, BOB_ID, &bob, ALICE_ID, &alice),
    )
}

#[test]
fn libsignal_vectors_version_1_and_2() {
    for (version, alice_qr, bob_qr) in [
        (1, ALICE_SCANNABLE_V1, BOB_SCANNABLE_V1),
        (2, ALICE_SCANNABLE_V2, BOB_SCANNABLE_V2),
    ] {
        let (alice, bob) = codes(version);
        assert_eq!(alice.digits(), DISPLAYABLE);
        assert_eq!(bob.digits(), DISPLAYABLE);
        assert_eq!(alice.to_string(), DISPLAYABLE);
        assert_eq!(hex::encode(alice.qr_payload()), alice_qr);
        assert_eq!(hex::encode(bob.qr_payload()), bob_qr);
        assert_eq!(alice.matches_qr_payload(&bob.qr_payload()), Ok(true));
        assert_eq!(bob.matches_qr_payload(&alice.qr_payload()), Ok(true));
        assert_eq!(alice.matches_qr_payload(&alice.qr_payload()), Ok(false));
    }
}

#[test]
fn version_mismatch_is_an_error() {
    let (alice, _) = codes(1);
    let (_, bob_v2) = codes(2);
    assert_eq!(
        alice.matches_qr_payload(&bob_v2.qr_payload()),
        Err(SecurityCodeError::VersionMismatch { ours: 1, theirs: 2 })
    );
}

#[test]
fn substituted_key_changes_code_and_fails_scan() {
    let alice = hex::decode(ALICE_IDENTITY).unwrap();
    let bob = hex::decode(BOB_IDENTITY).unwrap();
    let mut mallory = bob.clone();
    mallory[5] ^= 1;
    let alice_view = SecurityCode::new(1, ALICE_ID, &alice, BOB_ID, &mallory);
    let (_, bob_view) = codes(1);
    assert_ne!(alice_view.digits(), bob_view.digits());
    assert_eq!(alice_view.matches_qr_payload(&bob_view.qr_payload()), Ok(false));
}

#[test]
fn every_single_byte_change_of_a_payload_fails() {
    let (alice, bob) = codes(1);
    let payload = bob.qr_payload();
    for index in 0..payload.len() {
        for bit in 0..8 {
            let mut mutated = payload.clone();
            mutated[index] ^= 1 << bit;
            assert_ne!(alice.matches_qr_payload(&mutated), Ok(true), "byte {index} bit {bit}");
        }
    }
}

#[test]
fn debug_shows_no_hash_bytes() {
    let (alice, _) = codes(1);
    let debug = format!("{alice:?}");
    assert!(debug.contains(DISPLAYABLE));
    assert!(!debug.contains("1e301a03"));
}
