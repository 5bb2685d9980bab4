//! [`SplitStream`]: a stream cut into a read half (the connection task's)
//! and a write half (shared with the callers), without a lock per poll
//! where the stream type allows it.

use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::{tcp, unix, TcpStream, UnixStream};

/// A connected stream the client can split into owned halves.
pub(super) trait SplitStream: Send + 'static {
    /// The half replies are read from.
    type Read: AsyncRead + Send + Unpin + 'static;
    /// The half calls are written to.
    type Write: AsyncWrite + Send + Unpin + 'static;

    /// Splits the stream.
    fn split(self) -> (Self::Read, Self::Write);
}

impl SplitStream for TcpStream {
    type Read = tcp::OwnedReadHalf;
    type Write = tcp::OwnedWriteHalf;

    fn split(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl SplitStream for UnixStream {
    type Read = unix::OwnedReadHalf;
    type Write = unix::OwnedWriteHalf;

    fn split(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

/// Any other stream ([`ClientBuilder::connect_io`](crate::ClientBuilder::connect_io)),
/// split with [`tokio::io::split`] (a lock taken per poll).
pub(super) struct AnyStream<IO>(pub(super) IO);

impl<IO> SplitStream for AnyStream<IO>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    type Read = ReadHalf<IO>;
    type Write = WriteHalf<IO>;

    fn split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self.0)
    }
}
