//! Every parser is total: commands, key files and stored values of any shape give a typed error, never a panic.

mod common;

use backup_protocol::{BackupKey, ClientLogin};
use common::{Harness, PASSWORD, user};
use proptest::prelude::*;
use vault_core::{Command, FleetKeys, Request, Response, Store, VaultError};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn command_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let _ = Command::from_bytes(&bytes);
        let _ = Response::from_bytes(&bytes);
        let _ = FleetKeys::from_bytes(&bytes);
    }

    #[test]
    fn framed_commands_never_panic(kind in 0u8..10, body in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = vec![1, 0x51];
        bytes.extend_from_slice(&[0; 40]);
        bytes.push(kind);
        bytes.extend_from_slice(&body);
        let decoded = Command::from_bytes(&bytes);
        if kind == 0 || kind == 9 {
            prop_assert!(decoded.is_err(), "kind {} does not exist", kind);
        }
    }

    #[test]
    fn framed_responses_never_panic(kind in 0u8..11, body in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = vec![1, 0x52, kind];
        bytes.extend_from_slice(&body);
        let decoded = Response::from_bytes(&bytes);
        if kind == 0 || kind == 10 {
            prop_assert!(decoded.is_err(), "kind {} does not exist", kind);
        }
    }
}

#[test]
fn corrupt_stored_values_are_reported_not_trusted() {
    let mut harness = Harness::new(9);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    let stored = harness.vault.store().get(b"user/alice").unwrap().unwrap();
    // Every truncation and every single-byte flip of the stored user state.
    let mut variants: Vec<Vec<u8>> = (0..stored.value.len())
        .map(|len| stored.value[..len].to_vec())
        .collect();
    for position in 0..stored.value.len() {
        let mut flipped = stored.value.clone();
        flipped[position] ^= 0x80;
        variants.push(flipped);
    }
    let mut corrupt = 0;
    for variant in variants {
        let current = harness.vault.store().get(b"user/alice").unwrap().unwrap();
        harness
            .vault
            .store()
            .compare_and_swap(b"user/alice", Some(current.version), Some(&variant))
            .unwrap();
        let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, alice.clone(), PASSWORD).unwrap();
        // A flip inside a counter or inside the OPAQUE record can still decode; nothing panics either way.
        if let Err(VaultError::Corrupt(_)) = harness.apply(Request::LoginStart(request)) {
            corrupt += 1;
        }
    }
    assert!(
        corrupt > stored.value.len(),
        "every truncation is corrupt, and most flips"
    );
}
