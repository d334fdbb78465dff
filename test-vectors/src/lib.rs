//! Cross-language test vectors.
//!
//! This crate will hold the JSON vector files, their schemas, the deterministic generator and the Rust consumer.
//! It is empty until its issue lands.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
