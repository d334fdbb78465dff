//! Streaming backup-file encryption: round trips at every boundary, and every way of cutting, moving or extending
//! a file rejected.

use std::io::{Read, Write};

use backup_protocol::{
    BackupKey, DecryptingReader, EncryptingWriter, HEADER_LEN, SEGMENT_SIZE, SegmentDecryptor, SegmentEncryptor,
    StreamDecryptor, StreamEncryptor, StreamError,
};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

const SEGMENT_CIPHERTEXT: usize = SEGMENT_SIZE + 16;

fn plaintext(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

/// Encrypts `data`, feeding it in chunks of `chunk` bytes.
fn encrypt(key: &BackupKey, rng: &mut StdRng, data: &[u8], chunk: usize) -> Vec<u8> {
    let (mut encryptor, header) = StreamEncryptor::new(key, rng);
    let mut out = header.to_vec();
    for piece in data.chunks(chunk.max(1)) {
        encryptor.update(piece, &mut out).unwrap();
    }
    encryptor.finish(&mut out).unwrap();
    out
}

fn decrypt(key: &BackupKey, file: &[u8], chunk: usize) -> Result<Vec<u8>, StreamError> {
    let mut decryptor = StreamDecryptor::new(key);
    let mut out = Vec::new();
    for piece in file.chunks(chunk.max(1)) {
        decryptor.update(piece, &mut out)?;
    }
    decryptor.finish(&mut out)?;
    Ok(out)
}

/// The byte ranges of each segment in an encrypted file.
fn segments(file: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = HEADER_LEN;
    while start < file.len() {
        let end = (start + SEGMENT_CIPHERTEXT).min(file.len());
        ranges.push(start..end);
        start = end;
    }
    ranges
}

#[test]
fn round_trips_at_every_segment_boundary_and_chunking() {
    let mut rng = StdRng::seed_from_u64(1);
    let key = BackupKey::generate(&mut rng);
    for len in [
        0,
        1,
        15,
        16,
        17,
        SEGMENT_SIZE - 1,
        SEGMENT_SIZE,
        SEGMENT_SIZE + 1,
        2 * SEGMENT_SIZE,
        3 * SEGMENT_SIZE + 5,
    ] {
        let data = plaintext(len, len as u64);
        for chunk in [1000, 4096, SEGMENT_SIZE, SEGMENT_SIZE + 1, 1 << 20] {
            let file = encrypt(&key, &mut rng, &data, chunk);
            let segments = len.div_ceil(SEGMENT_SIZE).max(1);
            assert_eq!(file.len(), HEADER_LEN + len + 16 * segments, "len {len}");
            for read_chunk in [1 << 20, 7777, SEGMENT_CIPHERTEXT] {
                assert_eq!(
                    decrypt(&key, &file, read_chunk).unwrap(),
                    data,
                    "len {len} chunk {chunk}"
                );
            }
        }
    }
}

#[test]
fn byte_at_a_time_round_trip() {
    let mut rng = StdRng::seed_from_u64(2);
    let key = BackupKey::generate(&mut rng);
    let data = plaintext(SEGMENT_SIZE + 300, 2);
    let file = encrypt(&key, &mut rng, &data, 1);
    assert_eq!(decrypt(&key, &file, 1).unwrap(), data);
}

#[test]
fn truncation_anywhere_is_rejected() {
    let mut rng = StdRng::seed_from_u64(3);
    let key = BackupKey::generate(&mut rng);
    let data = plaintext(3 * SEGMENT_SIZE + 100, 3);
    let file = encrypt(&key, &mut rng, &data, 1 << 20);
    let mut cuts: Vec<usize> = vec![
        0,
        1,
        HEADER_LEN - 1,
        HEADER_LEN,
        HEADER_LEN + 1,
        file.len() - 1,
        file.len() - 16,
    ];
    for range in segments(&file) {
        cuts.extend([range.start, range.end - 1, range.start + 16]);
    }
    for cut in cuts.into_iter().filter(|&cut| cut < file.len()) {
        let result = decrypt(&key, &file[..cut], 1 << 20);
        assert!(
            matches!(
                result,
                Err(StreamError::Truncated | StreamError::SegmentRejected { .. } | StreamError::Header(_))
            ),
            "cut at {cut}: {result:?}"
        );
    }
}

#[test]
fn dropping_the_final_segment_at_a_boundary_is_rejected() {
    let mut rng = StdRng::seed_from_u64(4);
    let key = BackupKey::generate(&mut rng);
    // Three full segments: the file ends exactly on a boundary, the hardest case for truncation detection.
    let file = encrypt(&key, &mut rng, &plaintext(3 * SEGMENT_SIZE, 4), 1 << 20);
    let ranges = segments(&file);
    assert_eq!(ranges.len(), 3);
    let without_last = &file[..ranges[2].start];
    assert_eq!(
        decrypt(&key, without_last, 1 << 20),
        Err(StreamError::SegmentRejected { index: 1 })
    );
}

#[test]
fn reordered_segments_are_rejected() {
    let mut rng = StdRng::seed_from_u64(5);
    let key = BackupKey::generate(&mut rng);
    let file = encrypt(&key, &mut rng, &plaintext(3 * SEGMENT_SIZE + 1, 5), 1 << 20);
    let ranges = segments(&file);
    let mut swapped = file[..HEADER_LEN].to_vec();
    swapped.extend_from_slice(&file[ranges[1].clone()]);
    swapped.extend_from_slice(&file[ranges[0].clone()]);
    swapped.extend_from_slice(&file[ranges[2].start..]);
    assert_eq!(
        decrypt(&key, &swapped, 1 << 20),
        Err(StreamError::SegmentRejected { index: 0 })
    );
}

#[test]
fn segments_from_another_file_under_the_same_key_are_rejected() {
    let mut rng = StdRng::seed_from_u64(6);
    let key = BackupKey::generate(&mut rng);
    let data = plaintext(2 * SEGMENT_SIZE + 9, 6);
    let first = encrypt(&key, &mut rng, &data, 1 << 20);
    let second = encrypt(&key, &mut rng, &data, 1 << 20);
    let ranges = segments(&first);
    let mut mixed = first.clone();
    mixed[ranges[1].clone()].copy_from_slice(&second[ranges[1].clone()]);
    assert_eq!(
        decrypt(&key, &mixed, 1 << 20),
        Err(StreamError::SegmentRejected { index: 1 })
    );
    // The second file's header with the first file's body.
    let mut rehead = second[..HEADER_LEN].to_vec();
    rehead.extend_from_slice(&first[HEADER_LEN..]);
    assert_eq!(
        decrypt(&key, &rehead, 1 << 20),
        Err(StreamError::SegmentRejected { index: 0 })
    );
}

#[test]
fn appended_data_is_rejected() {
    let mut rng = StdRng::seed_from_u64(7);
    let key = BackupKey::generate(&mut rng);
    for len in [0, 10, SEGMENT_SIZE, SEGMENT_SIZE + 10] {
        let file = encrypt(&key, &mut rng, &plaintext(len, 7), 1 << 20);
        let last = segments(&file).pop().unwrap();
        for extra in [
            vec![0u8],
            vec![0u8; 16],
            file[last.clone()].to_vec(),
            plaintext(SEGMENT_CIPHERTEXT + 1, 8),
        ] {
            let mut extended = file.clone();
            extended.extend_from_slice(&extra);
            assert!(
                matches!(
                    decrypt(&key, &extended, 1 << 20),
                    Err(StreamError::SegmentRejected { .. })
                ),
                "len {len}, {} extra bytes",
                extra.len()
            );
        }
    }
}

#[test]
fn every_flip_of_a_small_file_and_a_wrong_key_are_rejected() {
    let mut rng = StdRng::seed_from_u64(9);
    let key = BackupKey::generate(&mut rng);
    let file = encrypt(&key, &mut rng, b"a short backup", 1 << 20);
    for position in 0..file.len() {
        let mut flipped = file.clone();
        flipped[position] ^= 0x01;
        assert!(decrypt(&key, &flipped, 1 << 20).is_err(), "flip at {position}");
    }
    let other = BackupKey::generate(&mut rng);
    assert_eq!(
        decrypt(&other, &file, 1 << 20),
        Err(StreamError::SegmentRejected { index: 0 })
    );
}

#[test]
fn header_errors_are_typed_and_the_decryptor_stays_failed() {
    let key = BackupKey::from_bytes([9; 32]);
    let mut out = Vec::new();
    let mut decryptor = StreamDecryptor::new(&key);
    let mut bad_header = [0u8; HEADER_LEN];
    bad_header[0] = 2;
    bad_header[1] = 0x41;
    assert!(matches!(
        decryptor.update(&bad_header, &mut out),
        Err(StreamError::Header(_))
    ));
    assert_eq!(decryptor.update(&[0; 100], &mut out), Err(StreamError::Poisoned));
    assert_eq!(decryptor.finish(&mut out), Err(StreamError::Poisoned));
    assert!(out.is_empty());
}

#[test]
fn nothing_unauthenticated_reaches_the_output() {
    let mut rng = StdRng::seed_from_u64(10);
    let key = BackupKey::generate(&mut rng);
    let data = plaintext(2 * SEGMENT_SIZE + 1, 10);
    let mut file = encrypt(&key, &mut rng, &data, 1 << 20);
    let second = segments(&file)[1].clone();
    file[second.start + 5] ^= 1;
    let mut decryptor = StreamDecryptor::new(&key);
    let mut out = Vec::new();
    assert_eq!(
        decryptor.update(&file, &mut out),
        Err(StreamError::SegmentRejected { index: 1 })
    );
    assert_eq!(
        out,
        data[..SEGMENT_SIZE],
        "only the authenticated first segment was released"
    );
}

#[test]
fn io_adapters_round_trip_and_report_truncation_as_invalid_data() {
    let mut rng = StdRng::seed_from_u64(11);
    let key = BackupKey::generate(&mut rng);
    let data = plaintext(5 * SEGMENT_SIZE / 2, 11);
    let mut writer = EncryptingWriter::new(Vec::new(), &key, &mut rng).unwrap();
    let mut rest = data.as_slice();
    while !rest.is_empty() {
        let take = rng.gen_range(1..=rest.len().min(100_000));
        writer.write_all(&rest[..take]).unwrap();
        rest = &rest[take..];
    }
    // The last write completes a segment, so the writer holds sealed bytes from it when `finish` runs.
    writer.write_all(&vec![0u8; SEGMENT_SIZE + 1]).unwrap();
    let file = writer.finish().unwrap();
    let mut data = data;
    data.extend_from_slice(&vec![0u8; SEGMENT_SIZE + 1]);

    let mut plain = Vec::new();
    DecryptingReader::new(file.as_slice(), &key)
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, data);

    let error = DecryptingReader::new(&file[..file.len() - 1], &key)
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    let inner = error.get_ref().and_then(|inner| inner.downcast_ref::<StreamError>());
    assert!(matches!(
        inner,
        Some(StreamError::SegmentRejected { .. } | StreamError::Truncated)
    ));
}

