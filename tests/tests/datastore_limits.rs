//! `rpc-runtime`'s `Server` limits on connections, each driven past by a
//! real `datastore-server` process (the same limits as the broker's, from
//! `rpc_runtime::conn_limits`): idle and half-record timeouts, eviction at
//! `--max-connections`, the caps on unread reply bytes (backpressure),
//! the write timeout, oversized records, and broken record streams
//! counted with one rate-limited log line. The counts are the line the
//! server logs of its stats when it stops (SIGTERM).

mod broker_support;
mod raw_rpc;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use broker_support::*;
use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};
use raw_rpc::*;

/// A `datastore-server` on a loopback TCP port, with `switches`.
struct Server {
    process: CServer,
    addr: SocketAddr,
}

fn start_server(switches: &[&str]) -> Server {
    let port = free_tcp_port().expect("a free port");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let endpoint = Endpoint::Tcp(addr);
    let mut cmd = Command::new(&bins().datastore_server);
    cmd.arg("--listen").arg(url(&endpoint)).args(switches);
    let process = CServer::spawn(cmd, endpoint).expect("start datastore-server");
    Server { process, addr }
}

impl Server {
    /// Stops the server with SIGTERM (it logs its stats on the way out)
    /// and returns its log.
    fn stop(self) -> String {
        let pid = self.process.pid();
        signal(pid, "-TERM");
        // Gone (or a zombie) once it has finished logging.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Ok(stat) if !stat.contains(") Z ") => thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        self.process.stop()
    }
}

/// The count `name=N` of the server's `connection limits:` stats line.
fn count(log: &str, name: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains("connection limits:"))
        .unwrap_or_else(|| panic!("no stats line in the log:\n{log}"));
    let key = format!(" {name}=");
    let at = line
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {line}"));
    line[at + key.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number for {name} in {line}"))
}

#[test]
fn idle_and_half_record_connections_are_closed_at_their_timeouts() {
    let server = start_server(&["--idle-timeout", "1.5", "--record-timeout", "1.5"]);
    // A fragment header and part of its record, then nothing.
    idle_half_and_busy(server.addr, &[0x80, 0x00, 0x00, 0x40, 1, 2]);
    let log = server.stop();
    assert_eq!(count(&log, "record_timeout"), 1, "{log}");
    // The idle client, and the busy one if the machine was slow enough
    // to leave it idle for 1.5 s at the end.
    assert!((1..=2).contains(&count(&log, "idle_timeout")), "{log}");
    assert_eq!(count(&log, "bad_record_streams"), 0, "{log}");
}

#[test]
fn at_max_connections_the_longest_idle_connection_is_evicted() {
    let server = start_server(&["--max-connections", "4"]);
    evicts_the_longest_idle(server.addr, 4);
    let log = server.stop();
    // The first client, and the readiness probe's connection if the
    // server had not yet seen it close when the clients came.
    assert!(
        (1..=2).contains(&count(&log, "max_connections_evicted")),
        "{log}"
    );
    assert_eq!(count(&log, "max_connections_refused"), 0, "{log}");
}

/// Stores a `size`-byte object `key`.
fn put_object(addr: SocketAddr, key: &str, size: usize) {
    let mut c = connect(addr);
    let res = call(&mut c, 1, DS_PUT, &put_args(key, &vec![7u8; size])).expect("PUT answered");
    assert_eq!(word(&res, 0), 0, "DS_OK");
}

