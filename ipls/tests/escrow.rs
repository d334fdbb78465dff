//! The escrow session on its own (vault-core adds storage and key transparency): round trips, impersonation,
//! small-order shares, signatures by another key, splices between sessions, and total parsers.

use ed25519_dalek::SigningKey;
use ipls::{
    AccountId, ContactKey, Error, EscrowAuth, EscrowChallenge, EscrowClient, EscrowHello, EscrowOutcome, EscrowReply,
    IdentityProof, IplsVaultKey, PendingEscrow,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn setup(seed: u64) -> (StdRng, IplsVaultKey, AccountId, SigningKey, IdentityProof) {
    let mut rng = StdRng::seed_from_u64(seed);
    let vault = IplsVaultKey::generate(&mut rng);
    let account = AccountId::new(b"alice".to_vec()).unwrap();
    let proof = IdentityProof::new(b"root".to_vec(), b"lookup".to_vec()).unwrap();
    (rng, vault, account, SigningKey::from_bytes(&[5; 32]), proof)
}

#[test]
fn upload_and_retrieve_round_trip_and_the_vault_learns_the_signing_key() {
    let (mut rng, vault, account, signer, proof) = setup(1);
    let ck = ContactKey::generate(&mut rng);
    let (device, hello) = EscrowClient::upload(&mut rng, &vault.public_key(), account.clone(), &ck).unwrap();
    let hello = EscrowHello::from_bytes(&hello.to_bytes()).unwrap();
    let (pending, challenge) = vault.challenge(&mut rng, &hello).unwrap();
    let challenge = EscrowChallenge::from_bytes(&challenge.to_bytes()).unwrap();
    // The vault's state survives its storage encoding.
    let pending = PendingEscrow::from_bytes(&pending.to_bytes()).unwrap();
    let (device, auth) = device.authenticate(&challenge, &signer, &proof).unwrap();
    let auth = EscrowAuth::from_bytes(&auth.to_bytes()).unwrap();
    let opened = vault.open(&pending, &auth).unwrap();
    assert_eq!(opened.account(), &account);
    assert_eq!(opened.account_key(), signer.verifying_key().as_bytes());
    assert_eq!(opened.identity_proof(), &proof);
    assert_eq!(opened.uploaded_key(), Some(&ck));
    let reply = EscrowReply::from_bytes(&opened.reply_stored().to_bytes()).unwrap();
    assert_eq!(device.finish(&reply), Ok(EscrowOutcome::Stored));
}

#[test]
fn a_reply_from_another_session_or_another_kind_is_refused() {
    let (mut rng, vault, account, signer, proof) = setup(2);
    let ck = ContactKey::generate(&mut rng);
    let run = |rng: &mut StdRng| {
        let (device, hello) = EscrowClient::retrieve(rng, &vault.public_key(), account.clone()).unwrap();
        let (pending, challenge) = vault.challenge(rng, &hello).unwrap();
        let (device, auth) = device.authenticate(&challenge, &signer, &proof).unwrap();
        (device, vault.open(&pending, &auth).unwrap())
    };
    let (first, _) = run(&mut rng);
    let (second, opened) = run(&mut rng);
    let reply = opened.reply_released(&ck);
    assert_eq!(first.finish(&reply), Err(Error::VaultNotAuthenticated));
    assert_eq!(second.finish(&reply), Ok(EscrowOutcome::Released(ck)));
    // A retrieval answered with an upload's acknowledgement carries no key.
    let (third, opened) = run(&mut rng);
    assert_eq!(
        third.finish(&opened.reply_stored()),
        Err(Error::InvalidField("reply length"))
    );
}

#[test]
fn small_order_shares_are_refused_on_both_sides() {
    let (mut rng, vault, account, _, _) = setup(3);
    // The identity (u = 0) and u = 1 have small order on Curve25519.
    for weak in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        assert_eq!(
            EscrowClient::retrieve(&mut rng, &weak, account.clone()).err(),
            Some(Error::WeakKeyShare)
        );
        let (_, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account.clone()).unwrap();
        let mut bytes = hello.to_bytes();
        bytes[35..67].copy_from_slice(&weak);
        let hello = EscrowHello::from_bytes(&bytes).unwrap();
        assert_eq!(vault.challenge(&mut rng, &hello).err(), Some(Error::WeakKeyShare));
    }
}

