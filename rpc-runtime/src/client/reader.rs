//! The receiving side of a stream connection, shared by the connection
//! task and a caller that is alone in flight.
//!
//! With one call in flight, handing each reply from the connection task
//! to the caller costs a task wake-up and a poll of the task per call.
//! So a caller whose call was the only one in flight when it was
//! registered reads the socket itself while it waits
//! ([`DirectRead::poll_reply`]): it takes the reader's lock,
//! delivers any other call's reply it meets to the pending-call table, and
//! stops at its own. Whoever polls the socket last is the one its
//! readiness wakes, so the two take turns: while a caller reads, the task
//! leaves the socket alone; when the caller stops (its reply came, it
//! failed, or its future was dropped) it polls the socket once more with
//! the task's waker ([`DirectRead::hand_back`]), handing whatever arrived
//! meanwhile to the table, so that the next data wakes the task, without
//! waking the task now. So the task always watches an idle connection (a
//! server that closes it is noticed), and a lone call costs no task poll:
//! its reply wakes only its caller. A read error or the end of the stream,
//! met by either, ends the connection in the task. The lock is never
//! held across an `.await`.

use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::io::AsyncRead;

use super::in_flight::{Closed, InFlight, Outcome, PendingCall};
use crate::message::peek_xid;
use crate::record::{RecordError, RecordReader};

/// Reading replies from the caller's task.
pub(super) trait DirectRead: Send + Sync {
    /// Waits for `call`'s outcome, reading replies from the socket with
    /// the caller's waker while no one else is reading it.
    fn poll_reply(&self, cx: &mut Context<'_>, call: &PendingCall) -> Poll<Option<Outcome>>;

    /// Gives the socket back to the connection task: the caller that read
    /// it (for `call`) stops reading.
    fn hand_back(&self, call: &PendingCall);
}

/// The read half of the current connection and its record reader.
struct Side<R> {
    io: R,
    records: RecordReader,
}

struct ReaderState<R> {
    /// The current connection's read side; `None` between connections.
    side: Option<Side<R>>,
    /// The connection task's waker, from its last poll.
    task: Option<Waker>,
    /// A caller's read failed or met the end of the stream; the task
    /// ends the connection with it.
    ended: Option<Closed>,
    /// A caller is reading; the task does not poll the socket (it would
    /// take the readiness wake-up from the caller).
    caller_reading: bool,
}

impl<R> ReaderState<R> {
    /// Records why the connection ended and wakes the task to end it.
    fn end(&mut self, error: Option<RecordError>) {
        self.ended = Some(ended_by(error));
        if let Some(task) = &self.task {
            task.wake_by_ref();
        }
    }
}

/// The reader of a stream connection, reachable from every caller.
pub(super) struct SharedReader<R> {
    state: Mutex<ReaderState<R>>,
}

impl<R> std::fmt::Debug for SharedReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedReader").finish_non_exhaustive()
    }
}

/// What reading one record meant.
enum Read {
    /// The record was handed to the table (or dropped as unmatched).
    Delivered,
    /// The record is the reply the reading caller waits for.
    Own(Bytes),
}

/// Why the connection ended, from a read error (`Some`) or the end of the
/// stream (`None`).
fn ended_by(error: Option<RecordError>) -> Closed {
    match error {
        Some(e) => {
            let e: io::Error = e.into();
            tracing::warn!(error = %e, "client connection read failed");
            Closed::from_io(&e)
        }
        None => Closed::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed by the server",
        ),
    }
}

