//! [`Outbox`]: a connection's outgoing records, written by whichever task
//! produces them when the socket takes them at once, and by the
//! connection's own task when it does not (or when writes are batched).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::BufMut;
use rpc_runtime::conn_limits::{Activity, BudgetShare, ReplyBudget};
use rpc_runtime::record;
use tokio::sync::Notify;

use crate::core::Transmit;
use crate::driver::socket::WriteHalf;
use crate::driver::wire::record_outbox;
use crate::metrics::LimitHit;

/// Records queued with [`Outbox::send_later`] that are written at once
/// instead of waiting for the owner.
const SEND_LATER_BATCH: usize = 16;

/// A connection's write half and the records waiting for it (framed,
/// queued and written by [`record::Outbox`], shared behind a mutex).
///
/// Two ways in: [`Outbox::send_now`] writes at once when nothing is
/// queued (a reply to a client: no wake-up of the client's task at all);
/// [`Outbox::send_later`] queues and wakes the owner task once, so that
/// every call produced in one round of the runtime goes out in one
/// vectored write (calls to a shared backend connection). When the
/// socket would block, the owner waits for it to become writable and
/// writes the rest ([`Outbox::flush`]).
#[derive(Debug)]
pub(crate) struct Outbox {
    io: WriteHalf,
    queue: Mutex<Queue>,
    /// Wakes the task that owns the connection.
    owner: Notify,
    /// Counted by the reader: calls read and not yet answered on the
    /// socket (clients only).
    unanswered: AtomicUsize,
    /// Wake the owner when `unanswered` drops from this value.
    max_unanswered: usize,
    /// The owner reads no more calls (the client ended its side): wake
    /// it when the last reply is written, which is what it waits for.
    reading_ended: AtomicBool,
    /// The last complete call read or reply written (clients only).
    activity: Activity,
}

/// What the owner of a client's [`Outbox`] looks at between reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientView {
    /// Where the outbox stands.
    pub(crate) state: OutboxState,
    /// Replies wait beyond a cap on unread bytes: read no further call.
    pub(crate) over_budget: bool,
    /// Since when replies have waited without the socket taking a byte.
    pub(crate) stalled_since: Option<Instant>,
}

#[derive(Debug)]
struct Queue {
    /// The records waiting, and the bytes and stall the limits look at.
    records: record::Outbox,
    /// The last write would have blocked: the owner waits for writability.
    blocked: bool,
    /// The owner has been asked to flush.
    flush_asked: bool,
    /// Writing failed, or the connection is to close: nothing more is
    /// written and the owner ends.
    closed: bool,
    /// Which limit closed the outbox, if one did.
    closed_by: Option<LimitHit>,
    /// This client's part of the caps on unread reply bytes (clients
    /// only).
    budget: Option<BudgetShare>,
}

/// Where an [`Outbox`] stands, for its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutboxState {
    /// Nothing waits for the socket.
    Idle,
    /// Records wait for the socket to become writable.
    Blocked,
    /// Closed (write failure or asked to close).
    Closed,
}

impl Outbox {
    /// An outbox for a backend connection.
    pub(crate) fn backend(io: WriteHalf) -> Outbox {
        Outbox::new(io, usize::MAX, None)
    }

    /// An outbox for a client connection with at most `max_unanswered`
    /// calls in flight and unread replies capped by `budget`.
    pub(crate) fn client(io: WriteHalf, max_unanswered: usize, budget: ReplyBudget) -> Outbox {
        Outbox::new(io, max_unanswered, Some(budget))
    }

