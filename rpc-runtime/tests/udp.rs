//! UDP: client and server, retransmission with the same XID, and
//! datagrams over the size limit in either direction.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use rpc_runtime::message::peek_xid;
use rpc_runtime::server::PeerAddr;
use rpc_runtime::{Client, RetransmitPolicy, RpcError, Server};
use support::*;
use tokio::net::UdpSocket;
use xdr_codec::Opaque;

/// Starts `server` on a loopback UDP socket.
async fn start_udp(server: Server) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move { server.serve_udp(socket).await });
    addr
}

const BIGPROG: u32 = 0x2000_5555;

/// Program BIGPROG version 1: procedure 1 takes `n` and returns `n` bytes.
struct Big;

impl rpc_runtime::server::Dispatch for Big {
    fn program(&self) -> u32 {
        BIGPROG
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        _ctx: rpc_runtime::server::CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> rpc_runtime::codegen::BoxFuture<'static, rpc_runtime::server::DispatchOutcome> {
        match procedure {
            1 => rpc_runtime::codegen::handle(args, |n: u32| async move {
                Ok(Opaque::<{ u32::MAX }>::from(vec![7u8; n as usize]))
            }),
            // The caller's UDP port, or 0 if the peer is not UDP loopback.
            2 => {
                let port = match _ctx.peer() {
                    PeerAddr::Udp(a) if a.ip().is_loopback() => u32::from(a.port()),
                    _ => 0,
                };
                rpc_runtime::codegen::handle(args, move |(): ()| async move { Ok(port) })
            }
            _ => rpc_runtime::codegen::proc_unavail(),
        }
    }
}

fn fast_retransmit() -> RetransmitPolicy {
    RetransmitPolicy {
        initial_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_round_trips_and_concurrent_calls() {
    let addr = start_udp(test_server()).await;
    let c = TestprogV1Client::new(Client::connect_udp(addr).await.unwrap());
    c.null().await.unwrap();
    assert_eq!(c.echo(&7).await.unwrap(), 7);
    assert!(matches!(c.fail().await, Err(RpcError::SystemErr)));
    assert!(matches!(c.panic().await, Err(RpcError::SystemErr)));
    let v3 = c
        .inner()
        .call::<_, u32>(TESTPROG, 3, TESTPROC_ADD, &(40u32, 2u32));
    assert_eq!(v3.await.unwrap(), 42);
    // Many calls at once, finishing out of order, each matched by XID.
    let calls = (0..100u32).map(|i| {
        let c = c.clone();
        async move { c.sleep(&((i * 37) % 50), &i).await.unwrap() }
    });
    let tags = join_all(calls).await;
    assert_eq!(tags, (0..100).collect::<Vec<_>>());
    assert_eq!(c.inner().pending_calls(), 0);
    // Nothing was lost on loopback, so nothing was sent twice.
    assert_eq!(c.inner().retransmissions(), 0);
}

#[tokio::test]
async fn udp_handler_sees_its_peer_address() {
    let addr = start_udp(Server::builder().register(Big).build()).await;
    // A raw socket as the client, so its own address is known.
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = raw.local_addr().unwrap().port();
    let call = rpc_runtime::message::CallHeader::new(
        77,
        BIGPROG,
        1,
        2,
        rpc_runtime::message::OpaqueAuth::none(),
    );
    let datagram = xdr_codec::XdrEncode::to_xdr_bytes(&call).unwrap();
    raw.send_to(&datagram, addr).await.unwrap();
    let mut buf = [0u8; 100];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), raw.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, addr, "reply from the server's socket");
    let reply = &buf[..n];
    assert_eq!(peek_xid(reply), Some(77));
    // SUCCESS, then the port the handler saw.
    assert_eq!(&reply[n - 4..], &u32::from(port).to_be_bytes());
    // And through the client.
    let client = Client::connect_udp(addr).await.unwrap();
    let seen: u32 = client.call(BIGPROG, 1, 2, &()).await.unwrap();
    assert_ne!(seen, 0);
    assert_ne!(seen, u32::from(port));
}

