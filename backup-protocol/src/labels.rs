//! Every domain-separation label of the crate, in one place. SPEC.md lists the same constants.
//!
//! Labels are ASCII, fixed, and never a prefix of one another, so `label || fields` is unambiguous.

/// OPAQUE `context` of every login, followed by the login purpose code: binds the key exchange to this protocol
/// and to what the login is for.
pub const OPAQUE_CONTEXT: &[u8] = b"backup-protocol/v1/opaque-context";

/// Ed25519 signature context of the vault's registration response.
pub const REGISTRATION_RESPONSE_SIGNATURE: &[u8] = b"backup-protocol/v1/registration-response";

/// Ed25519 signature context of the vault's login (credential) response.
pub const LOGIN_RESPONSE_SIGNATURE: &[u8] = b"backup-protocol/v1/login-response";

/// Ed25519 signature context of the vault's registration receipt: the vault stored exactly this upload.
pub const REGISTRATION_RECEIPT_SIGNATURE: &[u8] = b"backup-protocol/v1/registration-receipt";

/// HKDF-SHA256 `info` deriving DELETED_K, the key of the deletion receipt's MAC, from the OPAQUE session key.
pub const DELETED_K_INFO: &[u8] = b"backup-protocol/v1/deleted-k";

/// HMAC-SHA256 message label of the deletion receipt.
pub const DELETION_RECEIPT_MAC: &[u8] = b"backup-protocol/v1/deletion-receipt";

/// HKDF-SHA256 `info` deriving OPAQUE_K, the key that wraps K, from the OPAQUE export key.
pub const OPAQUE_K_INFO: &[u8] = b"backup-protocol/v1/opaque-k";

/// AES-GCM associated-data label of the wrapped backup key EK.
pub const WRAPPED_KEY_AAD: &[u8] = b"backup-protocol/v1/wrapped-k";

/// HKDF-SHA256 `info` deriving SHARED_K, the key that seals the key release, from the OPAQUE session key.
pub const SHARED_K_INFO: &[u8] = b"backup-protocol/v1/shared-k";

/// AES-GCM associated-data label of the key release.
pub const KEY_RELEASE_AAD: &[u8] = b"backup-protocol/v1/key-release";

/// HKDF-SHA256 `info` deriving a backup file's AES-256-GCM key from K and the file salt.
pub const STREAM_FILE_KEY_INFO: &[u8] = b"backup-protocol/v1/stream-file-key";

/// HKDF-SHA256 `info` deriving a backup file's 7-byte nonce prefix from K and the file salt.
pub const STREAM_NONCE_PREFIX_INFO: &[u8] = b"backup-protocol/v1/stream-nonce-prefix";

/// HKDF-SHA256 `info` prefix (followed by the user id) deriving the stand-in registration challenge of an unknown
/// user from the OPAQUE OPRF seed; it selects the OPRF key of OPAQUE's fake response, so it rotates together with
/// the real records' OPRF keys.
pub const FAKE_CHALLENGE_INFO: &[u8] = b"backup-protocol/v1/fake-challenge";

/// Type codes: the second byte of every encoding, after the version byte.
pub mod type_code {
    /// [`crate::RegistrationRequest`].
    pub const REGISTRATION_REQUEST: u8 = 0x01;
    /// [`crate::RegistrationResponse`].
    pub const REGISTRATION_RESPONSE: u8 = 0x02;
    /// [`crate::RegistrationUpload`].
    pub const REGISTRATION_UPLOAD: u8 = 0x03;
    /// [`crate::RegistrationReceipt`].
    pub const REGISTRATION_RECEIPT: u8 = 0x04;
    /// [`crate::LoginRequest`].
    pub const LOGIN_REQUEST: u8 = 0x11;
    /// [`crate::LoginResponse`].
    pub const LOGIN_RESPONSE: u8 = 0x12;
    /// [`crate::LoginFinalization`].
    pub const LOGIN_FINALIZATION: u8 = 0x13;
    /// [`crate::KeyRelease`].
    pub const KEY_RELEASE: u8 = 0x14;
    /// [`crate::DeletionReceipt`].
    pub const DELETION_RECEIPT: u8 = 0x15;
    /// [`crate::BackupRecord`], as the vault stores it.
    pub const BACKUP_RECORD: u8 = 0x21;
    /// [`crate::PendingRegistration`], as the vault stores it between the two registration messages.
    pub const PENDING_REGISTRATION: u8 = 0x22;
    /// [`crate::VaultLoginState`], as the vault stores it between the two login messages.
    pub const VAULT_LOGIN_STATE: u8 = 0x23;
    /// [`crate::VaultKeys`], the vault's secret key file.
    pub const VAULT_KEYS: u8 = 0x31;
    /// The header of a streamed backup file.
    pub const STREAM_HEADER: u8 = 0x41;
}
