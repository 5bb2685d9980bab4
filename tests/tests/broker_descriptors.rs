//! A real broker started under `ulimit -n 256` with more client
//! connections than its descriptors allow: new clients take the place of
//! idle ones (or are refused, their connection closed), never left hanging; `broker ctl`
//! and `/metrics` keep answering thanks to the descriptors kept in
//! reserve; when the process runs out of descriptors all the same, it
//! refuses waiting connections and pauses accepting; its log holds a few
//! lines, not one per connection.

mod broker_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use broker_support::*;
use interop_tests::c_peer::Endpoint;

/// The descriptor limit the broker runs under.
const NOFILE: u32 = 256;

/// Client connections opened: well past the limit.
const CLIENTS: usize = 400;

/// Longer than this without an answer or a close is a hang.
const HANG: Duration = Duration::from_secs(20);

/// The broker binary under `sh -c 'ulimit -n 256; exec broker ...'`
/// (hard and soft limit both 256: it cannot raise them).
fn under_ulimit(broker: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {NOFILE} && exec \"$0\" \"$@\""))
        .arg(broker);
    cmd
}

fn builtin_datastore(limits: &str) -> String {
    format!(
        "[limits]\n{limits}\n\n[backends.ds]\naddress = \"builtin:datastore\"\n\n\
         [[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"ds\"\n"
    )
}

/// A NULL call (datastore program, version 1) as one record.
fn null_call(xid: u32) -> Vec<u8> {
    let words = [0x8000_0028, xid, 0, 2, 0x2000_DA7A, 1, 0, 0, 0, 0, 0];
    words.iter().flat_map(|w: &u32| w.to_be_bytes()).collect()
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// A reply record came back.
    Answered,
    /// The connection was refused, closed or reset.
    Closed,
    /// Nothing within [`HANG`].
    Hung,
}

/// A fresh client's NULL call.
fn fresh_call(addr: SocketAddr) -> Outcome {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, HANG) else {
        return Outcome::Closed;
    };
    s.set_read_timeout(Some(HANG)).expect("read timeout");
    if s.write_all(&null_call(7)).is_err() {
        return Outcome::Closed;
    }
    let mut header = [0u8; 8];
    match s.read_exact(&mut header) {
        Ok(()) if header[4..] == 7u32.to_be_bytes() => Outcome::Answered,
        Ok(()) => panic!("a reply with another XID: {header:?}"),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Outcome::Hung
        }
        Err(_) => Outcome::Closed,
    }
}

/// Opens `n` client connections that send nothing (refused ones are
/// kept too: the point is to hold descriptors).
fn idle_clients(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| TcpStream::connect_timeout(&addr, HANG).ok())
        .collect()
}

fn tcp_addr(broker: &BrokerProcess) -> SocketAddr {
    match &broker.tcp {
        Endpoint::Tcp(a) => *a,
        Endpoint::Unix(p) => panic!("not TCP: {}", p.display()),
    }
}

/// Polls `f` until it returns true or `within` passes.
fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn warn_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("WARN")).collect()
}

#[test]
fn clients_past_the_descriptor_limit_evict_idle_ones_while_ctl_and_metrics_answer() {
    let broker = start_broker_with(
        &builtin_datastore("max_connections = 1024\nreserved_fds = 64"),
        under_ulimit,
    );
    let addr = tcp_addr(&broker);
    assert_eq!(fresh_call(addr), Outcome::Answered);

    let clients = idle_clients(addr, CLIENTS);
    // Past the capacity (256 - 64 = 192 connections) each new connection
    // takes the place of the one idle the longest: a fresh client is
    // answered, and the broker never holds more than 192.
    assert_eq!(fresh_call(addr), Outcome::Answered);
    let status = ctl_ok(&broker, &["status"]);
    assert!(status.contains("listeners:"), "{status}");
    let (http, page) = http_get(broker.metrics, "/metrics");
    assert!(http.contains("200"), "{http}");
    let evicted = r#"broker_client_limit_hits_total{limit="max_connections_evicted"}"#;
    assert!(
        sample(&page, evicted) >= (CLIENTS - 192) as f64,
        "{evicted}:\n{page}"
    );
    assert!(
        sample(&page, "broker_client_connections") <= 192.0,
        "{page}"
    );
    // Evicting never ran the process out of descriptors.
    let emfile = r#"broker_accept_errors_total{reason="out_of_descriptors"}"#;
    assert_eq!(sample(&page, emfile), 0.0, "{emfile}:\n{page}");

    // Once clients leave, fresh ones are answered again.
    drop(clients);
    assert!(eventually(HANG, || fresh_call(addr) == Outcome::Answered));
    let log = broker.process.stop();
    assert!(
        log.contains("limits.max_connections does not fit in the file descriptor limit"),
        "{log}"
    );
    assert!(log.contains("client_capacity=192"), "{log}");
    let warns = warn_lines(&log);
    assert!(warns.len() <= 10, "{} warnings:\n{log}", warns.len());
}

#[test]
fn out_of_descriptors_the_broker_refuses_waiting_clients_and_pauses_without_flooding_the_log() {
    // A reserve too small for what the process uses beside its clients:
    // accept runs into EMFILE.
    let broker = start_broker_with(
        &builtin_datastore("max_connections = 1024\nreserved_fds = 16"),
        under_ulimit,
    );
    let addr = tcp_addr(&broker);
    let clients = idle_clients(addr, CLIENTS);
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        outcomes.push(fresh_call(addr));
    }
    assert!(outcomes.iter().all(|o| *o != Outcome::Hung), "{outcomes:?}");
    assert!(started.elapsed() < HANG, "{:?}", started.elapsed());
    let mut broker = broker;
    broker.process.check_running().expect("the broker runs on");

    drop(clients);
    assert!(eventually(HANG, || fresh_call(addr) == Outcome::Answered));
    let status = ctl_ok(&broker, &["status"]);
    assert!(status.contains("listeners:"), "{status}");
    let (_, page) = http_get(broker.metrics, "/metrics");
    let emfile = r#"broker_accept_errors_total{reason="out_of_descriptors"}"#;
    assert!(sample(&page, emfile) >= 1.0, "{emfile}:\n{page}");
    let log = broker.process.stop();
    assert!(log.contains("out of file descriptors"), "{log}");
    let warns = warn_lines(&log);
    assert!(warns.len() <= 10, "{} warnings:\n{log}", warns.len());
}
