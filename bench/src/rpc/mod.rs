//! The RPC benchmark: our client and server against the C `rpcgen` +
//! libtirpc client and server on loopback TCP, side by side in one run.
//!
//! Every client and server is a process of its own, pinned by the same
//! [`Placement`] whichever side it is: the Rust server is `bench serve`,
//! the Rust client `bench load`, the C ones `bench/c/bench_server.c` and
//! `bench/c/bench_client.c`. Each pass runs every scenario for every
//! client/server pair, rotating the pairs' order from pass to pass so that
//! drift in machine load spreads over all of them; the report holds the
//! medians over the passes.

pub mod load;
pub mod report;
pub mod server;
pub mod stream;

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};

use crate::c_peers;
use crate::cpu::process_cpu_ns;
use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::process::run_worker;
use crate::result_line::LoadResult;
use crate::stats::median;
use load::CallKind;
use stream::BulkShape;

/// Settings of an RPC benchmark run.
#[derive(Debug, Clone)]
pub struct RpcOptions {
    /// Passes over every scenario and pair (the report shows medians).
    pub passes: usize,
    /// Warm-up before each measured window.
    pub warmup: Duration,
    /// The measured window of each run.
    pub window: Duration,
    /// READ/WRITE payload, in bytes (1 MiB by default).
    pub payload_bytes: u32,
    /// Where clients and servers run.
    pub placement: Placement,
    /// Also run the cross pairs (Rust client with C server and the other
    /// way round).
    pub cross: bool,
    /// The scenarios to run, in report order (empty: every one).
    pub scenarios: Vec<Scenario>,
}

impl RpcOptions {
    /// The scenarios to run: those asked for, or every one.
    pub fn scenarios(&self) -> Vec<Scenario> {
        if self.scenarios.is_empty() {
            return Scenario::ALL.to_vec();
        }
        let mut v = self.scenarios.clone();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// One implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Our generated code on `rpc-runtime`.
    Rust,
    /// C `rpcgen` + libtirpc.
    C,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Rust => "Rust",
            Side::C => "C",
        })
    }
}

/// A client and the server it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pair {
    /// The client's implementation.
    pub client: Side,
    /// The server's implementation.
    pub server: Side,
}

impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} client -> {} server", self.client, self.server)
    }
}

