//! Instruction-count harness for `.ci/instruction_counts.py` (issue #16): each case is one of the criterion pairs of
//! the crates' `benches/`, our operation ("ours") against the bare dependencies doing the same cryptographic work
//! ("bare"), run under `valgrind --tool=callgrind`.
//!
//! ```text
//! instruction_counts <case> <ours|bare> <iterations> [fixture]   run one side of a case
//! instruction_counts kt-fixture <path>                           build the key-transparency fixture (natively)
//! instruction_counts list                                        print the case names
//! ```
//!
//! Each case does its set-up, runs the operation once unmeasured (lazy initialisation, first allocations), then
//! `iterations` times with the measured work inside [`callgrind_measured`]. The script runs callgrind with
//! `--collect-atstart=no --toggle-collect=*callgrind_measured*`, so only what runs inside that function is counted:
//! set-up and the other party's work (a client's, between the vault's two halves) are not. Every generator is
//! seeded, so the counts repeat exactly for the same binary.
//!
//! The key-transparency cases read a fixture made natively first (`kt-fixture`): building the 10 000-label akd
//! directory under callgrind would take minutes.

use std::hint::black_box;
use std::process::ExitCode;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The measured region: callgrind counts only what runs inside this function (`--toggle-collect`). Never inlined,
/// so that its symbol exists whatever the optimiser does around it.
#[inline(never)]
fn callgrind_measured<R>(work: impl FnOnce() -> R) -> R {
    black_box(work())
}

/// Runs `work` inside the measured region when `measure` is set, directly otherwise (the warm-up run).
fn region<R>(measure: bool, work: impl FnOnce() -> R) -> R {
    if measure { callgrind_measured(work) } else { work() }
}

/// Runs `op` once unmeasured, then `iterations` times measured.
fn run(iterations: usize, mut op: impl FnMut(bool)) {
    op(false);
    for _ in 0..iterations {
        op(true);
    }
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(16)
}

/// `label || version || len8(user) || user || fields`: the layout of every message the backup protocol signs
/// (backup-protocol SPEC §5); the bare sides build it themselves from the same pieces.
fn signed_message(label: &[u8], user: &[u8], fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(label.len() + 2 + user.len() + fields.iter().map(|f| f.len()).sum::<usize>());
    out.extend_from_slice(label);
    out.push(backup_protocol::PROTOCOL_VERSION);
    out.push(user.len() as u8);
    out.extend_from_slice(user);
    for field in fields {
        out.extend_from_slice(field);
    }
    out
}

/// Bare HKDF-SHA256 with an empty salt, 32 bytes out.
fn hkdf32(ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, ikm)
        .expand(info, &mut out)
        .expect("valid length");
    out
}

mod backup {
    //! backup-protocol's register + retrieve and vault-core's login against bare opaque-ke, Ed25519, HKDF and
    //! AES-GCM.

    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
    use backup_protocol::labels::{
        KEY_RELEASE_AAD, LOGIN_RESPONSE_SIGNATURE, OPAQUE_CONTEXT, OPAQUE_K_INFO, REGISTRATION_RECEIPT_SIGNATURE,
        REGISTRATION_RESPONSE_SIGNATURE, SHARED_K_INFO, WRAPPED_KEY_AAD,
    };
    use backup_protocol::{
        BackupKey, ClientConfig, ClientLogin, ClientRegistration, KsfParams, KsfPolicy, PendingRegistration, Suite,
        UserId, VaultKeys, VaultLoginState,
    };
    use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
    use opaque_ke::argon2::{Algorithm, Argon2, Params, Version};
    use opaque_ke::{
        ClientLoginFinishParameters, ClientRegistrationFinishParameters, Identifiers, ServerLogin,
        ServerLoginParameters, ServerRegistration, ServerSetup,
    };
    use rand_chacha::ChaCha20Rng;
    use rand_core::RngCore;
    use vault_core::{Command, FleetKeys, MemoryStore, Principal, Request, Response, Vault, VaultConfig};

    use super::{hkdf32, region, rng, run, signed_message};

    const PASSWORD: &[u8] = b"correct horse battery staple";
    const USER: &[u8] = b"15551234567@s.whatsapp.net";
    /// The KSF parameters' encoding in the signed login response (12 bytes); its content does not change the cost.
    const KSF_BYTES: [u8; 12] = [0; 12];

