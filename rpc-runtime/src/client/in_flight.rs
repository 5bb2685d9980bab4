//! The pending-call table: XID -> where to deliver the reply.
//!
//! Modelled on tarpc's `in_flight_requests`: duplicate XIDs are refused,
//! and a [`PendingCall`] guard removes its entry when the caller's future
//! is dropped (cancelled), so late replies find nothing and are counted.
//! The entry itself is the completion slot: the reply (or why none will
//! come) is stored in it and the caller's waker woken, so a call
//! allocates no channel of its own.
//! Each entry carries its call's deadline; one watchdog per connection
//! ([`InFlight::expire`]) fails the calls whose deadline passed, so a call
//! registers no timer of its own.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::xid_hasher::BuildXidHasher;

/// Why the connection ended, kept to fail every later call the same way.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    kind: io::ErrorKind,
    message: String,
}

impl Closed {
    pub(crate) fn new(kind: io::ErrorKind, message: impl Into<String>) -> Self {
        Closed {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn from_io(e: &io::Error) -> Self {
        Closed::new(e.kind(), e.to_string())
    }

    pub(crate) fn to_io(&self) -> io::Error {
        io::Error::new(self.kind, self.message.clone())
    }
}

/// Why a call got no reply.
#[derive(Debug, Clone)]
pub(crate) enum NoReply {
    /// The connection closed or failed, or this call alone failed.
    Closed(Closed),
    /// The call's deadline passed.
    TimedOut,
}

/// What a call receives: its reply record, or why none will come.
pub(crate) type Outcome = Result<Bytes, NoReply>;

/// One registered call.
#[derive(Debug)]
struct Entry {
    /// Tells a guard whether the entry is still its own.
    id: u64,
    /// When the call times out; `None`: never.
    deadline: Option<Instant>,
    slot: Slot,
}

#[derive(Debug)]
enum Slot {
    /// No outcome yet; the caller's waker once it has polled.
    Waiting(Option<Waker>),
    /// The outcome, until the caller takes it.
    Done(Outcome),
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<u32, Entry, BuildXidHasher>,
    /// Entries still [`Slot::Waiting`].
    waiting: usize,
    closed: Option<Closed>,
    /// When the watchdog wakes next, if it sleeps with a timer: a new
    /// call due earlier must wake it.
    watchdog_alarm: Option<Instant>,
}

impl State {
    /// Completes the entry of `xid` if it is still waiting; returns the
    /// waker to wake (after the lock is released), or `None` (as
    /// `Err`) if no call waits for `xid`.
    fn finish(&mut self, xid: u32, outcome: Outcome) -> Result<Option<Waker>, ()> {
        let Some(entry) = self.calls.get_mut(&xid) else {
            return Err(());
        };
        let Slot::Waiting(waker) = &mut entry.slot else {
            return Err(());
        };
        let waker = waker.take();
        entry.slot = Slot::Done(outcome);
        self.waiting = self.waiting.saturating_sub(1);
        Ok(waker)
    }

    /// Completes every waiting entry with `reason`; returns their wakers.
    fn finish_all(&mut self, reason: &Closed) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for entry in self.calls.values_mut() {
            if let Slot::Waiting(waker) = &mut entry.slot {
                wakers.extend(waker.take());
                entry.slot = Slot::Done(Err(NoReply::Closed(reason.clone())));
            }
        }
        self.waiting = 0;
        wakers
    }
}

/// A registered call: the guard that frees its entry (and through which
/// its outcome is awaited), and whether it was the only call in flight
/// when registered.
pub(crate) struct Registered {
    pub(crate) guard: PendingCall,
    pub(crate) alone: bool,
}

/// Calls waiting for replies on one connection.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    state: Mutex<State>,
    next_call_id: AtomicU64,
    unmatched_replies: AtomicU64,
    /// Wakes the watchdog when a call is due before its alarm.
    rearm: Notify,
}

