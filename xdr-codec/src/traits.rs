//! The two codec traits, [`XdrEncode`] and [`XdrDecode`].

use bytes::{Bytes, BytesMut};

use crate::decoder::Decoder;
use crate::encoder::Encoder;
use crate::error::Result;

/// A type that has an XDR encoding (RFC 4506).
///
/// Implement [`XdrEncode::encode`]; the provided methods build on it.
/// Generated code implements this for every `.x` type.
pub trait XdrEncode {
    /// Appends the encoding of `self` to `enc`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LengthExceedsMax`](crate::ErrorKind::LengthExceedsMax)
    /// when a variable-length item holds more than its declared maximum;
    /// the error's path names the field.
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()>;

    /// The length of `self`'s encoding, in bytes, used only to size buffers
    /// before encoding ([`XdrEncode::to_xdr_bytes`] allocates it once).
    ///
    /// Exact for every type in this crate and every type xdrgen generates
    /// (a value too long for its declared maximum, which fails to encode,
    /// still gets the length it would take). The default, for hand-written
    /// impls, is 0: unknown, and the buffer grows as it is written. Never
    /// relied on for correctness.
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        0
    }

    /// Appends the encoding of `self` to `buf`.
    ///
    /// # Errors
    ///
    /// As [`XdrEncode::encode`]. On error, `buf` may hold a partial encoding.
    fn encode_into(&self, buf: &mut BytesMut) -> Result<()> {
        self.encode(&mut Encoder::new(buf))
    }

    /// Encodes `self` into a new buffer, allocated once with
    /// [`XdrEncode::encoded_len_hint`] bytes.
    ///
    /// # Errors
    ///
    /// As [`XdrEncode::encode`].
    fn to_xdr_bytes(&self) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(self.encoded_len_hint());
        self.encode_into(&mut buf)?;
        Ok(buf.freeze())
    }

    /// Encodes `self` as consecutive pieces whose concatenation is the
    /// encoding, with variable-length opaque data of at least
    /// [`BY_REFERENCE_MIN_BYTES`](crate::BY_REFERENCE_MIN_BYTES) held as
    /// [`Bytes`] referenced rather than copied (see
    /// [`Encoder::with_chunks`]). For writing large values to a socket
    /// with vectored I/O; never empty (a value with an empty encoding
    /// gives one empty piece).
    ///
    /// # Errors
    ///
    /// As [`XdrEncode::encode`].
    fn to_xdr_chunks(&self) -> Result<Vec<Bytes>> {
        let hint = self.encoded_len_hint();
        if hint < crate::BY_REFERENCE_MIN_BYTES {
            return self.to_xdr_bytes().map(|b| vec![b]);
        }
        let mut buf = BytesMut::with_capacity(crate::BY_REFERENCE_MIN_BYTES);
        let mut chunks = Vec::new();
        self.encode(&mut Encoder::with_chunks(&mut buf, &mut chunks))?;
        if !buf.is_empty() || chunks.is_empty() {
            chunks.push(buf.freeze());
        }
        Ok(chunks)
    }
}

/// A type that can be decoded from XDR (RFC 4506).
///
/// Implement [`XdrDecode::decode`]; the provided methods build on it.
pub trait XdrDecode: Sized {
    /// The fewest bytes any value of this type takes on the wire. Decoders of
    /// variable-length arrays use it to refuse, before allocating, a count
    /// that the remaining input cannot hold. 0 (the default) is always safe.
    const MIN_ENCODED_LEN: usize = 0;

    /// Decodes one value from `dec`.
    ///
    /// # Errors
    ///
    /// Any [`ErrorKind`](crate::ErrorKind) for truncated or invalid input;
    /// the error's path names the field.
    fn decode(dec: &mut Decoder) -> Result<Self>;

    /// Decodes one value that must fill `bytes` exactly.
    ///
    /// # Errors
    ///
    /// As [`XdrDecode::decode`], and
    /// [`ErrorKind::TrailingBytes`](crate::ErrorKind::TrailingBytes) when
    /// bytes are left over.
    fn from_xdr_bytes(bytes: impl Into<Bytes>) -> Result<Self> {
        let mut dec = Decoder::new(bytes);
        let v = Self::decode(&mut dec)?;
        dec.finish()?;
        Ok(v)
    }

    /// Like [`XdrDecode::from_xdr_bytes`] for a borrowed slice: copies it
    /// once, so opaque data in the result does not borrow from `bytes`.
    ///
    /// # Errors
    ///
    /// As [`XdrDecode::from_xdr_bytes`].
    fn from_xdr_slice(bytes: &[u8]) -> Result<Self> {
        Self::from_xdr_bytes(Bytes::copy_from_slice(bytes))
    }
}
