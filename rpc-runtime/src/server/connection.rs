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
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tracing::Instrument;

use super::call::{classify, Action, Reply};
use super::context::PeerAddr;
use super::ServerConfig;
use crate::record::{RecordQueue, RecordReader, Reservation};

/// Replies queued and not yet written beyond which no more calls are
/// read until the peer takes some, in bytes (per connection).
const MAX_QUEUED_REPLY_BYTES: usize = 1024 * 1024;

/// Serves `io` until the peer closes it, it fails, a garbage record
/// arrives, or `stop` is cancelled. After a clean end of input or `stop`,
/// the calls already read run to completion and their replies are
/// written; after garbage, a read error or a write failure, the calls
/// still running are cancelled and the connection is closed at once.
pub(super) async fn serve<IO>(
    config: Arc<ServerConfig>,
    io: IO,
    peer: PeerAddr,
    stop: CancellationToken,
) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut conn = Connection::new(config, io, peer, stop);
    std::future::poll_fn(|cx| conn.poll(cx)).await
}

/// One connection's state.
struct Connection<IO> {
    config: Arc<ServerConfig>,
    io: Pin<Box<IO>>,
    peer: PeerAddr,
    reader: RecordReader,
    /// Replies waiting to be written.
    out: RecordQueue,
    /// Calls that did not finish in their first poll, each in its own
    /// task; dropping the set (connection torn down) cancels them.
    calls: JoinSet<Option<Reply>>,
    /// Cancelled to stop reading calls (graceful shutdown).
    stop_token: CancellationToken,
    /// Wakes the connection when `stop_token` is cancelled; polled only
    /// when the connection waits (cancellation is checked once per poll).
    stop: Pin<Box<WaitForCancellationFutureOwned>>,
    /// The waker `stop` was last polled with.
    stop_waker: LastWaker,
    /// False once the peer closed its side or `stop` was cancelled.
    reading: bool,
    idle: IdleTimer,
    /// Armed while replies wait for the peer to read.
    write_deadline: Option<Pin<Box<Sleep>>>,
}

impl<IO: AsyncRead + AsyncWrite> Connection<IO> {
    fn new(config: Arc<ServerConfig>, io: IO, peer: PeerAddr, stop: CancellationToken) -> Self {
        let vectored = io.is_write_vectored();
        Connection {
            reader: RecordReader::new(config.codec.new_codec(), Reservation::Untrusted),
            out: RecordQueue::new(&config.codec, vectored),
            idle: IdleTimer::new(config.idle_timeout),
            io: Box::pin(io),
            peer,
            calls: JoinSet::new(),
            stop: Box::pin(stop.clone().cancelled_owned()),
            stop_waker: LastWaker::default(),
            stop_token: stop,
            reading: true,
            write_deadline: None,
            config,
        }
    }

    /// Drives the connection; `Ready` when it is finished.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Checked once per poll (it takes a lock): a cancellation after
        // this wakes the connection through `poll_stop`'s registration.
        if self.reading && self.stop_token.is_cancelled() {
            self.reading = false;
        }
        loop {
            self.collect_finished_calls(cx)?;
            let read_before = self.reader.bytes_read();
            let mut stopped = ReadStop::Waiting;
            if self.reading {
                stopped = self.read_calls(cx)?;
                // Calls spawned just now: register for their ends (and
                // queue those that are already done).
                self.collect_finished_calls(cx)?;
            }
            let written = self.write_replies(cx)?;
            // Reading is activity; the clock is read after the write, so
            // a reply does not wait for it.
            if self.reader.bytes_read() != read_before {
                self.idle.touch();
            }
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
            if self.idle_expired(cx) {
                return Poll::Ready(Ok(()));
            }
            if self.reading && self.poll_stop(cx) {
                self.reading = false;
                continue;
            }
            return Poll::Pending;
        }
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

