//! backup-protocol: every public decoder (SPEC §4), the recovery key (§9) and both stream decryptors (§8).

use backup_protocol::{
    BackupKey, BackupRecord, DeletionReceipt, HEADER_LEN, KeyRelease, LoginFinalization, LoginRequest, LoginResponse,
    PendingRegistration, RecoveryKey, RegistrationReceipt, RegistrationRequest, RegistrationResponse,
    RegistrationUpload, SEGMENT_SIZE, SegmentDecryptor, StreamDecryptor, StreamEncryptor, StreamError, VaultKeys,
    VaultLoginState,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{decode, select};

/// Selector byte: the nine messages, the vault's three stored states, its key file, and the recovery key.
pub(super) fn messages(data: &[u8]) -> bool {
    let Some((which, input)) = select(data, 14) else {
        return false;
    };
    match which {
        0 => decode(
            "RegistrationRequest",
            input,
            RegistrationRequest::from_bytes,
            RegistrationRequest::to_bytes,
        ),
        1 => decode(
            "RegistrationResponse",
            input,
            RegistrationResponse::from_bytes,
            RegistrationResponse::to_bytes,
        ),
        2 => decode(
            "RegistrationUpload",
            input,
            RegistrationUpload::from_bytes,
            RegistrationUpload::to_bytes,
        ),
        3 => decode(
            "RegistrationReceipt",
            input,
            RegistrationReceipt::from_bytes,
            RegistrationReceipt::to_bytes,
        ),
        4 => decode("LoginRequest", input, LoginRequest::from_bytes, LoginRequest::to_bytes),
        5 => decode(
            "LoginResponse",
            input,
            LoginResponse::from_bytes,
            LoginResponse::to_bytes,
        ),
        6 => decode(
            "LoginFinalization",
            input,
            LoginFinalization::from_bytes,
            LoginFinalization::to_bytes,
        ),
        7 => decode("KeyRelease", input, KeyRelease::from_bytes, KeyRelease::to_bytes),
        8 => decode(
            "DeletionReceipt",
            input,
            DeletionReceipt::from_bytes,
            DeletionReceipt::to_bytes,
        ),
        9 => decode(
            "PendingRegistration",
            input,
            PendingRegistration::from_bytes,
            PendingRegistration::to_bytes,
        ),
        10 => decode("BackupRecord", input, BackupRecord::from_bytes, BackupRecord::to_bytes),
        11 => decode("VaultLoginState", input, VaultLoginState::from_bytes, |state| {
            state.to_bytes().to_vec()
        }),
        12 => decode("VaultKeys", input, VaultKeys::from_bytes, |keys| {
            keys.to_bytes().to_vec()
        }),
        _ => recovery_key(input),
    }
}

/// A recovery key is typed by a person, so spacing may vary: the property is that the key it gives prints back
/// to a form that reads as the same key.
fn recovery_key(input: &[u8]) -> bool {
    let Ok(text) = core::str::from_utf8(input) else {
        return false;
    };
    let Ok(key) = BackupKey::from_recovery_key(text) else {
        return false;
    };
    let printed = RecoveryKey::from_backup_key(&key);
    let reread = BackupKey::from_recovery_key(printed.expose_secret());
    assert!(
        reread.as_ref() == Ok(&key),
        "recovery key: the printed form of an accepted key reads differently"
    );
    true
}

/// The key every stream case uses; the fuzzer never learns it, so any file it builds by hand must be refused.
fn stream_key() -> BackupKey {
    BackupKey::from_bytes([0x42; 32])
}

/// Control byte: bit 0 picks the case, the other bits a chunk size (1 to 128 bytes) for the copying decryptor and,
/// for an encrypted plaintext, how many bytes to cut from its end.
///
/// - a file given by the fuzzer: the copying and the in-place decryptors give the same plaintext or error;
/// - a plaintext the harness encrypts: both decryptors give it back, and the file cut short or extended by a byte
///   is refused by both (no truncation or extension accepted).
pub(super) fn stream(data: &[u8]) -> bool {
    let Some((&control, rest)) = data.split_first() else {
        return false;
    };
    let key = stream_key();
    let chunk = usize::from(control >> 1) + 1;
    if control & 1 == 0 {
        let copying = decrypt_copying(&key, rest, chunk);
        assert_eq!(
            copying,
            decrypt_in_place(&key, rest),
            "the two stream decryptors disagree"
        );
        return copying.is_ok();
    }
    let file = encrypt(&key, rest, chunk);
    for decrypted in [decrypt_copying(&key, &file, chunk), decrypt_in_place(&key, &file)] {
        assert!(
            decrypted.as_deref() == Ok(rest),
            "stream: a file does not decrypt to its plaintext"
        );
    }
    let cut = usize::from(control >> 1).min(file.len());
    let extended = [file.as_slice(), &[control]].concat();
    for altered in [&file[..file.len() - cut], extended.as_slice()] {
        if altered.len() != file.len() {
            assert!(
                decrypt_copying(&key, altered, chunk).is_err(),
                "stream: a cut or extended file decrypted"
            );
            assert!(
                decrypt_in_place(&key, altered).is_err(),
                "stream: a cut or extended file decrypted in place"
            );
        }
    }
    true
}

/// Encrypts with a fixed salt (seeded generator), so the corpus replays the same file every time.
fn encrypt(key: &BackupKey, plaintext: &[u8], chunk: usize) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let (mut encryptor, header) = StreamEncryptor::new(key, &mut rng);
    let mut file = header.to_vec();
    for piece in plaintext.chunks(chunk) {
        encryptor.update(piece, &mut file).expect("a short plaintext encrypts");
    }
    encryptor.finish(&mut file).expect("a short plaintext encrypts");
    file
}

