//! Full register + retrieve through this crate vs the same OPAQUE work done with bare opaque-ke, same run.
//!
//! `cargo bench -p backup-protocol --bench protocol`

use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfParams, KsfPolicy, PendingRegistration, Suite, UserId,
    VaultKeys, VaultLoginState,
};
use criterion::{Criterion, criterion_group, criterion_main};
use opaque_ke::argon2::{Algorithm, Argon2, Params, Version};
use opaque_ke::{
    ClientLoginFinishParameters, ClientRegistrationFinishParameters, Identifiers, ServerLoginParameters, ServerSetup,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const PASSWORD: &[u8] = b"correct horse battery staple";
const USER: &[u8] = b"15551234567@s.whatsapp.net";
const CONTEXT: &[u8] = b"backup-protocol/v1/opaque-context";

fn ours(rng: &mut StdRng, keys: &VaultKeys, config: &ClientConfig, policy: &KsfPolicy, key: &BackupKey) {
    let user = UserId::new(USER.to_vec()).unwrap();
    let (client, request) = ClientRegistration::start(rng, config, user.clone(), PASSWORD).unwrap();
    let (pending, response) = PendingRegistration::start(keys, rng, &request).unwrap();
    let (awaiting, upload) = client.finish(rng, &response, key).unwrap();
    let (record, receipt) = pending.finish(keys, &upload, policy).unwrap();
    awaiting.verify(&receipt).unwrap();

    let (client, request) = ClientLogin::start(rng, config, user, PASSWORD).unwrap();
    let (state, response) = VaultLoginState::start(keys, rng, Some(&record), &request, || Ok::<u32, ()>(9)).unwrap();
    let (pending, finalization) = client.finish(rng, &response).unwrap();
    let release = state.finish(rng, Some(&record), &finalization).unwrap();
    assert!(pending.open(&release).unwrap() == *key);
}

fn bare(rng: &mut StdRng, setup: &ServerSetup<Suite>, argon2: &Argon2<'static>) {
    let identifiers = Identifiers {
        client: Some(USER),
        server: None,
    };
    let started = opaque_ke::ClientRegistration::<Suite>::start(rng, PASSWORD).unwrap();
    let response = opaque_ke::ServerRegistration::<Suite>::start(setup, started.message, USER).unwrap();
    let finished = started
        .state
        .finish(
            rng,
            PASSWORD,
            response.message,
            ClientRegistrationFinishParameters::new(identifiers, Some(argon2)),
        )
        .unwrap();
    let record = opaque_ke::ServerRegistration::<Suite>::finish(finished.message);

    let parameters = || ServerLoginParameters {
        context: Some(CONTEXT),
        identifiers,
    };
    let login = opaque_ke::ClientLogin::<Suite>::start(rng, PASSWORD).unwrap();
    let server = opaque_ke::ServerLogin::start(rng, setup, Some(record), login.message, USER, parameters()).unwrap();
    let client = login
        .state
        .finish(
            rng,
            PASSWORD,
            server.message,
            ClientLoginFinishParameters::new(Some(CONTEXT), identifiers, Some(argon2)),
        )
        .unwrap();
    let server = server.state.finish(client.message, parameters()).unwrap();
    assert_eq!(server.session_key, client.session_key);
}

fn register_and_retrieve(c: &mut Criterion) {
    for (profile, params, policy) in [
        (
            "argon2id-8KiB-t1",
            KsfParams::INSECURE_FAST,
            KsfPolicy::INSECURE_TESTING,
        ),
        ("argon2id-19MiB-t2", KsfParams::RECOMMENDED, KsfPolicy::RECOMMENDED),
    ] {
        let mut rng = StdRng::seed_from_u64(1);
        let keys = VaultKeys::generate(&mut rng);
        let config = ClientConfig::insecure_fast_for_testing(keys.pins())
            .with_registration_ksf(params)
            .unwrap();
        let key = BackupKey::generate(&mut rng);
        let setup = ServerSetup::<Suite>::new(&mut rng);
        let argon2 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(params.memory_kib(), params.iterations(), params.parallelism(), None).unwrap(),
        );

        let mut group = c.benchmark_group(format!("register+retrieve/{profile}"));
        if params == KsfParams::RECOMMENDED {
            group.sample_size(20);
        }
        group.bench_function("backup-protocol", |b| {
            b.iter(|| ours(&mut rng, &keys, &config, &policy, &key));
        });
        group.bench_function("bare opaque-ke", |b| b.iter(|| bare(&mut rng, &setup, &argon2)));
        group.finish();
    }
}

criterion_group!(benches, register_and_retrieve);
criterion_main!(benches);
