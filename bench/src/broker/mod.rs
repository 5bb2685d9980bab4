//! The broker benchmark: synchronous C `rpcgen`
//! clients (`bench/c/ds_bench_client.c`, one process per client) calling
//! NULL and 4 KiB and 1 MiB `DS_GET`s, from 1, 64 and 512 processes, against
//! the C `rpcgen` datastore server, the Rust `datastore-server` directly,
//! the broker in front of that Rust server, and the relay floor (a C
//! `splice` relay, `bench/c/relay.c`, in front of the same server: what
//! any process in between costs when the data crosses loopback twice)
//! and a C server answering from memory (`bench/c/canned_server.c`):
//! waiting in `epoll_wait`, the CPU per call of a process that only reads
//! and answers each call on the clients' connections; polling, the most
//! calls per second these clients can make (the client limit); plus one
//! loopback TCP round trip as the yardstick of the broker's added
//! latency, all in one run.

pub mod peers;
mod report;
pub mod rtt;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};

use crate::cpu::process_cpu_ns;
use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::process;
use crate::result_line::LoadResult;

pub use report::BrokerReport;

/// Settings of a broker benchmark run.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// Passes over every case; the report shows medians.
    pub passes: usize,
    /// Warm-up before each run's window.
    pub warmup: Duration,
    /// Each run's measured window.
    pub window: Duration,
    /// Where servers (the broker among them) and clients run.
    pub placement: Placement,
    /// Client process counts (default 1, 64 and 512).
    pub clients: Vec<usize>,
    /// Connections the broker keeps to its backend.
    pub backend_connections: usize,
}

/// The procedure called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    /// `DS_NULL`.
    Null,
    /// `DS_GET` of a whole object of this many bytes.
    Get(u32),
}

impl Call {
    /// The cases of the benchmark: NULL, 4 KiB and 1 MiB reads.
    pub const ALL: [Call; 3] = [Call::Null, Call::Get(4096), Call::Get(1 << 20)];

    /// A short name for the report.
    pub fn title(self) -> String {
        match self {
            Call::Null => "NULL".to_owned(),
            Call::Get(n) if n >= 1 << 20 => format!("GET {} MiB", n >> 20),
            Call::Get(n) => format!("GET {} KiB", n >> 10),
        }
    }
}

/// Who answers the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The C `rpcgen` server (single-threaded `svc_run`), directly.
    CServer,
    /// The Rust `datastore-server`, directly.
    RustServer,
    /// The relay floor: `bench/c/relay.c` copying bytes with `splice`
    /// between each client and its own connection to the Rust
    /// `datastore-server`.
    Relay,
    /// The broker, forwarding to the Rust `datastore-server`.
    Broker,
    /// `bench/c/canned_server.c` answering every call from memory (one
    /// epoll process, a read and a write per call).
    Canned,
    /// The client limit: the same server polling (never asleep, so no
    /// client pays to wake it up), resumed only for its own runs.
    CannedPolling,
}

impl Target {
    /// Every target, in report order.
    pub const ALL: [Target; 6] = [
        Target::CServer,
        Target::RustServer,
        Target::Relay,
        Target::Broker,
        Target::Canned,
        Target::CannedPolling,
    ];

    /// A short name for the report.
    pub fn title(self) -> &'static str {
        match self {
            Target::CServer => "C rpcgen server",
            Target::RustServer => "datastore-server",
            Target::Relay => "C relay -> datastore-server",
            Target::Broker => "broker -> datastore-server",
            Target::Canned => "C canned replies",
            Target::CannedPolling => "C canned replies, polling",
        }
    }
}

/// One run's figures.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sample {
    /// Calls per second in the window, all processes together.
    pub calls_per_sec: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// CPU time of the process answering (the broker or the relay, for
    /// [`Target::Broker`] and [`Target::Relay`]) per call, microseconds,
    /// warm-up included.
    pub server_cpu_us: f64,
    /// CPU time of the backend behind the broker or the relay per call,
    /// microseconds ([`Target::Broker`] and [`Target::Relay`] only, else
    /// 0).
    pub backend_cpu_us: f64,
}

fn sample_of(r: &LoadResult, server_cpu_ns: u64, backend_cpu_ns: u64) -> Sample {
    let per_call = |ns: u64| ns as f64 / 1000.0 / r.total_calls.max(1) as f64;
    Sample {
        calls_per_sec: r.calls as f64 / (r.window_ns.max(1) as f64 / 1e9),
        p50_us: r.p50_ns as f64 / 1000.0,
        p99_us: r.p99_ns as f64 / 1000.0,
        server_cpu_us: per_call(server_cpu_ns),
        backend_cpu_us: per_call(backend_cpu_ns),
    }
}

/// Runs `cmd` to its end (killed after `timeout`); its `result ...` line.
fn run_worker(mut cmd: std::process::Command, timeout: Duration) -> Result<LoadResult> {
    LoadResult::from_output(&process::run_worker(&mut cmd, timeout)?)
}

