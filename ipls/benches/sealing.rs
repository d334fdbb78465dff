//! Sealing and opening 10,000 contact records vs bare AES-256-GCM on the same sizes, same run.
//!
//! `cargo bench -p ipls`

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipls::{AccountId, ContactId, ContactKey, ContactSealer};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

const CONTACTS: usize = 10_000;

fn sealing(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let records: Vec<Vec<u8>> = (0..CONTACTS)
        .map(|index| format!("{{\"name\":\"Contact number {index}\",\"phone\":\"+1555{index:07}\"}}").into_bytes())
        .collect();
    let ids: Vec<ContactId> = (0..CONTACTS)
        .map(|index| ContactId::new(format!("contact-{index:05}").into_bytes()).unwrap())
        .collect();
    let sealer = ContactSealer::new(
        &ContactKey::generate(&mut rng),
        &AccountId::new(b"alice".to_vec()).unwrap(),
    );
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    let aead = Aes256Gcm::new(&key.into());
    let bytes: usize = records.iter().map(Vec::len).sum();

    let mut group = c.benchmark_group("seal + open 10,000 contacts");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("ipls ContactSealer", |b| {
        b.iter(|| {
            for (id, record) in ids.iter().zip(&records) {
                let boxed = sealer.seal(&mut rng, id, record);
                assert_eq!(sealer.open(id, &boxed).unwrap().len(), record.len());
            }
        });
    });
    // The same work with the raw dependency: per record a random nonce, an AAD of the same length as ipls's
    // (built before timing), a new buffer for the sealed record and one for the plaintext (the stored record
    // stays intact, as it must on a server).
    let aads: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| {
            [
                b"ipls/v1/contact\x01\x05alice".as_slice(),
                &[id.as_bytes().len() as u8],
                id.as_bytes(),
            ]
            .concat()
        })
        .collect();
    group.bench_function("bare aes-gcm (same AAD length, new buffers)", |b| {
        b.iter(|| {
            for (record, aad) in records.iter().zip(&aads) {
                let mut nonce = [0u8; 12];
                rng.fill_bytes(&mut nonce);
                let mut stored = Vec::with_capacity(record.len() + 28);
                stored.extend_from_slice(&nonce);
                stored.extend_from_slice(record);
                let tag = aead
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut stored[12..])
                    .unwrap();
                stored.extend_from_slice(&tag);
                let (body, tag) = stored[12..].split_at(record.len());
                let mut plaintext = body.to_vec();
                aead.decrypt_in_place_detached(Nonce::from_slice(&stored[..12]), aad, &mut plaintext, tag.into())
                    .unwrap();
                assert_eq!(plaintext.len(), record.len());
            }
        });
    });
    // A lower bound, not the same work: in place, one buffer, a 16-byte AAD.
    group.bench_function("bare aes-gcm (in place, 16-byte aad)", |b| {
        b.iter(|| {
            for record in &records {
                let mut nonce = [0u8; 12];
                rng.fill_bytes(&mut nonce);
                let mut buffer = record.clone();
                let tag = aead
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"contact-00000000", &mut buffer)
                    .unwrap();
                aead.decrypt_in_place_detached(Nonce::from_slice(&nonce), b"contact-00000000", &mut buffer, &tag)
                    .unwrap();
                assert_eq!(buffer.len(), record.len());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, sealing);
criterion_main!(benches);
