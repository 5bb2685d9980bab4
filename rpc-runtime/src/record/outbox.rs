//! [`Outbox`]: records queued for one stream (RFC 5531 section 11) and
//! written with vectored I/O, so that large payloads already held as
//! [`Bytes`] go from their buffer to the socket without being copied in
//! user space.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::AsyncWrite;

use super::codec::RecordCodecBuilder;
use super::error::RecordError;
use super::fragment::{fragment_header, fragment_lengths};

/// Pieces shorter than this many bytes are copied into the staging
/// buffer (one `memcpy` is cheaper than one more I/O vector); longer
/// ones are queued as they are.
pub const COPY_BELOW_BYTES: usize = 4096;

/// The most I/O vectors handed to one `writev` (Linux allows 1024).
const MAX_IO_VECTORS: usize = 64;

/// Queues this short or shorter (in queued buffers) are gathered into a
/// small array of I/O vectors.
const SMALL_IO_VECTORS: usize = 4;

/// Records queued for sending on a stream (RFC 5531 section 11): frames
/// them, queues them, and writes them in order, whole records
/// contiguously, with as few system calls as the stream allows.
///
/// * Framing: [`push`](Self::push) cuts a record into fragments of at
///   most the configured size, each behind its 4-byte fragment header;
///   [`push_with_head`](Self::push_with_head) encodes a head (a reply or
///   call header) straight into place before a body in pieces;
///   [`push_marked`](Self::push_marked) takes a record whose fragment
///   headers the caller already wrote.
/// * No copy of large payloads: fragment headers and pieces shorter than
///   [`COPY_BELOW_BYTES`] are gathered into one staging buffer; longer
///   pieces are queued by reference (a [`Bytes`] clone or slice). For a
///   stream without vectored writes (`vectored` false, such as TLS)
///   everything is copied into the staging buffer instead, so it still
///   sees one large write rather than one per piece.
/// * Writing: [`poll_write`](Self::poll_write) for an [`AsyncWrite`]
///   driven by its owner task, [`try_write`](Self::try_write) for a
///   non-blocking `writev` from any task (a socket's
///   `try_write_vectored`). Both write at once what the stream takes and
///   keep the rest queued, in order.
/// * Accounting, for the limits its users apply: the bytes and records
///   still queued ([`queued_bytes`](Self::queued_bytes),
///   [`queued_records`](Self::queued_records)), the records written in
///   full ([`take_written_records`](Self::take_written_records)), and
///   since when the stream has taken nothing
///   ([`stalled_since`](Self::stalled_since), for a write timeout).
///
/// It does no I/O of its own and holds no lock: a user that writes from
/// several tasks wraps it in a mutex.
///
/// ```
/// use rpc_runtime::record::{Outbox, RecordCodec};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut out = Outbox::new(&RecordCodec::builder(), true);
/// out.push(&b"call"[..]).unwrap();
/// assert_eq!(out.queued_bytes(), 8);
/// let mut wire = Vec::new();
/// std::future::poll_fn(|cx| out.poll_write(std::pin::Pin::new(&mut wire), cx))
///     .await
///     .unwrap();
/// assert_eq!(wire, b"\x80\x00\x00\x04call");
/// assert_eq!(out.take_written_records(), 1);
/// # });
/// ```
#[derive(Debug)]
pub struct Outbox {
    max_record_bytes: usize,
    max_fragment_bytes: usize,
    copy_below_bytes: usize,
    /// Queued buffers in order, before `staging`; the first may be
    /// partly written already (it is advanced).
    chunks: VecDeque<Bytes>,
    /// Headers and short pieces queued after the last buffer in `chunks`.
    staging: BytesMut,
    /// Bytes queued since the outbox was made (stream offset of the end
    /// of the queue).
    pushed: u64,
    /// Bytes written since the outbox was made.
    written: u64,
    /// Stream offsets at which the queued records end, in order.
    record_ends: VecDeque<u64>,
    /// Records written in full and not yet taken.
    written_records: usize,
    /// Since when queued bytes have waited without the stream taking one.
    stalled_since: Option<Instant>,
}