impl<R: AsyncRead + Unpin> SharedReader<R> {
    /// A reader slot with no connection yet.
    pub(super) fn new() -> Self {
        SharedReader {
            state: Mutex::new(ReaderState {
                side: None,
                task: None,
                ended: None,
                caller_reading: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ReaderState<R>> {
        // Every critical section is one non-blocking read attempt; a panic
        // inside leaves at worst a partly read record. Poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs the read side of a new connection.
    pub(super) fn attach(&self, io: R, records: RecordReader) {
        let mut state = self.lock();
        state.side = Some(Side { io, records });
        state.ended = None;
        state.caller_reading = false;
    }

    /// Removes the read side of a connection that ended.
    pub(super) fn detach(&self) {
        self.lock().side = None;
    }

    /// Reads replies with the connection task's waker and hands each to
    /// the call waiting for its XID, until the connection fails or ends:
    /// `Ready` with the reason.
    pub(super) fn poll_task(&self, cx: &mut Context<'_>, in_flight: &InFlight) -> Poll<Closed> {
        let mut state = self.lock();
        match &state.task {
            Some(task) if task.will_wake(cx.waker()) => {}
            _ => state.task = Some(cx.waker().clone()),
        }
        if let Some(reason) = state.ended.take() {
            return Poll::Ready(reason);
        }
        if state.caller_reading {
            return Poll::Pending;
        }
        let Some(side) = state.side.as_mut() else {
            return Poll::Pending;
        };
        side.poll_deliver_all(cx, in_flight).map(ended_by)
    }

    /// Reads records with the caller's waker until its own reply (`Some`)
    /// or until the socket has no more (`None`), handing the others' to
    /// the table.
    fn read_own(&self, cx: &mut Context<'_>, call: &PendingCall) -> Option<Bytes> {
        // Not `try_lock`: a reply may have woken this caller alone, so it
        // must read now even if the task holds the lock for a moment (to
        // find that a caller is reading and leave the socket alone).
        let mut state = self.lock();
        let state = &mut *state;
        if state.ended.is_some() {
            return None;
        }
        let side = state.side.as_mut()?;
        state.caller_reading = true;
        loop {
            match side.poll_record(cx, call.in_flight(), Some(call.xid())) {
                Poll::Pending => return None,
                Poll::Ready(Ok(Read::Delivered)) => {}
                Poll::Ready(Ok(Read::Own(reply))) => return Some(reply),
                Poll::Ready(Err(error)) => {
                    // The task ends the connection, which fails this call
                    // (and every other) through the table.
                    state.end(error);
                    return None;
                }
            }
        }
    }
}

impl<R: AsyncRead + Unpin> Side<R> {
    /// Reads records and hands each to the table until the socket has no
    /// more (`Pending`, `cx` registered) or the stream failed (`Some`) or
    /// ended (`None`).
    fn poll_deliver_all(
        &mut self,
        cx: &mut Context<'_>,
        in_flight: &InFlight,
    ) -> Poll<Option<RecordError>> {
        loop {
            match self.poll_record(cx, in_flight, None) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) => return Poll::Ready(error),
            }
        }
    }

    /// Reads one record and delivers it, unless it is `own`'s reply.
    /// `Err` when the stream failed (`Some`) or ended (`None`).
    fn poll_record(
        &mut self,
        cx: &mut Context<'_>,
        in_flight: &InFlight,
        own: Option<u32>,
    ) -> Poll<Result<Read, Option<RecordError>>> {
        let record = match self.records.poll_next_record(Pin::new(&mut self.io), cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(record))) => record,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(Some(e))),
            Poll::Ready(None) => return Poll::Ready(Err(None)),
        };
        match peek_xid(&record) {
            Some(xid) if Some(xid) == own => return Poll::Ready(Ok(Read::Own(record))),
            Some(xid) => {
                if !in_flight.complete(xid, record) {
                    tracing::debug!(xid, "reply matches no pending call; dropped");
                }
            }
            None => {
                in_flight.complete_none();
                tracing::debug!(len = record.len(), "record too short for an XID; dropped");
            }
        }
        Poll::Ready(Ok(Read::Delivered))
    }
}

impl<R: AsyncRead + Unpin + Send> DirectRead for SharedReader<R> {
    fn poll_reply(&self, cx: &mut Context<'_>, call: &PendingCall) -> Poll<Option<Outcome>> {
        if let Some(reply) = self.read_own(cx, call) {
            return Poll::Ready(call.finish(reply));
        }
        // Nothing for this call on the socket: wait for the table, with
        // the caller's waker in its entry, so the task or the watchdog can
        // finish the call while this caller does not read (checked after
        // reading, so an outcome stored meanwhile is seen).
        call.poll_outcome(cx)
    }

    fn hand_back(&self, call: &PendingCall) {
        let mut state = self.lock();
        let state = &mut *state;
        if !std::mem::take(&mut state.caller_reading) || state.ended.is_some() {
            return;
        }
        let (Some(task), Some(side)) = (&state.task, state.side.as_mut()) else {
            // The task has not polled yet; its first poll reads.
            return;
        };
        // Read on the task's behalf, with its waker: what is there goes
        // to the table, and the socket's readiness then wakes the task,
        // which need not run now (one task poll less per lone call).
        let mut cx = Context::from_waker(task);
        if let Poll::Ready(error) = side.poll_deliver_all(&mut cx, call.in_flight()) {
            state.end(error);
        }
    }
}
