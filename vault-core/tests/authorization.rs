//! Only the account the transport authenticated can act on its entries: a stranger's requests cost the user
//! nothing and reveal nothing; operator requests come from the operator alone; what starts may store is capped.

mod common;

use std::cell::RefCell;
use std::convert::Infallible;

use backup_protocol::{BackupKey, ClientLogin, ClientRegistration, Error, LoginFinalization, RegistrationRequest};
use common::{Harness, PASSWORD, WRONG, user};
use vault_core::{Cas, MemoryStore, Principal, Request, Response, Store, VaultConfig, VaultError, Versioned};

/// A vault with alice's key registered under `PASSWORD`.
fn with_alice(seed: u64) -> (Harness<MemoryStore>, BackupKey) {
    let mut harness = Harness::new(seed);
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&user("alice"), PASSWORD, &key);
    (harness, key)
}

fn mallory() -> Principal {
    Principal::Account(user("mallory"))
}

/// Applies `request` from `principal`, checks that it was refused with `expected`, and that the store is byte for
/// byte as it was.
fn refused_without_change(
    harness: &mut Harness<MemoryStore>,
    principal: Principal,
    request: Request,
    expected: &VaultError<Infallible>,
) {
    let before = harness.vault.store().snapshot();
    assert_eq!(harness.apply_as(principal, request).as_ref().err(), Some(expected));
    assert_eq!(
        harness.vault.store().snapshot(),
        before,
        "{expected:?} changed the store"
    );
}

fn login_request(harness: &mut Harness<MemoryStore>, name: &str) -> Request {
    let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, user(name), PASSWORD).unwrap();
    Request::LoginStart(request)
}

#[test]
fn a_strangers_login_starts_cannot_lock_the_owner_out_or_cost_a_guess() {
    let (mut harness, key) = with_alice(1);
    let limit = harness.vault.config().attempt_limit;
    for _ in 0..=limit {
        let request = login_request(&mut harness, "alice");
        refused_without_change(&mut harness, mallory(), request, &VaultError::Forbidden);
    }
    // Alice still has every guess: her next login is charged as her first.
    let (finished, session) = harness
        .login_start(&user("alice"), PASSWORD, backup_protocol::LoginPurpose::RetrieveKey)
        .unwrap();
    let (pending, finalization) = finished.unwrap();
    assert_eq!(pending.guesses_remaining(), limit - 1);
    let Ok(Response::KeyReleased(release)) = harness.apply(Request::LoginFinish { session, finalization }) else {
        panic!("the owner's login failed")
    };
    assert_eq!(pending.open(&release).unwrap(), key);
}

#[test]
fn a_stranger_learns_nothing_about_who_is_registered() {
    // Registered, locked or unknown: the stranger gets the same refusal, before anything is read.
    let (mut harness, _) = with_alice(2);
    harness.register(&user("bob"), PASSWORD, &BackupKey::generate(&mut rand::thread_rng()));
    let limit = harness.vault.config().attempt_limit;
    for _ in 0..=limit {
        let _ = harness.retrieve(&user("bob"), WRONG);
    }
    assert_eq!(harness.retrieve(&user("bob"), PASSWORD), Err(VaultError::Locked));
    for name in ["alice", "bob", "nobody"] {
        let request = login_request(&mut harness, name);
        refused_without_change(&mut harness, mallory(), request, &VaultError::Forbidden);
    }
}

#[test]
fn the_owner_sees_its_guesses_count_down_and_still_locks_out_at_the_limit() {
    let (mut harness, _) = with_alice(3);
    let limit = harness.vault.config().attempt_limit;
    for remaining in (0..limit).rev() {
        let (login, request) = ClientLogin::start(&mut harness.rng, &harness.client, user("alice"), WRONG).unwrap();
        let Ok(Response::LoginStarted { response, .. }) = harness.apply(Request::LoginStart(request)) else {
            panic!("the owner's guess was refused")
        };
        assert_eq!(
            login.finish(&mut harness.rng, &response).err(),
            Some(Error::WrongPassword {
                guesses_remaining: remaining
            })
        );
    }
    assert_eq!(harness.retrieve(&user("alice"), PASSWORD), Err(VaultError::Locked));
}

