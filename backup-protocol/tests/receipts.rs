//! What the owner learns from the vault, and can trust: the guesses left after each charge, and receipts that the
//! vault stored an upload or deleted a record, which no relay can forge.

mod common;

use backup_protocol::{
    ClientLogin, ClientRegistration, DeletionReceipt, Error, KsfPolicy, LoginResponse, PendingRegistration,
    RegistrationReceipt, VaultKeys, VaultLoginState,
};
use common::{PASSWORD, World, flips};

const WRONG: &[u8] = b"not the password";

#[test]
fn the_guesses_remaining_are_signed_and_reach_the_owner_on_success_and_on_a_wrong_password() {
    let mut world = World::new(40);
    let record = world.register();
    for (password, remaining) in [(WRONG, 7u32), (PASSWORD, 3)] {
        let (client, request) =
            ClientLogin::start(&mut world.rng, &world.config, world.user.clone(), password).unwrap();
        let (_, response) = VaultLoginState::start(&world.keys, &mut world.rng, Some(&record), &request, || {
            Ok::<u32, ()>(remaining)
        })
        .unwrap();
        let response = LoginResponse::from_bytes(&response.to_bytes()).unwrap();
        match client.finish(&mut world.rng, &response) {
            Ok((pending, _)) => {
                assert_eq!(password, PASSWORD);
                assert_eq!(pending.guesses_remaining(), remaining);
            }
            Err(error) => {
                assert_eq!(password, WRONG);
                assert_eq!(
                    error,
                    Error::WrongPassword {
                        guesses_remaining: remaining
                    }
                );
                assert_eq!(error.to_string(), "wrong password (7 guesses remaining)");
            }
        }

        // A relay that raises (or lowers) the count breaks the vault's signature.
        let user_len = world.user.as_bytes().len();
        let mut raised = response.to_bytes();
        raised[3 + user_len + 12 + 3] ^= 0x10;
        let raised = LoginResponse::from_bytes(&raised).unwrap();
        assert_eq!(
            client.finish(&mut world.rng, &raised).err(),
            Some(Error::BadVaultSignature)
        );
    }
}

#[test]
fn a_deletion_login_reports_the_signed_guesses_remaining() {
    let mut world = World::new(44);
    let record = world.register();
    for remaining in [0u32, 5] {
        let (client, _, response) = world.deletion_start(&record, remaining);
        let (pending, _) = client.finish_deletion(&mut world.rng, &response).unwrap();
        assert_eq!(pending.guesses_remaining(), remaining);
        // Its Debug names the user and nothing else (DELETED_K stays out).
        assert_eq!(
            format!("{pending:?}"),
            format!("PendingDeletionReceipt {{ user_id: {:?}, .. }}", world.user)
        );
    }
}

#[test]
fn a_registration_receipt_proves_exactly_this_upload_was_stored() {
    let mut world = World::new(41);
    let impostor = VaultKeys::generate(&mut world.rng);
    let (client, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (pending, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    let (awaiting, upload) = client.finish(&mut world.rng, &response, &world.key).unwrap();
    // Its Debug names the user and nothing else.
    assert_eq!(
        format!("{awaiting:?}"),
        format!("PendingRegistrationReceipt {{ user_id: {:?}, .. }}", world.user)
    );
    let (_, receipt) = pending
        .finish(&world.keys, &upload, &KsfPolicy::INSECURE_TESTING)
        .unwrap();
    let receipt = RegistrationReceipt::from_bytes(&receipt.to_bytes()).unwrap();

    // Forged: signed by a key outside the fleet.
    let (_, forged) = pending
        .finish(&impostor, &upload, &KsfPolicy::INSECURE_TESTING)
        .unwrap();
    assert_eq!(awaiting.verify(&forged), Err(Error::ReceiptRejected));

    // Replayed: the genuine receipt of an earlier registration of the same user (another upload).
    let (earlier, request) =
        ClientRegistration::start(&mut world.rng, &world.config, world.user.clone(), PASSWORD).unwrap();
    let (earlier_pending, response) = PendingRegistration::start(&world.keys, &mut world.rng, &request).unwrap();
    let (_, earlier_upload) = earlier.finish(&mut world.rng, &response, &world.key).unwrap();
    let (_, earlier_receipt) = earlier_pending
        .finish(&world.keys, &earlier_upload, &KsfPolicy::INSECURE_TESTING)
        .unwrap();
    assert_eq!(awaiting.verify(&earlier_receipt), Err(Error::ReceiptRejected));

    // Altered anywhere, or for another user.
    for (position, flipped) in flips(&receipt.to_bytes()) {
        let accepted = RegistrationReceipt::from_bytes(&flipped).is_ok_and(|altered| awaiting.verify(&altered).is_ok());
        assert!(!accepted, "receipt flip at {position} went unnoticed");
    }
    // Missing: the old fixed acknowledgement carries nothing to verify and does not even decode.
    assert!(RegistrationReceipt::from_bytes(&[0x01, 0x04]).is_err());

    // A rejected receipt leaves the client able to check the genuine one.
    assert_eq!(awaiting.verify(&receipt), Ok(()));
}

#[test]
fn a_deletion_receipt_is_bound_to_the_login_that_asked_for_it() {
    let mut world = World::new(42);
    let record = world.register();
    let deletion = |world: &mut World| {
        let (client, state, response) = world.deletion_start(&record, 9);
        let (awaiting, finalization) = client.finish_deletion(&mut world.rng, &response).unwrap();
        let receipt = state.finish_deletion(Some(&record), &finalization).unwrap();
        (awaiting, receipt)
    };
    let (awaiting, receipt) = deletion(&mut world);
    let receipt = DeletionReceipt::from_bytes(&receipt.to_bytes()).unwrap();

    // Replayed from another deletion login of the same user: its key came from another session.
    let (other_awaiting, other_receipt) = deletion(&mut world);
    assert_eq!(awaiting.verify(&other_receipt), Err(Error::ReceiptRejected));
    assert_eq!(other_awaiting.verify(&receipt), Err(Error::ReceiptRejected));

    // Forged: a relay has no key; any tag it makes, and any altered byte, is refused.
    for (position, flipped) in flips(&receipt.to_bytes()) {
        let accepted = DeletionReceipt::from_bytes(&flipped).is_ok_and(|altered| awaiting.verify(&altered).is_ok());
        assert!(!accepted, "receipt flip at {position} went unnoticed");
    }
    let mut zero_tag = receipt.to_bytes();
    let len = zero_tag.len();
    zero_tag[len - 32..].fill(0);
    assert_eq!(
        awaiting.verify(&DeletionReceipt::from_bytes(&zero_tag).unwrap()),
        Err(Error::ReceiptRejected)
    );
    // Missing: the old fixed acknowledgement does not decode as a receipt.
    assert!(DeletionReceipt::from_bytes(&[0x01, 0x15]).is_err());

    assert_eq!(awaiting.verify(&receipt), Ok(()));
    assert_eq!(other_awaiting.verify(&other_receipt), Ok(()));
}
