//! [`LimitCounts`]: a counter per [`Limit`].

use std::sync::atomic::{AtomicU64, Ordering};

use super::Limit;

/// How often each [`Limit`] was hit; shared by the connections of a
/// server (see [`Server::conn_stats`](crate::Server::conn_stats)).
#[derive(Debug, Default)]
pub struct LimitCounts {
    hits: [AtomicU64; Limit::ALL.len()],
}

impl LimitCounts {
    /// Counts one hit of `limit`.
    pub fn hit(&self, limit: Limit) {
        if let Some(c) = self.hits.get(limit.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hits of `limit` so far.
    pub fn get(&self, limit: Limit) -> u64 {
        self.hits
            .get(limit.index())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_has_its_own_counter() {
        let c = LimitCounts::default();
        c.hit(Limit::IdleTimeout);
        c.hit(Limit::IdleTimeout);
        c.hit(Limit::UnreadBytesClosed);
        let counted: Vec<u64> = Limit::ALL.iter().map(|l| c.get(*l)).collect();
        assert_eq!(counted, [0, 0, 2, 0, 0, 0, 0, 1]);
    }
}
