//! Known-answer test of the escrow session: every message of test-vectors/vectors/ipls_escrow.json tcId 2
//! ("retrieve CK"), whose values test-vectors/python/check_vectors.py recomputes with the `cryptography` package
//! (X25519, HKDF, AES-GCM, Ed25519). The constants are copied from that file (this crate cannot depend on
//! test-vectors). Both halves of the session are run here with the vector's random draws, so a change to the key
//! schedule, a transcript, a label, a nonce or a message layout that both halves would share is still caught.

use ipls::rand_core::{CryptoRng, Error as RandError, RngCore};
use ipls::{
    AccountId, ContactKey, EscrowAuth, EscrowChallenge, EscrowClient, EscrowOutcome, EscrowReply, IdentityProof,
    IplsVaultKey, PendingEscrow,
};

/// `vaultSecret`: the vault's IPLS X25519 secret.
const VAULT_SECRET: &str = "157b3cf7f4bcb35c43d375963f03e797f78a6a4b9b1d753a16de73ea55d1eb79";

/// `clientSecret`: the device's ephemeral X25519 secret (its one draw).
const CLIENT_SECRET: &str = "5d0fdb3dcdd4007f70ef769731ec7a364843323f35c504dfc887c358b8836e97";

/// `challenge`: the vault's first draw.
const CHALLENGE: &str = "e8f83d15980cdea959011cdee2fd0c0782ce10a1d2fdbae1a50950cd173ee7f7";

/// `vaultEphemeral`: the vault's second draw.
const VAULT_EPHEMERAL: &str = "62750850a4b1b3bf56939f5217aefd1d3beb8db3c1c429fbae070806f7473b51";

/// `accountSeed`: the account's Ed25519 seed.
const ACCOUNT_SEED: &str = "86093b27e3c35d63efb6bb20a39b447eaa959dfe2fbe79c16893820230720979";

/// `accountId`.
const ACCOUNT_ID: &str = "313535353132333435363740732e77686174736170702e6e6574";

/// `contactKey`: CK, released by the vault.
const CONTACT_KEY: &str = "8b2b990dc74a59d42e4d90f588b3c51c87261ce2585e315b53ed9d0c5686b85a";

/// `hello`.
const HELLO: &[&str] = &[
    "017202f93a82183a53624a610701744f5f22ece84c4e05fa3aa772a722f5900618421d868fd22ef14030f1cc3f796d1a6d9a",
    "c5a88b3520271931deb17509405c9bd57b1a313535353132333435363740732e77686174736170702e6e6574",
];

/// `challengeMessage`: challenge body and key confirmation.
const CHALLENGE_MESSAGE: &[&str] = &[
    "0173e8f83d15980cdea959011cdee2fd0c0782ce10a1d2fdbae1a50950cd173ee7f71383279097daac1dd6e13a2eaaa29dfe",
    "a077d3e8082dce7f6212bbb19724a73e37583ed0ede642f3e9a9e9707537a389",
];

/// `identityProof` (opaque to ipls).
const IDENTITY_PROOF: &[&str] = &[
    "017600860a400801120f69706c732e6b742e6578616d706c651880adc6b8b733220208022a20f682803e373d6980283dba2e",
    "5bed6d6c3f0c6f29af760ad1b78d0b0533c0769012407ec62e2a5ff8a487293a68ac545f5d3d028557e252e60240d4703b87",
    "1b79fefc31be9ac4b38fbb840f46632bda95d49bbf1f4f6ea218d9c69ad3d8cc451d2302186303990802122017e137c70b20",
    "d4d54727d6d4930d1048a1d83752528ad1030d04a91d37da5ede1802225081deae9eca8af055dc1c245e639ea95d2cab557c",
    "10af50ef33a139cba97ac342bf092728155be5a3607fcb009b64d8207de1c7f1a788310b74a6f955df9172e0fe2822f5dacd",
    "6fcb9931986e90c17a0a2ad3010a250a20aa8a29e07de4e8af4582ba3640f428fb3dbf5af15bb4324ed1e1c8eb4d02b65e10",
    "80021220e6b77a5e27026a6b9678a72a270c6ae9e3bdc1a70fd421235f275efc98b09ac01a320a040a00100012280a040a00",
    "1004122013a31a183ee346e19edadcff06ec04531abece672482134d75895f2e4f4fc44918011a540a050a0180100212490a",
    "250a208f3e6ad414e348f304a607db4a59b170bb1818ac4bcf6cc20d224f478b7809aa1080021220f0916f334c34a20e589c",
    "d6b87fe2ade1a5807dba5374f894b2e0ee3eda966b0c1801325081deae9eca8af055dc1c245e639ea95d2cab557c10af50ef",
    "33a139cba97ac342bf092728155be5a3607fcb009b64d8207de1c7f1a788310b74a6f955df9172e0fe2822f5dacd6fcb9931",
    "986e90c17a0a3ad3010a250a20aa8a29e07de4e8af4582ba3640f428fb3dbf5af15bb4324ed1e1c8eb4d02b65e1080021220",
    "e6b77a5e27026a6b9678a72a270c6ae9e3bdc1a70fd421235f275efc98b09ac01a320a040a00100012280a040a0010041220",
    "13a31a183ee346e19edadcff06ec04531abece672482134d75895f2e4f4fc44918011a540a050a0180100212490a250a208f",
    "3e6ad414e348f304a607db4a59b170bb1818ac4bcf6cc20d224f478b7809aa1080021220f0916f334c34a20e589cd6b87fe2",
    "ade1a5807dba5374f894b2e0ee3eda966b0c180142506bced47d9fe1afa59236abbd678c98ed6540ff58d6d7c38e36553963",
    "078e642f2e6f1ef306bb9d0e19425811b345faae7c8df2313bc0ad847b689e9637a80d93697a3a023bc1605a846097b28c5e",
    "ac0c4aac010a250a20d5ddfff4bfcfb91b8f9b74456a7e0816d1dea273a2153ca87ac9c3caf5e611c310800212040a001000",
    "1a280a040a001004122013a31a183ee346e19edadcff06ec04531abece672482134d75895f2e4f4fc4491a290a050a018010",
    "02122024e104206c2533de3aab146ca3b6cead2efa1de7d889bbd1397820e23066bb8722280a040a001000122060bbd61bb0",
    "32876ea629a2438f6ce5d01de74bf241292a6a5cc3bfcf18ccf23a5220150823e506d6cc990b655917c1931baac7d510dd44",
    "3e8545e10178f959002944",
];

