//! IPLS escrow through the vault: contacts move to a new device of the same account, and nothing else gets CK.

#[path = "../examples/walkthrough/kt_directory.rs"]
mod kt_directory;

use std::convert::Infallible;

use backup_protocol::UserId;
use ed25519_dalek::SigningKey;
use ipls::{AccountId, ContactId, ContactKey, ContactSealer, EscrowClient, EscrowOutcome, IdentityProof, IplsVaultKey};
use kt_directory::KtDirectory;
use kt_verify::WitnessError;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use vault_core::{
    Command, FleetKeys, IdentityError, MemoryStore, Principal, Request, Response, Vault, VaultConfig, VaultError,
};

const T0: u64 = 1_800_000_000_000;
const HOUR: u64 = 3_600_000;

/// Where an escrow run stopped.
#[derive(Debug, PartialEq)]
enum Failure {
    /// The vault refused a request.
    Vault(VaultError<Infallible>),
    /// The device refused the vault's message.
    Device(ipls::Error),
}

struct World {
    rng: StdRng,
    directory: KtDirectory,
    vault: Vault<MemoryStore>,
    /// The vault's IPLS key as the fleet bundle publishes it.
    bundle_key: [u8; 32],
    now_ms: u64,
    /// The account the last hello came from: its auth comes from the same authenticated connection.
    last_hello_from: Option<Principal>,
}

impl World {
    /// A vault trusting a directory where alice and bob have keys (epoch 1).
    fn new(seed: u64) -> (Self, Account, Account) {
        let mut rng = StdRng::seed_from_u64(seed);
        let alice = Account::new("alice@example", &mut rng);
        let bob = Account::new("bob@example", &mut rng);
        let mut directory = KtDirectory::new([42; 32]);
        directory.publish(
            &[
                (&alice.id, &alice.key.verifying_key()),
                (&bob.id, &bob.key.verifying_key()),
            ],
            T0,
        );
        let keys = FleetKeys::generate(&mut rng);
        let bundle_key = keys.ipls().public_key();
        let vault = Vault::new(keys, VaultConfig::default(), MemoryStore::new())
            .with_key_transparency(directory.trust(24 * HOUR));
        let world = Self {
            rng,
            directory,
            vault,
            bundle_key,
            now_ms: T0 + 1_000,
            last_hello_from: None,
        };
        (world, alice, bob)
    }

    /// Applies `request` from the account it is for (the operator for operator requests), as an honest transport
    /// authenticates it; an IPLS auth names no account in the clear: it comes from the account of the world's
    /// last hello.
    fn apply(&mut self, request: Request) -> Result<Response, VaultError<Infallible>> {
        let principal = match &request {
            Request::IplsHello(hello) => {
                let principal = Principal::account(hello.account().as_bytes()).unwrap();
                self.last_hello_from = Some(principal.clone());
                principal
            }
            Request::IplsAuth(_) => self.last_hello_from.clone().expect("a hello came first"),
            _ => Principal::Operator,
        };
        self.apply_as(principal, request)
    }

    fn apply_as(&mut self, principal: Principal, request: Request) -> Result<Response, VaultError<Infallible>> {
        self.now_ms += 10;
        let mut entropy = [0u8; 32];
        self.rng.fill_bytes(&mut entropy);
        let command = Command {
            at_ms: self.now_ms,
            entropy,
            principal,
            request,
        };
        // Commands and responses survive their log and transport encodings.
        assert_eq!(Command::from_bytes(&command.to_bytes()).as_ref(), Ok(&command));
        let response = self.vault.apply(&command)?;
        assert_eq!(Response::from_bytes(&response.to_bytes()).as_ref(), Ok(&response));
        Ok(response)
    }

