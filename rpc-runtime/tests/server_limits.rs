//! Server limits: connections, idle time, and the per-call time limit
//! with `CallContext::deadline`.

mod support;

use std::time::{Duration, Instant};

use rpc_runtime::conn_limits::Limit;
use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
use rpc_runtime::{Client, RpcError, Server};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PROBE: u32 = 0x2000_7777;

/// Program PROBE version 1: procedure 1 returns the milliseconds left
/// until the call's deadline, or `u32::MAX` if it has none; procedure 2
/// sleeps `ms` and returns 0; procedure 3 sleeps `ms` and returns `n`
/// zero bytes (`opaque<>`).
struct Probe;

impl Dispatch for Probe {
    fn program(&self) -> u32 {
        PROBE
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> rpc_runtime::codegen::BoxFuture<'static, DispatchOutcome> {
        match procedure {
            1 => rpc_runtime::codegen::handle(args, move |(): ()| async move {
                Ok(ctx.deadline().map_or(u32::MAX, |d| {
                    let left = d.saturating_duration_since(tokio::time::Instant::now());
                    u32::try_from(left.as_millis()).unwrap_or(u32::MAX - 1)
                }))
            }),
            2 => rpc_runtime::codegen::handle(args, |ms: u32| async move {
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                Ok(0u32)
            }),
            3 => rpc_runtime::codegen::handle(args, |(ms, n): (u32, u32)| async move {
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                Ok(xdr_codec::Opaque::<{ u32::MAX }>::from(vec![
                    0u8;
                    n as usize
                ]))
            }),
            _ => rpc_runtime::codegen::proc_unavail(),
        }
    }
}

async fn serve(server: Server) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    addr
}

fn with_probe() -> rpc_runtime::ServerBuilder {
    Server::builder()
        .register(TestprogV1Server::new(TestImpl))
        .register(Probe)
}

#[tokio::test]
async fn at_the_connection_limit_the_longest_idle_is_evicted() {
    let server = with_probe().max_connections(2).build();
    let addr = serve(server.clone()).await;
    let a = tcp_client(addr).await;
    let b = tcp_client(addr).await;
    assert_eq!(a.echo(&1).await.unwrap(), 1);
    assert_eq!(b.echo(&2).await.unwrap(), 2);
    // A third connection evicts the one idle the longest: `a`.
    let c = tcp_client(addr).await;
    assert_eq!(c.echo(&3).await.unwrap(), 3);
    eventually("the evicted client sees the close", || {
        a.inner().is_closed()
    })
    .await;
    assert_eq!(b.echo(&4).await.unwrap(), 4);
    let stats = server.conn_stats();
    assert_eq!(stats.limit_hits(Limit::Evicted), 1);
    // With every connection busy, a new one is closed instead.
    let (b_busy, c_busy) = (b.sleep(&1500, &5), c.sleep(&1500, &6));
    let refused = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let d = tcp_client(addr).await;
        d.echo(&7).await
    };
    let (b_done, c_done, d_result) = tokio::join!(b_busy, c_busy, refused);
    assert_eq!((b_done.unwrap(), c_done.unwrap()), (5, 6));
    let e = d_result.unwrap_err();
    assert!(matches!(e, RpcError::Transport(_)), "{e:?}");
    assert!(stats.limit_hits(Limit::Refused) >= 1);
    // Idle again: the next connection gets in.
    let d = tcp_client(addr).await;
    assert_eq!(d.echo(&8).await.unwrap(), 8);
}

/// Reads until EOF and returns how long it took, at most 5 s.
async fn time_until_closed(mut s: TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    read.await
        .expect("the server did not close the idle connection");
    start.elapsed()
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let addr = serve(
        with_probe()
            .idle_timeout(Some(Duration::from_millis(200)))
            .record_timeout(Some(Duration::from_millis(200)))
            .build(),
    )
    .await;
    // Says nothing at all.
    let silent = TcpStream::connect(addr).await.unwrap();
    let waited = time_until_closed(silent).await;
    assert!(
        waited >= Duration::from_millis(150),
        "closed after {waited:?}"
    );
    // Sends half a record and stops.
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(&[0x80, 0, 0, 100, 1, 2, 3]).await.unwrap();
    time_until_closed(half).await;
}

