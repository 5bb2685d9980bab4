//! Hostile peers: each attack affects only its own connection, is
//! counted in the server's stats ([`Server::conn_stats`]), and does not
//! make the server's memory grow.
//!
//! Every test runs a server and, on another connection at the same time,
//! a well-behaved client whose calls must keep succeeding. Memory is the
//! process's resident set size (Linux `/proc/self/statm`) before and
//! after the attack; the tests share one process, so they take turns
//! (one lock) and the bounds leave room for allocator noise.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rpc_runtime::codegen::{handle, proc_unavail, BoxFuture};
use rpc_runtime::conn_limits::Limit;
use rpc_runtime::record::LAST_FRAGMENT_BIT;
use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
use rpc_runtime::{Client, Server, ServerBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xdr_codec::Opaque;

const PROG: u32 = 0x2000_0bad;
const VERS: u32 = 1;
/// Procedure 1: `opaque BYTES(unsigned int n)`, n zero bytes back.
const PROC_BYTES: u32 = 1;

/// The test program: NULL, and BYTES.
struct Bytes;

impl Dispatch for Bytes {
    fn program(&self) -> u32 {
        PROG
    }
    fn version(&self) -> u32 {
        VERS
    }
    fn dispatch(
        &self,
        _ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        match procedure {
            PROC_BYTES => handle(args, |n: u32| async move {
                Ok(Opaque::<{ u32::MAX }>::from(vec![
                    0u8;
                    n.min(1 << 20) as usize
                ]))
            }),
            _ => proc_unavail(),
        }
    }
}

/// One test at a time: they measure the process's memory.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Everything the crate logs, as text.
fn log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&sink)))
            .try_init();
        buf
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_len() -> usize {
    log().lock().unwrap().len()
}

fn log_since(mark: usize) -> String {
    String::from_utf8_lossy(&log().lock().unwrap()[mark..]).into_owned()
}