    /// Runs one escrow session: uploads `upload` if given, else retrieves; signs with `signer`, proves with `proof`.
    fn escrow(
        &mut self,
        account: &AccountId,
        upload: Option<&ContactKey>,
        signer: &SigningKey,
        proof: &IdentityProof,
    ) -> Result<EscrowOutcome, Failure> {
        let (device, hello) = match upload {
            Some(key) => EscrowClient::upload(&mut self.rng, &self.bundle_key, account.clone(), key),
            None => EscrowClient::retrieve(&mut self.rng, &self.bundle_key, account.clone()),
        }
        .map_err(Failure::Device)?;
        let Response::IplsChallenge(challenge) = self.apply(Request::IplsHello(hello)).map_err(Failure::Vault)? else {
            panic!("a hello is answered with a challenge")
        };
        let (device, auth) = device
            .authenticate(&challenge, signer, proof)
            .map_err(Failure::Device)?;
        let Response::IplsReply(reply) = self.apply(Request::IplsAuth(auth)).map_err(Failure::Vault)? else {
            panic!("an auth is answered with a reply")
        };
        device.finish(&reply).map_err(Failure::Device)
    }

    /// Escrows a fresh CK with `account`'s key, then publishes a new key for the account an hour later (epoch 2)
    /// and moves the clock there. Returns CK, the old key's proof and the new key.
    fn escrow_then_replace_key(&mut self, account: &Account) -> (ContactKey, IdentityProof, SigningKey) {
        let ck = ContactKey::generate(&mut self.rng);
        let old_proof = self.directory.identity_proof(&account.id);
        self.escrow(&account.id, Some(&ck), &account.key, &old_proof).unwrap();
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let new_key = SigningKey::from_bytes(&seed);
        self.directory
            .publish(&[(&account.id, &new_key.verifying_key())], T0 + HOUR);
        self.now_ms = T0 + HOUR + 1_000;
        (ck, old_proof, new_key)
    }

    /// `escrow`, and checks that a refusal by the vault's auth step left the store as it was before the session.
    fn refused(
        &mut self,
        account: &AccountId,
        upload: Option<&ContactKey>,
        signer: &SigningKey,
        proof: &IdentityProof,
    ) -> Failure {
        let before = self.vault.store().snapshot();
        let failure = self.escrow(account, upload, signer, proof).expect_err("refused");
        let after = self.vault.store().snapshot();
        // The hello stored one session record and counted it; nothing else may have changed.
        let count: &[u8] = b"pending-count";
        let added: Vec<_> = after
            .keys()
            .filter(|key| !before.contains_key(*key) && key.as_slice() != count)
            .collect();
        assert!(
            added.len() <= 1 && added.iter().all(|key| key.starts_with(b"ipls-session/")),
            "{failure:?} wrote {added:?}"
        );
        assert!(
            before
                .iter()
                .all(|(key, value)| key.as_slice() == count || after.get(key) == Some(value)),
            "{failure:?} changed a record"
        );
        failure
    }
}

struct Account {
    id: AccountId,
    key: SigningKey,
}

impl Account {
    fn new(name: &str, rng: &mut StdRng) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self {
            id: AccountId::new(name.as_bytes().to_vec()).unwrap(),
            key: SigningKey::from_bytes(&seed),
        }
    }
}

fn contact(index: usize) -> ContactId {
    ContactId::new(format!("contact-{index:04}").into_bytes()).unwrap()
}

#[test]
fn a_thousand_contacts_move_to_a_new_device() {
    let (mut world, alice, _) = World::new(1);
    // Device 1 makes CK, seals the list (the server stores only sealed records) and escrows CK.
    let ck = ContactKey::generate(&mut world.rng);
    let device1 = ContactSealer::new(&ck, &alice.id);
    let records: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("{{\"name\":\"Contact {i}\",\"phone\":\"+1555{i:07}\"}}").into_bytes())
        .collect();
    let sealed: Vec<Vec<u8>> = records
        .iter()
        .enumerate()
        .map(|(i, record)| device1.seal(&mut world.rng, &contact(i), record))
        .collect();
    let proof = world.directory.identity_proof(&alice.id);
    assert_eq!(
        world.escrow(&alice.id, Some(&ck), &alice.key, &proof),
        Ok(EscrowOutcome::Stored)
    );

    // Device 2 has only the account key: it gets CK from the vault and opens every record.
    let EscrowOutcome::Released(recovered) = world.escrow(&alice.id, None, &alice.key, &proof).unwrap() else {
        panic!("a retrieval releases the key")
    };
    assert_eq!(recovered, ck);
    let device2 = ContactSealer::new(&recovered, &alice.id);
    for (i, (record, sealed)) in records.iter().zip(&sealed).enumerate() {
        assert_eq!(device2.open(&contact(i), sealed).unwrap().as_slice(), record.as_slice());
    }
    // The server swapping two records between contacts is caught.
    assert_eq!(device2.open(&contact(1), &sealed[0]), Err(ipls::Error::Rejected));
}

