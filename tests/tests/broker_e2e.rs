//! The broker end to end, with real processes: the `broker` binary, a
//! `datastore-server` (Rust) or the C `rpcgen` datastore server as the
//! backend, and C `rpcgen` clients (`tests/c/datastore_client.c`) that
//! check every reply.

mod broker_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use broker_support::*;
use interop_tests::c_peer::Endpoint;

/// Runs `clients` C clients at once, alternating TCP and Unix through the
/// broker, all starting at the same XID (so the broker must rewrite XIDs
/// on the shared backend connection), and checks each succeeded.
fn concurrent_clients(broker: &BrokerProcess, clients: usize, iterations: &str, size: &str) {
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            let endpoint = if i % 2 == 0 {
                broker.tcp.clone()
            } else {
                broker.unix.clone()
            };
            let id = (i + 1).to_string();
            let iterations = iterations.to_owned();
            let size = size.to_owned();
            thread::spawn(move || {
                let out = run_client(
                    &["-i", &id, "-x", "5000", "-n", &iterations, "-s", &size],
                    &endpoint,
                );
                (id, endpoint, out)
            })
        })
        .collect();
    for h in handles {
        let (id, endpoint, out) = h.join().expect("client thread");
        assert_ok(&out, &format!("client {id} over {endpoint}"));
    }
}

#[test]
fn c_clients_share_one_rust_backend_over_tcp_and_unix() {
    let backend = start_datastore_server();
    let mut broker = start_broker(&datastore_route(&backend.endpoint));
    concurrent_clients(&broker, 4, "40", "3000");
    // Large records: 1 MiB values, several fragments from libtirpc.
    concurrent_clients(&broker, 2, "2", "1048576");
    broker
        .process
        .check_running()
        .expect("broker still running");
}

#[test]
fn c_clients_through_broker_to_c_server() {
    let backend = start_c_server();
    let endpoint = backend.endpoint().clone();
    let broker = start_broker(&datastore_route(&endpoint));
    concurrent_clients(&broker, 3, "30", "700");
}

#[test]
fn unknown_program_gets_prog_unavail_from_the_broker() {
    let backend = start_datastore_server();
    let broker = start_broker(&datastore_route(&backend.endpoint));
    for e in [&broker.tcp, &broker.unix] {
        let out = run_client(&["-m", "unknown-program"], e);
        assert_ok(&out, "unknown program");
        assert!(String::from_utf8_lossy(&out.stdout).contains("PROG_UNAVAIL"));
    }
}

#[test]
fn unrouted_version_gets_prog_mismatch_from_the_broker() {
    let backend = start_datastore_server();
    let broker = start_broker(&datastore_route(&backend.endpoint));
    let out = run_client(&["-m", "bad-version"], &broker.tcp);
    assert_ok(&out, "bad version");
    assert!(String::from_utf8_lossy(&out.stdout).contains("PROG_MISMATCH 1 1"));
}

/// Reads until the peer closes the connection or `timeout` passes;
/// true when it closed.
fn closed_by_peer(mut s: impl Read, what: &str) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(e) => panic!("{what}: expected the broker to close the connection, got {e}"),
        }
    }
}

#[test]
fn garbage_clients_are_cut_off_while_others_carry_on() {
    let backend = start_datastore_server();
    let mut broker = start_broker(&format!(
        "[limits]\nmax_record_bytes = 65536\n{}",
        datastore_route(&backend.endpoint)
    ));
    let tcp_addr = match &broker.tcp {
        Endpoint::Tcp(a) => *a,
        Endpoint::Unix(_) => unreachable!(),
    };
    let unix_path = match &broker.unix {
        Endpoint::Unix(p) => p.clone(),
        Endpoint::Tcp(_) => unreachable!(),
    };

    // A well-behaved client runs throughout.
    let good = {
        let e = broker.unix.clone();
        thread::spawn(move || run_client(&["-i", "1", "-n", "150", "-s", "500"], &e))
    };

    let timeout = Some(Duration::from_secs(10));
    // 1. A fragment header announcing 1 GiB: over the record limit.
    let mut s = TcpStream::connect(tcp_addr).expect("connect");
    s.set_read_timeout(timeout).expect("timeout");
    s.write_all(&(0x8000_0000u32 | (1 << 30)).to_be_bytes())
        .expect("write");
    assert!(closed_by_peer(&s, "oversized record"));

    // 2. A complete record that is not an RPC message at all.
    let mut s = UnixStream::connect(&unix_path).expect("connect");
    s.set_read_timeout(timeout).expect("timeout");
    let mut junk = 0x8000_0010u32.to_be_bytes().to_vec();
    junk.extend_from_slice(b"this is no call");
    junk.push(b'!');
    s.write_all(&junk).expect("write");
    assert!(closed_by_peer(&s, "junk record"));

    // 3. A REPLY sent where calls are expected.
    let mut s = TcpStream::connect(tcp_addr).expect("connect");
    s.set_read_timeout(timeout).expect("timeout");
    let mut reply = 0x8000_0018u32.to_be_bytes().to_vec();
    for w in [1u32, 1, 0, 0, 0, 0] {
        reply.extend_from_slice(&w.to_be_bytes());
    }
    s.write_all(&reply).expect("write");
    assert!(closed_by_peer(&s, "reply instead of call"));

    // 4. A client that disconnects in the middle of a record.
    let mut s = TcpStream::connect(tcp_addr).expect("connect");
    s.write_all(&0x8000_0100u32.to_be_bytes()).expect("write");
    s.write_all(&[0u8; 10]).expect("write");
    drop(s);

    let out = good.join().expect("client thread");
    assert_ok(&out, "well-behaved client during garbage");
    // And new clients are still served afterwards.
    assert_ok(
        &run_client(&["-i", "2", "-n", "5"], &broker.tcp),
        "client after garbage",
    );
    broker
        .process
        .check_running()
        .expect("broker still running");
    let log = broker.process.stop();
    assert!(
        log.contains("closing client connection"),
        "garbage was not logged:\n{log}"
    );
}