    fn identifiers() -> Identifiers<'static> {
        Identifiers {
            client: Some(USER),
            server: None,
        }
    }

    /// OPAQUE's context for a key-retrieving login: the protocol's label and the purpose byte.
    fn context() -> Vec<u8> {
        [OPAQUE_CONTEXT, &[1]].concat()
    }

    /// `len8(user) || user || challenge`: the credential identifier, one OPRF key per registration.
    fn credential_identifier(challenge: &[u8; 32]) -> Vec<u8> {
        [&[USER.len() as u8], USER, challenge].concat()
    }

    /// `label || version || len8(user) || user || challenge`.
    fn aad(label: &[u8], challenge: &[u8]) -> Vec<u8> {
        signed_message(label, USER, &[challenge])
    }

    fn argon2() -> Argon2<'static> {
        let params = KsfParams::INSECURE_FAST;
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(params.memory_kib(), params.iterations(), params.parallelism(), None).expect("valid"),
        )
    }

    fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = plaintext.to_vec();
        let tag = Aes256Gcm::new(key.into())
            .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut out)
            .expect("short");
        out.extend_from_slice(&tag);
        out
    }

    fn open(key: &[u8; 32], nonce: &[u8], aad: &[u8], sealed: &[u8]) -> Vec<u8> {
        let (body, tag) = sealed.split_at(sealed.len() - 16);
        let mut out = body.to_vec();
        Aes256Gcm::new(key.into())
            .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut out, Tag::from_slice(tag))
            .expect("authentic");
        out
    }

    /// Register then retrieve K, client and vault, with the test KSF (`benches/protocol.rs`, 8 KiB profile).
    pub(super) fn register_retrieve_ours(iterations: usize) {
        let mut rng = rng();
        let keys = VaultKeys::generate(&mut rng);
        let config = ClientConfig::insecure_fast_for_testing(keys.pins());
        let policy = KsfPolicy::INSECURE_TESTING;
        let key = BackupKey::generate(&mut rng);
        run(iterations, |measure| {
            region(measure, || {
                let user = UserId::new(USER.to_vec()).expect("valid");
                let (client, request) =
                    ClientRegistration::start(&mut rng, &config, user.clone(), PASSWORD).expect("start");
                let (pending, response) = PendingRegistration::start(&keys, &mut rng, &request).expect("response");
                let (awaiting, upload) = client.finish(&mut rng, &response, &key).expect("upload");
                let (record, receipt) = pending.finish(&keys, &upload, &policy).expect("record");
                awaiting.verify(&receipt).expect("receipt");

                let (client, request) = ClientLogin::start(&mut rng, &config, user, PASSWORD).expect("start");
                let (state, response) =
                    VaultLoginState::start(&keys, &mut rng, Some(&record), &request, || Ok::<u32, ()>(9))
                        .expect("response");
                let (pending, finalization) = client.finish(&mut rng, &response).expect("finalization");
                let release = state.finish(&mut rng, Some(&record), &finalization).expect("release");
                assert!(pending.open(&release).expect("K") == key);
            });
        });
    }

    /// The same exchange with the bare dependencies: opaque-ke's six steps, and what the protocol adds to them —
    /// the vault's three Ed25519 signatures (registration response, registration receipt, login response) and the
    /// client's three strict verifications of them, HKDF of OPAQUE_K (twice) and SHARED_K (client and vault),
    /// AES-256-GCM wrapping and unwrapping K (EK) and sealing and opening the key release.
    // One exchange, step by step in protocol order, reads best in one piece.
    #[allow(clippy::too_many_lines)]
    pub(super) fn register_retrieve_bare(iterations: usize) {
        let mut rng = rng();
        let setup = ServerSetup::<Suite>::new(&mut rng);
        let signing = SigningKey::from_bytes(&random(&mut rng));
        let verifying = signing.verifying_key();
        let argon2 = argon2();
        let k: [u8; 32] = random(&mut rng);
        let context = context();
        let parameters = || ServerLoginParameters {
            context: Some(&context),
            identifiers: identifiers(),
        };
        run(iterations, |measure| {
            region(measure, || {
                // Registration.
                let started = opaque_ke::ClientRegistration::<Suite>::start(&mut rng, PASSWORD).expect("start");
                let request = started.message.serialize();
                let challenge: [u8; 32] = random(&mut rng);
                let response =
                    ServerRegistration::<Suite>::start(&setup, started.message, &credential_identifier(&challenge))
                        .expect("response")
                        .message;
                let response_bytes = response.serialize();
                let transcript = signed_message(
                    REGISTRATION_RESPONSE_SIGNATURE,
                    USER,
                    &[&challenge, &request, &response_bytes],
                );
                let signature = signing.sign(&transcript);
                verify(&verifying, &transcript, &signature);
                let finished = started
                    .state
                    .finish(
                        &mut rng,
                        PASSWORD,
                        response,
                        ClientRegistrationFinishParameters::new(identifiers(), Some(&argon2)),
                    )
                    .expect("finish");
                let opaque_k = hkdf32(&finished.export_key, OPAQUE_K_INFO);
                let k_nonce: [u8; 12] = random(&mut rng);
                let ek = seal(&opaque_k, &k_nonce, &aad(WRAPPED_KEY_AAD, &challenge), &k);
                let upload = finished.message.serialize();
                let record = ServerRegistration::<Suite>::finish(finished.message);
                let receipt = signed_message(
                    REGISTRATION_RECEIPT_SIGNATURE,
                    USER,
                    &[&KSF_BYTES, &upload, &challenge, &k_nonce, &ek],
                );
                let signature = signing.sign(&receipt);
                verify(&verifying, &receipt, &signature);

                // Retrieval.
                let login = opaque_ke::ClientLogin::<Suite>::start(&mut rng, PASSWORD).expect("start");
                let request = login.message.serialize();
                let server = ServerLogin::start(
                    &mut rng,
                    &setup,
                    Some(record),
                    login.message,
                    &credential_identifier(&challenge),
                    parameters(),
                )
                .expect("response");
                let response = server.message.serialize();
                let transcript = signed_message(
                    LOGIN_RESPONSE_SIGNATURE,
                    USER,
                    &[&[1], &request, &KSF_BYTES, &9u32.to_be_bytes(), &response],
                );
                let signature = signing.sign(&transcript);
                verify(&verifying, &transcript, &signature);
                let client = login
                    .state
                    .finish(
                        &mut rng,
                        PASSWORD,
                        server.message,
                        ClientLoginFinishParameters::new(Some(&context), identifiers(), Some(&argon2)),
                    )
                    .expect("finish");
                let client_opaque_k = hkdf32(&client.export_key, OPAQUE_K_INFO);
                let client_shared_k = hkdf32(&client.session_key, SHARED_K_INFO);
                let finished = server
                    .state
                    .finish(client.message, parameters())
                    .expect("authenticated");
                let shared_k = hkdf32(&finished.session_key, SHARED_K_INFO);
                let release_nonce: [u8; 12] = random(&mut rng);
                let release_aad = signed_message(KEY_RELEASE_AAD, USER, &[]);
                let release = seal(
                    &shared_k,
                    &release_nonce,
                    &release_aad,
                    &[&challenge[..], &k_nonce, &ek].concat(),
                );
                let wrapped = open(&client_shared_k, &release_nonce, &release_aad, &release);
                let opened = open(
                    &client_opaque_k,
                    &wrapped[32..44],
                    &aad(WRAPPED_KEY_AAD, &wrapped[..32]),
                    &wrapped[44..],
                );
                assert!(opened == k);
            });
        });
    }

    fn random<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
        let mut out = [0u8; N];
        rng.fill_bytes(&mut out);
        out
    }

    fn verify(key: &VerifyingKey, message: &[u8], signature: &Signature) {
        key.verify_strict(message, signature).expect("valid signature");
    }

    /// The vault's half of one login, LoginStart then LoginFinish, on vault-core's in-memory store
    /// (`vault-core/benches/login.rs`); the client's work between the halves is not measured.
    pub(super) fn vault_login_ours(iterations: usize) {
        let mut rng = rng();
        let config = VaultConfig {
            ksf_policy: KsfPolicy::INSECURE_TESTING,
            attempt_limit: u32::MAX,
            ..VaultConfig::default()
        };
        let vault = Vault::new(FleetKeys::generate(&mut rng), config, MemoryStore::new());
        let client = ClientConfig::insecure_fast_for_testing(vault.keys().backup_pins());
        let user = UserId::new(USER.to_vec()).expect("valid");
        let mut now = 1_700_000_000_000u64;
        let mut command = |rng: &mut ChaCha20Rng, request| {
            now += 1;
            Command {
                at_ms: now,
                entropy: random(rng),
                principal: Principal::Account(UserId::new(USER.to_vec()).expect("valid")),
                request,
            }
        };
        let (registration, request) =
            ClientRegistration::start(&mut rng, &client, user.clone(), PASSWORD).expect("start");
        let Ok(Response::RegistrationStarted(response)) =
            vault.apply(&command(&mut rng, Request::RegistrationStart(request)))
        else {
            panic!("registration start refused")
        };
        let key = BackupKey::generate(&mut rng);
        let (_, upload) = registration.finish(&mut rng, &response, &key).expect("upload");
        vault
            .apply(&command(&mut rng, Request::RegistrationFinish(upload)))
            .expect("registered");

        run(iterations, |measure| {
            let (login, request) = ClientLogin::start(&mut rng, &client, user.clone(), PASSWORD).expect("start");
            let start = command(&mut rng, Request::LoginStart(request));
            let Ok(Response::LoginStarted { session, response }) = region(measure, || vault.apply(&start)) else {
                panic!("login start refused")
            };
            let (_, finalization) = login.finish(&mut rng, &response).expect("finalization");
            let finish = command(&mut rng, Request::LoginFinish { session, finalization });
            let released = region(measure, || vault.apply(&finish));
            assert!(matches!(released, Ok(Response::KeyReleased(_))));
        });
    }

    /// The same cryptographic work with the bare dependencies: read the password file from its stored bytes once
    /// (opaque-ke's deserialization, which validates the client's public key), `ServerLogin::start`, one Ed25519
    /// signature over the login response's transcript, then `ServerLogin::finish`, HKDF of SHARED_K and the
    /// AES-256-GCM seal of the key release. The client's messages arrive decoded, as in `Vault::apply`; the login
    /// state stays in memory (a storage-agnostic vault stores it, and reads the record again to release EK).
    pub(super) fn vault_login_bare(iterations: usize) {
        let mut rng = rng();
        let setup = ServerSetup::<Suite>::new(&mut rng);
        let argon2 = argon2();
        let signing = SigningKey::from_bytes(&random(&mut rng));
        let challenge: [u8; 32] = random(&mut rng);
        let identifier = credential_identifier(&challenge);
        let started = opaque_ke::ClientRegistration::<Suite>::start(&mut rng, PASSWORD).expect("start");
        let response = ServerRegistration::<Suite>::start(&setup, started.message, &identifier).expect("response");
        let finished = started
            .state
            .finish(
                &mut rng,
                PASSWORD,
                response.message,
                ClientRegistrationFinishParameters::new(identifiers(), Some(&argon2)),
            )
            .expect("finish");
        let stored = ServerRegistration::<Suite>::finish(finished.message).serialize();
        // challenge || K_NONCE || EK, as the record holds them.
        let wrapped: [u8; 92] = random(&mut rng);
        let context = context();
        let parameters = || ServerLoginParameters {
            context: Some(&context),
            identifiers: identifiers(),
        };

        run(iterations, |measure| {
            let login = opaque_ke::ClientLogin::<Suite>::start(&mut rng, PASSWORD).expect("start");
            let request = login.message.serialize();
            let (server, _signature) = region(measure, || {
                let record = ServerRegistration::<Suite>::deserialize(&stored).expect("stored record");
                let server =
                    ServerLogin::start(&mut rng, &setup, Some(record), login.message, &identifier, parameters())
                        .expect("response");
                let response = server.message.serialize();
                let transcript = signed_message(
                    LOGIN_RESPONSE_SIGNATURE,
                    USER,
                    &[&[1], &request, &KSF_BYTES, &9u32.to_be_bytes(), &response],
                );
                (server, signing.sign(&transcript))
            });
            let client = login
                .state
                .finish(
                    &mut rng,
                    PASSWORD,
                    server.message,
                    ClientLoginFinishParameters::new(Some(&context), identifiers(), Some(&argon2)),
                )
                .expect("finish");
            let release = region(measure, || {
                let finished = server
                    .state
                    .finish(client.message, parameters())
                    .expect("authenticated");
                let shared_k = hkdf32(&finished.session_key, SHARED_K_INFO);
                let nonce: [u8; 12] = random(&mut rng);
                seal(&shared_k, &nonce, &signed_message(KEY_RELEASE_AAD, USER, &[]), &wrapped)
            });
            assert_eq!(release.len(), 108);
        });
    }
}