/// SPEC §8: the exact error of each malformed file, whatever the chunking.
#[test]
fn each_malformed_file_reports_its_exact_error() {
    use backup_protocol::DecodeError;
    let key = BackupKey::from_bytes([9; 32]);
    let mut rng = StdRng::seed_from_u64(8);
    let file = encrypt(&key, &mut rng, b"hello", 7);
    let with_byte = |offset: usize, value: u8| {
        let mut altered = file.clone();
        altered[offset] = value;
        altered
    };
    let cases: Vec<(&str, Vec<u8>, StreamError)> = vec![
        ("empty file", Vec::new(), StreamError::Header(DecodeError::Truncated)),
        (
            "version byte only",
            vec![1],
            StreamError::Header(DecodeError::Truncated),
        ),
        (
            "33 bytes of a good header",
            file[..HEADER_LEN - 1].to_vec(),
            StreamError::Header(DecodeError::Truncated),
        ),
        (
            "short file with a legacy version",
            vec![0],
            StreamError::Header(DecodeError::LegacyVersion { found: 0 }),
        ),
        (
            "short file with a wrong type",
            vec![1, 0x21, 0],
            StreamError::Header(DecodeError::WrongType {
                expected: 0x41,
                found: 0x21,
            }),
        ),
        (
            "legacy version",
            with_byte(0, 0),
            StreamError::Header(DecodeError::LegacyVersion { found: 0 }),
        ),
        (
            "unknown version",
            with_byte(0, 2),
            StreamError::Header(DecodeError::UnknownVersion { found: 2 }),
        ),
        (
            "unknown version and wrong type: the version is checked first",
            [&[0xff, 0x00][..], &file[2..]].concat(),
            StreamError::Header(DecodeError::UnknownVersion { found: 0xff }),
        ),
        (
            "wrong type",
            with_byte(1, 0x42),
            StreamError::Header(DecodeError::WrongType {
                expected: 0x41,
                found: 0x42,
            }),
        ),
        ("header only", file[..HEADER_LEN].to_vec(), StreamError::Truncated),
        (
            "15 bytes after the header",
            file[..HEADER_LEN + 15].to_vec(),
            StreamError::Truncated,
        ),
        (
            "last byte cut",
            file[..file.len() - 1].to_vec(),
            StreamError::SegmentRejected { index: 0 },
        ),
    ];
    for (what, bytes, expected) in cases {
        for chunk in [1, 5, 34, 1 << 20] {
            assert_eq!(decrypt(&key, &bytes, chunk), Err(expected), "{what}, chunks of {chunk}");
        }
    }
}

