//! [`RecordQueue`]: writes records with vectored I/O, so large payloads
//! already held as [`Bytes`] go from their buffer to the socket without
//! being copied in user space.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::AsyncWrite;

use super::chunks::{poll_write_buf, ChunkQueue};
use super::codec::RecordCodecBuilder;
use super::error::RecordError;
use super::fragment::{fragment_header, fragment_lengths};

/// Pieces shorter than this many bytes are copied into the staging
/// buffer (one `memcpy` is cheaper than one more I/O vector); longer
/// ones are queued as they are.
const COPY_BELOW_BYTES: usize = 4096;

/// Records queued for sending on a stream (RFC 5531 section 11), with no
/// I/O of its own: [`push`](Self::push) frames a record (fragment headers
/// as configured by the [`RecordCodecBuilder`]) and queues it;
/// [`poll_write`](Self::poll_write) hands everything queued to a stream
/// with `writev`. Short pieces and fragment headers are gathered into one
/// staging buffer; pieces of at least [`COPY_BELOW_BYTES`] are queued by
/// reference (a [`Bytes`] clone or slice), never copied. For a stream that
/// does not support vectored writes everything is copied into the staging
/// buffer instead, so it still sees one large write rather than one per
/// piece.
#[derive(Debug)]
pub(crate) struct RecordQueue {
    max_record_bytes: usize,
    max_fragment_bytes: usize,
    copy_below_bytes: usize,
    /// Queued bytes not yet written, in order.
    chunks: ChunkQueue,
    /// Headers and short pieces gathered since the last queued chunk.
    staging: BytesMut,
}

impl RecordQueue {
    /// An empty queue with the limits of `codec`, for a stream that does
    /// (`vectored`) or does not support vectored writes.
    pub(crate) fn new(codec: &RecordCodecBuilder, vectored: bool) -> Self {
        RecordQueue {
            max_record_bytes: codec.record_limit(),
            max_fragment_bytes: codec.fragment_limit(),
            copy_below_bytes: if vectored {
                COPY_BELOW_BYTES
            } else {
                usize::MAX
            },
            chunks: ChunkQueue::default(),
            staging: BytesMut::new(),
        }
    }

