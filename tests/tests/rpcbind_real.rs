//! rpc-runtime's rpcbind support, and the broker's registration, against
//! Debian's real `rpcbind`, started by each test (`rpcbind -f`,
//! foreground) and stopped at its end.
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
use std::time::{Duration, Instant};

use interop_tests::c_peer::{c_source, free_tcp_port, run_with_timeout, spec_path, CProgram};
use interop_tests::interop::peers::interop_server;
use interop_tests::interop::proto::{
    InteropProgV1Client, InteropProgV1Server, INTEROP_PROG, INTEROP_VERS,
};
use interop_tests::interop::server::InteropService;
use interop_tests::rpcbind_daemon::{self, RpcbindDaemon};
use interop_tests::workspace_bins::{build_workspace_bins, profile_dir, WorkspaceBins};
use rpc_runtime::rpcbind::{self, Endpoint, Protocol};
use rpc_runtime::Server;

/// How long rpcbind, servers and registrations get to appear.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

const RPCINFO: &str = "/usr/sbin/rpcinfo";

/// Kills a child process when dropped (a failing test leaves none behind).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    let _rpcbind = RpcbindDaemon::start();
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
    let _rpcbind = RpcbindDaemon::start();
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
    workspace_bins().datastore_server
}

/// Builds `broker` and `datastore-server` into this test's target
/// directory.
fn workspace_bins() -> WorkspaceBins {
    let profile_dir = profile_dir().expect("target/<profile> of this test");
    build_workspace_bins(&profile_dir).expect("build broker and datastore-server")
}

