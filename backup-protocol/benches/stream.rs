//! Streaming encryption of 64 MiB vs one single-shot AES-256-GCM call over the same bytes, same run.
//!
//! `cargo bench -p backup-protocol --bench stream`

use aes_gcm::aead::{Aead, AeadInPlace};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use backup_protocol::{BackupKey, StreamDecryptor, StreamEncryptor};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

const LEN: usize = 64 << 20;

fn stream(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let key = BackupKey::generate(&mut rng);
    let mut plaintext = vec![0u8; LEN];
    rng.fill_bytes(&mut plaintext);
    let mut out = Vec::with_capacity(LEN + LEN / 1000);

    let mut group = c.benchmark_group("encrypt 64 MiB");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(LEN as u64));
    group.bench_function("backup-protocol stream", |b| {
        b.iter(|| {
            out.clear();
            let (mut encryptor, header) = StreamEncryptor::new(&key, &mut rng);
            out.extend_from_slice(&header);
            encryptor.update(&plaintext, &mut out).unwrap();
            encryptor.finish(&mut out).unwrap();
        });
    });
    let aead = Aes256Gcm::new(key.expose_secret().into());
    let mut buffer = plaintext.clone();
    group.bench_function("aes-gcm single shot", |b| {
        b.iter(|| {
            aead.encrypt_in_place_detached(Nonce::from_slice(&[0; 12]), b"", &mut buffer)
                .unwrap()
        });
    });
    // The same shape as the stream's API (input slice in, new ciphertext buffer out): `Aead::encrypt` allocates.
    group.bench_function("aes-gcm single shot, slice to new Vec", |b| {
        b.iter(|| aead.encrypt(Nonce::from_slice(&[0; 12]), plaintext.as_slice()).unwrap());
    });
    group.finish();

    let (mut encryptor, header) = StreamEncryptor::new(&key, &mut rng);
    let mut file = header.to_vec();
    encryptor.update(&plaintext, &mut file).unwrap();
    encryptor.finish(&mut file).unwrap();
    let mut group = c.benchmark_group("decrypt 64 MiB");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(LEN as u64));
    group.bench_function("backup-protocol stream", |b| {
        b.iter(|| {
            out.clear();
            let mut decryptor = StreamDecryptor::new(&key);
            decryptor.update(&file, &mut out).unwrap();
            decryptor.finish(&mut out).unwrap();
        });
    });
    let mut ciphertext = plaintext.clone();
    let tag = aead
        .encrypt_in_place_detached(Nonce::from_slice(&[0; 12]), b"", &mut ciphertext)
        .unwrap();
    group.bench_function("aes-gcm single shot", |b| {
        // The copy into a fresh buffer is set-up, not timed: the stream's decryption pays for its own copy.
        b.iter_batched_ref(
            || ciphertext.clone(),
            |buffer| {
                aead.decrypt_in_place_detached(Nonce::from_slice(&[0; 12]), b"", buffer, &tag)
                    .unwrap();
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, stream);
criterion_main!(benches);
