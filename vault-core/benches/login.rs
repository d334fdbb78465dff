//! The vault's side of one login (start + finish, in-memory store) vs bare opaque-ke `ServerLogin` start + finish
//! plus one Ed25519 signature, same run. Only the vault's work is timed; the client's is done between the timed
//! sections.
//!
//! `cargo bench -p vault-core`

use std::time::{Duration, Instant};

use backup_protocol::{BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfPolicy, Suite, UserId};
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use opaque_ke::argon2::{Algorithm, Argon2, Params, Version};
use opaque_ke::{
    ClientLoginFinishParameters, ClientRegistrationFinishParameters, Identifiers, ServerLoginParameters, ServerSetup,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vault_core::{Command, FleetKeys, MemoryStore, Principal, Request, Response, Vault, VaultConfig};

const PASSWORD: &[u8] = b"correct horse battery staple";
const USER: &[u8] = b"15551234567@s.whatsapp.net";
const CONTEXT: &[u8] = b"backup-protocol/v1/opaque-context\x01";

/// A bare opaque-ke registration with the same suite, identifiers and Argon2id parameters as the vault's.
fn bare_registration(
    rng: &mut StdRng,
) -> (
    ServerSetup<Suite>,
    opaque_ke::ServerRegistration<Suite>,
    Argon2<'static>,
) {
    let setup = ServerSetup::<Suite>::new(rng);
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8, 1, 1, None).unwrap());
    let identifiers = Identifiers {
        client: Some(USER),
        server: None,
    };
    let started = opaque_ke::ClientRegistration::<Suite>::start(rng, PASSWORD).unwrap();
    let response = opaque_ke::ServerRegistration::<Suite>::start(&setup, started.message, USER).unwrap();
    let finished = started
        .state
        .finish(
            rng,
            PASSWORD,
            response.message,
            ClientRegistrationFinishParameters::new(identifiers, Some(&argon2)),
        )
        .unwrap();
    (
        setup,
        opaque_ke::ServerRegistration::<Suite>::finish(finished.message),
        argon2,
    )
}

fn vault_login(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let config = VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        attempt_limit: u32::MAX,
        ..VaultConfig::default()
    };
    let vault = Vault::new(FleetKeys::generate(&mut rng), config, MemoryStore::new());
    let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
    let user = UserId::new(USER.to_vec()).unwrap();
    let mut now = 1_700_000_000_000u64;
    let mut command = |rng: &mut StdRng, request| {
        now += 1;
        Command {
            at_ms: now,
            entropy: rng.r#gen(),
            principal: Principal::Account(UserId::new(USER.to_vec()).unwrap()),
            request,
        }
    };
    let (registration, request) = ClientRegistration::start(&mut rng, &client, user.clone(), PASSWORD).unwrap();
    let Ok(Response::RegistrationStarted(response)) =
        vault.apply(&command(&mut rng, Request::RegistrationStart(request)))
    else {
        panic!()
    };
    let key = BackupKey::generate(&mut rng);
    let (_, upload) = registration.finish(&mut rng, &response, &key).unwrap();
    vault
        .apply(&command(&mut rng, Request::RegistrationFinish(upload)))
        .unwrap();

    // The same OPAQUE work with bare opaque-ke.
    let (setup, password_file, argon2) = bare_registration(&mut rng);
    let signing = SigningKey::from_bytes(&rng.r#gen());
    let identifiers = Identifiers {
        client: Some(USER),
        server: None,
    };
    let parameters = || ServerLoginParameters {
        context: Some(CONTEXT),
        identifiers,
    };

    let mut group = c.benchmark_group("vault login (start + finish)");
    group.bench_function("vault-core, in-memory store", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                let (login, request) = ClientLogin::start(&mut rng, &client, user.clone(), PASSWORD).unwrap();
                let start = command(&mut rng, Request::LoginStart(request));
                let clock = Instant::now();
                let Ok(Response::LoginStarted { session, response }) = vault.apply(&start) else {
                    panic!()
                };
                timed += clock.elapsed();
                let (_, finalization) = login.finish(&mut rng, &response).unwrap();
                let finish = command(&mut rng, Request::LoginFinish { session, finalization });
                let clock = Instant::now();
                let released = vault.apply(&finish);
                timed += clock.elapsed();
                assert!(matches!(released, Ok(Response::KeyReleased(_))));
            }
            timed
        });
    });
    group.bench_function("bare opaque-ke ServerLogin + Ed25519 sign", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                let login = opaque_ke::ClientLogin::<Suite>::start(&mut rng, PASSWORD).unwrap();
                let clock = Instant::now();
                let server = opaque_ke::ServerLogin::start(
                    &mut rng,
                    &setup,
                    Some(password_file.clone()),
                    login.message,
                    USER,
                    parameters(),
                )
                .unwrap();
                let signature = signing.sign(&server.message.serialize());
                timed += clock.elapsed();
                let client = login
                    .state
                    .finish(
                        &mut rng,
                        PASSWORD,
                        server.message,
                        ClientLoginFinishParameters::new(Some(CONTEXT), identifiers, Some(&argon2)),
                    )
                    .unwrap();
                let clock = Instant::now();
                let finished = server.state.finish(client.message, parameters()).unwrap();
                timed += clock.elapsed();
                assert_eq!(finished.session_key, client.session_key);
                std::hint::black_box(signature);
            }
            timed
        });
    });
    group.finish();
}

criterion_group!(benches, vault_login);
criterion_main!(benches);
