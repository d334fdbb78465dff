//! End-to-end walkthrough of an encrypted backup: register K with the vault under a password, encrypt a backup,
//! lose the phone, recover K on a new device, decrypt; then watch wrong passwords use up the attempts until the
//! vault destroys the record. Every step prints what was verified.
//!
//! `cargo run --example walkthrough`

use std::error::Error;
use std::io::{Read, Write};

use backup_protocol::{
    BackupKey, ClientConfig, ClientLogin, ClientRegistration, DecryptingReader, EncryptingWriter, KsfParams,
    RecoveryKey, UserId,
};
use rand::rngs::OsRng;
use vault_core::{Command, FleetKeys, MemoryStore, Request, Response, Vault, VaultConfig, VaultError};

const PASSWORD: &[u8] = b"purple elephant sunrise 42";
const WRONG_PASSWORD: &[u8] = b"purple elephant sunset 42";

/// The leader's side of a command: the time and the entropy every replica applies it with.
fn command(request: Request) -> Command {
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
    Command {
        at_ms,
        entropy: rand::random(),
        request,
    }
}

/// One retrieval attempt on a device that knows `password`: the recovered key, `None` for a wrong password.
fn retrieve(
    vault: &Vault<MemoryStore>,
    config: &ClientConfig,
    user: &UserId,
    password: &[u8],
) -> Result<Option<BackupKey>, Box<dyn Error>> {
    let (login, request) = ClientLogin::start(&mut OsRng, config, user.clone(), password)?;
    let Response::LoginStarted { session, response } = vault.apply(&command(Request::LoginStart(request)))? else {
        return Err("unexpected response".into());
    };
    let (pending, finalization) = match login.finish(&mut OsRng, &response) {
        Ok(finished) => finished,
        Err(backup_protocol::Error::WrongPassword) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let Response::KeyReleased(release) = vault.apply(&command(Request::LoginFinish { session, finalization }))? else {
        return Err("unexpected response".into());
    };
    Ok(Some(pending.open(&release)?))
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("1. The vault fleet makes its keys; clients pin its response-signing key and OPAQUE server key.");
    let vault = Vault::new(
        FleetKeys::generate(&mut OsRng),
        VaultConfig::default(),
        MemoryStore::new(),
    );
    let config = ClientConfig::new(vault.keys().backup_pins());
    let user = UserId::new(b"15551234567@s.whatsapp.net".to_vec())?;
    let params = KsfParams::RECOMMENDED;
    println!(
        "   passwords are hardened with Argon2id ({} KiB, {} passes) on the device",
        params.memory_kib(),
        params.iterations()
    );

    println!("2. The phone makes a random 256-bit backup key K and registers it under the user's password.");
    let key = BackupKey::generate(&mut OsRng);
    let (registration, request) = ClientRegistration::start(&mut OsRng, &config, user.clone(), PASSWORD)?;
    let Response::RegistrationStarted(response) = vault.apply(&command(Request::RegistrationStart(request)))? else {
        return Err("unexpected response".into());
    };
    let upload = registration.finish(&mut OsRng, &response, &key)?;
    println!("   verified: the vault's signature under the pinned fleet key, and its pinned OPAQUE key");
    vault.apply(&command(Request::RegistrationFinish(upload)))?;
    println!("   the vault stored the OPAQUE record and EK = AES-GCM(K); it holds nothing that decrypts K");
    let recovery = RecoveryKey::from_backup_key(&key);
    println!("   the 64-digit recovery key is shown to the user once (not printed here)");

    println!("3. The phone encrypts a 1 MiB backup with K (64 KiB segments, a key per file).");
    let backup: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut writer = EncryptingWriter::new(Vec::new(), &key, &mut OsRng)?;
    writer.write_all(&backup)?;
    let encrypted = writer.finish()?;
    println!("   {} bytes go to cloud storage", encrypted.len());

    println!("4. The phone is lost. A new phone knows only the password and the pinned vault keys.");
    drop(key);

    println!("5. A wrong password costs one attempt and yields nothing.");
    assert!(retrieve(&vault, &config, &user, WRONG_PASSWORD)?.is_none());
    println!("   the vault charged the attempt before answering; the client saw the password was wrong");

    println!("6. The right password recovers K; the vault releases EK only under the login's session key.");
    let recovered = retrieve(&vault, &config, &user, PASSWORD)?.ok_or("the right password was refused")?;
    println!("   verified: vault signature, OPAQUE server authentication, key-release and EK tags");
    println!("   the successful login reset the attempt counter");

    println!("7. The new phone decrypts the backup.");
    let mut restored = Vec::new();
    DecryptingReader::new(encrypted.as_slice(), &recovered).read_to_end(&mut restored)?;
    assert_eq!(restored, backup);
    println!(
        "   {} bytes restored; every segment authenticated, and the end of the stream",
        restored.len()
    );

    println!("8. A backup cut short by the storage provider is refused.");
    match DecryptingReader::new(&encrypted[..encrypted.len() - 100], &recovered).read_to_end(&mut Vec::new()) {
        Err(error) => println!("   refused: {error}"),
        Ok(_) => return Err("a truncated backup was accepted".into()),
    }

    println!("9. Without the vault, the recovery key alone decrypts the backup.");
    let from_recovery = BackupKey::from_recovery_key(recovery.expose_secret())?;
    let mut restored = Vec::new();
    DecryptingReader::new(encrypted.as_slice(), &from_recovery).read_to_end(&mut restored)?;
    assert_eq!(restored, backup);
    println!("   {} bytes restored from the recovery key", restored.len());

    let limit = vault.config().attempt_limit;
    println!("10. Someone guesses passwords: {limit} wrong guesses, then the vault destroys the record.");
    for guess in 1..=limit {
        assert!(retrieve(&vault, &config, &user, WRONG_PASSWORD)?.is_none());
        println!("   guess {guess}/{limit}: wrong, attempt charged");
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
