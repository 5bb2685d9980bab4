//! [`ConnStats`]: what a server's stream connections ran into.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::conn_limits::{Limit, LimitCounts};

/// What the stream connections of a server ran into, counted over all
/// its listeners since it was built (see [`Server::conn_stats`]).
///
/// [`Server::conn_stats`]: super::Server::conn_stats
#[derive(Debug, Default)]
pub struct ConnStats {
    pub(crate) limits: LimitCounts,
    bad_record_streams: AtomicU64,
    garbage_records: AtomicU64,
}

impl ConnStats {
    /// How often `limit` was hit (each is set on
    /// [`ServerBuilder`](super::ServerBuilder)).
    pub fn limit_hits(&self, limit: Limit) -> u64 {
        self.limits.get(limit)
    }

    /// Connections that ended in a broken record stream: a read error (a
    /// peer reset among them) or a stream that ended inside a record.
    pub fn bad_record_streams(&self) -> u64 {
        self.bad_record_streams.load(Ordering::Relaxed)
    }

    /// Connections closed for a record that is not an RPC call.
    pub fn garbage_records(&self) -> u64 {
        self.garbage_records.load(Ordering::Relaxed)
    }

    pub(crate) fn bad_record_stream(&self) {
        self.bad_record_streams.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn garbage_record(&self) {
        self.garbage_records.fetch_add(1, Ordering::Relaxed);
    }
}
