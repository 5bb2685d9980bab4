//! The pending-call table: XID -> where to deliver the reply.
//!
//! Modelled on tarpc's `in_flight_requests`: duplicate XIDs are refused,
//! and a [`PendingCall`] guard removes its entry when the caller's future
//! is dropped (cancelled or timed out), so late replies find nothing and
//! are counted.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::oneshot;

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

type Completion = oneshot::Sender<Result<Bytes, Closed>>;

#[derive(Debug, Default)]
struct State {
    /// XID -> (call id, completion). The call id tells a guard whether the
    /// entry is still its own.
    calls: HashMap<u32, (u64, Completion)>,
    closed: Option<Closed>,
}

/// Calls waiting for replies on one connection.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    state: Mutex<State>,
    next_call_id: AtomicU64,
    unmatched_replies: AtomicU64,
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
        // (every operation is a single insert/remove), so poisoning is
        // ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a call under `xid`; the guard removes it when dropped.
    pub(crate) fn insert(
        self: &Arc<Self>,
        xid: u32,
    ) -> Result<(PendingCall, oneshot::Receiver<Result<Bytes, Closed>>), InsertError> {
        let mut state = self.lock();
        if let Some(c) = &state.closed {
            return Err(InsertError::Closed(c.clone()));
        }
        if state.calls.contains_key(&xid) {
            return Err(InsertError::Duplicate);
        }
        let id = self.next_call_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        state.calls.insert(xid, (id, tx));
        Ok((
            PendingCall {
                in_flight: Arc::clone(self),
                xid,
                id,
            },
            rx,
        ))
    }

    /// Delivers a reply to the call waiting for `xid`. Returns false (and
    /// counts it) when no call waits: a late, duplicate or bogus reply.
    pub(crate) fn complete(&self, xid: u32, reply: Bytes) -> bool {
        let entry = self.lock().calls.remove(&xid);
        match entry {
            Some((_, tx)) => {
                // The receiver may be gone if the caller was dropped just
                // now; that is a late reply too.
                let delivered = tx.send(Ok(reply)).is_ok();
                if !delivered {
                    self.unmatched_replies.fetch_add(1, Ordering::Relaxed);
                }
                delivered
            }
            None => {
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
        let calls = {
            let mut state = self.lock();
            if state.closed.is_none() {
                state.closed = Some(reason.clone());
            }
            std::mem::take(&mut state.calls)
        };
        for (_, (_, tx)) in calls {
            let _ = tx.send(Err(reason.clone()));
        }
    }

    /// Fails every pending call with `reason` without closing: later
    /// inserts succeed (the connection is being replaced).
    pub(crate) fn fail_pending(&self, reason: &Closed) {
        let calls = std::mem::take(&mut self.lock().calls);
        for (_, (_, tx)) in calls {
            let _ = tx.send(Err(reason.clone()));
        }
    }

    /// Fails the call waiting for `xid`, if any, with `reason` (for
    /// example, its reply was too large to receive). Returns whether a
    /// call was waiting.
    pub(crate) fn fail(&self, xid: u32, reason: Closed) -> bool {
        let entry = self.lock().calls.remove(&xid);
        match entry {
            Some((_, tx)) => tx.send(Err(reason)).is_ok(),
            None => false,
        }
    }

    /// True if a call is waiting for `xid`.
    pub(crate) fn is_pending(&self, xid: u32) -> bool {
        self.lock().calls.contains_key(&xid)
    }

    /// Why the connection closed, if it has.
    pub(crate) fn closed(&self) -> Option<Closed> {
        self.lock().closed.clone()
    }

    /// Calls currently waiting for a reply.
    pub(crate) fn len(&self) -> usize {
        self.lock().calls.len()
    }

    /// Replies that matched no waiting call so far.
    pub(crate) fn unmatched_replies(&self) -> u64 {
        self.unmatched_replies.load(Ordering::Relaxed)
    }
}

/// Removes its call's entry from the table when dropped.
#[derive(Debug)]
pub(crate) struct PendingCall {
    in_flight: Arc<InFlight>,
    xid: u32,
    id: u64,
}

impl PendingCall {
    pub(crate) fn xid(&self) -> u32 {
        self.xid
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        let mut state = self.in_flight.lock();
        if matches!(state.calls.get(&self.xid), Some((id, _)) if *id == self.id) {
            state.calls.remove(&self.xid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_refused_and_guard_frees() {
        let t = Arc::new(InFlight::default());
        let (g, _rx) = t.insert(5).unwrap();
        assert!(matches!(t.insert(5), Err(InsertError::Duplicate)));
        assert_eq!(t.len(), 1);
        drop(g);
        assert_eq!(t.len(), 0);
        assert!(!t.complete(5, Bytes::new()));
        assert_eq!(t.unmatched_replies(), 1);
    }

    #[test]
    fn stale_guard_does_not_remove_new_entry() {
        let t = Arc::new(InFlight::default());
        let (old, _rx) = t.insert(9).unwrap();
        assert!(t.complete(9, Bytes::new()) || t.len() == 0);
        let (_new, _rx2) = t.insert(9).unwrap();
        drop(old);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn close_fails_everyone() {
        let t = Arc::new(InFlight::default());
        let (_g1, mut rx1) = t.insert(1).unwrap();
        let (_g2, mut rx2) = t.insert(2).unwrap();
        t.close(Closed::new(io::ErrorKind::BrokenPipe, "gone"));
        assert!(matches!(rx1.try_recv(), Ok(Err(_))));
        assert!(matches!(rx2.try_recv(), Ok(Err(_))));
        assert!(matches!(t.insert(3), Err(InsertError::Closed(_))));
    }

    #[test]
    fn fail_pending_keeps_the_table_open() {
        let t = Arc::new(InFlight::default());
        let (_g1, mut rx1) = t.insert(1).unwrap();
        t.fail_pending(&Closed::new(io::ErrorKind::ConnectionReset, "lost"));
        assert!(matches!(rx1.try_recv(), Ok(Err(_))));
        let (_g2, mut rx2) = t.insert(2).unwrap();
        assert!(t.is_pending(2));
        assert!(t.fail(2, Closed::new(io::ErrorKind::InvalidData, "too big")));
        assert!(matches!(rx2.try_recv(), Ok(Err(_))));
        assert!(!t.is_pending(2));
        assert!(!t.fail(2, Closed::new(io::ErrorKind::InvalidData, "again")));
    }
}
