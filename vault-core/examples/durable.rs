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
use std::time::Instant;

use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfPolicy, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vault_core::{Command, FleetKeys, MemoryStore, Principal, RedbStore, Request, Response, Store, Vault, VaultConfig};

type Failure = Box<dyn std::error::Error>;

const PASSWORD: &[u8] = b"purple elephant sunrise 42";

/// Registers alice, then runs `logins` successful retrievals; returns logins per second.
fn logins<S: Store>(store: S, keys: FleetKeys, logins: u32) -> Result<f64, Failure> {
    let config = VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        ..VaultConfig::default()
    };
    let vault = Vault::new(keys, config, store);
    let mut rng = StdRng::seed_from_u64(7);
    let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
    let user = UserId::new(b"alice".to_vec())?;
    let principal = Principal::Account(user.clone());
    let apply = |rng: &mut StdRng, request| -> Result<Response, Failure> {
        let command = Command {
            at_ms: 1_700_000_000_000,
            entropy: rng.r#gen(),
            principal: principal.clone(),
            request,
        };
        vault.apply(&command).map_err(|error| error.to_string().into())
    };
    let key = BackupKey::generate(&mut rng);
    let (registration, request) = ClientRegistration::start(&mut rng, &client, user.clone(), PASSWORD)?;
    let Response::RegistrationStarted(response) = apply(&mut rng, Request::RegistrationStart(request))? else {
        return Err("unexpected response".into());
    };
    let (awaiting, upload) = registration.finish(&mut rng, &response, &key)?;
    let Response::Registered(receipt) = apply(&mut rng, Request::RegistrationFinish(upload))? else {
        return Err("unexpected response".into());
    };
    awaiting.verify(&receipt)?;

    let clock = Instant::now();
    for _ in 0..logins {
        let (login, request) = ClientLogin::start(&mut rng, &client, user.clone(), PASSWORD)?;
        let Response::LoginStarted { session, response } = apply(&mut rng, Request::LoginStart(request))? else {
            return Err("unexpected response".into());
        };
        let (pending, finalization) = login.finish(&mut rng, &response)?;
        let Response::KeyReleased(release) = apply(&mut rng, Request::LoginFinish { session, finalization })? else {
            return Err("unexpected response".into());
        };
        if pending.open(&release)? != key {
            return Err("wrong key released".into());
        }
    }
    Ok(f64::from(logins) / clock.elapsed().as_secs_f64())
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
