//! The round-trip check shared by the decoding targets.

use bytes::Bytes;
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

/// Decodes a `T` from the start of `input`; if that works, checks that
/// it encodes to exactly the bytes consumed (XDR has one encoding per
/// value, RFC 4506 section 1: padding zero, booleans 0 or 1, enums and
/// union discriminants among the declared values).
///
/// # Panics
///
/// When the value does not encode, or encodes to other bytes.
pub(crate) fn decode_and_reencode<T>(input: &Bytes) -> Option<T>
where
    T: XdrDecode + XdrEncode + std::fmt::Debug,
{
    let mut dec = Decoder::new(input.clone());
    let value = T::decode(&mut dec).ok()?;
    let consumed = input.get(..dec.position())?;
    let again = value
        .to_xdr_bytes()
        .unwrap_or_else(|e| panic!("{value:?} decoded but does not encode: {e}"));
    assert_eq!(&again[..], consumed, "{value:?} re-encodes differently");
    Some(value)
}
