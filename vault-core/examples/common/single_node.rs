//! The single-node baseline the examples measure against: one account registers, then `logins` successful key
//! retrievals run one after the other on one vault, each command applied in the calling thread. Shared by the
//! `durable`, `replicated` and `cluster` examples so that every figure they compare with comes from the same loop.

use std::time::Instant;

use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vault_core::{Command, Principal, Request, Response, Store, Vault};

/// The account's password in every example.
pub(crate) const PASSWORD: &[u8] = b"purple elephant sunrise 42";

/// Registers alice on `vault`, then runs `logins` successful retrievals; returns logins per second (registration
/// not timed). The vault's configuration must accept the client's fast KSF (`KsfPolicy::INSECURE_TESTING`).
pub(crate) fn logins_per_second<S: Store>(
    vault: &Vault<S>,
    logins: u32,
) -> Result<f64, Box<dyn std::error::Error + Send + Sync>> {
    let mut rng = StdRng::seed_from_u64(7);
    let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
    let user = UserId::new(b"alice".to_vec())?;
    // Every command comes from alice's authenticated connection.
    let principal = Principal::Account(user.clone());
    let apply = |rng: &mut StdRng, request| -> Result<Response, Box<dyn std::error::Error + Send + Sync>> {
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
