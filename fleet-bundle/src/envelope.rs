//! The signed envelope shared by bundles and deployment records: a body, the witness signature over it, and the
//! operator counter-signature over the body and the witness signature.

use ed25519_dalek::VerifyingKey;

use crate::codec::{MessageType, Reader, write_header};
use crate::error::DecodeError;
use crate::strict;

/// Envelope fields borrowed from the input, so signatures are checked over exactly the bytes received.
pub(crate) struct Envelope<'a> {
    pub(crate) body: &'a [u8],
    pub(crate) witness_signature: [u8; 64],
    pub(crate) operator_signature: [u8; 64],
}

impl<'a> Envelope<'a> {
    pub(crate) fn decode(bytes: &'a [u8], message_type: MessageType) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.header(message_type)?;
        let body_len = reader.u16()?;
        let body = reader.take(usize::from(body_len))?;
        let witness_signature = reader.array()?;
        let operator_signature = reader.array()?;
        reader.finish()?;
        Ok(Self {
            body,
            witness_signature,
            operator_signature,
        })
    }

    pub(crate) fn encode(&self, message_type: MessageType) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.body.len() + 128);
        write_header(&mut out, message_type);
        // Bodies are bounded far below 65 536 bytes by construction (see `KeySet::MAX_KEYS`).
        out.extend_from_slice(&(self.body.len() as u16).to_be_bytes());
        out.extend_from_slice(self.body);
        out.extend_from_slice(&self.witness_signature);
        out.extend_from_slice(&self.operator_signature);
        out
    }
}

/// The two labels of one message kind.
#[derive(Clone, Copy)]
pub(crate) struct Contexts {
    pub(crate) witness: &'static [u8],
    pub(crate) operator: &'static [u8],
}

/// `witness label || body`.
pub(crate) fn witness_message(contexts: Contexts, body: &[u8]) -> Vec<u8> {
    [contexts.witness, body].concat()
}

/// `operator label || body || witness signature`.
pub(crate) fn operator_message(contexts: Contexts, body: &[u8], witness_signature: &[u8; 64]) -> Vec<u8> {
    [contexts.operator, body, witness_signature].concat()
}

/// Why the signatures of an envelope were rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureFailure {
    Witness,
    CounterSignature,
    CounterSignatureOverOtherBytes,
}

/// Checks the witness signature, then the counter-signature.
///
/// Only when the counter-signature fails are the alternative messages tried, so a valid envelope costs exactly two
/// verifications. The alternatives are the only "other bytes" that can be rebuilt from the envelope itself:
/// the body without the witness signature (the operator signed independently of the witness) and the witness's
/// own message (the operator co-signed instead of counter-signing). A counter-signature over some other witness
/// signature or some other body cannot be told apart from a forgery without those other bytes, and is reported as
/// a bad counter-signature.
pub(crate) fn check_signatures(
    contexts: Contexts,
    envelope: &Envelope<'_>,
    witness: &VerifyingKey,
    operator: &VerifyingKey,
) -> Result<(), SignatureFailure> {
    let witness_msg = witness_message(contexts, envelope.body);
    if !strict::verify(witness, &witness_msg, &envelope.witness_signature) {
        return Err(SignatureFailure::Witness);
    }
    let operator_msg = operator_message(contexts, envelope.body, &envelope.witness_signature);
    if strict::verify(operator, &operator_msg, &envelope.operator_signature) {
        return Ok(());
    }
    let body_only = [contexts.operator, envelope.body].concat();
    let over_other_bytes = strict::verify(operator, &body_only, &envelope.operator_signature)
        || strict::verify(operator, &witness_msg, &envelope.operator_signature);
    Err(if over_other_bytes {
        SignatureFailure::CounterSignatureOverOtherBytes
    } else {
        SignatureFailure::CounterSignature
    })
}
