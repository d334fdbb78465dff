//! The vault reports the keys, policy and store it was built with, and its `Debug` shows the public halves and the
//! policy, never a secret byte.

use std::fmt::Write;

use backup_protocol::KsfPolicy;
use rand::SeedableRng;
use rand::rngs::StdRng;
use vault_core::{FleetKeys, MemoryStore, Store, Vault, VaultConfig};

/// A policy with every field away from its default, so that an accessor answering the default is caught.
fn unusual_config() -> VaultConfig {
    VaultConfig {
        attempt_limit: 3,
        challenge_ttl_ms: 11,
        login_ttl_ms: 12,
        escrow_ttl_ms: 13,
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        max_pending_per_principal: 5,
        max_pending_total: 17,
        sweep_page: 7,
    }
}

#[test]
fn the_vault_reports_what_it_was_built_with() {
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(1));
    let store = MemoryStore::new();
    store.compare_and_swap(b"marker", None, Some(b"value")).unwrap();
    let config = unusual_config();
    assert_ne!(config, VaultConfig::default());

    let vault = Vault::new(keys.clone(), config, store);
    assert_eq!(vault.config(), &config);
    assert_eq!(vault.keys().to_bytes(), keys.to_bytes());
    assert_eq!(
        vault.store().get(b"marker").unwrap().map(|entry| entry.value),
        Some(b"value".to_vec())
    );
}

#[test]
fn debug_shows_the_policy_and_public_keys_and_no_secret() {
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(2));
    let secret = keys.to_bytes();
    let vault = Vault::new(keys.clone(), unusual_config(), MemoryStore::new());
    let shown = format!("{vault:?}");
    assert!(shown.starts_with("Vault {"), "{shown}");
    assert!(shown.contains(&format!("{:?}", unusual_config())), "{shown}");
    assert!(shown.contains(&format!("{keys:?}")), "{shown}");
    // No 8-byte window of the key file (OPRF seed, OPAQUE and Ed25519 secrets, IPLS secret) appears, in any of the
    // ways Debug prints bytes.
    for window in secret.windows(8) {
        assert!(!shown.contains(&format!("{window:?}")), "{shown}");
        let hex = window.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        assert!(!shown.contains(&hex), "{shown}");
    }
}
