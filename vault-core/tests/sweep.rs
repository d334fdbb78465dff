//! The sweep deletes exactly the challenges and sessions that have expired, nothing else, and refuses a corrupt
//! entry before deleting anything.

mod common;

use backup_protocol::{BackupKey, ClientLogin, ClientRegistration};
use common::{Harness, PASSWORD, config, user};
use vault_core::{MemoryStore, Request, Response, Store, Vault, VaultConfig, VaultError};

fn sweep() -> Request {
    Request::Sweep { cursor: Vec::new() }
}

#[test]
fn expired_challenges_and_sessions_go_and_the_rest_stays() {
    let mut harness = Harness::new(21);
    let alice = user("alice");
    let key = BackupKey::generate(&mut harness.rng);
    harness.register(&alice, PASSWORD, &key);
    let registered = harness.vault.store().snapshot();

    // A registration that is never finished, and logins (of alice and of a user who does not exist) never finished.
    let (_, request) = ClientRegistration::start(&mut harness.rng, &harness.client, user("bob"), PASSWORD).unwrap();
    harness.apply(Request::RegistrationStart(request)).unwrap();
    for name in ["alice", "nobody"] {
        let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, user(name), PASSWORD).unwrap();
        harness.apply(Request::LoginStart(request)).unwrap();
    }
    let with_sessions = harness.vault.store().snapshot();
    assert_eq!(
        with_sessions.len(),
        registered.len() + 4,
        "3 entries in flight and nobody's charge"
    );

    // Nothing has expired yet.
    assert_eq!(harness.apply(sweep()), Ok(Response::Swept { removed: 0, next: None }));
    assert_eq!(harness.vault.store().snapshot(), with_sessions);

    // Past the login lifetime, but within the challenge's: the two login sessions go.
    harness.now_ms += config().login_ttl_ms;
    assert_eq!(harness.apply(sweep()), Ok(Response::Swept { removed: 2, next: None }));
    // Past the challenge lifetime: the pending registration goes too.
    harness.now_ms += config().challenge_ttl_ms;
    assert_eq!(harness.apply(sweep()), Ok(Response::Swept { removed: 1, next: None }));

    // Alice's record (with the charge of her unfinished login), the charge of the unknown user's login (counted as
    // a record's would be) and the count of entries in flight, back at zero, are all that is left.
    let left = harness.vault.store().snapshot();
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        [
            &b"pending-count".to_vec(),
            &b"user/alice".to_vec(),
            &b"user/nobody".to_vec()
        ]
    );
    assert_eq!(
        left[b"pending-count".as_slice()].value,
        [0x01, 0x68, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(harness.retrieve(&alice, PASSWORD).map(|key| key.is_some()), Ok(true));
}

/// A vault that sweeps one entry a page, holding two registration challenges (bob, carol) and two login sessions
/// (dave, erin).
fn paged_vault_with_two_entries_in_each_pass() -> Harness<MemoryStore> {
    let mut harness = Harness::new(22);
    let keys = harness.vault.keys().clone();
    harness.vault = Vault::new(
        keys,
        VaultConfig {
            sweep_page: 1,
            ..config()
        },
        MemoryStore::new(),
    );
    for name in ["bob", "carol"] {
        let (_, request) = ClientRegistration::start(&mut harness.rng, &harness.client, user(name), PASSWORD).unwrap();
        harness.apply(Request::RegistrationStart(request)).unwrap();
    }
    for name in ["dave", "erin"] {
        let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, user(name), PASSWORD).unwrap();
        harness.apply(Request::LoginStart(request)).unwrap();
    }
    harness
}

