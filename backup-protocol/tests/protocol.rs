//! The key-wrap protocol end to end: success, wrong password, impersonation, tampering, replay, wrong account.

mod common;

use backup_protocol::{
    BackupRecord, ClientConfig, ClientLogin, ClientRegistration, DeletionReceipt, Error, KeyRelease, KsfParams,
    KsfPolicy, LoginFinalization, LoginPurpose, LoginRequest, LoginResponse, LoginStartError, PendingRegistration,
    RegistrationReceipt, RegistrationRequest, RegistrationResponse, RegistrationUpload, VaultKeys, VaultLoginState,
};
use common::{PASSWORD, World, flips, user};

#[allow(clippy::unnecessary_wraps)] // the shape of the vault's charge callback
/// Charges nothing and reports the 9 guesses a fresh record with the default limit of 10 has after one.
fn no_charge() -> Result<u32, ()> {
    Ok(GUESSES)
}

const GUESSES: u32 = 9;

#[test]
fn register_then_retrieve_returns_k() {
    let mut world = World::new(1);
    let record = world.register();
    let recovered = world.retrieve(&record, PASSWORD).unwrap();
    assert_eq!(recovered, world.key);
}

#[test]
fn retrieval_works_from_stored_bytes_on_a_new_device() {
    let mut world = World::new(2);
    let record = BackupRecord::from_bytes(&world.register().to_bytes()).unwrap();
    // A new device knows only the pins and the password: a fresh config and fresh randomness.
    let keys = VaultKeys::from_bytes(&world.keys.to_bytes()).unwrap();
    world.keys = keys;
    world.config = ClientConfig::insecure_fast_for_testing(world.keys.pins());
    assert_eq!(world.retrieve(&record, PASSWORD).unwrap(), world.key);
}

#[test]
fn wrong_password_is_a_typed_error_and_releases_nothing() {
    let mut world = World::new(3);
    let record = world.register();
    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), b"hunter2").unwrap();
    let (_state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    assert_eq!(
        client.finish(&mut world.rng, &response).err(),
        Some(Error::WrongPassword {
            guesses_remaining: GUESSES
        })
    );
}

