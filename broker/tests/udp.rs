//! The broker's UDP listener, in process, in front of an `rpc_runtime`
//! server that counts the calls it runs: retransmissions are forwarded
//! once and answered again from the reply cache; a reply larger than a
//! datagram is answered SYSTEM_ERR, as a libtirpc UDP server answers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use broker::config::Config;
use broker::{Broker, BrokerHandle};
use rpc_runtime::codegen::{handle, proc_unavail, BoxFuture};
use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
use rpc_runtime::{Client, RpcError, Server};
use tokio::net::UdpSocket;
use xdr_codec::Opaque;

const PROG: u32 = 0x3000_0002;

/// How long a test waits for a datagram that should come.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Program PROG version 1: procedure 1 `(tag, delay_ms)` sleeps, then
/// returns `(calls run so far, tag)`; procedure 2 `n` returns `n` bytes
/// of opaque data.
struct Counter(Arc<Runs>);

/// What the backend saw: calls run, and the most running at once.
#[derive(Default)]
struct Runs {
    total: AtomicU32,
    running: AtomicU32,
    most: AtomicU32,
}

impl Dispatch for Counter {
    fn program(&self) -> u32 {
        PROG
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        _ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        let runs = Arc::clone(&self.0);
        match procedure {
            1 => handle(args, move |(tag, ms): (u32, u32)| async move {
                let n = runs.total.fetch_add(1, Ordering::SeqCst) + 1;
                let now = runs.running.fetch_add(1, Ordering::SeqCst) + 1;
                runs.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                runs.running.fetch_sub(1, Ordering::SeqCst);
                Ok((n, tag))
            }),
            2 => handle(args, |n: u32| async move {
                Ok(Opaque::<{ u32::MAX }>::from(vec![0xA5u8; n as usize]))
            }),
            _ => proc_unavail(),
        }
    }
}

struct Setup {
    udp: SocketAddr,
    runs: Arc<Runs>,
    handle: BrokerHandle,
    _dir: tempfile::TempDir,
}

/// A backend on a Unix socket and a broker with a UDP listener in front,
/// with `udp` as its `[udp]` table.
async fn setup(udp: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let backend_path = dir.path().join("backend.sock");
    let runs = Arc::new(Runs::default());
    let server = Server::builder()
        .register(Counter(Arc::clone(&runs)))
        .build();
    let listener = tokio::net::UnixListener::bind(&backend_path).unwrap();
    tokio::spawn(async move { server.serve_unix(listener).await });
    let config = Config::from_toml(&format!(
        r#"
        listen = ["udp://127.0.0.1:0"]
        [backends.counter]
        address = "unix://{}"
        [[routes]]
        program = {PROG}
        versions = [1]
        backend = "counter"
        timeout_ms = 5000
        [udp]
        {udp}
        "#,
        backend_path.display()
    ))
    .unwrap();
    let broker = Broker::bind(&config).await.unwrap();
    let udp = broker.udp_addresses()[0];
    let handle = broker.handle();
    tokio::spawn(broker.run(std::future::pending()));
    Setup {
        udp,
        runs,
        handle,
        _dir: dir,
    }
}

/// A call message (RFC 5531 section 9) to PROG version 1 with AUTH_NONE
/// and the argument words `args`.
fn call(xid: u32, procedure: u32, args: &[u32]) -> Vec<u8> {
    [xid, 0, 2, PROG, 1, procedure, 0, 0, 0, 0]
        .iter()
        .chain(args)
        .flat_map(|w| w.to_be_bytes())
        .collect()
}

fn words(datagram: &[u8]) -> Vec<u32> {
    datagram
        .chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

async fn recv(socket: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 70_000];
    let n = tokio::time::timeout(REPLY_TIMEOUT, socket.recv(&mut buf))
        .await
        .expect("a reply in time")
        .unwrap();
    buf.truncate(n);
    buf
}

