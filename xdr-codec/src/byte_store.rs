//! [`ByteStore`]: the bytes of an [`Opaque`](crate::Opaque) or an
//! [`XdrString`](crate::XdrString), short ones inline and long ones shared.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// The longest value, in bytes, that [`ByteStore`] keeps inline. With it
/// the inline form fits in the bytes of a [`Bytes`] beside its non-null
/// pointer, so a `ByteStore` is no larger than a `Bytes` (32 bytes on
/// 64-bit targets).
pub(crate) const INLINE_CAPACITY: usize = 22;

/// Bytes held either inline (at most [`INLINE_CAPACITY`]) or as a
/// [`Bytes`] sharing a buffer.
///
/// Decoding makes short values inline: copying a few bytes costs less than
/// sharing the received buffer, whose reference count is an atomic
/// increment on decode and an atomic decrement on drop, per field. Longer
/// values stay zero-copy slices of the received buffer. Values built from
/// a [`Bytes`] keep it as it is, whatever its length, so wrapping a buffer
/// never copies it. Equality, order and hash are those of the bytes, not
/// of the form they are held in.
#[derive(Clone)]
pub(crate) enum ByteStore {
    /// At most [`INLINE_CAPACITY`] bytes: `data[start..start + len]`
    /// (`start + len <= INLINE_CAPACITY`; the other bytes of `data` are
    /// unspecified).
    Inline {
        start: u8,
        len: u8,
        data: [u8; INLINE_CAPACITY],
    },
    /// Any length, sharing a buffer.
    Shared(Bytes),
}

impl ByteStore {
    /// A copy of `bytes` held inline when it fits, else in a new shared
    /// buffer.
    #[inline]
    pub(crate) fn copy_from_slice(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            let mut data = [0; INLINE_CAPACITY];
            data[..bytes.len()].copy_from_slice(bytes);
            // Cannot truncate: at most INLINE_CAPACITY.
            let len = bytes.len() as u8;
            ByteStore::Inline {
                start: 0,
                len,
                data,
            }
        } else {
            ByteStore::Shared(Bytes::copy_from_slice(bytes))
        }
    }

    /// `window[start..start + len]`, inline, or `None` when that range is
    /// not inside the window. Copying the whole window compiles to a few
    /// register moves, where a copy of `len` bytes calls `memcpy`, whose
    /// stores of varying widths then stall the loads that move the value
    /// on.
    #[inline]
    pub(crate) fn inline_window(
        window: &[u8; INLINE_CAPACITY],
        start: usize,
        len: usize,
    ) -> Option<Self> {
        if start.checked_add(len)? > INLINE_CAPACITY {
            return None;
        }
        // Cannot truncate: both at most INLINE_CAPACITY.
        Some(ByteStore::Inline {
            start: start as u8,
            len: len as u8,
            data: *window,
        })
    }

    /// The bytes as a [`Bytes`]: the shared buffer itself (no copy) or a
    /// copy of the inline bytes.
    pub(crate) fn to_bytes(&self) -> Bytes {
        match self {
            ByteStore::Inline { .. } => Bytes::copy_from_slice(self),
            ByteStore::Shared(b) => b.clone(),
        }
    }

    /// Like [`ByteStore::to_bytes`], consuming `self`.
    pub(crate) fn into_bytes(self) -> Bytes {
        match self {
            ByteStore::Inline { .. } => Bytes::copy_from_slice(&self),
            ByteStore::Shared(b) => b,
        }
    }
}

impl Default for ByteStore {
    /// The empty value, inline.
    fn default() -> Self {
        ByteStore::Inline {
            start: 0,
            len: 0,
            data: [0; INLINE_CAPACITY],
        }
    }
}

impl From<Bytes> for ByteStore {
    fn from(bytes: Bytes) -> Self {
        ByteStore::Shared(bytes)
    }
}

impl Deref for ByteStore {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            ByteStore::Inline { start, len, data } => {
                let start = usize::from(*start);
                data.get(start..start + usize::from(*len))
                    .unwrap_or_default()
            }
            ByteStore::Shared(b) => b,
        }
    }
}

impl fmt::Debug for ByteStore {
    /// `Bytes`'s `b"..."` form, whichever way the bytes are held.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_bytes(), f)
    }
}

impl PartialEq for ByteStore {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for ByteStore {}

impl PartialOrd for ByteStore {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByteStore {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl Hash for ByteStore {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;

    fn hash_of(v: &ByteStore) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn is_no_larger_than_bytes() {
        assert_eq!(
            std::mem::size_of::<ByteStore>(),
            std::mem::size_of::<Bytes>()
        );
    }

    #[test]
    fn short_copies_are_inline_and_long_ones_shared() {
        for len in 0..=INLINE_CAPACITY + 2 {
            let src: Vec<u8> = (0..len as u8).collect();
            let v = ByteStore::copy_from_slice(&src);
            for start in 0..=INLINE_CAPACITY {
                let mut window = [0xee; INLINE_CAPACITY];
                let inline = ByteStore::inline_window(&window, start, len);
                assert_eq!(inline.is_some(), start + len <= INLINE_CAPACITY);
                if inline.is_some() {
                    window[start..start + len].copy_from_slice(&src);
                    assert_eq!(
                        ByteStore::inline_window(&window, start, len),
                        Some(v.clone())
                    );
                }
            }
            assert_eq!(&*v, &src[..]);
            assert_eq!(
                matches!(v, ByteStore::Inline { .. }),
                len <= INLINE_CAPACITY,
                "len {len}"
            );
            assert_eq!(v.to_bytes(), src);
            assert_eq!(v.into_bytes(), src);
        }
    }

    #[test]
    fn a_wrapped_buffer_is_kept_not_copied() {
        let b = Bytes::from(vec![7u8; 3]);
        let v = ByteStore::from(b.clone());
        assert_eq!(v.to_bytes().as_ptr(), b.as_ptr());
    }

    #[test]
    fn equality_order_and_hash_ignore_the_form() {
        let inline = ByteStore::copy_from_slice(b"abc");
        let shared = ByteStore::from(Bytes::from_static(b"abc"));
        assert_eq!(inline, shared);
        assert_eq!(hash_of(&inline), hash_of(&shared));
        let longer = ByteStore::from(Bytes::from_static(b"abd"));
        assert!(inline < longer && longer > shared);
        assert_eq!(ByteStore::default(), ByteStore::from(Bytes::new()));
    }
}
