//! Every refused request leaves the store byte for byte as it was; challenges are single use and expire;
//! a vault outside the fleet is refused by the client.

mod common;

use backup_protocol::{
    BackupKey, ClientLogin, ClientRegistration, Error, LoginFinalization, LoginPurpose, RegistrationUpload,
};
use common::{Harness, PASSWORD, WRONG, user};
use vault_core::{FleetKeys, Request, Response, Store, VaultError};

/// Applies `request` and checks that it was refused with `expected` and changed nothing.
fn refused_without_change(
    harness: &mut Harness<vault_core::MemoryStore>,
    request: Request,
    expected: &VaultError<std::convert::Infallible>,
) {
    let before = harness.vault.store().snapshot();
    let result = harness.apply(request);
    assert_eq!(result.as_ref().err(), Some(expected));
    assert_eq!(
        harness.vault.store().snapshot(),
        before,
        "{expected:?} changed the store"
    );
}

#[test]
fn refused_registrations_change_nothing() {
    let mut harness = Harness::new(1);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);

    let (client, request) =
        ClientRegistration::start(&mut harness.rng, &harness.client, alice.clone(), PASSWORD).unwrap();
    let Ok(Response::RegistrationStarted(first)) = harness.apply(Request::RegistrationStart(request.clone())) else {
        panic!()
    };
    let old_upload = client.finish(&mut harness.rng, &first, &key).unwrap().1;
    // A second start replaces the challenge: the upload answering the first one is refused.
    let Ok(Response::RegistrationStarted(second)) = harness.apply(Request::RegistrationStart(request)) else {
        panic!()
    };
    refused_without_change(
        &mut harness,
        Request::RegistrationFinish(old_upload),
        &VaultError::Protocol(Error::ChallengeMismatch),
    );

    // Expired: the challenge outlives its lifetime.
    let upload = client.finish(&mut harness.rng, &second, &key).unwrap().1;
    let saved_clock = harness.now_ms;
    harness.now_ms += harness.vault.config().challenge_ttl_ms + 1;
    refused_without_change(
        &mut harness,
        Request::RegistrationFinish(upload.clone()),
        &VaultError::ChallengeExpired,
    );
    harness.now_ms = saved_clock;

    // Accepted once; the same upload replayed finds no challenge.
    assert!(matches!(
        harness.apply(Request::RegistrationFinish(upload.clone())),
        Ok(Response::Registered(_))
    ));
    refused_without_change(
        &mut harness,
        Request::RegistrationFinish(upload.clone()),
        &VaultError::NoPendingRegistration,
    );

    // Replaying the upload later cannot reset a counter either.
    assert_eq!(harness.retrieve(&alice, WRONG), Ok(None));
    refused_without_change(
        &mut harness,
        Request::RegistrationFinish(upload),
        &VaultError::NoPendingRegistration,
    );

    // An upload whose challenge was altered.
    let (other, request) = ClientRegistration::start(&mut harness.rng, &harness.client, user("bob"), PASSWORD).unwrap();
    let Ok(Response::RegistrationStarted(response)) = harness.apply(Request::RegistrationStart(request)) else {
        panic!()
    };
    let bob_upload = other.finish(&mut harness.rng, &response, &key).unwrap().1;
    let mut tampered = bob_upload.to_bytes();
    let challenge_at = tampered.len() - 92; // challenge || K_NONCE || EK close the upload
    tampered[challenge_at] ^= 1;
    let tampered = RegistrationUpload::from_bytes(&tampered).unwrap();
    refused_without_change(
        &mut harness,
        Request::RegistrationFinish(tampered),
        &VaultError::Protocol(Error::ChallengeMismatch),
    );
}

#[test]
fn parameters_below_the_vault_policy_are_refused_without_change() {
    let mut harness = Harness::new(5);
    let keys = harness.vault.keys().clone();
    harness.vault = vault_core::Vault::new(keys, vault_core::VaultConfig::default(), vault_core::MemoryStore::new());
    let (client, request) =
        ClientRegistration::start(&mut harness.rng, &harness.client, user("alice"), PASSWORD).unwrap();
    let Ok(Response::RegistrationStarted(response)) = harness.apply(Request::RegistrationStart(request)) else {
        panic!()
    };
    let key = BackupKey::generate(&mut harness.rng);
    let upload = client.finish(&mut harness.rng, &response, &key).unwrap().1;
    assert_eq!(upload.to_bytes().len(), 3 + 5 + 296);
    refused_without_change(
        &mut harness,
        Request::RegistrationFinish(upload),
        &VaultError::Protocol(Error::KsfParamsRejected),
    );
}

