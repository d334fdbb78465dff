//! vault-core's state machine (issue #17's vault target, first step): a sequence of command-log entries, seeded
//! from `vault_replica.json`'s logs (real registrations, logins, escrows, deletions and sweeps) and mutated by the
//! fuzzer, applied to two vaults built from the same key file and configuration. After every command: (ii) a
//! refusal leaves the store exactly as it was (`VaultError`'s doc: every refusal but `Conflict`, `Store`, and
//! `Locked`, which writes the lockout it reports), (iii) both
//! vaults give the same answer and hold the same store (replicas, SPEC §10), (iv) no panic.

use std::sync::OnceLock;

use vault_core::{FleetKeys, MemoryStore, Vault, VaultConfig, VaultError};

/// The key file and configuration of each `vault_replica.json` group.
pub(super) fn setups() -> &'static [(Vec<u8>, VaultConfig)] {
    static SETUPS: OnceLock<Vec<(Vec<u8>, VaultConfig)>> = OnceLock::new();
    SETUPS.get_or_init(|| {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../vectors/vault_replica.json")).expect("vector file");
        let groups = file["testGroups"].as_array().expect("testGroups");
        groups
            .iter()
            .map(|group| {
                let (keys, config) =
                    crate::vault_replica::vector(group.as_object().expect("group")).expect("vector group");
                (keys.to_bytes().to_vec(), config)
            })
            .collect()
    })
}

/// The fleet keys of one group.
pub(super) fn vault_keys(setup: &(Vec<u8>, VaultConfig)) -> FleetKeys {
    FleetKeys::from_bytes(&setup.0).expect("vector key file")
}

fn vault(setup: &(Vec<u8>, VaultConfig)) -> Vault<MemoryStore> {
    Vault::new(vault_keys(setup), setup.1, MemoryStore::new())
}

/// Selector byte: which group's vault; then commands, each behind a 2-byte big-endian length. Returns whether some
/// command was accepted.
pub(super) fn sequence(data: &[u8]) -> bool {
    let Some((&which, mut rest)) = data.split_first() else {
        return false;
    };
    let setup = &setups()[usize::from(which) % setups().len()];
    let (first, second) = (vault(setup), vault(setup));
    let mut accepted = false;
    while let Some((length, after)) = rest.split_first_chunk::<2>() {
        let (command, next) = after.split_at(usize::from(u16::from_be_bytes(*length)).min(after.len()));
        rest = next;
        let before = (first.store().snapshot(), first.store().last_version());
        let answer = first.apply_bytes(command);
        let replica = second.apply_bytes(command);
        assert!(answer == replica, "vault: two vaults answered one command differently");
        let after = (first.store().snapshot(), first.store().last_version());
        assert!(
            after == (second.store().snapshot(), second.store().last_version()),
            "vault: replicas diverged"
        );
        match answer {
            Ok(_) => accepted = true,
            Err(VaultError::Conflict | VaultError::Store(_) | VaultError::Locked) => {}
            Err(_) => assert!(after == before, "vault: a refused command changed the store"),
        }
    }
    accepted
}
