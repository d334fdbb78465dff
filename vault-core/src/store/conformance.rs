//! Checks that a [`Store`] keeps the contract the vault relies on (feature `conformance`): run them from your own
//! store's tests.
//!
//! - [`run`]: compare-and-swap (create-if-absent, expected version, stale versions, deletion), versions growing
//!   and never repeating for a key (also across deletion), values (empty, binary, large), prefix listing (byte
//!   order, limits, cursors, a prefix that is itself a key or a prefix of other keys, the empty prefix), and that a
//!   refused write changes nothing anywhere.
//! - [`run_reopening`]: for a durable store, that everything acknowledged, and the version counter, survive
//!   closing and reopening.
//! - [`run_concurrent`]: for a store shared between threads, that concurrent compare-and-swaps on one key
//!   serialize (two swaps from the same read never both succeed: no lost update), and that of concurrent creates
//!   of one absent key, or concurrent deletes of one version, exactly one succeeds.
//!
//! Each returns the first check that failed, with what was expected and what the store did.
//!
//! ```
//! use vault_core::MemoryStore;
//! use vault_core::store::conformance;
//! conformance::run(MemoryStore::new)?;
//! conformance::run_concurrent(&MemoryStore::new())?;
//! # Ok::<(), conformance::Failure>(())
//! ```

use core::fmt;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::store::{Cas, Store, Versioned};

/// A check the store failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Which check.
    pub check: &'static str,
    /// What was expected and what the store did (or the store's error).
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store conformance check `{}` failed: {}", self.check, self.detail)
    }
}

impl core::error::Error for Failure {}

/// One check of [`run`], on a fresh store.
type Check<S> = fn(&Checked<'_, S>) -> Result<(), Failure>;

/// Every check that needs only a store: each gets a fresh, empty store from `fresh`.
///
/// ```
/// vault_core::store::conformance::run(vault_core::MemoryStore::new)?;
/// # Ok::<(), vault_core::store::conformance::Failure>(())
/// ```
pub fn run<S: Store>(mut fresh: impl FnMut() -> S) -> Result<(), Failure> {
    let checks: [(&'static str, Check<S>); 8] = [
        ("empty store", empty),
        ("create if absent", create_if_absent),
        ("expected version", expected_version),
        ("delete", delete),
        ("re-create the newest key", recreate_newest),
        ("versions grow", versions_grow),
        ("values", values),
        ("prefix listing", prefix_listing),
    ];
    for (check, run_check) in checks {
        let store = fresh();
        let checked = Checked { store: &store, check };
        expect(check, "a fresh store's keys", checked.list(b"", None, 1)?, Vec::new())?;
        run_check(&checked)?;
    }
    Ok(())
}

/// A durable store: `open` must open the same storage each time (empty the first time); the store it returned
/// before is dropped first. Checks that every acknowledged write (values, versions, deletions) is there after a
/// reopen, that stale versions still conflict, and that versions go on growing, also for a key deleted before
/// the reopen (the version counter is durable too).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("vault.redb");
/// vault_core::store::conformance::run_reopening(|| vault_core::RedbStore::open(&path).unwrap())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_reopening<S: Store>(mut open: impl FnMut() -> S) -> Result<(), Failure> {
    let check = "reopen";
    let store = open();
    let first = Checked { store: &store, check };
    expect(check, "the keys on first open", first.list(b"", None, 1)?, Vec::new())?;
    let kept = first.put(b"kept", None, b"one")?;
    let kept = first.put(b"kept", Some(kept), b"two")?;
    let empty = first.put(b"empty", None, b"")?;
    let gone = first.put(b"gone", None, b"bye")?;
    first.cas_expecting(b"gone", Some(gone), None, Cas::Written)?;
    let before = first.view()?;
    let highest = kept.max(empty).max(gone);
    drop(store);

    for round in 0..2 {
        let store = open();
        let reopened = Checked { store: &store, check };
        expect(check, "the entries after a reopen", reopened.view()?, before.clone())?;
        reopened.cas_expecting(b"kept", Some(kept - 1), Some(b"stale"), Cas::Conflict)?;
        reopened.cas_expecting(b"gone", Some(gone), Some(b"stale"), Cas::Conflict)?;
        if round == 0 {
            // The write happens on the first reopen only: the second checks it was undone below.
            let again = reopened.put(b"gone", None, b"again")?;
            ensure(check, again > highest, || {
                format!("version {again} after a reopen, not above {highest} handed out before it")
            })?;
            reopened.cas_expecting(b"gone", Some(again), None, Cas::Written)?;
        }
    }
    Ok(())
}

/// A store shared between threads: four threads each add 25 to a counter with read-compare-and-swap loops.
/// Every swap that returned `Written` must count: two swaps from the same read version cannot both succeed, or
/// the counter ends below 100 (a lost update, as two logins charged from one read would be).
///
/// Then the four threads race to create each of 50 absent keys (expecting no version), and to delete each of 50
/// keys expecting the version they all read: exactly one must win each race. An unknown user's first charge and a
/// new login session are such creates; a store whose create is a check, then a write, would let two logins start
/// on one charge.
///
/// ```
/// vault_core::store::conformance::run_concurrent(&vault_core::MemoryStore::new())?;
/// # Ok::<(), vault_core::store::conformance::Failure>(())
/// ```
pub fn run_concurrent<S: Store + Sync>(store: &S) -> Result<(), Failure> {
    const THREADS: u64 = 4;
    const INCREMENTS: u64 = 25;
    let check = "concurrent compare-and-swap";
    let checked = Checked { store, check };
    checked.put(b"counter", None, &0u64.to_be_bytes())?;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| scope.spawn(|| increment(&checked, INCREMENTS)))
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .map_err(|_| checked.fail("a thread panicked".to_string()))?
        })
    })?;
    let counter = checked.get(b"counter")?.map(|entry| entry.value);
    expect(
        check,
        "the counter",
        counter,
        Some((THREADS * INCREMENTS).to_be_bytes().to_vec()),
    )?;
    race(store, Race::Create)?;
    race(store, Race::Delete)
}