    /// Queues the replies of spawned calls that have finished.
    fn collect_finished_calls(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.calls.is_empty() {
            return Ok(());
        }
        while let Poll::Ready(Some(done)) = self.calls.poll_join_next(cx) {
            // The idle time counts from the end of the last call.
            self.idle.touch();
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
        loop {
            if self.calls.len() >= self.config.max_concurrent_calls
                || self.out.queued_bytes() >= MAX_QUEUED_REPLY_BYTES
            {
                return Ok(ReadStop::Limits);
            }
            match self.reader.poll_next_record(self.io.as_mut(), cx) {
                Poll::Ready(Some(Ok(record))) => {
                    self.answer(record, cx)?;
                    // A lone call: send its reply before looking again.
                    if self.reader.drained() {
                        return Ok(ReadStop::Drained);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::warn!(peer = %self.peer, error = %e, "closing connection: bad record stream");
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

    /// Answers one call record: a reply at once, or the handler run (on
    /// the spot if it finishes in its first poll, else in a task).
    fn answer(&mut self, record: Bytes, cx: &mut Context<'_>) -> io::Result<()> {
        let config = &self.config;
        match classify(
            &config.registry,
            record,
            &self.peer,
            config.deadline(),
            config.max_decode_depth,
            #[cfg(feature = "gss")]
            config.gss.as_deref(),
        ) {
            Action::Ignore => Ok(()),
            Action::Garbage(why) => {
                tracing::warn!(peer = %self.peer, reason = %why, "closing connection: garbage record");
                Err(io::Error::new(io::ErrorKind::InvalidData, why))
            }
            Action::Reply(reply) => self.queue(reply),
            Action::Run(job) => {
                let span = tracing::debug_span!(
                    "rpc_serve",
                    xid = job.call.xid,
                    program = job.call.program,
                    version = job.call.version,
                    procedure = job.call.procedure,
                );
                let mut running = job.start(config.codec.record_limit());
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

    fn queue(&mut self, reply: Reply) -> io::Result<()> {
        reply.queue(&mut self.out).map_err(|e| {
            tracing::warn!(peer = %self.peer, error = %e, "closing connection: reply not sent");
            io::Error::from(e)
        })
    }

    /// Writes queued replies. Returns true if it wrote everything. Fails
    /// if writing fails or the peer has not taken its replies within the
    /// write timeout.
    fn write_replies(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        if self.out.is_empty() {
            return Ok(false);
        }
        match self.out.poll_write(self.io.as_mut(), cx) {
            Poll::Ready(Ok(())) => {
                self.write_deadline = None;
                Ok(true)
            }
            Poll::Ready(Err(e)) => {
                tracing::debug!(peer = %self.peer, error = %e, "writing replies failed; closing connection");
                Err(e)
            }
            Poll::Pending => self.check_write_deadline(cx).map(|()| false),
        }
    }

    /// Arms the write timeout when replies first wait for the peer, and
    /// fails once it passes.
    fn check_write_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(limit) = self.config.write_timeout else {
            return Ok(());
        };
        let Some(at) = Instant::now().checked_add(limit) else {
            return Ok(());
        };
        let deadline = self
            .write_deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if deadline.as_mut().poll(cx).is_ready() {
            tracing::warn!(
                peer = %self.peer,
                timeout = ?limit,
                "closing connection: the peer does not read its replies"
            );
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "writing replies timed out",
            ));
        }
        Ok(())
    }

    /// True if the connection has been idle (nothing read, no call
    /// running, nothing to write) for the idle timeout: it is closed.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.idle.poll_expired(cx) {
            return false;
        }
        if !self.calls.is_empty() || !self.out.is_empty() {
            // Calls are still running or replying: not idle.
            self.idle.touch();
            return self.idle_expired(cx);
        }
        if self.reader.in_record() {
            tracing::warn!(
                peer = %self.peer,
                buffered_bytes = self.reader.buffered_bytes(),
                "closing idle connection: it stopped in the middle of a record"
            );
        } else {
            tracing::debug!(peer = %self.peer, "closing idle connection");
        }
        true
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

/// Fires once the connection has been idle for the configured time;
/// never if there is none. Activity only records the time; the timer is
/// moved when it fires early, so busy connections touch no timer per call,
/// and it is polled only to register a new waker (otherwise its state is
/// read with a load).
struct IdleTimer {
    timeout: Duration,
    last_active: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The waker the armed timer was last polled with.
    waker: LastWaker,
}

impl IdleTimer {
    fn new(timeout: Option<Duration>) -> Self {
        let now = Instant::now();
        let sleep = timeout
            .and_then(|t| now.checked_add(t))
            .map(|at| Box::pin(tokio::time::sleep_until(at)));
        IdleTimer {
            timeout: timeout.unwrap_or(Duration::MAX),
            last_active: now,
            sleep,
            waker: LastWaker::default(),
        }
    }

    /// Starts the idle time again from now.
    fn touch(&mut self) {
        if self.sleep.is_some() {
            self.last_active = Instant::now();
        }
    }

    /// True once the timeout has passed since the last activity.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(sleep) = &mut self.sleep else {
            return false;
        };
        if self.waker.is(cx) && !sleep.is_elapsed() {
            return false;
        }
        loop {
            if sleep.as_mut().poll(cx).is_pending() {
                self.waker.set(cx);
                return false;
            }
            let Some(due) = self.last_active.checked_add(self.timeout) else {
                return false;
            };
            if due <= Instant::now() {
                return true;
            }
            sleep.as_mut().reset(due);
        }
    }
}
