//! Client features: the in-flight limit (backpressure), reconnecting and
//! the blocking client.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use rpc_runtime::{blocking, Client, ReconnectPolicy, RpcError};
use support::*;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_makes_calls_wait_not_fail() {
    let addr = start_tcp().await;
    let client = Client::builder()
        .max_in_flight(2)
        .connect_tcp(addr)
        .await
        .unwrap();
    assert_eq!(client.max_in_flight(), 2);
    let c = TestprogV1Client::new(client);
    let most = Arc::new(Mutex::new(0usize));
    let watcher = {
        let (c, most) = (c.clone(), most.clone());
        tokio::spawn(async move {
            loop {
                let n = c.inner().pending_calls();
                {
                    let mut m = most.lock().unwrap();
                    *m = (*m).max(n);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let start = Instant::now();
    let calls = (0..6u32).map(|i| {
        let c = c.clone();
        async move { c.sleep(&200, &i).await }
    });
    let results = join_all(calls).await;
    let elapsed = start.elapsed();
    watcher.abort();
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap(), i as u32);
    }
    // Three waves of two 200 ms calls; without the limit, one wave.
    assert!(elapsed >= Duration::from_millis(590), "took {elapsed:?}");
    assert_eq!(*most.lock().unwrap(), 2, "calls in flight beyond the limit");
}

#[tokio::test]
async fn waiting_for_a_slot_counts_against_the_timeout() {
    let addr = start_tcp().await;
    let client = Client::builder()
        .max_in_flight(1)
        .timeout(Duration::from_millis(300))
        .connect_tcp(addr)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    let (a, b) = tokio::join!(c.sleep(&1000, &1), c.echo(&2));
    assert!(matches!(a, Err(RpcError::Timeout)), "{a:?}");
    assert!(matches!(b, Err(RpcError::Timeout)), "{b:?}");
    // The slot is free again.
    assert_eq!(c.echo(&3).await.unwrap(), 3);
}

/// Serves every accepted TCP connection with the test server, keeping
/// each connection's task so a test can cut it.
struct Killable {
    addr: std::net::SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl Killable {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let conns = conns.clone();
            tokio::spawn(async move {
                let server = test_server();
                loop {
                    let (s, peer) = listener.accept().await.unwrap();
                    let server = server.clone();
                    let task = tokio::spawn(async move {
                        let peer = rpc_runtime::server::PeerAddr::Tcp(peer);
                        let _ = server.serve_connection(s, peer).await;
                    });
                    conns.lock().unwrap().push(task);
                }
            })
        };
        Killable {
            addr,
            conns,
            acceptor,
        }
    }

    fn accepted(&self) -> usize {
        self.conns.lock().unwrap().len()
    }

    /// Closes every connection (their tasks drop the sockets).
    fn kill_connections(&self) {
        for t in self.conns.lock().unwrap().iter() {
            t.abort();
        }
    }
}

fn fast_reconnect() -> ReconnectPolicy {
    ReconnectPolicy {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_attempts: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_reconnect_fails_pending_calls_and_serves_later_ones() {
    let server = Killable::start().await;
    let client = Client::builder()
        .reconnect(fast_reconnect())
        .connect_tcp(server.addr)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    assert_eq!(c.echo(&1).await.unwrap(), 1);
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.sleep(&5000, &2).await }
    });
    eventually("call pending", || c.inner().pending_calls() == 1).await;
    server.kill_connections();
    let e = pending.await.unwrap().unwrap_err();
    assert!(matches!(e, RpcError::Transport(_)), "{e:?}");
    // Later calls go out on a new connection.
    assert_eq!(c.echo(&3).await.unwrap(), 3);
    assert_eq!(server.accepted(), 2);
    assert!(!c.inner().is_closed());
    // And again. A call made before the client notices the loss fails
    // like a pending one; once it has reconnected, calls succeed.
    server.kill_connections();
    eventually("reconnected", || server.accepted() == 3).await;
    assert_eq!(c.echo(&4).await.unwrap(), 4);
}

#[tokio::test]
async fn without_reconnect_a_lost_connection_closes_the_client() {
    let server = Killable::start().await;
    let c = TestprogV1Client::new(Client::connect_tcp(server.addr).await.unwrap());
    assert_eq!(c.echo(&1).await.unwrap(), 1);
    server.kill_connections();
    eventually("client closed", || c.inner().is_closed()).await;
    assert!(matches!(c.echo(&2).await, Err(RpcError::Transport(_))));
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn reconnect_gives_up_after_max_attempts() {
    let server = Killable::start().await;
    let client = Client::builder()
        .reconnect(ReconnectPolicy {
            max_attempts: Some(3),
            ..fast_reconnect()
        })
        .connect_tcp(server.addr)
        .await
        .unwrap();
    assert_eq!(
        client.call::<_, u32>(TESTPROG, 1, 1, &9u32).await.unwrap(),
        9
    );
    // No server any more: every attempt is refused.
    server.kill_connections();
    server.acceptor.abort();
    let _ = server.acceptor.await;
    eventually("client gave up", || client.is_closed()).await;
    let e = client.call::<_, ()>(TESTPROG, 1, 0, &()).await.unwrap_err();
    match e {
        RpcError::Transport(e) => assert!(e.to_string().contains("gave up"), "{e}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn unix_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rpc.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    {
        let conns = conns.clone();
        tokio::spawn(async move {
            let server = test_server();
            loop {
                let (s, _) = listener.accept().await.unwrap();
                let server = server.clone();
                conns.lock().unwrap().push(tokio::spawn(async move {
                    let peer = rpc_runtime::server::PeerAddr::Unix(None);
                    let _ = server.serve_connection(s, peer).await;
                }));
            }
        });
    }
    let client = Client::builder()
        .reconnect(fast_reconnect())
        .connect_unix(&path)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    assert_eq!(c.echo(&1).await.unwrap(), 1);
    for t in conns.lock().unwrap().iter() {
        t.abort();
    }
    eventually("reconnected", || conns.lock().unwrap().len() == 2).await;
    assert_eq!(c.echo(&2).await.unwrap(), 2);
    assert_eq!(conns.lock().unwrap().len(), 2);
}

/// A runtime for the server side of the blocking tests, separate from
/// the client's.
fn server_runtime() -> (
    tokio::runtime::Runtime,
    std::net::SocketAddr,
    std::net::SocketAddr,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tcp, udp) = rt.block_on(async {
        let tcp = start_tcp().await;
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let udp = socket.local_addr().unwrap();
        tokio::spawn(async move { test_server().serve_udp(socket).await });
        (tcp, udp)
    });
    (rt, tcp, udp)
}

#[test]
fn blocking_client_calls_directly_and_through_a_generated_client() {
    let (_server, tcp, udp) = server_runtime();
    let client = blocking::Client::connect_tcp(tcp).unwrap();
    let echoed: u32 = client.call(TESTPROG, 1, TESTPROC_ECHO, &41u32).unwrap();
    assert_eq!(echoed, 41);
    // The generated client, used through block_on.
    let generated = TestprogV1Client::new(client.inner().clone());
    assert_eq!(client.block_on(generated.echo(&42)).unwrap(), 42);
    assert!(matches!(
        client.block_on(generated.fail()),
        Err(RpcError::SystemErr)
    ));
    // Clones from several threads share the one connection.
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                for i in 0..25u32 {
                    let v = t * 100 + i;
                    let r: u32 = client.call(TESTPROG, 1, TESTPROC_ECHO, &v).unwrap();
                    assert_eq!(r, v);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // A timeout on a blocking handle.
    let short = client.with_timeout(Duration::from_millis(50));
    let e = short
        .call::<_, u32>(TESTPROG, 1, TESTPROC_SLEEP, &(500u32, 1u32))
        .unwrap_err();
    assert!(matches!(e, RpcError::Timeout), "{e:?}");
    // UDP, with settings from the builder.
    let client = blocking::Client::connect(|| {
        Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_udp(udp)
    })
    .unwrap();
    let r: u32 = client.call(TESTPROG, 1, TESTPROC_ECHO, &7u32).unwrap();
    assert_eq!(r, 7);
}

#[test]
fn blocking_connect_failure_is_a_transport_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The listener is dropped: nothing listens there now.
    let e = blocking::Client::connect_tcp(port).unwrap_err();
    assert!(matches!(e, RpcError::Transport(_)), "{e:?}");
}
