//! The two halves of a stream socket (TCP or Unix), as the driver uses
//! them: the read half owned by the connection's task, the write half
//! shared (in an [`Outbox`](crate::driver::outbox::Outbox)) so that any task can
//! write to it without waking the owner.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::{tcp, unix, TcpStream, UnixStream};

/// The read half of a connection.
#[derive(Debug)]
pub(crate) enum ReadHalf {
    /// TCP.
    Tcp(tcp::OwnedReadHalf),
    /// Unix stream socket.
    Unix(unix::OwnedReadHalf),
}

/// The write half of a connection. Dropping it shuts the socket down for
/// writing (the peer reads end of file).
#[derive(Debug)]
pub(crate) enum WriteHalf {
    /// TCP.
    Tcp(tcp::OwnedWriteHalf),
    /// Unix stream socket.
    Unix(unix::OwnedWriteHalf),
}

/// Splits a TCP stream.
pub(crate) fn split_tcp(s: TcpStream) -> (ReadHalf, WriteHalf) {
    let (r, w) = s.into_split();
    (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
}

/// Splits a Unix stream.
pub(crate) fn split_unix(s: UnixStream) -> (ReadHalf, WriteHalf) {
    let (r, w) = s.into_split();
    (ReadHalf::Unix(r), WriteHalf::Unix(w))
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Unix(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl WriteHalf {
    /// One non-blocking vectored write; [`io::ErrorKind::WouldBlock`] when
    /// the socket's send buffer is full.
    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.try_write_vectored(bufs),
            WriteHalf::Unix(w) => w.try_write_vectored(bufs),
        }
    }

    /// Waits until the socket may be writable again (after a
    /// [`io::ErrorKind::WouldBlock`]). Cancel-safe.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(w) => w.writable().await,
            WriteHalf::Unix(w) => w.writable().await,
        }
    }
}
