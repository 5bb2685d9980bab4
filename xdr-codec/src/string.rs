//! [`XdrString`]: `string name<MAX>` (RFC 4506 section 4.11).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use crate::byte_store::ByteStore;
use crate::decoder::Decoder;
use crate::encoder::Encoder;
use crate::error::Result;
use crate::traits::{XdrDecode, XdrEncode};

/// A string, `string name<MAX>` (RFC 4506 section 4.11): at most `MAX` bytes
/// (`string name<>` uses the default `MAX = u32::MAX`).
///
/// XDR strings are bytes, usually ASCII or UTF-8 but not always: a C peer
/// may send any bytes. `XdrString` keeps the bytes exactly as received (so
/// they re-encode unchanged) and offers text views: [`XdrString::as_str`]
/// (checked) and [`XdrString::to_string_lossy`]. Decoding is zero-copy
/// (a slice of the received buffer), except for strings of at most 22
/// bytes, which are copied: cheaper than sharing the buffer's atomic
/// reference count.
///
/// ```
/// use xdr_codec::XdrString;
/// let s: XdrString<16> = "export".into();
/// assert_eq!(s.as_str(), Some("export"));
/// let raw: XdrString = XdrString::from_bytes(&b"caf\xe9"[..]);
/// assert_eq!(raw.as_str(), None);
/// assert_eq!(raw.to_string_lossy(), "caf\u{fffd}");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XdrString<const MAX: u32 = { u32::MAX }>(ByteStore);

impl<const MAX: u32> XdrString<MAX> {
    /// The declared maximum length, in bytes.
    pub const MAX_LEN: u32 = MAX;

    /// Wraps raw bytes without checking that they are UTF-8.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        XdrString(ByteStore::from(bytes.into()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The raw bytes as a [`Bytes`]: a cheap clone of the underlying
    /// buffer, or a copy of a string of at most 22 bytes that a decode
    /// copied.
    pub fn bytes(&self) -> Bytes {
        self.0.to_bytes()
    }

    /// The text, or `None` when the bytes are not valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The text, with invalid UTF-8 sequences replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MAX: u32> fmt::Debug for XdrString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => fmt::Debug::fmt(s, f),
            None => write!(f, "b{:?}", self.to_string_lossy()),
        }
    }
}

impl<const MAX: u32> fmt::Display for XdrString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl<const MAX: u32> From<&str> for XdrString<MAX> {
    fn from(s: &str) -> Self {
        XdrString(ByteStore::copy_from_slice(s.as_bytes()))
    }
}

impl<const MAX: u32> From<String> for XdrString<MAX> {
    fn from(s: String) -> Self {
        XdrString(ByteStore::from(Bytes::from(s.into_bytes())))
    }
}

impl<const MAX: u32> PartialEq<str> for XdrString<MAX> {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other.as_bytes()
    }
}

impl<const MAX: u32> PartialEq<&str> for XdrString<MAX> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == *other.as_bytes()
    }
}

impl<const MAX: u32> XdrEncode for XdrString<MAX> {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        enc.put_opaque(&self.0, MAX)
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        4 + self.0.len() + crate::padding(self.0.len())
    }
}

impl<const MAX: u32> XdrDecode for XdrString<MAX> {
    const MIN_ENCODED_LEN: usize = 4;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        dec.get_opaque_store(MAX).map(XdrString)
    }
}