/// Waits up to 10 s for a log line containing `needle` after `mark`.
async fn expect_log(mark: usize, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log_since(mark).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no log line with {needle:?}; log:\n{}",
            log_since(mark)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits up to 10 s for `count` to reach `at_least`.
async fn expect_count(what: &str, count: impl Fn() -> u64, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count() < at_least {
        assert!(
            Instant::now() < deadline,
            "{what}: {} counted, expected at least {at_least}",
            count()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm resident pages");
    pages * 4096
}

struct Setup {
    _lock: tokio::sync::MutexGuard<'static, ()>,
    addr: std::net::SocketAddr,
    server: Server,
    good: Client,
}

async fn setup(builder: ServerBuilder) -> Setup {
    let lock = LOCK.lock().await;
    log();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder.register(Bytes).build();
    let serving = server.clone();
    tokio::spawn(async move { serving.serve_tcp(listener).await });
    let good = Client::connect_tcp(addr).await.unwrap();
    assert_good(&good).await;
    Setup {
        _lock: lock,
        addr,
        server,
        good,
    }
}

/// The well-behaved client still gets its answers.
async fn assert_good(good: &Client) {
    let got: Opaque = good.call(PROG, VERS, PROC_BYTES, &1000u32).await.unwrap();
    assert_eq!(got.len(), 1000);
}

/// A call record for BYTES(n), without record marking.
fn call_record(xid: u32, n: u32) -> Vec<u8> {
    let words = [xid, 0, 2, PROG, VERS, PROC_BYTES, 0, 0, 0, 0, n];
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn fragment(last: bool, body: &[u8]) -> Vec<u8> {
    let mut h = body.len() as u32;
    if last {
        h |= LAST_FRAGMENT_BIT;
    }
    let mut v = h.to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// Reads until the server closes the connection; fails after 10 s.
async fn expect_closed(stream: &mut TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => panic!("the server did not close the connection"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragment_header_announcing_2_gib() {
    let s = setup(Server::builder()).await;
    let before = rss_bytes();
    let mut attacker = TcpStream::connect(s.addr).await.unwrap();
    // 2 GiB - 1 in one last fragment, then 1 MiB of it.
    attacker
        .write_all(&(LAST_FRAGMENT_BIT | 0x7fff_ffff).to_be_bytes())
        .await
        .unwrap();
    let _ = attacker.write_all(&vec![0xAB; 1 << 20]).await;
    expect_closed(&mut attacker).await;
    let stats = s.server.conn_stats();
    expect_count(
        "records over the limit",
        || stats.limit_hits(Limit::RecordTooLarge),
        1,
    )
    .await;
    assert_good(&s.good).await;
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 16 << 20, "memory grew by {grown} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_stopping_midway() {
    let s = setup(
        Server::builder()
            .idle_timeout(Some(Duration::from_millis(500)))
            .record_timeout(Some(Duration::from_millis(300))),
    )
    .await;
    // Half of a 1000-byte fragment, then silence: closed when idle.
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    let frag = fragment(true, &[7u8; 1000]);
    idle.write_all(&frag[..504]).await.unwrap();
    // The same, then the peer closes its side: closed at once.
    let mut gone = TcpStream::connect(s.addr).await.unwrap();
    gone.write_all(&frag[..504]).await.unwrap();
    gone.shutdown().await.unwrap();
    assert_good(&s.good).await;
    expect_closed(&mut gone).await;
    let stats = s.server.conn_stats();
    expect_count(
        "streams ended inside a record",
        || stats.bad_record_streams(),
        1,
    )
    .await;
    expect_closed(&mut idle).await;
    expect_count(
        "record timeouts",
        || stats.limit_hits(Limit::RecordTimeout),
        1,
    )
    .await;
    // The well-behaved client idled too and was closed; a new one is served.
    let fresh = Client::connect_tcp(s.addr).await.unwrap();
    assert_good(&fresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes() {
    let s = setup(Server::builder()).await;
    let before = rss_bytes();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..20 {
        let junk: Vec<u8> = (0..64 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let mut attacker = TcpStream::connect(s.addr).await.unwrap();
        let _ = attacker.write_all(&junk).await;
        expect_closed(&mut attacker).await;
        assert_good(&s.good).await;
    }
    let stats = s.server.conn_stats();
    let closed = || {
        stats.limit_hits(Limit::RecordTooLarge)
            + stats.bad_record_streams()
            + stats.garbage_records()
    };
    expect_count("connections closed for junk", closed, 20).await;
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 16 << 20, "memory grew by {grown} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_record_with_garbage_call_body() {
    let s = setup(Server::builder()).await;
    // A CALL whose credentials announce a 4 GiB body.
    let mut body = call_record(1, 8);
    body[28..32].copy_from_slice(&u32::MAX.to_be_bytes());
    let mut attacker = TcpStream::connect(s.addr).await.unwrap();
    attacker.write_all(&fragment(true, &body)).await.unwrap();
    expect_closed(&mut attacker).await;
    let stats = s.server.conn_stats();
    expect_count("garbage records", || stats.garbage_records(), 1).await;
    // A message type that is neither CALL nor REPLY.
    let mut body = call_record(2, 8);
    body[4..8].copy_from_slice(&7u32.to_be_bytes());
    let mut attacker = TcpStream::connect(s.addr).await.unwrap();
    attacker.write_all(&fragment(true, &body)).await.unwrap();
    expect_closed(&mut attacker).await;
    expect_count("garbage records", || stats.garbage_records(), 2).await;
    // Arguments that do not decode: GARBAGE_ARGS, the connection lives on.
    let mut body = call_record(3, 8);
    body.truncate(body.len() - 2);
    let mut polite = TcpStream::connect(s.addr).await.unwrap();
    polite.write_all(&fragment(true, &body)).await.unwrap();
    let mut reply = vec![0u8; 4 + 24];
    polite.read_exact(&mut reply).await.unwrap();
    let words: Vec<u32> = reply
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(&words[1..], &[3, 1, 0, 0, 0, 4], "GARBAGE_ARGS for xid 3");
    polite
        .write_all(&fragment(true, &call_record(4, 3)))
        .await
        .unwrap();
    let mut second = vec![0u8; 4 + 24 + 4 + 4];
    polite.read_exact(&mut second).await.unwrap();
    assert_eq!(&second[4..8], &4u32.to_be_bytes(), "xid 4 answered");
    assert_good(&s.good).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections() {
    const IDLE: usize = 2000;
    let s = setup(
        Server::builder()
            .max_connections(4096)
            .idle_timeout(Some(Duration::from_secs(2))),
    )
    .await;
    let before = rss_bytes();
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(s.addr).await.unwrap());
    }
    // While they all sit there, others are served without delay (a new
    // client: opening them all may take longer than the idle timeout on
    // a loaded machine).
    let start = Instant::now();
    let fresh = Client::connect_tcp(s.addr).await.unwrap();
    for _ in 0..20 {
        assert_good(&fresh).await;
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "slow: {:?}",
        start.elapsed()
    );
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        grown < (64 << 20),
        "{IDLE} idle connections grew memory by {grown} bytes"
    );
    // The idle timeout closes every one of them, each counted.
    for c in &mut idle {
        expect_closed(c).await;
    }
    let closed = s.server.conn_stats().limit_hits(Limit::IdleTimeout);
    assert!(closed >= IDLE as u64, "{closed} idle closes counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_never_reads_replies() {
    let s = setup(
        Server::builder()
            .max_concurrent_calls(16)
            .max_unread_bytes(4 << 20, 256 << 20)
            .write_timeout(Some(Duration::from_secs(1))),
    )
    .await;
    let before = rss_bytes();
    let mut attacker = TcpStream::connect(s.addr).await.unwrap();
    let (mut rd, mut wr) = attacker.split();
    // Calls asking for 64 KiB each, never reading a reply: 64 MiB asked.
    let send = async {
        for xid in 0..1024u32 {
            if wr
                .write_all(&fragment(true, &call_record(xid, 64 * 1024)))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), send).await;
    let stats = s.server.conn_stats();
    expect_count(
        "write timeouts",
        || stats.limit_hits(Limit::WriteTimeout),
        1,
    )
    .await;
    assert!(
        stats.limit_hits(Limit::UnreadBytesPaused) >= 1,
        "reading paused at the cap"
    );
    // Meanwhile, and after, others are served.
    assert_good(&s.good).await;
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < (32 << 20), "memory grew by {grown} bytes");
    // What the server had written is still readable; then the end.
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rd.read(&mut buf)).await {
            Err(_) => panic!("the server did not close the connection"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => total += n,
        }
    }
    assert!(total < 64 << 20, "{total} bytes of replies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_datagrams() {
    let _lock = LOCK.lock().await;
    log();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(Server::builder().register(Bytes).serve_udp(socket));
    let good = Client::connect_udp(addr).await.unwrap();
    assert_good(&good).await;
    let mark = log_len();
    let before = rss_bytes();
    let attacker = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..2000u32 {
        let len = (i as usize * 37) % 1500;
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let _ = attacker.send_to(&junk, addr).await;
        if i % 200 == 0 {
            assert_good(&good).await;
        }
    }
    // A datagram that is a CALL with a garbage body, and one that is too
    // short to be a message at all.
    let mut body = call_record(9, 8);
    body[28..32].copy_from_slice(&u32::MAX.to_be_bytes());
    attacker.send_to(&body, addr).await.unwrap();
    attacker.send_to(&[1, 2, 3], addr).await.unwrap();
    expect_log(mark, "garbage datagram dropped").await;
    assert_good(&good).await;
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 16 << 20, "memory grew by {grown} bytes");
}
