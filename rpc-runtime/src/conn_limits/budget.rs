//! [`ReplyBudget`]: the caps on reply bytes waiting for their peers to
//! read them, and [`BudgetShare`]: one connection's part of the count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The caps on the bytes of replies waiting to be written: per
/// connection, and for all connections together (whose running count the
/// connections share). Cheap to clone; clones share the count.
///
/// At a cap a connection reads no further call (backpressure); a reply
/// that arrives while its connection is still over a cap closes the
/// connection.
#[derive(Debug, Clone)]
pub struct ReplyBudget {
    per_connection: usize,
    total_cap: usize,
    total: Arc<AtomicUsize>,
}

impl ReplyBudget {
    /// Caps of `per_connection` bytes for one connection and `total`
    /// bytes for all (each at least 1).
    pub fn new(per_connection: usize, total: usize) -> ReplyBudget {
        ReplyBudget {
            per_connection: per_connection.max(1),
            total_cap: total.max(1),
            total: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The cap for one connection, bytes.
    pub fn per_connection(&self) -> usize {
        self.per_connection
    }

    /// The cap for all connections, bytes.
    pub fn total_cap(&self) -> usize {
        self.total_cap
    }

    /// Bytes waiting for all connections now (as last settled).
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// One connection's share, counting nothing yet.
    pub fn share(&self) -> BudgetShare {
        BudgetShare {
            budget: self.clone(),
            counted: 0,
        }
    }
}

/// One connection's part of a [`ReplyBudget`]: the bytes it has queued
/// as last added to the shared count. Dropping it takes them out again.
#[derive(Debug)]
pub struct BudgetShare {
    budget: ReplyBudget,
    counted: usize,
}

impl BudgetShare {
    /// True when `queued` bytes (this connection's unwritten replies)
    /// reach the connection's cap, or the shared count reaches the total
    /// cap while this connection has bytes queued.
    pub fn over(&self, queued: usize) -> bool {
        queued >= self.budget.per_connection
            || (queued > 0 && self.budget.total() >= self.budget.total_cap)
    }

    /// Brings the shared count up to date with `queued` (no atomic
    /// operation when it has not changed since the last call).
    pub fn settle(&mut self, queued: usize) {
        let total = &self.budget.total;
        if queued > self.counted {
            total.fetch_add(queued - self.counted, Ordering::Relaxed);
        } else if queued < self.counted {
            total.fetch_sub(self.counted - queued, Ordering::Relaxed);
        }
        self.counted = queued;
    }
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        self.settle(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_connection_and_in_total() {
        let budget = ReplyBudget::new(100, 150);
        let mut a = budget.share();
        let mut b = budget.share();
        assert!(!a.over(99));
        assert!(a.over(100));
        a.settle(90);
        b.settle(50);
        assert_eq!(budget.total(), 140);
        assert!(!b.over(50));
        b.settle(60);
        // The total cap holds back every connection with bytes queued...
        assert!(a.over(90) && b.over(60));
        // ... but not one with none.
        assert!(!budget.share().over(0));
        drop(a);
        assert_eq!(budget.total(), 60);
        b.settle(0);
        assert_eq!(budget.total(), 0);
    }
}
