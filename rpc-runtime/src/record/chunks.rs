//! [`ChunkQueue`]: bytes waiting for a stream, written with vectored I/O.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::AsyncWrite;

/// The most I/O vectors handed to one `writev` (Linux allows 1024).
const MAX_IO_VECTORS: usize = 64;

/// Buffers queued for one stream, in order, each written without a copy:
/// one `write` for a single buffer, one `writev` of up to 64 otherwise.
#[derive(Debug, Default)]
pub(crate) struct ChunkQueue {
    /// The first may be partly written already (it is advanced).
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    bytes: usize,
}

impl ChunkQueue {
    /// Queues `chunk` after the others (empty ones are skipped).
    pub(crate) fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.bytes += chunk.len();
            self.chunks.push_back(chunk);
        }
    }

    /// True when nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Bytes waiting.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The waiting buffers, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Bytes> {
        self.chunks.iter()
    }

    /// Writes to `io` until the queue is empty (`Ready(Ok)`) or `io` would
    /// block (`Pending`, with what is left still queued). Does not flush.
    ///
    /// # Errors
    ///
    /// The stream's write error; [`io::ErrorKind::WriteZero`] if it
    /// accepts no bytes.
    pub(crate) fn poll_write<W: AsyncWrite + ?Sized>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while let Some(first) = self.chunks.front() {
            let written = if self.chunks.len() == 1 {
                ready!(io.as_mut().poll_write(cx, first))?
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_IO_VECTORS];
                let mut count = 0;
                for (slot, chunk) in slices.iter_mut().zip(self.chunks.iter()) {
                    *slot = IoSlice::new(chunk);
                    count += 1;
                }
                let slices = slices.get(..count).unwrap_or_default();
                ready!(io.as_mut().poll_write_vectored(cx, slices))?
            };
            if written == 0 {
                return Poll::Ready(Err(write_zero()));
            }
            self.consume(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Drops `n` written bytes from the front.
    fn consume(&mut self, mut n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
    }
}

/// Writes `buf` to `io` from its front, advancing it, until it is empty
/// (`Ready(Ok)`) or `io` would block (`Pending`, the rest left in `buf`).
/// Does not flush.
///
/// # Errors
///
/// The stream's write error; [`io::ErrorKind::WriteZero`] if it accepts
/// no bytes.
pub(crate) fn poll_write_buf<W: AsyncWrite + ?Sized, B: Buf>(
    mut io: Pin<&mut W>,
    cx: &mut Context<'_>,
    buf: &mut B,
) -> Poll<io::Result<()>> {
    while buf.has_remaining() {
        let written = ready!(io.as_mut().poll_write(cx, buf.chunk()))?;
        if written == 0 {
            return Poll::Ready(Err(write_zero()));
        }
        buf.advance(written);
    }
    Poll::Ready(Ok(()))
}

fn write_zero() -> io::Error {
    io::Error::new(io::ErrorKind::WriteZero, "the stream accepted no bytes")
}
