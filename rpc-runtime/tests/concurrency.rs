//! Many calls in flight, cancellation, timeouts, connection failures and
//! connection isolation on the server.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::join_all;
use rpc_runtime::message::{peek, CallHeader, HeaderPeek, OpaqueAuth, ReplyBody, ReplyHeader};
use rpc_runtime::{Client, RpcError, Server};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xdr_codec::{Opaque, XdrDecode, XdrEncode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_calls_complete_out_of_order() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    let finished = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let calls = (0..200u32).map(|i| {
        let c = c.clone();
        let finished = Arc::clone(&finished);
        async move {
            // A scrambled sleep of 0-99 ms per call.
            let ms = (i * 7919 + 13) % 100;
            let tag = c.sleep(&ms, &i).await.unwrap();
            assert_eq!(tag, i, "reply matched to the wrong call");
            finished.lock().unwrap().push(i);
        }
    });
    join_all(calls).await;
    let elapsed = start.elapsed();
    let order = finished.lock().unwrap().clone();
    assert_eq!(order.len(), 200);
    assert_ne!(
        order,
        (0..200).collect::<Vec<_>>(),
        "replies came back in call order"
    );
    // Serially this would take about 10 s; concurrently about 100 ms.
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert_eq!(c.inner().pending_calls(), 0);
    assert_eq!(c.inner().unmatched_replies(), 0);
}

#[tokio::test]
async fn timeout_frees_the_pending_entry_and_late_reply_is_counted() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    let short = c.with_timeout(Duration::from_millis(50));
    let e = short.sleep(&300, &1).await.unwrap_err();
    assert!(matches!(e, RpcError::Timeout), "{e:?}");
    assert_eq!(c.inner().pending_calls(), 0);
    eventually("late reply counted", || c.inner().unmatched_replies() == 1).await;
    // The default timeout of the original handle is unchanged.
    assert_eq!(c.sleep(&100, &2).await.unwrap(), 2);
}

#[tokio::test]
async fn dropping_a_call_cancels_it() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    let task = {
        let c = c.clone();
        tokio::spawn(async move { c.sleep(&300, &2).await })
    };
    eventually("call in flight", || c.inner().pending_calls() == 1).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(c.inner().pending_calls(), 0, "dropped call still pending");
    // Its reply still comes, matches nothing, and is dropped.
    eventually("late reply counted", || c.inner().unmatched_replies() == 1).await;
    assert_eq!(c.echo(&9).await.unwrap(), 9);
}

#[tokio::test]
async fn connection_loss_fails_every_pending_call_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A "server" that reads three calls and then hangs up.
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut seen = 0;
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while seen < 3 {
            let n = s.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
            seen = count_records(&got);
        }
        drop(s);
    });
    let c = tcp_client(addr).await;
    let start = Instant::now();
    let results = join_all((0..3).map(|i| c.echo_owned(i))).await;
    assert!(start.elapsed() < Duration::from_secs(5));
    for r in results {
        assert!(matches!(r, Err(RpcError::Transport(_))), "{r:?}");
    }
    assert!(c.inner().is_closed());
    assert!(matches!(c.echo(&1).await, Err(RpcError::Transport(_))));
}

/// Counts complete single-fragment records in `wire`.
fn count_records(wire: &[u8]) -> usize {
    let mut n = 0;
    let mut at = 0;
    while wire.len() >= at + 4 {
        let h = u32::from_be_bytes([wire[at], wire[at + 1], wire[at + 2], wire[at + 3]]);
        let len = (h & 0x7fff_ffff) as usize;
        if wire.len() < at + 4 + len {
            break;
        }
        at += 4 + len;
        n += 1;
    }
    n
}

trait EchoOwned {
    fn echo_owned(&self, v: u32) -> impl std::future::Future<Output = Result<u32, RpcError>>;
}
impl EchoOwned for TestprogV1Client {
    async fn echo_owned(&self, v: u32) -> Result<u32, RpcError> {
        self.echo(&v).await
    }
}

