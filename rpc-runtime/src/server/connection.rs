//! Serving one stream connection: one task reads records, answers each
//! call whose handler finishes in its first poll on the spot, spawns the
//! others, and writes replies as they are ready (all replies ready at once
//! in one `writev`, large results without a user-space copy).
//!
//! The connection is a hand-written state machine polled by one future
//! ([`Connection::poll`]): no channel, lock or second task sits between
//! reading a call and writing its reply, which is what keeps a
//! one-call-at-a-time client's round trip short.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;
use tokio_util::sync::WaitForCancellationFutureOwned;
use tracing::Instrument;

use super::call::{classify, Action, Reply};
use super::conn_table::ConnEntry;
use super::context::PeerAddr;
use super::ServerConfig;
use crate::conn_limits::{BudgetShare, Limit, LimitTimer, RecordClock};
use crate::log_limit::{LogLimit, DEFAULT_INTERVAL};
use crate::record::{Outbox, RecordError, RecordReader, Reservation};

/// One log line per interval for broken record streams...
static BAD_STREAM_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... for records over the limit...
static TOO_LARGE_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... for records that are not calls...
static GARBAGE_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... and for connections closed at a timeout or a byte cap.
static LIMIT_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// Serves `io` until the peer closes it, it fails, a garbage record
/// arrives, a limit closes it, or `entry`'s stop token is cancelled
/// (shutdown, eviction). After a clean end of input or a stop, the calls
/// already read run to completion and their replies are written; after
/// garbage, a read error, a write failure or a limit, the calls still
/// running are cancelled and the connection is closed at once.
pub(super) async fn serve<IO>(
    config: Arc<ServerConfig>,
    io: IO,
    peer: PeerAddr,
    entry: &Arc<ConnEntry>,
) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut conn = Connection::new(config, io, peer, Arc::clone(entry));
    std::future::poll_fn(|cx| conn.poll(cx)).await
}

/// One connection's state.
struct Connection<IO> {
    config: Arc<ServerConfig>,
    io: Pin<Box<IO>>,
    peer: PeerAddr,
    reader: RecordReader,
    /// Replies waiting to be written.
    out: Outbox,
    /// Calls that did not finish in their first poll, each in its own
    /// task; dropping the set (connection torn down) cancels them.
    calls: JoinSet<Option<Reply>>,
    /// Activity, busyness and the stop token, shared with the listener.
    entry: Arc<ConnEntry>,
    /// Wakes the connection when the stop token is cancelled; polled only
    /// when the connection waits (cancellation is checked once per poll).
    stop: Pin<Box<WaitForCancellationFutureOwned>>,
    /// The waker `stop` was last polled with.
    stop_waker: LastWaker,
    /// False once the peer closed its side or the connection was stopped.
    reading: bool,
    /// This connection's part of the server's unread reply bytes.
    budget: BudgetShare,
    /// Reading paused at a cap on unread reply bytes.
    paused: bool,
    /// Since when the record being read has been arriving.
    record: RecordClock,
    /// Fires at the idle, record or write deadline.
    timer: LimitTimer,
}

impl<IO: AsyncRead + AsyncWrite> Connection<IO> {
    fn new(config: Arc<ServerConfig>, io: IO, peer: PeerAddr, entry: Arc<ConnEntry>) -> Self {
        let vectored = io.is_write_vectored();
        Connection {
            reader: RecordReader::new(config.codec.new_codec(), Reservation::Untrusted),
            out: Outbox::new(&config.codec, vectored),
            io: Box::pin(io),
            peer,
            calls: JoinSet::new(),
            stop: Box::pin(entry.stop.clone().cancelled_owned()),
            stop_waker: LastWaker::default(),
            entry,
            reading: true,
            budget: config.budget.share(),
            paused: false,
            record: RecordClock::default(),
            timer: LimitTimer::new(),
            config,
        }
    }