mod stream {
    //! backup-protocol's streaming encryption against bare AES-256-GCM over the same segments.

    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
    use backup_protocol::labels::{STREAM_FILE_KEY_INFO, STREAM_NONCE_PREFIX_INFO};
    use backup_protocol::{
        BackupKey, HEADER_LEN, SEGMENT_SIZE, SegmentDecryptor, SegmentEncryptor, StreamDecryptor, StreamEncryptor,
    };
    use rand_core::RngCore;

    use super::{region, rng, run};

    /// 16 segments of 64 KiB: 1 MiB per file.
    const LEN: usize = 16 * SEGMENT_SIZE;
    const TAG: usize = 16;

    fn plaintext() -> Vec<u8> {
        let mut plaintext = vec![0u8; LEN];
        rng().fill_bytes(&mut plaintext);
        plaintext
    }

    /// One file: `StreamEncryptor` over the plaintext slice into a pre-allocated output buffer.
    pub(super) fn encrypt_ours(iterations: usize) {
        let mut rng = rng();
        let key = BackupKey::generate(&mut rng);
        let plaintext = plaintext();
        let mut out = Vec::with_capacity(HEADER_LEN + LEN + 16 * TAG);
        run(iterations, |measure| {
            out.clear();
            region(measure, || {
                let (mut encryptor, header) = StreamEncryptor::new(&key, &mut rng);
                out.extend_from_slice(&header);
                encryptor.update(&plaintext, &mut out).expect("within limits");
                encryptor.finish(&mut out).expect("within limits");
            });
        });
    }

