//! Identity Proof Linked Storage (IPLS).
//!
//! This crate will hold contact sealing under a per-account contact key, the contact-key escrow messages
//! (client and vault halves) and the identity-proof format. It is empty until its issue lands.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
