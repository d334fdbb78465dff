//! The roles a fleet key can hold.

use core::fmt;

/// What a key listed in a bundle or a fleet-key artifact may be used for.
///
/// Each key holds exactly one role; a client must check the role, not only membership, before trusting a key
/// (see [`VerifiedBundle::approves`](crate::VerifiedBundle::approves)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Ed25519 key with which a vault signs its protocol responses. Checked as a strict Ed25519 public key.
    ResponseSigning,
    /// The vault's OPAQUE server public key (a ristretto255 element in the workspace's ciphersuite).
    OpaqueServer,
    /// The vault's public key for IPLS contact-key escrow sessions.
    IplsSession,
}

impl Role {
    /// Every role, in wire-byte order.
    pub const ALL: [Role; 3] = [Role::ResponseSigning, Role::OpaqueServer, Role::IplsSession];

    /// The byte that encodes this role in the binary formats.
    ///
    /// ```
    /// use fleet_bundle::Role;
    /// assert_eq!(Role::ResponseSigning.wire_byte(), 1);
    /// assert_eq!(Role::from_wire_byte(1), Some(Role::ResponseSigning));
    /// ```
    pub const fn wire_byte(self) -> u8 {
        match self {
            Role::ResponseSigning => 0x01,
            Role::OpaqueServer => 0x02,
            Role::IplsSession => 0x03,
        }
    }

    /// The role a wire byte encodes, or `None` for a byte no role uses.
    ///
    /// ```
    /// use fleet_bundle::Role;
    /// assert_eq!(Role::from_wire_byte(3), Some(Role::IplsSession));
    /// assert_eq!(Role::from_wire_byte(0), None);
    /// ```
    pub const fn from_wire_byte(byte: u8) -> Option<Role> {
        match byte {
            0x01 => Some(Role::ResponseSigning),
            0x02 => Some(Role::OpaqueServer),
            0x03 => Some(Role::IplsSession),
            _ => None,
        }
    }

    /// The name that encodes this role in the JSON fleet-key artifact.
    ///
    /// ```
    /// use fleet_bundle::Role;
    /// assert_eq!(Role::OpaqueServer.name(), "opaque_server");
    /// assert_eq!(Role::from_name("opaque_server"), Some(Role::OpaqueServer));
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Role::ResponseSigning => "response_signing",
            Role::OpaqueServer => "opaque_server",
            Role::IplsSession => "ipls_session",
        }
    }

    /// The role with this exact JSON name (case-sensitive), or `None`.
    ///
    /// ```
    /// use fleet_bundle::Role;
    /// assert_eq!(Role::from_name("ipls_session"), Some(Role::IplsSession));
    /// assert_eq!(Role::from_name("IPLS_SESSION"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_bytes_and_names_round_trip_and_are_distinct() {
        for role in Role::ALL {
            assert_eq!(Role::from_wire_byte(role.wire_byte()), Some(role));
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
        for byte in 0..=u8::MAX {
            let decoded = Role::from_wire_byte(byte);
            assert_eq!(decoded.is_some(), (1..=3).contains(&byte));
        }
    }
}