    /// The bare per-file and per-segment work of the format: a salt, HKDF-SHA256 of the file key and nonce prefix,
    /// the AES key schedule, then per 64 KiB segment its nonce and one AES-256-GCM encryption in place with the
    /// header as AAD, and the tag appended. The plaintext is already where the ciphertext goes (in place): the
    /// lower bound of any API.
    pub(super) fn encrypt_bare(iterations: usize) {
        let mut rng = rng();
        let key = BackupKey::generate(&mut rng);
        let plaintext = plaintext();
        let mut buffer = plaintext.clone();
        let mut tags = Vec::with_capacity(16 * TAG);
        run(iterations, |measure| {
            buffer.copy_from_slice(&plaintext);
            tags.clear();
            region(measure, || {
                let mut header = [0u8; HEADER_LEN];
                header[..2].copy_from_slice(&[1, 0x41]);
                rng.fill_bytes(&mut header[2..]);
                let (aead, prefix) = file_cipher(&key, &header);
                let segments = buffer.len().div_ceil(SEGMENT_SIZE);
                for (index, segment) in buffer.chunks_mut(SEGMENT_SIZE).enumerate() {
                    let nonce = nonce(prefix, index, index + 1 == segments);
                    let tag = aead
                        .encrypt_in_place_detached(Nonce::from_slice(&nonce), &header, segment)
                        .expect("within limits");
                    tags.extend_from_slice(&tag);
                }
            });
        });
    }

    /// The same file with [`SegmentEncryptor`], in place in the buffer like the bare side.
    pub(super) fn encrypt_in_place_ours(iterations: usize) {
        let mut rng = rng();
        let key = BackupKey::generate(&mut rng);
        let plaintext = plaintext();
        let mut buffer = plaintext.clone();
        let mut tags = Vec::with_capacity(16 * TAG);
        run(iterations, |measure| {
            buffer.copy_from_slice(&plaintext);
            tags.clear();
            region(measure, || {
                let (mut encryptor, _header) = SegmentEncryptor::new(&key, &mut rng);
                let (inner, last) = buffer.split_at_mut(LEN - SEGMENT_SIZE);
                for segment in inner.chunks_exact_mut(SEGMENT_SIZE) {
                    let segment: &mut [u8; SEGMENT_SIZE] = segment.try_into().expect("full segment");
                    tags.extend_from_slice(&encryptor.encrypt_in_place(segment).expect("within limits"));
                }
                tags.extend_from_slice(&encryptor.finish_in_place(last).expect("within limits"));
            });
        });
    }

