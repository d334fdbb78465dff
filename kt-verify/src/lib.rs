//! Key-transparency verification.
//!
//! This crate will hold verification of AKD lookup, key-history and audit proofs, witness (Plexi) signatures,
//! epoch-chain monitoring and the 60-digit security code. It is empty until its issue lands.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