#[test]
fn refused_logins_change_nothing() {
    let mut harness = Harness::new(2);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);

    let (finished, session) = harness
        .login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    let (_, finalization) = finished.unwrap();

    // A tampered finalization, a finalization for another session, an unknown session, an expired one.
    let mut bytes = finalization.to_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    let tampered = LoginFinalization::from_bytes(&bytes).unwrap();
    refused_without_change(
        &mut harness,
        Request::LoginFinish {
            session,
            finalization: tampered,
        },
        &VaultError::Protocol(Error::ClientAuthenticationFailed),
    );
    let (_, other_session) = harness
        .login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    refused_without_change(
        &mut harness,
        Request::LoginFinish {
            session: other_session,
            finalization: finalization.clone(),
        },
        &VaultError::Protocol(Error::ClientAuthenticationFailed),
    );
    refused_without_change(
        &mut harness,
        Request::LoginFinish {
            session: [7; 16],
            finalization: finalization.clone(),
        },
        &VaultError::UnknownSession,
    );
    let saved_clock = harness.now_ms;
    harness.now_ms += harness.vault.config().login_ttl_ms + 1;
    refused_without_change(
        &mut harness,
        Request::LoginFinish {
            session,
            finalization: finalization.clone(),
        },
        &VaultError::SessionExpired,
    );
    harness.now_ms = saved_clock;

    // The genuine finish still works after all that, once; a replay finds no session.
    assert!(matches!(
        harness.apply(Request::LoginFinish {
            session,
            finalization: finalization.clone()
        }),
        Ok(Response::KeyReleased(_))
    ));
    refused_without_change(
        &mut harness,
        Request::LoginFinish { session, finalization },
        &VaultError::UnknownSession,
    );

    // Malformed command bytes.
    let before = harness.vault.store().snapshot();
    assert!(matches!(
        harness.vault.apply_bytes(&[1, 0x51, 0, 1]),
        Err(VaultError::Command(_))
    ));
    assert_eq!(harness.vault.store().snapshot(), before);

    // A locked user.
    for _ in 0..harness.vault.config().attempt_limit {
        harness.login_start(&alice, WRONG, LoginPurpose::RetrieveKey).unwrap();
    }
    assert!(matches!(
        harness.login_start(&alice, WRONG, LoginPurpose::RetrieveKey),
        Err(VaultError::Locked)
    ));
    let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, alice.clone(), PASSWORD).unwrap();
    refused_without_change(&mut harness, Request::LoginStart(request), &VaultError::Locked);
}

/// A record found under another user's key (a store that misfiled or swapped rows) is refused as `UserMismatch`
/// before any guess is charged: the vault never answers alice's login with bob's OPRF key.
#[test]
fn a_record_under_another_users_key_is_refused_before_any_charge() {
    let mut harness = Harness::new(3);
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&user("bob"), PASSWORD, &key);
    let store = harness.vault.store();
    let bobs = store.get(b"user/bob").unwrap().expect("bob's record");
    store.compare_and_swap(b"user/alice", None, Some(&bobs.value)).unwrap();
    let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, user("alice"), PASSWORD).unwrap();
    refused_without_change(
        &mut harness,
        Request::LoginStart(request),
        &VaultError::Protocol(Error::UserMismatch),
    );
}

#[test]
fn a_client_refuses_a_vault_outside_the_fleet() {
    let mut harness = Harness::new(3);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    let (login, request) = ClientLogin::start(&mut harness.rng, &harness.client, alice, PASSWORD).unwrap();
    let command = harness.command(Request::LoginStart(request));
    // A vault with other keys (and, here, even the same records) answering the client.
    let impostor = vault_core::Vault::new(
        FleetKeys::generate(&mut harness.rng),
        common::config(),
        harness.vault.store(),
    );
    let Ok(Response::LoginStarted { response, .. }) = impostor.apply(&command) else {
        panic!()
    };
    assert_eq!(
        login.finish(&mut harness.rng, &response).err(),
        Some(Error::BadVaultSignature)
    );
}

#[test]
fn replicas_applying_the_same_log_agree_byte_for_byte() {
    let mut leader = Harness::new(4);
    let alice = user("alice");
    let key = BackupKey::generate(&mut leader.rng);
    // The leader applies commands live and logs each with its response.
    let mut log = Vec::new();
    let mut apply = |leader: &mut Harness<vault_core::MemoryStore>, request| {
        let command = leader.command(request);
        let response = leader.vault.apply(&command);
        log.push((command.to_bytes(), response.clone()));
        response
    };
    let (client, request) =
        ClientRegistration::start(&mut leader.rng, &leader.client, alice.clone(), PASSWORD).unwrap();
    let Ok(Response::RegistrationStarted(response)) = apply(&mut leader, Request::RegistrationStart(request)) else {
        panic!()
    };
    let upload = client.finish(&mut leader.rng, &response, &key).unwrap().1;
    apply(&mut leader, Request::RegistrationFinish(upload)).unwrap();
    for password in [WRONG, PASSWORD] {
        let (login, request) = ClientLogin::start(&mut leader.rng, &leader.client, alice.clone(), password).unwrap();
        let Ok(Response::LoginStarted { session, response }) = apply(&mut leader, Request::LoginStart(request)) else {
            panic!()
        };
        if let Ok((_, finalization)) = login.finish(&mut leader.rng, &response) {
            apply(&mut leader, Request::LoginFinish { session, finalization }).unwrap();
        }
    }
    assert_eq!(log.len(), 5);

    // A follower applies the log from its bytes: the same responses and the same state.
    let follower = vault_core::Vault::new(
        leader.vault.keys().clone(),
        common::config(),
        vault_core::MemoryStore::new(),
    );
    for (entry, response) in &log {
        assert_eq!(&follower.apply_bytes(entry), response);
    }
    assert_eq!(follower.store().snapshot(), leader.vault.store().snapshot());
}

#[test]
fn a_login_start_applied_twice_is_refused_the_second_time_without_change() {
    // The same command (same entropy, so the same session id) delivered twice, as a faulty log could: the second
    // application must neither charge a guess nor count an entry.
    let mut harness = Harness::new(9);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    for name in ["alice", "nobody"] {
        let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, user(name), WRONG).unwrap();
        let command = harness.command(Request::LoginStart(request));
        assert!(matches!(
            harness.vault.apply(&command),
            Ok(Response::LoginStarted { .. })
        ));
        let before = harness.vault.store().snapshot();
        assert_eq!(harness.vault.apply(&command), Err(VaultError::Conflict));
        assert_eq!(harness.vault.store().snapshot(), before, "{name}");
    }
}