#[test]
fn the_transcript_binds_purpose_account_and_challenge() {
    let (mut rng, vault, account, signer, proof) = setup(4);
    let (device, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account).unwrap();
    let (pending, challenge) = vault.challenge(&mut rng, &hello).unwrap();
    let (_, auth) = device.authenticate(&challenge, &signer, &proof).unwrap();
    let stored = pending.to_bytes();
    // The same auth against the session with the hello's account, or its purpose, changed does not open. The
    // stored state ends with the hello, whose third byte is the purpose.
    let hello_at = stored.len() - hello.to_bytes().len();
    for (position, value) in [
        (stored.len() - 1, stored[stored.len() - 1] ^ 0x20),
        (hello_at + 2, 0x01),
    ] {
        let mut altered = stored.to_vec();
        altered[position] = value;
        let altered = PendingEscrow::from_bytes(&altered).unwrap();
        assert_eq!(vault.open(&altered, &auth).err(), Some(Error::Rejected));
    }
    assert!(vault.open(&pending, &auth).is_ok());
}

#[test]
fn a_replayed_hello_gets_fresh_keys() {
    let (mut rng, vault, account, signer, proof) = setup(8);
    let (device, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account).unwrap();
    let (first, first_challenge) = vault.challenge(&mut rng, &hello).unwrap();
    let (second, second_challenge) = vault.challenge(&mut rng, &hello).unwrap();
    // A new vault key share each time: the confirmations are under different keys (with the hello's share alone
    // they would share key and nonce, and AES-GCM would give its authentication key away).
    assert_ne!(first_challenge.to_bytes()[34..66], second_challenge.to_bytes()[34..66]);
    let (_, auth) = device.authenticate(&first_challenge, &signer, &proof).unwrap();
    assert!(vault.open(&first, &auth).is_ok());
    // The auth of the first session, re-pointed at the second challenge, does not open there.
    let mut spliced = auth.to_bytes();
    spliced[2..34].copy_from_slice(second_challenge.challenge());
    let spliced = EscrowAuth::from_bytes(&spliced).unwrap();
    assert_eq!(vault.open(&second, &spliced).err(), Some(Error::Rejected));
    // And an auth naming another challenge than the session's is refused before any decryption.
    assert_eq!(vault.open(&second, &auth).err(), Some(Error::WrongChallenge));
}

/// The device signs nothing for a challenge whose key confirmation does not verify: one altered tag bit, or a
/// challenge made by an impostor vault key for a hello re-addressed to it (it lacks the real IPLS secret, so its
/// static share differs).
#[test]
fn a_challenge_without_a_valid_key_confirmation_is_refused_before_signing() {
    let (mut rng, vault, account, signer, proof) = setup(10);
    let impostor = IplsVaultKey::generate(&mut rng);
    for altered in [false, true] {
        let (device, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account.clone()).unwrap();
        let challenge = if altered {
            let (_, challenge) = vault.challenge(&mut rng, &hello).unwrap();
            let mut bytes = challenge.to_bytes();
            *bytes.last_mut().unwrap() ^= 0x01;
            EscrowChallenge::from_bytes(&bytes).unwrap()
        } else {
            let mut bytes = hello.to_bytes();
            bytes[3..35].copy_from_slice(&impostor.public_key());
            let readdressed = EscrowHello::from_bytes(&bytes).unwrap();
            impostor.challenge(&mut rng, &readdressed).unwrap().1
        };
        assert_eq!(
            device.authenticate(&challenge, &signer, &proof).err(),
            Some(Error::VaultNotAuthenticated),
            "altered tag: {altered}"
        );
    }
}

#[test]
fn a_small_order_vault_share_is_refused_before_signing() {
    let (mut rng, vault, account, signer, proof) = setup(9);
    let (device, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account).unwrap();
    let (_, challenge) = vault.challenge(&mut rng, &hello).unwrap();
    let mut bytes = challenge.to_bytes();
    bytes[34..66].fill(0);
    let weak = EscrowChallenge::from_bytes(&bytes).unwrap();
    assert_eq!(
        device.authenticate(&weak, &signer, &proof).err(),
        Some(Error::WeakKeyShare)
    );
}

