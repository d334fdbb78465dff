//! End-to-end walkthrough: the fleet publishes a signed bundle of its keys; a phone verifies it, registers its
//! backup key K with the vault under a password, encrypts a backup, seals its contacts and escrows their key;
//! the phone is lost; a new phone recovers K with the password, decrypts the backup, proves its new account key
//! through key transparency (and compares a security code) and gets its contacts back; a stranger's account is
//! refused the user's guesses; finally wrong passwords use up the attempts until the vault destroys the record.
//! Every step prints what was verified.
//!
//! `cargo run --example walkthrough` (in-memory vault, no set-up)

mod kt_directory;

use std::error::Error;
use std::io::{Read, Write};

use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, DecryptingReader, EncryptingWriter, KsfParams,
    RecoveryKey, UserId, VaultPins,
};
use ed25519_dalek::SigningKey;
use fleet_bundle::{
    Bundle, BundleVerifier, FleetId, FleetKey, KeySet, OperatorSigner, Role, TrustAnchors, UnixSeconds, ValidityWindow,
    WitnessSigner,
};
use ipls::{AccountId, ContactId, ContactKey, ContactSealer, EscrowClient, EscrowOutcome, IdentityProof};
use kt_directory::KtDirectory;
use kt_verify::SecurityCode;
use rand::rngs::OsRng;
use vault_core::{Command, FleetKeys, MemoryStore, Principal, Request, Response, Vault, VaultConfig, VaultError};

const CONTACTS: usize = 1_000;

const PASSWORD: &[u8] = b"purple elephant sunrise 42";
const WRONG_PASSWORD: &[u8] = b"purple elephant sunset 42";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// The leader's side of a command: the principal the transport authenticated (the phone's account connection, or
/// the operator), and the time and the entropy every replica applies it with.
fn command(principal: &Principal, request: Request) -> Command {
    Command {
        at_ms: now_ms(),
        entropy: rand::random(),
        principal: principal.clone(),
        request,
    }
}

/// The principal of a phone's connection: the transport authenticated it as `account`.
fn connection_of(account: &[u8]) -> Result<Principal, Box<dyn Error>> {
    Ok(Principal::account(account)?)
}

/// One IPLS escrow session of a device: uploads `upload` if given, else retrieves CK.
fn escrow(
    vault: &Vault<MemoryStore>,
    vault_ipls_key: &[u8; 32],
    account: &AccountId,
    upload: Option<&ContactKey>,
    account_key: &SigningKey,
    proof: &IdentityProof,
) -> Result<EscrowOutcome, Box<dyn Error>> {
    let (device, hello) = match upload {
        Some(key) => EscrowClient::upload(&mut OsRng, vault_ipls_key, account.clone(), key)?,
        None => EscrowClient::retrieve(&mut OsRng, vault_ipls_key, account.clone())?,
    };
    let connection = connection_of(account.as_bytes())?;
    let Response::IplsChallenge(challenge) = vault.apply(&command(&connection, Request::IplsHello(hello)))? else {
        return Err("unexpected response".into());
    };
    let (device, auth) = device.authenticate(&challenge, account_key, proof)?;
    let Response::IplsReply(reply) = vault.apply(&command(&connection, Request::IplsAuth(auth)))? else {
        return Err("unexpected response".into());
    };
    Ok(device.finish(&reply)?)
}

/// The fleet's validation bundle for `keys`, signed by the witness and counter-signed by the operator.
fn signed_bundle(
    keys: &FleetKeys,
    witness: &WitnessSigner,
    operator: &OperatorSigner,
) -> Result<Vec<u8>, Box<dyn Error>> {
    let pins = keys.backup_pins();
    let now = now_ms() / 1000;
    let bundle = Bundle::new(
        FleetId::new("vault-fleet.example")?,
        1,
        ValidityWindow::new(UnixSeconds(now - 60), UnixSeconds(now + 7 * 24 * 3600))?,
        KeySet::new([
            FleetKey::new(pins.fleet_key().to_bytes(), Role::ResponseSigning)?,
            FleetKey::new(*pins.opaque_server_key(), Role::OpaqueServer)?,
            FleetKey::new(keys.ipls().public_key(), Role::IplsSession)?,
        ])?,
    );
    let witness_signature = witness.sign_bundle(&bundle);
    Ok(operator.countersign_bundle(bundle, &witness_signature)?.to_bytes())
}