/// What the threads of [`race`] compete to do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Race {
    /// Create an absent key (expecting no version).
    Create,
    /// Delete a key, every thread expecting the version read before the race.
    Delete,
}

/// Four threads each try the same write on each of 50 keys; for every key, exactly one must get `Written`.
fn race<S: Store + Sync>(store: &S, race: Race) -> Result<(), Failure> {
    const THREADS: usize = 4;
    const KEYS: u8 = 50;
    let check = match race {
        Race::Create => "concurrent creates",
        Race::Delete => "concurrent deletes",
    };
    let checked = Checked { store, check };
    // Each key with the version every thread expects.
    let targets: Vec<(Vec<u8>, Option<u64>)> = (0..KEYS)
        .map(|i| {
            let key = [b"race/".as_slice(), check.as_bytes(), &[b'/', i]].concat();
            let expected = match race {
                Race::Create => None,
                Race::Delete => Some(checked.put(&key, None, b"to delete")?),
            };
            Ok((key, expected))
        })
        .collect::<Result<_, Failure>>()?;
    let value = (race == Race::Create).then_some(b"created".as_slice());
    let outcomes: Vec<Vec<Cas>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    targets
                        .iter()
                        .map(|(key, expected)| checked.cas(key, *expected, value))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| checked.fail("a thread panicked".to_string()))?
            })
            .collect::<Result<_, Failure>>()
    })?;
    for (index, (key, _)) in targets.iter().enumerate() {
        let winners = outcomes.iter().filter(|thread| thread[index] == Cas::Written).count();
        ensure(check, winners == 1, || {
            format!("{winners} of {THREADS} threads won the race on \"{}\"", show(key))
        })?;
    }
    Ok(())
}

/// Adds 1 to the counter `times` times, re-reading after each conflict.
fn increment<S: Store>(store: &Checked<'_, S>, times: u64) -> Result<(), Failure> {
    let mut done = 0;
    while done < times {
        let current = store
            .get(b"counter")?
            .ok_or_else(|| store.fail("the counter vanished".to_string()))?;
        let value = <[u8; 8]>::try_from(current.value.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| store.fail(format!("the counter holds {:?}", current.value)))?;
        if store.cas(b"counter", Some(current.version), Some(&(value + 1).to_be_bytes()))? == Cas::Written {
            done += 1;
        }
    }
    Ok(())
}

fn empty<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    expect(store.check, "an absent key", store.get(b"k")?, None)?;
    expect(
        store.check,
        "keys under a prefix",
        store.list(b"k", None, 10)?,
        Vec::new(),
    )
}

