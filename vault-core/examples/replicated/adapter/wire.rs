//! How a proposal and an outcome serialize, for openraft's `serde` feature: its RPCs cross TCP and its log entries
//! go to redb as JSON (`tcp`, `redb_log`). Both reuse this adapter's byte encodings (the command's log encoding,
//! the snapshot's outcome encoding), so JSON only wraps them.

use backup_protocol::codec::Reader;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use super::proposal::{ClientId, Outcome, Proposal, put_outcome, read_outcome};

/// What applying one entry produced: an outcome for a client command, `None` for blank and membership entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Applied(pub(crate) Option<Outcome>);

impl Serialize for Proposal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.client, self.seq, self.command.as_slice()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Proposal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (client, seq, command): (ClientId, u64, Vec<u8>) = Deserialize::deserialize(deserializer)?;
        Ok(Self {
            client,
            seq,
            command: Zeroizing::new(command),
        })
    }
}

impl Serialize for Applied {
    /// Empty for `None`, else the outcome as a snapshot stores it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        if let Some(outcome) = &self.0 {
            put_outcome(&mut bytes, outcome);
        }
        bytes.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Applied {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = Deserialize::deserialize(deserializer)?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        let mut reader = Reader::new(&bytes);
        let outcome = read_outcome(&mut reader).map_err(D::Error::custom)?;
        reader.finish().map_err(D::Error::custom)?;
        Ok(Self(Some(outcome)))
    }
}
