//! End-to-end walkthrough of an encrypted backup: register K with the vault under a password, encrypt a backup,
//! lose the phone, recover K on a new device, decrypt. Every step prints what was verified.
//!
//! `cargo run --example walkthrough`
//!
//! The vault here is the in-process vault half of `backup-protocol` with a plain attempt counter; the `vault-core`
//! crate is where durable counters, lockout and replication live.

use std::error::Error;
use std::io::{Read, Write};

use backup_protocol::{
    BackupKey, BackupRecord, ClientConfig, ClientLogin, ClientRegistration, DecryptingReader, EncryptingWriter,
    KsfPolicy, LoginRequest, LoginResponse, PendingRegistration, RecoveryKey, UserId, VaultKeys, VaultLoginState,
};
use rand::rngs::OsRng;

const PASSWORD: &[u8] = b"purple elephant sunrise 42";
const ATTEMPT_LIMIT: u32 = 10;

/// The smallest vault that shows the protocol: one record and its attempt counter.
struct DemoVault {
    keys: VaultKeys,
    record: Option<BackupRecord>,
    attempts: u32,
}

impl DemoVault {
    /// Answers a login request, charging one attempt before the response exists.
    fn answer(&mut self, request: &LoginRequest) -> Result<(VaultLoginState, LoginResponse), Box<dyn Error>> {
        let attempts = &mut self.attempts;
        let (state, response) = VaultLoginState::start(&self.keys, &mut OsRng, self.record.as_ref(), request, || {
            if *attempts >= ATTEMPT_LIMIT {
                return Err("record locked");
            }
            *attempts += 1;
            Ok(())
        })
        .map_err(|error| error.to_string())?;
        println!(
            "   vault charged attempt {}/{ATTEMPT_LIMIT} before answering",
            self.attempts
        );
        Ok((state, response))
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("1. The vault fleet makes its keys; clients pin the fleet signing key and the OPAQUE server key.");
    let mut vault = DemoVault {
        keys: VaultKeys::generate(&mut OsRng),
        record: None,
        attempts: 0,
    };
    let pins = vault.keys.pins();
    let config = ClientConfig::new(pins);
    let user = UserId::new(b"15551234567@s.whatsapp.net".to_vec())?;

    println!("2. The phone makes a random 256-bit backup key K and registers it under the user's password.");
    let key = BackupKey::generate(&mut OsRng);
    let (client, request) = ClientRegistration::start(&mut OsRng, &config, user.clone(), PASSWORD)?;
    let (pending, response) = PendingRegistration::start(&vault.keys, &mut OsRng, &request)?;
    let upload = client.finish(&mut OsRng, &response, &key)?;
    println!("   verified: the vault's signature under the pinned fleet key, and its pinned OPAQUE key");
    vault.record = Some(pending.finish(&upload, &KsfPolicy::RECOMMENDED)?);
    println!(
        "   vault stored a {}-byte record: OPAQUE envelope, Argon2id parameters, EK = AES-GCM(K); no way to read K",
        vault.record.as_ref().map_or(0, |record| record.to_bytes().len())
    );
    let recovery = RecoveryKey::from_backup_key(&key);
    println!(
        "   the {}-character recovery key (64 digits in groups of 4) is shown to the user once; not printed here",
        recovery.expose_secret().len()
    );

    println!("3. The phone encrypts a 1 MiB backup with K (STREAM: 64 KiB segments, per-file key).");
    let backup: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut writer = EncryptingWriter::new(Vec::new(), &key, &mut OsRng)?;
    writer.write_all(&backup)?;
    let encrypted = writer.finish()?;
    println!("   {} bytes uploaded to cloud storage", encrypted.len());

    println!("4. The phone is lost. A new phone knows only the password and the pinned vault keys.");
    drop(key);

    println!("5. A wrong password costs an attempt and yields nothing.");
    let (client, request) = ClientLogin::start(&mut OsRng, &config, user.clone(), b"purple elephant sunset 42")?;
    let (_, response) = vault.answer(&request)?;
    match client.finish(&mut OsRng, &response) {
        Err(error) => println!("   client: {error} (no key, nothing sent back)"),
        Ok(_) => return Err("a wrong password was accepted".into()),
    }

    println!("6. The right password recovers K through OPAQUE; the vault releases EK only under the session key.");
    let (client, request) = ClientLogin::start(&mut OsRng, &config, user, PASSWORD)?;
    let (state, response) = vault.answer(&request)?;
    let (pending, finalization) = client.finish(&mut OsRng, &response)?;
    let release = state.finish(&mut OsRng, vault.record.as_ref(), &finalization)?;
    vault.attempts = 0; // only a successful login resets the counter
    let recovered = pending.open(&release)?;
    println!("   verified: vault signature, OPAQUE server authentication, key release and EK tags");
    println!("   attempt counter reset to {}", vault.attempts);

    println!("7. The new phone decrypts the backup.");
    let mut restored = Vec::new();
    DecryptingReader::new(encrypted.as_slice(), &recovered).read_to_end(&mut restored)?;
    assert_eq!(restored, backup);
    println!(
        "   {} bytes restored; every segment authenticated, and the stream's end verified",
        restored.len()
    );

    println!("8. A backup cut short by the storage provider is refused.");
    let cut = &encrypted[..encrypted.len() - 100];
    match DecryptingReader::new(cut, &recovered).read_to_end(&mut Vec::new()) {
        Err(error) => println!("   refused: {error}"),
        Ok(_) => return Err("a truncated backup was accepted".into()),
    }

    println!("9. Without the vault, the 64-digit recovery key alone decrypts the backup.");
    let from_recovery = BackupKey::from_recovery_key(recovery.expose_secret())?;
    let mut restored = Vec::new();
    DecryptingReader::new(encrypted.as_slice(), &from_recovery).read_to_end(&mut restored)?;
    assert_eq!(restored, backup);
    println!("   {} bytes restored from the recovery key", restored.len());
    Ok(())
}