#[test]
fn every_user_scoped_request_from_another_principal_is_refused_without_change() {
    let (mut harness, key) = with_alice(4);
    let alice = user("alice");

    // A registration for alice, from mallory and from the operator; then alice's own start, finished by mallory.
    let (registration, request) =
        ClientRegistration::start(&mut harness.rng, &harness.client, alice.clone(), PASSWORD).unwrap();
    for principal in [mallory(), Principal::Operator] {
        refused_without_change(
            &mut harness,
            principal,
            Request::RegistrationStart(request.clone()),
            &VaultError::Forbidden,
        );
    }
    let Ok(Response::RegistrationStarted(response)) = harness.apply(Request::RegistrationStart(request)) else {
        panic!()
    };
    let (_, upload) = registration.finish(&mut harness.rng, &response, &key).unwrap();
    refused_without_change(
        &mut harness,
        mallory(),
        Request::RegistrationFinish(upload),
        &VaultError::Forbidden,
    );

    // Alice's login session, finished by mallory: as alice (refused), or renamed to mallory (no such session
    // under mallory: the session id alone reaches nothing).
    let (finished, session) = harness
        .login_start(&alice, PASSWORD, backup_protocol::LoginPurpose::RetrieveKey)
        .unwrap();
    let (_, finalization) = finished.unwrap();
    for principal in [mallory(), Principal::Operator] {
        refused_without_change(
            &mut harness,
            principal,
            Request::LoginFinish {
                session,
                finalization: finalization.clone(),
            },
            &VaultError::Forbidden,
        );
    }
    let mut renamed = finalization.to_bytes();
    renamed.splice(3..3 + "alice".len(), b"mallory".iter().copied());
    renamed[2] = 7;
    let renamed = LoginFinalization::from_bytes(&renamed).unwrap();
    refused_without_change(
        &mut harness,
        mallory(),
        Request::LoginFinish {
            session,
            finalization: renamed,
        },
        &VaultError::UnknownSession,
    );
    // The owner's finish still works.
    assert!(matches!(
        harness.apply(Request::LoginFinish { session, finalization }),
        Ok(Response::KeyReleased(_))
    ));
}

#[test]
fn operator_requests_come_from_the_operator_only() {
    let (mut harness, _) = with_alice(5);
    let alice = Principal::Account(user("alice"));
    refused_without_change(
        &mut harness,
        alice.clone(),
        Request::Sweep { cursor: Vec::new() },
        &VaultError::Forbidden,
    );
    #[cfg(feature = "ipls")]
    refused_without_change(
        &mut harness,
        alice,
        Request::ObserveRoot(vec![1, 2, 3]),
        &VaultError::Forbidden,
    );
    assert_eq!(
        harness.apply_as(Principal::Operator, Request::Sweep { cursor: Vec::new() }),
        Ok(Response::Swept { removed: 0, next: None })
    );
}

/// A registration request for `name`, made once and renamed: decoding checks the OPAQUE element, so this is a
/// valid request without a fresh blinding per user.
fn registration_request_for(template: &RegistrationRequest, name: &str) -> Request {
    let bytes = template.to_bytes();
    let mut renamed = vec![bytes[0], bytes[1], name.len() as u8];
    renamed.extend_from_slice(name.as_bytes());
    renamed.extend_from_slice(&bytes[3 + usize::from(bytes[2])..]);
    Request::RegistrationStart(RegistrationRequest::from_bytes(&renamed).unwrap())
}

