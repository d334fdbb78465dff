//! No free guesses under crashes, dropped replies and concurrent logins.

mod common;

use std::cell::Cell;
use std::fmt;

use backup_protocol::{BackupKey, ClientLogin, LoginPurpose};
use common::{Harness, PASSWORD, WRONG, user};
use rand::SeedableRng;
use rand::rngs::StdRng;
use vault_core::{Cas, FleetKeys, MemoryStore, Request, Response, Store, Vault, VaultError, Versioned};

#[derive(Debug, PartialEq, Eq)]
struct Crashed;

impl fmt::Display for Crashed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("injected crash")
    }
}

impl std::error::Error for Crashed {}

/// A store over a shared [`MemoryStore`] that fails every write once `crash_at` earlier writes have succeeded,
/// as a node that dies at that point would; reads keep working, so a restarted node sees what was persisted.
struct CrashingStore<'a> {
    inner: &'a MemoryStore,
    writes: Cell<usize>,
    crash_at: Option<usize>,
}

impl Store for CrashingStore<'_> {
    type Error = Crashed;

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Crashed> {
        Ok(self.inner.get(key).unwrap_or_else(|never| match never {}))
    }

    fn compare_and_swap(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Crashed> {
        if self.crash_at.is_some_and(|limit| self.writes.get() >= limit) {
            return Err(Crashed);
        }
        self.writes.set(self.writes.get() + 1);
        Ok(self
            .inner
            .compare_and_swap(key, expected, value)
            .unwrap_or_else(|never| match never {}))
    }

    fn keys_with_prefix(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, Crashed> {
        Ok(self
            .inner
            .keys_with_prefix(prefix, after, limit)
            .unwrap_or_else(|never| match never {}))
    }
}

fn crashing(shared: &MemoryStore, crash_at: Option<usize>) -> CrashingStore<'_> {
    CrashingStore {
        inner: shared,
        writes: Cell::new(0),
        crash_at,
    }
}

/// Registers alice in a fresh shared store.
fn setup(seed: u64) -> (MemoryStore, FleetKeys) {
    let shared = MemoryStore::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = FleetKeys::generate(&mut rng);
    let key = BackupKey::generate(&mut rng);
    Harness::with_store(keys.clone(), &shared, rng).register(&user("alice"), PASSWORD, &key);
    (shared, keys)
}

#[test]
fn a_crash_at_either_write_of_a_login_start_never_yields_a_free_guess() {
    // A login start writes three times: the count of entries in flight, the charge, then the session. Crash at one
    // of them on every other command.
    for crash_at in 0..3 {
        let (shared, keys) = setup(10 + crash_at as u64);
        let (mut answered, mut crashes) = (0, 0);
        for round in 0..40 {
            let crash = (round % 2 == 0).then_some(crash_at);
            let mut node = Harness::with_store(
                keys.clone(),
                crashing(&shared, crash),
                StdRng::seed_from_u64(100 + round),
            );
            match node.login_start(&user("alice"), WRONG, LoginPurpose::RetrieveKey) {
                Ok(_) => answered += 1,
                Err(VaultError::Store(Crashed)) => crashes += 1,
                Err(VaultError::Locked) => break,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        if crash_at < 2 {
            // Crashing before the charge persists (at the count, or at the charge itself): all 10 guesses remain,
            // each answered.
            assert_eq!(answered, 10);
        } else {
            // Crashing after the charge burns a guess without answering it.
            assert_eq!(answered + crashes, 10, "{answered} answered, {crashes} crashed");
        }
        // The count of entries in flight may run high after a crash, never low: it is at least the sessions stored.
        let stored = shared.keys_with_prefix(b"login/", None, 1000).unwrap().len() as u64;
        let count = &shared.get(b"pending-count").unwrap().unwrap().value;
        let count = u64::from_be_bytes(count[2..].try_into().unwrap());
        assert!(count >= stored, "count {count} below the {stored} sessions stored");
        if crash_at > 0 {
            assert!(count > stored, "a crash after counting leaves the count high");
        }
    }
}

#[test]
fn a_crash_at_either_write_of_a_login_finish_does_not_reset_the_counter() {
    // A finish writes twice: consume the session, then reset the counter. A crash at either releases nothing
    // and leaves the attempt charged by the start.
    for crash_at in 0..2 {
        let (shared, keys) = setup(20 + crash_at as u64);
        let mut node = Harness::with_store(keys.clone(), &shared, StdRng::seed_from_u64(7));
        let (finished, session) = node
            .login_start(&user("alice"), PASSWORD, LoginPurpose::RetrieveKey)
            .unwrap();
        let (_, finalization) = finished.unwrap();
        let mut crashing_node = Harness::with_store(
            keys.clone(),
            crashing(&shared, Some(crash_at)),
            StdRng::seed_from_u64(8),
        );
        assert_eq!(
            crashing_node.apply(Request::LoginFinish { session, finalization }),
            Err(VaultError::Store(Crashed))
        );
        let mut answered = 0;
        while node
            .login_start(&user("alice"), WRONG, LoginPurpose::RetrieveKey)
            .is_ok()
        {
            answered += 1;
        }
        assert_eq!(answered, 9, "crash at finish write {crash_at}");
    }
}

#[test]
fn a_dropped_reply_is_still_a_charged_guess() {
    let mut harness = Harness::new(20);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    // The reply to each start is "lost": the client retries with a new start each time.
    let limit = harness.vault.config().attempt_limit;
    for _ in 0..limit {
        let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, alice.clone(), WRONG).unwrap();
        assert!(matches!(
            harness.apply(Request::LoginStart(request)),
            Ok(Response::LoginStarted { .. })
        ));
    }
    assert_eq!(harness.retrieve(&alice, PASSWORD), Err(VaultError::Locked));
}

#[test]
fn concurrent_login_starts_never_exceed_the_limit() {
    let (shared, keys) = setup(30);
    let vault = Vault::new(keys.clone(), common::config(), &shared);
    let client = backup_protocol::ClientConfig::insecure_fast_for_testing(keys.backup_pins());
    let alice = user("alice");

    let answered = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let (vault, client, alice, answered) = (&vault, &client, &alice, &answered);
            scope.spawn(move || {
                let mut rng = StdRng::seed_from_u64(1000 + thread);
                for now in 1_700_000_000_000..1_700_000_000_010 {
                    let (_, request) = ClientLogin::start(&mut rng, client, alice.clone(), WRONG).unwrap();
                    let command = vault_core::Command {
                        at_ms: now,
                        entropy: rand::Rng::r#gen(&mut rng),
                        principal: vault_core::Principal::Account(alice.clone()),
                        request: Request::LoginStart(request),
                    };
                    match vault.apply(&command) {
                        Ok(Response::LoginStarted { .. }) => {
                            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(VaultError::Conflict | VaultError::Locked) => {}
                        other => panic!("unexpected {other:?}"),
                    }
                }
            });
        }
    });
    let answered = answered.into_inner();
    assert!(answered <= vault.config().attempt_limit, "{answered} guesses answered");
    assert!(answered > 0);
}
