//! Contact sealing: a thousand contacts round trip; records cannot be moved between contacts or accounts, or
//! opened under another key; every byte is authenticated; the parser is total.

use ipls::{AccountId, ContactId, ContactKey, ContactSealer, Error, SEAL_OVERHEAD};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn account(name: &str) -> AccountId {
    AccountId::new(name.as_bytes().to_vec()).unwrap()
}

fn contact(index: usize) -> ContactId {
    ContactId::new(format!("contact-{index:05}").into_bytes()).unwrap()
}

#[test]
fn a_thousand_contacts_survive_a_move_to_a_new_device() {
    let mut rng = StdRng::seed_from_u64(1);
    let key = ContactKey::generate(&mut rng);
    let alice = account("alice");
    let device_1 = ContactSealer::new(&key, &alice);
    let stored: Vec<(ContactId, Vec<u8>, Vec<u8>)> = (0..1000)
        .map(|index| {
            let record = format!("{{\"name\":\"Contact {index}\",\"phone\":\"+1555{index:07}\"}}").into_bytes();
            let sealed = device_1.seal(&mut rng, &contact(index), &record);
            assert_eq!(sealed.len(), record.len() + SEAL_OVERHEAD);
            (contact(index), record, sealed)
        })
        .collect();
    // The new device has only CK (as the vault would release it) and the account id.
    let device_2 = ContactSealer::new(&ContactKey::from_bytes(*key.expose_secret()), &alice);
    for (id, record, sealed) in &stored {
        assert_eq!(device_2.open(id, sealed).unwrap().as_slice(), record.as_slice());
    }
}

#[test]
fn records_do_not_move_between_contacts_accounts_or_keys() {
    let mut rng = StdRng::seed_from_u64(2);
    let key = ContactKey::generate(&mut rng);
    let alice = ContactSealer::new(&key, &account("alice"));
    let sealed = alice.seal(&mut rng, &contact(1), b"Ada");
    assert_eq!(
        alice.open(&contact(2), &sealed).err(),
        Some(Error::Rejected),
        "swapped between contacts"
    );
    // Two accounts on one device, even under the same CK, stay apart.
    let bob = ContactSealer::new(&key, &account("bob"));
    assert_eq!(
        bob.open(&contact(1), &sealed).err(),
        Some(Error::Rejected),
        "swapped between accounts"
    );
    let other = ContactSealer::new(&ContactKey::generate(&mut rng), &account("alice"));
    assert_eq!(
        other.open(&contact(1), &sealed).err(),
        Some(Error::Rejected),
        "another key"
    );
    assert_eq!(alice.open(&contact(1), &sealed).unwrap().as_slice(), b"Ada");
}

#[test]
fn every_byte_is_authenticated_and_errors_are_typed() {
    let mut rng = StdRng::seed_from_u64(3);
    let alice = ContactSealer::new(&ContactKey::generate(&mut rng), &account("alice"));
    let sealed = alice.seal(&mut rng, &contact(1), b"Grace Hopper");
    for position in 0..sealed.len() {
        let mut flipped = sealed.clone();
        flipped[position] ^= 0x01;
        assert!(alice.open(&contact(1), &flipped).is_err(), "flip at {position}");
    }
    let mut version = sealed.clone();
    version[0] = 0;
    assert_eq!(
        alice.open(&contact(1), &version).err(),
        Some(Error::LegacyVersion { found: 0 })
    );
    version[0] = 2;
    assert_eq!(
        alice.open(&contact(1), &version).err(),
        Some(Error::UnknownVersion { found: 2 })
    );
    let mut kind = sealed.clone();
    kind[1] = 0x72;
    assert_eq!(
        alice.open(&contact(1), &kind).err(),
        Some(Error::WrongType { found: 0x72 })
    );
    assert_eq!(
        alice.open(&contact(1), &sealed[..SEAL_OVERHEAD - 1]).err(),
        Some(Error::Truncated)
    );
    let mut appended = sealed.clone();
    appended.push(0);
    assert_eq!(alice.open(&contact(1), &appended).err(), Some(Error::Rejected));
    // The nonces are fresh: the same record sealed twice gives different bytes.
    assert_ne!(alice.seal(&mut rng, &contact(1), b"Grace Hopper"), sealed);
}