#[test]
fn one_principal_holds_at_most_its_cap_of_entries_in_flight() {
    let mut harness = Harness::new(6);
    harness.vault = vault_core::Vault::new(
        harness.vault.keys().clone(),
        VaultConfig {
            max_pending_per_principal: 3,
            ..common::config()
        },
        MemoryStore::new(),
    );
    for _ in 0..3 {
        let request = login_request(&mut harness, "alice");
        assert!(matches!(harness.apply(request), Ok(Response::LoginStarted { .. })));
    }
    let full = harness.vault.store().snapshot();
    for _ in 0..100 {
        let request = login_request(&mut harness, "alice");
        refused_without_change(
            &mut harness,
            Principal::Account(user("alice")),
            request,
            &VaultError::PrincipalPendingFull,
        );
    }
    assert_eq!(harness.vault.store().snapshot(), full);
    // Another account is not affected, and the sweep of expired sessions gives alice room again.
    let request = login_request(&mut harness, "bob");
    assert!(matches!(harness.apply(request), Ok(Response::LoginStarted { .. })));
    harness.now_ms += harness.vault.config().login_ttl_ms + 1;
    assert_eq!(
        harness.apply(Request::Sweep { cursor: Vec::new() }),
        Ok(Response::Swept { removed: 4, next: None })
    );
    let request = login_request(&mut harness, "alice");
    assert!(matches!(harness.apply(request), Ok(Response::LoginStarted { .. })));
}

/// A store that records the `limit` of every listing the vault asks for.
struct ListingLimits<'a> {
    inner: &'a MemoryStore,
    limits: RefCell<Vec<usize>>,
}

