//! `broker-load`: starts a `broker` in front of `datastore-server`
//! processes (all on loopback TCP and Unix sockets in a temporary
//! directory), drives many client connections through it with hostile
//! clients mixed in and backends killed on a schedule, and prints a report.
//! Exits 1 when the report shows a lost, duplicated or wrong reply, an
//! unreadable acknowledged write, or a broker that died; 2 when the run
//! could not be made.
//!
//! ```text
//! cargo run --release -p interop-tests --bin broker-load -- \
//!     --connections 10000 --calls 1000000
//! cargo run --release -p interop-tests --bin broker-load -- \
//!     --mix datastore --duration-secs 600 --calls 0 \
//!     --disconnecters 8 --idle 200 --slowloris 50 --never-readers 8
//! ```
//!
//! See `docs/RELIABILITY.md` for the scenarios and their results.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use interop_tests::load::{
    run, CallMix, ChaosMix, KillSchedule, LoadConfig, Transport, MAX_CONNECTIONS,
};
use interop_tests::workspace_bins::{build_workspace_bins, profile_dir};

/// Load and fault injection through a real broker (loopback only).
#[derive(Debug, Parser)]
#[command(name = "broker-load", version)]
struct Args {
    /// Well-behaved client connections, all open before the first call.
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Which broker listener they use.
    #[arg(long, value_enum, default_value_t = TransportArg::Mixed)]
    transport: TransportArg,
    /// The procedures called: `null` (DS_NULL) or `datastore` (PUT/GET of
    /// keys each client owns, with the read-back check).
    #[arg(long, value_enum, default_value_t = MixArg::Null)]
    mix: MixArg,
    /// Calls in flight per connection (1: a synchronous client).
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    /// Calls over all well-behaved connections; 0: call until the
    /// duration passes.
    #[arg(long, default_value_t = 10_000)]
    calls: u64,
    /// Longest load phase, seconds (exactly this long with --calls 0).
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Seconds from the start of the load to the reference RSS sample.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// Seconds a client waits for one reply before counting it lost.
    #[arg(long, default_value_t = 60)]
    reply_timeout_secs: u64,
    /// Bytes of each PUT and GET (datastore mix), at least 8.
    #[arg(long, default_value_t = 64)]
    payload_bytes: u32,
    /// Keys each client owns (datastore mix).
    #[arg(long, default_value_t = 4)]
    keys_per_client: usize,
    /// `datastore-server` processes; more than one: keyed route, 2
    /// replicas.
    #[arg(long, default_value_t = 1)]
    backends: usize,
    /// Connections the broker keeps to each backend.
    #[arg(long, default_value_t = 2)]
    backend_connections: usize,
    /// Kill a backend with SIGKILL every this many seconds (in turn, or
    /// always `--kill-backend`).
    #[arg(long)]
    kill_every_secs: Option<u64>,
    /// The backend (index, from 0) killed every time, instead of each in
    /// turn: killing the backends in turn loses keys written while the
    /// previous one was down (restarted backends come back empty).
    #[arg(long)]
    kill_backend: Option<usize>,
    /// Seconds a killed backend stays down before its restart.
    #[arg(long, default_value_t = 2)]
    down_secs: u64,
    /// Seconds between the last restart and the read-back (with kills).
    #[arg(long, default_value_t = 5)]
    settle_secs: u64,
    /// The broker's `[limits] max_connections` (default: every connection
    /// of the run plus 64).
    #[arg(long)]
    max_connections: Option<usize>,
    /// A further `key = value` line for the broker's `[limits]`
    /// (repeatable).
    #[arg(long = "limit")]
    limits: Vec<String>,
    /// `RUST_LOG` of the broker and the backends.
    #[arg(long, default_value = "error")]
    server_log: String,
    /// Clients that disconnect in the middle of a call, over and over.
    #[arg(long, default_value_t = 0)]
    disconnecters: usize,
    /// Longest pause of a disconnecter between two connections, ms.
    #[arg(long, default_value_t = 50)]
    disconnect_pause_ms: u64,
    /// Connections that send nothing.
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// Connections that send a record one byte a second.
    #[arg(long, default_value_t = 0)]
    slowloris: usize,
    /// Clients that pipeline calls and never read a reply.
    #[arg(long, default_value_t = 0)]
    never_readers: usize,
    /// Object size a never-reading client GETs (datastore mix), bytes.
    #[arg(long, default_value_t = 4096)]
    never_read_bytes: u32,
    /// Seconds the hostile clients run before the well-behaved ones
    /// connect.
    #[arg(long, default_value_t = 0)]
    chaos_head_start_secs: u64,
    /// Seed of the clients' random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TransportArg {
    Tcp,
    Unix,
    Mixed,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MixArg {
    Null,
    Datastore,
}

fn config(a: Args) -> LoadConfig {
    let chaos = ChaosMix {
        disconnecters: a.disconnecters,
        disconnect_pause: Duration::from_millis(a.disconnect_pause_ms),
        idle: a.idle,
        slowloris: a.slowloris,
        slowloris_interval: Duration::from_secs(1),
        never_readers: a.never_readers,
        never_read_payload_bytes: a.never_read_bytes,
        head_start: Duration::from_secs(a.chaos_head_start_secs),
    };
    let all = a.connections.saturating_add(chaos.connections());
    LoadConfig {
        connections: a.connections,
        transport: match a.transport {
            TransportArg::Tcp => Transport::Tcp,
            TransportArg::Unix => Transport::Unix,
            TransportArg::Mixed => Transport::Mixed,
        },
        mix: match a.mix {
            MixArg::Null => CallMix::Null,
            MixArg::Datastore => CallMix::Datastore,
        },
        in_flight: a.in_flight,
        calls: (a.calls > 0).then_some(a.calls),
        duration: Duration::from_secs(a.duration_secs),
        warmup: Duration::from_secs(a.warmup_secs),
        reply_timeout: Duration::from_secs(a.reply_timeout_secs),
        payload_bytes: a.payload_bytes,
        keys_per_client: a.keys_per_client,
        backends: a.backends,
        backend_connections: a.backend_connections,
        kills: a.kill_every_secs.map(|every| KillSchedule {
            every: Duration::from_secs(every),
            down_for: Duration::from_secs(a.down_secs),
            victim: a.kill_backend,
        }),
        settle: Duration::from_secs(a.settle_secs),
        max_connections: a
            .max_connections
            .unwrap_or_else(|| all.saturating_add(64).clamp(1024, 2 * MAX_CONNECTIONS)),
        extra_limits: a.limits,
        server_log: a.server_log,
        chaos,
        seed: a.seed,
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let command: Vec<String> = std::env::args().skip(1).collect();
    let cfg = config(args);
    eprintln!("broker-load: building (or finding up to date) broker and datastore-server");
    let bins = match profile_dir().and_then(|dir| build_workspace_bins(&dir)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("broker-load: cannot build broker and datastore-server: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&cfg, &bins, &|line| eprintln!("broker-load: {line}")) {
        Ok(report) => {
            println!("broker-load {}", command.join(" "));
            print!("{}", report.render());
            if report.violations().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("broker-load: {e}");
            ExitCode::from(2)
        }
    }
}
