//! rpc-runtime's rpcbind support against Debian's real `rpcbind`, started
//! by each test (`rpcbind -f`, foreground) and stopped at its end.
//!
//! rpcbind is a singleton (port 111, `/run/rpcbind.sock`), so every test
//! here holds one lock and they all live in this one test binary. If an
//! rpcbind already runs on the machine, the tests use it instead. They
//! need root (rpcbind binds port 111) and the `rpcbind` package
//! (`rpcbind`, `rpcinfo`); without them they fail with that message.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use interop_tests::c_peer::run_with_timeout;
use interop_tests::interop::peers::interop_server;
use interop_tests::interop::proto::{
    InteropProgV1Client, InteropProgV1Server, INTEROP_PROG, INTEROP_VERS,
};
use interop_tests::interop::server::InteropService;
use interop_tests::workspace_bins::{build_workspace_bins, profile_dir};
use rpc_runtime::rpcbind::{self, Endpoint, Protocol, RPCBIND_SOCKET_PATH};
use rpc_runtime::Server;

/// One rpcbind at a time, for every test of this binary.
static RPCBIND_LOCK: Mutex<()> = Mutex::new(());

/// How long rpcbind, servers and registrations get to appear.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

const RPCINFO: &str = "/usr/sbin/rpcinfo";

/// A running `rpcbind -f` started by the test, killed (and its socket
/// removed) on drop; or, when one already runs on this machine (a system
/// rpcbind), that one, left alone.
struct Rpcbind {
    child: Option<Child>,
    _lock: MutexGuard<'static, ()>,
}

impl Rpcbind {
    fn start() -> Rpcbind {
        let lock = RPCBIND_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        if TcpStream::connect_timeout(&rpcbind_tcp(), Duration::from_millis(200)).is_ok() {
            assert!(
                UnixStream::connect(RPCBIND_SOCKET_PATH).is_ok(),
                "something listens on port 111 but {RPCBIND_SOCKET_PATH} does not accept: \
                 not rpcbind?"
            );
            eprintln!("using the rpcbind already running on this machine");
            return Rpcbind {
                child: None,
                _lock: lock,
            };
        }
        let _ = std::fs::remove_file(RPCBIND_SOCKET_PATH);
        let spawn = |program: &str| {
            Command::new(program)
                .arg("-f")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
        };
        let child = spawn("rpcbind")
            .or_else(|_| spawn("/usr/sbin/rpcbind"))
            .expect("start rpcbind (Debian: apt-get install rpcbind; tests run as root)");
        let mut r = Rpcbind {
            child: Some(child),
            _lock: lock,
        };
        wait_until("rpcbind accepts connections", || {
            if let Some(Ok(Some(status))) = r.child.as_mut().map(Child::try_wait) {
                panic!("rpcbind exited at start: {status} (run the tests as root)");
            }
            TcpStream::connect_timeout(&rpcbind_tcp(), Duration::from_millis(200)).is_ok()
                && UnixStream::connect(RPCBIND_SOCKET_PATH).is_ok()
        });
        r
    }
}

impl Drop for Rpcbind {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(RPCBIND_SOCKET_PATH);
        }
    }
}

/// Kills a child process when dropped (a failing test leaves none behind).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rpcbind_tcp() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 111))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + READY_TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rpcinfo(args: &[&str]) -> Output {
    run_with_timeout(Command::new(RPCINFO).args(args), Duration::from_secs(30))
        .expect("run rpcinfo")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `rpcinfo -p` lines (program, version, protocol, port) for `program`.
fn pmap_lines(program: u32) -> Vec<(u32, u32, String, u16)> {
    let out = rpcinfo(&["-p", "127.0.0.1"]);
    assert!(out.status.success(), "rpcinfo -p failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [p, v, proto, port, ..] => Some((
                    p.parse().ok()?,
                    v.parse().ok()?,
                    (*proto).to_owned(),
                    port.parse().ok()?,
                )),
                _ => None,
            }
        })
        .filter(|(p, ..)| *p == program)
        .collect()
}

/// A Rust interop server on TCP, UDP and a Unix socket of `dir`.
struct RustServer {
    tcp: SocketAddr,
    udp: SocketAddr,
    unix: PathBuf,
    stop: tokio_util_stop::Stop,
}

mod tokio_util_stop {
    /// Ends the serve tasks when dropped.
    pub(super) struct Stop(pub(super) Vec<tokio::task::JoinHandle<std::io::Result<()>>>);
    impl Drop for Stop {
        fn drop(&mut self) {
            for t in &self.0 {
                t.abort();
            }
        }
    }
}

