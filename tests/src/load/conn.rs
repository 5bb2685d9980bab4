//! One client connection to the broker with XID bookkeeping: every call
//! sent is pending until its first reply; a second reply to an XID of
//! this connection is a duplicate, a reply to an XID never sent here is
//! unexpected.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rpc_runtime::record::RecordCodec;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::wire::{call_record, reply_xid, Op};

/// Largest record a load client accepts: a 4 MiB GET reply and headers.
const MAX_REPLY_BYTES: usize = 8 << 20;

/// How long opening a connection may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A byte stream to the broker.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The broker's listeners.
#[derive(Debug, Clone)]
pub(super) struct Listeners {
    /// Its loopback TCP address.
    pub(super) tcp: SocketAddr,
    /// Its Unix socket.
    pub(super) unix: PathBuf,
}

impl Listeners {
    /// Opens a connection to the Unix socket or the TCP address.
    ///
    /// # Errors
    ///
    /// The connect error, or [`io::ErrorKind::TimedOut`] after
    /// [`CONNECT_TIMEOUT`].
    pub(super) async fn connect(&self, unix: bool) -> io::Result<Box<dyn Io>> {
        let connect = async {
            if unix {
                let s = tokio::net::UnixStream::connect(&self.unix).await?;
                Ok::<Box<dyn Io>, io::Error>(Box::new(s))
            } else {
                let s = tokio::net::TcpStream::connect(self.tcp).await?;
                s.set_nodelay(true)?;
                Ok::<Box<dyn Io>, io::Error>(Box::new(s))
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
    }
}

/// A record-marked stream (RFC 5531 section 11) of calls and replies.
pub(super) type Records = Framed<Box<dyn Io>, RecordCodec>;

/// `io` as a record-marked stream.
pub(super) fn records(io: Box<dyn Io>) -> Records {
    let codec = RecordCodec::builder()
        .max_record_bytes(MAX_REPLY_BYTES)
        .new_codec();
    Framed::new(io, codec)
}

/// A call waiting for its reply.
#[derive(Debug)]
pub(super) struct Pending<T> {
    /// What the caller attached to it.
    pub(super) tag: T,
    /// When it was sent.
    pub(super) sent_at: Instant,
}

/// What [`Conn::recv`] got.
#[derive(Debug)]
pub(super) enum Recv<T> {
    /// The first reply to a pending call.
    Reply {
        /// The call.
        call: Pending<T>,
        /// The reply record.
        record: Bytes,
    },
    /// A reply to an XID of this connection already answered.
    Duplicate,
    /// A reply to an XID never sent here, or a record that is no reply.
    Unexpected,
    /// The connection ended (EOF, reset, or a record error).
    Closed,
    /// The deadline passed first.
    TimedOut,
}

/// A connection with its calls in flight, tagged with `T`.
pub(super) struct Conn<T> {
    records: Records,
    first_xid: u32,
    sent: u32,
    pending: HashMap<u32, Pending<T>>,
}

impl<T> std::fmt::Debug for Conn<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("first_xid", &self.first_xid)
            .field("sent", &self.sent)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<T> Conn<T> {
    /// A connection over `io` whose XIDs start at `first_xid`.
    pub(super) fn new(io: Box<dyn Io>, first_xid: u32) -> Self {
        Conn {
            records: records(io),
            first_xid,
            sent: 0,
            pending: HashMap::new(),
        }
    }

    /// Calls in flight.
    pub(super) fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// When the oldest call in flight was sent.
    pub(super) fn oldest(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.sent_at).min()
    }

    /// Takes every call in flight (the connection is being given up).
    pub(super) fn take_pending(&mut self) -> Vec<Pending<T>> {
        self.pending.drain().map(|(_, p)| p).collect()
    }

    /// Sends `op` with the next XID, tagged `tag`.
    ///
    /// # Errors
    ///
    /// The write error (the connection is lost; `tag` comes back so that
    /// the caller can count the call as unanswered).
    pub(super) async fn send(&mut self, op: &Op, tag: T) -> Result<(), T> {
        let xid = self.first_xid.wrapping_add(self.sent);
        let Ok(record) = call_record(xid, op) else {
            return Err(tag);
        };
        self.sent = self.sent.wrapping_add(1);
        let sent_at = Instant::now();
        if self.records.send(record).await.is_err() {
            return Err(tag);
        }
        self.pending.insert(xid, Pending { tag, sent_at });
        Ok(())
    }

    /// Waits for the next record until `deadline`.
    pub(super) async fn recv(&mut self, deadline: Instant) -> Recv<T> {
        let next = match tokio::time::timeout_at(deadline, self.records.next()).await {
            Err(_) => return Recv::TimedOut,
            Ok(Some(Ok(record))) => record,
            Ok(_) => return Recv::Closed,
        };
        let Some(xid) = reply_xid(&next) else {
            return Recv::Unexpected;
        };
        match self.pending.remove(&xid) {
            Some(call) => Recv::Reply { call, record: next },
            None if xid.wrapping_sub(self.first_xid) < self.sent => Recv::Duplicate,
            None => Recv::Unexpected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpc_runtime::message::peek_xid;
    use rpc_runtime::message::reply::success;

    /// A peer that answers the one call it reads twice, then with an XID
    /// that was never sent.
    #[tokio::test]
    async fn a_second_reply_is_a_duplicate_and_a_strange_xid_unexpected() {
        let (ours, theirs) = tokio::net::UnixStream::pair().expect("socket pair");
        let mut conn: Conn<u8> = Conn::new(Box::new(ours), 1000);
        let mut peer = records(Box::new(theirs));
        conn.send(&Op::Null, 7).await.expect("send");
        let call = peer.next().await.expect("a call").expect("a record");
        let xid = peek_xid(&call).expect("an XID");
        for x in [xid, xid, xid.wrapping_add(50)] {
            peer.send(success(x, &()).expect("encode"))
                .await
                .expect("reply");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        assert!(matches!(conn.recv(deadline).await, Recv::Reply { call, .. } if call.tag == 7));
        assert!(matches!(conn.recv(deadline).await, Recv::Duplicate));
        assert!(matches!(conn.recv(deadline).await, Recv::Unexpected));
        drop(peer);
        assert!(matches!(conn.recv(deadline).await, Recv::Closed));
    }
}
