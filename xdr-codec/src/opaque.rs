//! Opaque data: [`Opaque`] (variable length, zero-copy) and `[u8; N]`
//! (fixed length), RFC 4506 sections 4.9 and 4.10.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::byte_store::ByteStore;
use crate::decoder::Decoder;
use crate::encoder::Encoder;
use crate::error::Result;
use crate::traits::{XdrDecode, XdrEncode};

/// Variable-length opaque data, `opaque name<MAX>` (RFC 4506 section 4.10):
/// at most `MAX` bytes (`opaque name<>` is `Opaque` with the default
/// `MAX = u32::MAX`).
///
/// Decoding takes a slice of the received buffer without copying, and
/// cloning it is cheap; data of at most 22 bytes is copied instead (the
/// copy costs less than sharing the buffer's atomic reference count). A
/// value made from a [`Bytes`] keeps that buffer, whatever its length. The
/// maximum is checked on decode and on encode, never on construction, so
/// building one never fails.
///
/// ```
/// use xdr_codec::{Opaque, XdrDecode, XdrEncode};
/// let data: Opaque<8> = Opaque::from(&b"abc"[..]);
/// let wire = data.to_xdr_bytes()?;
/// assert_eq!(&wire[..], &[0, 0, 0, 3, b'a', b'b', b'c', 0]);
/// assert_eq!(Opaque::<8>::from_xdr_bytes(wire)?, data);
/// # Ok::<(), xdr_codec::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Opaque<const MAX: u32 = { u32::MAX }>(ByteStore);

impl<const MAX: u32> Opaque<MAX> {
    /// The declared maximum length, in bytes.
    pub const MAX_LEN: u32 = MAX;

    /// Wraps `bytes` without copying.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Opaque(ByteStore::from(bytes.into()))
    }

    /// The bytes as a [`Bytes`]: a cheap clone of the underlying buffer,
    /// or a copy of data of at most 22 bytes that a decode copied.
    pub fn bytes(&self) -> Bytes {
        self.0.to_bytes()
    }

    /// The bytes as a [`Bytes`]: the underlying buffer, or a copy of data
    /// of at most 22 bytes that a decode copied.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl<const MAX: u32> Deref for Opaque<MAX> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: u32> AsRef<[u8]> for Opaque<MAX> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: u32> fmt::Debug for Opaque<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const MAX: u32> From<Bytes> for Opaque<MAX> {
    fn from(b: Bytes) -> Self {
        Opaque(ByteStore::from(b))
    }
}

impl<const MAX: u32> From<Vec<u8>> for Opaque<MAX> {
    fn from(v: Vec<u8>) -> Self {
        Opaque(ByteStore::from(Bytes::from(v)))
    }
}

impl<const MAX: u32> From<&[u8]> for Opaque<MAX> {
    fn from(v: &[u8]) -> Self {
        Opaque(ByteStore::copy_from_slice(v))
    }
}

impl<const MAX: u32> From<Opaque<MAX>> for Bytes {
    fn from(o: Opaque<MAX>) -> Self {
        o.0.into_bytes()
    }
}

impl<const MAX: u32> XdrEncode for Opaque<MAX> {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        match &self.0 {
            ByteStore::Shared(b) => enc.put_opaque_bytes(b, MAX),
            inline @ ByteStore::Inline { .. } => enc.put_opaque(inline, MAX),
        }
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        4 + self.0.len() + crate::padding(self.0.len())
    }
}

impl<const MAX: u32> XdrDecode for Opaque<MAX> {
    const MIN_ENCODED_LEN: usize = 4;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        dec.get_opaque_store(MAX).map(Opaque)
    }
}

/// Fixed-length opaque data, `opaque name[N]` (RFC 4506 section 4.9).
impl<const N: usize> XdrEncode for [u8; N] {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        enc.put_fixed_opaque(self);
        Ok(())
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        N + crate::padding(N)
    }
}

impl<const N: usize> XdrDecode for [u8; N] {
    const MIN_ENCODED_LEN: usize = N + crate::padding(N);
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        dec.get_fixed_opaque_array()
    }
}
