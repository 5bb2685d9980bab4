//! Arrays: [`VarArray`] (`type name<MAX>`, RFC 4506 section 4.13) and
//! `[T; N]` (`type name[N]`, section 4.12).

use std::ops::{Deref, DerefMut};

use crate::decoder::Decoder;
use crate::encoder::Encoder;
use crate::error::{ErrorKind, Result};
use crate::traits::{XdrDecode, XdrEncode};

/// A variable-length array, `type name<MAX>` (RFC 4506 section 4.13): at
/// most `MAX` elements (`type name<>` uses the default `MAX = u32::MAX`).
///
/// Derefs to the `Vec<T>` it wraps. The maximum is checked on decode and on
/// encode. On decode the element count read off the wire is checked against
/// the input left (using [`XdrDecode::MIN_ENCODED_LEN`]) before allocating,
/// and each array is one nesting level of the decoder's depth limit.
///
/// ```
/// use xdr_codec::{VarArray, XdrDecode, XdrEncode};
/// let a: VarArray<u32, 4> = vec![1, 2].into();
/// let wire = a.to_xdr_bytes()?;
/// assert_eq!(wire.len(), 12);
/// assert_eq!(VarArray::<u32, 4>::from_xdr_bytes(wire)?, a);
/// let too_long: VarArray<u32, 1> = vec![1, 2].into();
/// assert!(too_long.to_xdr_bytes().is_err());
/// # Ok::<(), xdr_codec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarArray<T, const MAX: u32 = { u32::MAX }>(pub Vec<T>);

impl<T, const MAX: u32> VarArray<T, MAX> {
    /// The declared maximum length, in elements.
    pub const MAX_LEN: u32 = MAX;

    /// Unwraps the vector.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: u32> Default for VarArray<T, MAX> {
    fn default() -> Self {
        VarArray(Vec::new())
    }
}

impl<T, const MAX: u32> Deref for VarArray<T, MAX> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T, const MAX: u32> DerefMut for VarArray<T, MAX> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T, const MAX: u32> From<Vec<T>> for VarArray<T, MAX> {
    fn from(v: Vec<T>) -> Self {
        VarArray(v)
    }
}

impl<T, const MAX: u32> FromIterator<T> for VarArray<T, MAX> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        VarArray(iter.into_iter().collect())
    }
}

impl<T, const MAX: u32> IntoIterator for VarArray<T, MAX> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T, const MAX: u32> IntoIterator for &'a VarArray<T, MAX> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: XdrEncode, const MAX: u32> XdrEncode for VarArray<T, MAX> {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        enc.put_length(self.0.len(), MAX)?;
        for (i, item) in self.0.iter().enumerate() {
            item.encode(enc).map_err(|e| e.in_index(i))?;
        }
        Ok(())
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        4 + self
            .0
            .iter()
            .map(XdrEncode::encoded_len_hint)
            .sum::<usize>()
    }
}

impl<T: XdrDecode, const MAX: u32> XdrDecode for VarArray<T, MAX> {
    const MIN_ENCODED_LEN: usize = 4;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        let len = dec.get_length(MAX, T::MIN_ENCODED_LEN)?;
        dec.nested(|dec| {
            // Never reserve more than the input could hold, even for
            // elements whose minimum size is unknown (0).
            let cap = len.min(dec.remaining() / T::MIN_ENCODED_LEN.max(4));
            let mut v = Vec::with_capacity(cap);
            for i in 0..len {
                v.push(T::decode(dec).map_err(|e| e.in_index(i))?);
            }
            Ok(VarArray(v))
        })
    }
}

/// A fixed-length array, `type name[N]` (RFC 4506 section 4.12): the
/// elements one after the other, no length prefix.
impl<T: XdrEncode, const N: usize> XdrEncode for [T; N] {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        for (i, item) in self.iter().enumerate() {
            item.encode(enc).map_err(|e| e.in_index(i))?;
        }
        Ok(())
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        self.iter().map(XdrEncode::encoded_len_hint).sum()
    }
}

impl<T: XdrDecode, const N: usize> XdrDecode for [T; N] {
    const MIN_ENCODED_LEN: usize = N * T::MIN_ENCODED_LEN;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        if N > 0 && T::MIN_ENCODED_LEN > 0 && dec.remaining() / T::MIN_ENCODED_LEN < N {
            return Err(ErrorKind::UnexpectedEof {
                needed: N * T::MIN_ENCODED_LEN,
                remaining: dec.remaining(),
            }
            .into());
        }
        let mut v = Vec::with_capacity(N);
        for i in 0..N {
            v.push(T::decode(dec).map_err(|e| e.in_index(i))?);
        }
        // The loop pushed exactly N elements.
        match v.try_into() {
            Ok(a) => Ok(a),
            Err(_) => unreachable!("exactly N elements were decoded"),
        }
    }
}