/// Why an XID could not be registered.
#[derive(Debug)]
pub(crate) enum InsertError {
    /// A call with this XID is already pending.
    Duplicate,
    /// The connection is closed.
    Closed(Closed),
}

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every operation is a single insert, update or remove), so
        // poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a call under `xid`, due at `deadline` (`None`: never);
    /// the guard removes it when dropped.
    pub(crate) fn insert(
        self: &Arc<Self>,
        xid: u32,
        deadline: Option<Instant>,
    ) -> Result<Registered, InsertError> {
        let mut state = self.lock();
        if let Some(c) = &state.closed {
            return Err(InsertError::Closed(c.clone()));
        }
        let alone = state.calls.is_empty();
        let std::collections::hash_map::Entry::Vacant(vacant) = state.calls.entry(xid) else {
            return Err(InsertError::Duplicate);
        };
        let id = self.next_call_id.fetch_add(1, Ordering::Relaxed);
        vacant.insert(Entry {
            id,
            deadline,
            slot: Slot::Waiting(None),
        });
        state.waiting += 1;
        if let Some(due) = deadline {
            let earlier = match state.watchdog_alarm {
                Some(alarm) => due < alarm,
                None => true,
            };
            if earlier {
                state.watchdog_alarm = Some(due);
                self.rearm.notify_one();
            }
        }
        Ok(Registered {
            guard: PendingCall {
                in_flight: Arc::clone(self),
                xid,
                id,
                finished: AtomicBool::new(false),
            },
            alone,
        })
    }

    /// Delivers a reply to the call waiting for `xid`. Returns false (and
    /// counts it) when no call waits: a late, duplicate or bogus reply.
    pub(crate) fn complete(&self, xid: u32, reply: Bytes) -> bool {
        let finished = self.lock().finish(xid, Ok(reply));
        match finished {
            Ok(waker) => {
                if let Some(w) = waker {
                    w.wake();
                }
                true
            }
            Err(()) => {
                self.unmatched_replies.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Counts a reply that could not even be matched (no XID).
    pub(crate) fn complete_none(&self) {
        self.unmatched_replies.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks the connection closed and fails every pending call with
    /// `reason`. Later inserts fail with it too.
    pub(crate) fn close(&self, reason: Closed) {
        let wakers = {
            let mut state = self.lock();
            let wakers = state.finish_all(&reason);
            if state.closed.is_none() {
                state.closed = Some(reason);
            }
            wakers
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Fails every pending call with `reason` without closing: later
    /// inserts succeed (the connection is being replaced).
    pub(crate) fn fail_pending(&self, reason: &Closed) {
        let wakers = self.lock().finish_all(reason);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Fails the call waiting for `xid`, if any, with `reason` (for
    /// example, its reply was too large to receive). Returns whether a
    /// call was waiting.
    pub(crate) fn fail(&self, xid: u32, reason: Closed) -> bool {
        let finished = self.lock().finish(xid, Err(NoReply::Closed(reason)));
        match finished {
            Ok(waker) => {
                if let Some(w) = waker {
                    w.wake();
                }
                true
            }
            Err(()) => false,
        }
    }

    /// True if a call is waiting for `xid`.
    pub(crate) fn is_pending(&self, xid: u32) -> bool {
        matches!(
            self.lock().calls.get(&xid),
            Some(Entry {
                slot: Slot::Waiting(_),
                ..
            })
        )
    }

    /// Why the connection closed, if it has.
    pub(crate) fn closed(&self) -> Option<Closed> {
        self.lock().closed.clone()
    }

    /// Calls currently waiting for a reply.
    pub(crate) fn len(&self) -> usize {
        self.lock().waiting
    }

    /// Replies that matched no waiting call so far.
    pub(crate) fn unmatched_replies(&self) -> u64 {
        self.unmatched_replies.load(Ordering::Relaxed)
    }

    /// Fails every call whose deadline is at or before `now` with
    /// [`NoReply::TimedOut`], and returns the earliest deadline left: the
    /// watchdog's next alarm (`None`: no call is due, sleep until
    /// [`InFlight::rearmed`]).
    pub(crate) fn expire(&self, now: Instant) -> Option<Instant> {
        let mut wakers = Vec::new();
        let alarm = {
            let mut state = self.lock();
            let mut due_xids = Vec::new();
            let mut alarm: Option<Instant> = None;
            for (&xid, entry) in &state.calls {
                match (entry.deadline, &entry.slot) {
                    (Some(due), Slot::Waiting(_)) if due <= now => due_xids.push(xid),
                    (Some(due), Slot::Waiting(_)) => {
                        alarm = Some(alarm.map_or(due, |a| a.min(due)));
                    }
                    _ => {}
                }
            }
            for xid in due_xids {
                if let Ok(waker) = state.finish(xid, Err(NoReply::TimedOut)) {
                    wakers.extend(waker);
                }
            }
            state.watchdog_alarm = alarm;
            alarm
        };
        wakers.into_iter().for_each(Waker::wake);
        alarm
    }

    /// Completes when a call was registered that is due before the
    /// watchdog's alarm.
    pub(crate) fn rearmed(&self) -> tokio::sync::futures::Notified<'_> {
        self.rearm.notified()
    }
}

/// Removes its call's entry from the table when dropped; awaits the
/// call's outcome.
#[derive(Debug)]
pub(crate) struct PendingCall {
    in_flight: Arc<InFlight>,
    xid: u32,
    id: u64,
    /// The entry is gone already ([`PendingCall::finish`], or its outcome
    /// was taken).
    finished: AtomicBool,
}

impl PendingCall {
    pub(crate) fn xid(&self) -> u32 {
        self.xid
    }

    /// The call's outcome once there is one (taken out of the table);
    /// `None` if the entry is gone (it cannot be, while the guard lives).
    pub(crate) fn poll_outcome(&self, cx: &mut Context<'_>) -> Poll<Option<Outcome>> {
        let mut state = self.in_flight.lock();
        let std::collections::hash_map::Entry::Occupied(mut occupied) = state.calls.entry(self.xid)
        else {
            return Poll::Ready(None);
        };
        if occupied.get().id != self.id {
            return Poll::Ready(None);
        }
        if let Slot::Waiting(waker) = &mut occupied.get_mut().slot {
            match waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        let slot = occupied.remove().slot;
        drop(state);
        // The entry is gone: the guard need not look for it again.
        self.finished.store(true, Ordering::Relaxed);
        match slot {
            Slot::Done(outcome) => Poll::Ready(Some(outcome)),
            Slot::Waiting(_) => Poll::Ready(None),
        }
    }

    /// The table this call is registered in.
    pub(crate) fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// Ends the call with `reply`, which its caller read off the socket
    /// itself, and frees its entry: the reply wins even if the watchdog
    /// timed the call out a moment before.
    pub(crate) fn finish(&self, reply: Bytes) -> Option<Outcome> {
        self.remove_entry();
        self.finished.store(true, Ordering::Relaxed);
        Some(Ok(reply))
    }

    /// Removes this call's entry, if it is still this call's.
    fn remove_entry(&self) {
        let mut state = self.in_flight.lock();
        if let Some(entry) = state.calls.get(&self.xid) {
            if entry.id == self.id {
                let was_waiting = matches!(entry.slot, Slot::Waiting(_));
                state.calls.remove(&self.xid);
                if was_waiting {
                    state.waiting = state.waiting.saturating_sub(1);
                }
            }
        }
    }

    /// Waits for the call's outcome.
    pub(crate) async fn outcome(&self) -> Option<Outcome> {
        std::future::poll_fn(|cx| self.poll_outcome(cx)).await
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if !*self.finished.get_mut() {
            self.remove_entry();
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::task::noop_waker_ref;

    use super::*;

    fn poll(call: &PendingCall) -> Poll<Option<Outcome>> {
        call.poll_outcome(&mut Context::from_waker(noop_waker_ref()))
    }

    fn closed(p: Poll<Option<Outcome>>) -> bool {
        matches!(p, Poll::Ready(Some(Err(NoReply::Closed(_)))))
    }

    #[test]
    fn duplicate_refused_and_guard_frees() {
        let t = Arc::new(InFlight::default());
        let r = t.insert(5, None).unwrap();
        assert!(r.alone);
        let g = r.guard;
        assert!(matches!(t.insert(5, None), Err(InsertError::Duplicate)));
        assert!(!t.insert(6, None).unwrap().alone);
        assert_eq!(t.len(), 1);
        drop(g);
        assert_eq!(t.len(), 0);
        assert!(!t.complete(5, Bytes::new()));
        assert_eq!(t.unmatched_replies(), 1);
    }

    #[test]
    fn reply_is_delivered_once_and_a_duplicate_counted() {
        let t = Arc::new(InFlight::default());
        let call = t.insert(3, None).unwrap().guard;
        assert!(poll(&call).is_pending());
        assert!(t.complete(3, Bytes::from_static(b"r")));
        assert_eq!(t.len(), 0);
        assert!(!t.complete(3, Bytes::from_static(b"again")));
        assert_eq!(t.unmatched_replies(), 1);
        assert!(matches!(poll(&call), Poll::Ready(Some(Ok(b))) if b == "r"));
        assert!(t.lock().calls.is_empty());
    }

    #[test]
    fn stale_guard_does_not_remove_new_entry() {
        let t = Arc::new(InFlight::default());
        let old = t.insert(9, None).unwrap().guard;
        assert!(t.complete(9, Bytes::new()));
        assert!(matches!(poll(&old), Poll::Ready(Some(Ok(_)))));
        let _new = t.insert(9, None).unwrap();
        drop(old);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn close_fails_everyone() {
        let t = Arc::new(InFlight::default());
        let c1 = t.insert(1, None).unwrap().guard;
        let c2 = t.insert(2, None).unwrap().guard;
        t.close(Closed::new(io::ErrorKind::BrokenPipe, "gone"));
        assert_eq!(t.len(), 0);
        assert!(closed(poll(&c1)));
        assert!(closed(poll(&c2)));
        assert!(matches!(t.insert(3, None), Err(InsertError::Closed(_))));
    }

    #[test]
    fn fail_pending_keeps_the_table_open() {
        let t = Arc::new(InFlight::default());
        let c1 = t.insert(1, None).unwrap().guard;
        t.fail_pending(&Closed::new(io::ErrorKind::ConnectionReset, "lost"));
        assert!(closed(poll(&c1)));
        let c2 = t.insert(2, None).unwrap().guard;
        assert!(t.is_pending(2));
        assert!(t.fail(2, Closed::new(io::ErrorKind::InvalidData, "too big")));
        assert!(!t.is_pending(2));
        assert!(!t.fail(2, Closed::new(io::ErrorKind::InvalidData, "again")));
        assert!(closed(poll(&c2)));
    }

    #[test]
    fn expire_times_out_due_calls_and_returns_the_next_alarm() {
        let t = Arc::new(InFlight::default());
        let now = Instant::now();
        let soon = now + std::time::Duration::from_secs(1);
        let later = now + std::time::Duration::from_secs(5);
        let due = t.insert(1, Some(now)).unwrap().guard;
        let _soon = t.insert(2, Some(soon)).unwrap();
        let _later = t.insert(3, Some(later)).unwrap();
        let _never = t.insert(4, None).unwrap();
        assert_eq!(t.expire(now), Some(soon));
        assert!(matches!(
            poll(&due),
            Poll::Ready(Some(Err(NoReply::TimedOut)))
        ));
        assert_eq!(t.len(), 3);
        assert_eq!(t.expire(later), None);
        assert_eq!(t.len(), 1);
    }
}