impl Store for ListingLimits<'_> {
    type Error = Infallible;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Infallible> {
        self.inner.get(key)
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Infallible> {
        self.inner.compare_and_swap(key, expected, value)
    }

    fn keys_with_prefix(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, Infallible> {
        self.limits.borrow_mut().push(limit);
        self.inner.keys_with_prefix(prefix, after, limit)
    }
}

/// Counting what a principal holds in flight reads at most the room left under its cap: with its registration
/// challenge counted, alice's sessions are listed at most `cap - 1` at a time, so a start never reads more keys
/// than the cap, however many the store holds.
#[test]
fn counting_a_principals_entries_reads_no_more_than_the_room_under_its_cap() {
    let mut harness = Harness::new(8);
    let shared = MemoryStore::new();
    let store = ListingLimits {
        inner: &shared,
        limits: RefCell::new(Vec::new()),
    };
    let config = VaultConfig {
        max_pending_per_principal: 3,
        ..common::config()
    };
    let vault = vault_core::Vault::new(harness.vault.keys().clone(), config, &store);
    let apply = |harness: &mut Harness<MemoryStore>, request: Request| vault.apply(&harness.command(request));
    let (_, registration) =
        ClientRegistration::start(&mut harness.rng, &harness.client, user("alice"), PASSWORD).unwrap();
    assert!(matches!(
        apply(&mut harness, Request::RegistrationStart(registration)),
        Ok(Response::RegistrationStarted(_))
    ));
    store.limits.borrow_mut().clear();
    for _ in 0..2 {
        let request = login_request(&mut harness, "alice");
        assert!(matches!(
            apply(&mut harness, request),
            Ok(Response::LoginStarted { .. })
        ));
    }
    let request = login_request(&mut harness, "alice");
    assert_eq!(
        apply(&mut harness, request).err(),
        Some(VaultError::PrincipalPendingFull)
    );
    let limits = store.limits.borrow();
    assert!(!limits.is_empty());
    assert!(limits.iter().all(|&limit| limit <= 2), "listing limits {limits:?}");
}

#[test]
fn a_hundred_thousand_starts_do_not_grow_the_store_past_the_cap() {
    const CAP: u64 = 500;
    let mut harness = Harness::new(7);
    harness.vault = vault_core::Vault::new(
        harness.vault.keys().clone(),
        VaultConfig {
            max_pending_total: CAP,
            ..common::config()
        },
        MemoryStore::new(),
    );
    let (_, template) =
        ClientRegistration::start(&mut harness.rng, &harness.client, user("template"), PASSWORD).unwrap();
    let (mut started, mut refused) = (0u64, 0u64);
    for index in 0..100_000u32 {
        // Every start from its own account, as many accounts colluding would.
        let name = format!("user{index}");
        match harness.apply(registration_request_for(&template, &name)) {
            Ok(Response::RegistrationStarted(_)) => started += 1,
            Err(VaultError::PendingFull) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((started, refused), (CAP, 100_000 - CAP));
    // The challenges and the count: nothing else.
    assert_eq!(harness.vault.store().snapshot().len() as u64, CAP + 1);
}

#[test]
fn a_large_backlog_is_swept_in_pages_of_bounded_size() {
    const BACKLOG: u32 = 2_500;
    const PAGE: u32 = 100;
    let mut harness = Harness::new(8);
    harness.vault = vault_core::Vault::new(
        harness.vault.keys().clone(),
        VaultConfig {
            sweep_page: PAGE,
            ..common::config()
        },
        MemoryStore::new(),
    );
    let (_, template) =
        ClientRegistration::start(&mut harness.rng, &harness.client, user("template"), PASSWORD).unwrap();
    for index in 0..BACKLOG {
        harness
            .apply(registration_request_for(&template, &format!("user{index}")))
            .unwrap();
    }
    harness.now_ms += harness.vault.config().challenge_ttl_ms + 1;

    let (mut cursor, mut removed, mut pages) = (Vec::new(), 0, 0);
    loop {
        let before = harness.vault.store().snapshot().len();
        let Ok(Response::Swept { removed: page, next }) = harness.apply(Request::Sweep { cursor }) else {
            panic!("sweep refused")
        };
        assert!(page <= PAGE, "a page removed {page}");
        assert_eq!(before - harness.vault.store().snapshot().len(), page as usize);
        removed += page;
        pages += 1;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(removed, BACKLOG);
    assert_eq!(pages, BACKLOG / PAGE + 1, "full pages, then one that finds the end");
    let left = harness.vault.store().snapshot();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[b"pending-count".as_slice()].value,
        [0x01, 0x68, 0, 0, 0, 0, 0, 0, 0, 0]
    );

    // A cursor the vault never handed out is refused.
    assert_eq!(
        harness.apply(Request::Sweep {
            cursor: b"user/alice".to_vec()
        }),
        Err(VaultError::InvalidSweepCursor)
    );
}

/// The guesses remaining that an account sees on `count` wrong-password logins, then the answer to one more.
fn guesses_seen(
    harness: &mut Harness<MemoryStore>,
    name: &str,
    count: u32,
) -> (Vec<u32>, Result<(), VaultError<Infallible>>) {
    let mut seen = Vec::new();
    for _ in 0..count {
        let (login, request) = ClientLogin::start(&mut harness.rng, &harness.client, user(name), WRONG).unwrap();
        let Ok(Response::LoginStarted { response, .. }) = harness.apply(Request::LoginStart(request)) else {
            panic!("a guess was refused")
        };
        match login.finish(&mut harness.rng, &response) {
            Err(Error::WrongPassword { guesses_remaining }) => seen.push(guesses_remaining),
            other => panic!("unexpected {other:?}"),
        }
    }
    let request = login_request(harness, name);
    (seen, harness.apply(request).map(|_| ()))
}

#[test]
fn an_account_cannot_tell_from_its_guesses_whether_it_has_a_backup() {
    // Registered, never registered, or deleted: the same countdown, and the same lockout at the limit.
    let (mut harness, _) = with_alice(9);
    harness.register(&user("dora"), PASSWORD, &BackupKey::generate(&mut rand::thread_rng()));
    let (finished, session) = harness.deletion_start(&user("dora"), PASSWORD).unwrap();
    let (awaiting, finalization) = finished.unwrap();
    let Ok(Response::Deleted(receipt)) = harness.apply(Request::LoginFinish { session, finalization }) else {
        panic!("deletion refused")
    };
    awaiting.verify(&receipt).unwrap();

    let limit = harness.vault.config().attempt_limit;
    let countdown: Vec<u32> = (0..limit).rev().collect();
    for name in ["alice", "nobody", "dora"] {
        assert_eq!(
            guesses_seen(&mut harness, name, limit),
            (countdown.clone(), Err(VaultError::Locked)),
            "{name}"
        );
    }
}
