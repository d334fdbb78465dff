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
#[path = "../common/single_node.rs"]
mod single_node;

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter::client::Client;
use adapter::cluster::{Cluster, Deadlines, Failure, Snapshots};
use backup_protocol::{BackupKey, KsfPolicy, UserId};
use rand::SeedableRng;
use rand::rngs::StdRng;
use single_node::PASSWORD;
use vault_core::{FleetKeys, MemoryStore, Vault, VaultConfig};

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
    single_node::logins_per_second(&Vault::new(keys, config(), MemoryStore::new()), logins)
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