    /// The same file with [`SegmentDecryptor`], in place in a copy of the file like the bare side.
    pub(super) fn decrypt_in_place_ours(iterations: usize) {
        let (key, file) = file();
        let mut buffer = file.clone();
        run(iterations, |measure| {
            buffer.copy_from_slice(&file);
            region(measure, || {
                let (header, body) = buffer.split_at_mut(HEADER_LEN);
                let mut decryptor = SegmentDecryptor::new(&key, header).expect("header");
                let (inner, last) = body.split_at_mut(body.len() - SEGMENT_SIZE - TAG);
                for segment in inner.chunks_exact_mut(SEGMENT_SIZE + TAG) {
                    let (data, tag) = segment.split_at_mut(SEGMENT_SIZE);
                    let data: &mut [u8; SEGMENT_SIZE] = data.try_into().expect("full segment");
                    decryptor
                        .decrypt_in_place(data, (&*tag).try_into().expect("tag"))
                        .expect("authentic");
                }
                let (data, tag) = last.split_at_mut(SEGMENT_SIZE);
                decryptor
                    .finish_in_place(data, (&*tag).try_into().expect("tag"))
                    .expect("complete");
            });
        });
    }

    fn file_cipher(key: &BackupKey, header: &[u8; HEADER_LEN]) -> (Aes256Gcm, [u8; 7]) {
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(&header[2..]), key.expose_secret());
        let mut file_key = [0u8; 32];
        let mut prefix = [0u8; 7];
        hkdf.expand(STREAM_FILE_KEY_INFO, &mut file_key).expect("valid");
        hkdf.expand(STREAM_NONCE_PREFIX_INFO, &mut prefix).expect("valid");
        (Aes256Gcm::new(&file_key.into()), prefix)
    }

    fn nonce(prefix: [u8; 7], index: usize, last: bool) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&prefix);
        nonce[7..11].copy_from_slice(&(index as u32).to_be_bytes());
        nonce[11] = u8::from(last);
        nonce
    }

    fn file() -> (BackupKey, Vec<u8>) {
        let mut rng = rng();
        let key = BackupKey::generate(&mut rng);
        let (mut encryptor, header) = StreamEncryptor::new(&key, &mut rng);
        let mut file = header.to_vec();
        encryptor.update(&plaintext(), &mut file).expect("within limits");
        encryptor.finish(&mut file).expect("within limits");
        (key, file)
    }

    /// One file: `StreamDecryptor` over the whole file slice into a pre-allocated output buffer.
    pub(super) fn decrypt_ours(iterations: usize) {
        let (key, file) = file();
        let mut out = Vec::with_capacity(LEN);
        run(iterations, |measure| {
            out.clear();
            region(measure, || {
                let mut decryptor = StreamDecryptor::new(&key);
                decryptor.update(&file, &mut out).expect("authentic");
                decryptor.finish(&mut out).expect("complete");
            });
        });
        assert_eq!(out.len(), LEN);
    }

    /// The bare work of opening the same file: HKDF and key schedule from the header's salt, then per segment its
    /// nonce and one AES-256-GCM decryption in place (a copy of the file made before the measured region).
    pub(super) fn decrypt_bare(iterations: usize) {
        let (key, file) = file();
        let mut buffer = file.clone();
        run(iterations, |measure| {
            buffer.copy_from_slice(&file);
            region(measure, || {
                let header: [u8; HEADER_LEN] = buffer[..HEADER_LEN].try_into().expect("header");
                let (aead, prefix) = file_cipher(&key, &header);
                let body = &mut buffer[HEADER_LEN..];
                let segments = body.len().div_ceil(SEGMENT_SIZE + TAG);
                for (index, segment) in body.chunks_mut(SEGMENT_SIZE + TAG).enumerate() {
                    let nonce = nonce(prefix, index, index + 1 == segments);
                    let (data, tag) = segment.split_at_mut(segment.len() - TAG);
                    aead.decrypt_in_place_detached(Nonce::from_slice(&nonce), &header, data, Tag::from_slice(tag))
                        .expect("authentic");
                }
            });
        });
    }
}

mod contacts {
    //! ipls's contact sealing against bare AES-256-GCM doing the same work per record.

    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
    use ipls::{AccountId, ContactId, ContactKey, ContactSealer};
    use rand_core::RngCore;

    use super::{region, rng, run};

    /// Records per run (one iteration = all of them).
    const RECORDS: usize = 100;
    const ACCOUNT: &[u8] = b"alice";

    struct Fixture {
        ids: Vec<ContactId>,
        records: Vec<Vec<u8>>,
    }

    /// ~50-byte JSON contacts, as in `ipls/benches/sealing.rs`.
    fn fixture() -> Fixture {
        Fixture {
            ids: (0..RECORDS)
                .map(|index| ContactId::new(format!("contact-{index:05}").into_bytes()).expect("valid"))
                .collect(),
            records: (0..RECORDS)
                .map(|index| {
                    format!("{{\"name\":\"Contact number {index}\",\"phone\":\"+1555{index:07}\"}}").into_bytes()
                })
                .collect(),
        }
    }

    /// The account's part of every AAD, `CONTACT_AAD || version || len8(account) || account`, made once per account
    /// as ipls's sealer makes it.
    fn aad_prefix() -> Vec<u8> {
        [ipls::CONTACT_AAD, &[1, ACCOUNT.len() as u8], ACCOUNT].concat()
    }

