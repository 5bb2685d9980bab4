//! [`Decoder`]: reads XDR items from a received buffer, zero-copy for
//! opaque data, with limits against hostile input.

use bytes::Bytes;

use crate::byte_store::{ByteStore, INLINE_CAPACITY};
use crate::error::{Error, ErrorKind, Result};
use crate::traits::XdrDecode;

/// The default limit on nesting of recursive data, in levels: 256. Each
/// `Box` (optional-data of a recursive type that is not a linked list, a
/// boxed member of a recursive type) and each variable-length array is one
/// level; linked lists ([`List`](crate::List),
/// [`NonEmptyList`](crate::NonEmptyList)) are read iteratively and take
/// one level whatever their length. Raise it per decoder with
/// [`Decoder::with_max_depth`], per RPC client or server with their
/// builders' `max_decode_depth`.
pub const DEFAULT_MAX_DEPTH: u32 = 256;

/// Reads XDR items from a [`Bytes`] buffer (RFC 4506 section 3).
///
/// * Opaque data and strings come back as [`Bytes`] slices of the input,
///   without copying ([`Opaque`](crate::Opaque) and
///   [`XdrString`](crate::XdrString) copy values of at most 22 bytes
///   instead: cheaper than sharing the input's reference count).
/// * A length read off the wire is checked against the bytes left in the
///   input before anything is allocated, so hostile input can never make the
///   decoder allocate much more than the input's own size.
/// * Recursion through [`Decoder::nested`] is limited to
///   [`DEFAULT_MAX_DEPTH`] levels (see [`Decoder::with_max_depth`]), so
///   decoding never overflows the stack.
#[derive(Debug, Clone)]
pub struct Decoder {
    buf: Bytes,
    pos: usize,
    depth: u32,
    max_depth: u32,
}