/// One entry a page: a sweep whose cursor is in the challenges' pass goes on to the login sessions from their first
/// key (not from the cursor, which sorts after them), so paging until `next` is `None` removes every expired entry.
#[test]
fn a_paged_sweep_goes_through_every_pass() {
    let mut harness = paged_vault_with_two_entries_in_each_pass();
    harness.now_ms += config().challenge_ttl_ms.max(config().login_ttl_ms);

    let (mut cursor, mut removed, mut pages) = (Vec::new(), 0, 0);
    loop {
        let Ok(Response::Swept { removed: page, next }) = harness.apply(Request::Sweep { cursor }) else {
            panic!("swept")
        };
        (removed, pages) = (removed + page, pages + 1);
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(
        (removed, pages),
        (4, 5),
        "four pages of one entry each, then an empty one"
    );
    let left = harness.vault.store().snapshot();
    assert!(
        left.keys()
            .all(|key| !key.starts_with(b"pending/") && !key.starts_with(b"login/")),
        "{:?}",
        left.keys().collect::<Vec<_>>()
    );
}

/// Over entries that are all alive, each page's cursor is the next entry in pass order, so a paged sweep visits each
/// entry once and ends. The cursor must resume the pass it points into: listing that pass from its start again
/// would hand back the same first entry forever (a paged sweep over expired entries cannot show this, since each
/// page deletes what it visited).
#[test]
fn a_paged_sweep_over_live_entries_resumes_after_each_cursor_and_ends() {
    let mut harness = paged_vault_with_two_entries_in_each_pass();
    let store = harness.vault.store();
    let mut expected = store.keys_with_prefix(b"pending/", None, 10).unwrap();
    expected.extend(store.keys_with_prefix(b"login/", None, 10).unwrap());
    assert_eq!(expected.len(), 4);

    let mut cursors = Vec::new();
    let mut cursor = Vec::new();
    // Bounded, so that a sweep which never ends fails instead of hanging.
    for _ in 0..=expected.len() {
        let Ok(Response::Swept { removed, next }) = harness.apply(Request::Sweep { cursor }) else {
            panic!("swept")
        };
        assert_eq!(removed, 0, "nothing has expired");
        match next {
            Some(next) => {
                cursors.push(next.clone());
                cursor = next;
            }
            None => break,
        }
    }
    assert_eq!(cursors, expected, "one page per entry, in pass order, then the end");
}

#[test]
fn a_corrupt_entry_refuses_the_sweep_before_any_deletion() {
    let mut harness = Harness::new(22);
    for name in ["alice", "bob"] {
        let (_, request) = ClientLogin::start(&mut harness.rng, &harness.client, user(name), PASSWORD).unwrap();
        harness.apply(Request::LoginStart(request)).unwrap();
    }
    let keys = harness.vault.store().keys_with_prefix(b"login/", None, 10).unwrap();
    assert_eq!(keys.len(), 2);
    let last = harness.vault.store().get(&keys[1]).unwrap().unwrap();
    harness
        .vault
        .store()
        .compare_and_swap(&keys[1], Some(last.version), Some(&[0x01, 0x63, 0x00]))
        .unwrap();
    let before = harness.vault.store().snapshot();
    harness.now_ms += config().login_ttl_ms + 1;
    assert_eq!(harness.apply(sweep()), Err(VaultError::Corrupt("login session")));
    assert_eq!(harness.vault.store().snapshot(), before);
}

#[test]
fn prefix_listing_is_exact() {
    let store = vault_core::MemoryStore::new();
    for key in [&b"login/a"[..], b"login/b", b"login", b"logio/x", b"loginx", b"user/a"] {
        store.compare_and_swap(key, None, Some(b"v")).unwrap();
    }
    assert_eq!(
        store.keys_with_prefix(b"login/", None, 10).unwrap(),
        [b"login/a".to_vec(), b"login/b".to_vec()]
    );
    // Paged: a limit, and a start after a given key (inside or before the prefix).
    assert_eq!(
        store.keys_with_prefix(b"login/", None, 1).unwrap(),
        [b"login/a".to_vec()]
    );
    assert_eq!(
        store.keys_with_prefix(b"login/", Some(b"login/a"), 10).unwrap(),
        [b"login/b".to_vec()]
    );
    assert_eq!(
        store.keys_with_prefix(b"login/", Some(b"a"), 10).unwrap(),
        [b"login/a".to_vec(), b"login/b".to_vec()]
    );
    assert!(
        store
            .keys_with_prefix(b"login/", Some(b"login/b"), 10)
            .unwrap()
            .is_empty()
    );
    assert!(store.keys_with_prefix(b"login/", None, 0).unwrap().is_empty());
    assert!(store.keys_with_prefix(b"zzz", None, 10).unwrap().is_empty());
}