    /// Runs `f` on a record's AAD, `prefix || len8(contact) || contact`, built on the stack: it holds the contact
    /// id, so any implementation builds it per record.
    fn with_aad<T>(prefix: &[u8], id: &ContactId, f: impl FnOnce(&[u8]) -> T) -> T {
        let id = id.as_bytes();
        let mut aad = [0u8; 128];
        aad[..prefix.len()].copy_from_slice(prefix);
        aad[prefix.len()] = id.len() as u8;
        aad[prefix.len() + 1..prefix.len() + 1 + id.len()].copy_from_slice(id);
        f(&aad[..prefix.len() + 1 + id.len()])
    }

    fn sealer() -> ContactSealer {
        ContactSealer::new(
            &ContactKey::generate(&mut rng()),
            &AccountId::new(ACCOUNT.to_vec()).expect("valid"),
        )
    }

    /// Per record: `ContactSealer::seal` (random nonce, AAD, a new buffer for the sealed record).
    pub(super) fn seal_ours(iterations: usize) {
        let fixture = fixture();
        let sealer = sealer();
        let mut rng = rng();
        let mut sealed_records = Vec::with_capacity(RECORDS);
        run(iterations, |measure| {
            sealed_records.clear();
            for (id, record) in fixture.ids.iter().zip(&fixture.records) {
                sealed_records.push(region(measure, || sealer.seal(&mut rng, id, record)));
            }
        });
    }

    /// Per record: a random nonce, a new buffer holding `version || type || nonce || record`, AES-256-GCM in place
    /// with the record's AAD, the tag appended.
    pub(super) fn seal_bare(iterations: usize) {
        let fixture = fixture();
        let aead = Aes256Gcm::new(&[7u8; 32].into());
        let prefix = aad_prefix();
        let mut rng = rng();
        let mut sealed_records = Vec::with_capacity(RECORDS);
        run(iterations, |measure| {
            sealed_records.clear();
            for (id, record) in fixture.ids.iter().zip(&fixture.records) {
                sealed_records.push(region(measure, || {
                    let mut out = Vec::with_capacity(record.len() + 30);
                    out.extend_from_slice(&[1, 0x71]);
                    let mut nonce = [0u8; 12];
                    rng.fill_bytes(&mut nonce);
                    out.extend_from_slice(&nonce);
                    out.extend_from_slice(record);
                    let tag = with_aad(&prefix, id, |aad| {
                        aead.encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[14..])
                    })
                    .expect("short");
                    out.extend_from_slice(&tag);
                    out
                }));
            }
        });
    }

    /// Per record: `ContactSealer::open` of a stored record into a new plaintext buffer, dropped (zeroized) after.
    pub(super) fn open_ours(iterations: usize) {
        let fixture = fixture();
        let sealer = sealer();
        let mut rng = rng();
        let stored_records: Vec<Vec<u8>> = fixture
            .ids
            .iter()
            .zip(&fixture.records)
            .map(|(id, record)| sealer.seal(&mut rng, id, record))
            .collect();
        run(iterations, |measure| {
            for (id, stored) in fixture.ids.iter().zip(&stored_records) {
                region(measure, || {
                    let record = sealer.open(id, stored).expect("authentic");
                    record.len()
                });
            }
        });
    }

    /// Per record: the plaintext copied out of the stored record into a new buffer and decrypted there in place
    /// with the record's AAD (the stored record stays intact, as on a server), wiped when dropped, as ipls's
    /// `open` returns it (`Zeroizing`: contacts are personal data).
    pub(super) fn open_bare(iterations: usize) {
        let fixture = fixture();
        let aead = Aes256Gcm::new(&[7u8; 32].into());
        let prefix = aad_prefix();
        let mut rng = rng();
        let stored_records: Vec<Vec<u8>> = fixture
            .ids
            .iter()
            .zip(&fixture.records)
            .map(|(id, record)| {
                let mut nonce = [0u8; 12];
                rng.fill_bytes(&mut nonce);
                let mut out = [&[1, 0x71], &nonce[..], record].concat();
                let tag = with_aad(&prefix, id, |aad| {
                    aead.encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[14..])
                })
                .expect("short");
                out.extend_from_slice(&tag);
                out
            })
            .collect();
        run(iterations, |measure| {
            for (id, stored) in fixture.ids.iter().zip(&stored_records) {
                region(measure, || {
                    let (body, tag) = stored[14..].split_at(stored.len() - 30);
                    let mut record = zeroize::Zeroizing::new(body.to_vec());
                    with_aad(&prefix, id, |aad| {
                        aead.decrypt_in_place_detached(
                            Nonce::from_slice(&stored[2..14]),
                            aad,
                            &mut record,
                            Tag::from_slice(tag),
                        )
                    })
                    .expect("authentic");
                    record.len()
                });
            }
        });
    }
}

mod fleet {
    //! fleet-bundle's verification against its cryptographic floor (`fleet-bundle/benches/verify.rs`).

    use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
    use fleet_bundle::{
        Bundle, BundleVerifier, FleetId, FleetKey, KeySet, OperatorSigner, Role, TrustAnchors, UnixSeconds,
        ValidityWindow, WitnessSigner, context,
    };
    use sha2::{Digest, Sha256};

    use super::{region, run};

    const NOW: UnixSeconds = UnixSeconds(1_700_000_100);

    struct Case {
        verifier: BundleVerifier,
        wire: Vec<u8>,
        witness: VerifyingKey,
        operator: VerifyingKey,
        witness_message: Vec<u8>,
        operator_message: Vec<u8>,
        witness_signature: Signature,
        operator_signature: Signature,
        body: Vec<u8>,
    }