#[test]
fn a_re_registered_account_key_gets_the_key_and_the_old_one_does_not() {
    let (mut world, alice, _) = World::new(2);
    // Alice re-registers on a new phone: a new account key in the directory (epoch 2).
    let (ck, old_proof, new_key) = world.escrow_then_replace_key(&alice);
    let new_proof = world.directory.identity_proof(&alice.id);
    // The old key, proven by the new root, does not match the directory.
    assert_eq!(
        world.refused(&alice.id, None, &alice.key, &new_proof),
        Failure::Vault(VaultError::Identity(IdentityError::KeyMismatch))
    );
    // The new key gets CK; the vault now knows epoch 2.
    assert_eq!(
        world.escrow(&alice.id, None, &new_key, &new_proof),
        Ok(EscrowOutcome::Released(ck))
    );
    // The old key with its old (still witness-fresh) proof is stale: the vault has accepted a newer root.
    assert_eq!(
        world.refused(&alice.id, None, &alice.key, &old_proof),
        Failure::Vault(VaultError::Identity(IdentityError::StaleRoot { epoch: 1, newest: 2 }))
    );
}

#[test]
fn once_the_vault_observes_a_new_root_the_replaced_key_gets_nothing() {
    let (mut world, alice, _) = World::new(12);
    // Alice's key is replaced (epoch 2); the operator's monitor hands the new root to the vault before any IPLS
    // session uses it.
    let (ck, old_proof, new_key) = world.escrow_then_replace_key(&alice);
    let new_root = world.directory.signed_root().to_protobuf();
    assert_eq!(
        world.apply(Request::ObserveRoot(new_root.clone())),
        Ok(Response::RootObserved { epoch: 2 })
    );
    // Observing it again changes nothing.
    let observed = world.vault.store().snapshot();
    assert_eq!(
        world.apply(Request::ObserveRoot(new_root.clone())),
        Ok(Response::RootObserved { epoch: 2 })
    );
    assert_eq!(world.vault.store().snapshot(), observed);

    // The old key with its old, still witness-fresh proof: refused, although nobody used epoch 2 yet.
    assert_eq!(
        world.refused(&alice.id, None, &alice.key, &old_proof),
        Failure::Vault(VaultError::Identity(IdentityError::StaleRoot { epoch: 1, newest: 2 }))
    );
    let new_proof = world.directory.identity_proof(&alice.id);
    assert_eq!(
        world.escrow(&alice.id, None, &new_key, &new_proof),
        Ok(EscrowOutcome::Released(ck))
    );

    // An altered root is refused without change; so is an older one.
    let mut forged = new_root;
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let before = world.vault.store().snapshot();
    assert!(matches!(
        world.apply(Request::ObserveRoot(forged)),
        Err(VaultError::Identity(IdentityError::Root(_) | IdentityError::Witness(_)))
    ));
    let old_root = IdentityProof::from_bytes(&old_proof.to_bytes())
        .unwrap()
        .signed_root()
        .to_vec();
    assert_eq!(
        world.apply(Request::ObserveRoot(old_root)),
        Err(VaultError::Identity(IdentityError::StaleRoot { epoch: 1, newest: 2 }))
    );
    assert_eq!(world.vault.store().snapshot(), before);
}

#[test]
fn a_root_older_than_the_witness_policy_is_refused() {
    let (mut world, alice, _) = World::new(3);
    let proof = world.directory.identity_proof(&alice.id);
    world.now_ms = T0 + 25 * HOUR;
    let ck = ContactKey::generate(&mut world.rng);
    let Failure::Vault(VaultError::Identity(IdentityError::Witness(WitnessError::Stale { .. }))) =
        world.refused(&alice.id, Some(&ck), &alice.key, &proof)
    else {
        panic!("a 25-hour-old root is stale")
    };
}

