//! Cross-language test vectors for the workspace's specifications.
//!
//! One JSON file per family in `vectors/`, Wycheproof-style (`algorithm`, `schema`, `numberOfTests`, `notes`,
//! `generator`, `testGroups[].tests[]` with `tcId`, `comment`, `flags`, `result` and hex fields), with every
//! intermediate value so that another implementation can check each step with a general crypto library, and
//! negative vectors naming the expected error. `schemas/` holds their JSON Schemas.
//!
//! - `cargo run -p test-vectors --bin generate` rewrites both directories; `-- --check` verifies that the
//!   committed files are exactly what the generator produces (it is deterministic: fixed seeds, no clock).
//! - The Rust consumer ([`Family::check`], run by this crate's tests) checks every vector against the crates.
//! - `python/check_vectors.py` is an independent consumer: it re-derives every value it can with the
//!   `cryptography` package and `hashlib`, without any of this workspace's code. What it cannot re-derive (it has
//!   no ristretto255) is named in each file's `notes`.
//! - `tests/opaque_rfc9807.rs` runs RFC 9807's own vectors (`third_party/`) through opaque-ke with our OPAQUE
//!   configuration ([`opaque::RfcSuite`]: ours with the RFC's `Identity` KSF).
//!
//! Families: `recovery_key`, `backup_key_wrap`, `backup_stream`, `vault_messages` (backup-protocol),
//! `opaque_messages` (our OPAQUE exchanges in RFC 9807's layout), `fleet_bundle` (fleet-bundle), `ipls_sealing` and
//! `ipls_escrow` (ipls), `witness_signature` and `security_code` (kt-verify), `vault_commands` (vault-core's command
//! log, response and principal encodings), `kt_lookup`, `kt_history` and `kt_audit` (kt-verify: real akd 0.13
//! proofs).

// The generators run the crates on fixed, valid inputs; their `expect`s state why those cannot fail.
#![allow(clippy::missing_panics_doc)]

pub mod fleet_bundle;
pub mod fuzz;
pub mod ipls_escrow;
pub mod ipls_sealing;
pub mod json;
pub mod key_wrap;
pub mod kt_audit;
pub mod kt_bench;
mod kt_directory;
pub mod kt_history;
pub mod kt_lookup;
pub mod opaque;
pub mod opaque_messages;
pub mod recovery_key;
pub mod schema;
pub mod security_code;
pub mod stream;
pub mod vault_commands;
pub mod vault_messages;
pub mod vault_replica;
pub mod witness_signature;

use schema::Field::{DecimalU64, DecimalU64Array, Hex, HexArray, HexObject, Integer, Text, U32};
use serde_json::Value;

/// One vector family: its file name, generator, checker and schema.
pub struct Family {
    /// File stem in `vectors/` and `schemas/`.
    pub name: &'static str,
    /// Builds the vector file.
    pub generate: fn() -> Value,
    /// Checks a vector file against the implementation; returns how many tests were checked.
    pub check: fn(&Value) -> Result<usize, String>,
    /// Builds the family's JSON Schema.
    pub schema: fn() -> Value,
}