/// Runs the client with `args` until it succeeds, for at most `within`;
/// returns the last run.
fn run_client_until_ok(args: &[&str], e: &Endpoint, within: Duration) -> std::process::Output {
    let deadline = std::time::Instant::now() + within;
    loop {
        let out = run_client(args, e);
        if out.status.success() || std::time::Instant::now() > deadline {
            return out;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn backend_down_gives_system_err_and_restart_is_picked_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = Endpoint::Unix(dir.path().join("ds.sock"));
    let broker = start_broker(&format!(
        "[supervision]\nbackoff_initial_ms = 50\nbackoff_max_ms = 300\nhealth_interval_ms = 100\n\n{}",
        datastore_route(&endpoint)
    ));
    // Nothing listens on the backend socket yet: the call fails, with an
    // answer rather than silence.
    let out = run_client(&["-m", "null", "-n", "1"], &broker.tcp);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("system error"), "{stderr}");

    // The supervisor keeps reconnecting (with backoff) and readmits the
    // backend once it answers a health check.
    let mut cmd = std::process::Command::new(&bins().datastore_server);
    cmd.arg("--listen").arg(url(&endpoint));
    let server = interop_tests::c_peer::CServer::spawn(cmd, endpoint.clone())
        .expect("start datastore-server");
    let within = Duration::from_secs(10);
    let probe = ["-m", "null", "-n", "1"];
    assert_ok(
        &run_client_until_ok(&probe, &broker.unix, within),
        "first call after the backend came up",
    );
    assert_ok(
        &run_client(&["-i", "1", "-n", "5"], &broker.unix),
        "after the backend came up",
    );
    // Kill it: calls fail fast with SYSTEM_ERR; start another: picked up.
    drop(server);
    let out = run_client(&["-m", "null", "-n", "1"], &broker.tcp);
    assert!(!out.status.success(), "a call to a dead backend must fail");
    let mut cmd = std::process::Command::new(&bins().datastore_server);
    cmd.arg("--listen").arg(url(&endpoint));
    let _server = interop_tests::c_peer::CServer::spawn(cmd, endpoint.clone())
        .expect("restart datastore-server");
    assert_ok(
        &run_client_until_ok(&probe, &broker.tcp, within),
        "first call after the backend restarted",
    );
    assert_ok(
        &run_client(&["-i", "2", "-n", "5"], &broker.tcp),
        "after the backend restarted",
    );
}

#[test]
fn with_no_arguments_the_broker_serves_its_builtin_datastore() {
    // The embedded default listens on $XDG_RUNTIME_DIR/broker.sock and
    // tcp://127.0.0.1:7100.
    let runtime_dir = tempfile::tempdir().expect("tempdir");
    let socket = Endpoint::Unix(runtime_dir.path().join("broker.sock"));
    let mut cmd = std::process::Command::new(&bins().broker);
    cmd.env("XDG_RUNTIME_DIR", runtime_dir.path());
    let broker = interop_tests::c_peer::CServer::spawn(cmd, socket.clone())
        .expect("start broker with no arguments");
    assert_ok(
        &run_client(&["-i", "1", "-n", "20", "-s", "4096"], &socket),
        "client over the default Unix socket",
    );
    // SIGTERM: a clean shutdown removes the socket file.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &broker.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let sock = runtime_dir.path().join("broker.sock");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sock.exists() && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let log = broker.stop();
    assert!(
        !sock.exists(),
        "socket file left behind after SIGTERM:\n{log}"
    );
    assert!(
        log.contains("listening") && log.contains("broker.sock"),
        "listeners not logged:\n{log}"
    );
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn invalid_configuration_is_refused_with_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "listen = [\"tcp://127.0.0.1:1\"]\n\n[limits]\nmax_recrod_bytes = 5\n",
    )
    .expect("write");
    let out = std::process::Command::new(&bins().broker)
        .arg("--check-config")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run broker --check-config");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("max_recrod_bytes") && stderr.contains("line 4"),
        "{stderr}"
    );
}

#[test]
fn c_clients_direct_to_the_rust_datastore_server() {
    // No broker: the Rust server against C rpcgen clients, TCP and Unix.
    let dir = tempfile::tempdir().expect("tempdir");
    let unix = Endpoint::Unix(dir.path().join("ds.sock"));
    let port = interop_tests::c_peer::free_tcp_port().expect("free port");
    let tcp = Endpoint::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    let mut cmd = std::process::Command::new(&bins().datastore_server);
    cmd.arg("--listen")
        .arg(url(&tcp))
        .arg("--listen")
        .arg(url(&unix));
    let mut server =
        interop_tests::c_peer::CServer::spawn(cmd, unix.clone()).expect("start datastore-server");
    let handles: Vec<_> = [(1, &tcp), (2, &unix), (3, &tcp)]
        .into_iter()
        .map(|(id, e)| {
            let e = e.clone();
            thread::spawn(move || {
                (
                    id,
                    run_client(&["-i", &id.to_string(), "-n", "25", "-s", "65536"], &e),
                )
            })
        })
        .collect();
    for h in handles {
        let (id, out) = h.join().expect("client thread");
        assert_ok(&out, &format!("direct client {id}"));
    }
    let out = run_client(&["-m", "bad-version"], &tcp);
    assert_ok(&out, "bad version, direct");
    server
        .check_running()
        .expect("datastore-server still running");
}
