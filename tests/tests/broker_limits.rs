//! The broker's limits on client connections, each driven past by a real
//! broker process: idle and half-record timeouts, eviction at
//! `max_connections`, the caps on unread reply bytes (backpressure, then
//! closing), the write timeout, and oversized records. Clients are plain
//! sockets speaking ONC RPC record marking by hand, so they can misbehave.

mod broker_support;
mod raw_rpc;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use broker_support::*;
use interop_tests::c_peer::Endpoint;
use raw_rpc::*;

/// Routes the datastore program to the broker's in-process datastore.
const BUILTIN_ROUTE: &str = "[backends.store]\naddress = \"builtin:datastore\"\n\n[[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"store\"\n";

/// The broker's TCP address.
fn tcp_addr(broker: &BrokerProcess) -> SocketAddr {
    match &broker.tcp {
        Endpoint::Tcp(a) => *a,
        Endpoint::Unix(_) => unreachable!("the broker's TCP listener"),
    }
}

/// `broker_client_limit_hits_total{limit="LIMIT"}` now.
fn hits(broker: &BrokerProcess, limit: &str) -> f64 {
    let (status, page) = http_get(broker.metrics, "/metrics");
    assert!(status.contains("200"), "{status}");
    sample(
        &page,
        &format!("broker_client_limit_hits_total{{limit=\"{limit}\"}}"),
    )
}

/// Waits (a loaded machine: up to 30 s) until `limit` has at least `n`
/// hits; the count.
fn wait_for_hits(broker: &BrokerProcess, limit: &str, n: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = hits(broker, limit);
        if h >= n || Instant::now() > deadline {
            return h;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (a loaded machine: up to 30 s) until the broker counts no client
/// connection: the probe that found it ready has been closed, so the
/// connections a test opens next are the only ones `max_connections`
/// counts.
fn wait_for_no_clients(broker: &BrokerProcess) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, page) = http_get(broker.metrics, "/metrics");
        if sample(&page, "broker_client_connections") == 0.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the readiness probe is still counted:\n{page}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Makes sure this process (and so the broker it starts) may open `need`
/// descriptors: raises the soft `RLIMIT_NOFILE` towards the hard limit
/// with `prlimit` when it is lower.
fn ensure_fd_limit(need: u64) {
    let soft_hard = || -> (u64, u64) {
        let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("the open files line");
        let mut v = line
            .split_whitespace()
            .skip(3)
            .map(|w| w.parse::<u64>().unwrap_or(u64::MAX));
        (v.next().unwrap_or(0), v.next().unwrap_or(0))
    };
    let (soft, hard) = soft_hard();
    if soft >= need {
        return;
    }
    let target = hard.min(need.max(8192));
    let status = Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={target}:{hard}"))
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit --nofile={target}:{hard}");
    let (soft, _) = soft_hard();
    assert!(
        soft >= need,
        "{need} descriptors needed, the hard limit allows {hard}"
    );
}

#[test]
fn idle_and_half_record_connections_are_closed_at_their_timeouts() {
    let broker = start_broker(&format!(
        "[limits]\nidle_timeout_ms = 1500\nrecord_timeout_ms = 1500\n\n{BUILTIN_ROUTE}"
    ));
    let addr = tcp_addr(&broker);
    // Half a fragment header, then nothing.
    idle_half_and_busy(addr, &[0x80, 0x00]);
    assert_eq!(wait_for_hits(&broker, "idle_timeout", 1.0), 1.0);
    assert_eq!(wait_for_hits(&broker, "record_timeout", 1.0), 1.0);
}

#[test]
fn at_max_connections_the_longest_idle_connection_is_evicted() {
    let broker = start_broker(&format!("[limits]\nmax_connections = 4\n\n{BUILTIN_ROUTE}"));
    wait_for_no_clients(&broker);
    let addr = tcp_addr(&broker);
    evicts_the_longest_idle(addr, 4);
    assert_eq!(hits(&broker, "max_connections_evicted"), 1.0);
    assert_eq!(hits(&broker, "max_connections_refused"), 0.0);
}

#[test]
fn at_max_connections_with_every_client_busy_a_new_one_is_refused() {
    // A backend that accepts and never answers keeps calls in flight.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("address");
    let _silent = thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().take(8) {
            held.push(s);
        }
        thread::sleep(Duration::from_secs(120));
    });
    let broker = start_broker(&format!(
        "[limits]\nmax_connections = 2\n\n[supervision]\nhealth_interval_ms = 600000\n\n[backends.store]\naddress = \"tcp://{silent_addr}\"\n\n[[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"store\"\n"
    ));
    wait_for_no_clients(&broker);
    let addr = tcp_addr(&broker);
    let mut busy: Vec<TcpStream> = (0..2).map(|_| connect(addr)).collect();
    for (i, c) in busy.iter_mut().enumerate() {
        c.write_all(&call_record(i as u32 + 1, DS_NULL, &[]))
            .expect("send a call that stays in flight");
    }
    // Both calls are read (in flight) before the next client comes.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, page) = http_get(broker.metrics, "/metrics");
        if sample(&page, "broker_calls_in_flight") >= 2.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the calls were not read:\n{page}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let mut refused = connect(addr);
    assert!(
        closed_within(&mut refused, Duration::from_secs(30)),
        "the new client is closed"
    );
    assert!(wait_for_hits(&broker, "max_connections_refused", 1.0) >= 1.0);
    assert_eq!(hits(&broker, "max_connections_evicted"), 0.0);
}

