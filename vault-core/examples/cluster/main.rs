//! Five vault replicas as five OS processes on 127.0.0.1 (Raft log and state on redb in each one's directory, Raft
//! RPCs over TCP, openraft for consensus), driven by concurrent clients; then one node on redb doing the same
//! logins, and the time from a leader's SIGKILL to the next login answered.
//!
//! `cargo run --release -p vault-core --example cluster -- [logins] [clients] [directory]`
//!
//! The replicas are this executable started again with `VAULT_CORE_REPLICA` set (`fleet/replica.rs`). Their files
//! go in a fresh directory under `directory` (default: the system's temporary directory), so the figures depend on
//! that disk's fsync. A login is what a client sees end to end, as in the `replicated` example: LoginStart and
//! LoginFinish each committed by a majority (every replica's log on its disk) and applied by the leader before the
//! answer.

#[path = "../replicated/adapter/mod.rs"]
#[allow(dead_code)]
mod adapter;
#[allow(dead_code)]
mod fleet;
#[path = "../common/single_node.rs"]
mod single_node;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter::NodeId;
use adapter::client::Client;
use backup_protocol::{BackupKey, UserId};
use fleet::processes::{Fleet, Launcher};
use fleet::remote::{Remote, converged, leader};
use fleet::replica::{fleet_keys, run_if_asked, vault_config};
use rand::SeedableRng;
use rand::rngs::StdRng;
use single_node::PASSWORD;
use vault_core::{RedbStore, Vault};

type Failure = Box<dyn std::error::Error + Send + Sync>;

const REPLICAS: u64 = 5;
const SEED: u64 = 1;

/// `logins` retrievals by `clients` users at once; logins per second as the clients see them, and the CPU time
/// (clock ticks, user and system) each replica process used during those logins.
async fn cluster_logins(
    fleet: &Fleet,
    remote: &Arc<Remote>,
    logins: u32,
    clients: u32,
) -> Result<(f64, BTreeMap<NodeId, (u64, u64)>), Failure> {
    let mut devices = Vec::new();
    for index in 0..clients {
        let seed = 1000 + u64::from(index);
        let user = UserId::new(format!("user-{index}").into_bytes())?;
        let mut device = Client::new(remote.as_ref(), user, seed);
        let key = BackupKey::generate(&mut StdRng::seed_from_u64(seed));
        device.register(remote.as_ref(), PASSWORD, &key).await?;
        devices.push((device, key));
    }
    let per_client = logins / clients;
    let cpu_before = fleet.cpu_ticks()?;
    let clock = Instant::now();
    let mut tasks = Vec::new();
    for (mut device, key) in devices {
        let remote = Arc::clone(remote);
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                if device.retrieve(remote.as_ref(), PASSWORD).await? != Some(key.clone()) {
                    return Err("wrong key released".into());
                }
            }
            Ok::<(), Failure>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let rate = f64::from(per_client * clients) / clock.elapsed().as_secs_f64();
    let cpu = fleet
        .cpu_ticks()?
        .into_iter()
        .map(|(id, (user, system))| {
            let (user_before, system_before) = cpu_before.get(&id).copied().unwrap_or_default();
            (id, (user - user_before, system - system_before))
        })
        .collect();
    Ok((rate, cpu))
}

/// `logins` retrievals on one vault over a `RedbStore` in `dir`, one after the other; the rate and the vault's
/// CPU time per login.
fn single_node(dir: &std::path::Path, logins: u32) -> Result<(f64, Duration), Failure> {
    let store = RedbStore::open(dir.join("single.redb"))?;
    single_node::logins_with_vault_cpu(&Vault::new(fleet_keys(SEED), vault_config(), store), logins)
}

fn main() -> Result<(), Failure> {
    run_if_asked();
    let mut args = std::env::args().skip(1);
    let logins: u32 = args.next().map_or(Ok(400), |arg| arg.parse())?;
    let clients: u32 = args.next().map_or(Ok(8), |arg| arg.parse())?;
    let base = args.next().map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::TempDir::new_in(&base)?;
    println!("replica files in {}", dir.path().display());

    let launcher = Launcher {
        program: std::env::current_exe()?,
        args: Vec::new(),
    };
    let mut fleet = Fleet::start(launcher, dir.path(), REPLICAS, SEED)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let remote = Arc::new(fleet.remote(Duration::from_secs(20)));
        let ids = fleet.running();
        let first = leader(&remote, &ids, Duration::from_secs(10))
            .await
            .ok_or("no leader elected")?;
        let (rate, cpu) = cluster_logins(&fleet, &remote, logins, clients).await?;
        println!("{REPLICAS} replica processes, {clients} clients: {rate:8.1} logins/s");
        let done = f64::from(logins / clients * clients);
        for (&id, &(user, system)) in &cpu {
            // Ticks of 10 ms (USER_HZ 100) over all the logins, per login in ms.
            let per_login = |ticks: u64| -> Result<f64, Failure> { Ok(f64::from(u32::try_from(ticks)?) * 10.0 / done) };
            let role = if id == first { "leader" } else { "follower" };
            println!(
                "  replica {id} ({role:<8}) CPU {:6.3} ms per committed login (user {:6.3}, system {:6.3})",
                per_login(user + system)?,
                per_login(user)?,
                per_login(system)?
            );
        }

        // Recovery: SIGKILL the leader, then one login after another until one is answered.
        let old = leader(&remote, &ids, Duration::from_secs(10))
            .await
            .ok_or("no leader")?;
        if old != first {
            println!("  (the leader changed during the logins: {first}, then {old}; the roles above are the first's)");
        }
        let mut device = Client::new(remote.as_ref(), UserId::new(b"recovery".to_vec())?, 99);
        let key = BackupKey::generate(&mut StdRng::seed_from_u64(99));
        device.register(remote.as_ref(), PASSWORD, &key).await?;
        fleet.kill(old)?;
        let clock = Instant::now();
        if device.retrieve(remote.as_ref(), PASSWORD).await? != Some(key) {
            return Err::<(), Failure>("wrong key released".into());
        }
        let recovered = clock.elapsed();
        let new = leader(&remote, &fleet.running(), Duration::from_secs(10)).await;
        println!(
            "leader {old} SIGKILLed: the next login answered after {:.0} ms (new leader {new:?})",
            recovered.as_secs_f64() * 1000.0
        );
        fleet.restart(old)?;
        let state = converged(&remote, &ids, Duration::from_secs(30)).await?;
        println!(
            "replica {old} restarted; all {REPLICAS} hold the same state ({} store entries, version {})",
            state.store.len(),
            state.last_version
        );
        Ok(())
    })?;
    drop(fleet);
    let (single, cpu) = single_node(dir.path(), logins)?;
    println!("one node on RedbStore, 1 client:  {single:8.1} logins/s (same directory)");
    println!(
        "  the vault's CPU (Vault::apply, user + system) {:6.3} ms per login",
        cpu.as_secs_f64() * 1000.0
    );
    Ok(())
}