impl Decoder {
    /// A decoder over `buf`, starting at its first byte.
    pub fn new(buf: impl Into<Bytes>) -> Self {
        Decoder {
            buf: buf.into(),
            pos: 0,
            depth: 0,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Sets the nesting limit, in levels of [`Decoder::nested`] (default
    /// [`DEFAULT_MAX_DEPTH`]). Data nested deeper fails to decode with
    /// [`ErrorKind::DepthLimitExceeded`]. Each level takes some stack
    /// while decoding (a few hundred bytes for small types, more for
    /// large ones): a limit in the tens of thousands needs a thread with
    /// a larger stack than the 2 MiB default.
    ///
    /// ```
    /// use xdr_codec::{Decoder, XdrDecode};
    /// // `struct tree { tree *child; }` nested 300 deep: 300 TRUE, then FALSE.
    /// struct Tree(Option<Box<Tree>>);
    /// impl XdrDecode for Tree {
    ///     fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
    ///         Ok(Tree(dec.field("Tree.child")?))
    ///     }
    /// }
    /// let mut wire = [0, 0, 0, 1].repeat(300);
    /// wire.extend_from_slice(&[0, 0, 0, 0]);
    /// assert!(Tree::from_xdr_bytes(wire.clone()).is_err());
    /// let mut dec = Decoder::new(wire).with_max_depth(1000);
    /// assert!(Tree::decode(&mut dec).is_ok());
    /// ```
    #[must_use]
    pub fn with_max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The nesting limit, in levels (see [`Decoder::with_max_depth`]).
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// Bytes not yet consumed.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes consumed so far.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unconsumed rest of the input, without copying.
    pub fn into_remaining(self) -> Bytes {
        self.buf.slice(self.pos..)
    }

    /// Checks that the whole input was consumed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TrailingBytes`] when bytes are left over.
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(ErrorKind::TrailingBytes { count }.into()),
        }
    }

    /// Decodes a `T`, naming it `field` (for example `"Exportnode.ex_dir"`)
    /// in any error.
    ///
    /// # Errors
    ///
    /// Whatever `T`'s decoding returns, with `field` added to the path.
    #[inline]
    pub fn field<T: XdrDecode>(&mut self, field: &'static str) -> Result<T> {
        T::decode(self).map_err(|e| e.in_static_field(field))
    }

    /// Runs `f` one nesting level deeper. Used by the impls that make
    /// recursive types possible (`Box`, variable arrays).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DepthLimitExceeded`] when the limit is reached, or what
    /// `f` returns.
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= self.max_depth {
            return Err(ErrorKind::DepthLimitExceeded {
                max: self.max_depth,
            }
            .into());
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// The next `N` bytes, consumed.
    #[inline]
    fn take_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        match self.buf.get(self.pos..).and_then(<[u8]>::first_chunk::<N>) {
            Some(a) => {
                self.pos += N;
                Ok(*a)
            }
            None => Err(unexpected_eof(N, self.remaining())),
        }
    }

    /// Consumes `len` bytes of opaque data and the zero padding after
    /// them (RFC 4506 section 4.9) with one bounds check, checking the
    /// padding as one word; returns where the data starts.
    #[inline(always)]
    fn take_padded(&mut self, len: usize) -> Result<usize> {
        let start = self.pos;
        let padded = len.checked_add(3).map(|l| l & !3);
        let item = padded
            .and_then(|p| start.checked_add(p))
            .and_then(|end| self.buf.get(start..end));
        let Some(item) = item else {
            return Err(unexpected_eof(
                len.saturating_add(crate::padding(len)),
                self.remaining(),
            ));
        };
        let pad = item.len() - len;
        if pad > 0 {
            // The padding is the low `pad` bytes of the item's last word
            // (the item is a whole number of words, at least one here).
            let word = item.last_chunk::<4>().map_or(0, |w| u32::from_be_bytes(*w));
            if word & (u32::MAX >> (32 - 8 * pad)) != 0 {
                return Err(non_zero_padding());
            }
        }
        self.pos = start + item.len();
        Ok(start)
    }

    /// Reads a 32-bit unsigned integer (RFC 4506 section 4.2).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] when fewer than 4 bytes remain.
    #[inline]
    pub fn get_u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take_array()?))
    }

    /// Reads a 32-bit signed integer (RFC 4506 section 4.1).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] when fewer than 4 bytes remain.
    #[inline]
    pub fn get_i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.take_array()?))
    }

    /// Reads a 64-bit unsigned hyper integer (RFC 4506 section 4.5).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] when fewer than 8 bytes remain.
    #[inline]
    pub fn get_u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take_array()?))
    }

    /// Reads a 64-bit signed hyper integer (RFC 4506 section 4.5).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] when fewer than 8 bytes remain.
    #[inline]
    pub fn get_i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.take_array()?))
    }

    /// Reads a boolean (RFC 4506 section 4.4).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`], or [`ErrorKind::InvalidBool`] for a
    /// value other than 0 or 1.
    #[inline]
    pub fn get_bool(&mut self) -> Result<bool> {
        match self.get_u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(invalid_bool(v)),
        }
    }

    /// Reads a variable-length item's length prefix and checks it against
    /// the declared maximum `max` and against the input left, assuming each
    /// element takes at least `min_element_bytes` bytes on the wire
    /// (0 skips the input check).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`], [`ErrorKind::LengthExceedsMax`] or
    /// [`ErrorKind::LengthExceedsInput`].
    #[inline]
    pub fn get_length(&mut self, max: u32, min_element_bytes: usize) -> Result<usize> {
        let len = self.get_u32()?;
        if len > max {
            return Err(length_exceeds_max(len, max));
        }
        let remaining = self.remaining();
        if min_element_bytes > 0 && (len as usize) > remaining / min_element_bytes {
            return Err(length_exceeds_input(len, remaining));
        }
        Ok(len as usize)
    }

    /// Reads `len` bytes of fixed-length opaque data and its padding
    /// (RFC 4506 section 4.9), as a zero-copy slice of the input.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] or [`ErrorKind::NonZeroPadding`].
    #[inline]
    pub fn get_fixed_opaque(&mut self, len: usize) -> Result<Bytes> {
        let start = self.take_padded(len)?;
        Ok(self.buf.slice(start..start + len))
    }

    /// Reads fixed-length opaque data into an array (RFC 4506 section 4.9).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] or [`ErrorKind::NonZeroPadding`].
    #[inline]
    pub fn get_fixed_opaque_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let total = N + crate::padding(N);
        let end = self.pos + total;
        let Some(item) = self.buf.get(self.pos..end) else {
            return Err(unexpected_eof(total, self.remaining()));
        };
        let (data, padding) = item.split_at(N);
        if padding.iter().any(|&b| b != 0) {
            return Err(non_zero_padding());
        }
        let Ok(a) = <[u8; N]>::try_from(data) else {
            return Err(unexpected_eof(total, self.remaining()));
        };
        self.pos = end;
        Ok(a)
    }

    /// Reads variable-length opaque data or a string (length prefix, bytes,
    /// padding; RFC 4506 sections 4.10 and 4.11) of at most `max` bytes, as
    /// a zero-copy slice of the input.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`], [`ErrorKind::LengthExceedsMax`],
    /// [`ErrorKind::LengthExceedsInput`] or [`ErrorKind::NonZeroPadding`].
    #[inline(always)]
    pub fn get_opaque(&mut self, max: u32) -> Result<Bytes> {
        let len = self.get_length(max, 1)?;
        let start = self.take_padded(len)?;
        Ok(self.buf.slice(start..start + len))
    }

    /// Like [`Decoder::get_opaque`], but a value of at most
    /// [`INLINE_CAPACITY`] bytes is copied inline instead of sharing the
    /// input (see [`ByteStore`]).
    #[inline(always)]
    pub(crate) fn get_opaque_store(&mut self, max: u32) -> Result<ByteStore> {
        let len = self.get_length(max, 1)?;
        let start = self.take_padded(len)?;
        if len <= INLINE_CAPACITY {
            // The INLINE_CAPACITY bytes from `start`, or, near the end of
            // the input, its last INLINE_CAPACITY bytes.
            let window_start = start.min(self.buf.len().saturating_sub(INLINE_CAPACITY));
            let inline = self
                .buf
                .get(window_start..window_start + INLINE_CAPACITY)
                .and_then(|w| <&[u8; INLINE_CAPACITY]>::try_from(w).ok())
                .and_then(|w| ByteStore::inline_window(w, start - window_start, len));
            if let Some(inline) = inline {
                return Ok(inline);
            }
            // An input shorter than INLINE_CAPACITY bytes.
            match self.buf.get(start..start + len) {
                Some(data) => Ok(ByteStore::copy_from_slice(data)),
                None => Err(unexpected_eof(len, self.remaining())),
            }
        } else {
            Ok(ByteStore::Shared(self.buf.slice(start..start + len)))
        }
    }
}

// The error paths, kept out of line so that the hot paths above stay small
// enough to inline into generated code.

#[cold]
#[inline(never)]
fn unexpected_eof(needed: usize, remaining: usize) -> Error {
    ErrorKind::UnexpectedEof { needed, remaining }.into()
}

#[cold]
#[inline(never)]
fn non_zero_padding() -> Error {
    ErrorKind::NonZeroPadding.into()
}

#[cold]
#[inline(never)]
fn invalid_bool(v: u32) -> Error {
    ErrorKind::InvalidBool(v).into()
}

#[cold]
#[inline(never)]
fn length_exceeds_max(len: u32, max: u32) -> Error {
    ErrorKind::LengthExceedsMax {
        len: u64::from(len),
        max,
    }
    .into()
}

#[cold]
#[inline(never)]
fn length_exceeds_input(len: u32, remaining: usize) -> Error {
    ErrorKind::LengthExceedsInput { len, remaining }.into()
}