/// Sends 1 MiB GETs of `one-mib` on `c` without reading, one every
/// 100 ms, `n` at most; stops when the server no longer takes them.
fn get_without_reading(c: &mut TcpStream, n: u32) {
    c.set_write_timeout(Some(Duration::from_secs(2)))
        .expect("write timeout");
    for xid in 1..=n {
        let get = call_record(xid, DS_GET, &get_args("one-mib", 1 << 20));
        if c.write_all(&get).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_client_that_does_not_read_is_paused_at_its_cap_then_closed_at_the_write_timeout() {
    let server = start_server(&[
        "--max-unread-bytes-per-connection",
        "2097152",
        "--write-timeout",
        "1.5",
    ]);
    put_object(server.addr, "one-mib", 1 << 20);
    // The socket buffers fill, then 2 MiB wait in the server and it stops
    // reading; 1.5 s later it closes the connection.
    let mut slow = connect(server.addr);
    get_without_reading(&mut slow, 24);
    assert!(closed_within(&mut slow, Duration::from_secs(30)), "closed");
    // A client that reads is served meanwhile and after.
    let mut other = connect(server.addr);
    let res = call(&mut other, 1, DS_GET, &get_args("one-mib", 1 << 20)).expect("GET");
    assert_eq!(word(&res, 0), 0, "DS_OK");
    drop(other);
    let log = server.stop();
    assert!(count(&log, "max_unread_bytes_paused") >= 1, "{log}");
    assert_eq!(count(&log, "write_timeout"), 1, "{log}");
}

#[test]
fn the_total_cap_on_unread_bytes_pauses_every_client_with_replies_waiting() {
    let server = start_server(&["--max-unread-bytes", "2097152", "--write-timeout", "1.5"]);
    put_object(server.addr, "one-mib", 1 << 20);
    let mut a = connect(server.addr);
    let mut b = connect(server.addr);
    let other = thread::spawn(move || {
        get_without_reading(&mut b, 24);
        closed_within(&mut b, Duration::from_secs(30))
    });
    get_without_reading(&mut a, 24);
    assert!(closed_within(&mut a, Duration::from_secs(30)), "closed");
    assert!(other.join().expect("second client"), "closed");
    let log = server.stop();
    assert!(count(&log, "max_unread_bytes_paused") >= 1, "{log}");
    assert_eq!(count(&log, "write_timeout"), 2, "{log}");
}

#[test]
fn with_every_connection_busy_a_new_one_is_refused() {
    let server = start_server(&["--max-connections", "2", "--write-timeout", "60"]);
    put_object(server.addr, "one-mib", 1 << 20);
    // Two clients with replies waiting for them to read: busy.
    let mut busy: Vec<TcpStream> = (0..2).map(|_| connect(server.addr)).collect();
    for c in &mut busy {
        get_without_reading(c, 24);
    }
    let mut refused = connect(server.addr);
    assert!(
        closed_within(&mut refused, Duration::from_secs(30)),
        "the new client is closed"
    );
    // The busy clients are still connected: their replies arrive. (The
    // readiness probe's and the PUT's connections may not have been
    // reaped yet when the busy clients came, and were evicted then.)
    for c in &mut busy {
        c.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let mut buf = [0u8; 4096];
        let n = c.read(&mut buf).expect("a busy client is not closed");
        assert!(n > 0, "a busy client was closed");
    }
    drop(busy);
    let log = server.stop();
    assert!(count(&log, "max_connections_refused") >= 1, "{log}");
    assert!(count(&log, "max_connections_evicted") <= 2, "{log}");
}

#[test]
fn an_oversized_record_closes_its_connection() {
    let server = start_server(&[]);
    let mut c = connect(server.addr);
    c.write_all(&(0x8000_0000u32 | 0x7fff_0000).to_be_bytes())
        .expect("send a header");
    assert!(closed_within(&mut c, Duration::from_secs(30)), "closed");
    let mut good = connect(server.addr);
    null_within(&mut good, 1, Duration::from_secs(10));
    drop(good);
    let log = server.stop();
    assert_eq!(count(&log, "max_record_bytes"), 1, "{log}");
    assert!(
        log.contains("record over the limit"),
        "the log says why:\n{log}"
    );
}

#[test]
fn peer_resets_are_counted_and_logged_once_per_interval() {
    const RESETS: usize = 20;
    let server = start_server(&[]);
    // Only for tokio's `set_linger`.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a runtime");
    let start = Instant::now();
    for _ in 0..RESETS {
        let mut c = connect(server.addr);
        // Part of a record, then a reset (SO_LINGER 0).
        c.write_all(&[0x80, 0x00, 0x00, 0x40, 1, 2])
            .expect("send part of a record");
        thread::sleep(Duration::from_millis(20));
        c.set_nonblocking(true).expect("non-blocking");
        rt.block_on(async {
            let c = tokio::net::TcpStream::from_std(c).expect("a tokio stream");
            c.set_zero_linger().expect("SO_LINGER");
        });
    }
    let mut good = connect(server.addr);
    null_within(&mut good, 1, Duration::from_secs(10));
    drop(good);
    let elapsed = start.elapsed();
    let log = server.stop();
    assert_eq!(count(&log, "bad_record_streams"), RESETS as u64, "{log}");
    // One line per 10 s interval at most.
    let lines = log.matches("bad record stream").count();
    let intervals = 1 + elapsed.as_secs() / 10;
    assert!(
        (1..=intervals as usize).contains(&lines),
        "{lines} lines in {elapsed:?}:\n{log}"
    );
}