/// The one key of `role` in the verified bundle.
fn key_of(bundle: &Bundle, role: Role) -> Result<[u8; 32], Box<dyn Error>> {
    let mut keys = bundle.keys().iter().filter(|key| key.role() == role);
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok(*key.public_key()),
        _ => Err(format!("the bundle has no single {role:?} key").into()),
    }
}

/// One retrieval attempt, over `user`'s connection, on a device that knows `password`: the recovered key, or the
/// guesses the vault still allows (as it signed them) when the password is wrong.
fn retrieve(
    vault: &Vault<MemoryStore>,
    config: &ClientConfig,
    user: &UserId,
    password: &[u8],
) -> Result<Result<BackupKey, u32>, Box<dyn Error>> {
    let connection = connection_of(user.as_bytes())?;
    let (login, request) = ClientLogin::start(&mut OsRng, config, user.clone(), password)?;
    let Response::LoginStarted { session, response } =
        vault.apply(&command(&connection, Request::LoginStart(request)))?
    else {
        return Err("unexpected response".into());
    };
    let (pending, finalization) = match login.finish(&mut OsRng, &response) {
        Ok(finished) => finished,
        Err(backup_protocol::Error::WrongPassword { guesses_remaining }) => return Ok(Err(guesses_remaining)),
        Err(error) => return Err(error.into()),
    };
    let Response::KeyReleased(release) =
        vault.apply(&command(&connection, Request::LoginFinish { session, finalization }))?
    else {
        return Err("unexpected response".into());
    };
    Ok(Ok(pending.open(&release)?))
}

