//! The sending side of a connection, shared by the callers and the
//! connection task.
//!
//! A caller whose call is the only one in flight writes its record to the
//! socket itself ([`DirectSend::try_send`] with `write_now`), without a
//! hop through the connection task: it takes the writer with `try_lock`,
//! and only if nobody else holds it and nothing is left unwritten. What
//! the socket does not take at once stays queued in the writer and the
//! connection task is woken to finish it. Other callers append their
//! record to the writer's queue (same `try_lock`, while fewer than the
//! queue depth wait there) and wake the connection task, which writes
//! whatever has gathered with one vectored write; only when the writer is
//! busy, full or between connections does a record take the bounded
//! channel to the task. Many calls made at once (the replies of a batch
//! each waking a caller that calls again) leave in sub-batches of
//! [`CALL_SUB_BATCH`]: the caller that queues the last record of one
//! writes them, so the server answers those while the later callers are
//! still building theirs. The lock is never held across an `.await`: each
//! holder pushes, or makes one non-blocking write attempt, and lets go, so
//! whole records always go out contiguously, in the order they were
//! queued in the writer.

use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::task::{Context, Poll};

use futures::task::{noop_waker_ref, AtomicWaker};
use tokio::io::AsyncWrite;
use tokio::net::UdpSocket;

use super::outgoing::Outgoing;
use crate::record::{Outbox, RecordCodecBuilder, RecordError};

/// How many call records queued in the writer make a sub-batch: the
/// caller whose record completes one writes them all at once, rather than
/// leaving them for the connection task's one write of everything queued.
///
/// With 64 calls in flight on one connection, the calls of a batch of
/// replies otherwise went out in one write after the last caller had run,
/// and the server answered them in one write after the last call: client
/// and server took turns, each idle while the other worked, plus a
/// wake-up each way per batch. Sub-batches let both work at once, at the
/// price of more system calls (about one per 5 to 6 calls on either side
/// instead of one per 16 to 21). On loopback with 64 NULL calls in flight
/// (`bench rpc --scenarios null64`), 8 carried about 1.7 times the calls
/// per second of one write per batch on a quiet host; 12 and 16 gained
/// less, 2 and 4 lost. A connection with fewer calls than this queued at
/// once (one call in flight, or a few) writes exactly as without it.
pub(super) const CALL_SUB_BATCH: usize = 8;

/// What became of a record handed to [`DirectSend::try_send`].
#[derive(Debug)]
pub(super) enum Sent {
    /// Written, or taken by the writer, which the connection task will
    /// finish writing (or fail the connection trying).
    Taken,
    /// Not taken: someone else holds the writer, its queue is full or
    /// there is no connection right now. Send it through the channel.
    Queue(Outgoing),
    /// The transport refused it (UDP): the call fails with this error.
    Failed(io::Error),
}

/// A way to send a call record from the caller's task without waiting.
pub(super) trait DirectSend: Send + Sync {
    /// Hands `out` over without waiting if possible; see [`Sent`]. With
    /// `write_now`, a stream writer that is idle writes it at once;
    /// without, it is queued for the connection task to batch.
    fn try_send(&self, out: Outgoing, write_now: bool) -> Sent;
}

/// The UDP socket: a datagram either goes out at once (every call: there
/// is nothing to batch) or waits in the channel for the client task.
impl DirectSend for UdpSocket {
    fn try_send(&self, out: Outgoing, _write_now: bool) -> Sent {
        match UdpSocket::try_send(self, out.record()) {
            Ok(_) => Sent::Taken,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Sent::Queue(out),
            Err(e) => Sent::Failed(e),
        }
    }
}

/// Call records queued on one stream, written in order as record-marked
/// fragments (RFC 5531 section 11) with vectored writes.
#[derive(Debug)]
pub(super) struct CallWriter<W> {
    io: W,
    /// Records not yet written, in order.
    records: Outbox,
    /// Written since the stream was last flushed (a stream that buffers,
    /// such as TLS, holds them until then).
    unflushed: bool,
}

impl<W: AsyncWrite + Unpin> CallWriter<W> {
    /// A writer over `io` that cuts records into fragments as `codec`
    /// says.
    pub(super) fn new(io: W, codec: &RecordCodecBuilder) -> Self {
        let records = Outbox::new(codec, io.is_write_vectored());
        CallWriter {
            io,
            records,
            unflushed: false,
        }
    }

    /// True when everything queued has been written and flushed.
    pub(super) fn is_idle(&self) -> bool {
        self.records.is_empty() && !self.unflushed
    }

    /// Queues one record; nothing is written until a flush.
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] over the record limit (calls are
    /// checked against it when built); nothing is queued then.
    pub(super) fn push(&mut self, out: Outgoing) -> Result<(), RecordError> {
        out.push_into(&mut self.records)?;
        self.unflushed = true;
        Ok(())
    }

    /// Writes what is queued, then flushes the stream. Keeps whatever
    /// the stream did not take for the next call.
    ///
    /// # Errors
    ///
    /// The stream's error; [`io::ErrorKind::WriteZero`] if it accepts
    /// no bytes.
    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self
            .records
            .poll_write(Pin::new(&mut self.io), cx)?
            .is_pending()
        {
            return Poll::Pending;
        }
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            self.unflushed = false;
        }
        flushed
    }
}