    /// True when nothing is waiting to be written.
    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.staging.is_empty()
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.chunks.bytes() + self.staging.len()
    }

    /// Queues `record` as one record (one or more fragments).
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] if the record is longer than the
    /// configured maximum; nothing is queued then.
    pub(crate) fn push<B: Buf>(&mut self, mut record: B) -> Result<(), RecordError> {
        let len = record.remaining();
        self.check_size(len)?;
        for (n, last) in fragment_lengths(len, self.max_fragment_bytes) {
            self.staging.put_slice(&fragment_header(n, last));
            self.queue_body(&mut record, n);
        }
        Ok(())
    }

    /// Queues one record made of a head that `encode_head` writes into
    /// the staging buffer (no allocation of its own), then `body`'s
    /// pieces. Used for reply headers, which are encoded
    /// straight into place, and results in pieces.
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] if head and body together are
    /// longer than the configured maximum; nothing is queued then.
    pub(crate) fn push_with_head(
        &mut self,
        encode_head: impl FnOnce(&mut BytesMut),
        body: &[Bytes],
    ) -> Result<(), RecordError> {
        let body_len: usize = body.iter().map(Bytes::len).sum();
        let mark_at = self.staging.len();
        self.staging.put_u32(0);
        let head_at = self.staging.len();
        encode_head(&mut self.staging);
        let total = self.staging.len() - head_at + body_len;
        if let Err(e) = self.check_size(total) {
            self.staging.truncate(mark_at);
            return Err(e);
        }
        if total > self.max_fragment_bytes {
            // Split into fragments the general way (configured small
            // fragments only; never the case with the defaults).
            let mut record = self.staging.split_off(head_at);
            self.staging.truncate(mark_at);
            for piece in body {
                record.extend_from_slice(piece);
            }
            return self.push(record.freeze());
        }
        let mark = fragment_header(total, true);
        if let Some(slot) = self.staging.get_mut(mark_at..head_at) {
            slot.copy_from_slice(&mark);
        }
        for piece in body {
            let mut piece = piece.clone();
            let n = piece.len();
            self.queue_body(&mut piece, n);
        }
        Ok(())
    }

    fn check_size(&self, len: usize) -> Result<(), RecordError> {
        if len > self.max_record_bytes {
            return Err(RecordError::RecordTooLarge {
                size_bytes: len as u64,
                max_bytes: self.max_record_bytes,
            });
        }
        Ok(())
    }

    /// Queues the next `n` bytes of `record`.
    fn queue_body<B: Buf>(&mut self, record: &mut B, mut n: usize) {
        while n > 0 {
            let piece = record.chunk().len().min(n);
            if piece == 0 {
                // `remaining` promised more than the chunks hold: a broken
                // `Buf`. Stop rather than loop forever.
                return;
            }
            if piece < self.copy_below_bytes {
                self.staging.extend_from_slice(&record.chunk()[..piece]);
                record.advance(piece);
            } else {
                self.seal_staging();
                // At most the current chunk: `Bytes` (and a `Chain` of
                // them) hand this out by reference.
                self.chunks.push(record.copy_to_bytes(piece));
            }
            n -= piece;
        }
    }

    /// Moves the staging buffer's contents to the chunk queue.
    fn seal_staging(&mut self) {
        if !self.staging.is_empty() {
            self.chunks.push(self.staging.split().freeze());
        }
    }

    /// Writes queued records to `io` until the queue is empty
    /// (`Ready(Ok)`) or `io` would block (`Pending`, with what is left
    /// still queued). Does not flush `io`.
    ///
    /// # Errors
    ///
    /// The stream's write error; [`io::ErrorKind::WriteZero`] if it
    /// accepts no bytes.
    pub(crate) fn poll_write<W: AsyncWrite + ?Sized>(
        &mut self,
        io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.chunks.is_empty() {
            // Only short records queued (the usual reply): written
            // straight from the staging buffer.
            return poll_write_buf(io, cx, &mut self.staging);
        }
        self.seal_staging();
        self.chunks.poll_write(io, cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::IoSlice;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio_util::codec::Decoder;

    use super::*;
    use crate::record::RecordCodec;

    /// Records every `writev`, accepting at most `max_per_write` bytes
    /// per call; with `stalls`, every other write is `Pending` instead.
    struct Recorder {
        wire: Vec<u8>,
        writes: Vec<usize>,
        max_per_write: usize,
        vectored: bool,
        stalls: bool,
        stalled: bool,
    }

    impl Recorder {
        fn new(max_per_write: usize, vectored: bool) -> Self {
            Recorder {
                wire: Vec::new(),
                writes: Vec::new(),
                max_per_write,
                vectored,
                stalls: false,
                stalled: false,
            }
        }
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            if self.stalls {
                self.stalled = !self.stalled;
                if self.stalled {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            let mut budget = self.max_per_write;
            let mut total = 0;
            for b in bufs {
                let n = b.len().min(budget);
                self.wire.extend_from_slice(&b[..n]);
                budget -= n;
                total += n;
                if !self.vectored {
                    break;
                }
            }
            self.writes.push(total);
            Poll::Ready(Ok(total))
        }

        fn is_write_vectored(&self) -> bool {
            self.vectored
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn records() -> Vec<Bytes> {
        let big: Vec<u8> = (0..=255u8).cycle().take(3 * COPY_BELOW_BYTES + 5).collect();
        vec![
            Bytes::from_static(b"short"),
            Bytes::from(big),
            Bytes::new(),
            Bytes::from_static(b"tail"),
        ]
    }

    /// A queue and the stream it writes to.
    struct Writer {
        io: Recorder,
        queue: RecordQueue,
    }

    impl Writer {
        fn new(io: Recorder, codec: &RecordCodecBuilder) -> Self {
            let queue = RecordQueue::new(codec, io.vectored);
            Writer { io, queue }
        }

        fn push<B: Buf>(&mut self, record: B) -> Result<(), RecordError> {
            self.queue.push(record)
        }

        async fn flush(&mut self) -> io::Result<()> {
            let Writer { io, queue } = self;
            std::future::poll_fn(|cx| queue.poll_write(Pin::new(&mut *io), cx)).await
        }
    }

    /// Writes `records` through a `RecordQueue` and decodes the wire
    /// with the independent `RecordCodec` decoder.
    async fn round_trip(codec: RecordCodecBuilder, io: Recorder) -> (Vec<Bytes>, Recorder) {
        let mut w = Writer::new(io, &codec);
        for r in records() {
            // A header + body chain, as the server sends replies.
            let (head, body) = (r.slice(..r.len().min(3)), r.slice(r.len().min(3)..));
            w.push(head.chain(body)).unwrap();
        }
        w.flush().await.unwrap();
        let mut wire = BytesMut::from(&w.io.wire[..]);
        let mut dec = codec.new_codec();
        let mut out = Vec::new();
        while let Some(r) = dec.decode(&mut wire).unwrap() {
            out.push(r);
        }
        assert!(wire.is_empty());
        (out, w.io)
    }

    #[tokio::test]
    async fn records_survive_short_writes_and_fragment_sizes() {
        for frag in [1, 7, 4096, 5000, super::super::MAX_FRAGMENT_BYTES] {
            for (per_write, vectored) in [(1, true), (3, false), (1000, true), (usize::MAX, true)] {
                let mut codec = RecordCodec::builder();
                codec.max_fragment_bytes(frag);
                let (out, _) = round_trip(codec, Recorder::new(per_write, vectored)).await;
                assert_eq!(out, records(), "fragment {frag}, {per_write} per write");
            }
        }
    }

    /// Short records only (the usual replies) are written straight from
    /// the staging buffer; a stream taking a few bytes per write, and
    /// records pushed while others are half written, still give whole
    /// records in order.
    #[tokio::test]
    async fn short_records_written_from_staging_survive_short_writes() {
        let codec = RecordCodec::builder();
        for per_write in [1, 5, usize::MAX] {
            let mut io = Recorder::new(per_write, true);
            io.stalls = true;
            let mut w = Writer::new(io, &codec);
            let sent: Vec<Bytes> = (0..20u8)
                .map(|i| Bytes::from(vec![i; usize::from(i)]))
                .collect();
            for pair in sent.chunks(2) {
                for r in pair {
                    w.push(r.clone()).unwrap();
                }
                // One poll: part may stay queued behind the next pushes.
                let Writer { io, queue } = &mut w;
                let _ = std::future::poll_fn(|cx| {
                    Poll::Ready(queue.poll_write(Pin::new(&mut *io), cx))
                })
                .await;
            }
            w.flush().await.unwrap();
            assert!(w.queue.is_empty());
            let mut wire = BytesMut::from(&w.io.wire[..]);
            let mut dec = codec.new_codec();
            let mut got = Vec::new();
            while let Some(r) = dec.decode(&mut wire).unwrap() {
                got.push(r);
            }
            assert_eq!(got, sent, "{per_write} per write");
        }
    }

    #[tokio::test]
    async fn large_bodies_are_not_copied_and_go_in_one_writev() {
        let codec = RecordCodec::builder();
        let mut w = Writer::new(Recorder::new(usize::MAX, true), &codec);
        let body = Bytes::from(vec![9u8; 1 << 20]);
        w.push(Bytes::from_static(b"head").chain(body.clone()))
            .unwrap();
        // The queued chunk is the caller's buffer itself.
        assert!(w.queue.chunks.iter().any(|c| c.as_ptr() == body.as_ptr()));
        w.push(Bytes::from_static(b"next")).unwrap();
        w.flush().await.unwrap();
        assert_eq!(w.io.writes, vec![4 + 4 + (1 << 20) + 4 + 4]);
        assert_eq!(w.io.wire.len(), 8 + (1 << 20) + 8);
    }

    #[tokio::test]
    async fn unvectored_writer_gets_one_buffer() {
        let codec = RecordCodec::builder();
        let (out, io) = round_trip(codec, Recorder::new(usize::MAX, false)).await;
        assert_eq!(out, records());
        assert_eq!(io.writes.len(), 1);
    }

    #[tokio::test]
    async fn too_large_record_is_refused_and_nothing_queued() {
        let mut codec = RecordCodec::builder();
        codec.max_record_bytes(4);
        let mut w = Writer::new(Recorder::new(usize::MAX, true), &codec);
        assert!(matches!(
            w.push(Bytes::from_static(b"12345")),
            Err(RecordError::RecordTooLarge { size_bytes: 5, .. })
        ));
        w.push(Bytes::from_static(b"1234")).unwrap();
        w.flush().await.unwrap();
        assert_eq!(&w.io.wire[..], b"\x80\x00\x00\x041234");
    }

    #[tokio::test]
    async fn head_encoded_in_place_then_pieces() {
        let big = Bytes::from(vec![5u8; 3 * COPY_BELOW_BYTES]);
        let pieces = [
            Bytes::from_static(b"xy"),
            big.clone(),
            Bytes::from_static(b"z"),
        ];
        let expected: Vec<u8> = b"head"
            .iter()
            .chain(pieces.iter().flat_map(|p| p.iter()))
            .copied()
            .collect();
        for frag in [3, 4096, super::super::MAX_FRAGMENT_BYTES] {
            let mut codec = RecordCodec::builder();
            codec.max_fragment_bytes(frag);
            let mut w = Writer::new(Recorder::new(usize::MAX, true), &codec);
            w.queue
                .push_with_head(|buf| buf.extend_from_slice(b"head"), &pieces)
                .unwrap();
            if frag == super::super::MAX_FRAGMENT_BYTES {
                // One fragment: the large piece is queued by reference.
                assert!(w.queue.chunks.iter().any(|c| c.as_ptr() == big.as_ptr()));
            }
            w.push(Bytes::from_static(b"next")).unwrap();
            w.flush().await.unwrap();
            let mut wire = BytesMut::from(&w.io.wire[..]);
            let mut dec = codec.new_codec();
            assert_eq!(
                dec.decode(&mut wire).unwrap().unwrap(),
                expected,
                "fragment {frag}"
            );
            assert_eq!(&dec.decode(&mut wire).unwrap().unwrap()[..], b"next");
            assert!(wire.is_empty());
        }
    }

    #[test]
    fn head_and_pieces_over_the_limit_queue_nothing() {
        let mut codec = RecordCodec::builder();
        codec.max_record_bytes(8);
        let mut q = RecordQueue::new(&codec, true);
        let err = q
            .push_with_head(
                |buf| buf.extend_from_slice(b"head"),
                &[Bytes::from_static(b"12345")],
            )
            .unwrap_err();
        assert!(matches!(
            err,
            RecordError::RecordTooLarge { size_bytes: 9, .. }
        ));
        assert!(q.is_empty());
        assert_eq!(q.queued_bytes(), 0);
    }
}
