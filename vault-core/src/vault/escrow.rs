//! The vault half of IPLS contact-key escrow (feature `ipls`): the two escrow requests, and the key-transparency
//! head that account-key proofs are checked against (`ObserveRoot`).

use backup_protocol::UserId;
use ipls::{EscrowAuth, EscrowHello};
use kt_verify::VerifiedRoot;
use rand_chacha::ChaCha20Rng;

use super::{Outcome, Vault};
use crate::command::Response;
use crate::error::{IdentityError, VaultError};
use crate::identity::KeyTransparency;
use crate::records::{EscrowedKey, KT_HEAD_KEY, KtHead, StoredEscrowSession, escrow_session_key, escrowed_key_key};
use crate::store::Store;

impl<S: Store> Vault<S> {
    /// Enables IPLS escrow: account keys are believed when `trust` verifies their key-transparency proof.
    /// Without it, IPLS requests are refused with [`VaultError::KeyTransparencyNotConfigured`].
    #[must_use]
    pub fn with_key_transparency(mut self, trust: KeyTransparency) -> Self {
        self.key_transparency = Some(trust);
        self
    }

    pub(super) fn ipls_hello(
        &self,
        now: u64,
        rng: &mut ChaCha20Rng,
        owner: &UserId,
        hello: &EscrowHello,
    ) -> Outcome<Response, S> {
        self.trust()?;
        self.check_room(owner)?;
        let (pending, challenge) = self.keys.ipls().challenge(rng, hello).map_err(VaultError::Ipls)?;
        let stored = StoredEscrowSession {
            issued_at_ms: now,
            pending,
        };
        // The entropy draws the challenge: a command applied twice must find it taken before it counts again.
        let session_key = escrow_session_key(owner, challenge.challenge());
        if self.version(&session_key)?.is_some() {
            return Err(VaultError::Conflict);
        }
        self.count_pending(1)?;
        self.write(&session_key, None, Some(&stored.to_bytes()))?;
        Ok(Response::IplsChallenge(challenge))
    }

    pub(super) fn ipls_auth(&self, now: u64, owner: &UserId, auth: &EscrowAuth) -> Outcome<Response, S> {
        let trust = self.trust()?;
        // Only the owner's own sessions are reachable: another account's challenge finds nothing here.
        let session_key = escrow_session_key(owner, auth.challenge());
        let (session_version, session) = self
            .read(&session_key, StoredEscrowSession::from_bytes, "escrow session")?
            .ok_or(VaultError::UnknownSession)?;
        if now.saturating_sub(session.issued_at_ms) > self.config.escrow_ttl_ms {
            return Err(VaultError::SessionExpired);
        }
        let opened = self
            .keys
            .ipls()
            .open(&session.pending, auth)
            .map_err(VaultError::Ipls)?;
        if opened.account().as_bytes() != owner.as_bytes() {
            return Err(VaultError::Forbidden);
        }

        // The signing key must be the account's current key at a fresh witnessed root no older than any root
        // this vault has accepted: a proof from before a key change (or a rollback) must not unlock CK.
        let root = trust
            .verify(now, opened.identity_proof(), opened.account(), opened.account_key())
            .map_err(VaultError::Identity)?;
        let advance = self.head_advance(&root)?;

        let escrow_key = escrowed_key_key(opened.account());
        let escrowed = self.read(&escrow_key, EscrowedKey::from_bytes, "escrowed contact key")?;
        // The key to store (an upload) or to release (a retrieval).
        let (key, upload) = match (opened.uploaded_key().cloned(), escrowed) {
            (Some(_), Some(_)) => return Err(VaultError::AlreadyEscrowed),
            (None, None) => return Err(VaultError::NotEscrowed),
            (Some(key), None) => (key, true),
            (None, Some((_, EscrowedKey(key)))) => (key, false),
        };

        // Every check is done; the writes come in this order so that a conflict or a store failure part way
        // leaves nothing that changes a later answer. The newest root first: moving it forward is right whatever
        // happens next. The stored key next: a failure after it leaves the session usable, and the device's retry
        // of the same auth gets `AlreadyEscrowed` only if the upload landed. Consuming the session last: the reply
        // exists only once it is consumed, so a session answers at most once.
        if let Some((expected, seen)) = advance {
            self.write(KT_HEAD_KEY, expected, Some(&seen.to_bytes()))?;
        }
        let reply = if upload {
            self.write(&escrow_key, None, Some(&EscrowedKey(key).to_bytes()))?;
            self.write(&session_key, Some(session_version), None)?;
            opened.reply_stored()
        } else {
            self.write(&session_key, Some(session_version), None)?;
            opened.reply_released(&key)
        };
        self.uncount_pending(1);
        Ok(Response::IplsReply(reply))
    }

    /// The key-transparency trust IPLS requests need.
    fn trust(&self) -> Outcome<&KeyTransparency, S> {
        self.key_transparency
            .as_ref()
            .ok_or(VaultError::KeyTransparencyNotConfigured)
    }

    /// Refuses a root older than the newest one this vault accepted, or another digest at its epoch; returns the
    /// write that records `root` as the newest (the head's current version, and the new head), if it is newer.
    fn head_advance(&self, root: &VerifiedRoot) -> Outcome<Option<(Option<u64>, KtHead)>, S> {
        let seen = KtHead {
            epoch: root.epoch(),
            digest: *root.digest(),
        };
        match self.read(KT_HEAD_KEY, KtHead::from_bytes, "key-transparency head")? {
            Some((_, newest)) if seen.epoch < newest.epoch => Err(VaultError::Identity(IdentityError::StaleRoot {
                epoch: seen.epoch,
                newest: newest.epoch,
            })),
            Some((_, newest)) if seen.epoch == newest.epoch && seen.digest != newest.digest => {
                Err(VaultError::Identity(IdentityError::ForkedRoot { epoch: seen.epoch }))
            }
            Some((_, newest)) if seen == newest => Ok(None),
            Some((version, _)) => Ok(Some((Some(version), seen))),
            None => Ok(Some((None, seen))),
        }
    }

    /// Records a witness-signed root (Plexi protobuf `SignedRoot`) as the newest, so that identity proofs against
    /// older roots are refused from now on, whether or not any IPLS session used the new root yet.
    pub(super) fn observe_root(&self, now: u64, signed_root: &[u8]) -> Outcome<Response, S> {
        let trust = self.trust()?;
        let root = trust.verify_root(now, signed_root).map_err(VaultError::Identity)?;
        if let Some((expected, seen)) = self.head_advance(&root)? {
            self.write(KT_HEAD_KEY, expected, Some(&seen.to_bytes()))?;
        }
        Ok(Response::RootObserved { epoch: root.epoch() })
    }
}