    /// A signed bundle of 16 keys, `response_signing` of them Ed25519 response-signing keys.
    fn case(response_signing: usize) -> Case {
        let fleet = FleetId::new("eu-west-1.backup-vault").expect("valid id");
        let keys = KeySet::new((0..16u8).map(|i| {
            let public_key = SigningKey::from_bytes(&[i + 10; 32]).verifying_key().to_bytes();
            let role = if usize::from(i) < response_signing {
                Role::ResponseSigning
            } else if i % 2 == 0 {
                Role::OpaqueServer
            } else {
                Role::IplsSession
            };
            FleetKey::new(public_key, role).expect("strong key")
        }))
        .expect("distinct");
        let bundle = Bundle::new(
            fleet.clone(),
            1_234,
            ValidityWindow::new(UnixSeconds(1_700_000_000), UnixSeconds(1_700_604_800)).expect("window"),
            keys,
        );
        let witness = WitnessSigner::new(SigningKey::from_bytes(&[1; 32]));
        let operator = OperatorSigner::new(SigningKey::from_bytes(&[2; 32]), witness.verifying_key().as_bytes())
            .expect("distinct keys");
        let body = bundle.to_bytes();
        let witness_signature = witness.sign_bundle(&bundle);
        let signed = operator
            .countersign_bundle(bundle, &witness_signature)
            .expect("valid witness signature");
        let anchors = TrustAnchors::new(
            fleet,
            witness.verifying_key().as_bytes(),
            operator.verifying_key().as_bytes(),
        )
        .expect("strong keys");
        Case {
            verifier: BundleVerifier::new(anchors),
            wire: signed.to_bytes(),
            witness: witness.verifying_key(),
            operator: operator.verifying_key(),
            witness_message: [context::BUNDLE_WITNESS, &body].concat(),
            operator_message: [context::BUNDLE_OPERATOR, &body, &witness_signature.to_bytes()].concat(),
            witness_signature: Signature::from_bytes(&witness_signature.to_bytes()),
            operator_signature: Signature::from_bytes(signed.operator_signature()),
            body,
        }
    }

    /// `BundleVerifier::verify` from the wire bytes.
    pub(super) fn ours(response_signing: usize, iterations: usize) {
        let case = case(response_signing);
        run(iterations, |measure| {
            let verified = region(measure, || case.verifier.verify(&case.wire, NOW, None));
            assert!(verified.is_ok());
        });
    }

    /// Two bare `verify_strict` (witness and operator messages, pre-built) and one SHA-256 of the body.
    pub(super) fn bare(response_signing: usize, iterations: usize) {
        let case = case(response_signing);
        run(iterations, |measure| {
            let (valid, _digest) = region(measure, || {
                let witness = case
                    .witness
                    .verify_strict(&case.witness_message, &case.witness_signature);
                let operator = case
                    .operator
                    .verify_strict(&case.operator_message, &case.operator_signature);
                (witness.is_ok() && operator.is_ok(), Sha256::digest(&case.body))
            });
            assert!(valid);
        });
    }
}

mod kt {
    //! kt-verify's lookup (with the witness signature) and audit against bare akd (`kt-verify/benches/verify.rs`),
    //! on `test_vectors::kt_bench`'s directory.

    use std::path::Path;

    use akd::WhatsAppV1Configuration;
    use ed25519_dalek::{Signature, Signer, SigningKey};
    use kt_verify::{
        Ciphersuite, SignedRoot, WhatsAppChainAuditor, WhatsAppDirectoryVerifier, WitnessKey, WitnessVerifier,
    };
    use protobuf::Message;
    use test_vectors::kt_bench::{Fixture, akd_audit_verify, label, runtime};

    use super::{region, run};

    type Tc = WhatsAppV1Configuration;

    const NOW_MS: u64 = 1_800_000_000_000;
    /// Labels in the directory's first epoch, as in the criterion bench.
    const LABELS: usize = 10_000;
    /// New labels in the audited epoch.
    const UPDATES: usize = 1_000;

    /// Builds the directory (10 000 labels in epoch 1, one update in epoch 2, 1000 new labels in epoch 3) and
    /// writes the fixture.
    pub(super) fn write_fixture(path: &Path) {
        Fixture::build(LABELS, UPDATES).write(path);
    }

    /// The witness's signed root of the fixture's epoch, its verifier, and the bytes it signed.
    fn witness(fixture: &Fixture) -> (SignedRoot, WitnessVerifier, Vec<u8>, ed25519_dalek::VerifyingKey) {
        let witness = SigningKey::from_bytes(&[7; 32]);
        let key = WitnessKey::new(witness.verifying_key().to_bytes(), 0).expect("key");
        let verifier = WitnessVerifier::new("kt.bench", [key], 60_000).expect("verifier");
        let suite = Ciphersuite::ProtobufEd25519;
        let unsigned = SignedRoot::new(
            suite,
            "kt.bench",
            NOW_MS,
            fixture.epoch,
            fixture.root,
            [0; 64],
            key.key_id(),
        );
        let message = unsigned.signed_message();
        let signature = witness.sign(&message).to_bytes();
        let signed = SignedRoot::new(
            suite,
            "kt.bench",
            NOW_MS,
            fixture.epoch,
            fixture.root,
            signature,
            key.key_id(),
        );
        (signed, verifier, message, witness.verifying_key())
    }

