//! Lifetimes end exactly where SPEC §4 puts them (`at_ms − issued_at_ms > ttl` refuses): a challenge or session issued at `t` with lifetime `ttl` is
//! still answered at `t + ttl` and refused (or swept) from `t + ttl + 1` on. Each boundary is tested at both
//! instants, so that an off-by-one in either direction (`>` turned into `>=`, found by cargo-mutants, MUTANTS.md)
//! fails a test.

mod common;

use backup_protocol::{BackupKey, ClientLogin, ClientRegistration, LoginPurpose, UserId};
use common::{Harness, PASSWORD, config, user};
use vault_core::{MemoryStore, Request, Response, VaultError};

type Outcome = Result<Response, VaultError<std::convert::Infallible>>;

/// Applies `request` from its owner at exactly `at_ms`.
fn apply_at(harness: &mut Harness<MemoryStore>, at_ms: u64, request: Request) -> Outcome {
    let mut command = harness.command(request);
    command.at_ms = at_ms;
    harness.vault.apply(&command)
}

/// Applies `request` at `at_ms` and checks that it was refused with `expected` and changed nothing.
fn refused_at(
    harness: &mut Harness<MemoryStore>,
    at_ms: u64,
    request: Request,
    expected: VaultError<std::convert::Infallible>,
) {
    let before = harness.vault.store().snapshot();
    assert_eq!(apply_at(harness, at_ms, request), Err(expected));
    assert_eq!(harness.vault.store().snapshot(), before);
}

#[test]
fn a_registration_challenge_is_answered_until_the_last_millisecond_of_its_lifetime() {
    let mut harness = Harness::new(31);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    let ttl = config().challenge_ttl_ms;
    let issued = harness.now_ms;

    let (client, request) =
        ClientRegistration::start(&mut harness.rng, &harness.client, alice.clone(), PASSWORD).unwrap();
    let Ok(Response::RegistrationStarted(response)) =
        apply_at(&mut harness, issued, Request::RegistrationStart(request))
    else {
        panic!("registration start refused")
    };
    let (awaiting, upload) = client.finish(&mut harness.rng, &response, &key).unwrap();

    refused_at(
        &mut harness,
        issued + ttl + 1,
        Request::RegistrationFinish(upload.clone()),
        VaultError::ChallengeExpired,
    );
    let Ok(Response::Registered(receipt)) = apply_at(&mut harness, issued + ttl, Request::RegistrationFinish(upload))
    else {
        panic!("a challenge exactly `challenge_ttl_ms` old is still answered")
    };
    awaiting.verify(&receipt).unwrap();
    assert_eq!(harness.retrieve(&alice, PASSWORD), Ok(Some(key)));
}

#[test]
fn a_login_session_is_answered_until_the_last_millisecond_of_its_lifetime() {
    let mut harness = Harness::new(32);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    let ttl = config().login_ttl_ms;
    let issued = harness.now_ms + 1_000;

    let (login, request) = ClientLogin::start(&mut harness.rng, &harness.client, alice.clone(), PASSWORD).unwrap();
    let Ok(Response::LoginStarted { session, response }) = apply_at(&mut harness, issued, Request::LoginStart(request))
    else {
        panic!("login start refused")
    };
    let (pending, finalization) = login.finish(&mut harness.rng, &response).unwrap();

    refused_at(
        &mut harness,
        issued + ttl + 1,
        Request::LoginFinish {
            session,
            finalization: finalization.clone(),
        },
        VaultError::SessionExpired,
    );
    let Ok(Response::KeyReleased(release)) = apply_at(
        &mut harness,
        issued + ttl,
        Request::LoginFinish { session, finalization },
    ) else {
        panic!("a session exactly `login_ttl_ms` old is still answered")
    };
    assert_eq!(pending.open(&release).unwrap(), key);
}