/// The datastore protocol's program number (datastore/specs/datastore.x).
const DATASTORE_PROG: u32 = 0x2000_DA7A;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datastore_server_register_flag() {
    let bin = tokio::task::spawn_blocking(datastore_server_bin)
        .await
        .unwrap();
    let _rpcbind = RpcbindDaemon::start();
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

/// The rpcgen client of `tests/c/legacy_datastore_client.c`: classic
/// stubs, plain `clnt_create(HOST, DATASTORE, DATASTORE_V1, NETTYPE)`.
fn legacy_c_client() -> PathBuf {
    CProgram::new("legacy_datastore_client")
        .spec(spec_path("datastore.x"))
        .client_stubs()
        .source(c_source("legacy_datastore_client.c"))
        .build()
        .expect("build legacy_datastore_client")
}

/// A `broker` process (killed on drop) logging to a file, with its
/// configuration file and ports.
struct BrokerRun {
    process: KillOnDrop,
    config: PathBuf,
    log: PathBuf,
    tcp: u16,
    udp: u16,
    unix: PathBuf,
    backend: PathBuf,
    _dir: tempfile::TempDir,
}

impl BrokerRun {
    /// Starts a broker in front of a `datastore-server` on a Unix socket,
    /// listening on free loopback TCP and UDP ports and a Unix socket,
    /// with `[rpcbind] register = true`. With `hide_rpcbind` the broker
    /// runs in a network and mount namespace of its own where no rpcbind
    /// can be reached (its loopback is empty, `/run` a fresh tmpfs); its
    /// Unix sockets, in a temporary directory, stay reachable.
    fn start(bins: &WorkspaceBins, hide_rpcbind: bool) -> (BrokerRun, KillOnDrop) {
        let dir = tempfile::tempdir().unwrap();
        let backend = dir.path().join("ds.sock");
        let datastore = Command::new(&bins.datastore_server)
            .arg("--listen")
            .arg(format!("unix://{}", backend.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start datastore-server");
        let datastore = KillOnDrop(datastore);
        wait_until("datastore-server accepts", || {
            UnixStream::connect(&backend).is_ok()
        });
        let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|s| s.local_addr())
            .unwrap()
            .port();
        let mut run = BrokerRun {
            process: KillOnDrop(Command::new("true").spawn().unwrap()),
            config: dir.path().join("broker.toml"),
            log: dir.path().join("broker.log"),
            tcp: free_tcp_port().unwrap(),
            udp,
            unix: dir.path().join("broker.sock"),
            backend,
            _dir: dir,
        };
        run.write_config("");
        let log = std::fs::File::create(&run.log).unwrap();
        let mut cmd = if hide_rpcbind {
            let mut c = Command::new("unshare");
            c.args(["--net", "--mount", "sh", "-c"])
                .arg("ip link set lo up && mount -t tmpfs tmpfs /run && exec \"$0\" \"$@\"")
                .arg(&bins.broker);
            c
        } else {
            Command::new(&bins.broker)
        };
        run.process = KillOnDrop(
            cmd.arg("--config")
                .arg(&run.config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start broker"),
        );
        (run, datastore)
    }

    /// Writes the configuration, with `extra` routes.
    fn write_config(&self, extra: &str) {
        let text = format!(
            "listen = [\"tcp://127.0.0.1:{}\", \"udp://127.0.0.1:{}\", \"unix://{}\"]\n\
             [rpcbind]\nregister = true\n\
             [backends.ds]\naddress = \"unix://{}\"\n\
             [[routes]]\nprogram = {DATASTORE_PROG}\nversions = [1]\nbackend = \"ds\"\n{extra}",
            self.tcp,
            self.udp,
            self.unix.display(),
            self.backend.display()
        );
        std::fs::write(&self.config, text).unwrap();
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.process.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The ports rpcbind's portmapper table gives `program` `version` over
/// TCP and UDP.
async fn ports(client: &rpcbind::Client, program: u32, version: u32) -> (Option<u16>, Option<u16>) {
    (
        client
            .getport(program, version, Protocol::Tcp)
            .await
            .unwrap(),
        client
            .getport(program, version, Protocol::Udp)
            .await
            .unwrap(),
    )
}

async fn wait_for_ports(
    client: &rpcbind::Client,
    broker: &mut BrokerRun,
    (program, version): (u32, u32),
    want: (Option<u16>, Option<u16>),
) {
    let deadline = Instant::now() + READY_TIMEOUT;
    while ports(client, program, version).await != want {
        if let Ok(Some(status)) = broker.process.0.try_wait() {
            panic!("broker exited: {status}\n{}", broker.log());
        }
        assert!(
            Instant::now() < deadline,
            "program {program:#x} version {version}: rpcbind has {:?}, not {want:?}\n{}",
            ports(client, program, version).await,
            broker.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_c_clients_find_the_broker_through_rpcbind_over_tcp_and_udp() {
    let bins = tokio::task::spawn_blocking(workspace_bins).await.unwrap();
    let c_client = tokio::task::spawn_blocking(legacy_c_client).await.unwrap();
    let _rpcbind = RpcbindDaemon::start();
    let (mut broker, _datastore) = BrokerRun::start(&bins, false);
    let client = rpcbind::Client::connect_tcp(Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    let (tcp, udp) = (broker.tcp, broker.udp);
    wait_for_ports(
        &client,
        &mut broker,
        (DATASTORE_PROG, 1),
        (Some(tcp), Some(udp)),
    )
    .await;

    // rpcinfo -p (portmapper version 2) lists exactly the broker's ports.
    let mut lines = tokio::task::spawn_blocking(|| pmap_lines(DATASTORE_PROG))
        .await
        .unwrap();
    lines.sort();
    assert_eq!(
        lines,
        [
            (DATASTORE_PROG, 1, "tcp".to_owned(), tcp),
            (DATASTORE_PROG, 1, "udp".to_owned(), udp)
        ]
    );
    // rpcbind version 4 has the Unix socket too, under `local`.
    let local = rpcbind::Client::connect_local().await.unwrap();
    assert_eq!(
        local.lookup(DATASTORE_PROG, 1, "local").await.unwrap(),
        Some(Endpoint::Unix(broker.unix.clone()))
    );

    // The unmodified rpcgen client: PUT then GET, over "tcp" and "udp".
    for nettype in ["tcp", "udp"] {
        let c_client = c_client.clone();
        let out = tokio::task::spawn_blocking(move || {
            run_with_timeout(
                Command::new(c_client).args(["127.0.0.1", nettype, &format!("legacy-{nettype}")]),
                Duration::from_secs(60),
            )
            .expect("run legacy_datastore_client")
        })
        .await
        .unwrap();
        assert!(
            out.status.success() && text(&out).contains(&format!("ok {nettype}")),
            "legacy client over {nettype}: {}\nbroker log:\n{}",
            text(&out),
            broker.log()
        );
    }

    // A reload that adds a route registers it; one that removes it
    // unregisters it.
    const OTHER: u32 = DATASTORE_PROG + 1;
    broker.write_config(&format!(
        "[[routes]]\nprogram = {OTHER}\nversions = [3]\nbackend = \"ds\"\n"
    ));
    broker.signal("HUP");
    wait_for_ports(&client, &mut broker, (OTHER, 3), (Some(tcp), Some(udp))).await;
    // Another server takes the TCP entry over (rpcbind holds one address
    // per program, version and transport); the reload that drops the
    // route removes the broker's entries and leaves that one alone.
    let squatter = rpcbind::Registration::register(
        rpcbind::connect_local_rpcbind().await.unwrap(),
        &[(OTHER, 3)],
        &[Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)))],
    )
    .await
    .unwrap();
    broker.write_config("");
    broker.signal("HUP");
    wait_for_ports(&client, &mut broker, (OTHER, 3), (Some(1), None)).await;
    squatter.unregister().await.unwrap();
    assert_eq!(ports(&client, OTHER, 3).await, (None, None));
    assert_eq!(
        ports(&client, DATASTORE_PROG, 1).await,
        (Some(tcp), Some(udp))
    );

    // SIGTERM: the broker unregisters everything, then exits.
    broker.signal("TERM");
    let mut process = std::mem::replace(
        &mut broker.process,
        KillOnDrop(Command::new("true").spawn().unwrap()),
    );
    let status = tokio::task::spawn_blocking(move || process.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "broker: {status}\n{}", broker.log());
    let lines = tokio::task::spawn_blocking(|| pmap_lines(DATASTORE_PROG))
        .await
        .unwrap();
    assert!(
        lines.is_empty(),
        "left in rpcbind: {lines:?}\n{}",
        broker.log()
    );
    assert_eq!(
        local.getaddr(DATASTORE_PROG, 1, "local").await.unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rpcbind_the_broker_warns_once_and_serves() {
    let bins = tokio::task::spawn_blocking(workspace_bins).await.unwrap();
    // The lock, without starting an rpcbind.
    let _rpcbind = RpcbindDaemon::lock_only();
    // An rpcbind of the machine's (not ours to stop) is hidden from the
    // broker in namespaces of its own.
    let running =
        TcpStream::connect_timeout(&rpcbind_daemon::tcp_address(), Duration::from_millis(200))
            .is_ok();
    let (mut broker, _datastore) = BrokerRun::start(&bins, running);
    // It serves: a NULL call over its Unix socket, and over TCP and UDP
    // when they are in this network namespace.
    let deadline = Instant::now() + READY_TIMEOUT;
    let unix = loop {
        match rpc_runtime::Client::connect_unix(&broker.unix).await {
            Ok(c) => break c,
            Err(e) => {
                if let Ok(Some(status)) = broker.process.0.try_wait() {
                    panic!("broker exited: {status}\n{}", broker.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "broker not up: {e}\n{}",
                    broker.log()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let () = unix.call(DATASTORE_PROG, 1, 0, &()).await.unwrap();
    if !running {
        let tcp = rpc_runtime::Client::connect_tcp((Ipv4Addr::LOCALHOST, broker.tcp))
            .await
            .unwrap();
        let () = tcp.call(DATASTORE_PROG, 1, 0, &()).await.unwrap();
        let udp = rpc_runtime::Client::connect_udp((Ipv4Addr::LOCALHOST, broker.udp))
            .await
            .unwrap();
        let () = udp.call(DATASTORE_PROG, 1, 0, &()).await.unwrap();
    }
    // A reload tries again, quietly.
    broker.signal("HUP");
    wait_until("the reload is logged", || {
        broker.log().contains("configuration reloaded")
    });
    let () = unix.call(DATASTORE_PROG, 1, 0, &()).await.unwrap();
    let log = broker.log();
    assert_eq!(log.matches("rpcbind is not running").count(), 1, "{log}");
    assert!(log.contains("WARN"), "{log}");
    broker.signal("TERM");
    let status = broker.process.0.wait().unwrap();
    assert!(status.success(), "broker: {status}\n{}", broker.log());
}
