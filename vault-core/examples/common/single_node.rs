//! The single-node baseline the examples measure against: one account registers, then `logins` successful key
//! retrievals run one after the other on one vault, each command applied in the calling thread. Shared by the
//! `durable`, `replicated` and `cluster` examples so that every figure they compare with comes from the same loop.

use std::cell::Cell;
use std::time::{Duration, Instant};

use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vault_core::{Command, Principal, Request, Response, Store, Vault};

/// The account's password in every example.
pub(crate) const PASSWORD: &[u8] = b"purple elephant sunrise 42";

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Registers alice on `vault`, then runs `logins` successful retrievals; returns logins per second (registration
/// not timed). The vault's configuration must accept the client's fast KSF (`KsfPolicy::INSECURE_TESTING`).
// `durable` and `replicated` call this one, `cluster` the next.
#[allow(dead_code)]
pub(crate) fn logins_per_second<S: Store>(vault: &Vault<S>, logins: u32) -> Result<f64, Failure> {
    Ok(run(vault, logins, false)?.0)
}

/// As [`logins_per_second`], and the CPU time the vault's side used per login: the calling thread's run time
/// (user + system, `/proc/thread-self/schedstat`, in nanoseconds) across each `Vault::apply`, so the client's
/// work between the commands is not counted. The file is read before and after each command (four reads per
/// login), which the rate includes. Linux only.
#[allow(dead_code)]
pub(crate) fn logins_with_vault_cpu<S: Store>(vault: &Vault<S>, logins: u32) -> Result<(f64, Duration), Failure> {
    let (rate, cpu) = run(vault, logins, true)?;
    Ok((rate, cpu / logins))
}

/// The calling thread's run time so far.
fn thread_cpu() -> Result<Duration, Failure> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let nanos = schedstat.split_whitespace().next().ok_or("empty schedstat")?.parse()?;
    Ok(Duration::from_nanos(nanos))
}

fn run<S: Store>(vault: &Vault<S>, logins: u32, measure_cpu: bool) -> Result<(f64, Duration), Failure> {
    let mut rng = StdRng::seed_from_u64(7);
    let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
    let user = UserId::new(b"alice".to_vec())?;
    // Every command comes from alice's authenticated connection.
    let principal = Principal::Account(user.clone());
    let vault_cpu = Cell::new(Duration::ZERO);
    let apply = |rng: &mut StdRng, request| -> Result<Response, Failure> {
        let command = Command {
            at_ms: 1_700_000_000_000,
            entropy: rng.r#gen(),
            principal: principal.clone(),
            request,
        };
        let before = if measure_cpu { thread_cpu()? } else { Duration::ZERO };
        let response = vault.apply(&command).map_err(|error| error.to_string())?;
        if measure_cpu {
            vault_cpu.set(vault_cpu.get() + thread_cpu()?.saturating_sub(before));
        }
        Ok(response)
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

    vault_cpu.set(Duration::ZERO);
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
    Ok((f64::from(logins) / clock.elapsed().as_secs_f64(), vault_cpu.get()))
}