async fn rust_server(dir: &Path) -> (Server, RustServer) {
    let server = Server::builder()
        .register(InteropProgV1Server::new(InteropService::new()))
        .build();
    let tcp = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let udp = tokio::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
    let unix_path = dir.join("interop.sock");
    let unix = tokio::net::UnixListener::bind(&unix_path).unwrap();
    let (tcp_addr, udp_addr) = (tcp.local_addr().unwrap(), udp.local_addr().unwrap());
    let tasks = vec![
        tokio::spawn({
            let s = server.clone();
            async move { s.serve_tcp(tcp).await }
        }),
        tokio::spawn({
            let s = server.clone();
            async move { s.serve_udp(udp).await }
        }),
        tokio::spawn({
            let s = server.clone();
            async move { s.serve_unix(unix).await }
        }),
    ];
    (
        server,
        RustServer {
            tcp: tcp_addr,
            udp: udp_addr,
            unix: unix_path,
            stop: tokio_util_stop::Stop(tasks),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_server_registers_and_rpcinfo_reaches_it() {
    let _rpcbind = Rpcbind::start();
    let dir = tempfile::tempdir().unwrap();
    let (server, running) = rust_server(dir.path()).await;
    let endpoints = [
        Endpoint::Tcp(running.tcp),
        Endpoint::Udp(running.udp),
        Endpoint::Unix(running.unix.clone()),
    ];
    let reg = rpcbind::register_server(&server, &endpoints)
        .await
        .expect("register");
    assert_eq!(reg.entries().len(), 3);

    // rpcinfo -p (portmapper DUMP) lists the TCP and UDP ports.
    let prog = INTEROP_PROG;
    let lines = tokio::task::spawn_blocking(move || pmap_lines(prog))
        .await
        .unwrap();
    let mut want = vec![
        (
            INTEROP_PROG,
            INTEROP_VERS,
            "tcp".to_owned(),
            running.tcp.port(),
        ),
        (
            INTEROP_PROG,
            INTEROP_VERS,
            "udp".to_owned(),
            running.udp.port(),
        ),
    ];
    let mut got = lines.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "rpcinfo -p lines for our program");

    // rpcinfo -t / -u look the program up in rpcbind and call NULL on it.
    for flag in ["-t", "-u"] {
        let out = tokio::task::spawn_blocking(move || {
            rpcinfo(&[
                flag,
                "127.0.0.1",
                &INTEROP_PROG.to_string(),
                &INTEROP_VERS.to_string(),
            ])
        })
        .await
        .unwrap();
        assert!(out.status.success(), "rpcinfo {flag}: {}", text(&out));
        assert!(
            text(&out).contains("ready and waiting"),
            "rpcinfo {flag}: {}",
            text(&out)
        );
    }

    // Our own client sees the same through every version of the protocol.
    let client = rpcbind::Client::connect_tcp(Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    assert_eq!(
        client
            .getport(INTEROP_PROG, INTEROP_VERS, Protocol::Tcp)
            .await
            .unwrap(),
        Some(running.tcp.port())
    );
    assert_eq!(
        client
            .getport(INTEROP_PROG, INTEROP_VERS, Protocol::Udp)
            .await
            .unwrap(),
        Some(running.udp.port())
    );
    // Over TCP rpcbind answers with IP addresses only (GETADDR for the
    // query's transport, "tcp"), which is no local address; the local
    // one is found over rpcbind's local socket.
    assert!(matches!(
        client.lookup(INTEROP_PROG, INTEROP_VERS, "local").await,
        Err(rpcbind::Error::Address(_))
    ));
    let local = rpcbind::Client::connect_local().await.unwrap();
    assert_eq!(
        local
            .lookup(INTEROP_PROG, INTEROP_VERS, "local")
            .await
            .unwrap(),
        Some(Endpoint::Unix(running.unix.clone()))
    );
    // GETADDR answers for the query's own transport.
    assert_eq!(
        local
            .getaddr(INTEROP_PROG, INTEROP_VERS, "local")
            .await
            .unwrap(),
        Some(running.unix.display().to_string())
    );
    let dump = client.dump().await.unwrap();
    let ours: Vec<String> = dump
        .iter()
        .filter(|r| r.r_prog == INTEROP_PROG)
        .map(|r| r.r_netid.to_string())
        .collect();
    for netid in ["tcp", "udp", "local"] {
        assert!(
            ours.iter().any(|n| n == netid),
            "dump lacks {netid}: {ours:?}"
        );
    }
    // Found through rpcbind, the server answers on each transport.
    let Some(Endpoint::Tcp(tcp)) = client
        .lookup(INTEROP_PROG, INTEROP_VERS, "tcp")
        .await
        .unwrap()
    else {
        panic!("no tcp address");
    };
    assert_eq!(tcp.port(), running.tcp.port());
    let rpc = rpc_runtime::Client::connect_tcp(tcp).await.unwrap();
    assert_eq!(
        InteropProgV1Client::new(rpc).add(&40, &2).await.unwrap(),
        42
    );

    // Unregistering removes every entry.
    reg.unregister().await.expect("unregister");
    let lines = tokio::task::spawn_blocking(move || pmap_lines(prog))
        .await
        .unwrap();
    assert!(lines.is_empty(), "still registered: {lines:?}");
    assert_eq!(
        local
            .getaddr(INTEROP_PROG, INTEROP_VERS, "local")
            .await
            .unwrap(),
        None
    );
    drop(running.stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_finds_c_server_through_rpcbind() {
    let _rpcbind = Rpcbind::start();
    let bin = interop_server().expect("build the C interop server");
    let c = Command::new(bin)
        .args(["rpcbind", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the C server");
    let mut c = KillOnDrop(c);
    let client = rpcbind::Client::connect_tcp(Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let deadline = Instant::now() + READY_TIMEOUT;
    let (tcp_port, udp_port) = loop {
        let tcp = client
            .getport(INTEROP_PROG, INTEROP_VERS, Protocol::Tcp)
            .await
            .unwrap();
        let udp = client
            .getport(INTEROP_PROG, INTEROP_VERS, Protocol::Udp)
            .await
            .unwrap();
        if let (Some(t), Some(u)) = (tcp, udp) {
            break (t, u);
        }
        if let Ok(Some(status)) = c.0.try_wait() {
            panic!("the C server exited: {status}");
        }
        assert!(Instant::now() < deadline, "the C server did not register");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // rpcbind v3/v4 GETADDR agrees with the portmapper's GETPORT.
    let tcp = match client
        .lookup(INTEROP_PROG, INTEROP_VERS, "tcp")
        .await
        .unwrap()
    {
        Some(Endpoint::Tcp(a)) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(tcp.port(), tcp_port);
    let udp = match client
        .lookup(INTEROP_PROG, INTEROP_VERS, "udp")
        .await
        .unwrap()
    {
        Some(Endpoint::Udp(a)) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(udp.port(), udp_port);

    let over_tcp = InteropProgV1Client::new(
        rpc_runtime::Client::connect_tcp((Ipv4Addr::LOCALHOST, tcp_port))
            .await
            .unwrap(),
    );
    let over_udp = InteropProgV1Client::new(
        rpc_runtime::Client::connect_udp((Ipv4Addr::LOCALHOST, udp_port))
            .await
            .unwrap(),
    );
    assert_eq!(over_tcp.add(&-5, &12).await.unwrap(), 7);
    assert_eq!(
        over_udp.add(&(1i64 << 40), &1).await.unwrap(),
        (1 << 40) + 1
    );

    // On SIGTERM the C server unregisters.
    let pid = c.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = c.0.wait();
    assert_eq!(
        client
            .getport(INTEROP_PROG, INTEROP_VERS, Protocol::Tcp)
            .await
            .unwrap(),
        None
    );
}

/// Builds `datastore-server` into this test's target directory.
fn datastore_server_bin() -> PathBuf {
    let profile_dir = profile_dir().expect("target/<profile> of this test");
    build_workspace_bins(&profile_dir)
        .expect("build datastore-server")
        .datastore_server
}

/// The datastore protocol's program number (datastore/specs/datastore.x).
const DATASTORE_PROG: u32 = 0x2000_DA7A;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datastore_server_register_flag() {
    let bin = tokio::task::spawn_blocking(datastore_server_bin)
        .await
        .unwrap();
    let _rpcbind = Rpcbind::start();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("ds.sock");
    let server = Command::new(bin)
        .args([
            "--listen",
            "tcp://127.0.0.1:0",
            "--listen",
            "udp://127.0.0.1:0",
            "--listen",
        ])
        .arg(format!("unix://{}", sock.display()))
        .arg("--register")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start datastore-server");
    let mut server = KillOnDrop(server);
    let tcp_client = rpcbind::Client::connect_tcp(Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let list = tcp_client.getaddrlist(DATASTORE_PROG, 1).await.unwrap();
        if list.len() == 2 {
            break;
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("datastore-server exited: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "datastore-server did not register"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for flag in ["-t", "-u"] {
        let out = tokio::task::spawn_blocking(move || {
            rpcinfo(&[flag, "127.0.0.1", &DATASTORE_PROG.to_string(), "1"])
        })
        .await
        .unwrap();
        assert!(out.status.success(), "rpcinfo {flag}: {}", text(&out));
    }
    let local = rpcbind::Client::connect_local().await.unwrap();
    assert_eq!(
        local.lookup(DATASTORE_PROG, 1, "local").await.unwrap(),
        Some(Endpoint::Unix(sock.clone()))
    );
    // The NULL procedure answers at the registered Unix socket.
    let ds = rpc_runtime::Client::connect_unix(&sock).await.unwrap();
    let () = ds.call(DATASTORE_PROG, 1, 0, &()).await.unwrap();

    // SIGTERM: the server unregisters everything, then exits.
    let pid = server.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = tokio::task::spawn_blocking(move || server.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "datastore-server: {status}");
    assert!(tcp_client
        .getaddrlist(DATASTORE_PROG, 1)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        local.getaddr(DATASTORE_PROG, 1, "local").await.unwrap(),
        None
    );
}