/// Every family.
pub const FAMILIES: [Family; 15] = [
    Family {
        name: "recovery_key",
        generate: recovery_key::generate,
        check: recovery_key::check,
        schema: || {
            schema::for_family(
                "recovery key",
                &["RecoveryKeyFormat", "RecoveryKeyParse"],
                &[
                    ("key", Hex),
                    ("recoveryKey", Text),
                    ("input", Text),
                    ("position", U32),
                    ("digits", U32),
                ],
            )
        },
    },
    Family {
        name: "backup_key_wrap",
        generate: key_wrap::generate,
        check: key_wrap::check,
        schema: || {
            schema::for_family(
                "backup key wrap",
                &["WrapK", "KeyRelease"],
                &[
                    ("exportKey", Hex),
                    ("userId", Hex),
                    ("challenge", Hex),
                    ("kNonce", Hex),
                    ("key", Hex),
                    ("opaqueKInfo", Hex),
                    ("opaqueK", Hex),
                    ("aad", Hex),
                    ("ek", Hex),
                    ("sessionKey", Hex),
                    ("nonce", Hex),
                    ("sharedKInfo", Hex),
                    ("sharedK", Hex),
                    ("plaintext", Hex),
                    ("sealed", Hex),
                ],
            )
        },
    },
    Family {
        name: "backup_stream",
        generate: stream::generate,
        check: stream::check,
        schema: || {
            schema::for_family(
                "backup stream",
                &["StreamEncrypt", "StreamReject"],
                &[
                    ("key", Hex),
                    ("salt", Hex),
                    ("plaintext", Hex),
                    ("fileKeyInfo", Hex),
                    ("noncePrefixInfo", Hex),
                    ("fileKey", Hex),
                    ("noncePrefix", Hex),
                    ("header", Hex),
                    ("segmentNonces", HexArray),
                    ("file", Hex),
                    ("decodeError", Text),
                    ("found", U32),
                    ("expected", U32),
                    ("segmentIndex", U32),
                ],
            )
        },
    },
    Family {
        name: "vault_messages",
        generate: vault_messages::generate,
        check: vault_messages::check,
        schema: || {
            schema::for_family(
                "vault messages",
                &[
                    "Registration",
                    "RegistrationReceipt",
                    "Login",
                    "DeletionReceipt",
                    "UnknownUser",
                    "Api",
                ],
                &[
                    ("userId", Hex),
                    ("fleetKey", Hex),
                    ("opaqueServerKey", Hex),
                    ("password", Hex),
                    ("key", Hex),
                    ("clientRandomness", Hex),
                    ("registrationRequest", Hex),
                    ("registrationResponse", Hex),
                    ("registrationUpload", Hex),
                    ("challenge", Hex),
                    ("uploadBody", Hex),
                    ("storedUpload", Hex),
                    ("registrationReceipt", Hex),
                    ("loginRequest", Hex),
                    ("loginResponse", Hex),
                    ("loginFinalization", Hex),
                    ("keyRelease", Hex),
                    ("purpose", Integer),
                    ("ksfParams", Hex),
                    ("guessesRemaining", U32),
                    ("signedBytes", Hex),
                    ("signature", Hex),
                    ("sessionKey", Hex),
                    ("deletedKInfo", Hex),
                    ("deletedK", Hex),
                    ("macInput", Hex),
                    ("tag", Hex),
                    ("deletionReceipt", Hex),
                    ("vaultKeys", Hex),
                    ("oprfSeed", Hex),
                    ("fakeChallengeInfo", Hex),
                    ("fakeChallenge", Hex),
                    ("credentialIdentifier", Hex),
                    ("vaultRandomness", Hex),
                    ("call", Text),
                    ("what", Text),
                    ("message", Hex),
                    ("decodeError", Text),
                    ("found", Integer),
                    ("expected", Integer),
                    ("invalidField", Text),
                    ("ksfMemoryKib", U32),
                    ("ksfIterations", U32),
                    ("ksfParallelism", U32),
                    ("pendingRegistration", Hex),
                    ("record", Hex),
                    ("vaultLoginState", Hex),
                ],
            )
        },
    },
    Family {
        name: "fleet_bundle",
        generate: fleet_bundle::generate,
        check: fleet_bundle::check,
        schema: || {
            schema::for_family(
                "fleet validation bundle",
                &[
                    "SignedBundle",
                    "DeploymentRecord",
                    "Artifact",
                    "DeploymentLog",
                    "Anchors",
                    "Responder",
                ],
                &[
                    ("fleetId", Text),
                    ("now", DecimalU64),
                    ("epoch", DecimalU64),
                    ("issuedAt", DecimalU64),
                    ("expiresAt", DecimalU64),
                    ("witnessKey", Hex),
                    ("operatorKey", Hex),
                    ("body", Hex),
                    ("witnessSignedBytes", Hex),
                    ("witnessSignature", Hex),
                    ("operatorSignedBytes", Hex),
                    ("operatorSignature", Hex),
                    ("signedBundle", Hex),
                    ("artifact", Hex),
                    ("signedRecord", Hex),
                    ("stateFleetId", Text),
                    ("stateEpoch", DecimalU64),
                    ("stateBodyDigest", Hex),
                    ("lastAccepted", DecimalU64),
                    ("decodeError", Text),
                    ("fleetIdError", Text),
                    ("keyError", Text),
                    ("party", Text),
                    ("role", Text),
                    ("index", U32),
                    ("count", U32),
                    ("found", Integer),
                    ("expected", Integer),
                    ("artifactPadding", U32),
                    ("canonical", Hex),
                    ("foundFleetId", Text),
                    ("length", U32),
                    ("max", U32),
                    ("artifactError", Text),
                    ("jsonError", Text),
                    ("line", U32),
                    ("column", U32),
                    ("keySetError", Text),
                    ("recordEpoch", DecimalU64),
                    ("artifactEpoch", DecimalU64),
                    ("signedRecords", HexArray),
                    ("artifacts", HexArray),
                    ("deploymentError", Text),
                    ("lastEpoch", DecimalU64),
                    ("expectedEpoch", DecimalU64),
                    ("foundEpoch", DecimalU64),
                    ("acceptedRecord", Hex),
                    ("conflictingRecord", Hex),
                    ("responderKey", Hex),
                    ("responderRole", Text),
                    ("responderNow", DecimalU64),
                    ("listedAs", Text),
                ],
            )
        },
    },
    Family {
        name: "ipls_sealing",
        generate: ipls_sealing::generate,
        check: ipls_sealing::check,
        schema: || {
            schema::for_family(
                "IPLS contact sealing",
                &["ContactSealing"],
                &[
                    ("contactKey", Hex),
                    ("accountId", Hex),
                    ("contactId", Hex),
                    ("record", Hex),
                    ("accountKeyInfo", Hex),
                    ("aad", Hex),
                    ("nonce", Hex),
                    ("sealed", Hex),
                    ("found", Integer),
                ],
            )
        },
    },
    Family {
        name: "ipls_escrow",
        generate: ipls_escrow::generate,
        check: ipls_escrow::check,
        schema: || {
            schema::for_family(
                "IPLS escrow session",
                &[
                    "EscrowSession",
                    "EscrowReject",
                    "EscrowIdentityReject",
                    "VaultEscrow",
                    "EscrowDecode",
                ],
                &[
                    ("vaultSecret", Hex),
                    ("clientSecret", Hex),
                    ("challenge", Hex),
                    ("vaultEphemeral", Hex),
                    ("accountId", Hex),
                    ("accountSeed", Hex),
                    ("contactKey", Hex),
                    ("purpose", Text),
                    ("identityProof", Hex),
                    ("vaultPublic", Hex),
                    ("clientShare", Hex),
                    ("vaultShare", Hex),
                    ("accountPublic", Hex),
                    ("hello", Hex),
                    ("staticShared", Hex),
                    ("ephemeralShared", Hex),
                    ("sessionKeysInfo", Hex),
                    ("clientToVaultKey", Hex),
                    ("vaultToClientKey", Hex),
                    ("transcript", Hex),
                    ("confirmAad", Hex),
                    ("challengeMessage", Hex),
                    ("signedMessage", Hex),
                    ("signature", Hex),
                    ("payload", Hex),
                    ("authAad", Hex),
                    ("auth", Hex),
                    ("replyTranscript", Hex),
                    ("replyAad", Hex),
                    ("reply", Hex),
                    ("refusedBy", Text),
                    ("signedRoot", Hex),
                    ("lookupProof", Hex),
                    ("rootEpoch", DecimalU64),
                    ("rootDigest", Hex),
                    ("rootTimestampMs", DecimalU64),
                    ("witnessPublicKey", Hex),
                    ("witnessKeyId", U32),
                    ("namespace", Text),
                    ("maxAgeMs", DecimalU64),
                    ("vrfPublicKey", Hex),
                    ("nowMs", DecimalU64),
                    ("newestEpoch", DecimalU64),
                    ("newestDigest", Hex),
                    ("errorEpoch", DecimalU64),
                    ("errorNewest", DecimalU64),
                    ("keyFile", Hex),
                    ("witnessNotBeforeMs", DecimalU64),
                    ("setupCommands", HexArray),
                    ("setupResponses", HexArray),
                    ("command", Hex),
                    ("response", Hex),
                    ("invalidField", Text),
                    ("found", U32),
                    ("messageType", Text),
                    ("message", Hex),
                    ("expected", U32),
                    ("wireType", U32),
                    ("count", U32),
                    ("errorKeyId", U32),
                    ("errorTimestampMs", DecimalU64),
                    ("errorNotBeforeMs", DecimalU64),
                    ("errorNowMs", DecimalU64),
                    ("errorVersion", DecimalU64),
                    ("errorValueEpoch", DecimalU64),
                    ("storedValue", Text),
                    ("storeKeys", HexArray),
                    ("storeValues", HexArray),
                ],
            )
        },
    },
    Family {
        name: "witness_signature",
        generate: witness_signature::generate,
        check: witness_signature::check,
        schema: || {
            schema::for_family(
                "Plexi witness signature",
                &["WitnessSignature", "SignedRootDecode", "KeySet", "Ciphersuite"],
                &[
                    ("ciphersuite", U32),
                    ("namespace", Text),
                    ("timestampMs", DecimalU64),
                    ("epoch", DecimalU64),
                    ("digest", Hex),
                    ("keyId", U32),
                    ("signedMessage", Hex),
                    ("signature", Hex),
                    ("signedRoot", Hex),
                    ("publicKey", Hex),
                    ("privateKey", Hex),
                    ("verifierNamespace", Text),
                    ("notBeforeMs", DecimalU64),
                    ("maxAgeMs", DecimalU64),
                    ("nowMs", DecimalU64),
                    ("source", Text),
                    ("expected", U32),
                    ("found", U32),
                    ("wireType", U32),
                    ("count", U32),
                    ("publicKeys", HexArray),
                    ("keyIds", Hex),
                    ("duplicateKeyId", U32),
                    ("id", U32),
                    ("errorKeyId", U32),
                    ("errorTimestampMs", DecimalU64),
                    ("errorNotBeforeMs", DecimalU64),
                    ("errorNowMs", DecimalU64),
                ],
            )
        },
    },
    Family {
        name: "security_code",
        generate: security_code::generate,
        check: security_code::check,
        schema: || {
            schema::for_family(
                "security code",
                &["SecurityCode", "QrPayloadScan"],
                &[
                    ("version", U32),
                    ("localId", Hex),
                    ("localKey", Hex),
                    ("remoteId", Hex),
                    ("remoteKey", Hex),
                    ("iterations", U32),
                    ("localFingerprintInput", Hex),
                    ("localHash", Hex),
                    ("localDigits", Text),
                    ("remoteFingerprintInput", Hex),
                    ("remoteHash", Hex),
                    ("remoteDigits", Text),
                    ("digits", Text),
                    ("qrPayload", Hex),
                    ("scannedPayload", Hex),
                    ("decodeError", Text),
                    ("expected", U32),
                    ("found", U32),
                    ("wireType", U32),
                    ("count", U32),
                    ("ours", U32),
                    ("theirs", U32),
                    ("source", Text),
                ],
            )
        },
    },
    Family {
        name: "opaque_messages",
        generate: opaque_messages::generate,
        check: opaque_messages::check,
        schema: || {
            schema::for_family(
                "OPAQUE exchanges in RFC 9807's layout",
                &["OpaqueExchange", "OpaqueRejection"],
                &[
                    ("ksfMemoryKib", Integer),
                    ("ksfIterations", Integer),
                    ("ksfParallelism", Integer),
                    ("inputs", HexObject),
                    ("intermediates", HexObject),
                    ("outputs", HexObject),
                    ("failingStep", Text),
                ],
            )
        },
    },
    Family {
        name: "vault_commands",
        generate: vault_commands::generate,
        check: vault_commands::check,
        schema: || {
            schema::for_family(
                "vault-core command log, responses and principals",
                &[
                    "Principal",
                    "PrincipalReject",
                    "Command",
                    "CommandReject",
                    "Response",
                    "ResponseReject",
                ],
                &[
                    ("principal", Hex),
                    ("principalKind", Text),
                    ("accountId", Hex),
                    ("command", Hex),
                    ("atMs", DecimalU64),
                    ("entropy", Hex),
                    ("response", Hex),
                    ("kind", U32),
                    ("kindName", Text),
                    ("sessionId", Hex),
                    ("message", Hex),
                    ("messageType", U32),
                    ("messageUserId", Hex),
                    ("removed", U32),
                    ("next", Hex),
                    ("epoch", DecimalU64),
                    ("requestDigest", Hex),
                    ("authorization", Text),
                    ("invalidField", Text),
                    ("found", U32),
                    ("expected", U32),
                ],
            )
        },
    },
    Family {
        name: "kt_lookup",
        generate: kt_lookup::generate,
        check: kt_lookup::check,
        schema: || {
            schema::for_family(
                "AKD lookup proof",
                &["KtLookup", "KtLookupReject"],
                &[
                    ("vrfPublicKey", Hex),
                    ("epoch", DecimalU64),
                    ("rootHash", Hex),
                    ("label", Hex),
                    ("proof", Hex),
                    ("version", DecimalU64),
                    ("valueEpoch", DecimalU64),
                    ("value", Hex),
                    ("failure", Text),
                    ("errorVersion", DecimalU64),
                    ("errorValueEpoch", DecimalU64),
                    ("errorEpoch", DecimalU64),
                ],
            )
        },
    },
    Family {
        name: "kt_history",
        generate: kt_history::generate,
        check: kt_history::check,
        schema: || {
            schema::for_family(
                "AKD key-history proof",
                &["KtHistory", "KtHistoryReject"],
                &[
                    ("vrfPublicKey", Hex),
                    ("epoch", DecimalU64),
                    ("rootHash", Hex),
                    ("label", Hex),
                    ("historyParams", Text),
                    ("mostRecent", U32),
                    ("proof", Hex),
                    ("versions", DecimalU64Array),
                    ("valueEpochs", DecimalU64Array),
                    ("values", HexArray),
                    ("failure", Text),
                    ("errorVersion", DecimalU64),
                    ("errorValueEpoch", DecimalU64),
                    ("errorEpoch", DecimalU64),
                ],
            )
        },
    },
    Family {
        name: "kt_audit",
        generate: kt_audit::generate,
        check: kt_audit::check,
        schema: || {
            schema::for_family(
                "AKD append-only audit blob",
                &["AuditChain", "AuditLimit", "AuditReject", "Monitor"],
                &[
                    ("name", Text),
                    ("epoch", DecimalU64),
                    ("previousHash", Hex),
                    ("currentHash", Hex),
                    ("blob", Hex),
                    ("auditorEpoch", DecimalU64),
                    ("auditorHash", Hex),
                    ("chainStartEpoch", DecimalU64),
                    ("chainStartHash", Hex),
                    ("chainEndEpoch", DecimalU64),
                    ("chainEndHash", Hex),
                    ("failure", Text),
                    ("maxBlobLen", DecimalU64),
                    ("length", DecimalU64),
                    ("max", DecimalU64),
                    ("witnessPublicKey", Hex),
                    ("namespace", Text),
                    ("maxAgeMs", DecimalU64),
                    ("nowMs", DecimalU64),
                    ("checkpoint", Hex),
                    ("signedRoot", Hex),
                    ("auditStartEpoch", DecimalU64),
                    ("auditRoots", HexArray),
                    ("auditBlobs", HexArray),
                    ("observation", Text),
                    ("fromEpoch", DecimalU64),
                    ("errorCheckpointEpoch", DecimalU64),
                    ("errorEpoch", DecimalU64),
                    ("errorCheckpointMs", DecimalU64),
                    ("errorTimestampMs", DecimalU64),
                    ("forkFirst", Hex),
                    ("forkSecond", Hex),
                    ("errorExpected", DecimalU64),
                    ("errorFound", DecimalU64),
                ],
            )
        },
    },
    Family {
        name: "vault_replica",
        generate: vault_replica::generate,
        check: vault_replica::check,
        schema: vault_replica::schema,
    },
];

/// The text a value is stored as: pretty JSON (keys sorted), newline-terminated.
pub fn render(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
