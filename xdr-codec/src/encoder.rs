//! [`Encoder`]: writes XDR items into a growable byte buffer.

use bytes::{Bytes, BytesMut};

use crate::error::{ErrorKind, Result};
use crate::traits::XdrEncode;

/// Writes XDR items, big-endian and 4-byte aligned (RFC 4506 section 3),
/// into a [`BytesMut`] owned by the caller.
///
/// Generated code calls [`Encoder::field`] for each member so that errors
/// carry the field path.
///
/// An encoder made with [`Encoder::with_chunks`] also collects *chunks*:
/// variable-length opaque data of at least [`BY_REFERENCE_MIN_BYTES`]
/// held as [`Bytes`] (an [`Opaque`](crate::Opaque)) is then not copied but
/// referenced: what the buffer holds so far becomes one chunk, the data
/// the next, and encoding carries on in the buffer. The encoding is the
/// chunks, in order, followed by what is left in the buffer
/// ([`XdrEncode::to_xdr_chunks`] does this for you).
#[derive(Debug)]
pub struct Encoder<'a> {
    buf: &'a mut BytesMut,
    chunks: Option<&'a mut Vec<Bytes>>,
}

/// Opaque data at least this long, in bytes, is referenced rather than
/// copied by an encoder that collects chunks ([`Encoder::with_chunks`]).
/// Below it one copy is cheaper than one more chunk.
pub const BY_REFERENCE_MIN_BYTES: usize = 4096;

impl<'a> Encoder<'a> {
    /// An encoder that appends to `buf`.
    #[inline]
    pub fn new(buf: &'a mut BytesMut) -> Self {
        Encoder { buf, chunks: None }
    }

    /// An encoder that appends to `buf` and moves finished pieces to
    /// `chunks`, referencing large opaque data instead of copying it (see
    /// [`Encoder`]). The encoding is `chunks` (those pushed from now on)
    /// followed by what `buf` holds at the end.
    #[inline]
    pub fn with_chunks(buf: &'a mut BytesMut, chunks: &'a mut Vec<Bytes>) -> Self {
        Encoder {
            buf,
            chunks: Some(chunks),
        }
    }

    /// Bytes in the underlying buffer (including any it held before this
    /// encoder was created; not those already moved to chunks).
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when the underlying buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Encodes `value`, naming it `field` (for example `"Exportnode.ex_dir"`)
    /// in any error.
    ///
    /// # Errors
    ///
    /// Whatever `value`'s encoding returns, with `field` added to the path.
    #[inline]
    pub fn field<T: XdrEncode + ?Sized>(&mut self, field: &'static str, value: &T) -> Result<()> {
        value.encode(self).map_err(|e| e.in_static_field(field))
    }

    /// Writes a 32-bit unsigned integer (RFC 4506 section 4.2).
    #[inline]
    pub fn put_u32(&mut self, v: u32) {
        // `extend_from_slice` is inlined with a constant length, unlike
        // `BufMut::put_*`, which ends in an out-of-line `memcpy` per item.
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Writes a 32-bit signed integer (RFC 4506 section 4.1).
    #[inline]
    pub fn put_i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Writes a 64-bit unsigned hyper integer (RFC 4506 section 4.5).
    #[inline]
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Writes a 64-bit signed hyper integer (RFC 4506 section 4.5).
    #[inline]
    pub fn put_i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Writes a boolean as 0 or 1 (RFC 4506 section 4.4).
    #[inline]
    pub fn put_bool(&mut self, v: bool) {
        self.put_u32(u32::from(v));
    }

    /// Reserves room for at least `additional` more bytes, so that the
    /// writes that follow do not grow the buffer one by one. Only a hint:
    /// every write still grows the buffer as needed.
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Writes a variable-length item's length prefix, refusing lengths above
    /// `max` (RFC 4506 sections 4.10, 4.11, 4.13).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LengthExceedsMax`] when `len > max` (or does not fit
    /// in 32 bits).
    #[inline]
    pub fn put_length(&mut self, len: usize, max: u32) -> Result<()> {
        let n = checked_length(len, max)?;
        self.put_u32(n);
        Ok(())
    }

    /// Writes `data` followed by zero padding to a multiple of 4 bytes
    /// (fixed-length opaque, RFC 4506 section 4.9). No length prefix.
    #[inline]
    pub fn put_fixed_opaque(&mut self, data: &[u8]) {
        self.buf.reserve(data.len() + 3);
        self.put_padded(data);
    }

    /// Writes a length prefix, `data` and zero padding (variable-length
    /// opaque and string, RFC 4506 sections 4.10 and 4.11).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LengthExceedsMax`] when `data` is longer than `max` bytes.
    #[inline]
    pub fn put_opaque(&mut self, data: &[u8], max: u32) -> Result<()> {
        let n = checked_length(data.len(), max)?;
        // One capacity check for the prefix, the data and the padding.
        self.buf.reserve(data.len() + 7);
        self.put_u32(n);
        self.put_padded(data);
        Ok(())
    }

    /// Writes variable-length opaque data held as [`Bytes`]: like
    /// [`Encoder::put_opaque`], except that an encoder collecting chunks
    /// ([`Encoder::with_chunks`]) references data of at least
    /// [`BY_REFERENCE_MIN_BYTES`] instead of copying it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LengthExceedsMax`] if `data` is longer than `max`.
    #[inline]
    pub fn put_opaque_bytes(&mut self, data: &Bytes, max: u32) -> Result<()> {
        let Some(chunks) = self.chunks.as_deref_mut() else {
            return self.put_opaque(data, max);
        };
        if data.len() < BY_REFERENCE_MIN_BYTES {
            return self.put_opaque(data, max);
        }
        let n = checked_length(data.len(), max)?;
        self.buf.extend_from_slice(&n.to_be_bytes());
        chunks.push(self.buf.split().freeze());
        chunks.push(data.clone());
        let pad = crate::padding(data.len());
        self.buf.extend_from_slice(&[0u8; 4][..pad]);
        Ok(())
    }

    /// Writes `data`'s whole 4-byte units in one copy, then its last partial
    /// unit (if any) zero-filled as one constant-size word.
    #[inline]
    fn put_padded(&mut self, data: &[u8]) {
        let tail_len = data.len() % 4;
        let (body, tail) = data.split_at(data.len() - tail_len);
        self.buf.extend_from_slice(body);
        if !tail.is_empty() {
            let mut word = [0u8; 4];
            for (w, b) in word.iter_mut().zip(tail) {
                *w = *b;
            }
            self.buf.extend_from_slice(&word);
        }
    }
}

/// `len` as a length prefix, when it is at most `max`.
#[inline]
fn checked_length(len: usize, max: u32) -> Result<u32> {
    match u32::try_from(len) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(length_exceeds_max(len, max)),
    }
}

#[cold]
#[inline(never)]
fn length_exceeds_max(len: usize, max: u32) -> crate::error::Error {
    ErrorKind::LengthExceedsMax {
        len: len as u64,
        max,
    }
    .into()
}
