//! Signature contexts: the labels prepended to every signed message.
//!
//! Each signature the crate makes or checks is over `label || payload`, with a label unique to the pair (message
//! kind, signing party). A witness signature therefore can never be replayed as an operator signature, nor a
//! bundle signature as a deployment-record signature, even by a party that holds both roles. No label is a prefix
//! of another, so `label || payload` also cannot be re-split into another label and payload.

/// Label of the witness signature on a validation-bundle body.
pub const BUNDLE_WITNESS: &[u8] = b"fleet-bundle/v1/bundle/witness";

/// Label of the operator counter-signature on a validation bundle (covers the body and the witness signature).
pub const BUNDLE_OPERATOR: &[u8] = b"fleet-bundle/v1/bundle/operator";

/// Label of the witness signature on a deployment-record body.
pub const DEPLOYMENT_WITNESS: &[u8] = b"fleet-bundle/v1/deployment/witness";

/// Label of the operator counter-signature on a deployment record (covers the body and the witness signature).
pub const DEPLOYMENT_OPERATOR: &[u8] = b"fleet-bundle/v1/deployment/operator";

/// Every label above, for audits and tests.
pub const ALL: [&[u8]; 4] = [BUNDLE_WITNESS, BUNDLE_OPERATOR, DEPLOYMENT_WITNESS, DEPLOYMENT_OPERATOR];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_prefix_free() {
        for (i, a) in ALL.iter().enumerate() {
            for (j, b) in ALL.iter().enumerate() {
                if i != j {
                    assert!(!b.starts_with(a), "{a:?} is a prefix of {b:?}");
                }
            }
        }
    }
}
