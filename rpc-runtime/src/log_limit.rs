//! Rate-limited log lines: one line per kind of event and interval, with
//! the count of the events whose lines were left out.
//!
//! A peer can make a server log as fast as it can connect or send garbage;
//! a log written once per event then floods the disk and hides everything
//! else. A [`LogLimit`] stands for one kind of event (a refused
//! connection, a malformed record, `EMFILE` on accept): the first event
//! of an interval is logged, the others of that interval are counted, and
//! the next line logged carries that count as `suppressed`.
//!
//! ```
//! use std::time::Duration;
//! use rpc_runtime::log_limit::LogLimit;
//!
//! static GARBAGE: LogLimit = LogLimit::new(Duration::from_secs(10));
//!
//! fn on_garbage(peer: &str) {
//!     if let Some(suppressed) = GARBAGE.allow() {
//!         tracing::warn!(peer, suppressed, "closing connection: garbage record");
//!     }
//! }
//! # on_garbage("tcp://127.0.0.1:1");
//! ```
//!
//! Events counted after the last line of a burst are reported with the
//! next event of that kind, whenever it comes (never, if none comes).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The interval most callers want: one line per kind every 10 seconds.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// A limit of one log line per `interval` for one kind of event; usable as
/// a `static` (see the [module docs](self)). Thread-safe: one short lock
/// per event.
#[derive(Debug)]
pub struct LogLimit {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// When the last line was allowed; `None` before the first.
    last: Option<Instant>,
    /// Events since then whose lines were left out.
    suppressed: u64,
}

impl LogLimit {
    /// A limit of one line per `interval`.
    pub const fn new(interval: Duration) -> LogLimit {
        LogLimit {
            interval,
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// One event, now: `Some(n)` when its line should be logged, `n` being
    /// the events left out since the previous line (log it with the line);
    /// `None` when the line is left out (it is counted).
    #[must_use = "log the line when this is Some"]
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    /// As [`LogLimit::allow`], at time `now` (for callers with a clock of
    /// their own, and tests). A `now` earlier than the last line's counts
    /// as within its interval.
    #[must_use = "log the line when this is Some"]
    pub fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let due = st
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            st.last = Some(now);
            Some(std::mem::take(&mut st.suppressed))
        } else {
            st.suppressed = st.suppressed.saturating_add(1);
            None
        }
    }

    /// The interval between two lines.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl Default for LogLimit {
    /// A limit of one line per [`DEFAULT_INTERVAL`].
    fn default() -> Self {
        LogLimit::new(DEFAULT_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_event_is_logged_then_one_per_interval_with_the_count() {
        let limit = LogLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limit.allow_at(t0), Some(0));
        for i in 1..=999u64 {
            assert_eq!(limit.allow_at(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(limit.allow_at(t0 + Duration::from_secs(10)), Some(999));
        assert_eq!(limit.allow_at(t0 + Duration::from_secs(11)), None);
        assert_eq!(limit.allow_at(t0 + Duration::from_secs(25)), Some(1));
        assert_eq!(limit.allow_at(t0 + Duration::from_secs(60)), Some(0));
    }

    #[test]
    fn a_clock_that_goes_back_stays_within_the_interval() {
        let limit = LogLimit::new(Duration::from_secs(1));
        let t0 = Instant::now() + Duration::from_secs(5);
        assert_eq!(limit.allow_at(t0), Some(0));
        assert_eq!(limit.allow_at(t0 - Duration::from_secs(3)), None);
        assert_eq!(limit.allow_at(t0 + Duration::from_secs(1)), Some(1));
    }

    #[test]
    fn kinds_are_limited_apart_and_threads_lose_no_count() {
        static A: LogLimit = LogLimit::new(Duration::from_secs(3600));
        static B: LogLimit = LogLimit::new(Duration::from_secs(3600));
        let t0 = Instant::now();
        assert_eq!(A.allow_at(t0), Some(0));
        assert_eq!(B.allow_at(t0), Some(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || (0..250).filter(|_| A.allow_at(t0).is_some()).count())
            })
            .collect();
        let logged: usize = threads.into_iter().map(|t| t.join().unwrap_or(1)).sum();
        assert_eq!(logged, 0);
        assert_eq!(A.allow_at(t0 + Duration::from_secs(3600)), Some(1000));
        assert_eq!(B.allow_at(t0 + Duration::from_secs(3600)), Some(0));
    }
}