fn create_if_absent<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    let version = store.put(b"k", None, b"v")?;
    let before = store.view()?;
    // A second create of the same key loses and changes nothing.
    store.cas_expecting(b"k", None, Some(b"w"), Cas::Conflict)?;
    expect(store.check, "the store after a refused create", store.view()?, before)?;
    expect(
        store.check,
        "the created entry",
        store.get(b"k")?,
        Some(Versioned {
            version,
            value: b"v".to_vec(),
        }),
    )
}

fn expected_version<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    let first = store.put(b"k", None, b"v1")?;
    store.put(b"other", None, b"x")?;
    let before = store.view()?;
    // A version the key does not have, an absent key given a version: both refused, nothing changed.
    store.cas_expecting(b"k", Some(first.wrapping_add(1)), Some(b"v2"), Cas::Conflict)?;
    store.cas_expecting(b"absent", Some(first), Some(b"v2"), Cas::Conflict)?;
    store.cas_expecting(b"absent", Some(first), None, Cas::Conflict)?;
    expect(store.check, "the store after refused writes", store.view()?, before)?;

    let second = store.put(b"k", Some(first), b"v2")?;
    ensure(store.check, second > first, || {
        format!("an overwrite gave version {second}, not above {first}")
    })?;
    // The version read before the overwrite is stale now.
    let before = store.view()?;
    store.cas_expecting(b"k", Some(first), Some(b"v3"), Cas::Conflict)?;
    store.cas_expecting(b"k", Some(first), None, Cas::Conflict)?;
    expect(store.check, "the store after stale writes", store.view()?, before)
}

fn delete<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    let first = store.put(b"k", None, b"v")?;
    store.put(b"neighbour", None, b"n")?;
    store.cas_expecting(b"k", Some(first.wrapping_add(1)), None, Cas::Conflict)?;
    store.cas_expecting(b"k", None, None, Cas::Conflict)?;
    expect(
        store.check,
        "the entry after refused deletes",
        store.get(b"k")?.map(|e| e.version),
        Some(first),
    )?;

    store.cas_expecting(b"k", Some(first), None, Cas::Written)?;
    expect(store.check, "a deleted key", store.get(b"k")?, None)?;
    expect(
        store.check,
        "keys after a delete",
        store.list(b"", None, 10)?,
        keys(&[b"neighbour"]),
    )?;
    // Deleting it again with its old version: it is gone, so that version is stale.
    store.cas_expecting(b"k", Some(first), None, Cas::Conflict)?;
    // Deleting an absent key expecting it absent is a write of nothing.
    let before = store.view()?;
    store.cas_expecting(b"never", None, None, Cas::Written)?;
    expect(
        store.check,
        "the store after deleting an absent key",
        store.view()?,
        before,
    )?;

    // Re-created, the key gets a new version: the one read before the deletion cannot write.
    let again = store.put(b"k", None, b"again")?;
    ensure(store.check, again > first, || {
        format!("re-created with version {again}, not above {first} from before the deletion")
    })?;
    store.cas_expecting(b"k", Some(first), Some(b"stale"), Cas::Conflict)?;
    expect(
        store.check,
        "keys after re-creation",
        store.list(b"", None, 10)?,
        keys(&[b"k", b"neighbour"]),
    )
}

/// The key written last, deleted and written again, gets a version above the deleted one: a store numbering versions
/// from the entries present (highest + 1) would hand the deleted version out again, and a writer still holding it
/// would overwrite the new entry.
fn recreate_newest<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    store.put(b"older", None, b"o")?;
    let first = store.put(b"k", None, b"v")?;
    store.cas_expecting(b"k", Some(first), None, Cas::Written)?;
    let again = store.put(b"k", None, b"again")?;
    ensure(store.check, again > first, || {
        format!("the newest key, deleted and re-created, got version {again}, not above {first}")
    })?;
    store.cas_expecting(b"k", Some(first), Some(b"stale"), Cas::Conflict)
}