#[test]
fn one_accounts_key_gets_nothing_of_another_account() {
    let (mut world, alice, bob) = World::new(4);
    let ck = ContactKey::generate(&mut world.rng);
    world
        .escrow(
            &alice.id,
            Some(&ck),
            &alice.key,
            &world.directory.identity_proof(&alice.id),
        )
        .unwrap();
    // Bob's device asks for alice's key, signing with bob's key and proving bob's binding: the lookup proof is for
    // another label.
    let bob_proof = world.directory.identity_proof(&bob.id);
    let Failure::Vault(VaultError::Identity(IdentityError::Lookup(_))) =
        world.refused(&alice.id, None, &bob.key, &bob_proof)
    else {
        panic!("bob's proof is not a proof for alice")
    };
    // ... or with alice's (public) proof: the directory holds another key than the one that signed.
    let alice_proof = world.directory.identity_proof(&alice.id);
    assert_eq!(
        world.refused(&alice.id, None, &bob.key, &alice_proof),
        Failure::Vault(VaultError::Identity(IdentityError::KeyMismatch))
    );
    // Bob's own account has nothing escrowed.
    assert_eq!(
        world.refused(&bob.id, None, &bob.key, &bob_proof),
        Failure::Vault(VaultError::NotEscrowed)
    );
}

#[test]
fn several_accounts_on_one_device_stay_isolated() {
    let (mut world, alice, bob) = World::new(5);
    let alice_ck = ContactKey::generate(&mut world.rng);
    let bob_ck = ContactKey::generate(&mut world.rng);
    for (account, ck) in [(&alice, &alice_ck), (&bob, &bob_ck)] {
        let proof = world.directory.identity_proof(&account.id);
        world.escrow(&account.id, Some(ck), &account.key, &proof).unwrap();
    }
    let alice_sealer = ContactSealer::new(&alice_ck, &alice.id);
    let bob_sealer = ContactSealer::new(&bob_ck, &bob.id);
    let sealed = alice_sealer.seal(&mut world.rng, &contact(0), b"alice's contact");
    // A record moved to the other account of the same device does not open, even under the same contact id.
    assert_eq!(bob_sealer.open(&contact(0), &sealed), Err(ipls::Error::Rejected));
    // Even if both accounts had the same CK, the account is in the key derivation and the AAD.
    assert_eq!(
        ContactSealer::new(&alice_ck, &bob.id).open(&contact(0), &sealed),
        Err(ipls::Error::Rejected)
    );
    // Each account gets its own key back.
    let bob_proof = world.directory.identity_proof(&bob.id);
    assert_eq!(
        world.escrow(&bob.id, None, &bob.key, &bob_proof),
        Ok(EscrowOutcome::Released(bob_ck))
    );
}

#[test]
fn a_vault_without_the_bundle_key_is_not_believed() {
    let (mut world, alice, _) = World::new(6);
    let proof = world.directory.identity_proof(&alice.id);
    let ck = ContactKey::generate(&mut world.rng);
    // An impostor answering with its own IPLS key: it cannot confirm the session the device opened to the
    // bundle's key, and the device sends nothing.
    let impostor = IplsVaultKey::generate(&mut world.rng);
    let (device, hello) = EscrowClient::upload(&mut world.rng, &world.bundle_key, alice.id.clone(), &ck).unwrap();
    assert_eq!(
        impostor.challenge(&mut world.rng, &hello).err(),
        Some(ipls::Error::WrongVaultKey)
    );
    // Forging the confirmation does not help.
    let Response::IplsChallenge(genuine) = world.apply(Request::IplsHello(hello.clone())).unwrap() else {
        panic!()
    };
    let forged = ipls::EscrowChallenge::from_bytes(&{
        let mut bytes = genuine.to_bytes();
        *bytes.last_mut().unwrap() ^= 1;
        bytes
    })
    .unwrap();
    assert_eq!(
        device.authenticate(&forged, &alice.key, &proof).err(),
        Some(ipls::Error::VaultNotAuthenticated)
    );

    // A device told (wrongly) that the impostor's key is the vault's is refused by the real vault.
    let (_, hello) = EscrowClient::upload(&mut world.rng, &impostor.public_key(), alice.id.clone(), &ck).unwrap();
    assert_eq!(
        world.apply(Request::IplsHello(hello)),
        Err(VaultError::Ipls(ipls::Error::WrongVaultKey))
    );
}

