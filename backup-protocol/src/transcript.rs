//! The exact bytes the vault signs. Both signatures cover the client's own request, so a response replayed from
//! another exchange, or computed over a tampered request, fails verification.

use alloc::vec::Vec;

use crate::codec::{PROTOCOL_VERSION, put_short_vec};
use crate::key::UserId;
use crate::labels::{LOGIN_RESPONSE_SIGNATURE, REGISTRATION_RECEIPT_SIGNATURE, REGISTRATION_RESPONSE_SIGNATURE};
use crate::messages::LoginPurpose;
use crate::suite::KsfParams;
use crate::wrap::CHALLENGE_LEN;

/// `label || version || len(user_id) || user_id || fields...`; every field after the user id has a fixed length.
fn signed(label: &[u8], user_id: &UserId, fields: &[&[u8]]) -> Vec<u8> {
    let len = fields.iter().map(|field| field.len()).sum::<usize>();
    let mut out = Vec::with_capacity(label.len() + 2 + user_id.as_bytes().len() + len);
    out.extend_from_slice(label);
    out.push(PROTOCOL_VERSION);
    put_short_vec(&mut out, user_id.as_bytes());
    for field in fields {
        out.extend_from_slice(field);
    }
    out
}

/// What the vault signs in a registration response:
/// [`REGISTRATION_RESPONSE_SIGNATURE`] || version || user id || challenge || OPAQUE request || OPAQUE response.
pub(crate) fn registration_response(
    user_id: &UserId,
    challenge: &[u8; CHALLENGE_LEN],
    opaque_request: &[u8],
    opaque_response: &[u8],
) -> Vec<u8> {
    signed(
        REGISTRATION_RESPONSE_SIGNATURE,
        user_id,
        &[challenge, opaque_request, opaque_response],
    )
}

/// What the vault signs in a login response:
/// [`LOGIN_RESPONSE_SIGNATURE`] || version || user id || purpose || OPAQUE credential request || Argon2id
/// parameters || u32be(guesses remaining) || OPAQUE credential response.
pub(crate) fn login_response(
    user_id: &UserId,
    purpose: LoginPurpose,
    opaque_request: &[u8],
    ksf: &KsfParams,
    guesses_remaining: u32,
    opaque_response: &[u8],
) -> Vec<u8> {
    signed(
        LOGIN_RESPONSE_SIGNATURE,
        user_id,
        &[
            &[purpose.code()],
            opaque_request,
            &ksf.to_bytes(),
            &guesses_remaining.to_be_bytes(),
            opaque_response,
        ],
    )
}

/// What the vault signs in a registration receipt:
/// [`REGISTRATION_RECEIPT_SIGNATURE`] || version || user id || the upload's body (Argon2id parameters || OPAQUE
/// record || challenge || K_NONCE || EK), i.e. exactly what it stored.
pub(crate) fn registration_receipt(user_id: &UserId, upload_body: &[u8]) -> Vec<u8> {
    signed(REGISTRATION_RECEIPT_SIGNATURE, user_id, &[upload_body])
}