#[test]
fn messages_reject_trailing_bytes_wrong_types_and_versions() {
    let (mut rng, vault, account, _, _) = setup(5);
    let (_, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account).unwrap();
    let mut bytes = hello.to_bytes();
    bytes.push(0);
    assert_eq!(EscrowHello::from_bytes(&bytes), Err(Error::TrailingBytes));
    let bytes = hello.to_bytes();
    assert_eq!(
        EscrowChallenge::from_bytes(&bytes),
        Err(Error::WrongType { found: 0x72 })
    );
    let mut old = bytes.clone();
    old[0] = 0;
    assert_eq!(EscrowHello::from_bytes(&old), Err(Error::LegacyVersion { found: 0 }));
    let mut new = bytes;
    new[0] = 2;
    assert_eq!(EscrowHello::from_bytes(&new), Err(Error::UnknownVersion { found: 2 }));
}

/// A device that follows SPEC.md by hand (X25519, HKDF, SHA-256, AES-GCM from their crates) to put any account key
/// and signature into its auth: the vault accepts exactly the signature of the key presented.
#[test]
fn the_vault_checks_the_signature_against_the_presented_key_and_the_spec_matches() {
    use aes_gcm::aead::Aead;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
    use ed25519_dalek::Signer;
    use rand::RngCore;
    use sha2::Digest;

    let (mut rng, vault, account, alice, proof) = setup(7);
    let mallory = SigningKey::from_bytes(&[6; 32]);
    for (signer, expected) in [(&alice, Ok(())), (&mallory, Err(Error::BadSignature))] {
        // The client's ephemeral secret is the first 32 bytes it draws.
        let mut secret = [0u8; 32];
        rng.clone().fill_bytes(&mut secret);
        let (_, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account.clone()).unwrap();
        let (pending, challenge) = vault.challenge(&mut rng, &hello).unwrap();

        let hello_bytes = hello.to_bytes();
        let challenge_bytes = challenge.to_bytes();
        let (body, vault_share) = (&challenge_bytes[..66], &challenge_bytes[34..66]);
        let dh = |public: &[u8]| {
            curve25519_dalek::MontgomeryPoint(public.try_into().unwrap())
                .mul_clamped(secret)
                .to_bytes()
        };
        let mut keys = [0u8; 64];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &[dh(&vault.public_key()), dh(vault_share)].concat())
            .expand(&[ipls::SESSION_KEYS_INFO, &hello_bytes, body].concat(), &mut keys)
            .unwrap();
        let th = sha2::Sha256::new()
            .chain_update(ipls::TRANSCRIPT_LABEL)
            .chain_update(&hello_bytes)
            .chain_update(body)
            .finalize();
        let signature = signer.sign(&[ipls::AUTH_CONTEXT, &th].concat());
        let mut payload = alice.verifying_key().to_bytes().to_vec();
        payload.extend_from_slice(&signature.to_bytes());
        payload.extend_from_slice(&proof.to_bytes()[2..]);
        let ciphertext = Aes256Gcm::new(keys[..32].into())
            .encrypt(
                Nonce::from_slice(&[0; 12]),
                aes_gcm::aead::Payload {
                    msg: &payload,
                    aad: &[ipls::AUTH_AAD, &th].concat(),
                },
            )
            .unwrap();
        let auth =
            EscrowAuth::from_bytes(&[&[0x01, 0x74], challenge.challenge().as_slice(), &ciphertext].concat()).unwrap();
        let opened = vault.open(&pending, &auth);
        assert_eq!(opened.as_ref().map(|_| ()).map_err(|error| *error), expected);
        if let Ok(opened) = opened {
            assert_eq!(opened.account_key(), alice.verifying_key().as_bytes());
        }
    }
}