#[test]
fn sessions_are_single_use_and_bound_to_their_challenge() {
    let (mut world, alice, _) = World::new(7);
    let proof = world.directory.identity_proof(&alice.id);
    let ck = ContactKey::generate(&mut world.rng);
    world.escrow(&alice.id, Some(&ck), &alice.key, &proof).unwrap();

    let (device, hello) = EscrowClient::retrieve(&mut world.rng, &world.bundle_key, alice.id.clone()).unwrap();
    let Response::IplsChallenge(challenge) = world.apply(Request::IplsHello(hello.clone())).unwrap() else {
        panic!()
    };
    let (device, auth) = device.authenticate(&challenge, &alice.key, &proof).unwrap();
    let Response::IplsReply(reply) = world.apply(Request::IplsAuth(auth.clone())).unwrap() else {
        panic!()
    };
    assert_eq!(device.finish(&reply), Ok(EscrowOutcome::Released(ck)));

    // Replaying the auth: the session is gone.
    let before = world.vault.store().snapshot();
    assert_eq!(
        world.apply(Request::IplsAuth(auth.clone())),
        Err(VaultError::UnknownSession)
    );
    // Replaying the hello opens a new session; the old auth, re-pointed at its challenge, does not open.
    let Response::IplsChallenge(second) = world.apply(Request::IplsHello(hello)).unwrap() else {
        panic!()
    };
    let mut spliced = auth.to_bytes();
    spliced[2..34].copy_from_slice(second.challenge());
    let spliced = ipls::EscrowAuth::from_bytes(&spliced).unwrap();
    let with_session = world.vault.store().snapshot();
    assert_eq!(
        world.apply(Request::IplsAuth(spliced)),
        Err(VaultError::Ipls(ipls::Error::Rejected))
    );
    assert_eq!(world.vault.store().snapshot(), with_session);
    assert_eq!(with_session.len(), before.len() + 1);
}

#[test]
fn sessions_expire() {
    let (mut world, alice, _) = World::new(8);
    let proof = world.directory.identity_proof(&alice.id);
    let ck = ContactKey::generate(&mut world.rng);
    let (device, hello) = EscrowClient::upload(&mut world.rng, &world.bundle_key, alice.id.clone(), &ck).unwrap();
    let Response::IplsChallenge(challenge) = world.apply(Request::IplsHello(hello)).unwrap() else {
        panic!()
    };
    let (_, auth) = device.authenticate(&challenge, &alice.key, &proof).unwrap();
    world.now_ms += VaultConfig::default().escrow_ttl_ms + 1;
    assert_eq!(
        world.apply(Request::IplsAuth(auth.clone())),
        Err(VaultError::SessionExpired)
    );
    // The operator's sweep removes it.
    assert_eq!(
        world.apply(Request::Sweep { cursor: Vec::new() }),
        Ok(Response::Swept { removed: 1, next: None })
    );
    assert_eq!(world.apply(Request::IplsAuth(auth)), Err(VaultError::UnknownSession));
    assert!(
        world
            .vault
            .store()
            .snapshot()
            .keys()
            .all(|key| !key.starts_with(b"ipls-session/"))
    );
}