/// The copying API fed in `chunk`-byte pieces, so that its buffering across calls is exercised too.
fn decrypt_copying(key: &BackupKey, file: &[u8], chunk: usize) -> Result<Vec<u8>, StreamError> {
    let mut decryptor = StreamDecryptor::new(key);
    let mut plaintext = Vec::new();
    for piece in file.chunks(chunk) {
        decryptor.update(piece, &mut plaintext)?;
    }
    decryptor.finish(&mut plaintext)?;
    Ok(plaintext)
}

/// The in-place API, with the file cut as SPEC §8 tells its caller to: the header, each full segment and its tag
/// while more bytes follow, then the rest as the last segment and its tag (under 16 bytes: truncated).
fn decrypt_in_place(key: &BackupKey, file: &[u8]) -> Result<Vec<u8>, StreamError> {
    const TAG: usize = 16;
    let header_len = HEADER_LEN.min(file.len());
    let mut file = file.to_vec();
    let (header, mut body) = file.split_at_mut(header_len);
    let mut decryptor = SegmentDecryptor::new(key, header)?;
    let mut plaintext = Vec::new();
    while body.len() > SEGMENT_SIZE + TAG {
        let (segment, rest) = body.split_at_mut(SEGMENT_SIZE + TAG);
        let (segment, tag) = segment.split_at_mut(SEGMENT_SIZE);
        let segment: &mut [u8; SEGMENT_SIZE] = segment.try_into().expect("split at SEGMENT_SIZE");
        decryptor.decrypt_in_place(segment, (&*tag).try_into().expect("split at TAG"))?;
        plaintext.extend_from_slice(segment);
        body = rest;
    }
    let Some(last_len) = body.len().checked_sub(TAG) else {
        return Err(StreamError::Truncated);
    };
    let (last, tag) = body.split_at_mut(last_len);
    decryptor.finish_in_place(last, (&*tag).try_into().expect("split at TAG"))?;
    plaintext.extend_from_slice(last);
    Ok(plaintext)
}
