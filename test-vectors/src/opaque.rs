//! Replaying an OPAQUE exchange from RFC 9807-style inputs through opaque-ke, for our configuration
//! ([`backup_protocol::Suite`]) and for [`RfcSuite`], the same configuration with the RFC's `Identity` KSF.
//!
//! opaque-ke draws every random value from the rng it is given, in a fixed order; [`ReplayRng`] hands it the
//! RFC's inputs in that order, so that the exchange is the RFC's exchange:
//!
//! | call | draws, in order |
//! |---|---|
//! | `ClientRegistration::start` | blind (64 bytes, reduced mod l: the 32-byte scalar, then 32 zero bytes) |
//! | `ClientRegistration::finish` | envelope_nonce |
//! | `ClientLogin::start` | blind (as above), client_keyshare_seed, client_nonce |
//! | `ServerLogin::start` | masking key of the stand-in record for an unknown user (64 bytes; used only when there is no record), masking_nonce, server_keyshare_seed, server_nonce |
//! | `ClientLogin::finish` | nothing |
//!
//! The server's `ServerSetup` is assembled from the RFC's `oprf_seed` and `server_private_key`; its stand-in public
//! key for unknown users is the RFC's `client_public_key` in the fake-record vectors (and the ristretto255 base point
//! otherwise, where it is not used).

use std::collections::BTreeMap;

use backup_protocol::Suite;
use hkdf::Hkdf;
use opaque_ke::errors::{InternalError, ProtocolError};
use opaque_ke::generic_array::GenericArray;
use opaque_ke::ksf::{Identity, Ksf};
use opaque_ke::{
    CipherSuite, ClientLogin, ClientLoginFinishParameters, ClientRegistration, ClientRegistrationFinishParameters,
    CredentialFinalization, CredentialRequest, CredentialResponse, Identifiers, RegistrationRequest,
    RegistrationResponse, RegistrationUpload, Ristretto255, ServerLogin, ServerLoginParameters, ServerRegistration,
    ServerSetup, TripleDh,
};
use rand_core::{CryptoRng, Error as RandError, RngCore};
use serde_json::{Map, Value};
use sha2::Sha512;

/// The compressed ristretto255 base point (RFC 9496).
const BASE_POINT: [u8; 32] = [
    0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b,
    0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76,
];

/// Length of a ristretto255 element and of a nonce.
const N: usize = 32;
/// Length of a SHA-512 output.
const NH: usize = 64;

/// Our configuration with RFC 9807's `Identity` KSF in place of Argon2id: the configuration the RFC's
/// ristretto255 vectors use. Everything but the KSF is taken from [`backup_protocol::Suite`].
#[derive(Debug, Clone, Copy)]
pub struct RfcSuite;

impl CipherSuite for RfcSuite {
    type OprfCs = <Suite as CipherSuite>::OprfCs;
    type KeyExchange = <Suite as CipherSuite>::KeyExchange;
    type Ksf = Identity;
}

/// An "rng" that returns given bytes in order: for replaying test vectors only, never for keys.
pub struct ReplayRng {
    bytes: Vec<u8>,
    position: usize,
}

impl ReplayRng {
    /// Serves `chunks` one after the other.
    pub fn new(chunks: &[&[u8]]) -> Self {
        Self {
            bytes: chunks.concat(),
            position: 0,
        }
    }

    /// Whether every byte was drawn.
    pub fn is_exhausted(&self) -> bool {
        self.position == self.bytes.len()
    }
}

impl RngCore for ReplayRng {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.try_fill_bytes(dest)
            .expect("the vector supplies every random value the exchange draws");
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        let end = self.position + dest.len();
        let source = self
            .bytes
            .get(self.position..end)
            .ok_or_else(|| RandError::from(core::num::NonZeroU32::new(RandError::CUSTOM_START).expect("nonzero")))?;
        dest.copy_from_slice(source);
        self.position = end;
        Ok(())
    }
}

// Test vectors only: the bytes are chosen by the vector, which is the point.
impl CryptoRng for ReplayRng {}

/// The inputs of one exchange, named as in RFC 9807's vectors (appendix C), plus our extensions.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Hex fields by RFC name.
    pub fields: BTreeMap<String, Vec<u8>>,
}

impl Inputs {
    /// Reads every hex field of a JSON object.
    pub fn from_json(object: &Map<String, Value>) -> Result<Self, String> {
        let mut fields = BTreeMap::new();
        for (name, value) in object {
            let text = value.as_str().ok_or_else(|| format!("input {name} is not a string"))?;
            fields.insert(
                name.clone(),
                hex::decode(text).map_err(|error| format!("input {name}: {error}"))?,
            );
        }
        Ok(Self { fields })
    }