/// The lifetime ends exactly where SPEC §4 (IplsAuth) puts it: an auth `escrow_ttl_ms` after its hello is still
/// answered, one millisecond later it is refused without change (`>` turned into `>=` survived cargo-mutants
/// before this test, MUTANTS.md).
#[test]
fn a_session_is_answered_until_the_last_millisecond_of_its_lifetime() {
    let (mut world, alice, _) = World::new(14);
    let ttl = VaultConfig::default().escrow_ttl_ms;
    let proof = world.directory.identity_proof(&alice.id);
    let ck = ContactKey::generate(&mut world.rng);
    let (device, hello) = EscrowClient::upload(&mut world.rng, &world.bundle_key, alice.id.clone(), &ck).unwrap();
    let Response::IplsChallenge(challenge) = world.apply(Request::IplsHello(hello)).unwrap() else {
        panic!("a hello is answered with a challenge")
    };
    let issued = world.now_ms;
    let (device, auth) = device.authenticate(&challenge, &alice.key, &proof).unwrap();

    // `apply` moves the clock 10 ms before each command.
    world.now_ms = issued + ttl + 1 - 10;
    let before = world.vault.store().snapshot();
    assert_eq!(
        world.apply(Request::IplsAuth(auth.clone())),
        Err(VaultError::SessionExpired)
    );
    assert_eq!(world.vault.store().snapshot(), before);

    world.now_ms = issued + ttl - 10;
    let Response::IplsReply(reply) = world.apply(Request::IplsAuth(auth)).unwrap() else {
        panic!("an auth exactly `escrow_ttl_ms` after its hello is answered")
    };
    assert_eq!(device.finish(&reply), Ok(EscrowOutcome::Stored));
}

/// A witness that signs two different roots for one epoch (a split view) is caught by the vault that has seen one of
/// them: the other is refused as `ForkedRoot`, whether the operator hands it over or an identity proof carries it,
/// and the head stays the root first seen.
#[test]
fn a_second_root_for_the_same_epoch_is_a_fork() {
    let (mut world, alice, bob) = World::new(15);
    let root = world.directory.signed_root().to_protobuf();
    assert_eq!(
        world.apply(Request::ObserveRoot(root)),
        Ok(Response::RootObserved { epoch: 1 })
    );

    // The same witness key signs another directory's epoch 1, where alice's key is the attacker's.
    let mut fork = KtDirectory::new([42; 32]);
    let mut seed = [0u8; 32];
    world.rng.fill_bytes(&mut seed);
    let attacker = SigningKey::from_bytes(&seed);
    assert_eq!(
        fork.publish(
            &[
                (&alice.id, &attacker.verifying_key()),
                (&bob.id, &bob.key.verifying_key())
            ],
            T0
        ),
        1
    );
    let forked = fork.signed_root().to_protobuf();
    assert_ne!(forked, world.directory.signed_root().to_protobuf());

    let before = world.vault.store().snapshot();
    assert_eq!(
        world.apply(Request::ObserveRoot(forked)),
        Err(VaultError::Identity(IdentityError::ForkedRoot { epoch: 1 }))
    );
    assert_eq!(world.vault.store().snapshot(), before);

    let ck = ContactKey::generate(&mut world.rng);
    assert_eq!(
        world.refused(&alice.id, Some(&ck), &attacker, &fork.identity_proof(&alice.id)),
        Failure::Vault(VaultError::Identity(IdentityError::ForkedRoot { epoch: 1 }))
    );
    // The genuine epoch 1 still serves alice.
    let proof = world.directory.identity_proof(&alice.id);
    assert_eq!(
        world.escrow(&alice.id, Some(&ck), &alice.key, &proof),
        Ok(EscrowOutcome::Stored)
    );
}

#[test]
fn a_second_upload_is_refused_and_the_first_key_kept() {
    let (mut world, alice, _) = World::new(9);
    let proof = world.directory.identity_proof(&alice.id);
    let first = ContactKey::generate(&mut world.rng);
    let second = ContactKey::generate(&mut world.rng);
    world.escrow(&alice.id, Some(&first), &alice.key, &proof).unwrap();
    assert_eq!(
        world.refused(&alice.id, Some(&second), &alice.key, &proof),
        Failure::Vault(VaultError::AlreadyEscrowed)
    );
    assert_eq!(
        world.escrow(&alice.id, None, &alice.key, &proof),
        Ok(EscrowOutcome::Released(first))
    );
}