fn versions_grow<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    let mut seen = Vec::new();
    let mut current = None;
    for round in 0u8..30 {
        // Overwrites, deletions and re-creations of one key, between writes of others.
        store.put(&[b'o', round], None, &[round])?;
        if round % 5 == 4 {
            if let Some(version) = current.take() {
                store.cas_expecting(b"k", Some(version), None, Cas::Written)?;
            }
            continue;
        }
        let version = store.put(b"k", current, &[round])?;
        if let Some(&last) = seen.last() {
            ensure(store.check, version > last, || {
                format!("write {round} of the key got version {version} after {last}")
            })?;
        }
        seen.push(version);
        current = Some(version);
    }
    Ok(())
}

fn values<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    let binary: Vec<u8> = (0..=255).collect();
    let large: Vec<u8> = (0..64 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let cases: [(&[u8], &[u8]); 4] = [
        // An empty value is a value, not an absent key.
        (b"empty", b""),
        (b"binary", &binary),
        (b"large", &large),
        (b"\x00key\xff", b"key bytes are bytes"),
    ];
    for (key, value) in cases {
        let version = store.put(key, None, value)?;
        let expected = Some(Versioned {
            version,
            value: value.to_vec(),
        });
        expect(store.check, "a stored value", store.get(key)?, expected)?;
    }
    let mut sorted: Vec<Vec<u8>> = cases.iter().map(|(key, _)| key.to_vec()).collect();
    sorted.sort();
    expect(store.check, "all keys", store.list(b"", None, 10)?, sorted)
}

fn prefix_listing<S: Store>(store: &Checked<'_, S>) -> Result<(), Failure> {
    // Inserted out of order; byte order puts "a\x00" before "ab" and "a\xff" after "ac".
    let inserted: [&[u8]; 11] = [
        b"b",
        b"abd",
        b"a\xff",
        b"a",
        b"\xff",
        b"ac",
        b"abc",
        b"a\x00",
        b"a\xff\xff",
        b"ab",
        b"\x00",
    ];
    for key in inserted {
        store.put(key, None, key)?;
    }
    let under_a = keys(&[b"a", b"a\x00", b"ab", b"abc", b"abd", b"ac", b"a\xff", b"a\xff\xff"]);
    let cases: [ListCase<'_>; 18] = [
        (
            b"",
            None,
            100,
            keys(&[
                b"\x00",
                b"a",
                b"a\x00",
                b"ab",
                b"abc",
                b"abd",
                b"ac",
                b"a\xff",
                b"a\xff\xff",
                b"b",
                b"\xff",
            ]),
        ),
        (b"a", None, 100, under_a.clone()),
        // A prefix that is a key itself and a prefix of other keys lists all of them.
        (b"ab", None, 100, keys(&[b"ab", b"abc", b"abd"])),
        (b"abc", None, 100, keys(&[b"abc"])),
        (b"abe", None, 100, Vec::new()),
        (b"c", None, 100, Vec::new()),
        // 0xff ends no range early: "a\xff" is not followed by "b".
        (b"a\xff", None, 100, keys(&[b"a\xff", b"a\xff\xff"])),
        // A prefix of 0xff bytes only: its range has no end key made by adding one to the prefix.
        (b"\xff", None, 100, keys(&[b"\xff"])),
        (b"\xff\xff", None, 100, Vec::new()),
        (b"a", None, 3, under_a[..3].to_vec()),
        (b"a", None, 1, under_a[..1].to_vec()),
        (b"a", None, 0, Vec::new()),
        // Cursors: a listed key, an absent key between two, one before the prefix, the last, one beyond.
        (b"ab", Some(b"ab"), 100, keys(&[b"abc", b"abd"])),
        (b"ab", Some(b"abb"), 100, keys(&[b"abc", b"abd"])),
        (b"ab", Some(b"a"), 100, keys(&[b"ab", b"abc", b"abd"])),
        (b"ab", Some(b"abd"), 100, Vec::new()),
        (b"ab", Some(b"b"), 100, Vec::new()),
        (b"", Some(b"ac"), 2, keys(&[b"a\xff", b"a\xff\xff"])),
    ];
    for (prefix, after, limit, expected) in cases {
        let shown = after.map(show);
        let what = format!("keys under \"{}\" after {shown:?}, at most {limit}", show(prefix));
        expect(store.check, &what, store.list(prefix, after, limit)?, expected)?;
    }

    // Paging with the last key of each page as the cursor gives every key once.
    let mut paged = Vec::new();
    loop {
        let page = store.list(b"a", paged.last().map(Vec::as_slice), 3)?;
        let full = page.len() == 3;
        paged.extend(page);
        if !full {
            break;
        }
    }
    expect(store.check, "keys under \"a\" a page of 3 at a time", paged, under_a)?;

    // A deleted key leaves the listing; re-created, it is back.
    let version = store.get(b"abc")?.map(|entry| entry.version);
    store.cas_expecting(b"abc", version, None, Cas::Written)?;
    expect(
        store.check,
        "keys under \"ab\" after a delete",
        store.list(b"ab", None, 100)?,
        keys(&[b"ab", b"abd"]),
    )?;
    store.put(b"abc", None, b"back")?;
    expect(
        store.check,
        "keys under \"ab\" after re-creation",
        store.list(b"ab", None, 100)?,
        keys(&[b"ab", b"abc", b"abd"]),
    )
}