fn cpu_of(server: &CServer) -> Result<u64> {
    process_cpu_ns(Some(server.pid()))
}

/// Runs the benchmark; `exe` is this program (for the echo worker),
/// `progress` gets a line per run.
///
/// # Errors
///
/// [`BenchError::CPeer`] if a C peer cannot be built or a server cannot
/// start, [`BenchError::Worker`] if a client fails (a wrong reply, an RPC
/// error), [`BenchError::Io`] if a CPU time cannot be read.
pub fn run(
    exe: &Path,
    opts: &BrokerOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BrokerReport> {
    if opts.passes == 0 || opts.window.is_zero() || opts.clients.is_empty() {
        return Err(BenchError::Usage(
            "passes, the window and the client counts must be non-zero".to_owned(),
        ));
    }
    let bins = peers::build_bins(exe)?;
    let client = peers::ds_bench_client()?;
    let c_server = peers::c_datastore_server()?;
    let relay = crate::c_peers::relay()?;
    let canned = crate::c_peers::canned_server()?;
    let mut targets = peers::Targets::start(
        &bins,
        &c_server,
        &relay,
        &canned,
        opts.placement,
        opts.backend_connections,
    )?;
    let echo_port = free_tcp_port()?;
    let mut echo_cmd = opts.placement.command(Role::Server, exe);
    echo_cmd.args(["tcp-echo", "--port", &echo_port.to_string()]);
    let echo_addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, echo_port));
    let _echo = CServer::spawn(echo_cmd, Endpoint::Tcp(echo_addr))?;

    // 512 processes start, connect and end: far more than the window.
    let worker_timeout = opts.warmup + opts.window + Duration::from_secs(120);
    let secs = format!("{}", opts.window.as_secs_f64());
    let warmup = format!("{}", opts.warmup.as_secs_f64());
    let mut samples: HashMap<(Call, usize, Target), Vec<Sample>> = HashMap::new();
    let mut rtt = Vec::new();
    for pass in 0..opts.passes {
        let mut ping = opts.placement.command(Role::Client, exe);
        ping.args([
            "tcp-ping",
            "--addr",
            &echo_addr.to_string(),
            "--warmup",
            &warmup,
            "--secs",
            &secs,
        ]);
        let r = run_worker(ping, worker_timeout)?;
        progress(&format!(
            "pass {}/{}: loopback TCP round trip p50 {:.1} us",
            pass + 1,
            opts.passes,
            r.p50_ns as f64 / 1000.0
        ));
        rtt.push(sample_of(&r, 0, 0));
        for call in Call::ALL {
            for &procs in &opts.clients {
                for i in 0..Target::ALL.len() {
                    let Some(&target) = Target::ALL.get((i + pass) % Target::ALL.len()) else {
                        continue;
                    };
                    let (server, backend) = match target {
                        Target::CServer => (&targets.c_server, None),
                        Target::RustServer => (&targets.rust_server, None),
                        Target::Relay => (&targets.relay, Some(&targets.rust_server)),
                        Target::Broker => (&targets.broker, Some(&targets.rust_server)),
                        Target::Canned => (&targets.canned, None),
                        Target::CannedPolling => (&targets.canned_polling, None),
                    };
                    let Some(addr) = server.tcp_addr() else {
                        continue;
                    };
                    let (mode, size) = match call {
                        Call::Null => ("null", 0),
                        Call::Get(n) => ("get", n),
                    };
                    let mut cmd = opts.placement.command(Role::Client, &client);
                    cmd.args(["-m", mode, "-n", &size.to_string()])
                        .args(["-p", &procs.to_string(), "-t", &secs, "-w", &warmup])
                        .arg(addr.ip().to_string())
                        .arg(addr.port().to_string());
                    let cpu0 = cpu_of(server)?;
                    let bcpu0 = backend.map(cpu_of).transpose()?.unwrap_or(0);
                    let r = if target == Target::CannedPolling {
                        process::with_resumed(server, || run_worker(cmd, worker_timeout))?
                    } else {
                        run_worker(cmd, worker_timeout)?
                    };
                    let cpu = cpu_of(server)?.saturating_sub(cpu0);
                    let bcpu = backend
                        .map(cpu_of)
                        .transpose()?
                        .unwrap_or(0)
                        .saturating_sub(bcpu0);
                    let s = sample_of(&r, cpu, bcpu);
                    progress(&format!(
                        "pass {}/{}: {} x{procs}: {}: {:.0} calls/s, p50 {:.1} us",
                        pass + 1,
                        opts.passes,
                        call.title(),
                        target.title(),
                        s.calls_per_sec,
                        s.p50_us
                    ));
                    samples.entry((call, procs, target)).or_default().push(s);
                }
            }
        }
    }
    for s in [
        &mut targets.c_server,
        &mut targets.rust_server,
        &mut targets.relay,
        &mut targets.broker,
        &mut targets.canned,
        &mut targets.canned_polling,
    ] {
        s.check_running()?;
    }
    Ok(BrokerReport::new(opts.clone(), samples, rtt))
}