proptest! {
    #[test]
    fn parsers_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = EscrowHello::from_bytes(&bytes);
        let _ = EscrowChallenge::from_bytes(&bytes);
        let _ = EscrowAuth::from_bytes(&bytes);
        let _ = EscrowReply::from_bytes(&bytes);
        let _ = IdentityProof::from_bytes(&bytes);
        let _ = PendingEscrow::from_bytes(&bytes);
    }

    #[test]
    fn opening_arbitrary_auth_payloads_never_panics(tail in proptest::collection::vec(any::<u8>(), 16..300)) {
        let (mut rng, vault, account, _, _) = setup(6);
        let (_, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account).unwrap();
        let (pending, challenge) = vault.challenge(&mut rng, &hello).unwrap();
        let mut bytes = vec![0x01, 0x74];
        bytes.extend_from_slice(challenge.challenge());
        bytes.extend_from_slice(&tail);
        let auth = EscrowAuth::from_bytes(&bytes).unwrap();
        prop_assert_eq!(vault.open(&pending, &auth).err(), Some(Error::Rejected));
    }
}

/// The vault key survives its key-file bytes (its public half is X25519 of the secret, computed here with
/// curve25519-dalek); `Debug` of every session state names public values only (the vault's and the account's
/// public keys in hex, the account, the purpose) and never the vault's secret; the pending state and the opened
/// request give back what they hold.
#[test]
fn key_bytes_accessors_and_debug_output() {
    let (mut rng, vault, account, signer, proof) = setup(11);
    let hex = |bytes: &[u8]| {
        use std::fmt::Write;
        bytes.iter().fold(String::new(), |mut out, byte| {
            write!(out, "{byte:02x}").unwrap();
            out
        })
    };
    let secret = vault.to_bytes();
    assert_eq!(
        curve25519_dalek::MontgomeryPoint::mul_base_clamped(*secret).to_bytes(),
        vault.public_key()
    );
    assert_eq!(IplsVaultKey::from_bytes(&secret).public_key(), vault.public_key());
    let shown = format!("{vault:?}");
    assert!(
        shown.starts_with("IplsVaultKey") && shown.contains(&hex(&vault.public_key())),
        "{shown}"
    );
    assert!(!shown.contains(&hex(secret.as_ref())), "{shown}");

    let ck = ContactKey::generate(&mut rng);
    let (device, hello) = EscrowClient::upload(&mut rng, &vault.public_key(), account.clone(), &ck).unwrap();
    assert!(format!("{device:?}").starts_with("EscrowClient"));
    let (pending, challenge) = vault.challenge(&mut rng, &hello).unwrap();
    assert_eq!((pending.hello(), pending.challenge()), (&hello, &challenge));
    let shown = format!("{pending:?}");
    assert!(shown.starts_with("PendingEscrow"), "{shown}");
    assert!(
        shown.contains(&format!("{hello:?}")) && shown.contains(&format!("{challenge:?}")),
        "{shown}"
    );

    let (device, auth) = device.authenticate(&challenge, &signer, &proof).unwrap();
    let shown = format!("{device:?}");
    assert!(
        shown.starts_with("AwaitingReply") && shown.contains("uploaded: true"),
        "{shown}"
    );
    let opened = vault.open(&pending, &auth).unwrap();
    assert_eq!(opened.purpose(), ipls::EscrowPurpose::Upload);
    let shown = format!("{opened:?}");
    assert!(shown.starts_with("OpenedEscrow"), "{shown}");
    for part in [
        format!("{account:?}"),
        "Upload".to_owned(),
        hex(signer.verifying_key().as_bytes()),
    ] {
        assert!(shown.contains(&part), "{part} missing from {shown}");
    }
    assert!(!shown.contains(&hex(ck.expose_secret())), "{shown}");
}

/// The stored state holds the vault's ephemeral secret, so its buffer is allocated once at its final size
/// (`Vec::with_capacity` gives exactly the requested capacity): growing it would free a copy of the secret that
/// `Zeroizing` never clears. At the shortest, an ordinary and the longest account id.
#[test]
fn the_pending_state_is_encoded_without_reallocation() {
    let (mut rng, vault, _, _, _) = setup(12);
    for account_len in [1, 5, 255] {
        let account = AccountId::new(vec![b'a'; account_len]).unwrap();
        let (_, hello) = EscrowClient::retrieve(&mut rng, &vault.public_key(), account).unwrap();
        let (pending, _) = vault.challenge(&mut rng, &hello).unwrap();
        let stored = pending.to_bytes();
        assert_eq!(stored.len(), 2 + 32 + 82 + hello.to_bytes().len());
        assert_eq!(stored.capacity(), stored.len(), "account id of {account_len} bytes");
    }
}