/// A UDP relay between one client and `server` that drops the first
/// `drop_first` call datagrams and records the XID of every call datagram
/// it sees.
async fn lossy_relay(server: SocketAddr, drop_first: usize) -> (SocketAddr, Arc<Mutex<Vec<u32>>>) {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = front.local_addr().unwrap();
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    back.connect(server).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client_addr = Arc::new(Mutex::new(None::<SocketAddr>));
    {
        let (front, back, seen, client_addr) = (
            front.clone(),
            back.clone(),
            seen.clone(),
            client_addr.clone(),
        );
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            loop {
                let (n, from) = front.recv_from(&mut buf).await.unwrap();
                *client_addr.lock().unwrap() = Some(from);
                let count = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(peek_xid(&buf[..n]).unwrap());
                    seen.len()
                };
                if count > drop_first {
                    back.send(&buf[..n]).await.unwrap();
                }
            }
        });
    }
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        loop {
            let n = back.recv(&mut buf).await.unwrap();
            let to = client_addr.lock().unwrap().unwrap();
            front.send_to(&buf[..n], to).await.unwrap();
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn lost_call_datagram_is_retransmitted_with_the_same_xid() {
    let server = start_udp(test_server()).await;
    let (relay, seen) = lossy_relay(server, 1).await;
    let client = Client::builder()
        .retransmit(fast_retransmit())
        .timeout(Duration::from_secs(5))
        .connect_udp(relay)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    assert_eq!(c.echo(&99).await.unwrap(), 99);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one lost datagram and one retransmission");
    assert_eq!(seen[0], seen[1], "the retransmission kept the XID");
    assert_eq!(c.inner().retransmissions(), 1);
}

#[tokio::test]
async fn retransmission_continues_until_the_timeout() {
    let server = start_udp(test_server()).await;
    // Drops everything.
    let (relay, seen) = lossy_relay(server, usize::MAX).await;
    let client = Client::builder()
        .retransmit(fast_retransmit())
        .timeout(Duration::from_millis(700))
        .connect_udp(relay)
        .await
        .unwrap();
    let e = client
        .call::<_, u32>(TESTPROG, 1, TESTPROC_ECHO, &5u32)
        .await;
    assert!(matches!(e, Err(RpcError::Timeout)), "{e:?}");
    let seen = seen.lock().unwrap().clone();
    // Sends at 0, 50, 150, 350 and 550 ms (intervals 50, 100, 200, 200).
    // (A loaded machine may fire the timers late: allow one fewer.)
    assert!((3..=6).contains(&seen.len()), "{} sends", seen.len());
    assert!(seen.iter().all(|&x| x == seen[0]), "XID changed: {seen:?}");
    assert_eq!(client.pending_calls(), 0);
}

#[tokio::test]
async fn udp_call_to_nobody_times_out() {
    // A port with nothing behind it: ICMP errors must not break the
    // client, the call just times out.
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    let client = Client::builder()
        .retransmit(fast_retransmit())
        .timeout(Duration::from_millis(300))
        .connect_udp(addr)
        .await
        .unwrap();
    let e = client.call::<_, ()>(TESTPROG, 1, 0, &()).await.unwrap_err();
    assert!(
        matches!(e, RpcError::Timeout | RpcError::Transport(_)),
        "{e:?}"
    );
    // The client still works once a server is there.
    let addr = start_udp(test_server()).await;
    let client = Client::connect_udp(addr).await.unwrap();
    let () = client.call(TESTPROG, 1, 0, &()).await.unwrap();
}

#[tokio::test]
async fn oversize_call_fails_alone_before_sending() {
    let addr = start_udp(test_server()).await;
    let client = Client::builder()
        .max_datagram_bytes(1000)
        .connect_udp(addr)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    let big = Opaque::from(vec![1u8; 2000]);
    match c.blob(&big).await {
        Err(RpcError::Transport(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput),
        other => panic!("expected a transport error, got {other:?}"),
    }
    // The client is fine.
    let small = Opaque::from(vec![2u8; 500]);
    assert_eq!(c.blob(&small).await.unwrap().as_ref(), small.as_ref());
}

#[tokio::test]
async fn oversize_reply_fails_its_call() {
    let addr = start_udp(Server::builder().register(Big).build()).await;
    let client = Client::builder()
        .max_datagram_bytes(1000)
        .timeout(Duration::from_secs(5))
        .connect_udp(addr)
        .await
        .unwrap();
    // The reply (24-byte header, 4-byte length, 980 bytes) is over.
    match client.call::<_, Opaque>(BIGPROG, 1, 1, &980u32).await {
        Err(RpcError::Transport(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidData),
        other => panic!("expected a transport error, got {other:?}"),
    }
    // Exactly at the limit (24 + 4 + 972 = 1000 bytes) is fine.
    let r: Opaque = client.call(BIGPROG, 1, 1, &972u32).await.unwrap();
    assert_eq!(r.len(), 972);
}

#[tokio::test]
async fn server_drops_oversize_calls_and_refuses_oversize_replies() {
    let server = Server::builder()
        .register(TestprogV1Server::new(TestImpl))
        .register(Big)
        .max_datagram_bytes(1000)
        .build();
    let addr = start_udp(server).await;
    let client = Client::builder()
        .retransmit(fast_retransmit())
        .timeout(Duration::from_millis(400))
        .connect_udp(addr)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    // A 2000-byte call is over the server's limit: dropped, no reply.
    let e = c.blob(&Opaque::from(vec![4u8; 2000])).await.unwrap_err();
    assert!(matches!(e, RpcError::Timeout), "{e:?}");
    // A call that fits but whose reply would not: SYSTEM_ERR.
    let c = c.with_timeout(Duration::from_secs(5));
    let e = c
        .inner()
        .call::<_, Opaque>(BIGPROG, 1, 1, &980u32)
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::SystemErr), "{e:?}");
    let r: Opaque = c.inner().call(BIGPROG, 1, 1, &972u32).await.unwrap();
    assert_eq!(r.len(), 972);
    assert_eq!(c.echo(&3).await.unwrap(), 3);
}

#[tokio::test]
async fn garbage_datagrams_are_dropped_and_the_server_carries_on() {
    let addr = start_udp(test_server()).await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    raw.send_to(b"xx", addr).await.unwrap();
    raw.send_to(&[0u8; 40], addr).await.unwrap();
    let c = TestprogV1Client::new(Client::connect_udp(addr).await.unwrap());
    assert_eq!(c.echo(&11).await.unwrap(), 11);
}

#[tokio::test]
async fn udp_shutdown_finishes_calls_in_progress() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        test_server()
            .serve_udp_with_shutdown(socket, async {
                let _ = rx.await;
            })
            .await
    });
    let c = TestprogV1Client::new(Client::connect_udp(addr).await.unwrap());
    let slow = tokio::spawn({
        let c = c.clone();
        async move { c.sleep(&300, &8).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.send(()).unwrap();
    assert_eq!(slow.await.unwrap().unwrap(), 8);
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_server_bounds_concurrent_calls() {
    let server = Server::builder()
        .register(TestprogV1Server::new(TestImpl))
        .max_concurrent_calls(2)
        .build();
    let addr = start_udp(server).await;
    let c = TestprogV1Client::new(Client::connect_udp(addr).await.unwrap());
    let start = std::time::Instant::now();
    let calls = (0..6u32).map(|i| {
        let c = c.clone();
        async move { c.sleep(&200, &i).await.unwrap() }
    });
    let tags = join_all(calls).await;
    let elapsed = start.elapsed();
    assert_eq!(tags, (0..6).collect::<Vec<_>>());
    // Two at a time: three waves of 200 ms.
    assert!(elapsed >= Duration::from_millis(590), "took {elapsed:?}");
}

const COUNTPROG: u32 = 0x2000_5556;

/// Program COUNTPROG version 1: procedure 1 sleeps the milliseconds it is
/// given, then returns how many times it has run.
struct Count(Arc<std::sync::atomic::AtomicU32>);

impl rpc_runtime::server::Dispatch for Count {
    fn program(&self) -> u32 {
        COUNTPROG
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        _ctx: rpc_runtime::server::CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> rpc_runtime::codegen::BoxFuture<'static, rpc_runtime::server::DispatchOutcome> {
        let runs = Arc::clone(&self.0);
        match procedure {
            1 => rpc_runtime::codegen::handle(args, move |ms: u32| async move {
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                Ok(runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
            }),
            _ => rpc_runtime::codegen::proc_unavail(),
        }
    }
}

/// A COUNTPROG procedure 1 call datagram: XID `xid`, sleeping `ms`.
fn count_call(xid: u32, ms: u32) -> Vec<u8> {
    use xdr_codec::XdrEncode;
    let header = rpc_runtime::message::CallHeader::new(
        xid,
        COUNTPROG,
        1,
        1,
        rpc_runtime::message::OpaqueAuth::none(),
    );
    let mut d = header.to_xdr_bytes().unwrap().to_vec();
    d.extend_from_slice(&ms.to_be_bytes());
    d
}

async fn recv_reply(socket: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 65_536];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .expect("a reply within 5 s")
        .unwrap();
    buf.truncate(n);
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmitted_calls_run_once_and_get_the_same_reply() {
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let server = Server::builder().register(Count(Arc::clone(&runs))).build();
    let addr = start_udp(server.clone()).await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    raw.connect(addr).await.unwrap();
    // Sent twice while the call runs: the second is dropped, one reply.
    raw.send(&count_call(7, 300)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    raw.send(&count_call(7, 300)).await.unwrap();
    let first = recv_reply(&raw).await;
    // Sent again after the reply: answered from the cache, not run.
    raw.send(&count_call(7, 300)).await.unwrap();
    let again = recv_reply(&raw).await;
    assert_eq!(first, again, "the same reply bytes");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(server.udp_stats().retransmits_in_flight(), 1);
    assert_eq!(server.udp_stats().reply_cache_hits(), 1);
    // The same XID with other arguments is another call, and runs.
    raw.send(&count_call(7, 0)).await.unwrap();
    let other = recv_reply(&raw).await;
    assert_ne!(first, other);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_a_reply_cache_retransmissions_run_again() {
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let server = Server::builder()
        .register(Count(Arc::clone(&runs)))
        .udp_reply_cache(0, 0)
        .build();
    let addr = start_udp(server.clone()).await;
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    raw.connect(addr).await.unwrap();
    for _ in 0..2 {
        raw.send(&count_call(9, 0)).await.unwrap();
        recv_reply(&raw).await;
    }
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(server.udp_stats().reply_cache_hits(), 0);
}