#[test]
fn an_oversized_record_is_logged_as_oversized() {
    let broker = start_broker(&format!(
        "[limits]\nmax_record_bytes = 1024\n\n{BUILTIN_ROUTE}"
    ));
    let mut c = connect(tcp_addr(&broker));
    c.write_all(&(0x8000_0000u32 | 4096).to_be_bytes())
        .expect("send a header");
    assert!(closed_within(&mut c, Duration::from_secs(30)), "closed");
    assert_eq!(wait_for_hits(&broker, "max_record_bytes", 1.0), 1.0);
    let log = broker.process.stop();
    assert!(
        log.contains("record over limits.max_record_bytes"),
        "the log says why:\n{log}"
    );
    assert!(!log.contains("not an RPC call stream"), "{log}");
}

/// Stores a `size`-byte object `key` through the broker.
fn put_object(addr: SocketAddr, key: &str, size: usize) {
    let mut c = connect(addr);
    let res = call(&mut c, 1, DS_PUT, &put_args(key, &vec![7u8; size])).expect("PUT answered");
    assert_eq!(word(&res, 0), 0, "DS_OK");
}

/// A `datastore-server` and a broker in front of it with `limits` (TOML
/// lines of `[limits]`), holding the 1 MiB object `one-mib`.
fn with_object(limits: &str) -> (DatastoreServer, BrokerProcess) {
    let backend = start_datastore_server();
    let broker = start_broker(&format!(
        "[limits]\n{limits}\n\n{}",
        datastore_route(&backend.endpoint)
    ));
    put_object(tcp_addr(&broker), "one-mib", 1 << 20);
    (backend, broker)
}

#[test]
fn a_client_that_does_not_read_is_paused_at_its_cap_then_closed_at_the_write_timeout() {
    let (_backend, broker) =
        with_object("max_unread_bytes_per_client = 2097152\nwrite_timeout_ms = 1500");
    let addr = tcp_addr(&broker);
    // One GET of 1 MiB at a time, never reading: the socket buffers fill,
    // then 2 MiB wait in the broker and it stops reading.
    // Sending stops when the broker has closed the connection.
    let mut slow = connect(addr);
    for xid in 1..=12u32 {
        let get = call_record(xid, DS_GET, &get_args("one-mib", 1 << 20));
        if slow.write_all(&get).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert!(wait_for_hits(&broker, "max_unread_bytes_paused", 1.0) >= 1.0);
    assert_eq!(wait_for_hits(&broker, "write_timeout", 1.0), 1.0);
    assert!(closed_within(&mut slow, Duration::from_secs(30)), "closed");
    assert_eq!(hits(&broker, "max_unread_bytes_closed"), 0.0);
    // A client that reads is served meanwhile and after.
    let mut other = connect(addr);
    let res = call(&mut other, 1, DS_GET, &get_args("one-mib", 1 << 20)).expect("GET");
    assert_eq!(word(&res, 0), 0, "DS_OK");
}

#[test]
fn replies_for_a_client_over_its_cap_close_it() {
    let (_backend, broker) = with_object("max_unread_bytes_per_client = 2097152");
    let addr = tcp_addr(&broker);
    // Sixteen 1 MiB GETs at once, read together: their replies outgrow
    // the cap.
    let mut greedy = connect(addr);
    let mut calls = Vec::new();
    for xid in 1..=16u32 {
        calls.extend(call_record(xid, DS_GET, &get_args("one-mib", 1 << 20)));
    }
    greedy.write_all(&calls).expect("send the GETs");
    assert!(wait_for_hits(&broker, "max_unread_bytes_closed", 1.0) >= 1.0);
    assert!(
        closed_within(&mut greedy, Duration::from_secs(30)),
        "closed"
    );
}

/// `VmRSS` and `VmHWM` (peak) of process `pid`, bytes.
fn rss_and_peak(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .expect(key)
            * 1024
    };
    (kib("VmRSS:"), kib("VmHWM:"))
}

#[test]
fn an_idle_and_slowloris_flood_does_not_lock_out_a_fresh_client() {
    ensure_fd_limit(4096);
    let broker = start_broker(BUILTIN_ROUTE);
    let addr = tcp_addr(&broker);
    let idle: Vec<TcpStream> = (0..1100).map(|_| connect(addr)).collect();
    let mut half: Vec<TcpStream> = (0..50).map(|_| connect(addr)).collect();
    for h in &mut half {
        // A fragment header and the start of an XID, then nothing.
        h.write_all(&[0x80, 0, 0, 40, 0, 0]).expect("half a record");
    }
    let start = Instant::now();
    let mut fresh = connect(addr);
    null_within(&mut fresh, 1, Duration::from_secs(2));
    // It keeps being answered while the flood stays open, and so does
    // another fresh client.
    let mut xid = 2;
    while start.elapsed() < Duration::from_secs(3) {
        null_within(&mut fresh, xid, Duration::from_secs(2));
        xid += 1;
        thread::sleep(Duration::from_millis(100));
    }
    let mut second = connect(addr);
    null_within(&mut second, 1, Duration::from_secs(2));
    null_within(&mut fresh, xid, Duration::from_secs(2));
    // 1,152 connections for 1,024 places: the longest idle made room.
    assert!(hits(&broker, "max_connections_evicted") >= 128.0);
    assert_eq!(hits(&broker, "max_connections_refused"), 0.0);
    drop((idle, half));
}