/// `auth`.
const AUTH: &[&str] = &[
    "0174e8f83d15980cdea959011cdee2fd0c0782ce10a1d2fdbae1a50950cd173ee7f73dc063de900500acc7e398e44a16dd84",
    "cbf99c377e3d301cfd15c40a16fcdd67e489e07a6203479a63f44025960319f448efb0281cb09444a5ecb490776fef846978",
    "daeb46df0e5498b47e7f0affcb4297991e762812a8c3cb081d5af7c681d661b89a60bc2d48b682e3579755b6906c8839c9c7",
    "fae5a05728d76f36a05682f918616a8b8eee691c5c2850521abbfd33550215ce38101bacffe9b4d55902df095d74e3dea2a1",
    "6aae71d69ae69209f815381d8024319d58c193ad58db31bfa38e8d6c0d08a146d180bb0fe021795f456f4a7470ecca0c5c32",
    "a272963056714ad261fd830d5e497a1afb40e6f73feae2f93ce5487c51c5ae2a89c3b85f25db1cb60e3d109a8ff5dc2af145",
    "67938d48e3a4448b127880e022120c743cec522c1d331fbecfce1e34352a2f0ab715d423a34ae314f4bf87351cea7a8151e9",
    "ab3c1022eb5d0f82fe1992aee2dd7b01c331fe19b12471fa9df91220b5c657ce47c9487181517677963dfa1bb2345c94acf4",
    "13aa5358c0901e2823e48056b6b60110519d5e635db09ff4ae2c5ffbe358f974c3c20e0864b9d274b9a81922214668ee4b86",
    "ea13d89e1cc38a5da5f2b01da244e998e98cbbcabed8b0de59b0adb077593ca21b7df93471068c5971df3096abfbe050e049",
    "8ebd3ecc68c9b7a36531401b2ab441b88385f2168f74d575836799d3a0fe879ed366b9773fa34dfd91f15122919f4edc4319",
    "3b57555ce3c109ad4cb8e612a9581a9d2eb7bd54b41ed983d73d35cc332d24c6249c5211c1db15b758b6d6d04aae9aa354b5",
    "39ad8715423919120ba51cc461e2415fa7611aa129d75bdfeb830dfdecc4317f89efad969f5030911dde0832e6d1c6cacd5f",
    "9c1a437ed94973de3650959dd6bc2c6ed28a9312178ac0bf41396ed0260206b304e65eebf50d1f7d1ad447b5e7af9a8c3faa",
    "9cf780ac428894291cdfb97d71c0abcf40af79d7c379b08b41510c0ff0f6eb22ab8da43432974376a23da9f2c8caeb002068",
    "0b3c24ce89f5b46df190dc9a6bfd4020490527883ce4094201192dd936f8e50bbcffdc77440735896394d25e8a05f87944bc",
    "cf793390d23ff0f70f200537cb1bc0d01c7d6ff1598695463118c90028a130a5897c3c767359521b5d450d5a8f4186355bd9",
    "d004176ab1cea59272e6f6333d0cf05f0d1b6396168d2573cefdb71be937d07a8a475ac6a3f0ea48a0e3d3afa29a20c2e64f",
    "435ae07adfeed91b940ca9f81346f306affc7367b10d4a7b007b6b7de11c2d3f406bdb3dccbf92a915e1cf47c54e9c4341f2",
    "c5a48278dceb75032c03df2f91bd0e20f910ff77911fc72a72b52c77b4af87ae534c1339d8640c22e528615fd59d88519522",
    "fd2c2dc5452b76d52fa700de285a0efbeb27e485f6f63e8d2559c424dcb3a69114ecabf52e884ecfeedafe35660f61a8dba3",
    "06dde5324349ed38a97c18ce734adb615aae02666af25ef8fd96a66d3f2aef94dadac1f3408228b435ce578cbdd48968a9b6",
    "f1d4ded4526b525922302912f37160292efdfb8189ba1be5c381a4ec54e7d447fd1cafcc0814827f238a332dacba475abfc0",
    "f10129a01149d1194f808f60e861bd914ef3211083ea34d6b0e9ab0106e91fd9eedc38d53f40710a2e1957467a94ff5b35b7",
    "029e03051b",
];

