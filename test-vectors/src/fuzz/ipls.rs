//! ipls: the escrow messages and the vault's pending state (SPEC §7), and sealed contact records (§4).

use ipls::{
    AccountId, ContactId, ContactKey, ContactSealer, EscrowAuth, EscrowChallenge, EscrowHello, EscrowReply,
    IdentityProof, PendingEscrow,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{decode, select};

/// Selector byte: the five escrow messages, the vault's pending escrow, and a sealed record.
pub(super) fn messages(data: &[u8]) -> bool {
    let Some((which, input)) = select(data, 7) else {
        return false;
    };
    match which {
        0 => decode("EscrowHello", input, EscrowHello::from_bytes, EscrowHello::to_bytes),
        1 => decode(
            "EscrowChallenge",
            input,
            EscrowChallenge::from_bytes,
            EscrowChallenge::to_bytes,
        ),
        2 => decode("EscrowAuth", input, EscrowAuth::from_bytes, EscrowAuth::to_bytes),
        3 => decode("EscrowReply", input, EscrowReply::from_bytes, EscrowReply::to_bytes),
        4 => decode(
            "IdentityProof",
            input,
            IdentityProof::from_bytes,
            IdentityProof::to_bytes,
        ),
        5 => decode("PendingEscrow", input, PendingEscrow::from_bytes, |pending| {
            pending.to_bytes().to_vec()
        }),
        _ => sealed(input),
    }
}

/// The fuzzer does not know the contact key, so it can never make a record that opens; a record the harness
/// seals opens to its plaintext, and with any one byte changed (chosen by the input's length) it does not.
fn sealed(input: &[u8]) -> bool {
    let account = AccountId::new(b"alice".to_vec()).expect("valid account id");
    let contact = ContactId::new(b"bob".to_vec()).expect("valid contact id");
    let sealer = ContactSealer::new(&ContactKey::from_bytes([0x17; 32]), &account);
    assert!(
        sealer.open(&contact, input).is_err(),
        "ipls: opened a record the fuzzer made without the key"
    );

    let mut rng = ChaCha20Rng::seed_from_u64(input.len() as u64);
    let mut record = sealer.seal(&mut rng, &contact, input);
    let opened = sealer.open(&contact, &record).expect("a sealed record opens");
    assert!(
        opened.as_slice() == input,
        "ipls: a sealed record opened to other bytes"
    );
    let flip = input.len() % record.len();
    record[flip] ^= 1;
    assert!(
        sealer.open(&contact, &record).is_err(),
        "ipls: a record with a flipped byte opened"
    );
    true
}