    /// A required field.
    pub fn get(&self, name: &str) -> Result<&[u8], String> {
        self.fields
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("missing input {name}"))
    }

    /// An optional field.
    pub fn optional(&self, name: &str) -> Option<&[u8]> {
        self.fields.get(name).map(Vec::as_slice)
    }

    fn identifiers(&self) -> Identifiers<'_> {
        Identifiers {
            client: self.optional("client_identity"),
            server: self.optional("server_identity"),
        }
    }

    /// The password used at login: `login_password` (our extension, for wrong-password vectors) or `password`.
    fn login_password(&self) -> Result<&[u8], String> {
        self.optional("login_password").map_or_else(|| self.get("password"), Ok)
    }

    /// The context the client uses: `client_context` (our extension, for mismatch vectors) or `context`.
    fn client_context(&self) -> Result<&[u8], String> {
        self.optional("client_context").map_or_else(|| self.get("context"), Ok)
    }
}

/// Why a replay stopped.
#[derive(Debug)]
pub enum Failure {
    /// The vector lacks an input or a message is not hex.
    Vector(String),
    /// opaque-ke rejected a message at the named step.
    Protocol {
        /// The step: `server_registration_start`, `client_registration_finish`, `server_login_start`,
        /// `client_login_finish` or `server_login_finish`.
        step: &'static str,
        /// The error category: `InvalidLogin` (a MAC or the envelope did not verify), `Deserialization` (a group
        /// element or scalar that does not decode), `ReflectedValue` or `Other`.
        error: &'static str,
    },
}

impl From<String> for Failure {
    fn from(error: String) -> Self {
        Self::Vector(error)
    }
}

fn category<T>(error: &ProtocolError<T>) -> &'static str {
    match error {
        ProtocolError::InvalidLoginError => "InvalidLogin",
        ProtocolError::SerializationError
        | ProtocolError::LibraryError(InternalError::OprfError(voprf::Error::Deserialization)) => "Deserialization",
        ProtocolError::ReflectedValueError => "ReflectedValue",
        _ => "Other",
    }
}

fn protocol<T>(step: &'static str) -> impl FnOnce(ProtocolError<T>) -> Failure {
    move |error| Failure::Protocol {
        step,
        error: category(&error),
    }
}

/// Every message and key an exchange produced, by RFC name (`registration_request`, `registration_response`,
/// `registration_upload`, `KE1`, `KE2`, `KE3`, `export_key`, `session_key`), plus `login_export_key` and
/// `server_session_key`, the other party's copies.
pub type Outputs = BTreeMap<&'static str, Vec<u8>>;

/// The blind as the 64 bytes opaque-ke's rng draw reduces mod l to that scalar.
fn blind_draw(blind: &[u8]) -> Vec<u8> {
    [blind, &[0; 32]].concat()
}

fn server_setup<CS>(inputs: &Inputs, stand_in_public_key: &[u8]) -> Result<ServerSetup<CS>, Failure>
where
    CS: CipherSuite<OprfCs = Ristretto255, KeyExchange = TripleDh<Ristretto255, Sha512>>,
{
    let bytes = [
        inputs.get("oprf_seed")?,
        inputs.get("server_private_key")?,
        stand_in_public_key,
    ]
    .concat();
    ServerSetup::<CS>::deserialize(&bytes).map_err(protocol("server_setup"))
}

/// Runs registration then login with the vector's inputs. Each party consumes the message given in `given` under
/// its RFC name if there is one (a vector's possibly altered message), else the one its peer just produced.
/// Returns what each party produced, and the first failure, if any.
pub fn replay<CS>(inputs: &Inputs, ksf: &CS::Ksf, given: &Outputs) -> (Outputs, Result<(), Failure>)
where
    CS: CipherSuite<OprfCs = Ristretto255, KeyExchange = TripleDh<Ristretto255, Sha512>>,
{
    let mut produced = Outputs::new();
    let outcome = run::<CS>(inputs, ksf, given, &mut produced);
    (produced, outcome)
}

