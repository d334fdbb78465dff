//! Logins per second of one vault on `RedbStore` (every write durable before it returns) against the same vault on
//! `MemoryStore`, same logins, same run.
//!
//! `cargo run --release -p vault-core --example durable -- [logins] [directory]`
//!
//! A login is what a client sees end to end: its OPAQUE start, the vault's LoginStart, its OPAQUE finish, the
//! vault's LoginFinish and the opening of the key release, one after the other, with fast Argon2id parameters so
//! that the client's KSF does not dominate. The redb file goes in a fresh temporary directory under `directory`
//! (default: the system's temporary directory): put it on the disk you want to measure.

use std::path::PathBuf;

use backup_protocol::KsfPolicy;
use rand::SeedableRng;
use rand::rngs::StdRng;
use vault_core::{FleetKeys, MemoryStore, RedbStore, Store, Vault, VaultConfig};

#[path = "common/single_node.rs"]
mod single_node;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The shared single-node loop on a vault over `store`.
fn logins<S: Store>(store: S, keys: FleetKeys, logins: u32) -> Result<f64, Failure> {
    let config = VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        ..VaultConfig::default()
    };
    single_node::logins_per_second(&Vault::new(keys, config, store), logins)
}

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let count: u32 = args.next().map_or(Ok(200), |count| count.parse())?;
    let base = args.next().map_or_else(std::env::temp_dir, PathBuf::from);
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(1));

    let memory = logins(MemoryStore::new(), keys.clone(), count)?;
    let dir = tempfile::tempdir_in(&base)?;
    let durable = logins(RedbStore::open(dir.path().join("vault.redb"))?, keys, count)?;
    println!(
        "{count} logins, one after the other; redb file under {}",
        base.display()
    );
    println!(
        "MemoryStore: {memory:.1} logins/s ({:.2} ms per login)",
        1000.0 / memory
    );
    println!(
        "RedbStore:   {durable:.1} logins/s ({:.2} ms per login)",
        1000.0 / durable
    );
    Ok(())
}
