//! Helpers for the broker end-to-end tests: the real `broker` and
//! `datastore-server` binaries, the C datastore peers, and processes
//! started on temporary sockets.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use interop_tests::c_peer::{
    c_source, free_tcp_port, run_with_timeout, spec_path, CProgram, CServer, Endpoint,
};
use interop_tests::workspace_bins::{build_workspace_bins, profile_dir, WorkspaceBins};

/// How long one C client run may take.
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace binaries under test, built (or found up to date) once per
/// test process with the same cargo and target directory as this test.
pub(crate) fn bins() -> &'static WorkspaceBins {
    static BINS: OnceLock<WorkspaceBins> = OnceLock::new();
    BINS.get_or_init(|| {
        let profile_dir = profile_dir().expect("target/<profile> of this test");
        build_workspace_bins(&profile_dir).expect("build broker and datastore-server")
    })
}

/// The C `rpcgen -M` client of `tests/c/datastore_client.c`.
pub(crate) fn c_client() -> PathBuf {
    CProgram::new("datastore_client")
        .spec(spec_path("datastore.x"))
        .rpcgen_flags(["-M"])
        .client_stubs()
        .source(c_source("datastore_client.c"))
        .input(c_source("peer_address.h"))
        .build()
        .expect("build datastore_client")
}

/// The C `rpcgen -M` server of `tests/c/datastore_server.c`.
pub(crate) fn c_server() -> PathBuf {
    CProgram::new("datastore_server")
        .spec(spec_path("datastore.x"))
        .rpcgen_flags(["-M"])
        .server_stubs()
        .source(c_source("datastore_server.c"))
        .input(c_source("peer_listen.h"))
        .build()
        .expect("build datastore_server")
}

/// Where a client connects: `["tcp", HOST, PORT]` or `["unix", PATH]`.
pub(crate) fn client_args(e: &Endpoint) -> Vec<String> {
    match e {
        Endpoint::Tcp(a) => vec!["tcp".into(), a.ip().to_string(), a.port().to_string()],
        Endpoint::Unix(p) => vec!["unix".into(), p.display().to_string()],
    }
}

/// `tcp://...` / `unix://...` for configurations and `--listen`.
pub(crate) fn url(e: &Endpoint) -> String {
    match e {
        Endpoint::Tcp(a) => format!("tcp://{a}"),
        Endpoint::Unix(p) => format!("unix://{}", p.display()),
    }
}

/// Runs the C client with `args` then the endpoint's arguments.
pub(crate) fn run_client(args: &[&str], e: &Endpoint) -> Output {
    let mut cmd = Command::new(c_client());
    cmd.args(args).args(client_args(e));
    run_with_timeout(&mut cmd, CLIENT_TIMEOUT).expect("run datastore_client")
}