async fn expect_closed(mut s: TcpStream) {
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("server did not close the connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "server answered instead of closing");
}

#[tokio::test]
async fn garbage_record_closes_only_that_connection() {
    let addr = start_tcp().await;
    let good = tcp_client(addr).await;
    let slow = {
        let good = good.clone();
        tokio::spawn(async move { good.sleep(&300, &5).await })
    };
    // Not an RPC message: 3 bytes in one last fragment.
    let mut bad = TcpStream::connect(addr).await.unwrap();
    bad.write_all(&[0x80, 0, 0, 3, 1, 2, 3]).await.unwrap();
    expect_closed(bad).await;
    // Message type 7.
    let mut bad = TcpStream::connect(addr).await.unwrap();
    bad.write_all(&[0x80, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 7])
        .await
        .unwrap();
    expect_closed(bad).await;
    // The other connection, and a call in flight on it, are unaffected.
    assert_eq!(good.echo(&11).await.unwrap(), 11);
    assert_eq!(slow.await.unwrap().unwrap(), 5);
}

#[tokio::test]
async fn oversized_record_closes_only_that_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .register(TestprogV1Server::new(TestImpl))
        .max_record_bytes(4096)
        .build();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    // A fragment header announcing 1 MiB is refused before any data.
    let mut bad = TcpStream::connect(addr).await.unwrap();
    bad.write_all(&(0x8000_0000u32 | (1 << 20)).to_be_bytes())
        .await
        .unwrap();
    expect_closed(bad).await;
    // A real client sending a too-large call loses its connection.
    let big = tcp_client(addr).await;
    let e = big.blob(&Opaque::from(vec![0u8; 8000])).await.unwrap_err();
    assert!(matches!(e, RpcError::Transport(_)), "{e:?}");
    let good = tcp_client(addr).await;
    assert_eq!(
        good.blob(&Opaque::from(vec![1u8; 100]))
            .await
            .unwrap()
            .len(),
        100
    );
}

#[tokio::test]
async fn client_refuses_to_send_a_record_over_its_limit() {
    let addr = start_tcp().await;
    let client = Client::builder()
        .max_record_bytes(1000)
        .connect_tcp(addr)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    let e = c.blob(&Opaque::from(vec![0u8; 2000])).await.unwrap_err();
    assert!(matches!(e, RpcError::Transport(_)), "{e:?}");
    // Only that call failed.
    assert_eq!(c.echo(&4).await.unwrap(), 4);
}

#[tokio::test]
async fn forward_rewrites_and_restores_xids() {
    let addr = start_tcp().await;
    let upstream = tcp_client(addr).await;
    // Two callers that happen to use the same XID, in flight together.
    let make = |ms: u32, tag: u32| {
        let mut rec = bytes::BytesMut::new();
        CallHeader::new(7, TESTPROG, 1, TESTPROC_SLEEP, OpaqueAuth::none())
            .encode_into(&mut rec)
            .unwrap();
        (ms, tag).encode_into(&mut rec).unwrap();
        rec.freeze()
    };
    let (a, b) = tokio::join!(
        upstream.inner().forward(make(100, 1)),
        upstream.inner().forward(make(10, 2))
    );
    for (reply, tag) in [(a.unwrap(), 1u32), (b.unwrap(), 2)] {
        assert_eq!(peek(&reply), Some(HeaderPeek::Reply { xid: 7 }));
        let mut dec = xdr_codec::Decoder::new(reply);
        let h = ReplyHeader::decode(&mut dec).unwrap();
        assert!(matches!(h.body, ReplyBody::Accepted { .. }));
        assert_eq!(u32::decode(&mut dec).unwrap(), tag);
    }
    let e = upstream
        .inner()
        .forward(Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 1]))
        .await;
    assert!(matches!(e, Err(RpcError::MalformedCall)));
}

#[tokio::test]
async fn graceful_shutdown_finishes_calls_in_flight() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = test_server();
    let serving = tokio::spawn(async move {
        server
            .serve_tcp_with_shutdown(listener, async {
                let _ = stop_rx.await;
            })
            .await
    });
    let c = tcp_client(addr).await;
    let in_flight = {
        let c = c.clone();
        tokio::spawn(async move { c.sleep(&500, &8).await })
    };
    // Give the server time to read the call before shutting down.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(()).unwrap();
    assert_eq!(in_flight.await.unwrap().unwrap(), 8);
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("server did not stop")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    assert!(matches!(c.echo(&1).await, Err(RpcError::Transport(_))));
}