#[allow(clippy::too_many_lines)] // one exchange, step by step
fn run<CS>(inputs: &Inputs, ksf: &CS::Ksf, given: &Outputs, produced: &mut Outputs) -> Result<(), Failure>
where
    CS: CipherSuite<OprfCs = Ristretto255, KeyExchange = TripleDh<Ristretto255, Sha512>>,
{
    let pick = |produced: &Outputs, name: &'static str| -> Vec<u8> {
        given
            .get(name)
            .or_else(|| produced.get(name))
            .cloned()
            .unwrap_or_default()
    };
    let setup = server_setup::<CS>(inputs, &BASE_POINT)?;
    let credential_identifier = inputs.get("credential_identifier")?;
    let password = inputs.get("password")?;

    // Registration.
    let mut rng = ReplayRng::new(&[&blind_draw(inputs.get("blind_registration")?)]);
    let client = ClientRegistration::<CS>::start(&mut rng, password).map_err(protocol("client_registration_start"))?;
    produced.insert("registration_request", client.message.serialize().to_vec());

    let request = RegistrationRequest::<CS>::deserialize(&pick(produced, "registration_request"))
        .map_err(protocol("server_registration_start"))?;
    let server = ServerRegistration::<CS>::start(&setup, request, credential_identifier)
        .map_err(protocol("server_registration_start"))?;
    produced.insert("registration_response", server.message.serialize().to_vec());

    let response = RegistrationResponse::<CS>::deserialize(&pick(produced, "registration_response"))
        .map_err(protocol("client_registration_finish"))?;
    let mut rng = ReplayRng::new(&[inputs.get("envelope_nonce")?]);
    let finished = client
        .state
        .finish(
            &mut rng,
            password,
            response,
            ClientRegistrationFinishParameters::new(inputs.identifiers(), Some(ksf)),
        )
        .map_err(protocol("client_registration_finish"))?;
    produced.insert("registration_upload", finished.message.serialize().to_vec());
    produced.insert("export_key", finished.export_key.to_vec());

    let upload = RegistrationUpload::<CS>::deserialize(&pick(produced, "registration_upload"))
        .map_err(protocol("server_registration_finish"))?;
    let record = ServerRegistration::finish(upload);

    // Login.
    let login_password = inputs.login_password()?;
    let mut rng = ReplayRng::new(&[
        &blind_draw(inputs.get("blind_login")?),
        inputs.get("client_keyshare_seed")?,
        inputs.get("client_nonce")?,
    ]);
    let client = ClientLogin::<CS>::start(&mut rng, login_password).map_err(protocol("client_login_start"))?;
    produced.insert("KE1", client.message.serialize().to_vec());

    let context = inputs.get("context")?;
    let ke1 = CredentialRequest::<CS>::deserialize(&pick(produced, "KE1")).map_err(protocol("server_login_start"))?;
    let mut rng = ReplayRng::new(&[
        &[0; NH],
        inputs.get("masking_nonce")?,
        inputs.get("server_keyshare_seed")?,
        inputs.get("server_nonce")?,
    ]);
    let server = ServerLogin::start(
        &mut rng,
        &setup,
        Some(record),
        ke1,
        credential_identifier,
        ServerLoginParameters {
            context: Some(context),
            identifiers: inputs.identifiers(),
        },
    )
    .map_err(protocol("server_login_start"))?;
    produced.insert("KE2", server.message.serialize().to_vec());

    let ke2 = CredentialResponse::<CS>::deserialize(&pick(produced, "KE2")).map_err(protocol("client_login_finish"))?;
    let mut rng = ReplayRng::new(&[]);
    let finished = client
        .state
        .finish(
            &mut rng,
            login_password,
            ke2,
            ClientLoginFinishParameters::new(Some(inputs.client_context()?), inputs.identifiers(), Some(ksf)),
        )
        .map_err(protocol("client_login_finish"))?;
    produced.insert("KE3", finished.message.serialize().to_vec());
    produced.insert("session_key", finished.session_key.to_vec());
    produced.insert("login_export_key", finished.export_key.to_vec());

    let ke3 =
        CredentialFinalization::<CS>::deserialize(&pick(produced, "KE3")).map_err(protocol("server_login_finish"))?;
    let done = server
        .state
        .finish(
            ke3,
            ServerLoginParameters {
                context: Some(context),
                identifiers: inputs.identifiers(),
            },
        )
        .map_err(protocol("server_login_finish"))?;
    produced.insert("server_session_key", done.session_key.to_vec());
    Ok(())
}