    fn new(io: WriteHalf, max_unanswered: usize, budget: Option<ReplyBudget>) -> Outbox {
        Outbox {
            io,
            queue: Mutex::new(Queue {
                records: record_outbox(),
                blocked: false,
                flush_asked: false,
                closed: false,
                closed_by: None,
                budget: budget.as_ref().map(ReplyBudget::share),
            }),
            owner: Notify::new(),
            unanswered: AtomicUsize::new(0),
            max_unanswered,
            reading_ended: AtomicBool::new(false),
            activity: Activity::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `t` and writes what the socket takes now (only when nothing
    /// was queued before it: otherwise the owner is already on it).
    ///
    /// A client with replies already waiting beyond a cap of its
    /// [`ReplyBudget`] is closed instead (its reading paused at the cap,
    /// so these are replies to calls read before).
    pub(crate) fn send_now(&self, t: Transmit) {
        let mut q = self.lock();
        if q.closed {
            return;
        }
        let idle = q.records.is_empty();
        if !idle && Self::over_budget(&q) {
            self.close_locked(&mut q, Some(LimitHit::UnreadBytesClosed));
            return;
        }
        if !self.push(&mut q, t) {
            return;
        }
        if idle {
            self.write_queued(&mut q, true);
        }
        Self::settle(&mut q);
    }

    /// Appends `t` to the queue as one record: the XID, then the rest
    /// of the message (by reference when large). False if the record
    /// cannot be written (the outbox is closed then).
    fn push(&self, q: &mut Queue, t: Transmit) -> bool {
        let pushed = q
            .records
            .push_with_head(|head| head.put_u32(t.xid), std::slice::from_ref(&t.rest));
        if let Err(e) = pushed {
            tracing::debug!(error = %e, "record not sent; closing connection");
            self.close_locked(q, None);
            return false;
        }
        true
    }

    /// True when the queued bytes reach a cap of the client's
    /// [`ReplyBudget`].
    fn over_budget(q: &Queue) -> bool {
        q.budget
            .as_ref()
            .is_some_and(|b| b.over(q.records.queued_bytes()))
    }

    /// Brings the budget's shared count up to date with the queue (only
    /// bytes left queued after a write touch it).
    fn settle(q: &mut Queue) {
        let bytes = q.records.queued_bytes();
        if let Some(b) = &mut q.budget {
            b.settle(bytes);
        }
    }

    /// Queues `t` for the owner to write with whatever else is queued by
    /// then (one wake-up per batch).
    pub(crate) fn send_later(&self, t: Transmit) {
        let mut q = self.lock();
        if q.closed {
            return;
        }
        if !self.push(&mut q, t) || q.blocked {
            return;
        }
        if q.records.queued_records() >= SEND_LATER_BATCH {
            // Enough for one write: do not hold them back any longer (the
            // peer starts on them while more are read).
            self.write_queued(&mut q, true);
        } else if !q.flush_asked {
            q.flush_asked = true;
            self.owner.notify_one();
        }
    }

    /// Writes what is queued (owner side: after a wake-up, or once the
    /// socket is writable again). Returns the state after.
    pub(crate) fn flush(&self) -> OutboxState {
        let mut q = self.lock();
        q.flush_asked = false;
        q.blocked = false;
        if !q.closed && !q.records.is_empty() {
            self.write_queued(&mut q, false);
            Self::settle(&mut q);
        }
        Self::state_of(&q)
    }

    /// Where the outbox stands.
    pub(crate) fn state(&self) -> OutboxState {
        Self::state_of(&self.lock())
    }

    /// Where a client's outbox stands, for its owner.
    pub(crate) fn client_view(&self) -> ClientView {
        let q = self.lock();
        ClientView {
            state: Self::state_of(&q),
            over_budget: Self::over_budget(&q),
            stalled_since: q.records.stalled_since(),
        }
    }

    /// The limit that closed the outbox, if one did.
    pub(crate) fn closed_by(&self) -> Option<LimitHit> {
        self.lock().closed_by
    }

    /// A complete call was read, or a reply written, now.
    pub(crate) fn touch(&self) {
        self.activity.touch();
    }

    /// When the client last had a complete call read or a reply written
    /// (or connected).
    pub(crate) fn last_active(&self) -> Instant {
        self.activity.last()
    }

    /// Since when the client is idle: no call in flight, no reply
    /// waiting; `None` when it is not.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        let empty = self.lock().records.is_empty();
        (empty && self.unanswered() == 0).then(|| self.last_active())
    }

    fn state_of(q: &Queue) -> OutboxState {
        if q.closed {
            OutboxState::Closed
        } else if q.blocked {
            OutboxState::Blocked
        } else {
            OutboxState::Idle
        }
    }

    /// Stops writing and wakes the owner, which ends the connection.
    pub(crate) fn close(&self) {
        self.close_because(None);
    }

    /// As [`Outbox::close`], because limit `hit` was reached (reported by
    /// [`Outbox::closed_by`]).
    pub(crate) fn close_because(&self, hit: Option<LimitHit>) {
        let mut q = self.lock();
        self.close_locked(&mut q, hit);
    }

    fn close_locked(&self, q: &mut Queue, hit: Option<LimitHit>) {
        if !q.closed {
            q.closed_by = hit;
        }
        q.closed = true;
        q.records.clear();
        Self::settle(q);
        self.owner.notify_one();
    }

    /// Waits until the owner is asked to do something: flush, close, or
    /// look again at the calls in flight. Cancel-safe.
    async fn wake(&self) {
        self.owner.notified().await;
    }

    /// Waits until the socket may take more. Cancel-safe.
    async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// The owning task's write duty: waits until it is asked to write
    /// (a full queue, or frames left behind) or, when `state` is
    /// [`OutboxState::Blocked`], until the socket takes more, then writes
    /// what is queued. Cancel-safe.
    ///
    /// # Errors
    ///
    /// The socket's error while waiting for it to become writable.
    pub(crate) async fn serve_writes(&self, state: OutboxState) -> io::Result<()> {
        tokio::select! {
            biased;
            () = self.wake() => {}
            r = self.writable(), if state == OutboxState::Blocked => r?,
        }
        self.flush();
        Ok(())
    }

    /// A call was read from the client: one more reply to write.
    pub(crate) fn call_read(&self) {
        self.unanswered.fetch_add(1, Ordering::SeqCst);
    }

    /// Calls read whose replies are not yet written in full.
    pub(crate) fn unanswered(&self) -> usize {
        self.unanswered.load(Ordering::SeqCst)
    }

    /// The owner reads no further call: from now on it is woken when the
    /// last reply is written. (While it reads, the write of a last reply
    /// wakes nobody: a synchronous client's next call does.) Set before
    /// the owner looks at [`Outbox::unanswered`]; both sides use
    /// sequentially consistent order, so one of them sees the other.
    pub(crate) fn end_reading(&self) {
        self.reading_ended.store(true, Ordering::SeqCst);
    }

    /// Writes queued records until the queue is empty, the socket would
    /// block (the owner is woken to wait for it, unless `wake_owner` is
    /// false: the owner itself is writing and sees the state) or writing
    /// fails (the outbox closes and the owner is woken).
    fn write_queued(&self, q: &mut Queue, wake_owner: bool) {
        let result = q
            .records
            .try_write(|slices| self.io.try_write_vectored(slices));
        let done = q.records.take_written_records();
        if done > 0 && q.budget.is_some() {
            self.answered(done);
            self.touch();
        }
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !q.blocked {
                    q.blocked = true;
                    if wake_owner {
                        self.owner.notify_one();
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "write failed");
                self.close_locked(q, None);
            }
        }
    }

    /// `n` replies are written: wake the owner if its reading paused on
    /// the limit, or if it reads no more and no reply is left to write.
    fn answered(&self, n: usize) {
        let before = self
            .unanswered
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                Some(u.saturating_sub(n))
            })
            .unwrap_or_else(|u| u);
        // Wake the owner when its reading paused on the limit, and when
        // the last reply is written after the client stopped sending: it
        // waits for exactly that to end (a TCP peer that closed may still
        // take writes, so no error would wake it). A client still sending
        // is not woken: its next call does that (one wake-up per call).
        if before >= self.max_unanswered
            || (before <= n && self.reading_ended.load(Ordering::SeqCst))
        {
            self.owner.notify_one();
        }
    }
}
