//! [`Store`]: the in-memory object store behind the datastore protocol,
//! independent of the wire types so it can be tested on its own.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};

use crate::limits::StoreLimits;

/// Why a store operation failed. Each variant maps to one `ds_status` of
/// `specs/datastore.x` (see [`StoreError::errno`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No object has this key (`DS_NOENT`).
    #[error("no object with this key")]
    NoEntry,
    /// An argument is invalid, for example an empty key (`DS_INVAL`).
    #[error("invalid argument")]
    Invalid,
    /// The write would make the object larger than
    /// [`StoreLimits::max_object_bytes`] (`DS_FBIG`).
    #[error("the object would exceed its maximum size")]
    TooBig,
    /// The write would make the store hold more than
    /// [`StoreLimits::max_total_bytes`] or more than
    /// [`StoreLimits::max_objects`] (`DS_NOSPC`).
    #[error("the store is full")]
    NoSpace,
    /// The key is longer than [`StoreLimits::max_key_bytes`]
    /// (`DS_NAMETOOLONG`).
    #[error("the key is too long")]
    NameTooLong,
}

impl StoreError {
    /// The `ds_status` value of this error (the errno-style numbers of
    /// `specs/datastore.x`).
    pub const fn errno(self) -> i32 {
        match self {
            StoreError::NoEntry => 2,
            StoreError::Invalid => 22,
            StoreError::TooBig => 27,
            StoreError::NoSpace => 28,
            StoreError::NameTooLong => 63,
        }
    }
}

/// One object's name and metadata, as returned by [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// The key, as raw bytes.
    pub name: Bytes,
    /// The object's size, in bytes.
    pub size: u64,
    /// How many PUTs the object has seen since it was created (1 after the
    /// first).
    pub generation: u64,
}

/// The result of a [`Store::get`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// The bytes read: a zero-copy slice of the stored object.
    pub data: Bytes,
    /// True when `data` reaches the object's end.
    pub eof: bool,
}

/// One page of a [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The matching objects, in byte order of their keys.
    pub entries: Vec<EntryInfo>,
    /// True when no further keys match.
    pub eof: bool,
}

#[derive(Debug, Default)]
struct Object {
    data: Bytes,
    generation: u64,
}

#[derive(Debug, Default)]
struct Inner {
    objects: BTreeMap<Bytes, Object>,
    total_bytes: u64,
}

/// A thread-safe in-memory object store: keys are byte strings, values are
/// byte strings read and written at offsets (the semantics of
/// `specs/datastore.x`).
///
/// Objects are held as [`Bytes`]: a read returns a slice of the stored
/// object without copying, and a write that replaces a whole object keeps
/// the received buffer without copying. Every size is bounded by
/// [`StoreLimits`], checked before anything is allocated.
///
/// ```
/// use datastore::{Store, StoreLimits};
/// let store = Store::new(StoreLimits::default());
/// store.put(b"greeting", 0, b"hello world"[..].into(), true)?;
/// let read = store.get(b"greeting", 6, 100)?;
/// assert_eq!((&read.data[..], read.eof), (&b"world"[..], true));
/// # Ok::<(), datastore::StoreError>(())
/// ```
#[derive(Debug, Default)]
pub struct Store {
    inner: Mutex<Inner>,
    limits: StoreLimits,
}

impl Store {
    /// An empty store enforcing `limits`.
    pub fn new(limits: StoreLimits) -> Self {
        Store {
            inner: Mutex::default(),
            limits,
        }
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> &StoreLimits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code panics while holding the lock, but stay usable if it did.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_key(&self, key: &[u8]) -> Result<(), StoreError> {
        if key.is_empty() {
            Err(StoreError::Invalid)
        } else if key.len() > self.limits.max_key_bytes {
            Err(StoreError::NameTooLong)
        } else {
            Ok(())
        }
    }

    /// Writes `data` into object `key` at byte `offset`, creating the object
    /// if needed; a gap between the old end and `offset` reads as zeros.
    /// With `truncate`, the object ends right after the written bytes.
    /// Returns the object's new size in bytes (`DS_PUT`).
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] (empty key), [`StoreError::NameTooLong`],
    /// [`StoreError::TooBig`] (the end would pass
    /// [`StoreLimits::max_object_bytes`]), [`StoreError::NoSpace`] (the
    /// store would pass [`StoreLimits::max_total_bytes`] or
    /// [`StoreLimits::max_objects`]). The store is unchanged on error.
    pub fn put(
        &self,
        key: &[u8],
        offset: u64,
        data: Bytes,
        truncate: bool,
    ) -> Result<u64, StoreError> {
        self.check_key(key)?;
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&end| end <= self.limits.max_object_bytes)
            .ok_or(StoreError::TooBig)?;
        let mut inner = self.lock();
        let inner = &mut *inner;
        let (old_len, exists) = match inner.objects.get(key) {
            Some(o) => (o.data.len() as u64, true),
            None => (0, false),
        };
        if !exists && inner.objects.len() >= self.limits.max_objects {
            return Err(StoreError::NoSpace);
        }
        let new_len = if truncate { end } else { old_len.max(end) };
        let new_total = (inner.total_bytes - old_len).saturating_add(new_len);
        if new_total > self.limits.max_total_bytes {
            return Err(StoreError::NoSpace);
        }
        // Sizes beyond the address space cannot be held: refuse them.
        let new_len_usize = usize::try_from(new_len).map_err(|_| StoreError::TooBig)?;
        let offset_usize = usize::try_from(offset).map_err(|_| StoreError::TooBig)?;

