//! `serde` support (feature `serde`), so that generated types can derive
//! `Serialize`/`Deserialize` (xdrgen's `--serde`).
//!
//! * [`XdrString`]: a string when its bytes are UTF-8, else a byte array;
//!   deserializes from either, so nothing is lost either way.
//! * [`Opaque`]: bytes (`serialize_bytes`); deserializes from bytes or a
//!   sequence of `u8`.
//! * [`VarArray`], [`List`], [`NonEmptyList`]: sequences (a
//!   [`NonEmptyList`] of at least one element).
//!
//! Deserializing refuses data longer than the type's declared maximum
//! (`invalid_length`), as decoding XDR would.
//!
//! [`serde_array`] serializes fixed arrays of any length (serde's own
//! impls stop at 32 elements); xdrgen puts `#[serde(with = ...)]` on
//! fields that need it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{List, NonEmptyList, Opaque, VarArray, XdrString};

fn check_len<E: serde::de::Error>(len: usize, max: u32) -> Result<(), E> {
    if u64::try_from(len).map_or(true, |l| l > u64::from(max)) {
        return Err(E::invalid_length(
            len,
            &format!("at most {max} elements").as_str(),
        ));
    }
    Ok(())
}

/// Collects bytes from a string, bytes, or a sequence of `u8`.
struct BytesVisitor {
    max: u32,
    allow_str: bool,
}

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.allow_str {
            write!(f, "a string or bytes of at most {} bytes", self.max)
        } else {
            write!(f, "bytes (at most {})", self.max)
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        if !self.allow_str {
            return Err(E::invalid_type(serde::de::Unexpected::Str(v), &self));
        }
        check_len(v.len(), self.max)?;
        Ok(v.as_bytes().to_vec())
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        check_len(v.len(), self.max)?;
        Ok(v.to_vec())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let cap = seq
            .size_hint()
            .unwrap_or(0)
            .min(self.max as usize)
            .min(64 * 1024);
        let mut out = Vec::with_capacity(cap);
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
            check_len(out.len(), self.max)?;
        }
        Ok(out)
    }
}

impl<const MAX: u32> Serialize for XdrString<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(text) => s.serialize_str(text),
            None => s.serialize_bytes(self.as_bytes()),
        }
    }
}

impl<'de, const MAX: u32> Deserialize<'de> for XdrString<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BytesVisitor {
            max: MAX,
            allow_str: true,
        })
        .map(XdrString::from_bytes)
    }
}

impl<const MAX: u32> Serialize for Opaque<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self)
    }
}

impl<'de, const MAX: u32> Deserialize<'de> for Opaque<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_byte_buf(BytesVisitor {
            max: MAX,
            allow_str: false,
        })
        .map(Opaque::from)
    }
}

/// Collects a sequence of at most `max` elements.
struct SeqVisitor<T> {
    max: u32,
    marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for SeqVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of at most {} elements", self.max)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let cap = seq
            .size_hint()
            .unwrap_or(0)
            .min(self.max as usize)
            .min(4096);
        let mut out = Vec::with_capacity(cap);
        while let Some(x) = seq.next_element()? {
            out.push(x);
            check_len(out.len(), self.max)?;
        }
        Ok(out)
    }
}

impl<T: Serialize, const MAX: u32> Serialize for VarArray<T, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>, const MAX: u32> Deserialize<'de> for VarArray<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SeqVisitor {
            max: MAX,
            marker: PhantomData,
        })
        .map(VarArray)
    }
}

impl<T: Serialize> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SeqVisitor {
            max: u32::MAX,
            marker: PhantomData,
        })
        .map(List)
    }
}

impl<T: Serialize> Serialize for NonEmptyList<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmptyList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = d.deserialize_seq(SeqVisitor {
            max: u32::MAX,
            marker: PhantomData,
        })?;
        NonEmptyList::try_from(v)
            .map_err(|_| serde::de::Error::invalid_length(0, &"at least one element"))
    }
}

/// `#[serde(with = "xdr_codec::serde_array")]` for fixed arrays `[T; N]`
/// of any length (serde's own impls stop at 32): a sequence of exactly
/// `N` elements.
pub mod serde_array {
    use std::marker::PhantomData;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serializes `a` as a sequence.
    ///
    /// # Errors
    ///
    /// The serializer's.
    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(
        a: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(a.iter())
    }

    /// Deserializes a sequence of exactly `N` elements.
    ///
    /// # Errors
    ///
    /// The deserializer's, or `invalid_length` for any other length.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(
        d: D,
    ) -> Result<[T; N], D::Error> {
        let max = u32::try_from(N).unwrap_or(u32::MAX);
        let v = d.deserialize_seq(super::SeqVisitor::<T> {
            max,
            marker: PhantomData,
        })?;
        let len = v.len();
        v.try_into()
            .map_err(|_| D::Error::invalid_length(len, &format!("{N} elements").as_str()))
    }
}

#[cfg(test)]
mod tests {
    use serde::de::value::{BytesDeserializer, Error, SeqDeserializer, StrDeserializer};
    use serde::Deserialize;

    use crate::{NonEmptyList, Opaque, XdrString};

    #[test]
    fn strings_come_from_text_or_bytes_and_respect_the_bound() {
        let s = XdrString::<4>::deserialize(StrDeserializer::<Error>::new("abcd"));
        assert_eq!(s.map(|s| s.as_bytes().to_vec()), Ok(b"abcd".to_vec()));
        let raw = XdrString::<4>::deserialize(BytesDeserializer::<Error>::new(b"\xff\xfe"));
        assert_eq!(raw.map(|s| s.as_bytes().to_vec()), Ok(vec![0xff, 0xfe]));
        assert!(XdrString::<3>::deserialize(StrDeserializer::<Error>::new("abcd")).is_err());
        assert!(Opaque::<1>::deserialize(BytesDeserializer::<Error>::new(b"ab")).is_err());
    }

    #[test]
    fn a_non_empty_list_needs_an_element() {
        let seq = |v: Vec<u32>| SeqDeserializer::<_, Error>::new(v.into_iter());
        let l = NonEmptyList::<u32>::deserialize(seq(vec![7, 8])).map(NonEmptyList::into_vec);
        assert_eq!(l, Ok(vec![7, 8]));
        assert!(NonEmptyList::<u32>::deserialize(seq(Vec::new())).is_err());
    }
}
