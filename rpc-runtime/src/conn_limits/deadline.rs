//! A connection's deadlines: [`Timeouts`] chooses the next one,
//! [`RecordClock`] times the record being read, [`LimitTimer`] waits for
//! the deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::time::Sleep;

use super::Limit;

/// The timeouts of a connection; `None` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// An idle connection is closed after this long.
    pub idle: Option<Duration>,
    /// A record must be complete this long after its first byte arrived
    /// (or after the record before it completed, when the next one had
    /// already started).
    pub record: Option<Duration>,
    /// Replies may wait this long without the peer taking a byte.
    pub write: Option<Duration>,
}

impl Default for Timeouts {
    /// [`DEFAULT_IDLE_TIMEOUT`](super::DEFAULT_IDLE_TIMEOUT),
    /// [`DEFAULT_RECORD_TIMEOUT`](super::DEFAULT_RECORD_TIMEOUT) and
    /// [`DEFAULT_WRITE_TIMEOUT`](super::DEFAULT_WRITE_TIMEOUT).
    fn default() -> Self {
        Timeouts {
            idle: Some(super::DEFAULT_IDLE_TIMEOUT),
            record: Some(super::DEFAULT_RECORD_TIMEOUT),
            write: Some(super::DEFAULT_WRITE_TIMEOUT),
        }
    }
}

impl Timeouts {
    /// The deadline that applies to a connection now, and the limit it
    /// stands for: replies stalled since `write_stalled_since` (the write
    /// timeout), else a record being read since `record_started` (the
    /// record timeout; pass `None` while reading is paused), else a
    /// connection idle since `idle_since` (the idle timeout). Inside a
    /// record only the record timeout applies, so a half-sent record is
    /// closed as such. `None` when none applies.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use rpc_runtime::conn_limits::{Limit, Timeouts};
    ///
    /// let t = Instant::now();
    /// let timeouts = Timeouts::default();
    /// assert_eq!(
    ///     timeouts.next(None, Some(t), Some(t)),
    ///     Some((t + Duration::from_secs(10), Limit::RecordTimeout))
    /// );
    /// assert_eq!(timeouts.next(None, None, None), None);
    /// ```
    pub fn next(
        &self,
        write_stalled_since: Option<Instant>,
        record_started: Option<Instant>,
        idle_since: Option<Instant>,
    ) -> Option<(Instant, Limit)> {
        if let Some(since) = write_stalled_since {
            return Some((since.checked_add(self.write?)?, Limit::WriteTimeout));
        }
        if let (Some(since), Some(t)) = (record_started, self.record) {
            return Some((since.checked_add(t)?, Limit::RecordTimeout));
        }
        Some((idle_since?.checked_add(self.idle?)?, Limit::IdleTimeout))
    }
}

/// Since when the record being read has been arriving.
#[derive(Debug, Default, Clone, Copy)]
pub struct RecordClock {
    started: Option<Instant>,
}

impl RecordClock {
    /// After a read: `in_record` when part of a record is held, and
    /// `completed` when a record was completed since the last update (a
    /// record under way then started with it). Reads the clock only when
    /// a record starts.
    pub fn update(&mut self, in_record: bool, completed: bool) {
        if !in_record {
            self.started = None;
        } else if self.started.is_none() || completed {
            self.started = Some(super::now());
        }
    }

    /// Since when the record under way has been arriving; `None` between
    /// records.
    pub fn started(&self) -> Option<Instant> {
        self.started
    }
}

/// One timer for all of a connection's deadlines. It is armed at the
/// deadline it is polled with and left alone while that deadline moves
/// later (activity moves the idle deadline on every call): it then fires
/// early, and is armed again at the deadline of the moment. No timer is
/// allocated until the first deadline.
#[derive(Debug, Default)]
pub struct LimitTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    /// The instant the timer is armed at.
    armed: Option<Instant>,
    /// The waker the timer was last polled with.
    waker: Option<Waker>,
}

impl LimitTimer {
    /// A timer, not yet armed.
    pub fn new() -> LimitTimer {
        LimitTimer::default()
    }

