//! The protocol run end to end with an in-test vault half, step by step so that tests can intercept any message.

#![allow(dead_code, unreachable_pub)]

use backup_protocol::{
    BackupKey, BackupRecord, ClientConfig, ClientLogin, ClientRegistration, Error, KsfPolicy, LoginPurpose,
    LoginResponse, PendingRegistration, UserId, VaultKeys, VaultLoginState,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub const PASSWORD: &[u8] = b"correct horse battery staple";

pub struct World {
    pub rng: StdRng,
    pub keys: VaultKeys,
    pub config: ClientConfig,
    pub user: UserId,
    pub key: BackupKey,
}

impl World {
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys = VaultKeys::generate(&mut rng);
        let config = ClientConfig::insecure_fast_for_testing(keys.pins());
        let key = BackupKey::generate(&mut rng);
        Self {
            rng,
            keys,
            config,
            user: user("alice@example"),
            key,
        }
    }

    /// Registers `self.key` under `PASSWORD`.
    pub fn register(&mut self) -> BackupRecord {
        let (client, request) =
            ClientRegistration::start(&mut self.rng, &self.config, self.user.clone(), PASSWORD).unwrap();
        let (pending, response) = PendingRegistration::start(&self.keys, &mut self.rng, &request).unwrap();
        let (awaiting, upload) = client.finish(&mut self.rng, &response, &self.key).unwrap();
        let (record, receipt) = pending
            .finish(&self.keys, &upload, &KsfPolicy::INSECURE_TESTING)
            .unwrap();
        awaiting.verify(&receipt).unwrap();
        record
    }

    /// Runs a whole retrieval against `record`; the first error wins.
    pub fn retrieve(&mut self, record: &BackupRecord, password: &[u8]) -> Result<BackupKey, Error> {
        let (client, request) = ClientLogin::start(&mut self.rng, &self.config, self.user.clone(), password)?;
        let (state, response) =
            VaultLoginState::start(&self.keys, &mut self.rng, Some(record), &request, || Ok::<u32, ()>(9)).map_err(
                |error| match error {
                    backup_protocol::LoginStartError::Rejected(error) => error,
                    other => panic!("unexpected {other:?}"),
                },
            )?;
        let (pending, finalization) = client.finish(&mut self.rng, &response)?;
        let release = state.finish(&mut self.rng, Some(record), &finalization)?;
        pending.open(&release)
    }

    /// Starts a deletion login of `self.user` under `PASSWORD` against `record`, the vault signing `remaining`
    /// guesses; the client's state, the vault's, and the vault's response.
    pub fn deletion_start(
        &mut self,
        record: &BackupRecord,
        remaining: u32,
    ) -> (ClientLogin, VaultLoginState, LoginResponse) {
        let (client, request) = ClientLogin::start_for(
            &mut self.rng,
            &self.config,
            self.user.clone(),
            PASSWORD,
            LoginPurpose::DeleteRecord,
        )
        .unwrap();
        let (state, response) = VaultLoginState::start(&self.keys, &mut self.rng, Some(record), &request, || {
            Ok::<u32, ()>(remaining)
        })
        .unwrap();
        (client, state, response)
    }
}

pub fn user(name: &str) -> UserId {
    UserId::new(name.as_bytes().to_vec()).unwrap()
}

/// Every single-byte mutation of `bytes`: each position XOR 0x01 and XOR 0x80.
pub fn flips(bytes: &[u8]) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
    (0..bytes.len()).flat_map(move |position| {
        [0x01u8, 0x80].into_iter().map(move |mask| {
            let mut flipped = bytes.to_vec();
            flipped[position] ^= mask;
            (position, flipped)
        })
    })
}
