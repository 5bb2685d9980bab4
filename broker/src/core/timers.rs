//! The core's deadlines: one ordered set of `(when, what)`, so the next
//! deadline is the first entry and finished work removes its own.

use std::collections::BTreeSet;
use std::time::Instant;

use super::handles::{BackendId, CallId};

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// A call's overall deadline.
    Call(CallId),
    /// The end of one attempt of an idempotent call.
    Attempt(CallId),
    /// The next supervision step of a backend's connection slot
    /// (reconnect, connect timeout, health check, health-check timeout).
    Link(BackendId, usize),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(Instant, Timer)>,
}

impl Timers {
    pub(crate) fn insert(&mut self, at: Instant, timer: Timer) {
        self.set.insert((at, timer));
    }

    pub(crate) fn remove(&mut self, at: Instant, timer: Timer) {
        self.set.remove(&(at, timer));
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.set.first().map(|&(at, _)| at)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let &(at, timer) = self.set.first()?;
        if at > now {
            return None;
        }
        self.set.remove(&(at, timer));
        Some(timer)
    }

    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}
