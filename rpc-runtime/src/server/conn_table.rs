//! [`ConnTable`]: the open connections of one listener, for the
//! connection limit: a new connection beyond it evicts the one idle the
//! longest ([`longest_idle`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::conn_stats::ConnStats;
use crate::conn_limits::{longest_idle, Activity, Limit};

/// What a connection shares with its listener's table: when it was last
/// active, whether it is busy, and how to close it.
#[derive(Debug, Default)]
pub(crate) struct ConnEntry {
    /// A complete call read, a call finished.
    pub(crate) activity: Activity,
    /// Calls executing or replies waiting to be written.
    busy: AtomicBool,
    /// Cancelled to stop the connection (shutdown or eviction): it reads
    /// no further call, finishes what it has and closes.
    pub(crate) stop: CancellationToken,
}

impl ConnEntry {
    /// An entry stopped by `stop`.
    pub(crate) fn new(stop: CancellationToken) -> ConnEntry {
        ConnEntry {
            activity: Activity::new(),
            busy: AtomicBool::new(false),
            stop,
        }
    }

    /// Records whether calls execute or replies wait.
    pub(crate) fn set_busy(&self, busy: bool) {
        self.busy.store(busy, Ordering::Relaxed);
    }

    /// Since when the connection is idle; `None` while it is busy.
    fn idle_since(&self) -> Option<Instant> {
        (!self.busy.load(Ordering::Relaxed)).then(|| self.activity.last())
    }
}

/// The open connections of a listener, at most `max`.
#[derive(Debug)]
pub(crate) struct ConnTable {
    max: usize,
    state: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    next_id: u64,
    open: HashMap<u64, Arc<ConnEntry>>,
}

/// A connection's place in its [`ConnTable`]; dropping it frees the
/// place.
#[derive(Debug)]
pub(crate) struct ConnSlot {
    table: Option<Arc<ConnTable>>,
    id: u64,
    entry: Arc<ConnEntry>,
}

impl ConnSlot {
    /// A connection in no table (served by
    /// [`Server::serve_connection`](super::Server::serve_connection)).
    pub(crate) fn alone(stop: CancellationToken) -> ConnSlot {
        ConnSlot {
            table: None,
            id: 0,
            entry: Arc::new(ConnEntry::new(stop)),
        }
    }

    /// What the connection shares with the table.
    pub(crate) fn entry(&self) -> &Arc<ConnEntry> {
        &self.entry
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        if let Some(t) = &self.table {
            t.lock().open.remove(&self.id);
        }
    }
}

impl ConnTable {
    /// A table of at most `max` connections.
    pub(crate) fn new(max: usize) -> Arc<ConnTable> {
        Arc::new(ConnTable {
            max: max.max(1),
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection stopped by `stop`. At the limit the
    /// connection idle the longest is stopped to make room (counted as
    /// [`Limit::Evicted`]); `None` (counted as [`Limit::Refused`]) when
    /// every connection is busy.
    pub(crate) fn admit(
        self: &Arc<Self>,
        stop: CancellationToken,
        stats: &ConnStats,
    ) -> Option<ConnSlot> {
        let mut st = self.lock();
        if st.open.len() >= self.max {
            let idlest = longest_idle(st.open.iter().map(|(id, e)| (*id, e.idle_since())));
            let Some(evicted) = idlest.and_then(|id| st.open.remove(&id)) else {
                drop(st);
                stats.limits.hit(Limit::Refused);
                return None;
            };
            evicted.stop.cancel();
            stats.limits.hit(Limit::Evicted);
        }
        let id = st.next_id;
        st.next_id += 1;
        let entry = Arc::new(ConnEntry::new(stop));
        st.open.insert(id, Arc::clone(&entry));
        Some(ConnSlot {
            table: Some(Arc::clone(self)),
            id,
            entry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_limit_the_longest_idle_goes_and_busy_ones_stay() {
        let stats = ConnStats::default();
        let table = ConnTable::new(2);
        let a = table.admit(CancellationToken::new(), &stats).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = table.admit(CancellationToken::new(), &stats).unwrap();
        b.entry().activity.touch();
        let c = table.admit(CancellationToken::new(), &stats).unwrap();
        assert!(a.entry().stop.is_cancelled());
        assert!(!b.entry().stop.is_cancelled());
        assert_eq!(stats.limit_hits(Limit::Evicted), 1);
        b.entry().set_busy(true);
        c.entry().set_busy(true);
        assert!(table.admit(CancellationToken::new(), &stats).is_none());
        assert_eq!(stats.limit_hits(Limit::Refused), 1);
        drop(c);
        assert!(table.admit(CancellationToken::new(), &stats).is_some());
        drop(a);
    }
}