        let (key_bytes, old) = match inner.objects.remove_entry(key) {
            Some((k, o)) => (k, o),
            None => (Bytes::copy_from_slice(key), Object::default()),
        };
        let new_data = if offset == 0 && data.len() == new_len_usize {
            // Whole-object replacement: keep the received buffer.
            data
        } else {
            let mut buf = old
                .data
                .try_into_mut()
                .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
            buf.resize(new_len_usize, 0);
            if let Some(dst) = buf.get_mut(offset_usize..offset_usize + data.len()) {
                dst.copy_from_slice(&data);
            }
            buf.freeze()
        };
        inner.total_bytes = new_total;
        inner.objects.insert(
            key_bytes,
            Object {
                data: new_data,
                generation: old.generation.saturating_add(1),
            },
        );
        Ok(new_len)
    }

    /// Reads at most `count` bytes (capped at
    /// [`StoreLimits::max_read_bytes`]) of object `key` from byte `offset`
    /// (`DS_GET`). Reading at or past the end returns no data and `eof`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`], [`StoreError::NameTooLong`],
    /// [`StoreError::NoEntry`].
    pub fn get(&self, key: &[u8], offset: u64, count: u32) -> Result<ReadResult, StoreError> {
        self.check_key(key)?;
        let inner = self.lock();
        let object = inner.objects.get(key).ok_or(StoreError::NoEntry)?;
        let len = object.data.len();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(len);
        let count = (count as usize).min(self.limits.max_read_bytes);
        let end = start.saturating_add(count).min(len);
        Ok(ReadResult {
            data: object.data.slice(start..end),
            eof: end == len,
        })
    }

    /// Removes object `key` (`DS_DELETE`).
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`], [`StoreError::NameTooLong`],
    /// [`StoreError::NoEntry`].
    pub fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        self.check_key(key)?;
        let mut inner = self.lock();
        let object = inner.objects.remove(key).ok_or(StoreError::NoEntry)?;
        inner.total_bytes -= object.data.len() as u64;
        Ok(())
    }

    /// Lists the objects whose key starts with `prefix`, in byte order,
    /// after key `after` (empty: from the start), at most `max_entries`
    /// of them (0 or more than [`StoreLimits::max_list_entries`] means that
    /// limit) (`DS_LIST`).
    ///
    /// # Errors
    ///
    /// [`StoreError::NameTooLong`] when `prefix` or `after` is longer than
    /// [`StoreLimits::max_key_bytes`].
    pub fn list(
        &self,
        prefix: &[u8],
        after: &[u8],
        max_entries: u32,
    ) -> Result<ListPage, StoreError> {
        if prefix.len() > self.limits.max_key_bytes || after.len() > self.limits.max_key_bytes {
            return Err(StoreError::NameTooLong);
        }
        let limit = match max_entries as usize {
            0 => self.limits.max_list_entries,
            n => n.min(self.limits.max_list_entries),
        };
        let start = if after.is_empty() || after < prefix {
            Bound::Included(prefix)
        } else {
            Bound::Excluded(after)
        };
        let inner = self.lock();
        let mut matching = inner
            .objects
            .range::<[u8], _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix));
        let entries: Vec<EntryInfo> = matching
            .by_ref()
            .take(limit)
            .map(|(k, o)| EntryInfo {
                name: k.clone(),
                size: o.data.len() as u64,
                generation: o.generation,
            })
            .collect();
        let eof = matching.next().is_none();
        Ok(ListPage { entries, eof })
    }

    /// The number of objects held.
    pub fn object_count(&self) -> usize {
        self.lock().objects.len()
    }

    /// The bytes held in all objects (keys not counted).
    pub fn total_bytes(&self) -> u64 {
        self.lock().total_bytes
    }
}