/// The writer of a stream connection, reachable from every caller.
#[derive(Debug)]
pub(super) struct SharedWriter<W> {
    state: Mutex<WriterState<W>>,
    /// Records callers may queue in the writer before they use the
    /// channel instead.
    max_queued: usize,
    /// Wakes the connection task: bytes are left to write, or a write
    /// failed. The task registers before it looks at the state.
    task: AtomicWaker,
}

#[derive(Debug)]
struct WriterState<W> {
    /// The current connection's writer; `None` between connections.
    writer: Option<CallWriter<W>>,
    /// A write by a caller failed; the connection task ends the
    /// connection with it.
    failed: Option<io::Error>,
}

impl<W: AsyncWrite + Unpin> SharedWriter<W> {
    /// A writer slot with no connection yet, where callers may queue up
    /// to `max_queued` records.
    pub(super) fn new(max_queued: usize) -> Self {
        SharedWriter {
            state: Mutex::new(WriterState {
                writer: None,
                failed: None,
            }),
            max_queued,
            task: AtomicWaker::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WriterState<W>> {
        // Every critical section is a push or one non-blocking write
        // attempt; a panic inside leaves at worst unwritten bytes, which
        // the connection then writes or fails on. Poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs the writer of a new connection.
    pub(super) fn attach(&self, writer: CallWriter<W>) {
        let mut state = self.lock();
        state.writer = Some(writer);
        state.failed = None;
    }

    /// Removes the writer of a connection that ended; what it had not
    /// written is dropped (those calls fail with the connection).
    pub(super) fn detach(&self) -> Option<CallWriter<W>> {
        self.lock().writer.take()
    }

    /// Queues records taken from the queue (the connection task). A
    /// record the writer refuses (over the record limit) is dropped and
    /// logged; its call times out.
    pub(super) fn push_all(&self, records: impl IntoIterator<Item = Outgoing>) {
        let mut state = self.lock();
        if let Some(w) = state.writer.as_mut() {
            for out in records {
                let xid = out.xid();
                if let Err(e) = w.push(out) {
                    tracing::warn!(xid, error = %e, "call not sent");
                }
            }
        }
    }

    /// Writes what is queued (the connection task, with its own waker),
    /// and makes sure the task is woken when a caller leaves it work.
    /// `Ready(Ok)` when nothing is left to write.
    ///
    /// # Errors
    ///
    /// The stream's error, or the error a caller's direct write met.
    pub(super) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.task.register(cx.waker());
        let mut state = self.lock();
        if let Some(e) = state.failed.take() {
            return Poll::Ready(Err(e));
        }
        match state.writer.as_mut() {
            Some(w) if !w.is_idle() => w.poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl<W: AsyncWrite + Unpin + Send> DirectSend for SharedWriter<W> {
    fn try_send(&self, out: Outgoing, write_now: bool) -> Sent {
        let mut state = match self.state.try_lock() {
            Ok(state) => state,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Sent::Queue(out),
        };
        let state = &mut *state;
        let Some(writer) = state.writer.as_mut() else {
            return Sent::Queue(out);
        };
        if state.failed.is_some() {
            return Sent::Queue(out);
        }
        let write_now = write_now && writer.is_idle();
        if !write_now && writer.records.queued_records() >= self.max_queued {
            return Sent::Queue(out);
        }
        if let Err(e) = writer.push(out) {
            return Sent::Failed(io::Error::from(e));
        }
        // A full sub-batch leaves now, written by this caller, while the
        // callers after it are still building theirs; a stream that
        // blocked is left to the connection task, which waits for it.
        let sub_batch = writer.records.queued_records() >= CALL_SUB_BATCH
            && writer.records.stalled_since().is_none();
        if !write_now && !sub_batch {
            self.task.wake();
            return Sent::Taken;
        }
        // One attempt without waiting: a no-op waker, since the connection
        // task (not this caller) waits for the socket if it is full.
        match writer.poll_flush(&mut Context::from_waker(noop_waker_ref())) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => {
                state.failed = Some(e);
                self.task.wake();
            }
            Poll::Pending => self.task.wake(),
        }
        Sent::Taken
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use tokio::io::AsyncReadExt;
    use tokio_util::codec::Decoder;

    use super::*;
    use crate::client::outgoing::MARK_ROOM;
    use crate::record::RecordCodec;

    fn call(xid: u32, len: usize) -> Outgoing {
        call_in_fragments(xid, len, 1000)
    }

    fn call_in_fragments(xid: u32, len: usize, max_fragment: usize) -> Outgoing {
        let mut buf = BytesMut::from(&[0u8; MARK_ROOM][..]);
        buf.extend_from_slice(&xid.to_be_bytes());
        buf.resize(MARK_ROOM + len.max(4), (xid % 251) as u8);
        Outgoing::from_buffer(xid, buf, max_fragment)
    }

    /// Records cut into fragments, and records of one fragment written
    /// from their own buffer, both stopping half way.
    #[tokio::test]
    async fn direct_write_leaves_the_rest_to_the_task_without_tearing_records() {
        for max_fragment in [1000, usize::MAX] {
            direct_write_stopping_half_way(max_fragment).await;
        }
    }

    async fn direct_write_stopping_half_way(max_fragment: usize) {
        let call = |xid, len| call_in_fragments(xid, len, max_fragment);
        // A pipe smaller than what is sent: the direct write cannot finish.
        let (a, mut b) = tokio::io::duplex(1024);
        let shared = SharedWriter::new(2);
        assert!(matches!(shared.try_send(call(1, 10), true), Sent::Queue(_)));
        let mut codec = RecordCodec::builder();
        codec.max_fragment_bytes(max_fragment);
        shared.attach(CallWriter::new(a, &codec));
        assert!(matches!(shared.try_send(call(1, 3000), true), Sent::Taken));
        // Busy now: the next one is queued in the writer (not written by
        // this caller), the one after finds the writer's queue full.
        assert!(matches!(shared.try_send(call(2, 100), true), Sent::Taken));
        let Sent::Queue(third) = shared.try_send(call(3, 50), false) else {
            panic!("a full writer queue took a record");
        };
        shared.push_all([third]);
        let reader = tokio::spawn(async move {
            let mut wire = Vec::new();
            b.read_to_end(&mut wire).await.unwrap();
            wire
        });
        std::future::poll_fn(|cx| shared.poll_flush(cx))
            .await
            .unwrap();
        drop(shared.detach());
        let mut wire = BytesMut::from(&reader.await.unwrap()[..]);
        let mut dec = RecordCodec::builder().new_codec();
        let first = dec.decode(&mut wire).unwrap().unwrap();
        let second = dec.decode(&mut wire).unwrap().unwrap();
        let third = dec.decode(&mut wire).unwrap().unwrap();
        assert_eq!((first.len(), second.len(), third.len()), (3000, 100, 50));
        assert_eq!(&first[..4], &1u32.to_be_bytes());
        assert_eq!(&second[..4], &2u32.to_be_bytes());
        assert_eq!(&third[..4], &3u32.to_be_bytes());
        assert!(wire.is_empty());
    }

    /// Accepts every write whole and notes how many bytes each took.
    #[derive(Default)]
    struct WriteLog(Vec<usize>);

    impl AsyncWrite for WriteLog {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.push(buf.len());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let n = bufs.iter().map(|b| b.len()).sum();
            self.0.push(n);
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Calls made together leave in sub-batches as they are queued, not
    /// all in one write after the last; fewer than a sub-batch wait for
    /// the connection task.
    #[tokio::test]
    async fn calls_queued_together_leave_in_sub_batches() {
        const BODY: usize = 36;
        let record = 4 + BODY;
        let shared = SharedWriter::new(64);
        shared.attach(CallWriter::new(
            WriteLog::default(),
            &RecordCodec::builder(),
        ));
        let calls = 2 * CALL_SUB_BATCH + 3;
        for xid in 0..calls {
            assert!(matches!(
                shared.try_send(call(xid as u32, BODY), false),
                Sent::Taken
            ));
            let writes = shared.lock().writer.as_ref().unwrap().io.0.clone();
            assert_eq!(
                writes,
                vec![CALL_SUB_BATCH * record; (xid + 1) / CALL_SUB_BATCH],
                "after call {xid}"
            );
        }
        std::future::poll_fn(|cx| shared.poll_flush(cx))
            .await
            .unwrap();
        let w = shared.detach().unwrap();
        assert_eq!(
            w.io.0,
            [CALL_SUB_BATCH * record, CALL_SUB_BATCH * record, 3 * record]
        );
    }

    /// Accepts every write at once but needs two polls to flush, like a
    /// stream that buffers (TLS).
    #[derive(Default)]
    struct SlowFlush {
        written: Vec<u8>,
        flushed: usize,
        flush_polls: usize,
    }

    impl AsyncWrite for SlowFlush {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.written.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.flush_polls += 1;
            if self.flush_polls % 2 == 1 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.flushed = self.written.len();
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_pending_flush_is_finished_by_the_task() {
        let shared = SharedWriter::new(0);
        shared.attach(CallWriter::new(
            SlowFlush::default(),
            &RecordCodec::builder(),
        ));
        assert!(matches!(shared.try_send(call(1, 10), true), Sent::Taken));
        // Written but not flushed: not idle, so the next call queues.
        assert!(matches!(shared.try_send(call(2, 10), true), Sent::Queue(_)));
        std::future::poll_fn(|cx| shared.poll_flush(cx))
            .await
            .unwrap();
        let w = shared.detach().unwrap();
        assert!(w.is_idle());
        assert_eq!(w.io.flushed, w.io.written.len());
        assert_eq!(w.io.written.len(), 4 + 10);
    }
}
