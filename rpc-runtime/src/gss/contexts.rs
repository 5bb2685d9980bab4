//! [`ContextTable`]: the server's RPCSEC_GSS contexts by handle, bounded
//! in number (RFC 2203 section 5.2.3.1: the handle names the context in
//! every later call).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use libgssapi::context::ServerCtx;

use super::protect::Protection;
use super::window::SeqWindow;

/// The default number of contexts a server keeps: 1,024
/// ([`ServerGss::max_contexts`](super::ServerGss::max_contexts)).
pub const DEFAULT_MAX_CONTEXTS: usize = 1024;

/// One context of the table.
pub(crate) enum Entry {
    /// The mechanism asked for another round trip (CONTINUE_INIT).
    Creating(Mutex<Option<ServerCtx>>),
    /// Established: data calls may use it.
    Open(Arc<OpenContext>),
}

/// An established server context.
#[derive(Debug)]
pub(crate) struct OpenContext {
    pub(crate) protection: Protection,
    pub(crate) window: Mutex<SeqWindow>,
    /// The client's name (display form).
    pub(crate) principal: Arc<str>,
}

/// Contexts by handle; the oldest is dropped when a new one would pass
/// the limit (its client gets RPCSEC_GSS_CREDPROBLEM next and makes a
/// new one).
pub(crate) struct ContextTable {
    entries: Mutex<BTreeMap<u64, Arc<Entry>>>,
    next: AtomicU64,
    max: usize,
}

impl ContextTable {
    pub(crate) fn new(max: usize) -> Self {
        ContextTable {
            entries: Mutex::new(BTreeMap::new()),
            // Handles differ between server runs, so a client holding a
            // handle from an earlier run gets CREDPROBLEM, not a stranger's
            // context.
            next: AtomicU64::new(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    << 8,
            ),
            max: max.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `entry` under a new handle; returns the handle and whether
    /// the oldest context was dropped to make room.
    pub(crate) fn insert(&self, entry: Entry) -> (Bytes, bool) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.lock();
        let evicted = entries.len() >= self.max && entries.pop_first().is_some();
        entries.insert(id, Arc::new(entry));
        (Bytes::copy_from_slice(&id.to_be_bytes()), evicted)
    }

    /// Replaces the entry under `handle` (a context that finished
    /// creation).
    pub(crate) fn replace(&self, handle: &[u8], entry: Entry) {
        if let Some(id) = id_of(handle) {
            self.lock().insert(id, Arc::new(entry));
        }
    }

    pub(crate) fn get(&self, handle: &[u8]) -> Option<Arc<Entry>> {
        self.lock().get(&id_of(handle)?).cloned()
    }

    pub(crate) fn remove(&self, handle: &[u8]) {
        if let Some(id) = id_of(handle) {
            self.lock().remove(&id);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

fn id_of(handle: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(handle.try_into().ok()?))
}