#[test]
fn a_vault_outside_the_fleet_is_rejected_at_registration_and_login() {
    let mut world = World::new(5);
    let record = world.register();
    let impostor = VaultKeys::generate(&mut world.rng);

    let (client, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (_, response) = PendingRegistration::start(&impostor, &mut world.rng, &request).unwrap();
    assert_eq!(
        client.finish(&mut world.rng, &response, &world.key).err(),
        Some(Error::BadVaultSignature)
    );

    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (_, response) = VaultLoginState::start(&impostor, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    assert_eq!(
        client.finish(&mut world.rng, &response).err(),
        Some(Error::BadVaultSignature)
    );
}

#[test]
fn an_opaque_server_key_other_than_the_pinned_one_is_rejected() {
    let mut world = World::new(6);
    let other = VaultKeys::generate(&mut world.rng);
    // The fleet key is right but the OPAQUE key is not the pinned one.
    let pins = backup_protocol::VaultPins::new(
        world.keys.pins().fleet_key().to_bytes(),
        *other.pins().opaque_server_key(),
    )
    .unwrap();
    let config = ClientConfig::insecure_fast_for_testing(pins);
    let (client, request) = ClientRegistration::start(&mut world.rng, &config, world.user.clone(), PASSWORD).unwrap();
    let (_, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    assert_eq!(
        client.finish(&mut world.rng, &response, &world.key).err(),
        Some(Error::UnpinnedServerKey)
    );
}

#[test]
fn every_flip_of_registration_messages_is_rejected() {
    let mut world = World::new(7);
    let (client, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (pending, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();

    // A tampered request that still parses is answered, and the client rejects the answer.
    for (position, flipped) in flips(&request.to_bytes()) {
        let Ok(tampered) = RegistrationRequest::from_bytes(&flipped) else {
            continue;
        };
        let (_, answer) = PendingRegistration::start(&world.keys, &mut world.rng, &tampered).unwrap();
        assert!(
            client.finish(&mut world.rng, &answer, &world.key).is_err(),
            "request flip at {position} went unnoticed"
        );
    }

    for (position, flipped) in flips(&response.to_bytes()) {
        let rejected = RegistrationResponse::from_bytes(&flipped).map_or(true, |tampered| {
            client.finish(&mut world.rng, &tampered, &world.key).is_err()
        });
        assert!(rejected, "response flip at {position} went unnoticed");
    }

    // The vault cannot check the OPAQUE envelope, so a tampered upload that it accepts must fail at retrieval.
    let upload = client.finish(&mut world.rng, &response, &world.key).unwrap().1;
    for (position, flipped) in flips(&upload.to_bytes()) {
        let rejected = RegistrationUpload::from_bytes(&flipped)
            .and_then(|tampered| pending.finish(&world.keys, &tampered, &KsfPolicy::INSECURE_TESTING))
            .map_or(true, |(record, _)| world.retrieve(&record, PASSWORD).is_err());
        assert!(rejected, "upload flip at {position} went unnoticed");
    }
}

#[test]
fn every_flip_of_login_messages_and_of_ek_is_rejected() {
    let mut world = World::new(8);
    let record = world.register();
    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();

    for (position, flipped) in flips(&request.to_bytes()) {
        let Ok(tampered) = LoginRequest::from_bytes(&flipped) else {
            continue;
        };
        let answered = VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &tampered, no_charge);
        let rejected = answered.map_or(true, |(_, answer)| client.finish(&mut world.rng, &answer).is_err());
        assert!(rejected, "login request flip at {position} went unnoticed");
    }

    for (position, flipped) in flips(&response.to_bytes()) {
        let rejected = LoginResponse::from_bytes(&flipped)
            .map_or(true, |tampered| client.finish(&mut world.rng, &tampered).is_err());
        assert!(rejected, "login response flip at {position} went unnoticed");
    }

    let (pending, finalization) = client.finish(&mut world.rng, &response).unwrap();
    for (position, flipped) in flips(&finalization.to_bytes()) {
        let rejected = LoginFinalization::from_bytes(&flipped).map_or(true, |tampered| {
            state.finish(&mut world.rng, Some(&record), &tampered).is_err()
        });
        assert!(rejected, "finalization flip at {position} went unnoticed");
    }

    let release = state.finish(&mut world.rng, Some(&record), &finalization).unwrap();
    for (position, flipped) in flips(&release.to_bytes()) {
        let rejected = KeyRelease::from_bytes(&flipped).map_or(true, |tampered| pending.open(&tampered).is_err());
        assert!(rejected, "key release flip at {position} went unnoticed");
    }
    assert_eq!(
        pending.open(&release).unwrap(),
        world.key,
        "the untampered release still opens"
    );

    // The challenge, K_NONCE and EK are the last 92 bytes of the stored record. The challenge also selects the
    // OPRF key, so a changed challenge fails OPAQUE itself; a changed K_NONCE or EK fails the unwrap.
    let stored = record.to_bytes();
    let wrapped_start = stored.len() - 92;
    for (position, flipped) in flips(&stored).filter(|(position, _)| *position >= wrapped_start) {
        let tampered = BackupRecord::from_bytes(&flipped).unwrap();
        let expected = if position < wrapped_start + 32 {
            Error::WrongPassword {
                guesses_remaining: GUESSES,
            }
        } else {
            Error::WrappedKeyRejected
        };
        assert_eq!(
            world.retrieve(&tampered, PASSWORD).err(),
            Some(expected),
            "record flip at {position} went unnoticed"
        );
    }
}

#[test]
fn replayed_messages_from_another_exchange_are_rejected() {
    let mut world = World::new(9);
    let record = world.register();

    // Registration: an old response (other request, other challenge) and an upload for another challenge.
    let (first, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (first_pending, first_response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    let (second, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (second_pending, _) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    assert_eq!(
        second.finish(&mut world.rng, &first_response, &world.key).err(),
        Some(Error::BadVaultSignature)
    );
    let first_upload = first.finish(&mut world.rng, &first_response, &world.key).unwrap().1;
    assert_eq!(
        second_pending
            .finish(&world.keys, &first_upload, &KsfPolicy::INSECURE_TESTING)
            .err(),
        Some(Error::ChallengeMismatch)
    );
    assert!(
        first_pending
            .finish(&world.keys, &first_upload, &KsfPolicy::INSECURE_TESTING)
            .is_ok()
    );

    // Login: run one exchange to completion, then replay each of its messages into a second exchange.
    let (client_1, request_1) =
        ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (vault_1, response_1) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request_1, no_charge).unwrap();
    let (_, finalization_1) = client_1.finish(&mut world.rng, &response_1).unwrap();
    let release_1 = vault_1.finish(&mut world.rng, Some(&record), &finalization_1).unwrap();

    let (client_2, request_2) =
        ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (vault_2, response_2) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request_2, no_charge).unwrap();
    assert_eq!(
        client_2.finish(&mut world.rng, &response_1).err(),
        Some(Error::BadVaultSignature)
    );
    assert_eq!(
        vault_2.finish(&mut world.rng, Some(&record), &finalization_1).err(),
        Some(Error::ClientAuthenticationFailed)
    );
    let (pending_2, _) = client_2.finish(&mut world.rng, &response_2).unwrap();
    assert_eq!(pending_2.open(&release_1).err(), Some(Error::KeyReleaseRejected));
}

#[test]
fn messages_for_another_account_are_rejected() {
    let mut world = World::new(10);
    let record = world.register();
    let mallory = user("mallory@example");

    // A login request for another user against this record: rejected before any attempt is charged.
    let (_, request) = ClientLogin::start(&mut world.rng, &world.config, mallory.clone(), PASSWORD).unwrap();
    let mut charged = false;
    let result = VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, || {
        charged = true;
        Ok::<u32, ()>(GUESSES)
    });
    assert_eq!(
        result
            .err()
            .map(|e| matches!(e, LoginStartError::Rejected(Error::UserMismatch))),
        Some(true)
    );
    assert!(!charged);

    // An upload by another user against this user's pending registration.
    let (_, request) = ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (pending, _) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    let (other, other_request) = ClientRegistration::start(&mut world.rng, &world.config, mallory, PASSWORD).unwrap();
    let (_, other_response) = PendingRegistration::start(&world.keys, &mut world.rng, &other_request).unwrap();
    let other_upload = other.finish(&mut world.rng, &other_response, &world.key).unwrap().1;
    assert_eq!(
        pending
            .finish(&world.keys, &other_upload, &KsfPolicy::INSECURE_TESTING)
            .err(),
        Some(Error::UserMismatch)
    );

    // A record moved under another user's name does not open: the user id is in the OPAQUE identifiers and AAD.
    let mut moved = record.to_bytes();
    let name_start = 3;
    moved[name_start..name_start + 5].copy_from_slice(b"eve@e");
    let moved = BackupRecord::from_bytes(&moved).unwrap();
    let mut eve = World::new(10);
    eve.user = moved.user_id().clone();
    assert_eq!(
        eve.retrieve(&moved, PASSWORD).err(),
        Some(Error::WrongPassword {
            guesses_remaining: GUESSES
        })
    );
}

#[test]
fn unknown_users_get_a_fake_response_of_the_same_shape() {
    let mut world = World::new(11);
    let record = world.register();
    let (known, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (_, real) = VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();

    let ghost = user("ghost@example");
    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, ghost, PASSWORD).unwrap();
    let mut charged = false;
    let (state, fake) = VaultLoginState::start(&world.keys, &mut world.rng, None, &request, || {
        charged = true;
        Ok::<u32, ()>(GUESSES)
    })
    .unwrap();
    assert!(charged, "unknown users go through the same charging path");
    assert_eq!(
        fake.to_bytes().len(),
        real.to_bytes().len() + "ghost@example".len() - "alice@example".len()
    );
    assert_eq!(
        client.finish(&mut world.rng, &fake).err(),
        Some(Error::WrongPassword {
            guesses_remaining: GUESSES
        })
    );
    // The real user's client is unaffected.
    assert!(known.finish(&mut world.rng, &real).is_ok());
    // A genuine finalization (of the real user's login), renamed to the unknown user, does not finish the fake.
    let (_, finalization) = known.finish(&mut world.rng, &real).unwrap();
    let mut renamed = finalization.to_bytes();
    renamed.splice(3..3 + "alice@example".len(), b"ghost@example".iter().copied());
    let renamed = LoginFinalization::from_bytes(&renamed).unwrap();
    assert_eq!(
        state.finish(&mut world.rng, None, &renamed).err(),
        Some(Error::ClientAuthenticationFailed)
    );
}

#[test]
fn a_deletion_login_proves_the_password_and_releases_nothing() {
    let mut world = World::new(17);
    let record = world.register();
    let (client, request) = ClientLogin::start_for(
        &mut world.rng,
        &world.config,
        world.user.clone(),
        PASSWORD,
        LoginPurpose::DeleteRecord,
    )
    .unwrap();
    assert_eq!(request.purpose(), LoginPurpose::DeleteRecord);
    let request = LoginRequest::from_bytes(&request.to_bytes()).unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    let state = VaultLoginState::from_bytes(&state.to_bytes()).unwrap();
    assert_eq!(
        client.finish(&mut world.rng, &response).err(),
        Some(Error::WrongPurpose)
    );
    let (awaiting, finalization) = client.finish_deletion(&mut world.rng, &response).unwrap();
    assert_eq!(
        state.finish(&mut world.rng, Some(&record), &finalization).err(),
        Some(Error::WrongPurpose)
    );
    let receipt = state.finish_deletion(Some(&record), &finalization).unwrap();
    assert_eq!(awaiting.verify(&receipt), Ok(()));

    // A retrieval login cannot be used to delete.
    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    assert_eq!(
        client.finish_deletion(&mut world.rng, &response).err(),
        Some(Error::WrongPurpose)
    );
    let (_, finalization) = client.finish(&mut world.rng, &response).unwrap();
    assert_eq!(
        state.finish_deletion(Some(&record), &finalization),
        Err(Error::WrongPurpose)
    );

    // A purpose changed in transit: the vault signs what it received, so the client refuses the answer.
    let mut bytes = request.to_bytes();
    bytes[3 + world.user.as_bytes().len()] = LoginPurpose::DeleteRecord.code();
    let changed = LoginRequest::from_bytes(&bytes).unwrap();
    let (_, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &changed, no_charge).unwrap();
    assert_eq!(
        client.finish(&mut world.rng, &response).err(),
        Some(Error::BadVaultSignature)
    );
}

/// The OPRF evaluation (the first 32 bytes of an OPAQUE response) that the vault returns for `blinded`.
fn evaluation_for(world: &mut World, record: Option<&BackupRecord>, blinded: &[u8], registration: bool) -> Vec<u8> {
    let user_len = world.user.as_bytes().len();
    if registration {
        let (_, request) =
            ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
        let mut bytes = request.to_bytes();
        bytes[3 + user_len..].copy_from_slice(blinded);
        let request = RegistrationRequest::from_bytes(&bytes).unwrap();
        let (_, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
        response.to_bytes()[3 + user_len + 32..3 + user_len + 64].to_vec()
    } else {
        let (_, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
        let mut bytes = request.to_bytes();
        bytes[3 + user_len + 1..3 + user_len + 33].copy_from_slice(blinded);
        let request = LoginRequest::from_bytes(&bytes).unwrap();
        let (_, response) = VaultLoginState::start(&world.keys, &mut world.rng, record, &request, no_charge).unwrap();
        // After the Argon2id parameters (12) and the guesses remaining (4).
        response.to_bytes()[3 + user_len + 16..3 + user_len + 48].to_vec()
    }
}

/// A world with a registered record, and a blinded OPRF element to send to the vault in several requests.
fn registered_with_a_blinded_element(seed: u64) -> (World, BackupRecord, Vec<u8>) {
    let mut world = World::new(seed);
    let record = world.register();
    let (_, request) = ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let blinded = request.to_bytes()[3 + world.user.as_bytes().len()..].to_vec();
    (world, record, blinded)
}

#[test]
fn no_uncharged_request_evaluates_the_oprf_under_a_records_key() {
    // A charged login evaluates the OPRF under the record's key. If any uncharged request (a new registration
    // start, or a login as an unknown user) evaluated it under the same key, an attacker could test passwords
    // offline against the one charged response.
    let (mut world, record, blinded) = registered_with_a_blinded_element(18);

    let charged = evaluation_for(&mut world, Some(&record), &blinded, false);
    assert_eq!(
        charged,
        evaluation_for(&mut world, Some(&record), &blinded, false),
        "the record's key is stable"
    );
    let registration = evaluation_for(&mut world, None, &blinded, true);
    let another_registration = evaluation_for(&mut world, None, &blinded, true);
    let unknown = evaluation_for(&mut world, None, &blinded, false);
    assert_ne!(charged, registration);
    assert_ne!(
        registration, another_registration,
        "each registration has its own OPRF key"
    );
    assert_ne!(charged, unknown);
    assert_eq!(
        unknown,
        evaluation_for(&mut world, None, &blinded, false),
        "a fake answer is stable per user"
    );
}

/// The same keys with another response-signing key: the OPAQUE server setup (OPRF seed, key pair) is kept.
fn with_new_signing_key(keys: &VaultKeys, seed: [u8; 32]) -> VaultKeys {
    let mut file = keys.to_bytes().to_vec();
    let len = file.len();
    file[len - 32..].copy_from_slice(&seed);
    VaultKeys::from_bytes(&file).unwrap()
}

#[test]
fn rotating_the_signing_key_alone_changes_no_users_oprf_evaluation() {
    // If unknown users' stand-in OPRF keys followed the signing key while real records' keys follow the OPRF
    // seed, one blinded element sent before and after a signing-key rotation would sort users into registered
    // (unchanged) and unknown (changed).
    let (mut world, record, blinded) = registered_with_a_blinded_element(21);
    let real_before = evaluation_for(&mut world, Some(&record), &blinded, false);
    let unknown_before = evaluation_for(&mut world, None, &blinded, false);

    let rotated = with_new_signing_key(&world.keys, [0x5a; 32]);
    assert_ne!(rotated.pins().fleet_key(), world.keys.pins().fleet_key());
    world.keys = rotated;
    assert_eq!(evaluation_for(&mut world, Some(&record), &blinded, false), real_before);
    assert_eq!(evaluation_for(&mut world, None, &blinded, false), unknown_before);

    // A new OPRF seed (a new server setup) changes both, together.
    let mut fresh = VaultKeys::generate(&mut world.rng).to_bytes().to_vec();
    let len = fresh.len();
    fresh[len - 32..].copy_from_slice(&world.keys.to_bytes()[len - 32..]);
    world.keys = VaultKeys::from_bytes(&fresh).unwrap();
    assert_ne!(evaluation_for(&mut world, Some(&record), &blinded, false), real_before);
    assert_ne!(evaluation_for(&mut world, None, &blinded, false), unknown_before);
}

#[test]
fn a_login_finishes_only_against_the_record_it_started_on() {
    let mut world = World::new(19);
    let old = world.register();
    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&old), &request, no_charge).unwrap();
    let (_, finalization) = client.finish(&mut world.rng, &response).unwrap();
    let replaced = world.register(); // same user, same password, new registration
    assert_eq!(
        state.finish(&mut world.rng, Some(&replaced), &finalization).err(),
        Some(Error::RecordUnavailable)
    );
    assert_eq!(
        state.finish(&mut world.rng, None, &finalization).err(),
        Some(Error::RecordUnavailable)
    );
    assert!(state.finish(&mut world.rng, Some(&old), &finalization).is_ok());
}

#[test]
fn a_failed_charge_releases_no_response() {
    let mut world = World::new(12);
    let record = world.register();
    let (_, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let result = VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, || {
        Err("disk full")
    });
    assert_eq!(result.err(), Some(LoginStartError::NotCharged("disk full")));
}

/// The vault's states report the user, challenge, purpose and Argon2id parameters they were made with, as the
/// messages carry them (SPEC §4.3: a registration response's body starts with the challenge).
#[test]
fn vault_states_report_what_they_were_made_with() {
    let mut world = World::new(14);
    let (client, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (pending, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    assert_eq!(pending.user_id(), &world.user);
    let start = 3 + world.user.as_bytes().len();
    assert_eq!(pending.challenge()[..], response.to_bytes()[start..start + 32]);
    let (_, upload) = client.finish(&mut world.rng, &response, &world.key).unwrap();
    let (record, _) = pending
        .finish(&world.keys, &upload, &KsfPolicy::INSECURE_TESTING)
        .unwrap();
    assert_eq!(record.user_id(), &world.user);
    assert_eq!(record.ksf(), world.config.registration_ksf());

    for purpose in [LoginPurpose::RetrieveKey, LoginPurpose::DeleteRecord] {
        let (_, request) =
            ClientLogin::start_for(&mut world.rng, &world.config, world.user.clone(), PASSWORD, purpose).unwrap();
        let (state, _) =
            VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
        assert_eq!(state.purpose(), purpose);
        assert_eq!(state.user_id(), &world.user);
    }
}

/// Each `LoginStartError` says which of the three cases it is, and names the error underneath as its source.
#[test]
fn login_start_errors_say_what_happened_and_keep_their_cause() {
    use std::error::Error as _;

    #[derive(Debug)]
    struct DiskFull;
    impl std::fmt::Display for DiskFull {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("disk full")
        }
    }
    impl std::error::Error for DiskFull {}

    let cases: [(LoginStartError<DiskFull>, &str, String); 3] = [
        (
            LoginStartError::Rejected(Error::UserMismatch),
            "login request rejected: message is for a different user",
            Error::UserMismatch.to_string(),
        ),
        (
            LoginStartError::NotCharged(DiskFull),
            "attempt could not be charged: disk full",
            "disk full".to_string(),
        ),
        (
            LoginStartError::ChargedButFailed(Error::Opaque),
            "attempt charged, then the response failed: OPAQUE protocol error",
            Error::Opaque.to_string(),
        ),
    ];
    for (error, shown, cause) in cases {
        assert_eq!(error.to_string(), shown);
        assert_eq!(error.source().map(ToString::to_string), Some(cause));
    }
}

#[test]
fn rejected_messages_leave_every_state_usable() {
    let mut world = World::new(13);
    let impostor = VaultKeys::generate(&mut world.rng);

    let (client, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (_, forged) = PendingRegistration::start(&impostor, &mut world.rng, &request).unwrap();
    let (pending, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    assert!(client.finish(&mut world.rng, &forged, &world.key).is_err());
    let upload = client.finish(&mut world.rng, &response, &world.key).unwrap().1;
    let mut bad_upload = upload.to_bytes();
    // Byte 20 is the first byte of the iteration count (after the 16-byte frame and 4 bytes of memory cost): 2^24 + 1
    // passes, above any policy's ceiling.
    bad_upload[20] ^= 1;
    let bad = RegistrationUpload::from_bytes(&bad_upload).unwrap();
    assert_eq!(
        pending.finish(&world.keys, &bad, &KsfPolicy::INSECURE_TESTING).err(),
        Some(Error::KsfParamsRejected)
    );
    assert!(
        pending.finish(&world.keys, &upload, &KsfPolicy::RECOMMENDED).is_err(),
        "fast parameters are below this policy"
    );
    let record = pending
        .finish(&world.keys, &upload, &KsfPolicy::INSECURE_TESTING)
        .unwrap()
        .0;

    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (_, forged) = VaultLoginState::start(&impostor, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    assert!(client.finish(&mut world.rng, &forged).is_err());
    let (pending, finalization) = client.finish(&mut world.rng, &response).unwrap();
    let mut bad = finalization.to_bytes();
    *bad.last_mut().unwrap() ^= 1;
    assert!(
        state
            .finish(
                &mut world.rng,
                Some(&record),
                &LoginFinalization::from_bytes(&bad).unwrap()
            )
            .is_err()
    );
    let stored_state = VaultLoginState::from_bytes(&state.to_bytes()).unwrap();
    let release = stored_state
        .finish(&mut world.rng, Some(&record), &finalization)
        .unwrap();
    let mut bad = release.to_bytes();
    *bad.last_mut().unwrap() ^= 1;
    assert!(pending.open(&KeyRelease::from_bytes(&bad).unwrap()).is_err());
    assert_eq!(pending.open(&release).unwrap(), world.key);
}

#[test]
fn argon2_parameters_below_the_client_policy_are_refused() {
    let mut world = World::new(14);
    let record = world.register(); // registered with the fast test parameters
    world.config = ClientConfig::new(world.keys.pins()); // a production client
    assert_eq!(world.retrieve(&record, PASSWORD).err(), Some(Error::KsfParamsRejected));
    assert_eq!(
        ClientConfig::new(world.keys.pins())
            .with_registration_ksf(KsfParams::INSECURE_FAST)
            .err(),
        Some(Error::KsfParamsRejected)
    );
    assert_eq!(KsfParams::new(0, 1, 1).err(), Some(Error::InvalidKsfParams));
}

#[test]
fn every_encoding_round_trips_with_the_specified_length() {
    let mut world = World::new(15);
    let user_len = world.user.as_bytes().len();
    let head = 3 + user_len; // version, type, length-prefixed user id

    let (client, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (pending, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    let upload = client.finish(&mut world.rng, &response, &world.key).unwrap().1;
    let (record, receipt) = pending
        .finish(&world.keys, &upload, &KsfPolicy::INSECURE_TESTING)
        .unwrap();
    assert_eq!(RegistrationRequest::from_bytes(&request.to_bytes()).unwrap(), request);
    assert_eq!(RegistrationReceipt::from_bytes(&receipt.to_bytes()).unwrap(), receipt);
    assert_eq!(receipt.to_bytes().len(), head + 64);
    assert_eq!(
        RegistrationResponse::from_bytes(&response.to_bytes()).unwrap(),
        response
    );
    assert_eq!(RegistrationUpload::from_bytes(&upload.to_bytes()).unwrap(), upload);
    assert_eq!(PendingRegistration::from_bytes(&pending.to_bytes()).unwrap(), pending);
    assert_eq!(BackupRecord::from_bytes(&record.to_bytes()).unwrap(), record);
    assert_eq!(request.to_bytes().len(), head + 32);
    assert_eq!(response.to_bytes().len(), head + 32 + 64 + 64);
    assert_eq!(upload.to_bytes().len(), head + 12 + 192 + 92);
    assert_eq!(pending.to_bytes().len(), head + 32);
    assert_eq!(record.to_bytes().len(), head + 12 + 192 + 92);

    let (client, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    let (_, finalization) = client.finish(&mut world.rng, &response).unwrap();
    let release = state.finish(&mut world.rng, Some(&record), &finalization).unwrap();
    assert_eq!(LoginRequest::from_bytes(&request.to_bytes()).unwrap(), request);
    assert_eq!(LoginResponse::from_bytes(&response.to_bytes()).unwrap(), response);
    assert_eq!(
        LoginFinalization::from_bytes(&finalization.to_bytes()).unwrap(),
        finalization
    );
    assert_eq!(KeyRelease::from_bytes(&release.to_bytes()).unwrap(), release);
    assert_eq!(request.to_bytes().len(), head + 1 + 96);
    assert_eq!(response.to_bytes().len(), head + 12 + 4 + 320 + 64);
    assert_eq!(finalization.to_bytes().len(), head + 64);
    assert_eq!(release.to_bytes().len(), head + 12 + 108);
    assert_eq!(state.to_bytes().len(), head + 1 + 32 + 128);
    assert_eq!(world.keys.to_bytes().len(), 2 + 128 + 32);

    let (client, request) = ClientLogin::start_for(
        &mut world.rng,
        &world.config,
        world.user.clone(),
        PASSWORD,
        LoginPurpose::DeleteRecord,
    )
    .unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    let (_, finalization) = client.finish_deletion(&mut world.rng, &response).unwrap();
    let receipt = state.finish_deletion(Some(&record), &finalization).unwrap();
    assert_eq!(DeletionReceipt::from_bytes(&receipt.to_bytes()).unwrap(), receipt);
    assert_eq!(receipt.to_bytes().len(), head + 32);
}

#[test]
fn debug_output_holds_no_secret() {
    let world = World::new(16);
    let key_hex = hex::encode(world.key.expose_secret());
    let seed_hex = hex::encode(&world.keys.to_bytes()[130..]);
    for shown in [
        format!("{:?}", world.key),
        format!("{:?}", world.keys),
        format!("{:#?}", world.keys),
    ] {
        assert!(
            !shown.contains(&key_hex[..8]) && !shown.contains(&seed_hex[..8]),
            "{shown}"
        );
        assert!(
            !shown.contains(&format!("{:?}", &world.key.expose_secret()[..4])),
            "{shown}"
        );
    }
}

#[test]
fn debug_output_of_every_stateful_type_names_only_the_user() {
    let mut world = World::new(20);
    let record = world.register();
    let (registration, _) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (login, request) = ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (state, response) =
        VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, no_charge).unwrap();
    let (pending, _) = login.finish(&mut world.rng, &response).unwrap();
    let secrets = [
        String::from_utf8_lossy(PASSWORD).into_owned(),
        format!("{:?}", &PASSWORD[..6]),
        hex::encode(&world.keys.to_bytes()[2..10]),  // the OPRF seed
        hex::encode(&world.keys.to_bytes()[66..74]), // the OPAQUE private key
        hex::encode(&state.to_bytes()[3 + world.user.as_bytes().len() + 33..][..8]), // the session key
    ];
    let shown = [
        format!("{registration:?}"),
        format!("{login:?}"),
        format!("{pending:?}"),
        format!("{state:?}"),
        format!("{record:?}"),
        format!("{:?}", world.keys),
    ];
    for text in &shown {
        assert!(
            text.contains("alice@example") || text.starts_with("VaultKeys"),
            "{text}"
        );
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{text} shows a secret");
        }
    }
}

/// S + l as 32 little-endian bytes (S < l, so the sum stays below 2^256).
fn add_group_order(s: &[u8]) -> Vec<u8> {
    const ORDER: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    s.iter()
        .zip(ORDER)
        .map(|(a, b)| {
            let sum = u16::from(*a) + u16::from(b) + carry;
            carry = sum >> 8;
            (sum & 0xff) as u8
        })
        .collect()
}

#[test]
fn a_signature_with_unreduced_s_is_rejected_even_if_a_dependency_relaxes_ed25519() {
    // The same signature with S + l verifies under ed25519-dalek's `legacy_compatibility` (which akd_core
    // enables in builds that include it); the client must still refuse it.
    let mut world = World::new(21);
    let (client, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (_, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    let mut bytes = response.to_bytes();
    let s_start = bytes.len() - 32;
    let unreduced = add_group_order(&bytes[s_start..]);
    bytes[s_start..].copy_from_slice(&unreduced);
    let malleated = RegistrationResponse::from_bytes(&bytes).unwrap();
    assert_eq!(
        client.finish(&mut world.rng, &malleated, &world.key).err(),
        Some(Error::BadVaultSignature)
    );
    assert!(client.finish(&mut world.rng, &response, &world.key).is_ok());
}