/// Asserts the client exited 0 and printed `ok`.
pub(crate) fn assert_ok(out: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ok "),
        "{what}: status {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running Rust `datastore-server` on a Unix socket in its own
/// temporary directory.
pub(crate) struct DatastoreServer {
    pub(crate) process: CServer,
    pub(crate) endpoint: Endpoint,
    _dir: tempfile::TempDir,
}

pub(crate) fn start_datastore_server() -> DatastoreServer {
    let dir = tempfile::Builder::new()
        .prefix("ds-")
        .tempdir()
        .expect("tempdir");
    let endpoint = Endpoint::Unix(dir.path().join("ds.sock"));
    DatastoreServer {
        process: spawn_datastore_server(&endpoint),
        endpoint,
        _dir: dir,
    }
}

fn spawn_datastore_server(endpoint: &Endpoint) -> CServer {
    let mut cmd = Command::new(&bins().datastore_server);
    cmd.arg("--listen").arg(url(endpoint));
    CServer::spawn(cmd, endpoint.clone()).expect("start datastore-server")
}

impl DatastoreServer {
    /// Kills the server with SIGKILL and waits until it is gone.
    pub(crate) fn kill(&mut self) {
        signal(self.process.pid(), "-KILL");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.process.check_running().is_ok() {
            assert!(
                Instant::now() < deadline,
                "datastore-server survived SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts a new server on the same socket (after [`Self::kill`]); it
    /// comes back empty, as `datastore-server` keeps its objects in memory.
    pub(crate) fn restart(&mut self) {
        self.process = spawn_datastore_server(&self.endpoint);
    }
}

/// A running C datastore server on a free loopback TCP port.
pub(crate) fn start_c_server() -> CServer {
    CServer::start_tcp(&c_server(), std::iter::empty::<&str>()).expect("start C datastore_server")
}

/// A running `broker`, listening on a free loopback TCP port and a Unix
/// socket in its own temporary directory.
pub(crate) struct BrokerProcess {
    pub(crate) process: CServer,
    pub(crate) tcp: Endpoint,
    pub(crate) unix: Endpoint,
    /// The admin socket (`[admin] socket`).
    pub(crate) admin: PathBuf,
    /// The metrics endpoint (`[admin] metrics`).
    pub(crate) metrics: SocketAddr,
    /// The configuration file (rewrite it and send SIGHUP to reload).
    pub(crate) config: PathBuf,
    /// More keys of the TCP listener's table (`tls = {...}`, `gss =
    /// {...}`), as inline TOML, if it has any.
    pub(crate) tcp_keys: Option<String>,
    pub(crate) dir: tempfile::TempDir,
}

impl BrokerProcess {
    /// The configuration text for `rest`, with this broker's listeners and
    /// admin services.
    pub(crate) fn config_text(&self, rest: &str) -> String {
        let keys = self.tcp_keys.as_deref();
        broker_config(&self.tcp, keys, &self.unix, &self.admin, self.metrics, rest)
    }
}

fn broker_config(
    tcp: &Endpoint,
    tcp_keys: Option<&str>,
    unix: &Endpoint,
    admin: &Path,
    metrics: SocketAddr,
    rest: &str,
) -> String {
    let tcp = match tcp_keys {
        None => format!("\"{}\"", url(tcp)),
        Some(keys) => format!("{{ address = \"{}\", {keys} }}", url(tcp)),
    };
    format!(
        "listen = [{tcp}, \"{}\"]\n\n[admin]\nsocket = \"{}\"\nmetrics = \"{metrics}\"\n\n{rest}",
        url(unix),
        admin.display()
    )
}

/// Starts the broker with `[limits]`, `[backends.*]` and `[[routes]]`
/// given as TOML in `rest` (its listeners are added here).
pub(crate) fn start_broker(rest: &str) -> BrokerProcess {
    start_broker_with(rest, |bin| Command::new(bin))
}

/// As [`start_broker`], the broker started by the command `launch`
/// makes from the broker binary's path (for example through `sh -c
/// 'ulimit -n 256; exec "$0" "$@"'`); the broker's arguments are added
/// to it.
pub(crate) fn start_broker_with(
    rest: &str,
    launch: impl FnOnce(&Path) -> Command,
) -> BrokerProcess {
    start_broker_listening(None, rest, launch)
}

/// As [`start_broker`], its TCP listener with the `tls` table `tls`
/// (inline TOML, e.g. `{ cert = "...", key = "..." }`).
pub(crate) fn start_tls_broker(tls: &str, rest: &str) -> BrokerProcess {
    start_tcp_keys_broker(&format!("tls = {tls}"), rest)
}

/// As [`start_broker`], its TCP listener with the more keys `keys`
/// (inline TOML, e.g. `gss = { service = "..." }, allow_principals = [...]`).
pub(crate) fn start_tcp_keys_broker(keys: &str, rest: &str) -> BrokerProcess {
    start_broker_listening(Some(keys), rest, |bin| Command::new(bin))
}

fn start_broker_listening(
    tcp_keys: Option<&str>,
    rest: &str,
    launch: impl FnOnce(&Path) -> Command,
) -> BrokerProcess {
    let dir = tempfile::Builder::new()
        .prefix("broker-")
        .tempdir()
        .expect("tempdir");
    let port = free_tcp_port().expect("free port");
    let tcp = Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let unix = Endpoint::Unix(dir.path().join("broker.sock"));
    let admin = dir.path().join("admin.sock");
    let metrics = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port().expect("free port")));
    let config = broker_config(&tcp, tcp_keys, &unix, &admin, metrics, rest);
    let path = dir.path().join("broker.toml");
    std::fs::write(&path, config).expect("write broker.toml");
    let mut cmd = launch(&bins().broker);
    cmd.arg("--config").arg(&path).env("RUST_LOG", "info");
    // Ready once the Unix socket accepts: every listener is bound by then.
    let process = CServer::spawn(cmd, unix.clone()).expect("start broker");
    BrokerProcess {
        process,
        tcp,
        unix,
        admin,
        metrics,
        config: path,
        tcp_keys: tcp_keys.map(str::to_owned),
        dir,
    }
}

/// Runs `broker ctl --socket ADMIN ARGS...` against `broker`.
pub(crate) fn ctl(broker: &BrokerProcess, args: &[&str]) -> Output {
    let mut cmd = Command::new(&bins().broker);
    cmd.arg("ctl").arg("--socket").arg(&broker.admin).args(args);
    run_with_timeout(&mut cmd, CLIENT_TIMEOUT).expect("run broker ctl")
}

/// `broker ctl ARGS...` that must succeed; its standard output.
pub(crate) fn ctl_ok(broker: &BrokerProcess, args: &[&str]) -> String {
    let out = ctl(broker, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "broker ctl {args:?}: {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `GET PATH` over HTTP/1.1 from `addr`: the status line and the body.
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the response");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("").to_owned();
    // Chunked or not, the metric lines are intact: chunk sizes are lines
    // of their own.
    (status, body.to_owned())
}

/// The value of the sample `series` (name and labels exactly as
/// rendered) in an OpenMetrics text page, 0 when absent.
pub(crate) fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The broker's sample `series` once it is at least `at_least`, or
/// whatever it is after `within` (the broker may count after its client
/// has seen the answer).
pub(crate) fn sample_at_least(
    broker: &BrokerProcess,
    series: &str,
    at_least: f64,
    within: Duration,
) -> f64 {
    let deadline = Instant::now() + within;
    loop {
        let (_, page) = http_get(broker.metrics, "/metrics");
        let n = sample(&page, series);
        if n >= at_least || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends signal `sig` (e.g. `-HUP`) to process `pid`.
pub(crate) fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} {pid}");
}

/// Stops process `pid` (SIGSTOP) and waits until every one of its
/// threads is stopped. `kill` returns once the signal is queued; one
/// thread then stops the others, so on a loaded machine another thread
/// can still answer a call for a while (a test that sent a call right
/// after `kill -STOP` saw it answered).
pub(crate) fn stop_process(pid: u32) {
    signal(pid, "-STOP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_threads_stopped(pid) {
        assert!(Instant::now() < deadline, "process {pid} did not stop");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// True when every thread of `pid` is in state `T` (stopped) according
/// to `/proc/<pid>/task/<tid>/stat`.
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        // The state follows the parenthesised command name.
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
        })
    })
}

