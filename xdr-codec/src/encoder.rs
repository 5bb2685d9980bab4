//! [`Encoder`]: writes XDR items into a growable byte buffer.

use bytes::{BufMut, BytesMut};

use crate::error::{ErrorKind, Result};
use crate::traits::XdrEncode;

/// Writes XDR items, big-endian and 4-byte aligned (RFC 4506 section 3),
/// into a [`BytesMut`] owned by the caller.
///
/// Generated code calls [`Encoder::field`] for each member so that errors
/// carry the field path.
#[derive(Debug)]
pub struct Encoder<'a> {
    buf: &'a mut BytesMut,
}

impl<'a> Encoder<'a> {
    /// An encoder that appends to `buf`.
    pub fn new(buf: &'a mut BytesMut) -> Self {
        Encoder { buf }
    }

    /// Bytes written to the underlying buffer so far (including any it held
    /// before this encoder was created).
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
        value.encode(self).map_err(|e| e.in_field(field))
    }

    /// Writes a 32-bit unsigned integer (RFC 4506 section 4.2).
    #[inline]
    pub fn put_u32(&mut self, v: u32) {
        self.buf.put_u32(v);
    }

    /// Writes a 32-bit signed integer (RFC 4506 section 4.1).
    #[inline]
    pub fn put_i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    /// Writes a 64-bit unsigned hyper integer (RFC 4506 section 4.5).
    #[inline]
    pub fn put_u64(&mut self, v: u64) {
        self.buf.put_u64(v);
    }

    /// Writes a 64-bit signed hyper integer (RFC 4506 section 4.5).
    #[inline]
    pub fn put_i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    /// Writes a boolean as 0 or 1 (RFC 4506 section 4.4).
    #[inline]
    pub fn put_bool(&mut self, v: bool) {
        self.buf.put_u32(u32::from(v));
    }

    /// Writes a variable-length item's length prefix, refusing lengths above
    /// `max` (RFC 4506 sections 4.10, 4.11, 4.13).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LengthExceedsMax`] when `len > max` (or does not fit
    /// in 32 bits).
    pub fn put_length(&mut self, len: usize, max: u32) -> Result<()> {
        match u32::try_from(len) {
            Ok(n) if n <= max => {
                self.buf.put_u32(n);
                Ok(())
            }
            _ => Err(ErrorKind::LengthExceedsMax {
                len: len as u64,
                max,
            }
            .into()),
        }
    }

    /// Writes `data` followed by zero padding to a multiple of 4 bytes
    /// (fixed-length opaque, RFC 4506 section 4.9). No length prefix.
    #[inline]
    pub fn put_fixed_opaque(&mut self, data: &[u8]) {
        self.buf.reserve(data.len() + 3);
        self.buf.put_slice(data);
        self.put_padding(data.len());
    }

    /// Writes a length prefix, `data` and zero padding (variable-length
    /// opaque and string, RFC 4506 sections 4.10 and 4.11).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LengthExceedsMax`] when `data` is longer than `max` bytes.
    pub fn put_opaque(&mut self, data: &[u8], max: u32) -> Result<()> {
        self.put_length(data.len(), max)?;
        self.put_fixed_opaque(data);
        Ok(())
    }

    fn put_padding(&mut self, len: usize) {
        let pad = crate::padding(len);
        self.buf.put_bytes(0, pad);
    }
}