/// A file whose plaintext fills whole segments ends with a full final segment. An empty final segment (16 bytes)
/// after a full inner one is refused by its index, whatever its tag (the crate's own test seals one validly); and
/// 16 bytes appended to a canonical file make its final segment fail as an inner one.
#[test]
fn an_empty_final_segment_after_a_full_one_is_refused() {
    let key = BackupKey::from_bytes([9; 32]);
    let mut rng = StdRng::seed_from_u64(9);
    let two = encrypt(&key, &mut rng, &plaintext(SEGMENT_SIZE + 1, 1), 4096);
    let inner_then_empty = [&two[..HEADER_LEN + SEGMENT_CIPHERTEXT], &[0u8; 16][..]].concat();
    let one = encrypt(&key, &mut rng, &plaintext(SEGMENT_SIZE, 1), 4096);
    assert_eq!(one.len(), HEADER_LEN + SEGMENT_CIPHERTEXT);
    let appended = [one.as_slice(), &[0u8; 16]].concat();
    for chunk in [1000, 1 << 20] {
        assert_eq!(
            decrypt(&key, &inner_then_empty, chunk),
            Err(StreamError::SegmentRejected { index: 1 })
        );
        assert_eq!(
            decrypt(&key, &appended, chunk),
            Err(StreamError::SegmentRejected { index: 0 })
        );
    }
}

