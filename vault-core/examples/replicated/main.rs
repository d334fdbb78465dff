//! The vault replicated on openraft: 5 in-process replicas, then a measurement of committed logins per second on
//! them against the single-node vault doing the same logins.
//!
//! `cargo run --release -p vault-core --example replicated -- [logins]`
//!
//! A login here is what a client sees end to end: its OPAQUE start, the vault's LoginStart, its OPAQUE finish,
//! the vault's LoginFinish and the opening of the key release. Replicated, each of the two vault commands is
//! proposed by the leader, committed by a majority and applied by every replica before the client gets its
//! answer. The adapter is in `adapter/` (SPEC.md, "Replication").

// The fault tests (tests/replication.rs) use the parts of the adapter this example does not.
#[allow(dead_code)]
mod adapter;

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter::client::Client;
use adapter::cluster::{Cluster, Deadlines, Failure, Snapshots};
use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfPolicy, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vault_core::{Command, FleetKeys, MemoryStore, Principal, Request, Response, Vault, VaultConfig};

const PASSWORD: &[u8] = b"purple elephant sunrise 42";
const REPLICAS: u64 = 5;
const CONCURRENT_CLIENTS: u64 = 8;

fn config() -> VaultConfig {
    VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        // Measuring successful logins only: the counter resets after each one, the limit is never reached.
        ..VaultConfig::default()
    }
}

/// `logins` successful retrievals on a single in-process vault, one after the other.
fn single_node(keys: FleetKeys, logins: u32) -> Result<f64, Failure> {
    let mut rng = StdRng::seed_from_u64(7);
    let vault = Vault::new(keys, config(), MemoryStore::new());
    let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
    let user = UserId::new(b"alice".to_vec())?;
    // Every command comes from alice's authenticated connection, as in the replicated run.
    let principal = Principal::Account(user.clone());
    let command = |rng: &mut StdRng, request| Command {
        at_ms: 1_700_000_000_000,
        entropy: rng.r#gen(),
        principal: principal.clone(),
        request,
    };
    let key = BackupKey::generate(&mut rng);
    let (registration, request) = ClientRegistration::start(&mut rng, &client, user.clone(), PASSWORD)?;
    let Response::RegistrationStarted(response) =
        vault.apply(&command(&mut rng, Request::RegistrationStart(request)))?
    else {
        return Err("unexpected response".into());
    };
    let (awaiting, upload) = registration.finish(&mut rng, &response, &key)?;
    let Response::Registered(receipt) = vault.apply(&command(&mut rng, Request::RegistrationFinish(upload)))? else {
        return Err("unexpected response".into());
    };
    awaiting.verify(&receipt)?;

    let clock = Instant::now();
    for _ in 0..logins {
        let (login, request) = ClientLogin::start(&mut rng, &client, user.clone(), PASSWORD)?;
        let Response::LoginStarted { session, response } =
            vault.apply(&command(&mut rng, Request::LoginStart(request)))?
        else {
            return Err("unexpected response".into());
        };
        let (pending, finalization) = login.finish(&mut rng, &response)?;
        let Response::KeyReleased(release) =
            vault.apply(&command(&mut rng, Request::LoginFinish { session, finalization }))?
        else {
            return Err("unexpected response".into());
        };
        if pending.open(&release)? != key {
            return Err("wrong key released".into());
        }
    }
    Ok(f64::from(logins) / clock.elapsed().as_secs_f64())
}

/// `logins` successful retrievals on the replicated vault, shared between `clients` users logging in at once.
/// Two rates: as the clients see them (each answer after a majority committed and the leader applied), and
/// until every replica has applied every login (followers apply behind the leader).
async fn replicated(cluster: &Arc<Cluster>, logins: u32, clients: u64) -> Result<(f64, f64), Failure> {
    let mut devices = Vec::new();
    for index in 0..clients {
        // Seeds differ between runs: a device id reused with its sequence numbers restarting would be answered
        // `Stale`, as the idempotency rules require.
        let seed = clients * 1000 + index;
        let user = UserId::new(format!("user-{clients}-{index}").into_bytes())?;
        let mut device = Client::new(cluster.as_ref(), user, seed);
        let key = BackupKey::generate(&mut StdRng::seed_from_u64(seed));
        device.register(cluster.as_ref(), PASSWORD, &key).await?;
        devices.push((device, key));
    }
    let per_client = logins / u32::try_from(clients)?;
    let clock = Instant::now();
    let mut tasks = Vec::new();
    for (mut device, key) in devices {
        let cluster = Arc::clone(cluster);
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                if device.retrieve(cluster.as_ref(), PASSWORD).await? != Some(key.clone()) {
                    return Err("wrong key released".into());
                }
            }
            Ok::<(), Failure>(())
        }));
    }
    for task in tasks {
        task.await?.map_err(|error| error.to_string())?;
    }
    let answered = clock.elapsed();
    cluster.converge().await?;
    let applied = clock.elapsed();
    let done = f64::from(per_client * u32::try_from(clients)?);
    Ok((done / answered.as_secs_f64(), done / applied.as_secs_f64()))
}

fn main() -> Result<(), Failure> {
    let logins: u32 = std::env::args().nth(1).map_or(Ok(200), |arg| arg.parse())?;
    let keys = FleetKeys::generate(&mut StdRng::seed_from_u64(1));

    let single = single_node(keys.clone(), logins)?;
    println!("single-node vault, 1 client:         {single:8.1} logins/s");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let deadlines = Deadlines {
            request: Duration::from_secs(10),
            ..Deadlines::default()
        };
        let cluster = Arc::new(Cluster::start(REPLICAS, keys, config(), 2, deadlines, Snapshots::Default).await?);
        for clients in [1, CONCURRENT_CLIENTS] {
            let (answered, applied) = replicated(&cluster, logins, clients).await?;
            println!(
                "{REPLICAS} replicas (openraft), {clients} client(s): {answered:8.1} logins/s answered, \
                 {applied:8.1} logins/s applied on every replica"
            );
        }
        let applied = cluster.converge().await?;
        let states: Vec<_> = (1..=REPLICAS).filter_map(|id| cluster.replica(id)).collect();
        let identical = states.windows(2).all(|pair| pair[0] == pair[1]);
        println!("all {REPLICAS} replicas applied {applied} entries; stores identical: {identical}");
        // Every replica must have done the vault's work itself: a follower brought forward by a snapshot would
        // have skipped it and flattered the figures.
        let snapshotted: Vec<_> = (1..=REPLICAS)
            .filter(|&id| cluster.snapshot_index(id).is_some())
            .collect();
        println!("replicas that built or installed a snapshot: {snapshotted:?}");
        if !snapshotted.is_empty() {
            return Err("a snapshot was taken during the measurement".into());
        }
        cluster.shutdown().await?;
        if identical {
            Ok(())
        } else {
            Err("replicas diverged".into())
        }
    })
}