/// The value of a metric line `name value` of the broker's metrics.
async fn metric(handle: &BrokerHandle, name: &str) -> f64 {
    let text = handle.render_metrics().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retransmission_is_forwarded_once_and_answered_from_the_cache() {
    let s = setup("").await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(s.udp).await.unwrap();

    // The call takes 300 ms at the backend; its retransmission arrives
    // while it is in flight and is not forwarded.
    let first = call(77, 1, &[5, 300]);
    socket.send(&first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    socket.send(&first).await.unwrap();
    let reply = recv(&socket).await;
    // xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS, (runs, tag)
    assert_eq!(words(&reply), [77, 1, 0, 0, 0, 0, 1, 5]);
    assert_eq!(s.runs.total.load(Ordering::SeqCst), 1);

    // Retransmitted after the answer: the same reply, from the cache.
    socket.send(&first).await.unwrap();
    assert_eq!(recv(&socket).await, reply);
    assert_eq!(s.runs.total.load(Ordering::SeqCst), 1, "forwarded once");
    // No other datagram is on its way (the in-flight duplicate got none).
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf))
            .await
            .is_err(),
        "a second reply to the call"
    );
    assert_eq!(
        metric(&s.handle, "broker_udp_reply_cache_hits_total").await,
        1.0
    );
    assert_eq!(
        metric(&s.handle, "broker_udp_retransmits_in_flight_total").await,
        1.0
    );

    // The same XID with other arguments is another call: forwarded.
    socket.send(&call(77, 1, &[6, 0])).await.unwrap();
    assert_eq!(words(&recv(&socket).await), [77, 1, 0, 0, 0, 0, 2, 6]);
    // Another client address with the same XID and bytes: its own call.
    let other = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    other.connect(s.udp).await.unwrap();
    other.send(&first).await.unwrap();
    assert_eq!(words(&recv(&other).await), [77, 1, 0, 0, 0, 0, 3, 5]);
    assert_eq!(s.runs.total.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_larger_than_a_datagram_is_answered_system_err() {
    let s = setup("").await;
    let client = Client::connect_udp(s.udp).await.unwrap();
    // 8,000 bytes of results fit the default 8,800-byte datagram.
    let small: Opaque = client.call(PROG, 1, 2, &8000u32).await.unwrap();
    assert_eq!(small.bytes().len(), 8000);
    // 9,000 do not: SYSTEM_ERR, as from a libtirpc UDP server.
    let big = client.call::<u32, Opaque>(PROG, 1, 2, &9000u32).await;
    assert!(
        matches!(big, Err(RpcError::SystemErr)),
        "oversized reply: {big:?}"
    );
    assert_eq!(
        metric(&s.handle, "broker_udp_replies_too_large_total").await,
        1.0
    );
    // The raw reply: xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier,
    // SYSTEM_ERR (5).
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(s.udp).await.unwrap();
    socket.send(&call(9, 2, &[60_000])).await.unwrap();
    assert_eq!(words(&recv(&socket).await), [9, 1, 0, 0, 0, 5]);
    assert_eq!(
        metric(&s.handle, "broker_udp_replies_too_large_total").await,
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagrams_that_are_not_calls_are_dropped_and_counted() {
    let s = setup("").await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(s.udp).await.unwrap();
    socket.send(&[1, 2, 3]).await.unwrap();
    // A REPLY where a call belongs.
    socket
        .send(&words_to_bytes(&[5, 1, 0, 0, 0, 0]))
        .await
        .unwrap();
    // Larger than udp.max_datagram_bytes (8,800 by default).
    let mut huge = call(6, 1, &[1, 0]);
    huge.resize(9000, 0);
    socket.send(&huge).await.unwrap();
    // The listener still serves.
    socket.send(&call(7, 1, &[1, 0])).await.unwrap();
    assert_eq!(words(&recv(&socket).await), [7, 1, 0, 0, 0, 0, 1, 1]);
    assert_eq!(
        metric(&s.handle, "broker_udp_datagrams_dropped_total").await,
        3.0
    );
}

fn words_to_bytes(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|w| w.to_be_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_max_in_flight_udp_calls_wait_in_the_socket_buffer() {
    let s = setup("max_in_flight = 2").await;
    // Six clients call at once; each call takes 300 ms at the backend.
    let sockets: Vec<UdpSocket> = futures::future::join_all((0..6).map(|_| async {
        let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        u.connect(s.udp).await.unwrap();
        u
    }))
    .await;
    for (i, u) in (0u32..).zip(&sockets) {
        u.send(&call(100 + i, 1, &[i, 300])).await.unwrap();
    }
    // Every call is answered, never more than two at the backend at once.
    for (i, u) in (0u32..).zip(&sockets) {
        let w = words(&recv(u).await);
        assert_eq!((w[0], w[7]), (100 + i, i), "{w:?}");
    }
    assert_eq!(s.runs.total.load(Ordering::SeqCst), 6);
    let most = s.runs.most.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&most),
        "{most} calls at the backend at once"
    );
    assert!(metric(&s.handle, "broker_udp_in_flight_full_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_cache_keeps_at_most_its_entries() {
    let s = setup("reply_cache_entries = 1").await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(s.udp).await.unwrap();
    let (a, b) = (call(1, 1, &[1, 0]), call(2, 1, &[2, 0]));
    socket.send(&a).await.unwrap();
    recv(&socket).await;
    socket.send(&b).await.unwrap();
    recv(&socket).await;
    // B's reply pushed A's out: A runs again.
    socket.send(&a).await.unwrap();
    assert_eq!(words(&recv(&socket).await), [1, 1, 0, 0, 0, 0, 3, 1]);
    assert_eq!(s.runs.total.load(Ordering::SeqCst), 3);
    socket.send(&a).await.unwrap();
    assert_eq!(words(&recv(&socket).await), [1, 1, 0, 0, 0, 0, 3, 1]);
    assert_eq!(
        s.runs.total.load(Ordering::SeqCst),
        3,
        "A's new reply is kept"
    );
    assert_eq!(
        metric(&s.handle, "broker_udp_reply_cache_hits_total").await,
        1.0
    );
}