/// Encrypts `data` with [`SegmentEncryptor`], in place in segment-sized buffers.
fn encrypt_in_place(key: &BackupKey, rng: &mut StdRng, data: &[u8]) -> Vec<u8> {
    let (mut encryptor, header) = SegmentEncryptor::new(key, rng);
    let mut file = header.to_vec();
    // The last segment holds 1 to SEGMENT_SIZE bytes (none for an empty file).
    let inner = data.len().saturating_sub(1) / SEGMENT_SIZE;
    for chunk in data[..inner * SEGMENT_SIZE].chunks(SEGMENT_SIZE) {
        let mut segment: [u8; SEGMENT_SIZE] = chunk.try_into().unwrap();
        let tag = encryptor.encrypt_in_place(&mut segment).unwrap();
        file.extend_from_slice(&segment);
        file.extend_from_slice(&tag);
    }
    let mut last = data[inner * SEGMENT_SIZE..].to_vec();
    let tag = encryptor.finish_in_place(&mut last).unwrap();
    file.extend_from_slice(&last);
    file.extend_from_slice(&tag);
    file
}

/// Decrypts `file` with [`SegmentDecryptor`], cutting it as SPEC §8 says: the header, full segments while more
/// bytes follow, the rest as the last segment (fewer than 16 bytes: truncated).
fn decrypt_in_place(key: &BackupKey, file: &[u8]) -> Result<Vec<u8>, StreamError> {
    let mut file = file.to_vec();
    let header_len = HEADER_LEN.min(file.len());
    let (header, mut body) = file.split_at_mut(header_len);
    let mut decryptor = SegmentDecryptor::new(key, header)?;
    let mut plaintext = Vec::new();
    while body.len() > SEGMENT_CIPHERTEXT {
        let (segment, rest) = body.split_at_mut(SEGMENT_CIPHERTEXT);
        let (data, tag) = segment.split_at_mut(SEGMENT_SIZE);
        let data: &mut [u8; SEGMENT_SIZE] = data.try_into().unwrap();
        decryptor.decrypt_in_place(data, (&*tag).try_into().unwrap())?;
        plaintext.extend_from_slice(data);
        body = rest;
    }
    if body.len() < 16 {
        return Err(StreamError::Truncated);
    }
    let (last, tag) = body.split_at_mut(body.len() - 16);
    decryptor.finish_in_place(last, (&*tag).try_into().unwrap())?;
    plaintext.extend_from_slice(last);
    Ok(plaintext)
}

