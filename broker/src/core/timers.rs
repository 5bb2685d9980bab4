//! The core's deadlines. Supervision and attempt deadlines are few and
//! live in one ordered set of `(when, what)`. Call deadlines, one per
//! call, are the call's arrival plus its timeout, so calls with the same
//! timeout reach them in arrival order: each timeout has a queue in
//! arrival order, a new deadline goes at its back and the first one at
//! its front, and a finished call's entry is left behind and skipped
//! (its call is no longer live) instead of searched for. A queue is
//! compacted when skipped entries outnumber live ones, so memory stays
//! proportional to the calls in flight.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::handles::{BackendId, CallId, HandleSet};

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

/// Empty call-deadline queues kept for timeouts that may come back (a
/// reload can change timeouts; more empty ones are dropped).
const KEPT_EMPTY_QUEUES: usize = 8;

/// Skipped entries a queue may hold beyond its live ones before it is
/// compacted.
const COMPACT_SLACK: usize = 64;

/// The deadlines of the calls of one timeout, in arrival order; the
/// front entry is always live.
#[derive(Debug)]
struct CallQueue {
    timeout: Duration,
    entries: VecDeque<(Instant, CallId)>,
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(Instant, Timer)>,
    queues: Vec<CallQueue>,
    /// The calls whose deadline is pending.
    live: HandleSet<CallId>,
}

impl Timers {
    /// Arms `timer` (an attempt or supervision deadline) at `at`.
    pub(crate) fn insert(&mut self, at: Instant, timer: Timer) {
        self.set.insert((at, timer));
    }

    /// Disarms `timer` armed at `at` (nothing if it is not armed).
    pub(crate) fn remove(&mut self, at: Instant, timer: Timer) {
        self.set.remove(&(at, timer));
    }

    /// Arms the deadline of call `id`: `timeout` after its arrival, at
    /// `at`.
    pub(crate) fn insert_call(&mut self, id: CallId, timeout: Duration, at: Instant) {
        self.live.insert(id);
        let queue = match self.queues.iter().position(|q| q.timeout == timeout) {
            Some(i) => &mut self.queues[i],
            None => {
                self.queues.push(CallQueue {
                    timeout,
                    entries: VecDeque::new(),
                });
                let last = self.queues.len() - 1;
                &mut self.queues[last]
            }
        };
        // Arrivals are in order, but an arrival read on another thread
        // may take the core's lock a moment after a later one: then the
        // entry goes in its place.
        let place = queue
            .entries
            .iter()
            .rposition(|&(t, _)| t <= at)
            .map_or(0, |i| i + 1);
        queue.entries.insert(place, (at, id));
        if queue.entries.len() > 2 * self.live.len() + COMPACT_SLACK {
            let live = &self.live;
            queue.entries.retain(|(_, id)| live.contains(id));
        }
    }

    /// Disarms the deadline of call `id` (nothing if it is not armed:
    /// it fired already).
    pub(crate) fn remove_call(&mut self, id: CallId) {
        if self.live.remove(&id) {
            self.skip_finished();
        }
    }

    /// Drops the entries of finished calls from the queues' fronts, and
    /// empty queues beyond [`KEPT_EMPTY_QUEUES`].
    fn skip_finished(&mut self) {
        for q in &mut self.queues {
            while q
                .entries
                .front()
                .is_some_and(|(_, id)| !self.live.contains(id))
            {
                q.entries.pop_front();
            }
        }
        if self.queues.len() > KEPT_EMPTY_QUEUES {
            self.queues.retain(|q| !q.entries.is_empty());
        }
    }

    /// The earliest call deadline: its queue's index and the instant.
    fn first_call(&self) -> Option<(usize, Instant)> {
        self.queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.entries.front().map(|&(at, _)| (i, at)))
            .min_by_key(|&(_, at)| at)
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        let set = self.set.first().map(|&(at, _)| at);
        let call = self.first_call().map(|(_, at)| at);
        set.into_iter().chain(call).min()
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let set = self.set.first().copied();
        let call = self.first_call();
        match (set, call) {
            (Some((at, timer)), call) if at <= now && call.is_none_or(|(_, c)| at <= c) => {
                self.set.remove(&(at, timer));
                Some(timer)
            }
            (_, Some((i, at))) if at <= now => {
                let (_, id) = self.queues.get_mut(i)?.entries.pop_front()?;
                self.live.remove(&id);
                self.skip_finished();
                Some(Timer::Call(id))
            }
            _ => None,
        }
    }

    /// Deadlines armed.
    pub(crate) fn len(&self) -> usize {
        self.set.len() + self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_deadlines_fire_in_order_across_timeouts_and_finished_calls_do_not_fire() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut timers = Timers::default();
        timers.insert_call(CallId(1), s(30), t + s(30));
        timers.insert_call(CallId(2), s(5), t + s(6));
        timers.insert_call(CallId(3), s(30), t + s(31));
        timers.insert(t + s(7), Timer::Attempt(CallId(3)));
        timers.insert_call(CallId(4), s(5), t + s(8));
        timers.remove_call(CallId(2));
        timers.remove_call(CallId(3));
        assert_eq!(timers.len(), 3);
        assert_eq!(timers.next(), Some(t + s(7)));
        assert_eq!(timers.pop_due(t + s(6)), None);
        let fired: Vec<Timer> = std::iter::from_fn(|| timers.pop_due(t + s(60))).collect();
        assert_eq!(
            fired,
            [
                Timer::Attempt(CallId(3)),
                Timer::Call(CallId(4)),
                Timer::Call(CallId(1))
            ]
        );
        assert_eq!((timers.len(), timers.next()), (0, None));
        // A deadline that fired is not disarmed twice.
        timers.remove_call(CallId(1));
        assert_eq!(timers.len(), 0);
    }

    #[test]
    fn a_late_arrival_takes_its_place_and_skipped_entries_are_compacted() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut timers = Timers::default();
        timers.insert_call(CallId(1), s(30), t + s(31));
        timers.insert_call(CallId(2), s(30), t + s(30));
        assert_eq!(timers.next(), Some(t + s(30)));
        // One call stays in flight while many finish behind it.
        for n in 3..10_000 {
            timers.insert_call(CallId(n), s(30), t + s(32));
            timers.remove_call(CallId(n));
        }
        let held: usize = timers.queues.iter().map(|q| q.entries.len()).sum();
        assert!(held <= 2 * 2 + COMPACT_SLACK + 1, "{held} entries held");
        assert_eq!(timers.pop_due(t + s(40)), Some(Timer::Call(CallId(2))));
        assert_eq!(timers.pop_due(t + s(40)), Some(Timer::Call(CallId(1))));
        assert_eq!(timers.pop_due(t + s(40)), None);
    }
}