impl Outbox {
    /// An empty outbox with the record and fragment limits of `codec`,
    /// for a stream that does (`vectored`) or does not support vectored
    /// writes (see [`AsyncWrite::is_write_vectored`]).
    pub fn new(codec: &RecordCodecBuilder, vectored: bool) -> Self {
        Outbox {
            max_record_bytes: codec.record_limit(),
            max_fragment_bytes: codec.fragment_limit(),
            copy_below_bytes: if vectored {
                COPY_BELOW_BYTES
            } else {
                usize::MAX
            },
            chunks: VecDeque::new(),
            staging: BytesMut::new(),
            pushed: 0,
            written: 0,
            record_ends: VecDeque::new(),
            written_records: 0,
            stalled_since: None,
        }
    }

    /// True when nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.staging.is_empty()
    }

    /// Bytes queued and not yet written, fragment headers included.
    pub fn queued_bytes(&self) -> usize {
        usize::try_from(self.pushed - self.written).unwrap_or(usize::MAX)
    }

    /// Records queued and not yet written in full.
    pub fn queued_records(&self) -> usize {
        self.record_ends.len()
    }

    /// The number of records written in full since the last call (or
    /// since the outbox was made), and starts counting again from zero.
    pub fn take_written_records(&mut self) -> usize {
        std::mem::take(&mut self.written_records)
    }

    /// Since when queued bytes have waited without the stream taking a
    /// byte: set by a write that would block having made no progress
    /// since the last such write, cleared when everything is written or
    /// the outbox is cleared. A write timeout is measured from it.
    pub fn stalled_since(&self) -> Option<Instant> {
        self.stalled_since
    }

    /// The queued buffers before the staging buffer, in order.
    #[cfg(test)]
    pub(crate) fn queued_chunks(&self) -> impl Iterator<Item = &Bytes> {
        self.chunks.iter()
    }

    /// Drops everything queued (the connection is closing).
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.staging.clear();
        self.written = self.pushed;
        self.record_ends.clear();
        self.stalled_since = None;
    }

    /// Queues `record` as one record (one or more fragments).
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] if the record is longer than the
    /// configured maximum; nothing is queued then.
    pub fn push<B: Buf>(&mut self, mut record: B) -> Result<(), RecordError> {
        let len = record.remaining();
        self.check_size(len)?;
        let start = self.pushed;
        for (n, last) in fragment_lengths(len, self.max_fragment_bytes) {
            self.staging.put_slice(&fragment_header(n, last));
            self.pushed += 4;
            self.queue_body(&mut record, n);
        }
        self.end_record(start);
        Ok(())
    }

    /// Queues one record made of a head that `encode_head` writes into
    /// the staging buffer (no allocation of its own), then `body`'s
    /// pieces (reply headers encoded straight into place, then results
    /// in pieces; an XID before the rest of a forwarded message).
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] if head and body together are
    /// longer than the configured maximum; nothing is queued then.
    pub fn push_with_head(
        &mut self,
        encode_head: impl FnOnce(&mut BytesMut),
        body: &[Bytes],
    ) -> Result<(), RecordError> {
        let body_len: usize = body.iter().map(Bytes::len).sum();
        let mark_at = self.staging.len();
        self.staging.put_u32(0);
        let head_at = self.staging.len();
        encode_head(&mut self.staging);
        let head_len = self.staging.len() - head_at;
        let total = head_len + body_len;
        if let Err(e) = self.check_size(total) {
            self.staging.truncate(mark_at);
            return Err(e);
        }
        if total > self.max_fragment_bytes {
            // Split into fragments the general way (configured small
            // fragments, or records over 2^31 - 1 bytes: copied once).
            let mut record = self.staging.split_off(head_at);
            self.staging.truncate(mark_at);
            for piece in body {
                record.extend_from_slice(piece);
            }
            return self.push(record.freeze());
        }
        if let Some(slot) = self.staging.get_mut(mark_at..head_at) {
            slot.copy_from_slice(&fragment_header(total, true));
        }
        let start = self.pushed;
        self.pushed += (4 + head_len) as u64;
        for piece in body {
            let mut piece = piece.clone();
            let n = piece.len();
            self.queue_body(&mut piece, n);
        }
        self.end_record(start);
        Ok(())
    }

    /// Queues one whole record whose fragment headers are already in
    /// place (built by a caller that reserved room for them), as
    /// `pieces` in order. Nothing is checked: the pieces go out as they
    /// are, short ones copied, long ones by reference.
    pub fn push_marked(&mut self, pieces: impl IntoIterator<Item = Bytes>) {
        let start = self.pushed;
        for mut piece in pieces {
            let n = piece.len();
            self.queue_body(&mut piece, n);
        }
        self.end_record(start);
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

    /// Notes the end of a record queued from stream offset `start`.
    fn end_record(&mut self, start: u64) {
        if self.pushed > start {
            self.record_ends.push_back(self.pushed);
        }
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
                if !self.staging.is_empty() {
                    self.chunks.push_back(self.staging.split().freeze());
                }
                // At most the current chunk: `Bytes` (and a `Chain` of
                // them) hand this out by reference.
                self.chunks.push_back(record.copy_to_bytes(piece));
            }
            self.pushed += piece as u64;
            n -= piece;
        }
    }

    /// Writes queued records to `io` until the outbox is empty
    /// (`Ready(Ok)`) or `io` would block (`Pending`, with what is left
    /// still queued). Does not flush `io`.
    ///
    /// # Errors
    ///
    /// The stream's write error; [`io::ErrorKind::WriteZero`] if it
    /// accepts no bytes.
    pub fn poll_write<W: AsyncWrite + ?Sized>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let before = self.written;
        while !self.is_empty() {
            let polled = self.write_gathered(|slices| match slices {
                [one] => io.as_mut().poll_write(cx, one),
                _ => io.as_mut().poll_write_vectored(cx, slices),
            });
            let written = match polled {
                Poll::Ready(r) => r?,
                Poll::Pending => {
                    self.note_blocked(before);
                    return Poll::Pending;
                }
            };
            self.consume(written)?;
        }
        Poll::Ready(Ok(()))
    }

    /// Writes queued records with `write`, a non-blocking `writev` (such
    /// as a socket's `try_write_vectored`), until the outbox is empty
    /// (`Ok`) or `write` fails; what is not written stays queued. A
    /// write interrupted by a signal is tried again.
    ///
    /// # Errors
    ///
    /// `write`'s error, [`io::ErrorKind::WouldBlock`] included (the
    /// stream is full: the caller waits until it is writable and calls
    /// again); [`io::ErrorKind::WriteZero`] if it accepts no bytes.
    pub fn try_write(
        &mut self,
        mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<()> {
        let before = self.written;
        while !self.is_empty() {
            match self.write_gathered(&mut write) {
                Ok(written) => self.consume(written)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if e.kind() == io::ErrorKind::WouldBlock {
                        self.note_blocked(before);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Calls `write` with the queued bytes as I/O vectors (the first
    /// buffers, then the staging buffer).
    fn write_gathered<R>(&self, write: impl FnOnce(&[IoSlice<'_>]) -> R) -> R {
        if self.chunks.len() < SMALL_IO_VECTORS {
            let mut slices = [IoSlice::new(&[]); SMALL_IO_VECTORS];
            let n = self.gather(&mut slices);
            write(slices.get(..n).unwrap_or_default())
        } else {
            let mut slices = [IoSlice::new(&[]); MAX_IO_VECTORS];
            let n = self.gather(&mut slices);
            write(slices.get(..n).unwrap_or_default())
        }
    }

    /// Fills `slices` with the queued bytes in order; how many slices.
    fn gather<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let staging = (!self.staging.is_empty()).then_some(&self.staging[..]);
        let mut n = 0;
        for (slot, part) in slices
            .iter_mut()
            .zip(self.chunks.iter().map(|c| &c[..]).chain(staging))
        {
            *slot = IoSlice::new(part);
            n += 1;
        }
        n
    }

    /// Drops `n` written bytes from the front; `WriteZero` for none.
    fn consume(&mut self, n: usize) -> io::Result<()> {
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the stream accepted no bytes",
            ));
        }
        self.written += n as u64;
        let mut left = n;
        while left > 0 {
            let Some(front) = self.chunks.front_mut() else {
                self.staging.advance(left.min(self.staging.len()));
                break;
            };
            if left < front.len() {
                front.advance(left);
                break;
            }
            left -= front.len();
            self.chunks.pop_front();
        }
        while self
            .record_ends
            .front()
            .is_some_and(|&end| end <= self.written)
        {
            self.record_ends.pop_front();
            self.written_records += 1;
        }
        if self.is_empty() {
            self.stalled_since = None;
        }
        Ok(())
    }

    /// A write would block; `before` is the stream offset written when
    /// this round of writing started.
    fn note_blocked(&mut self, before: u64) {
        if self.stalled_since.is_none() || self.written > before {
            self.stalled_since = Some(tokio::time::Instant::now().into_std());
        }
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
        queue: Outbox,
    }

    impl Writer {
        fn new(io: Recorder, codec: &RecordCodecBuilder) -> Self {
            let queue = Outbox::new(codec, io.vectored);
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

    /// Writes `records` through a `Outbox` and decodes the wire
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
        assert!(w.queue.queued_chunks().any(|c| c.as_ptr() == body.as_ptr()));
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
                assert!(w.queue.queued_chunks().any(|c| c.as_ptr() == big.as_ptr()));
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
        let mut q = Outbox::new(&codec, true);
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

    #[test]
    fn records_are_counted_as_they_are_written() {
        let codec = RecordCodec::builder();
        let mut q = Outbox::new(&codec, true);
        let big = Bytes::from(vec![1u8; 2 * COPY_BELOW_BYTES]);
        q.push(Bytes::from_static(b"one")).unwrap();
        q.push(big.clone()).unwrap();
        q.push_marked([Bytes::from_static(b"\x80\x00\x00\x01x")]);
        assert_eq!(q.queued_records(), 3);
        assert_eq!(q.queued_bytes(), 7 + 4 + big.len() + 5);
        // Five bytes a write: the first record is done after two.
        let mut wire = Vec::new();
        let mut writes = 0;
        while q.queued_records() == 3 {
            let e = q.try_write(|slices| {
                writes += 1;
                if writes % 2 == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let first = slices.first().map_or(&[][..], |s| &s[..]);
                let n = first.len().min(5);
                wire.extend_from_slice(&first[..n]);
                Ok(n)
            });
            assert_eq!(e.unwrap_err().kind(), io::ErrorKind::WouldBlock);
            assert!(q.stalled_since().is_some());
        }
        assert_eq!(q.take_written_records(), 1);
        assert_eq!(q.take_written_records(), 0);
        q.try_write(|slices| {
            let n: usize = slices.iter().map(|s| s.len()).sum();
            for s in slices {
                wire.extend_from_slice(s);
            }
            Ok(n)
        })
        .unwrap();
        assert_eq!(q.take_written_records(), 2);
        assert!(q.is_empty() && q.stalled_since().is_none());
        assert_eq!((q.queued_bytes(), q.queued_records()), (0, 0));
        let mut wire = BytesMut::from(&wire[..]);
        let mut dec = codec.new_codec();
        assert_eq!(&dec.decode(&mut wire).unwrap().unwrap()[..], b"one");
        assert_eq!(dec.decode(&mut wire).unwrap().unwrap(), big);
        assert_eq!(&dec.decode(&mut wire).unwrap().unwrap()[..], b"x");
    }

    #[test]
    fn a_stream_taking_nothing_fails_and_clear_drops_everything() {
        let mut q = Outbox::new(&RecordCodec::builder(), true);
        q.push(Bytes::from_static(b"abc")).unwrap();
        let e = q.try_write(|_| Ok(0)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
        assert_eq!(q.queued_records(), 1);
        q.clear();
        assert!(q.is_empty());
        assert_eq!((q.queued_bytes(), q.queued_records()), (0, 0));
        assert_eq!(q.take_written_records(), 0);
    }
}