/// `[backends.NAME]` tables, one per server, named by `names` in order.
pub(crate) fn backends_toml(names: &[&str], servers: &[DatastoreServer]) -> String {
    names
        .iter()
        .zip(servers)
        .map(|(name, s)| format!("[backends.{name}]\naddress = \"{}\"\n", url(&s.endpoint)))
        .collect()
}

/// A datastore client over a new connection to `e`, each call waiting
/// at most `timeout` for its reply.
pub(crate) async fn connect_datastore(
    e: &Endpoint,
    timeout: Duration,
) -> datastore::proto::DatastoreV1Client {
    let builder = rpc_runtime::Client::builder().timeout(timeout);
    let client = match e {
        Endpoint::Tcp(a) => builder.connect_tcp(*a).await,
        Endpoint::Unix(p) => builder.connect_unix(p).await,
    };
    datastore::proto::DatastoreV1Client::new(client.expect("connect"))
}

/// The `[backends]` + `[[routes]]` TOML routing the datastore program to
/// `backend`.
pub(crate) fn datastore_route(backend: &Endpoint) -> String {
    format!(
        "[backends.store]\naddress = \"{}\"\n\n[[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"store\"\n",
        url(backend)
    )
}

/// Writes `value` as the whole object `key` (DS_PUT, truncating);
/// panics unless the server answers DS_OK with the length.
pub(crate) async fn ds_put_bytes(c: &datastore::proto::DatastoreV1Client, key: &str, value: &[u8]) {
    use datastore::proto::{DsKey, DsPutArgs, DsPutRes};
    let r = c
        .ds_put(&DsPutArgs {
            key: DsKey::from(key),
            offset: 0,
            truncate: true,
            data: value.to_vec().into(),
        })
        .await
        .expect("DS_PUT");
    assert_eq!(r, DsPutRes::DsOk(value.len() as u64), "DS_PUT {key}");
}

/// The object's bytes (up to 2 MiB), `None` when the server has no such
/// key.
pub(crate) async fn ds_get_bytes(
    c: &datastore::proto::DatastoreV1Client,
    key: &str,
) -> Result<Option<Vec<u8>>, rpc_runtime::RpcError> {
    use datastore::proto::{DsGetArgs, DsGetRes, DsKey};
    let r = c
        .ds_get(&DsGetArgs {
            key: DsKey::from(key),
            offset: 0,
            count: 2 << 20,
        })
        .await?;
    Ok(match r {
        DsGetRes::DsOk(ok) => Some(ok.data.to_vec()),
        DsGetRes::Default(_) => None,
    })
}