/// `reply`: CK under the vault-to-device key, nonce 1, over the reply transcript.
const REPLY: &[&str] =
    &["0175ac87639350a091bcef0448547e32ce25d90634b047c3c6a03e45af7d4287987e3ccbe5e11fd1608fe02cdbf29682047c"];

fn bytes(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len() % 2, 0);
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

fn joined(parts: &[&str]) -> Vec<u8> {
    bytes(&parts.concat())
}

fn array(hex: &str) -> [u8; 32] {
    bytes(hex).try_into().unwrap()
}

/// Hands out exactly the vector's draws, in order; any other draw fails the test.
struct Draws(Vec<u8>);

impl RngCore for Draws {
    fn next_u32(&mut self) -> u32 {
        unreachable!("the session draws only byte strings")
    }
    fn next_u64(&mut self) -> u64 {
        unreachable!("the session draws only byte strings")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(dest.len() <= self.0.len(), "more draws than the vector has");
        dest.copy_from_slice(&self.0[..dest.len()]);
        self.0.drain(..dest.len());
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Draws {}

#[test]
fn the_retrieval_session_of_vector_2_byte_for_byte() {
    let vault = IplsVaultKey::from_bytes(&array(VAULT_SECRET));
    let account = AccountId::new(bytes(ACCOUNT_ID)).unwrap();
    let signer = ipls::ed25519_dalek::SigningKey::from_bytes(&array(ACCOUNT_SEED));
    let proof = IdentityProof::from_bytes(&joined(IDENTITY_PROOF)).unwrap();
    let ck = ContactKey::from_bytes(array(CONTACT_KEY));

    let mut device_draws = Draws(bytes(CLIENT_SECRET));
    let (device, hello) = EscrowClient::retrieve(&mut device_draws, &vault.public_key(), account.clone()).unwrap();
    assert_eq!(hello.to_bytes(), joined(HELLO), "hello");

    let mut vault_draws = Draws([bytes(CHALLENGE), bytes(VAULT_EPHEMERAL)].concat());
    let (pending, challenge) = vault.challenge(&mut vault_draws, &hello).unwrap();
    assert_eq!(
        challenge.to_bytes(),
        joined(CHALLENGE_MESSAGE),
        "challenge and key confirmation"
    );
    assert!(vault_draws.0.is_empty() && device_draws.0.is_empty());

    let (device, auth) = device.authenticate(&challenge, &signer, &proof).unwrap();
    assert_eq!(auth.to_bytes(), joined(AUTH), "auth");

    // The vault's half, on the vector's messages (decoded, and its state through storage).
    let pending = PendingEscrow::from_bytes(&pending.to_bytes()).unwrap();
    let vector_auth = EscrowAuth::from_bytes(&joined(AUTH)).unwrap();
    let opened = vault.open(&pending, &vector_auth).unwrap();
    assert_eq!(opened.account(), &account);
    assert_eq!(opened.account_key(), signer.verifying_key().as_bytes());
    assert_eq!(opened.identity_proof(), &proof);
    assert_eq!(opened.uploaded_key(), None);
    let reply = opened.reply_released(&ck);
    assert_eq!(reply.to_bytes(), joined(REPLY), "reply");

    // The device's half on the vector's reply.
    let reply = EscrowReply::from_bytes(&joined(REPLY)).unwrap();
    assert_eq!(
        device.finish(&reply),
        Ok(EscrowOutcome::Released(ContactKey::from_bytes(array(CONTACT_KEY))))
    );
    // And the vector's challenge message is what a device accepts.
    assert!(EscrowChallenge::from_bytes(&joined(CHALLENGE_MESSAGE)).is_ok());
}