#[test]
fn the_sweep_keeps_what_is_exactly_at_its_lifetime_and_removes_it_one_millisecond_later() {
    let mut harness = Harness::new(33);
    let (login_ttl, challenge_ttl) = (config().login_ttl_ms, config().challenge_ttl_ms);
    assert!(login_ttl < challenge_ttl);
    let issued = harness.now_ms + 1_000;

    // A registration challenge (bob) and a login session (carol, who has no record) issued at the same instant.
    let (_, request) = ClientRegistration::start(&mut harness.rng, &harness.client, user("bob"), PASSWORD).unwrap();
    apply_at(&mut harness, issued, Request::RegistrationStart(request)).unwrap();
    let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, user("carol"), PASSWORD).unwrap();
    apply_at(&mut harness, issued, Request::LoginStart(request)).unwrap();
    let in_flight = |harness: &Harness<MemoryStore>| {
        let snapshot = harness.vault.store().snapshot();
        let count = |prefix: &[u8]| snapshot.keys().filter(|key| key.starts_with(prefix)).count();
        (count(b"pending/"), count(b"login/"))
    };
    assert_eq!(in_flight(&harness), (1, 1));

    let sweep = || Request::Sweep { cursor: Vec::new() };
    let swept = |removed| Ok(Response::Swept { removed, next: None });
    let before = harness.vault.store().snapshot();
    assert_eq!(apply_at(&mut harness, issued + login_ttl, sweep()), swept(0));
    assert_eq!(harness.vault.store().snapshot(), before);
    assert_eq!(apply_at(&mut harness, issued + login_ttl + 1, sweep()), swept(1));
    assert_eq!(
        in_flight(&harness),
        (1, 0),
        "the login session went, the challenge stayed"
    );

    let before = harness.vault.store().snapshot();
    assert_eq!(apply_at(&mut harness, issued + challenge_ttl, sweep()), swept(0));
    assert_eq!(harness.vault.store().snapshot(), before);
    assert_eq!(apply_at(&mut harness, issued + challenge_ttl + 1, sweep()), swept(1));
    assert_eq!(in_flight(&harness), (0, 0));
}

/// A registration whose challenge repeats an earlier one (its command carried the same entropy: a broken entropy
/// source, or a leader re-proposing a command) makes a record with the same challenge, hence the same OPAQUE
/// credential identifier, as the one a pending login started on. The login's authentication and the record's
/// challenge both still match; only the generation the login remembered tells the records apart, and the login
/// must not finish against the newer one.
#[test]
fn a_login_never_finishes_against_a_re_registered_record_even_with_the_same_challenge() {
    let mut harness = Harness::new(34);
    let alice = user("alice");
    let entropy = [0x5a; 32];
    let register = |harness: &mut Harness<MemoryStore>, alice: &UserId, key: &BackupKey| {
        let (client, request) =
            ClientRegistration::start(&mut harness.rng, &harness.client, alice.clone(), PASSWORD).unwrap();
        let mut command = harness.command(Request::RegistrationStart(request));
        command.entropy = entropy;
        let Ok(Response::RegistrationStarted(response)) = harness.vault.apply(&command) else {
            panic!("registration start refused")
        };
        let (_, upload) = client.finish(&mut harness.rng, &response, key).unwrap();
        assert!(matches!(
            harness.apply(Request::RegistrationFinish(upload)),
            Ok(Response::Registered(_))
        ));
        // backup-protocol SPEC §4.1, §4.3: `version || type || len8(user id) || user id || challenge (32) || ...`.
        let bytes = response.to_bytes();
        let start = 3 + alice.as_bytes().len();
        <[u8; 32]>::try_from(&bytes[start..start + 32]).unwrap()
    };
    let first = BackupKey::generate(&mut harness.rng);
    let challenge = register(&mut harness, &alice, &first);

    let (finished, session) = harness
        .login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    let (_, finalization) = finished.expect("the right password");

    let second = BackupKey::generate(&mut harness.rng);
    assert_eq!(
        register(&mut harness, &alice, &second),
        challenge,
        "the same challenge again"
    );

    let before = harness.vault.store().snapshot();
    assert_eq!(
        harness.apply(Request::LoginFinish { session, finalization }),
        Err(VaultError::Superseded)
    );
    assert_eq!(harness.vault.store().snapshot(), before);
    assert_eq!(harness.retrieve(&alice, PASSWORD), Ok(Some(second)));
}
