//! Many calls arriving at once on one connection are answered with few
//! writes: replies ready together go out together (RFC 5531 record
//! marking, one `writev` for many records), not one syscall each.

mod support;

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use rpc_runtime::message::{CallHeader, OpaqueAuth, ReplyHeader};
use rpc_runtime::server::PeerAddr;
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use xdr_codec::{XdrDecode, XdrEncode};

/// The server's end of the connection, counting the writes that moved
/// bytes.
struct CountingStream {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn pipelined_calls_get_their_replies_in_few_writes() {
    const CALLS: u32 = 500;
    let (client_end, server_end) = tokio::io::duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    let server = test_server();
    let stream = CountingStream {
        inner: server_end,
        writes: Arc::clone(&writes),
    };
    let serving =
        tokio::spawn(async move { server.serve_connection(stream, PeerAddr::Unix(None)).await });

    // Every call in one write: ECHO(i) with XID 1000 + i.
    let mut wire = BytesMut::new();
    for i in 0..CALLS {
        let mut record = BytesMut::new();
        CallHeader::new(1000 + i, TESTPROG, 1, TESTPROC_ECHO, OpaqueAuth::none())
            .encode_into(&mut record)
            .unwrap();
        i.encode_into(&mut record).unwrap();
        wire.extend_from_slice(&(0x8000_0000u32 | record.len() as u32).to_be_bytes());
        wire.extend_from_slice(&record);
    }
    let (mut rd, mut wr) = tokio::io::split(client_end);
    wr.write_all(&wire).await.unwrap();

    for i in 0..CALLS {
        let mut mark = [0u8; 4];
        rd.read_exact(&mut mark).await.unwrap();
        let mut body = vec![0u8; (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize];
        rd.read_exact(&mut body).await.unwrap();
        let mut dec = xdr_codec::Decoder::new(body);
        // Ready handlers are answered in the order the calls arrived.
        assert_eq!(ReplyHeader::decode(&mut dec).unwrap().xid, 1000 + i);
        assert_eq!(u32::decode(&mut dec).unwrap(), i);
    }
    let writes = writes.load(Ordering::Relaxed);
    assert!(
        writes * 20 <= CALLS as usize,
        "{CALLS} replies took {writes} writes"
    );
    drop(wr);
    drop(rd);
    serving.await.unwrap().unwrap();
}
