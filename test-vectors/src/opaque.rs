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
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
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

/// An rng that hands out another rng's bytes and keeps a copy of every byte drawn, in order: what a party drew in
/// an exchange, so that a vector can carry it and a consumer can replay the party with [`ReplayRng`].
pub struct RecordingRng<R> {
    inner: R,
    drawn: Vec<u8>,
}

impl<R: RngCore> RecordingRng<R> {
    /// Records what `inner` hands out.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            drawn: Vec::new(),
        }
    }

    /// Every byte drawn so far, in order.
    pub fn drawn(&self) -> &[u8] {
        &self.drawn
    }
}

impl<R: RngCore> RngCore for RecordingRng<R> {
    // Through `fill_bytes`, as `ReplayRng` does, so that a replay hands out the same integers.
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest);
        self.drawn.extend_from_slice(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        self.inner.try_fill_bytes(dest)?;
        self.drawn.extend_from_slice(dest);
        Ok(())
    }
}

impl<R: CryptoRng> CryptoRng for RecordingRng<R> {}

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

/// Every replayed byte must be drawn: otherwise opaque-ke did not consume the vector's randomness as the table in
/// the module documentation says.
fn drawn_all(rng: &ReplayRng) -> Result<(), Failure> {
    if rng.is_exhausted() {
        Ok(())
    } else {
        Err(Failure::Vector("a replayed random input was not drawn".into()))
    }
}

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
    drawn_all(&rng)?;
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
    drawn_all(&rng)?;
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
    drawn_all(&rng)?;
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
    drawn_all(&rng)?;
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
    drawn_all(&rng)?;
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

/// HMAC-SHA512, as HKDF-Extract with the key as salt (RFC 5869: Extract(salt, ikm) = HMAC(salt, ikm)).
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    Hkdf::<Sha512>::extract(Some(key), message).0.to_vec()
}

fn sha512(data: &[u8]) -> Vec<u8> {
    <Sha512 as sha2::Digest>::digest(data).to_vec()
}

fn len16(data: &[u8]) -> Vec<u8> {
    let length = u16::try_from(data.len()).unwrap_or(u16::MAX);
    [&length.to_be_bytes()[..], data].concat()
}

/// RFC 9807 section 6.4.1: `Expand-Label(secret, label, context, 64)` with the `"OPAQUE-"` label prefix.
fn derive_secret(secret: &[u8], label: &[u8], context: &[u8]) -> Result<Vec<u8>, String> {
    let full_label = [b"OPAQUE-", label].concat();
    let info = [
        &(NH as u16).to_be_bytes()[..],
        &[full_label.len() as u8],
        &full_label,
        &[context.len() as u8],
        context,
    ]
    .concat();
    expand(secret, &[&info], NH)
}

fn element(bytes: &[u8]) -> Result<<Ristretto255 as voprf::Group>::Elem, String> {
    <Ristretto255 as voprf::Group>::deserialize_elem(bytes).map_err(|_| "not a ristretto255 element".to_string())
}