/// RFC 9807's fake-record path: the server answers KE1 for a user it has no record of, with the stand-in public key
/// `client_public_key` and masking key `masking_key` from the inputs. Returns KE2.
pub fn fake_ke2<CS>(inputs: &Inputs, ke1: &[u8]) -> Result<Vec<u8>, Failure>
where
    CS: CipherSuite<OprfCs = Ristretto255, KeyExchange = TripleDh<Ristretto255, Sha512>>,
{
    let setup = server_setup::<CS>(inputs, inputs.get("client_public_key")?)?;
    let ke1 = CredentialRequest::<CS>::deserialize(ke1).map_err(protocol("server_login_start"))?;
    let mut rng = ReplayRng::new(&[
        inputs.get("masking_key")?,
        inputs.get("masking_nonce")?,
        inputs.get("server_keyshare_seed")?,
        inputs.get("server_nonce")?,
    ]);
    let server = ServerLogin::start(
        &mut rng,
        &setup,
        None,
        ke1,
        inputs.get("credential_identifier")?,
        ServerLoginParameters {
            context: Some(inputs.get("context")?),
            identifiers: inputs.identifiers(),
        },
    )
    .map_err(protocol("server_login_start"))?;
    if !rng.is_exhausted() {
        return Err(Failure::Vector("the fake KE2 did not draw every input".into()));
    }
    Ok(server.message.serialize().to_vec())
}

fn expand(prk: &[u8], info: &[&[u8]], length: usize) -> Result<Vec<u8>, String> {
    let hkdf = Hkdf::<Sha512>::from_prk(prk).map_err(|_| "pseudorandom key too short".to_string())?;
    let mut out = vec![0; length];
    hkdf.expand_multi_info(info, &mut out)
        .map_err(|_| "HKDF output too long".to_string())?;
    Ok(out)
}

/// The intermediates of the registration, by RFC name: `oprf_output` (ours: the OPRF output, from voprf),
/// `randomized_password`, `masking_key`, `auth_key`, `client_public_key`, `envelope`, `server_public_key`; fails if
/// the derived masking key, export key or envelope nonce disagree with the messages.
///
/// The OPRF output is recomputed with voprf from the blind and the registration response; the key schedule of
/// RFC 9807 section 4 (HKDF-SHA512) is recomputed here; `client_public_key`, `masking_key` and `envelope` are
/// read from the registration upload, so that [`replay`]'s output and this derivation check each other.
pub fn intermediates<CS>(
    inputs: &Inputs,
    ksf: &CS::Ksf,
    outputs: &Outputs,
) -> Result<BTreeMap<&'static str, Vec<u8>>, String>
where
    CS: CipherSuite<OprfCs = Ristretto255, KeyExchange = TripleDh<Ristretto255, Sha512>>,
{
    let password = inputs.get("password")?;
    let response = outputs.get("registration_response").ok_or("no registration_response")?;
    let upload = outputs.get("registration_upload").ok_or("no registration_upload")?;
    if response.len() != 2 * N || upload.len() != N + NH + N + NH {
        return Err("registration messages of the wrong length".into());
    }
    let mut rng = ReplayRng::new(&[&blind_draw(inputs.get("blind_registration")?)]);
    let blinded = voprf::OprfClient::<Ristretto255>::blind(password, &mut rng).map_err(|error| error.to_string())?;
    let evaluation =
        voprf::EvaluationElement::<Ristretto255>::deserialize(&response[..N]).map_err(|error| error.to_string())?;
    let oprf_output = blinded
        .state
        .finalize(password, &evaluation)
        .map_err(|error| error.to_string())?;
    let stretched = ksf
        .hash(GenericArray::<u8, opaque_ke::generic_array::typenum::U64>::clone_from_slice(&oprf_output))
        .map_err(|_| "KSF failed".to_string())?;
    let (randomized_password, _) = Hkdf::<Sha512>::extract(None, &[oprf_output.as_slice(), &stretched].concat());
    let nonce = inputs.get("envelope_nonce")?;
    let setup = server_setup::<CS>(inputs, &BASE_POINT).map_err(|_| "bad server key material".to_string())?;
    let masking_key = expand(&randomized_password, &[b"MaskingKey"], NH)?;
    if masking_key != upload[N..N + NH] {
        return Err("masking_key differs from the one in registration_upload".into());
    }
    if Some(&expand(&randomized_password, &[nonce, b"ExportKey"], NH)?) != outputs.get("export_key") {
        return Err("export_key differs from Expand(randomized_password, envelope_nonce || \"ExportKey\")".into());
    }
    if upload[N + NH..N + NH + N] != *nonce {
        return Err("the envelope does not start with envelope_nonce".into());
    }
    Ok(BTreeMap::from([
        ("oprf_output", oprf_output.to_vec()),
        ("randomized_password", randomized_password.to_vec()),
        ("masking_key", masking_key),
        ("auth_key", expand(&randomized_password, &[nonce, b"AuthKey"], NH)?),
        ("client_public_key", upload[..N].to_vec()),
        ("envelope", upload[N + NH..].to_vec()),
        ("server_public_key", setup.keypair().public().serialize().to_vec()),
    ]))
}