#[tokio::test]
async fn a_reply_for_a_connection_still_over_its_cap_closes_it() {
    let server = with_probe().max_unread_bytes(1 << 20, 256 << 20).build();
    let addr = serve(server.clone()).await;
    // Sixteen calls answered together 200 ms later, 512 KiB each, never
    // read: the first replies take the connection over its 1 MiB cap and
    // the next one closes it.
    let mut greedy = TcpStream::connect(addr).await.unwrap();
    let mut calls = Vec::new();
    for xid in 1..=16u32 {
        let words = [xid, 0, 2, PROBE, 1, 3, 0, 0, 0, 0, 200, 512 * 1024];
        let body: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        calls.extend_from_slice(&(0x8000_0000 | body.len() as u32).to_be_bytes());
        calls.extend_from_slice(&body);
    }
    greedy.write_all(&calls).await.unwrap();
    let stats = server.conn_stats();
    eventually("the connection closed at its cap", || {
        stats.limit_hits(Limit::UnreadBytesClosed) == 1
    })
    .await;
    // Others are served.
    let c = tcp_client(addr).await;
    assert_eq!(c.echo(&9).await.unwrap(), 9);
}

#[tokio::test]
async fn records_that_trickle_are_closed_at_the_record_timeout() {
    let server = with_probe()
        .record_timeout(Some(Duration::from_millis(300)))
        .build();
    let addr = serve(server.clone()).await;
    // One byte of a 100-byte record every 100 ms: never idle for long,
    // never done.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(&[0x80, 0, 0, 100]).await.unwrap();
    let trickle = async {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if slow.write_all(&[0]).await.is_err() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), trickle)
        .await
        .expect("the trickle ends once the server closes");
    assert_eq!(server.conn_stats().limit_hits(Limit::RecordTimeout), 1);
}

#[tokio::test]
async fn busy_connections_are_not_idle() {
    let addr = serve(
        with_probe()
            .idle_timeout(Some(Duration::from_millis(100)))
            .build(),
    )
    .await;
    let c = tcp_client(addr).await;
    // A call running longer than the idle time keeps the connection.
    assert_eq!(c.sleep(&400, &1).await.unwrap(), 1);
    // So do calls more frequent than the idle time.
    for i in 0..8 {
        assert_eq!(c.echo(&i).await.unwrap(), i);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(!c.inner().is_closed());
    // Then silence closes it; the client notices.
    eventually("client sees the close", || c.inner().is_closed()).await;
}

#[tokio::test]
async fn call_timeout_sets_the_deadline_and_cancels_slow_calls() {
    let addr = serve(
        with_probe()
            .call_timeout(Some(Duration::from_millis(300)))
            .build(),
    )
    .await;
    let client = Client::connect_tcp(addr).await.unwrap();
    let left: u32 = client.call(PROBE, 1, 1, &()).await.unwrap();
    assert!(left > 0 && left <= 300, "{left} ms left");
    let start = Instant::now();
    let e = client
        .call::<_, u32>(PROBE, 1, 2, &5000u32)
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::SystemErr), "{e:?}");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(took >= Duration::from_millis(250), "took {took:?}");
    // Fast calls are unaffected.
    let r: u32 = client.call(PROBE, 1, 2, &10u32).await.unwrap();
    assert_eq!(r, 0);
}

#[tokio::test]
async fn without_call_timeout_there_is_no_deadline() {
    let addr = serve(with_probe().build()).await;
    let client = Client::connect_tcp(addr).await.unwrap();
    let left: u32 = client.call(PROBE, 1, 1, &()).await.unwrap();
    assert_eq!(left, u32::MAX);
}

#[tokio::test]
async fn udp_calls_get_the_deadline_too() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let server = with_probe()
        .call_timeout(Some(Duration::from_millis(200)))
        .build();
    tokio::spawn(async move { server.serve_udp(socket).await });
    let client = Client::connect_udp(addr).await.unwrap();
    let left: u32 = client.call(PROBE, 1, 1, &()).await.unwrap();
    assert!(left > 0 && left <= 200, "{left} ms left");
    let e = client
        .call::<_, u32>(PROBE, 1, 2, &5000u32)
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::SystemErr), "{e:?}");
}