/// The login's intermediates, by name: `login_oprf_output` (ours: the client's OPRF output at login, with the
/// login password, if KE2 is present), and the 3DH key schedule of RFC 9807 section 6.4 as the server computes it:
/// `ikm` (dh1 || dh2 || dh3), `preamble`, `handshake_secret`, `server_mac_key`, `client_mac_key`.
///
/// The server's ephemeral key is re-derived from `server_keyshare_seed` with voprf's `DeriveKeyPair` and checked
/// against KE2; if `honest` is set, the server MAC in KE2, KE3 and the session key are recomputed from this
/// schedule and must equal the messages, so opaque-ke's run and this derivation check each other.
pub fn login_intermediates(
    inputs: &Inputs,
    outputs: &Outputs,
    honest: bool,
) -> Result<BTreeMap<&'static str, Vec<u8>>, String> {
    use voprf::Group as _;
    let mut out = BTreeMap::new();
    let (Some(ke1), Some(upload), Some(response)) = (
        outputs.get("KE1"),
        outputs.get("registration_upload"),
        outputs.get("registration_response"),
    ) else {
        return Err("KE1 and the registration messages are needed".into());
    };
    if ke1.len() != 3 * N || upload.len() != N + NH + N + NH || response.len() != 2 * N {
        return Err("messages of the wrong length".into());
    }
    let ke2 = outputs.get("KE2");
    if let Some(ke2) = ke2 {
        if ke2.len() != 8 * N + NH {
            return Err("KE2 of the wrong length".into());
        }
        let password = inputs.login_password()?;
        let mut rng = ReplayRng::new(&[&blind_draw(inputs.get("blind_login")?)]);
        let blinded =
            voprf::OprfClient::<Ristretto255>::blind(password, &mut rng).map_err(|error| error.to_string())?;
        let evaluation =
            voprf::EvaluationElement::<Ristretto255>::deserialize(&ke2[..N]).map_err(|error| error.to_string())?;
        let output = blinded
            .state
            .finalize(password, &evaluation)
            .map_err(|error| error.to_string())?;
        out.insert("login_oprf_output", output.to_vec());
    }
    let Ok(client_keyshare) = element(&ke1[2 * N..]) else {
        // A KE1 the server cannot decode: there is no key schedule.
        return Ok(out);
    };
    let server_keyshare_secret = voprf::derive_key::<Ristretto255>(
        inputs.get("server_keyshare_seed")?,
        b"OPAQUE-DeriveDiffieHellmanKeyPair",
        voprf::Mode::Oprf,
    )
    .map_err(|error| error.to_string())?;
    let server_secret = <Ristretto255 as voprf::Group>::deserialize_scalar(inputs.get("server_private_key")?)
        .map_err(|_| "server_private_key is not a scalar".to_string())?;
    let server_keyshare =
        <Ristretto255 as voprf::Group>::serialize_elem(Ristretto255::base_elem() * server_keyshare_secret);
    let ikm = [
        <Ristretto255 as voprf::Group>::serialize_elem(client_keyshare * server_keyshare_secret),
        <Ristretto255 as voprf::Group>::serialize_elem(client_keyshare * server_secret),
        <Ristretto255 as voprf::Group>::serialize_elem(element(&upload[..N])? * server_keyshare_secret),
    ]
    .concat();
    out.insert("ikm", ikm.clone());
    let Some(ke2) = ke2 else {
        return Ok(out);
    };
    if ke2[7 * N..8 * N] != server_keyshare[..] {
        return Err("KE2's server keyshare is not DeriveDiffieHellmanKeyPair(server_keyshare_seed)".into());
    }
    let server_public_key = &response[N..];
    let preamble = [
        &b"OPAQUEv1-"[..],
        &len16(inputs.get("context")?),
        &len16(inputs.optional("client_identity").unwrap_or(&upload[..N])),
        ke1,
        &len16(inputs.optional("server_identity").unwrap_or(server_public_key)),
        &ke2[..8 * N],
    ]
    .concat();
    let (prk, _) = Hkdf::<Sha512>::extract(None, &ikm);
    let handshake_secret = derive_secret(&prk, b"HandshakeSecret", &sha512(&preamble))?;
    let session_key = derive_secret(&prk, b"SessionKey", &sha512(&preamble))?;
    let server_mac_key = derive_secret(&handshake_secret, b"ServerMAC", b"")?;
    let client_mac_key = derive_secret(&handshake_secret, b"ClientMAC", b"")?;
    if honest {
        let server_mac = hmac(&server_mac_key, &sha512(&preamble));
        let client_mac = hmac(&client_mac_key, &sha512(&[&preamble[..], &server_mac].concat()));
        if ke2[8 * N..] != server_mac[..] {
            return Err("KE2's server MAC differs from the key schedule's".into());
        }
        if outputs.get("KE3") != Some(&client_mac) {
            return Err("KE3 differs from the key schedule's client MAC".into());
        }
        if outputs.get("session_key") != Some(&session_key) {
            return Err("session_key differs from the key schedule's".into());
        }
    }
    out.insert("preamble", preamble);
    out.insert("handshake_secret", handshake_secret);
    out.insert("server_mac_key", server_mac_key);
    out.insert("client_mac_key", client_mac_key);
    Ok(out)
}