/// The in-place API writes the same bytes as the copying one for the same salt, at every boundary, and reads them
/// back.
#[test]
fn in_place_encryption_writes_the_streams_bytes() {
    let key = BackupKey::from_bytes([3; 32]);
    for len in [
        0,
        1,
        SEGMENT_SIZE - 1,
        SEGMENT_SIZE,
        SEGMENT_SIZE + 1,
        2 * SEGMENT_SIZE,
        3 * SEGMENT_SIZE + 5,
    ] {
        let data = plaintext(len, 2);
        let file = encrypt_in_place(&key, &mut StdRng::seed_from_u64(4), &data);
        assert_eq!(
            file,
            encrypt(&key, &mut StdRng::seed_from_u64(4), &data, 4096),
            "{len} bytes"
        );
        assert_eq!(decrypt_in_place(&key, &file).unwrap(), data, "{len} bytes");
    }
}

/// In-place decryption gives exactly the copying decryptor's answer on every malformed file of the tests above:
/// headers, truncations, flips, swaps, appended bytes, an empty final segment after a full one.
#[test]
fn in_place_decryption_reports_the_streams_errors() {
    let key = BackupKey::from_bytes([9; 32]);
    let mut rng = StdRng::seed_from_u64(10);
    let small = encrypt(&key, &mut rng, b"hello", 7);
    let large = encrypt(&key, &mut rng, &plaintext(2 * SEGMENT_SIZE + 3, 5), 4096);
    let one = encrypt(&key, &mut rng, &plaintext(SEGMENT_SIZE, 1), 4096);
    let mut files = vec![
        Vec::new(),
        vec![1],
        vec![0],
        vec![1, 0x21, 0],
        small[..HEADER_LEN].to_vec(),
        small[..HEADER_LEN + 15].to_vec(),
        [one.as_slice(), &[0u8; 16]].concat(),
        [&large[..HEADER_LEN + SEGMENT_CIPHERTEXT], &[0u8; 16][..]].concat(),
        // The first two segments swapped.
        [
            &large[..HEADER_LEN],
            &large[HEADER_LEN + SEGMENT_CIPHERTEXT..HEADER_LEN + 2 * SEGMENT_CIPHERTEXT],
            &large[HEADER_LEN..HEADER_LEN + SEGMENT_CIPHERTEXT],
            &large[HEADER_LEN + 2 * SEGMENT_CIPHERTEXT..],
        ]
        .concat(),
    ];
    for cut in [
        1,
        16,
        17,
        SEGMENT_CIPHERTEXT,
        SEGMENT_CIPHERTEXT + 16,
        large.len() - HEADER_LEN - 1,
    ] {
        files.push(large[..large.len() - cut].to_vec());
    }
    for offset in 0..small.len() {
        let mut flipped = small.clone();
        flipped[offset] ^= 0x40;
        files.push(flipped);
    }
    for offset in [
        HEADER_LEN,
        HEADER_LEN + SEGMENT_SIZE,
        HEADER_LEN + SEGMENT_CIPHERTEXT + 1,
        large.len() - 1,
    ] {
        let mut flipped = large.clone();
        flipped[offset] ^= 1;
        files.push(flipped);
    }
    for file in &files {
        let expected = decrypt(&key, file, 1 << 20);
        assert!(expected.is_err());
        assert_eq!(decrypt_in_place(&key, file), expected, "{} bytes", file.len());
    }
}

