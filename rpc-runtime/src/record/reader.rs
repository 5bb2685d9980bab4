//! [`RecordReader`]: the receiving half of a record-marked stream, and
//! its [`Reservation`] policy.

use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::Decoder;

use super::codec::RecordCodec;
use super::error::RecordError;

/// Bytes taken from the stream by one read, at most. Reading a large
/// record in pieces of this size (libtirpc's fragment buffer size) hands
/// receive-window space back to the sender while the record arrives;
/// measured on loopback, 1 MiB WRITEs ran about 1.3x faster than with
/// reads as large as the buffer's room.
const MAX_READ_BYTES: usize = 64 * 1024;

/// The first read into a reader that holds no buffer goes to the stack,
/// at most this many bytes; a buffer is allocated once they are there.
const FIRST_READ_BYTES: usize = 4 * 1024;

/// Spare room below which the buffer grows before a read, in bytes.
const MIN_READ_ROOM_BYTES: usize = 4 * 1024;

/// What the buffer grows by when it runs low, in bytes.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// How much room a [`RecordReader`] reserves for a fragment once its
/// header has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// A peer this side chose (a client's server, the broker's backends):
    /// the fragment's whole announced length, bounded by the record
    /// limit, so a large record is read straight into place.
    Trusted,
    /// Any peer that can connect (a server's clients): room grows with
    /// what arrives (the codec's policy, see [`RecordCodec`]), so a header
    /// alone never allocates the length it announces.
    Untrusted,
}

/// Reads records (RFC 5531 section 11) from a stream with a
/// [`RecordCodec`]: reads of at most 64 KiB (or the rest of a trusted
/// fragment, see [`RecordReader::with_whole_fragment_reads`]) into one
/// buffer, each record handed out as a [`Bytes`] slice of it (no copy
/// for a record of one fragment). Memory is bounded by the codec's record limit, and while
/// no byte of a record is held and the stream has nothing to read, no
/// buffer is held either (an idle connection costs no read buffer; the
/// first bytes after a wait are read into a small buffer on the stack).
///
/// It holds no stream: each poll is handed the one to read, so a
/// connection that also writes needs no split of its socket.
///
/// ```
/// use rpc_runtime::record::{RecordCodec, RecordReader, Reservation};
///
/// # tokio_test_block_on(async {
/// let wire: &[u8] = b"\x80\x00\x00\x02hi";
/// let mut io = wire;
/// let mut reader = RecordReader::new(RecordCodec::new(), Reservation::Untrusted);
/// assert_eq!(reader.next_record()?, None);
/// reader.fill(&mut io).await?;
/// assert_eq!(reader.next_record()?.as_deref(), Some(&b"hi"[..]));
/// # Ok::<(), rpc_runtime::record::RecordError>(()) });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct RecordReader {
    codec: RecordCodec,
    buf: BytesMut,
    reservation: Reservation,
    eof: bool,
    /// The last read took less than it had room for: the stream had no
    /// more at that moment.
    short_read: bool,
    /// Bytes read so far, for callers that track progress.
    bytes_read: u64,
    /// With [`Reservation::Trusted`]: the rest of a fragment is read in
    /// one read, not in pieces of 64 KiB.
    whole_fragment_reads: bool,
}

impl RecordReader {
    /// A reader decoding with `codec` (which sets the record limit),
    /// reserving room as `reservation` says.
    pub fn new(codec: RecordCodec, reservation: Reservation) -> Self {
        RecordReader {
            codec,
            buf: BytesMut::new(),
            reservation,
            eof: false,
            short_read: false,
            bytes_read: 0,
            whole_fragment_reads: false,
        }
    }

    /// Reads the rest of a trusted peer's fragment (its room is reserved
    /// whole, see [`Reservation::Trusted`]) in one read as large as what
    /// is missing, instead of in pieces of 64 KiB; no effect on an
    /// untrusted peer's. For a reader that forwards records rather than
    /// working on them while more arrive, such as a relay sharing a CPU
    /// with its sender: each read hands receive window back to the
    /// sender, whose kernel then sends the next segments in this
    /// reader's system call, so fewer and larger reads cost less CPU per
    /// record (the broker forwarding 1 MiB replies: 3 reads per reply
    /// instead of 18, and about 15% less CPU per reply).
    pub fn with_whole_fragment_reads(mut self) -> Self {
        self.whole_fragment_reads = true;
        self
    }

