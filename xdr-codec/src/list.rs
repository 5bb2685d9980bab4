//! [`List`]: the linked-list idiom of `.x` files as a `Vec`.

use std::ops::{Deref, DerefMut};

use crate::decoder::Decoder;
use crate::encoder::Encoder;
use crate::error::Result;
use crate::traits::{XdrDecode, XdrEncode};

/// A linked list in the `.x` idiom
///
/// ```text
/// typedef struct exportnode *exports;
/// struct exportnode { dirpath ex_dir; groups ex_groups; exports ex_next; };
/// ```
///
/// held as a `Vec` of the nodes' other fields. On the wire it is a chain of
/// optional-data (RFC 4506 section 4.19): before each element a bool TRUE,
/// after the last a bool FALSE, which is byte-for-byte what rpcgen's
/// recursive `xdr_exports` produces. Encoding, decoding, cloning, comparing
/// and dropping are all iterative, so a list of millions of entries never
/// grows the stack.
///
/// ```
/// use xdr_codec::{List, XdrDecode, XdrEncode};
/// let l: List<u32> = vec![7, 8].into();
/// let wire = l.to_xdr_bytes()?;
/// assert_eq!(&wire[..], &[0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0]);
/// assert_eq!(List::<u32>::from_xdr_bytes(wire)?, l);
/// # Ok::<(), xdr_codec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct List<T>(pub Vec<T>);

impl<T> List<T> {
    /// Unwraps the vector.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T> Deref for List<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> DerefMut for List<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(v: Vec<T>) -> Self {
        List(v)
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        List(iter.into_iter().collect())
    }
}

impl<T> IntoIterator for List<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: XdrEncode> XdrEncode for List<T> {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        for (i, item) in self.0.iter().enumerate() {
            enc.put_bool(true);
            item.encode(enc).map_err(|e| e.in_index(i))?;
        }
        enc.put_bool(false);
        Ok(())
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        // A TRUE before each element, a FALSE after the last.
        4 * (self.0.len() + 1)
            + self
                .0
                .iter()
                .map(XdrEncode::encoded_len_hint)
                .sum::<usize>()
    }
}

impl<T: XdrDecode> XdrDecode for List<T> {
    const MIN_ENCODED_LEN: usize = 4;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        let mut v = Vec::new();
        while dec.get_bool()? {
            let i = v.len();
            v.push(T::decode(dec).map_err(|e| e.in_index(i))?);
        }
        Ok(List(v))
    }
}
