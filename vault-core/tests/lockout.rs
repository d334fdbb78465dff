//! Attempt counting and lockout.

mod common;

use backup_protocol::{BackupKey, LoginPurpose, UserId};
use common::{Harness, PASSWORD, WRONG, user};
use vault_core::{MemoryStore, RecordStatus, Request, Response, VaultError};

/// A vault with alice's key registered under `PASSWORD`.
fn with_alice(seed: u64) -> (Harness<MemoryStore>, UserId, BackupKey) {
    let mut harness = Harness::new(seed);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    (harness, alice, key)
}

#[test]
fn lockout_happens_exactly_at_the_limit() {
    let (mut harness, alice, _) = with_alice(1);
    let limit = harness.vault.config().attempt_limit;

    for attempt in 1..=limit {
        assert_eq!(harness.retrieve(&alice, WRONG), Ok(None), "guess {attempt} is answered");
    }
    // The start after the last guess destroys the record.
    assert_eq!(harness.retrieve(&alice, PASSWORD), Err(VaultError::Locked));
    let snapshot = harness.vault.store().snapshot();
    let stored = &snapshot[b"user/alice".as_slice()].value;
    assert!(
        stored.len() < 20,
        "the tombstone holds no record or EK ({} bytes)",
        stored.len()
    );
    // From then on: refused, and nothing changes.
    assert_eq!(harness.retrieve(&alice, PASSWORD), Err(VaultError::Locked));
    assert_eq!(harness.vault.store().snapshot(), snapshot);
}

#[test]
fn the_last_guess_can_still_succeed_and_a_success_resets_the_counter() {
    let (mut harness, alice, key) = with_alice(2);
    let limit = harness.vault.config().attempt_limit;
    for _ in 1..limit {
        assert_eq!(harness.retrieve(&alice, WRONG), Ok(None));
    }
    assert_eq!(
        harness.retrieve(&alice, PASSWORD),
        Ok(Some(key.clone())),
        "guess {limit} is the right one"
    );
    // The counter is back to zero: a full set of guesses again.
    for _ in 1..limit {
        assert_eq!(harness.retrieve(&alice, WRONG), Ok(None));
    }
    assert_eq!(harness.retrieve(&alice, PASSWORD), Ok(Some(key)));
}

#[test]
fn an_unfinished_login_costs_an_attempt() {
    // The client learns a wrong password from the response alone, so an abandoned login is a guess.
    let (mut harness, alice, _) = with_alice(3);
    let limit = harness.vault.config().attempt_limit;
    for _ in 0..limit {
        harness
            .login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey)
            .unwrap();
    }
    assert!(matches!(
        harness.login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey),
        Err(VaultError::Locked)
    ));
}

#[test]
fn a_session_of_a_destroyed_record_releases_nothing() {
    let (mut harness, alice, _) = with_alice(4);
    let limit = harness.vault.config().attempt_limit;
    for _ in 1..limit {
        assert_eq!(harness.retrieve(&alice, WRONG), Ok(None));
    }
    // The last guess is right, but its finish arrives only after a further start destroyed the record.
    let (finished, session) = harness
        .login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    assert_eq!(harness.retrieve(&alice, PASSWORD), Err(VaultError::Locked));
    let (_, finalization) = finished.unwrap();
    assert_eq!(
        harness.apply(Request::LoginFinish { session, finalization }),
        Err(VaultError::Locked)
    );
}

#[test]
fn re_registration_after_lockout_starts_a_new_record_and_never_revives_the_old_key() {
    let (mut harness, alice, _) = with_alice(5);
    for _ in 0..harness.vault.config().attempt_limit {
        assert_eq!(harness.retrieve(&alice, WRONG), Ok(None));
    }
    assert_eq!(harness.retrieve(&alice, PASSWORD), Err(VaultError::Locked));

    let new_key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &new_key);
    assert_eq!(harness.retrieve(&alice, PASSWORD), Ok(Some(new_key)));
}

#[test]
fn deletion_needs_the_password_and_removes_the_key() {
    let (mut harness, alice, _) = with_alice(6);

    // A wrong password cannot delete: the client cannot even produce a finalization.
    let (finished, _) = harness.deletion_start(&alice, WRONG).unwrap();
    assert!(finished.is_none());

    // A retrieval session started before the deletion cannot finish after it.
    let (before, before_session) = harness
        .login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    let (finished, session) = harness.deletion_start(&alice, PASSWORD).unwrap();
    let (awaiting, finalization) = finished.unwrap();
    let Ok(Response::Deleted(receipt)) = harness.apply(Request::LoginFinish { session, finalization }) else {
        panic!("deletion refused")
    };
    awaiting.verify(&receipt).unwrap();
    assert_eq!(
        harness.vault.record_status(&alice),
        Ok(Some(RecordStatus::NoRecord { attempts_used: 0 }))
    );
    let (_, finalization) = before.unwrap();
    assert_eq!(
        harness.apply(Request::LoginFinish {
            session: before_session,
            finalization
        }),
        Err(VaultError::Superseded)
    );

    // The deleted user now looks unknown: the right password no longer opens anything.
    assert_eq!(harness.retrieve(&alice, PASSWORD), Ok(None));
    // And can register again.
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    assert_eq!(harness.retrieve(&alice, PASSWORD), Ok(Some(key)));
}

#[test]
fn unknown_users_get_a_response_that_never_finishes() {
    let mut harness = Harness::new(7);
    let ghost = user("ghost");
    let (finished, ghost_session) = harness
        .login_start(&ghost, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    assert!(finished.is_none(), "the fake response fails like a wrong password");

    // Even a genuine finalization (of a registered user with a same-length name) cannot finish the fake login.
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    let (finished, _) = harness
        .login_start(&alice, PASSWORD, LoginPurpose::RetrieveKey)
        .unwrap();
    let (_, finalization) = finished.unwrap();
    let mut renamed = finalization.to_bytes();
    renamed[3..8].copy_from_slice(b"ghost");
    let renamed = backup_protocol::LoginFinalization::from_bytes(&renamed).unwrap();
    assert_eq!(
        harness.apply(Request::LoginFinish {
            session: ghost_session,
            finalization: renamed
        }),
        Err(VaultError::Protocol(backup_protocol::Error::ClientAuthenticationFailed))
    );
}

#[test]
fn the_operator_reads_a_records_status_without_changing_it() {
    let (mut harness, alice, _) = with_alice(8);
    let limit = harness.vault.config().attempt_limit;
    assert_eq!(harness.vault.record_status(&user("nobody")), Ok(None));
    for used in 1..=3 {
        assert_eq!(harness.retrieve(&alice, WRONG), Ok(None));
        let before = harness.vault.store().snapshot();
        assert_eq!(
            harness.vault.record_status(&alice),
            Ok(Some(RecordStatus::Active {
                attempts_used: used,
                guesses_remaining: limit - used
            }))
        );
        assert_eq!(harness.vault.store().snapshot(), before);
    }
    for _ in 3..limit {
        assert_eq!(harness.retrieve(&alice, WRONG), Ok(None));
    }
    assert_eq!(harness.retrieve(&alice, PASSWORD), Err(VaultError::Locked));
    assert_eq!(harness.vault.record_status(&alice), Ok(Some(RecordStatus::Locked)));
}