#[test]
fn an_idle_connection_costs_the_broker_under_4_kib() {
    const IDLE: u64 = 2000;
    ensure_fd_limit(4096);
    let broker = start_broker(&format!(
        "[limits]\nmax_connections = 4000\n\n{BUILTIN_ROUTE}"
    ));
    let addr = tcp_addr(&broker);
    let pid = broker.process.pid();
    // One connection served first: what every connection shares exists.
    let mut first = connect(addr);
    null_within(&mut first, 1, Duration::from_secs(10));
    thread::sleep(Duration::from_millis(300));
    let (before, _) = rss_and_peak(pid);
    let idle: Vec<TcpStream> = (0..IDLE).map(|_| connect(addr)).collect();
    // Every one accepted and served (waiting for its first byte).
    null_within(&mut first, 2, Duration::from_secs(10));
    thread::sleep(Duration::from_millis(500));
    let (after, _) = rss_and_peak(pid);
    let per_connection = after.saturating_sub(before) / IDLE;
    println!("{IDLE} idle connections: RSS {before} -> {after} bytes, {per_connection} bytes each");
    assert!(
        per_connection < 4096,
        "{per_connection} bytes per idle connection"
    );
    drop(idle);
}

#[test]
fn three_clients_that_never_read_4_mib_replies_keep_the_broker_small() {
    const CAP: u64 = 256 * 1024 * 1024;
    let backend = start_datastore_server();
    let broker = start_broker(&datastore_route(&backend.endpoint));
    let addr = tcp_addr(&broker);
    let pid = broker.process.pid();
    put_object(addr, "four-mib", 4 << 20);
    let run_for = Duration::from_secs(6);
    let start = Instant::now();
    let hogs: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(move || {
                let mut batch = Vec::new();
                for xid in 0..64u32 {
                    batch.extend(call_record(xid, DS_GET, &get_args("four-mib", 4 << 20)));
                }
                while start.elapsed() < run_for {
                    let mut s = connect(addr);
                    s.set_write_timeout(Some(Duration::from_millis(100)))
                        .expect("write timeout");
                    // Pipelines GETs until the broker closes the
                    // connection (or time is up); never reads.
                    let mut at = 0;
                    while start.elapsed() < run_for {
                        match s.write(&batch[at..]) {
                            Ok(n) => at = (at + n) % batch.len(),
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => break,
                        }
                    }
                }
            })
        })
        .collect();
    // Meanwhile another client is served normally, 4 MiB included.
    let mut other = connect(addr);
    let mut xid = 1;
    let mut max_rss = 0;
    while start.elapsed() < run_for {
        null_within(&mut other, xid, Duration::from_secs(2));
        xid += 1;
        if xid % 10 == 0 {
            let res = call(&mut other, xid, DS_GET, &get_args("four-mib", 4 << 20)).expect("GET");
            assert_eq!(word(&res, 0), 0, "DS_OK");
            xid += 1;
        }
        max_rss = max_rss.max(rss_and_peak(pid).0);
        thread::sleep(Duration::from_millis(50));
    }
    for h in hogs {
        h.join().expect("hog thread");
    }
    let (rss, peak) = rss_and_peak(pid);
    let mib = |b: u64| b / (1024 * 1024);
    println!(
        "broker RSS: {} MiB at the end, {} MiB sampled at most, {} MiB peak",
        mib(rss),
        mib(max_rss),
        mib(peak)
    );
    assert!(peak < CAP, "the broker's peak RSS {} MiB", mib(peak));
    assert!(
        hits(&broker, "max_unread_bytes_closed") + hits(&broker, "write_timeout") >= 3.0,
        "the clients that do not read were closed"
    );
}

/// Open descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn clients_that_close_with_a_reply_pending_are_released() {
    // A TCP client that sends a call and closes before its reply: the
    // reply is still written (a closed TCP peer takes it), and then the
    // connection must be released, not kept until the idle timeout.
    let (_backend, broker) = with_object("idle_timeout_ms = 600000");
    let addr = tcp_addr(&broker);
    let pid = broker.process.pid();
    let before = open_fds(pid);
    for i in 0..200 {
        let mut s = connect(addr);
        s.write_all(&call_record(i, DS_GET, &get_args("one-mib", 1 << 20)))
            .expect("send");
        drop(s);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = open_fds(pid);
        if now <= before + 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broker holds {now} descriptors, {before} before 200 clients came and went"
        );
        thread::sleep(Duration::from_millis(100));
    }
}