    /// `WitnessVerifier::verify` of the root, then `DirectoryVerifier::verify_lookup` from the protobuf bytes.
    pub(super) fn lookup_ours(fixture: &Path, iterations: usize) {
        let fixture = Fixture::read(fixture);
        let (signed, witnesses, _, _) = witness(&fixture);
        let directory = WhatsAppDirectoryVerifier::new(&fixture.vrf_public_key).expect("vrf key");
        let user = label(0).0;
        run(iterations, |measure| {
            region(measure, || {
                let root = witnesses.verify(&signed, NOW_MS).expect("witness");
                directory.verify_lookup(&root, &user, &fixture.lookup).expect("lookup")
            });
        });
    }

    /// One strict Ed25519 verification of the witness signature (over the pre-built message), then akd's
    /// protobuf decoding of the same bytes and `akd_core::verify::lookup_verify`.
    pub(super) fn lookup_bare(fixture: &Path, iterations: usize) {
        let fixture = Fixture::read(fixture);
        let (signed, _, message, key) = witness(&fixture);
        let signature = Signature::from_bytes(signed.signature());
        run(iterations, |measure| {
            region(measure, || {
                key.verify_strict(&message, &signature).expect("witness");
                let decoded =
                    akd::proto::specs::types::LookupProof::parse_from_bytes(&fixture.lookup).expect("protobuf");
                let proof = akd::LookupProof::try_from(&decoded).expect("convert");
                akd::verify::lookup_verify::<Tc>(&fixture.vrf_public_key, fixture.root, fixture.epoch, label(0), proof)
                    .expect("lookup")
            });
        });
    }

    /// `ChainAuditor::verify_blob` on the 1000-update blob, a new auditor (and its runtime) per run, built outside
    /// the measured region.
    pub(super) fn audit_ours(fixture: &Path, iterations: usize) {
        let fixture = Fixture::read(fixture);
        let name = fixture.audit_name();
        run(iterations, |measure| {
            let mut auditor = WhatsAppChainAuditor::new().expect("runtime");
            region(measure, || {
                auditor.verify_blob(&name, &fixture.audit).expect("audit");
            });
        });
    }

    /// akd's own audit verification of the same blob (`kt_bench::akd_audit_verify`: protobuf decoding, conversion,
    /// `akd::auditor::audit_verify`) on a current-thread runtime built outside the measured region.
    pub(super) fn audit_bare(fixture: &Path, iterations: usize) {
        let fixture = Fixture::read(fixture);
        run(iterations, |measure| {
            let runtime = runtime();
            region(measure, || {
                akd_audit_verify(
                    &runtime,
                    &fixture.audit,
                    fixture.epoch,
                    fixture.previous_root,
                    fixture.root,
                )
                .expect("audit");
            });
        });
    }
}

/// The cases, in the order the script prints them.
const CASES: &[&str] = &[
    "vault-login",
    "register-retrieve",
    "kt-lookup",
    "kt-audit",
    "fleet-verify-4",
    "fleet-verify-16",
    "ipls-seal",
    "ipls-open",
    "stream-encrypt",
    "stream-decrypt",
    "stream-encrypt-in-place",
    "stream-decrypt-in-place",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let usage = || {
        eprintln!("usage: instruction_counts <case> <ours|bare> <iterations> [kt fixture] | kt-fixture <path> | list");
        ExitCode::from(2)
    };
    match args[..] {
        ["list"] => {
            for case in CASES {
                println!("{case}");
            }
        }
        ["kt-fixture", path] => kt::write_fixture(path.as_ref()),
        [case, side, iterations, ref rest @ ..] if rest.len() <= 1 => {
            let Ok(n) = iterations.parse::<usize>() else {
                return usage();
            };
            let fixture = rest.first().map(std::path::Path::new);
            let ours = match side {
                "ours" => true,
                "bare" => false,
                _ => return usage(),
            };
            let pick = |ours_fn: fn(usize), bare_fn: fn(usize)| if ours { ours_fn(n) } else { bare_fn(n) };
            match (case, fixture) {
                ("vault-login", None) => pick(backup::vault_login_ours, backup::vault_login_bare),
                ("register-retrieve", None) => pick(backup::register_retrieve_ours, backup::register_retrieve_bare),
                ("kt-lookup", Some(path)) => {
                    if ours {
                        kt::lookup_ours(path, n);
                    } else {
                        kt::lookup_bare(path, n);
                    }
                }
                ("kt-audit", Some(path)) => {
                    if ours {
                        kt::audit_ours(path, n);
                    } else {
                        kt::audit_bare(path, n);
                    }
                }
                ("fleet-verify-4", None) => pick(|n| fleet::ours(4, n), |n| fleet::bare(4, n)),
                ("fleet-verify-16", None) => pick(|n| fleet::ours(16, n), |n| fleet::bare(16, n)),
                ("ipls-seal", None) => pick(contacts::seal_ours, contacts::seal_bare),
                ("ipls-open", None) => pick(contacts::open_ours, contacts::open_bare),
                ("stream-encrypt", None) => pick(stream::encrypt_ours, stream::encrypt_bare),
                ("stream-decrypt", None) => pick(stream::decrypt_ours, stream::decrypt_bare),
                ("stream-encrypt-in-place", None) => pick(stream::encrypt_in_place_ours, stream::encrypt_bare),
                ("stream-decrypt-in-place", None) => pick(stream::decrypt_in_place_ours, stream::decrypt_bare),
                _ => return usage(),
            }
        }
        _ => return usage(),
    }
    ExitCode::SUCCESS
}