#[test]
fn every_flipped_byte_of_the_auth_is_refused_without_change() {
    let (mut world, alice, _) = World::new(10);
    let proof = world.directory.identity_proof(&alice.id);
    let ck = ContactKey::generate(&mut world.rng);
    let (device, hello) = EscrowClient::upload(&mut world.rng, &world.bundle_key, alice.id.clone(), &ck).unwrap();
    let Response::IplsChallenge(challenge) = world.apply(Request::IplsHello(hello)).unwrap() else {
        panic!()
    };
    let (_, auth) = device.authenticate(&challenge, &alice.key, &proof).unwrap();
    let bytes = auth.to_bytes();
    let before = world.vault.store().snapshot();
    // Every byte of the header, the challenge and a sample of the ciphertext (the tag covers it all).
    let positions = (0..40)
        .chain((40..bytes.len()).step_by(97))
        .chain(bytes.len() - 16..bytes.len());
    for position in positions {
        let mut tampered = bytes.clone();
        tampered[position] ^= 0x01;
        let result = match ipls::EscrowAuth::from_bytes(&tampered) {
            Ok(message) => world.apply(Request::IplsAuth(message)).map(|_| ()),
            Err(error) => Err(VaultError::Ipls(error)),
        };
        assert!(result.is_err(), "flipping byte {position} was accepted");
        assert_eq!(
            world.vault.store().snapshot(),
            before,
            "flipping byte {position} changed the store"
        );
    }
    // The untouched message still goes through.
    assert!(world.apply(Request::IplsAuth(auth)).is_ok());
}

#[test]
fn without_key_transparency_ipls_is_refused() {
    let mut rng = StdRng::seed_from_u64(11);
    let keys = FleetKeys::generate(&mut rng);
    let bundle_key = keys.ipls().public_key();
    let vault = Vault::new(keys, VaultConfig::default(), MemoryStore::new());
    let account = AccountId::new(b"alice".to_vec()).unwrap();
    let (_, hello) = EscrowClient::retrieve(&mut rng, &bundle_key, account).unwrap();
    let command = Command {
        at_ms: T0,
        entropy: [1; 32],
        principal: Principal::Account(UserId::new(b"alice".to_vec()).unwrap()),
        request: Request::IplsHello(hello),
    };
    assert_eq!(vault.apply(&command), Err(VaultError::KeyTransparencyNotConfigured));
    assert!(vault.store().snapshot().is_empty());
}

#[test]
fn another_account_can_neither_open_nor_answer_an_accounts_escrow_session() {
    let (mut world, alice, bob) = World::new(13);
    let ck = ContactKey::generate(&mut world.rng);
    let proof = world.directory.identity_proof(&alice.id);
    let bob_principal = Principal::account(bob.id.as_bytes()).unwrap();

    // A hello naming alice, sent over bob's (or the operator's) connection.
    let (device, hello) = EscrowClient::upload(&mut world.rng, &world.bundle_key, alice.id.clone(), &ck).unwrap();
    for principal in [bob_principal.clone(), Principal::Operator] {
        let before = world.vault.store().snapshot();
        assert_eq!(
            world.apply_as(principal, Request::IplsHello(hello.clone())),
            Err(VaultError::Forbidden)
        );
        assert_eq!(world.vault.store().snapshot(), before);
    }

    // Alice's own session, answered over bob's connection: bob's principal reaches no session of alice's.
    let Response::IplsChallenge(challenge) = world.apply(Request::IplsHello(hello)).unwrap() else {
        panic!()
    };
    let (device, auth) = device.authenticate(&challenge, &alice.key, &proof).unwrap();
    let before = world.vault.store().snapshot();
    assert_eq!(
        world.apply_as(bob_principal, Request::IplsAuth(auth.clone())),
        Err(VaultError::UnknownSession)
    );
    assert_eq!(world.vault.store().snapshot(), before);
    let Response::IplsReply(reply) = world.apply(Request::IplsAuth(auth)).unwrap() else {
        panic!()
    };
    assert_eq!(device.finish(&reply), Ok(EscrowOutcome::Stored));
}