/// Bytes as readable text in failure messages.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Keys as listed by [`Store::keys_with_prefix`].
type Keys = Vec<Vec<u8>>;

/// A listing and what it must return: (prefix, after, limit, the keys listed).
type ListCase<'a> = (&'a [u8], Option<&'a [u8]>, usize, Keys);

/// Every key of a store with what [`Store::get`] returns for it.
type View = Vec<(Vec<u8>, Option<Versioned>)>;

fn keys(keys: &[&[u8]]) -> Keys {
    keys.iter().map(|key| key.to_vec()).collect()
}

/// A store with every error and unexpected outcome turned into a [`Failure`] of one check.
struct Checked<'a, S> {
    store: &'a S,
    check: &'static str,
}

impl<S: Store> Checked<'_, S> {
    fn fail(&self, detail: String) -> Failure {
        Failure {
            check: self.check,
            detail,
        }
    }

    fn store_error(&self, error: &S::Error) -> Failure {
        self.fail(format!("store error: {error}"))
    }

    fn get(&self, key: &[u8]) -> Result<Option<Versioned>, Failure> {
        self.store.get(key).map_err(|error| self.store_error(&error))
    }

    fn cas(&self, key: &[u8], expected: Option<u64>, value: Option<&[u8]>) -> Result<Cas, Failure> {
        self.store
            .compare_and_swap(key, expected, value)
            .map_err(|error| self.store_error(&error))
    }

    fn list(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, Failure> {
        self.store
            .keys_with_prefix(prefix, after, limit)
            .map_err(|error| self.store_error(&error))
    }

    fn cas_expecting(
        &self,
        key: &[u8],
        expected: Option<u64>,
        value: Option<&[u8]>,
        outcome: Cas,
    ) -> Result<(), Failure> {
        let shown = value.map(show);
        let what = format!(
            "compare-and-swap of \"{}\" expecting version {expected:?} to {shown:?}",
            show(key)
        );
        expect(self.check, &what, self.cas(key, expected, value)?, outcome)
    }

    /// Writes `value` expecting `expected`, checks that it reads back, and returns its new version.
    fn put(&self, key: &[u8], expected: Option<u64>, value: &[u8]) -> Result<u64, Failure> {
        self.cas_expecting(key, expected, Some(value), Cas::Written)?;
        let stored = self
            .get(key)?
            .ok_or_else(|| self.fail(format!("\"{}\" absent right after it was written", show(key))))?;
        expect(self.check, "a value read back", stored.value.as_slice(), value)?;
        if expected == Some(stored.version) {
            return Err(self.fail(format!(
                "\"{}\" kept version {} across a write",
                show(key),
                stored.version
            )));
        }
        Ok(stored.version)
    }

    /// Every key with its entry, through the trait alone.
    fn view(&self) -> Result<View, Failure> {
        self.list(b"", None, usize::MAX)?
            .into_iter()
            .map(|key| Ok((key.clone(), self.get(&key)?)))
            .collect()
    }
}

// By value, so that call sites can pass what they just read.
#[allow(clippy::needless_pass_by_value)]
fn expect<T: fmt::Debug + PartialEq>(check: &'static str, what: &str, got: T, want: T) -> Result<(), Failure> {
    ensure(check, got == want, || format!("{what}: got {got:?}, expected {want:?}"))
}

fn ensure(check: &'static str, holds: bool, detail: impl FnOnce() -> String) -> Result<(), Failure> {
    if holds {
        Ok(())
    } else {
        Err(Failure {
            check,
            detail: detail(),
        })
    }
}
