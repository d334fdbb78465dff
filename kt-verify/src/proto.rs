//! The subset of the protobuf wire format that Plexi signatures and the security-code QR payload use.
//!
//! Writing covers varint (wire type 0) and length-delimited (wire type 2) fields. Reading is total: every read is
//! bounds-checked, varints longer than ten bytes or overflowing 64 bits are rejected, and only wire types 0 and 2
//! are accepted. Callers that need a canonical encoding re-encode what they decoded and compare the bytes, which
//! rejects non-minimal varints, reordered or repeated fields and unknown fields in one step.

use crate::error::DecodeError;

/// Wire type of a varint field.
const WIRE_VARINT: u8 = 0;
/// Wire type of a length-delimited field.
const WIRE_LEN: u8 = 2;

/// Appends `value` as a base-128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a varint field (tag and value).
pub(crate) fn put_varint_field(out: &mut Vec<u8>, field: u32, value: u64) {
    put_varint(out, u64::from(field) << 3 | u64::from(WIRE_VARINT));
    put_varint(out, value);
}

/// Appends a length-delimited field (tag, length and bytes).
pub(crate) fn put_bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, u64::from(field) << 3 | u64::from(WIRE_LEN));
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// One decoded field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
}

/// A cursor over untrusted protobuf bytes.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for (index, &byte) in self.rest.iter().enumerate().take(10) {
            let low = u64::from(byte & 0x7f);
            // The tenth byte may only carry the single remaining bit of a u64.
            if index == 9 && low > 1 {
                return Err(DecodeError::VarintOverflow);
            }
            value |= low << (7 * index);
            if byte & 0x80 == 0 {
                self.rest = &self.rest[index + 1..];
                return Ok(value);
            }
        }
        if self.rest.len() >= 10 {
            Err(DecodeError::VarintOverflow)
        } else {
            Err(DecodeError::Truncated)
        }
    }

    /// Reads the next field, or `None` at the end of input.
    pub(crate) fn field(&mut self) -> Result<Option<(u32, Value<'a>)>, DecodeError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| DecodeError::BadFieldNumber)?;
        if number == 0 {
            return Err(DecodeError::BadFieldNumber);
        }
        let value = match (key & 7) as u8 {
            WIRE_VARINT => Value::Varint(self.varint()?),
            WIRE_LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| DecodeError::Truncated)?;
                let (head, tail) = self.rest.split_at_checked(len).ok_or(DecodeError::Truncated)?;
                self.rest = tail;
                Value::Bytes(head)
            }
            wire_type => return Err(DecodeError::UnsupportedWireType { wire_type }),
        };
        Ok(Some((number, value)))
    }

    /// Reads the next field, which must have number `number` and be a varint.
    pub(crate) fn expect_varint(&mut self, number: u32) -> Result<u64, DecodeError> {
        match self.field()? {
            Some((found, Value::Varint(value))) if found == number => Ok(value),
            _ => Err(DecodeError::UnexpectedField { expected: number }),
        }
    }

    /// Reads the next field, which must have number `number` and be length-delimited.
    pub(crate) fn expect_bytes(&mut self, number: u32) -> Result<&'a [u8], DecodeError> {
        match self.field()? {
            Some((found, Value::Bytes(bytes))) if found == number => Ok(bytes),
            _ => Err(DecodeError::UnexpectedField { expected: number }),
        }
    }

    /// Ends parsing: any field left over makes the whole encoding invalid.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { count: self.rest.len() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_limits() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            let mut reader = Reader::new(&out);
            assert_eq!(reader.varint(), Ok(value));
            assert_eq!(reader.finish(), Ok(()));
        }
        assert_eq!(Reader::new(&[0xff; 10]).varint(), Err(DecodeError::VarintOverflow));
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).varint(),
            Err(DecodeError::VarintOverflow)
        );
        assert_eq!(Reader::new(&[0x80, 0x80]).varint(), Err(DecodeError::Truncated));
    }

    #[test]
    fn fields_are_checked() {
        // Field 1, wire type 1 (64-bit) is not used by any message here.
        assert_eq!(
            Reader::new(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0]).field(),
            Err(DecodeError::UnsupportedWireType { wire_type: 1 })
        );
        assert_eq!(Reader::new(&[0x00, 0x00]).field(), Err(DecodeError::BadFieldNumber));
        assert_eq!(Reader::new(&[0x12, 0x05, 1, 2]).field(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[0x08, 0x96, 0x01]).expect_varint(1), Ok(150));
        assert_eq!(
            Reader::new(&[0x08, 0x96, 0x01]).expect_bytes(1),
            Err(DecodeError::UnexpectedField { expected: 1 })
        );
    }
}