    /// The next whole record among the bytes read so far, if any.
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] for a record over the limit,
    /// detected at the fragment header that takes it over.
    pub fn next_record(&mut self) -> Result<Option<Bytes>, RecordError> {
        self.codec.decode_owned(&mut self.buf)
    }

    /// Reads what `io` has (waiting until it has something); the bytes
    /// read, 0 at end of file. Cancel-safe: nothing is lost when the
    /// future is dropped before it completes.
    ///
    /// # Errors
    ///
    /// The read error.
    pub async fn fill<R: AsyncRead + Unpin + ?Sized>(&mut self, io: &mut R) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(Pin::new(&mut *io), cx)).await
    }

    /// One read from `io` after making room (see [`RecordReader::fill`]).
    ///
    /// # Errors
    ///
    /// The read error.
    pub fn poll_fill<R: AsyncRead + ?Sized>(
        &mut self,
        io: Pin<&mut R>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        if self.buf.capacity() == 0 {
            // Not zeroed: the read writes what it reports as filled, and
            // only that is copied out (zeroing 4 KiB before every read
            // after a wait was most of a small call's receiving work).
            let mut first = [MaybeUninit::<u8>::uninit(); FIRST_READ_BYTES];
            let mut room = ReadBuf::uninit(&mut first);
            ready!(io.poll_read(cx, &mut room))?;
            let got = room.filled();
            if got.len() < FIRST_READ_BYTES {
                // The stream had no more: a buffer of just what arrived
                // (a small call or reply is then one allocation, handed
                // out whole as its record; see `RecordCodec`).
                self.buf = BytesMut::from(got);
            } else {
                // Room for what decoding the fragment these bytes start
                // will reserve, so that the buffer is not reallocated
                // (and these bytes copied again) as soon as it is decoded.
                let whole = self.reservation == Reservation::Trusted;
                let room = self.codec.first_fragment_room(got, whole);
                self.buf = BytesMut::with_capacity(room.max(READ_CHUNK_BYTES));
                self.buf.extend_from_slice(got);
            }
            return Poll::Ready(Ok(self.note_read(got.len(), FIRST_READ_BYTES)));
        }
        let mut max_read = MAX_READ_BYTES;
        if let (Reservation::Trusted, Some(len)) = (self.reservation, self.codec.fragment_len()) {
            let rest = len.saturating_sub(self.buf.len());
            self.buf.reserve(rest);
            if self.whole_fragment_reads {
                max_read = max_read.max(rest);
            }
        }
        self.make_room();
        let mut room = (&mut self.buf).limit(max_read);
        let asked = room.remaining_mut();
        match tokio_util::io::poll_read_buf(io, cx, &mut room) {
            Poll::Ready(n) => Poll::Ready(Ok(self.note_read(n?, asked))),
            Poll::Pending => {
                if !self.in_record() {
                    // Records handed out keep their own part of the
                    // allocation; waiting holds none.
                    self.buf = BytesMut::new();
                }
                Poll::Pending
            }
        }
    }

    fn note_read(&mut self, n: usize, asked: usize) -> usize {
        self.short_read = n < asked;
        self.bytes_read += n as u64;
        self.eof = n == 0;
        n
    }

    /// The next record from `io`: `Ready(None)` at a clean end of the
    /// stream (between records).
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] over the limit; [`RecordError::Io`]
    /// for a read error or a stream that ended inside a record.
    pub(crate) fn poll_next_record<R: AsyncRead + ?Sized>(
        &mut self,
        mut io: Pin<&mut R>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, RecordError>>> {
        loop {
            match self.next_record() {
                Ok(Some(record)) => return Poll::Ready(Some(Ok(record))),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
            if self.eof {
                return Poll::Ready(self.codec.decode_eof(&mut self.buf).transpose());
            }
            if let Err(e) = ready!(self.poll_fill(io.as_mut(), cx)) {
                return Poll::Ready(Some(Err(e.into())));
            }
        }
    }

    /// Grows the buffer before a read when it is (nearly) full. Inside a
    /// fragment the decoder (or the trusted reservation) has already made
    /// room for it: growing then would reallocate, and copy, a large
    /// fragment just before it completes, so only a full buffer grows.
    fn make_room(&mut self) {
        let spare = self.buf.capacity() - self.buf.len();
        let in_fragment = self.codec.fragment_len().is_some();
        if spare == 0 || (!in_fragment && spare < MIN_READ_ROOM_BYTES) {
            self.buf.reserve(READ_CHUNK_BYTES);
        }
    }

    /// True while part of a record has been read (the stream would end
    /// or idle in the middle of one now).
    pub fn in_record(&self) -> bool {
        self.codec.in_record() || !self.buf.is_empty()
    }

    /// True when nothing read is left over and the last read found the
    /// stream drained: polling again now would most likely only register
    /// for the next data. A server answers before it does.
    pub(crate) fn drained(&self) -> bool {
        self.short_read && self.buf.is_empty()
    }

    /// Bytes read but not yet handed out as records.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Bytes read from the stream so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::LAST_FRAGMENT_BIT;

    /// Hands out `wire` at most `per_read` bytes at a time, every other
    /// poll (so each read is a poll of its own).
    struct Trickle {
        wire: Vec<u8>,
        at: usize,
        per_read: usize,
        ready: bool,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            self.ready = !self.ready;
            if !self.ready {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = self
                .per_read
                .min(buf.remaining())
                .min(self.wire.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.wire[at..at + n]);
            self.at += n;
            Poll::Ready(Ok(()))
        }
    }

    /// A small record that arrives alone after a wait is read into a
    /// buffer of just its bytes and handed out as that buffer: the
    /// reader keeps nothing (and the next record after it is read the
    /// same way).
    #[tokio::test]
    async fn a_small_record_after_a_wait_takes_its_buffer_whole() {
        for body in [&b"call"[..], &[7u8; 40][..]] {
            let mut wire = (LAST_FRAGMENT_BIT | body.len() as u32)
                .to_be_bytes()
                .to_vec();
            wire.extend_from_slice(body);
            let mut two = wire.clone();
            two.extend_from_slice(&wire);
            let mut io = Trickle {
                per_read: wire.len(),
                at: 0,
                wire: two,
                ready: false,
            };
            let mut reader = RecordReader::new(RecordCodec::new(), Reservation::Untrusted);
            for _ in 0..2 {
                let record =
                    std::future::poll_fn(|cx| reader.poll_next_record(Pin::new(&mut io), cx));
                assert_eq!(record.await.unwrap().unwrap(), body);
                assert_eq!(reader.buf.capacity(), 0);
            }
            let end = std::future::poll_fn(|cx| reader.poll_next_record(Pin::new(&mut io), cx));
            assert!(end.await.is_none());
        }
    }

    /// The buffer allocated after a full first read has the room that
    /// decoding its fragment header reserves: it is not reallocated (and
    /// what it holds copied) at the header. A trusted reader with whole
    /// fragment reads then takes the rest of the fragment in one read.
    #[tokio::test]
    async fn the_first_buffer_has_the_room_its_fragment_header_asks_for() {
        let len = 1 << 20;
        let mut wire = (LAST_FRAGMENT_BIT | len as u32).to_be_bytes().to_vec();
        wire.extend((0..len).map(|i| (i % 251) as u8));
        for (reservation, whole) in [
            (Reservation::Untrusted, false),
            (Reservation::Trusted, false),
            (Reservation::Trusted, true),
        ] {
            let mut io = Trickle {
                wire: wire.clone(),
                at: 0,
                per_read: wire.len(),
                ready: false,
            };
            let mut reader = RecordReader::new(RecordCodec::new(), reservation);
            if whole {
                reader = reader.with_whole_fragment_reads();
            }
            reader.fill(&mut io).await.unwrap();
            assert_eq!(reader.buffered_bytes(), FIRST_READ_BYTES);
            let first = reader.buf.as_ptr();
            assert_eq!(reader.next_record().unwrap(), None);
            assert_eq!(
                reader.buf.as_ptr(),
                first.wrapping_add(4),
                "{reservation:?}: reallocated at the header"
            );
            let mut reads = 1;
            let record = loop {
                if let Some(record) = reader.next_record().unwrap() {
                    break record;
                }
                reader.fill(&mut io).await.unwrap();
                reads += 1;
            };
            assert_eq!(record, wire[4..], "{reservation:?}");
            if reservation == Reservation::Trusted {
                assert_eq!(
                    record.as_ptr(),
                    first.wrapping_add(4),
                    "trusted: one buffer"
                );
            }
            let expected = if whole {
                2
            } else {
                1 + (len - FIRST_READ_BYTES + 4).div_ceil(MAX_READ_BYTES)
            };
            assert_eq!(reads, expected, "{reservation:?}, whole reads {whole}");
        }
    }

    #[tokio::test]
    async fn a_large_record_is_read_into_one_buffer_without_growing_at_its_end() {
        let len = 1 << 20;
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut wire = (LAST_FRAGMENT_BIT | len as u32).to_be_bytes().to_vec();
        wire.extend_from_slice(&body);
        for per_read in [1000, 4093, 65536] {
            let mut io = Trickle {
                wire: wire.clone(),
                at: 0,
                per_read,
                ready: false,
            };
            let mut reader = RecordReader::new(RecordCodec::new(), Reservation::Untrusted);
            let mut buffers = Vec::new();
            let record = std::future::poll_fn(|cx| {
                let polled = reader.poll_next_record(Pin::new(&mut io), cx);
                buffers.push(reader.buf.as_ptr() as usize);
                polled
            })
            .await;
            assert_eq!(record.unwrap().unwrap(), body, "{per_read} per read");
            // The buffers seen: none yet, the first small one, the 64 KiB
            // the decoder reserves at the header, and the whole fragment's
            // once 64 KiB of it arrived; no reallocation (and copy of the
            // record) just before its end.
            buffers.dedup();
            assert!(
                buffers.len() <= 4,
                "{per_read} per read: {} buffers",
                buffers.len()
            );
            let end = std::future::poll_fn(|cx| reader.poll_next_record(Pin::new(&mut io), cx));
            assert!(end.await.is_none());
        }
    }
}