#[tokio::test]
async fn server_ignores_reply_messages_and_keeps_serving() {
    let addr = start_tcp().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let stray =
        rpc_runtime::message::reply::accepted_error(5, rpc_runtime::message::AcceptStat::Success);
    let call = CallHeader::new(6, TESTPROG, 1, TESTPROC_ECHO, OpaqueAuth::none());
    let mut rec = bytes::BytesMut::new();
    call.encode_into(&mut rec).unwrap();
    42u32.encode_into(&mut rec).unwrap();
    for r in [stray, rec.freeze()] {
        s.write_all(&(0x8000_0000u32 | r.len() as u32).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&r).await.unwrap();
    }
    let mut hdr = [0u8; 4];
    s.read_exact(&mut hdr).await.unwrap();
    let len = (u32::from_be_bytes(hdr) & 0x7fff_ffff) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.unwrap();
    let mut dec = xdr_codec::Decoder::new(body);
    assert_eq!(ReplyHeader::decode(&mut dec).unwrap().xid, 6);
    assert_eq!(u32::decode(&mut dec).unwrap(), 42);
}

#[tokio::test]
async fn garbage_cancels_the_calls_of_that_connection_only() {
    use rpc_runtime::codegen::{handle, BoxFuture, Dispatch, DispatchOutcome};
    use rpc_runtime::server::CallContext;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static STARTED: AtomicUsize = AtomicUsize::new(0);
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }
    /// Program 0x3000_0002 v1: procedure 1 never finishes.
    struct Hang;
    impl Dispatch for Hang {
        fn program(&self) -> u32 {
            0x3000_0002
        }
        fn version(&self) -> u32 {
            1
        }
        fn dispatch(
            &self,
            _ctx: CallContext,
            _procedure: u32,
            args: xdr_codec::Decoder,
        ) -> BoxFuture<'static, DispatchOutcome> {
            handle(args, |(): ()| async {
                let _guard = Guard;
                STARTED.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
                Ok(())
            })
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Server::builder().register(Hang).serve_tcp(listener));

    let other = Client::connect_tcp(addr).await.unwrap();
    let other_call = {
        let other = other.clone();
        tokio::spawn(async move { other.call::<_, ()>(0x3000_0002, 1, 1, &()).await })
    };
    let mut bad = TcpStream::connect(addr).await.unwrap();
    let call = CallHeader::new(1, 0x3000_0002, 1, 1, OpaqueAuth::none())
        .to_xdr_bytes()
        .unwrap();
    bad.write_all(&(0x8000_0000u32 | call.len() as u32).to_be_bytes())
        .await
        .unwrap();
    bad.write_all(&call).await.unwrap();
    eventually("both calls running", || STARTED.load(Ordering::SeqCst) == 2).await;
    bad.write_all(&[0x80, 0, 0, 1, 0]).await.unwrap();
    expect_closed(bad).await;
    // The bad connection's call was cancelled; the other one still runs.
    eventually("bad connection's call dropped", || {
        DROPPED.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(DROPPED.load(Ordering::SeqCst), 1);
    assert!(!other_call.is_finished());
    assert!(!other.is_closed());
    other_call.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_survives_a_storm_of_random_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .register(TestprogV1Server::new(TestImpl))
        .max_record_bytes(64 * 1024)
        .build();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    // xorshift: deterministic pseudo-random bytes, a different stream per
    // connection; some streams start with a plausible call header.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut tasks = Vec::new();
    for i in 0..50u32 {
        let mut data: Vec<u8> = (0..(next() % 400) as usize).map(|_| next() as u8).collect();
        if i % 2 == 0 {
            let header = CallHeader::new(i, TESTPROG, 1, i % 10, OpaqueAuth::none())
                .to_xdr_bytes()
                .unwrap();
            let len = (header.len() + data.len()) as u32;
            let mut rec = (0x8000_0000 | len).to_be_bytes().to_vec();
            rec.extend_from_slice(&header);
            rec.extend_from_slice(&data);
            data = rec;
        }
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let _ = s.write_all(&data).await;
            let _ = s.shutdown().await;
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut sink)).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let c = tcp_client(addr).await;
    assert_eq!(c.echo(&123).await.unwrap(), 123);
}

#[tokio::test]
async fn ready_calls_are_answered_while_a_slow_call_waits_on_the_same_connection() {
    // The server answers handlers that finish in their first poll (echo)
    // without spawning them, and spawns the ones that wait (sleep): the
    // waiting call must block neither reading nor the quick replies.
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    let slow = {
        let c = c.clone();
        tokio::spawn(async move { c.sleep(&800, &77).await })
    };
    // Let the slow call reach the server first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    for i in 0..100u32 {
        assert_eq!(c.echo(&i).await.unwrap(), i);
    }
    assert!(!slow.is_finished(), "quick calls waited for the slow one");
    assert!(start.elapsed() < Duration::from_millis(700));
    assert_eq!(slow.await.unwrap().unwrap(), 77);
    assert_eq!(c.inner().unmatched_replies(), 0);
}
