//! Fleet validation bundles.
//!
//! This crate will hold the validation-bundle and deployment-record formats, their signing and verification, and
//! the key-set diff. It is empty until its issue lands.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