/// The measured situations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scenario {
    /// NULL, one call in flight on one connection.
    #[value(name = "null1")]
    Null1,
    /// NULL, 64 calls in flight: Rust on one connection; C (one call per
    /// `CLIENT`) as 64 client processes.
    #[value(name = "null64")]
    Null64,
    /// NULL from 16 connections, one call in flight each: Rust as one
    /// process, C as 16 processes.
    #[value(name = "null16conn")]
    Null16Conn,
    /// BENCH_READ of the payload, one call in flight.
    Read,
    /// BENCH_WRITE of the payload, one call in flight.
    Write,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 5] = [
        Scenario::Null1,
        Scenario::Null64,
        Scenario::Null16Conn,
        Scenario::Read,
        Scenario::Write,
    ];

    /// The procedure called.
    pub fn kind(self) -> CallKind {
        match self {
            Scenario::Null1 | Scenario::Null64 | Scenario::Null16Conn => CallKind::Null,
            Scenario::Read => CallKind::Read,
            Scenario::Write => CallKind::Write,
        }
    }

    /// Rust client shape: (connections, calls in flight per connection).
    pub fn rust_shape(self) -> (usize, usize) {
        match self {
            Scenario::Null64 => (1, 64),
            Scenario::Null16Conn => (16, 1),
            _ => (1, 1),
        }
    }

    /// C client processes (each one connection, one call in flight).
    pub fn c_processes(self) -> usize {
        match self {
            Scenario::Null64 => 64,
            Scenario::Null16Conn => 16,
            _ => 1,
        }
    }

    /// Whether throughput is reported in MiB/s (and compared with the
    /// plain TCP stream).
    pub fn moves_data(self) -> bool {
        matches!(self.kind(), CallKind::Read | CallKind::Write)
    }

    /// A title for the report.
    pub fn title(self, payload_bytes: u32) -> String {
        let payload = if payload_bytes == 1 << 20 {
            "1 MiB".to_owned()
        } else {
            format!("{payload_bytes} bytes")
        };
        match self {
            Scenario::Null1 => "NULL, 1 call in flight".to_owned(),
            Scenario::Null64 => {
                "NULL, 64 calls in flight (Rust: 1 connection; C: 64 processes)".to_owned()
            }
            Scenario::Null16Conn => {
                "NULL, 16 connections x 1 call in flight (Rust: 1 process; C: 16 processes)"
                    .to_owned()
            }
            Scenario::Read => format!("READ {payload}, 1 call in flight"),
            Scenario::Write => format!("WRITE {payload}, 1 call in flight"),
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Measurement {
    /// Calls per second in the window.
    pub calls_per_sec: f64,
    /// Payload MiB per second in the window (0 for NULL).
    pub mib_per_sec: f64,
    /// Median latency, µs (`None` when the client kept no samples).
    pub p50_us: Option<f64>,
    /// 99th percentile latency, µs.
    pub p99_us: Option<f64>,
    /// Client CPU time per call in the window, µs.
    pub client_cpu_us: Option<f64>,
    /// Server CPU time per call (all the client's calls), µs.
    pub server_cpu_us: Option<f64>,
}

impl Measurement {
    fn new(r: &LoadResult, server_cpu_ns: u64) -> Measurement {
        let secs = r.window_ns as f64 / 1e9;
        let per_call = |ns: u64, calls: u64| (calls > 0).then(|| ns as f64 / calls as f64 / 1e3);
        let us = |ns: u64| (ns > 0).then(|| ns as f64 / 1e3);
        Measurement {
            calls_per_sec: r.calls as f64 / secs,
            mib_per_sec: r.bytes as f64 / secs / f64::from(1u32 << 20),
            p50_us: us(r.p50_ns),
            p99_us: us(r.p99_ns),
            client_cpu_us: per_call(r.client_cpu_ns, r.calls),
            server_cpu_us: per_call(server_cpu_ns, r.total_calls),
        }
    }

    /// Field-wise medians of several measurements.
    fn median_of(ms: &[Measurement]) -> Measurement {
        let med = |f: &dyn Fn(&Measurement) -> Option<f64>| {
            median(&ms.iter().filter_map(f).collect::<Vec<_>>())
        };
        Measurement {
            calls_per_sec: med(&|m| Some(m.calls_per_sec)).unwrap_or(0.0),
            mib_per_sec: med(&|m| Some(m.mib_per_sec)).unwrap_or(0.0),
            p50_us: med(&|m| m.p50_us),
            p99_us: med(&|m| m.p99_us),
            client_cpu_us: med(&|m| m.client_cpu_us),
            server_cpu_us: med(&|m| m.server_cpu_us),
        }
    }
}

/// The medians of an RPC benchmark run.
#[derive(Debug, Clone)]
pub struct RpcReport {
    /// The settings used.
    pub options: RpcOptions,
    /// Medians per scenario and pair.
    pub results: HashMap<(Scenario, Pair), Measurement>,
    /// Every pass's measurement per scenario and pair, in pass order.
    pub passes: HashMap<(Scenario, Pair), Vec<Measurement>>,
    /// The plain TCP stream's median (payload MiB/s in `mib_per_sec`).
    pub stream: Measurement,
    /// Every pass's plain TCP stream, in pass order.
    pub stream_passes: Vec<Measurement>,
    /// The framing-only limit's median (records per second in
    /// `calls_per_sec`), measured when [`Scenario::Null64`] runs.
    pub framing: Measurement,
    /// Every pass's framing-only limit, in pass order.
    pub framing_passes: Vec<Measurement>,
    /// Plain TCP request/response in the shape of READ (a 4-byte request,
    /// 1 MiB back), one at a time: its median, measured when READ runs.
    pub fetch: Measurement,
    /// Every pass's READ-shaped request/response, in pass order.
    pub fetch_passes: Vec<Measurement>,
    /// The same in the shape of WRITE (1 MiB out, 4 bytes back).
    pub push: Measurement,
    /// Every pass's WRITE-shaped request/response, in pass order.
    pub push_passes: Vec<Measurement>,
}

/// The processes and programs of one run.
struct Peers {
    exe: PathBuf,
    c_client: PathBuf,
    rust_server: CServer,
    c_server: CServer,
    sink: CServer,
    bulk_server: CServer,
    framing_client: PathBuf,
    framing_server: CServer,
}

/// Starts `cmd` and waits until it accepts on `127.0.0.1:port`.
fn start_server(cmd: Command, port: u16) -> Result<CServer> {
    Ok(CServer::spawn(
        cmd,
        Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
    )?)
}

fn secs_arg(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// The arguments of `side`'s client (`bench load ...` for Rust,
/// `bench/c/bench_client.c` for C) running `scenario` with `size`-byte
/// payloads against `addr`: `warmup`, then a `window` measured.
pub fn client_args(
    side: Side,
    scenario: Scenario,
    size: u32,
    addr: SocketAddr,
    warmup: Duration,
    window: Duration,
) -> Vec<String> {
    let kind = scenario.kind().as_arg().to_owned();
    match side {
        Side::Rust => {
            let (connections, in_flight) = scenario.rust_shape();
            vec![
                "load".into(),
                "--addr".into(),
                addr.to_string(),
                "--kind".into(),
                kind,
                "--size".into(),
                size.to_string(),
                "--connections".into(),
                connections.to_string(),
                "--in-flight".into(),
                in_flight.to_string(),
                "--warmup".into(),
                secs_arg(warmup),
                "--secs".into(),
                secs_arg(window),
            ]
        }
        Side::C => vec![
            "-m".into(),
            kind,
            "-n".into(),
            size.to_string(),
            "-p".into(),
            scenario.c_processes().to_string(),
            "-w".into(),
            secs_arg(warmup),
            "-t".into(),
            secs_arg(window),
            addr.ip().to_string(),
            addr.port().to_string(),
        ],
    }
}

impl Peers {
    fn start(exe: &Path, placement: Placement) -> Result<Peers> {
        let c_server_bin = c_peers::bench_server()?;
        let c_client = c_peers::bench_client()?;
        let port = free_tcp_port()?;
        let mut cmd = placement.command(Role::Server, exe);
        cmd.args(["serve", "--port", &port.to_string()]);
        let rust_server = start_server(cmd, port)?;
        let port = free_tcp_port()?;
        let mut cmd = placement.command(Role::Server, &c_server_bin);
        cmd.args(["tcp", &port.to_string()]);
        let c_server = start_server(cmd, port)?;
        let port = free_tcp_port()?;
        let mut cmd = placement.command(Role::Server, exe);
        cmd.args(["tcp-sink", "--port", &port.to_string()]);
        let sink = start_server(cmd, port)?;
        let port = free_tcp_port()?;
        let mut cmd = placement.command(Role::Server, exe);
        cmd.args(["tcp-bulk-server", "--port", &port.to_string()]);
        let bulk_server = start_server(cmd, port)?;
        let port = free_tcp_port()?;
        let mut cmd = placement.command(Role::Server, c_peers::framing_server()?);
        cmd.args(["tcp", &port.to_string()]);
        let framing_server = start_server(cmd, port)?;
        Ok(Peers {
            exe: exe.to_path_buf(),
            c_client,
            rust_server,
            c_server,
            sink,
            bulk_server,
            framing_client: c_peers::framing_client()?,
            framing_server,
        })
    }

    fn server(&mut self, side: Side) -> &mut CServer {
        match side {
            Side::Rust => &mut self.rust_server,
            Side::C => &mut self.c_server,
        }
    }

    /// Runs `cmd` (a client) while reading the CPU time of `server_pid`.
    fn run_client(cmd: &mut Command, server_pid: u32, opts: &RpcOptions) -> Result<Measurement> {
        let cpu0 = process_cpu_ns(Some(server_pid))?;
        let stdout = run_worker(cmd, opts.warmup + opts.window + Duration::from_secs(60))?;
        let cpu1 = process_cpu_ns(Some(server_pid))?;
        let r = LoadResult::from_output(&stdout)?;
        Ok(Measurement::new(&r, cpu1.saturating_sub(cpu0)))
    }

    fn measure(
        &mut self,
        scenario: Scenario,
        pair: Pair,
        opts: &RpcOptions,
    ) -> Result<Measurement> {
        let server = self.server(pair.server);
        server.check_running()?;
        let pid = server.pid();
        let addr = server
            .tcp_addr()
            .ok_or_else(|| BenchError::Usage("server is not on TCP".to_owned()))?;
        let size = match scenario.kind() {
            CallKind::Null => 0,
            _ => opts.payload_bytes,
        };
        let program = match pair.client {
            Side::Rust => &self.exe,
            Side::C => &self.c_client,
        };
        let mut cmd = opts.placement.command(Role::Client, program);
        cmd.args(client_args(
            pair.client,
            scenario,
            size,
            addr,
            opts.warmup,
            opts.window,
        ));
        Self::run_client(&mut cmd, pid, opts)
    }

    fn measure_stream(&mut self, opts: &RpcOptions) -> Result<Measurement> {
        self.sink.check_running()?;
        let addr = self
            .sink
            .tcp_addr()
            .ok_or_else(|| BenchError::Usage("sink is not on TCP".to_owned()))?;
        let mut cmd = opts.placement.command(Role::Client, &self.exe);
        cmd.args(["tcp-stream", "--addr", &addr.to_string()])
            .args(["--warmup", &secs_arg(opts.warmup)])
            .args(["--secs", &secs_arg(opts.window)]);
        Self::run_client(&mut cmd, self.sink.pid(), opts)
    }

    /// Plain TCP request/response exchanges of `shape`, one at a time.
    fn measure_bulk(&mut self, shape: BulkShape, opts: &RpcOptions) -> Result<Measurement> {
        self.bulk_server.check_running()?;
        let addr = self
            .bulk_server
            .tcp_addr()
            .ok_or_else(|| BenchError::Usage("bulk server is not on TCP".to_owned()))?;
        let shape = match shape {
            BulkShape::Fetch => "fetch",
            BulkShape::Push => "push",
        };
        let mut cmd = opts.placement.command(Role::Client, &self.exe);
        cmd.args(["tcp-bulk", "--addr", &addr.to_string(), "--shape", shape])
            .args(["--warmup", &secs_arg(opts.warmup)])
            .args(["--secs", &secs_arg(opts.window)]);
        Self::run_client(&mut cmd, self.bulk_server.pid(), opts)
    }

    /// The framing-only limit at the depth of [`Scenario::Null64`]'s Rust
    /// client: `framing_client` -> `framing_server`.
    fn measure_framing(&mut self, opts: &RpcOptions) -> Result<Measurement> {
        let server = &mut self.framing_server;
        server.check_running()?;
        let addr = server
            .tcp_addr()
            .ok_or_else(|| BenchError::Usage("framing server is not on TCP".to_owned()))?;
        let (_, depth) = Scenario::Null64.rust_shape();
        let mut cmd = opts.placement.command(Role::Client, &self.framing_client);
        cmd.args(["-d", &depth.to_string()])
            .args(["-w", &secs_arg(opts.warmup)])
            .args(["-t", &secs_arg(opts.window)])
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string());
        Self::run_client(&mut cmd, server.pid(), opts)
    }
}

/// The pairs to run: Rust/Rust and C/C, plus the cross pairs if asked.
pub fn pairs(cross: bool) -> Vec<Pair> {
    let mut v = vec![
        Pair {
            client: Side::Rust,
            server: Side::Rust,
        },
        Pair {
            client: Side::C,
            server: Side::C,
        },
    ];
    if cross {
        v.push(Pair {
            client: Side::Rust,
            server: Side::C,
        });
        v.push(Pair {
            client: Side::C,
            server: Side::Rust,
        });
    }
    v
}

/// Runs the RPC benchmark. `exe` is the `bench` binary (for the Rust
/// server, client and stream workers); `progress` gets a line per run.
///
/// # Errors
///
/// [`BenchError::CPeer`] if the C peers cannot be built or started,
/// [`BenchError::Worker`] if a client fails (a wrong reply, an RPC error),
/// [`BenchError::Io`] if a server's CPU time cannot be read.
pub fn run(exe: &Path, opts: &RpcOptions, progress: &mut dyn FnMut(&str)) -> Result<RpcReport> {
    if opts.passes == 0 || opts.window.is_zero() {
        return Err(BenchError::Usage(
            "passes and the measured window must be non-zero".to_owned(),
        ));
    }
    let mut peers = Peers::start(exe, opts.placement)?;
    let pairs = pairs(opts.cross);
    let scenarios = opts.scenarios();
    let mut samples: HashMap<(Scenario, Pair), Vec<Measurement>> = HashMap::new();
    let mut stream = Vec::new();
    let mut framing = Vec::new();
    let (mut fetch, mut push) = (Vec::new(), Vec::new());
    for pass in 0..opts.passes {
        if scenarios.iter().any(|s| s.moves_data()) {
            let m = peers.measure_stream(opts)?;
            progress(&format!(
                "pass {}/{}: TCP stream: {:.0} MiB/s",
                pass + 1,
                opts.passes,
                m.mib_per_sec
            ));
            stream.push(m);
        }
        for &scenario in &scenarios {
            let bulk = match scenario {
                Scenario::Read => Some((BulkShape::Fetch, &mut fetch)),
                Scenario::Write => Some((BulkShape::Push, &mut push)),
                _ => None,
            };
            if let Some((shape, into)) = bulk {
                let m = peers.measure_bulk(shape, opts)?;
                progress(&format!(
                    "pass {}/{}: TCP request/response ({shape:?}): {:.0} MiB/s",
                    pass + 1,
                    opts.passes,
                    m.mib_per_sec
                ));
                into.push(m);
            }
            if scenario == Scenario::Null64 {
                let m = peers.measure_framing(opts)?;
                progress(&format!(
                    "pass {}/{}: framing-only limit: {:.0} records/s",
                    pass + 1,
                    opts.passes,
                    m.calls_per_sec
                ));
                framing.push(m);
            }
            for i in 0..pairs.len() {
                let Some(&pair) = pairs.get((i + pass) % pairs.len()) else {
                    continue;
                };
                let m = peers.measure(scenario, pair, opts)?;
                progress(&format!(
                    "pass {}/{}: {}: {pair}: {:.0} calls/s",
                    pass + 1,
                    opts.passes,
                    scenario.title(opts.payload_bytes),
                    m.calls_per_sec
                ));
                samples.entry((scenario, pair)).or_default().push(m);
            }
        }
    }
    for side in [Side::Rust, Side::C] {
        peers.server(side).check_running()?;
    }
    Ok(RpcReport {
        options: opts.clone(),
        results: samples
            .iter()
            .map(|(k, v)| (*k, Measurement::median_of(v)))
            .collect(),
        passes: samples,
        stream: Measurement::median_of(&stream),
        stream_passes: stream,
        framing: Measurement::median_of(&framing),
        framing_passes: framing,
        fetch: Measurement::median_of(&fetch),
        fetch_passes: fetch,
        push: Measurement::median_of(&push),
        push_passes: push,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(scenarios: Vec<Scenario>) -> RpcOptions {
        RpcOptions {
            passes: 1,
            warmup: Duration::ZERO,
            window: Duration::from_secs(1),
            payload_bytes: 1,
            placement: Placement::None,
            cross: false,
            scenarios,
        }
    }

    #[test]
    fn scenarios_asked_for_run_once_in_report_order_and_none_means_all() {
        assert_eq!(options(vec![]).scenarios(), Scenario::ALL.to_vec());
        let asked = vec![Scenario::Write, Scenario::Null1, Scenario::Write];
        assert_eq!(
            options(asked).scenarios(),
            vec![Scenario::Null1, Scenario::Write]
        );
    }
}