/// A rejected segment is left as it was, and the decryptor refuses everything after.
#[test]
fn a_rejected_segment_is_left_intact_and_poisons_the_decryptor() {
    let key = BackupKey::from_bytes([9; 32]);
    let file = encrypt(
        &key,
        &mut StdRng::seed_from_u64(11),
        &plaintext(2 * SEGMENT_SIZE + 1, 6),
        4096,
    );
    let mut decryptor = SegmentDecryptor::new(&key, &file[..HEADER_LEN]).unwrap();
    let mut segment: [u8; SEGMENT_SIZE] = file[HEADER_LEN..HEADER_LEN + SEGMENT_SIZE].try_into().unwrap();
    segment[0] ^= 1;
    let altered = segment;
    let tag: [u8; 16] = file[HEADER_LEN + SEGMENT_SIZE..HEADER_LEN + SEGMENT_CIPHERTEXT]
        .try_into()
        .unwrap();
    assert_eq!(
        decryptor.decrypt_in_place(&mut segment, &tag),
        Err(StreamError::SegmentRejected { index: 0 })
    );
    assert_eq!(segment, altered);
    segment[0] ^= 1;
    assert_eq!(
        decryptor.decrypt_in_place(&mut segment, &tag),
        Err(StreamError::Poisoned)
    );
    assert_eq!(decryptor.finish_in_place(&mut [], &tag), Err(StreamError::Poisoned));
}

#[test]
fn an_in_place_last_segment_longer_than_a_segment_is_refused() {
    let (encryptor, _) = SegmentEncryptor::new(&BackupKey::from_bytes([1; 32]), &mut StdRng::seed_from_u64(12));
    let mut last = vec![3; SEGMENT_SIZE + 1];
    assert_eq!(
        encryptor.finish_in_place(&mut last),
        Err(StreamError::InvalidLastSegment)
    );
    assert_eq!(last, vec![3; SEGMENT_SIZE + 1], "nothing encrypted");
}

#[test]
fn an_in_place_empty_last_segment_after_a_full_one_is_refused() {
    // A read loop over a file of exactly one segment ends with an empty read: it must finish with the held-back
    // segment instead.
    let (mut encryptor, _) = SegmentEncryptor::new(&BackupKey::from_bytes([1; 32]), &mut StdRng::seed_from_u64(12));
    let mut segment = vec![0; SEGMENT_SIZE];
    encryptor
        .encrypt_in_place((&mut segment[..]).try_into().unwrap())
        .unwrap();
    assert_eq!(encryptor.finish_in_place(&mut []), Err(StreamError::InvalidLastSegment));
}