    /// Drives the connection; `Ready` when it is finished.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Checked once per poll (it takes a lock): a cancellation after
        // this wakes the connection through `poll_stop`'s registration.
        if self.reading && self.entry.stop.is_cancelled() {
            self.reading = false;
        }
        loop {
            self.collect_finished_calls(cx)?;
            let mut stopped = ReadStop::Waiting;
            if self.reading {
                stopped = self.read_calls(cx)?;
                // Calls spawned just now: register for their ends (and
                // queue those that are already done).
                self.collect_finished_calls(cx)?;
            }
            let written = self.write_replies(cx)?;
            self.budget.settle(self.out.queued_bytes());
            if !self.reading && self.calls.is_empty() && self.out.is_empty() {
                return match self.io.as_mut().poll_shutdown(cx) {
                    // The peer may be gone already; nothing is lost then.
                    Poll::Ready(_) => Poll::Ready(Ok(())),
                    Poll::Pending => Poll::Pending,
                };
            }
            match stopped {
                // Writing made room for more calls: read them now.
                ReadStop::Limits if written => continue,
                // Answered first; now register for the next calls.
                ReadStop::Drained => continue,
                _ => {}
            }
            if let Poll::Ready(limit) = self.poll_limits(cx) {
                return Poll::Ready(self.closed_at(limit));
            }
            if self.reading && self.poll_stop(cx) {
                self.reading = false;
                continue;
            }
            self.entry
                .set_busy(!self.calls.is_empty() || !self.out.is_empty());
            return Poll::Pending;
        }
    }

    /// Waits for the deadline that applies now (see
    /// [`Timeouts::next`](crate::conn_limits::Timeouts::next)): `Ready`
    /// with the limit once it has passed.
    fn poll_limits(&mut self, cx: &mut Context<'_>) -> Poll<Limit> {
        let can_read =
            self.reading && !self.paused && self.calls.len() < self.config.max_concurrent_calls;
        let idle = self.calls.is_empty() && self.out.is_empty();
        let deadline = self.config.timeouts.next(
            self.out.stalled_since(),
            self.record.started().filter(|_| can_read),
            idle.then(|| self.entry.activity.last()),
        );
        self.timer.poll_expired(cx, deadline)
    }

    /// Counts and logs the connection closed at `limit`; the result it
    /// ends with.
    fn closed_at(&self, limit: Limit) -> io::Result<()> {
        self.config.conn_stats.limits.hit(limit);
        if limit == Limit::IdleTimeout {
            tracing::debug!(peer = %self.peer, "closing idle connection");
            return Ok(());
        }
        if let Some(suppressed) = LIMIT_LOG.allow() {
            tracing::warn!(
                peer = %self.peer,
                limit = limit.as_str(),
                buffered_bytes = self.reader.buffered_bytes(),
                queued_reply_bytes = self.out.queued_bytes(),
                suppressed,
                "closing connection at a limit"
            );
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connection closed at {limit}"),
        ))
    }

    /// Registers for the stop signal; true once it came. The future keeps
    /// the waker it was polled with, so it is polled again only when the
    /// connection's waker changes (cancellation itself is checked once at
    /// the top of every poll).
    fn poll_stop(&mut self, cx: &mut Context<'_>) -> bool {
        if self.stop_waker.is(cx) {
            return false;
        }
        self.stop_waker.set(cx);
        self.stop.as_mut().poll(cx).is_ready()
    }

    /// Queues the replies of spawned calls that have finished. Inlined:
    /// with no call spawned (calls answered in their first poll) it is
    /// one comparison, without the frame of the loop below.
    #[inline(always)]
    fn collect_finished_calls(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.calls.is_empty() {
            return Ok(());
        }
        self.join_finished_calls(cx)
    }

    /// The loop of [`Connection::collect_finished_calls`].
    #[inline(never)]
    fn join_finished_calls(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        while let Poll::Ready(Some(done)) = self.calls.poll_join_next(cx) {
            // The idle time counts from the end of the last call.
            self.entry.activity.touch();
            match done {
                Ok(Some(reply)) => self.queue(reply)?,
                Ok(None) => {}
                // Panics are caught inside the task; this is a runtime
                // shutting down.
                Err(e) => tracing::debug!(error = %e, "call task ended without a reply"),
            }
        }
        Ok(())
    }

    /// Reads and answers calls until the socket has no more, the peer
    /// closed its side, or the limits say to wait; returns why it
    /// stopped.
    fn read_calls(&mut self, cx: &mut Context<'_>) -> io::Result<ReadStop> {
        let mut completed = false;
        let stopped = self.read_records(cx, &mut completed);
        if completed {
            self.entry.activity.touch();
        }
        self.record.update(self.reader.in_record(), completed);
        stopped
    }

    /// The loop of [`Connection::read_calls`]; `completed` is set when a
    /// record was read.
    fn read_records(&mut self, cx: &mut Context<'_>, completed: &mut bool) -> io::Result<ReadStop> {
        loop {
            let over_budget = self.budget.over(self.out.queued_bytes());
            if over_budget && !self.paused {
                self.config.conn_stats.limits.hit(Limit::UnreadBytesPaused);
            }
            self.paused = over_budget;
            if over_budget || self.calls.len() >= self.config.max_concurrent_calls {
                return Ok(ReadStop::Limits);
            }
            match self.reader.poll_next_record(self.io.as_mut(), cx) {
                Poll::Ready(Some(Ok(record))) => {
                    *completed = true;
                    self.answer(record, cx)?;
                    // A lone call: send its reply before looking again.
                    if self.reader.drained() {
                        return Ok(ReadStop::Drained);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.bad_stream(&e);
                    return Err(e.into());
                }
                Poll::Ready(None) => {
                    self.reading = false;
                    return Ok(ReadStop::Waiting);
                }
                Poll::Pending => return Ok(ReadStop::Waiting),
            }
        }
    }

    /// Counts and logs (rate-limited) a record stream that broke.
    fn bad_stream(&self, e: &RecordError) {
        let stats = &self.config.conn_stats;
        if let RecordError::RecordTooLarge { .. } = e {
            stats.limits.hit(Limit::RecordTooLarge);
            if let Some(suppressed) = TOO_LARGE_LOG.allow() {
                tracing::warn!(peer = %self.peer, error = %e, suppressed, "closing connection: record over the limit");
            }
            return;
        }
        stats.bad_record_stream();
        if let Some(suppressed) = BAD_STREAM_LOG.allow() {
            tracing::warn!(peer = %self.peer, error = %e, suppressed, "closing connection: bad record stream");
        }
    }

    /// Answers one call record: a reply at once, or the handler run (on
    /// the spot if it finishes in its first poll, else in a task).
    fn answer(&mut self, record: Bytes, cx: &mut Context<'_>) -> io::Result<()> {
        let config = &self.config;
        match classify(
            &config.registry,
            record,
            &self.peer,
            config.call_limits(config.codec.record_limit()),
            #[cfg(feature = "gss")]
            config.gss.as_deref(),
        ) {
            Action::Ignore => Ok(()),
            Action::Garbage(why) => {
                config.conn_stats.garbage_record();
                if let Some(suppressed) = GARBAGE_LOG.allow() {
                    tracing::warn!(peer = %self.peer, reason = %why, suppressed, "closing connection: garbage record");
                }
                Err(io::Error::new(io::ErrorKind::InvalidData, why))
            }
            Action::Reply(reply) => self.queue(reply),
            Action::Run(mut running) => {
                let span = tracing::debug_span!(
                    "rpc_serve",
                    xid = running.call.xid,
                    program = running.call.program,
                    version = running.call.version,
                    procedure = running.call.procedure,
                );
                // Most handlers (NULL, lookups in memory) finish in their
                // first poll: answer those here, without a task of their
                // own. Polling the same future later from a task, with
                // that task's waker, is what the `Future` contract allows.
                let first = span.in_scope(|| running.poll(cx));
                match first {
                    Poll::Ready(Some(reply)) => self.queue(reply),
                    Poll::Ready(None) => Ok(()),
                    Poll::Pending => {
                        self.calls.spawn(running.finish().instrument(span));
                        Ok(())
                    }
                }
            }
        }
    }

    /// Queues `reply`; a connection still over a cap on unread reply
    /// bytes is closed instead.
    fn queue(&mut self, reply: Reply) -> io::Result<()> {
        let queued = self.out.queued_bytes();
        if queued > 0 && self.budget.over(queued) {
            return self.closed_at(Limit::UnreadBytesClosed);
        }
        reply.queue(&mut self.out).map_err(|e| {
            tracing::warn!(peer = %self.peer, error = %e, "closing connection: reply not sent");
            io::Error::from(e)
        })
    }

    /// Writes queued replies. Returns true if it wrote everything (the
    /// outbox notes since when the peer has taken nothing otherwise).
    /// Fails if writing fails.
    fn write_replies(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        if self.out.is_empty() {
            return Ok(false);
        }
        match self.out.poll_write(self.io.as_mut(), cx) {
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(e)) => {
                tracing::debug!(peer = %self.peer, error = %e, "writing replies failed; closing connection");
                Err(e)
            }
            Poll::Pending => Ok(false),
        }
    }
}

/// Why [`Connection::read_calls`] stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadStop {
    /// The socket has no more for now (the waker is registered), or the
    /// peer closed its side.
    Waiting,
    /// The last read drained the socket; it has not been polled since, so
    /// no waker is registered yet.
    Drained,
    /// Too many calls running or too many reply bytes unwritten.
    Limits,
}

/// The waker a long-lived future (a timer, the stop signal) was last
/// polled with. Such a future keeps that waker, so the connection polls it
/// again only when its own waker changes.
#[derive(Default)]
struct LastWaker(Option<Waker>);

impl LastWaker {
    /// True if `cx`'s waker is the one recorded.
    fn is(&self, cx: &Context<'_>) -> bool {
        self.0.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
    }

    /// Records `cx`'s waker.
    fn set(&mut self, cx: &Context<'_>) {
        self.0 = Some(cx.waker().clone());
    }
}
