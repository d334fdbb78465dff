//! vault-core: the command log, responses, principals and the fleet key file (SPEC §3, §2).

use vault_core::{Command, FleetKeys, Principal, Response};

use super::{decode, select};

/// Selector byte: [`Command`], [`Response`], [`Principal`], [`FleetKeys`]; each accepted input re-encodes to itself
/// (a replica replays the log from these bytes: two readings of one entry would split the replicas).
pub(super) fn messages(data: &[u8]) -> bool {
    let Some((which, input)) = select(data, 4) else {
        return false;
    };
    match which {
        0 => decode("Command", input, Command::from_bytes, |command| {
            command.to_bytes().to_vec()
        }),
        1 => decode("Response", input, Response::from_bytes, Response::to_bytes),
        2 => decode("Principal", input, Principal::from_bytes, Principal::to_bytes),
        _ => decode("FleetKeys", input, FleetKeys::from_bytes, |keys| {
            keys.to_bytes().to_vec()
        }),
    }
}