    /// `Ready(limit)` once `deadline` has passed; otherwise the timer is
    /// armed (at the deadline, or earlier) and `cx` woken when it fires.
    /// `None`: no deadline; nothing is armed. Inlined down to the check
    /// that nothing needs doing (polled on every pass of a connection).
    #[inline(always)]
    pub fn poll_expired(
        &mut self,
        cx: &mut Context<'_>,
        deadline: Option<(Instant, Limit)>,
    ) -> Poll<Limit> {
        let Some((at, limit)) = deadline else {
            return Poll::Pending;
        };
        // Armed no later than needed, and already registered with this
        // waker: nothing to do (no clock read, no timer touched).
        if let (Some(armed), Some(sleep), Some(w)) = (self.armed, &self.sleep, &self.waker) {
            if armed <= at && !sleep.is_elapsed() && w.will_wake(cx.waker()) {
                return Poll::Pending;
            }
        }
        self.arm_and_poll(cx, at, limit)
    }

    /// The timer (re)armed for `at` if needed, then polled.
    #[inline(never)]
    fn arm_and_poll(&mut self, cx: &mut Context<'_>, at: Instant, limit: Limit) -> Poll<Limit> {
        loop {
            if self.armed.is_none_or(|a| at < a) {
                let when = tokio::time::Instant::from_std(at);
                match &mut self.sleep {
                    Some(s) => s.as_mut().reset(when),
                    None => self.sleep = Some(Box::pin(tokio::time::sleep_until(when))),
                }
                self.armed = Some(at);
            }
            let Some(sleep) = &mut self.sleep else {
                return Poll::Pending;
            };
            if sleep.as_mut().poll(cx).is_pending() {
                self.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            self.armed = None;
            if super::now() >= at {
                return Poll::Ready(limit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_stall_comes_first_then_the_record_then_idleness() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let timeouts = Timeouts {
            idle: Some(s(300)),
            record: Some(s(10)),
            write: Some(s(30)),
        };
        assert_eq!(
            timeouts.next(Some(t), Some(t), Some(t)),
            Some((t + s(30), Limit::WriteTimeout))
        );
        assert_eq!(
            timeouts.next(None, Some(t), Some(t)),
            Some((t + s(10), Limit::RecordTimeout))
        );
        assert_eq!(
            timeouts.next(None, None, Some(t)),
            Some((t + s(300), Limit::IdleTimeout))
        );
        assert_eq!(
            timeouts.next(None, Some(t), Some(t - s(295))),
            Some((t + s(10), Limit::RecordTimeout))
        );
        let off = Timeouts {
            idle: None,
            record: None,
            write: None,
        };
        assert_eq!(off.next(Some(t), Some(t), Some(t)), None);
    }

    #[test]
    fn the_record_clock_restarts_with_each_record() {
        let mut c = RecordClock::default();
        c.update(false, false);
        assert!(c.started().is_none());
        c.update(true, false);
        let first = c.started();
        assert!(first.is_some());
        c.update(true, false);
        assert_eq!(c.started(), first);
        std::thread::sleep(Duration::from_millis(2));
        c.update(true, true);
        assert!(c.started() > first);
        c.update(false, true);
        assert!(c.started().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_fires_at_the_deadline_of_the_moment() {
        let mut timer = LimitTimer::new();
        let start = super::super::now();
        let first = start + Duration::from_secs(1);
        let later = start + Duration::from_secs(3);
        // Armed at the first deadline; the deadline then moves later.
        let poll = |timer: &mut LimitTimer, d| {
            std::future::poll_fn(|cx| Poll::Ready(timer.poll_expired(cx, d))).now_or_never()
        };
        assert_eq!(
            poll(&mut timer, Some((first, Limit::IdleTimeout))),
            Some(Poll::Pending)
        );
        let fired =
            std::future::poll_fn(|cx| timer.poll_expired(cx, Some((later, Limit::IdleTimeout))));
        assert_eq!(fired.await, Limit::IdleTimeout);
        assert!(super::super::now() >= later);
    }

    use futures::FutureExt;
}