#[test]
fn an_in_place_full_last_segment_and_an_empty_file_are_accepted() {
    let key = BackupKey::from_bytes([1; 32]);
    let (encryptor, header) = SegmentEncryptor::new(&key, &mut StdRng::seed_from_u64(12));
    let tag = encryptor.finish_in_place(&mut []).unwrap();
    assert_eq!(
        decrypt(&key, &[&header[..], &tag].concat(), 4096).unwrap(),
        Vec::<u8>::new()
    );
    let (encryptor, header) = SegmentEncryptor::new(&key, &mut StdRng::seed_from_u64(13));
    let mut full = vec![5; SEGMENT_SIZE];
    let tag = encryptor.finish_in_place(&mut full).unwrap();
    assert_eq!(
        decrypt(&key, &[&header[..], &full, &tag].concat(), 4096).unwrap(),
        vec![5; SEGMENT_SIZE]
    );
}

/// A rejected last segment is left as it was too (aes-gcm 0.10.3 and later check the tag before decrypting; the
/// workspace requires at least that version, RUSTSEC-2023-0096).
#[test]
fn a_rejected_last_segment_is_left_intact() {
    let key = BackupKey::from_bytes([9; 32]);
    let file = encrypt(
        &key,
        &mut StdRng::seed_from_u64(14),
        &plaintext(SEGMENT_SIZE + 100, 7),
        4096,
    );
    let mut decryptor = SegmentDecryptor::new(&key, &file[..HEADER_LEN]).unwrap();
    let mut first: [u8; SEGMENT_SIZE] = file[HEADER_LEN..HEADER_LEN + SEGMENT_SIZE].try_into().unwrap();
    let first_tag: [u8; 16] = file[HEADER_LEN + SEGMENT_SIZE..HEADER_LEN + SEGMENT_CIPHERTEXT]
        .try_into()
        .unwrap();
    decryptor.decrypt_in_place(&mut first, &first_tag).unwrap();
    let (last, tag) = file[HEADER_LEN + SEGMENT_CIPHERTEXT..].split_at(100);
    let mut last = last.to_vec();
    last[99] ^= 0x80;
    let altered = last.clone();
    assert_eq!(
        decryptor.finish_in_place(&mut last, tag.try_into().unwrap()),
        Err(StreamError::SegmentRejected { index: 1 })
    );
    assert_eq!(last, altered);
}

/// `Debug` of the stream states shows how far an encryptor got and nothing else: no K, file key or plaintext.
#[test]
fn debug_shows_progress_and_no_key_material() {
    let mut rng = StdRng::seed_from_u64(30);
    let key = BackupKey::from_bytes([0x5c; 32]);

    let (mut encryptor, header) = StreamEncryptor::new(&key, &mut rng);
    assert_eq!(format!("{encryptor:?}"), "StreamEncryptor { segments_sealed: 0, .. }");
    let mut file = header.to_vec();
    encryptor.update(&vec![0x11; SEGMENT_SIZE + 1], &mut file).unwrap();
    assert_eq!(format!("{encryptor:?}"), "StreamEncryptor { segments_sealed: 1, .. }");

    let (mut in_place, header) = SegmentEncryptor::new(&key, &mut rng);
    let mut segment = vec![0x22; SEGMENT_SIZE];
    in_place
        .encrypt_in_place((&mut segment[..]).try_into().unwrap())
        .unwrap();
    assert_eq!(format!("{in_place:?}"), "SegmentEncryptor { segments_sealed: 1, .. }");

    let decryptor = StreamDecryptor::new(&key);
    assert_eq!(format!("{decryptor:?}"), "StreamDecryptor { .. }");
    let decryptor = SegmentDecryptor::new(&key, &header).unwrap();
    assert_eq!(format!("{decryptor:?}"), "SegmentDecryptor { .. }");
}
