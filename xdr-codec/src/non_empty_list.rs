//! [`NonEmptyList`]: a linked-list node held by value, with the nodes its
//! `next` pointer leads to.

use std::ops::{Deref, DerefMut};

use crate::decoder::Decoder;
use crate::encoder::Encoder;
use crate::error::Result;
use crate::traits::{XdrDecode, XdrEncode};

/// A linked-list node used by value in the `.x` idiom
///
/// ```text
/// struct node { int v; node *next; };
/// struct holder { node first; };
/// ```
///
/// held as the nodes of the whole chain, in order: at least one (`first`
/// itself), then each node its `next` pointer leads to. xdrgen makes
/// `node` a list node without its `next` field (as for [`List`](crate::List))
/// and `first` a `NonEmptyList<Node>`.
///
/// On the wire: the first node, then for each further node a bool TRUE
/// and the node, then a bool FALSE (optional-data, RFC 4506 section
/// 4.19), which is byte-for-byte what rpcgen's recursive `xdr_node`
/// produces. Encoding, decoding, cloning, comparing and dropping are all
/// iterative, so a chain of millions of nodes never grows the stack.
///
/// It dereferences to a slice (never empty); its length changes only
/// through [`NonEmptyList::push`] and [`Extend`].
///
/// ```
/// use xdr_codec::{NonEmptyList, XdrDecode, XdrEncode};
/// let mut l = NonEmptyList::new(7u32);
/// l.push(8);
/// let wire = l.to_xdr_bytes()?;
/// assert_eq!(&wire[..], &[0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0]);
/// assert_eq!(NonEmptyList::<u32>::from_xdr_bytes(wire)?, l);
/// assert_eq!((l.first(), l.len()), (&7, 2));
/// # Ok::<(), xdr_codec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonEmptyList<T>(Vec<T>);

impl<T> NonEmptyList<T> {
    /// A chain of one node.
    pub fn new(first: T) -> Self {
        NonEmptyList(vec![first])
    }

    /// The first node (the one held by value in the `.x` type).
    pub fn first(&self) -> &T {
        // Never empty: built from a first node, only ever grown.
        &self.0[0]
    }

    /// Appends a node at the end of the chain.
    pub fn push(&mut self, node: T) {
        self.0.push(node);
    }

    /// Unwraps the nodes (never empty).
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T> Deref for NonEmptyList<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for NonEmptyList<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

/// The nodes of a non-empty vector; an empty one is given back as the
/// error.
impl<T> TryFrom<Vec<T>> for NonEmptyList<T> {
    type Error = Vec<T>;
    fn try_from(v: Vec<T>) -> std::result::Result<Self, Vec<T>> {
        if v.is_empty() {
            Err(v)
        } else {
            Ok(NonEmptyList(v))
        }
    }
}

impl<T> From<NonEmptyList<T>> for Vec<T> {
    fn from(l: NonEmptyList<T>) -> Self {
        l.0
    }
}

impl<T> Extend<T> for NonEmptyList<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<T> IntoIterator for NonEmptyList<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a NonEmptyList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: XdrEncode> XdrEncode for NonEmptyList<T> {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        for (i, node) in self.0.iter().enumerate() {
            if i > 0 {
                enc.put_bool(true);
            }
            node.encode(enc).map_err(|e| e.in_index(i))?;
        }
        enc.put_bool(false);
        Ok(())
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        // A TRUE before each node but the first, a FALSE after the last.
        4 * self.0.len()
            + self
                .0
                .iter()
                .map(XdrEncode::encoded_len_hint)
                .sum::<usize>()
    }
}

impl<T: XdrDecode> XdrDecode for NonEmptyList<T> {
    const MIN_ENCODED_LEN: usize = T::MIN_ENCODED_LEN + 4;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        let mut v = vec![T::decode(dec).map_err(|e| e.in_index(0))?];
        while dec.get_bool()? {
            let i = v.len();
            v.push(T::decode(dec).map_err(|e| e.in_index(i))?);
        }
        Ok(NonEmptyList(v))
    }
}