#[test]
fn ids_are_bounded() {
    assert_eq!(AccountId::new(Vec::new()).err(), Some(Error::InvalidId));
    assert_eq!(ContactId::new(vec![0; 256]).err(), Some(Error::InvalidId));
    assert!(ContactId::new(vec![0; 255]).is_ok());
}

/// The AAD is built on the stack up to 128 bytes and on the heap beyond: on both sides of that bound, and at the
/// longest ids, the sealed record is exactly SPEC's AES-256-GCM over `CONTACT_AAD || version || len8(account) ||
/// account || len8(contact) || contact`, computed here with the bare crates.
#[test]
fn sealing_matches_the_spec_at_every_aad_length() {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

    let key = ContactKey::from_bytes([9; 32]);
    // 18 bytes of label, version and two lengths: the ids total 110 bytes at the bound.
    for (account_len, contact_len) in [(5, 1), (5, 105), (5, 106), (100, 10), (100, 11), (255, 255)] {
        let account = AccountId::new(vec![b'a'; account_len]).unwrap();
        let contact = ContactId::new(vec![b'c'; contact_len]).unwrap();
        let contacts = ContactSealer::new(&key, &account);
        let mut rng = StdRng::seed_from_u64(3);
        let sealed = contacts.seal(&mut rng, &contact, b"Ada Lovelace");

        let mut info = ipls::CONTACT_KEY_INFO.to_vec();
        info.push(account_len as u8);
        info.extend_from_slice(account.as_bytes());
        let mut account_key = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(None, key.expose_secret())
            .expand(&info, &mut account_key)
            .unwrap();
        let aad = [
            ipls::CONTACT_AAD,
            &[1, account_len as u8],
            account.as_bytes(),
            &[contact_len as u8],
            contact.as_bytes(),
        ]
        .concat();
        let mut expected = sealed[..14].to_vec();
        let mut body = b"Ada Lovelace".to_vec();
        let tag = Aes256Gcm::new(&account_key.into())
            .encrypt_in_place_detached(Nonce::from_slice(&sealed[2..14]), &aad, &mut body)
            .unwrap();
        expected.extend_from_slice(&body);
        expected.extend_from_slice(&tag);
        assert_eq!(
            sealed, expected,
            "account {account_len} bytes, contact {contact_len} bytes"
        );
        assert_eq!(contacts.open(&contact, &sealed).unwrap().as_slice(), b"Ada Lovelace");
    }
}

/// An empty record seals to exactly the overhead and opens: `open` refuses only inputs shorter than
/// `SEAL_OVERHEAD` (29 bytes: version, type, 12-byte nonce, 16-byte tag), not one of exactly that length.
#[test]
fn an_empty_record_is_exactly_the_overhead_and_opens() {
    assert_eq!(SEAL_OVERHEAD, 2 + 12 + 16);
    let mut rng = StdRng::seed_from_u64(4);
    let alice = ContactSealer::new(&ContactKey::generate(&mut rng), &account("alice"));
    let sealed = alice.seal(&mut rng, &contact(1), b"");
    assert_eq!(sealed.len(), SEAL_OVERHEAD);
    assert_eq!(alice.open(&contact(1), &sealed).unwrap().as_slice(), b"");
    assert_eq!(
        alice.open(&contact(1), &sealed[..SEAL_OVERHEAD - 1]).err(),
        Some(Error::Truncated)
    );
}

/// The seal bound is NIST SP 800-38D's 2^32 random-nonce invocations per key.
#[test]
fn the_seal_limit_is_two_to_the_32() {
    assert_eq!(ipls::SEALS_PER_KEY_LIMIT, 4_294_967_296);
}

/// `Debug` names the account and prints no key material.
#[test]
fn debug_shows_the_account_only() {
    let key = ContactKey::from_bytes([0xab; 32]);
    let sealer = ContactSealer::new(&key, &account("alice"));
    let shown = format!("{sealer:?}");
    assert!(shown.starts_with("ContactSealer"), "{shown}");
    assert!(shown.contains(&format!("{:?}", account("alice"))), "{shown}");
    assert!(!shown.to_lowercase().contains("abab"), "{shown}");
    assert_eq!(sealer.account(), &account("alice"));
}

proptest! {
    #[test]
    fn opening_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let sealer = ContactSealer::new(&ContactKey::from_bytes([7; 32]), &account("alice"));
        prop_assert!(sealer.open(&contact(1), &bytes).is_err());
    }
}