// The walkthrough is one story read top to bottom; splitting it would scatter the narrative.
#[allow(clippy::too_many_lines)]
fn main() -> Result<(), Box<dyn Error>> {
    println!("1. The vault fleet makes its keys and publishes them in a validation bundle, signed by a third-party");
    println!("   witness and counter-signed by the operator.");
    let fleet_keys = FleetKeys::generate(&mut OsRng);
    let witness = WitnessSigner::new(SigningKey::generate(&mut OsRng));
    let operator = OperatorSigner::new(SigningKey::generate(&mut OsRng), witness.verifying_key().as_bytes())?;
    let wire = signed_bundle(&fleet_keys, &witness, &operator)?;
    let vault = Vault::new(fleet_keys, VaultConfig::default(), MemoryStore::new());
    // Key transparency: a directory of account keys whose roots a witness signs; the vault trusts roots up to a
    // day old for IPLS.
    let mut directory = KtDirectory::new(rand::random());
    let vault = vault.with_key_transparency(directory.trust(24 * 3600 * 1000));

    println!("2. The phone, which pins the fleet id and the witness and operator keys, verifies the bundle.");
    let anchors = TrustAnchors::new(
        FleetId::new("vault-fleet.example")?,
        witness.verifying_key().as_bytes(),
        operator.verifying_key().as_bytes(),
    )?;
    let now = UnixSeconds(now_ms() / 1000);
    let verified = BundleVerifier::new(anchors).verify(&wire, now, None)?;
    let pins = VaultPins::new(
        key_of(verified.bundle(), Role::ResponseSigning)?,
        key_of(verified.bundle(), Role::OpaqueServer)?,
    )?;
    let vault_ipls_key = key_of(verified.bundle(), Role::IplsSession)?;
    println!(
        "   verified: witness signature, operator counter-signature over it, validity window; epoch {}",
        verified.bundle().epoch()
    );
    println!("   the phone takes the vault's response-signing, OPAQUE and IPLS keys from the bundle");
    let config = ClientConfig::new(pins);
    let user = UserId::new(b"15551234567@s.whatsapp.net".to_vec())?;
    let params = KsfParams::RECOMMENDED;
    println!(
        "   passwords are hardened with Argon2id ({} KiB, {} passes) on the device",
        params.memory_kib(),
        params.iterations()
    );

    println!("3. The phone makes a random 256-bit backup key K and registers it under the user's password.");
    println!("   every request travels over the phone's connection, which the transport authenticated as the account");
    let phone = connection_of(user.as_bytes())?;
    let key = BackupKey::generate(&mut OsRng);
    let (registration, request) = ClientRegistration::start(&mut OsRng, &config, user.clone(), PASSWORD)?;
    let Response::RegistrationStarted(response) = vault.apply(&command(&phone, Request::RegistrationStart(request)))?
    else {
        return Err("unexpected response".into());
    };
    let (awaiting, upload) = registration.finish(&mut OsRng, &response, &key)?;
    println!("   verified: the vault's signature under the pinned fleet key, and its pinned OPAQUE key");
    let Response::Registered(receipt) = vault.apply(&command(&phone, Request::RegistrationFinish(upload)))? else {
        return Err("unexpected response".into());
    };
    awaiting.verify(&receipt)?;
    println!("   verified: the vault's receipt, its fleet signature over exactly this upload: K is escrowed");
    println!("   the vault stored the OPAQUE record and EK = AES-GCM(K); it holds nothing that decrypts K");
    let recovery = RecoveryKey::from_backup_key(&key);
    println!("   the 64-digit recovery key is shown to the user once (not printed here)");

    println!("4. The phone encrypts a 1 MiB backup with K (64 KiB segments, a key per file).");
    let backup: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut writer = EncryptingWriter::new(Vec::new(), &key, &mut OsRng)?;
    writer.write_all(&backup)?;
    let encrypted = writer.finish()?;
    println!("   {} bytes go to cloud storage", encrypted.len());

    println!("5. The phone seals its {CONTACTS} contacts under a fresh contact key CK and escrows CK in the vault.");
    let account = AccountId::new(user.as_bytes().to_vec())?;
    let bob = AccountId::new(b"15557654321@s.whatsapp.net".to_vec())?;
    let old_account_key = SigningKey::generate(&mut OsRng);
    let bob_key = SigningKey::generate(&mut OsRng);
    let epoch = directory.publish(
        &[
            (&account, &old_account_key.verifying_key()),
            (&bob, &bob_key.verifying_key()),
        ],
        now_ms(),
    );
    println!("   key transparency epoch {epoch}: the account's Ed25519 key (and a contact's, Bob's) are published");
    let ck = ContactKey::generate(&mut OsRng);
    let old_phone = ContactSealer::new(&ck, &account);
    let contacts: Vec<(ContactId, Vec<u8>)> = (0..CONTACTS)
        .map(|i| {
            let id = ContactId::new(format!("c{i:04}").into_bytes())?;
            let record = format!("{{\"name\":\"Contact {i}\",\"phone\":\"+1555{i:07}\"}}").into_bytes();
            let sealed = old_phone.seal(&mut OsRng, &id, &record);
            Ok((id, sealed))
        })
        .collect::<Result<_, ipls::Error>>()?;
    println!("   {CONTACTS} sealed records go to the server (AES-256-GCM, bound to account and contact id)");
    let proof = directory.identity_proof(&account);
    let outcome = escrow(&vault, &vault_ipls_key, &account, Some(&ck), &old_account_key, &proof)?;
    assert_eq!(outcome, EscrowOutcome::Stored);
    println!(
        "   verified: the vault holds the bundle's IPLS key (key confirmation, then its encrypted acknowledgement)"
    );
    println!("   the vault checked the account's signature over the session and its key-transparency proof");

    println!("6. The phone is lost, with K, CK and the account key. A new phone knows only the password and the");
    println!("   pinned anchors.");
    drop((key, ck, old_phone, old_account_key));

    println!("7. A wrong password costs one attempt and yields nothing.");
    let Err(remaining) = retrieve(&vault, &config, &user, WRONG_PASSWORD)? else {
        return Err("a wrong password was accepted".into());
    };
    println!("   the vault charged the attempt before answering; the client saw the password was wrong");
    println!("   the vault's signed response says {remaining} guesses remain");

    println!("8. The right password recovers K; the vault releases EK only under the login's session key.");
    let recovered = retrieve(&vault, &config, &user, PASSWORD)?.map_err(|_| "the right password was refused")?;
    println!("   verified: vault signature, OPAQUE server authentication, key-release and EK tags");
    println!("   the successful login reset the attempt counter");

    println!("9. The new phone decrypts the backup.");
    let mut restored = Vec::new();
    DecryptingReader::new(encrypted.as_slice(), &recovered).read_to_end(&mut restored)?;
    assert_eq!(restored, backup);
    println!(
        "   {} bytes restored; every segment authenticated, and the end of the stream",
        restored.len()
    );

    println!("10. The new phone re-registers the account: a new account key, published in key transparency.");
    let new_account_key = SigningKey::generate(&mut OsRng);
    let epoch = directory.publish(&[(&account, &new_account_key.verifying_key())], now_ms());
    println!("   epoch {epoch}, root signed by the key-transparency witness");
    let Response::RootObserved { epoch } = vault.apply(&command(
        &Principal::Operator,
        Request::ObserveRoot(directory.signed_root().to_protobuf()),
    ))?
    else {
        return Err("unexpected response".into());
    };
    println!(
        "   the operator's monitor hands the root to the vault (epoch {epoch}): the lost phone's key is now refused"
    );

    println!("11. The new phone checks Bob's key in key transparency and shows the security code.");
    let witness_verifier =
        kt_verify::WitnessVerifier::new(kt_directory::NAMESPACE, [directory.witness_key()], 24 * 3600 * 1000)?;
    let root = witness_verifier.verify(directory.signed_root(), now_ms())?;
    let bob_proof = directory.identity_proof(&bob);
    let bob_current = directory
        .directory()
        .verify_lookup(&root, bob.as_bytes(), bob_proof.lookup_proof())?;
    assert_eq!(bob_current.value(), bob_key.verifying_key().as_bytes());
    println!(
        "   verified: witness signature on the epoch-{} root, and the lookup proof: Bob's key is version {}",
        root.epoch(),
        bob_current.version()
    );
    let ours = SecurityCode::new(
        2,
        account.as_bytes(),
        new_account_key.verifying_key().as_bytes(),
        bob.as_bytes(),
        bob_current.value(),
    );
    let theirs = SecurityCode::new(
        2,
        bob.as_bytes(),
        bob_key.verifying_key().as_bytes(),
        account.as_bytes(),
        new_account_key.verifying_key().as_bytes(),
    );
    assert_eq!(theirs.matches_qr_payload(&ours.qr_payload()), Ok(true));
    println!("   security code (same on both phones; Bob scanned the QR code and it matched):");
    for line in ours.digits().as_bytes().chunks(30) {
        let groups: Vec<&str> = line
            .chunks(5)
            .map(|group| std::str::from_utf8(group).unwrap_or("?"))
            .collect();
        println!("     {}", groups.join(" "));
    }

    println!("12. The new phone gets CK back from the vault with its new, KT-proven account key.");
    let proof = directory.identity_proof(&account);
    let EscrowOutcome::Released(ck) = escrow(&vault, &vault_ipls_key, &account, None, &new_account_key, &proof)? else {
        return Err("the vault did not release CK".into());
    };
    println!("   verified by the vault: signature over the session, witness-signed root, lookup proof, key matches");
    let new_phone = ContactSealer::new(&ck, &account);
    let opened = contacts
        .iter()
        .map(|(id, sealed)| new_phone.open(id, sealed))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "   {} contacts opened on the new phone, each authenticated",
        opened.len()
    );

    println!("13. A backup cut short by the storage provider is refused.");
    match DecryptingReader::new(&encrypted[..encrypted.len() - 100], &recovered).read_to_end(&mut Vec::new()) {
        Err(error) => println!("   refused: {error}"),
        Ok(_) => return Err("a truncated backup was accepted".into()),
    }

    println!("14. Without the vault, the recovery key alone decrypts the backup.");
    let from_recovery = BackupKey::from_recovery_key(recovery.expose_secret())?;
    let mut restored = Vec::new();
    DecryptingReader::new(encrypted.as_slice(), &from_recovery).read_to_end(&mut restored)?;
    assert_eq!(restored, backup);
    println!("   {} bytes restored from the recovery key", restored.len());

    println!("15. A stranger's account tries to spend the user's guesses (or to learn whether the user has a backup).");
    let (_, request) = ClientLogin::start(&mut OsRng, &config, user.clone(), WRONG_PASSWORD)?;
    let stranger = connection_of(b"15550000000@s.whatsapp.net")?;
    match vault.apply(&command(&stranger, Request::LoginStart(request))) {
        Err(error @ VaultError::Forbidden) => println!("   refused before anything was read: {error}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    println!("   no guess was charged and nothing was stored");

    let limit = vault.config().attempt_limit;
    println!("16. Someone holding the account's connection guesses passwords: {limit} wrong guesses, then the vault");
    println!("    destroys the record.");
    for guess in 1..=limit {
        let Err(remaining) = retrieve(&vault, &config, &user, WRONG_PASSWORD)? else {
            return Err("a wrong password was accepted".into());
        };
        println!("   guess {guess}/{limit}: wrong, attempt charged; {remaining} remaining");
    }
    match retrieve(&vault, &config, &user, PASSWORD) {
        Err(error)
            if matches!(
                error.downcast_ref(),
                Some(VaultError::<std::convert::Infallible>::Locked)
            ) =>
        {
            println!("   even the right password now gets: {error}");
        }
        other => return Err(format!("expected a lockout, got {other:?}").into()),
    }
    println!("   K is gone from the vault for good; only the recovery key can still open the backup");
    Ok(())
}
