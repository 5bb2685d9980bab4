//! `bench`: runs the side-by-side benchmarks against C rpcgen + libtirpc
//! and prints Markdown tables (progress goes to stderr).
//!
//! ```text
//! cargo run --release -p bench -- all      # codec, compiler, then RPC
//! cargo run --release -p bench -- codec
//! cargo run --release -p bench -- gen
//! cargo run --release -p bench -- gen-corpus   # xdrgen vs rpcgen, every corpus file
//! cargo run --release -p bench -- rpc
//! cargo run --release -p bench -- broker
//! cargo run --release -p bench -- nfs
//! cargo run --release -p bench -- counts   # instructions per op (callgrind)
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bench::broker::{self as broker_bench, BrokerOptions};
use bench::codec::worker::Fixed;
use bench::codec::{self, CodecOptions};
use bench::nfs::{self, NfsOptions};
use bench::placement::Placement;
use bench::result_line::CodecOp;
use bench::rpc::load::{self, CallKind, LoadConfig};
use bench::rpc::{self, stream, RpcOptions};
use bench::{counts, gen, machine, BenchError, Result};
use clap::{Args, Parser, Subcommand};

/// Side-by-side benchmarks: our generated code, xdr-codec and rpc-runtime
/// against C rpcgen + libtirpc (see docs/BENCHMARKS.md).
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The codec, compiler and RPC benchmarks, in that order.
    All(RunArgs),
    /// The codec benchmark only: encode/decode, generated Rust vs rpcgen C.
    Codec(RunArgs),
    /// The compiler benchmark only: xdrgen vs rpcgen on the same files.
    Gen(RunArgs),
    /// The compiler benchmark on every corpus file in one run: Debian's
    /// rpcsvc/*.x, libtirpc's rpcb_prot.x and every file under
    /// XDRGEN_CORPUS (files rpcgen or xdrgen refuse are listed, not timed).
    GenCorpus(RunArgs),
    /// The RPC benchmark only: client and server, Rust vs C, on loopback.
    Rpc(RunArgs),
    /// The broker benchmark: C datastore clients (1, 64 and 512 processes)
    /// against the C server, datastore-server, and the broker and a C
    /// splice relay (the floor of any process in between) in front of it.
    Broker(BrokerArgs),
    /// The NFS read benchmark: nfs3-client against libnfs's nfs-cat, on
    /// NFS-Ganesha and nfs3-server (needs root, rpcbind, Ganesha, libnfs).
    Nfs {
        /// Passes over every reader and server.
        #[arg(long, default_value_t = 5)]
        passes: usize,
        /// Size of the file read, MiB.
        #[arg(long, default_value_t = 256)]
        file_mib: usize,
    },
    /// Instructions per operation under valgrind's callgrind, ours and
    /// the C reference's: XDR small and list-1000 encode/decode, NULL with
    /// 64 in flight (vs the framing-only limit) and with 1 in flight (vs
    /// libtirpc), client and server (a few minutes).
    Counts {
        /// Where servers and clients run (taskset).
        #[arg(long, value_enum, default_value_t = Placement::Split)]
        placement: Placement,
    },
    /// Worker: echoes 4-byte messages on 127.0.0.1:PORT, until killed.
    #[command(hide = true)]
    TcpEcho {
        #[arg(long)]
        port: u16,
    },
    /// Worker: loopback round trips; prints one `result ...` line.
    #[command(hide = true)]
    TcpPing {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, default_value_t = 0.2)]
        warmup: f64,
        #[arg(long, default_value_t = 1.0)]
        secs: f64,
    },
    /// Worker: the Rust RPC server on 127.0.0.1:PORT, until killed.
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        port: u16,
    },
    /// Worker: the Rust RPC client; prints one `result ...` line.
    #[command(hide = true)]
    Load(LoadArgs),
    /// Worker: the Rust codec loops; prints `codec ...` lines.
    #[command(hide = true)]
    CodecRun {
        #[arg(long, default_value_t = 200)]
        millis: u64,
        #[arg(long, value_delimiter = ',', default_value = "1000")]
        lists: Vec<u32>,
        /// Run only this case's --op, exactly --iters times (untimed).
        #[arg(long, requires_all = ["op", "iters"])]
        case: Option<String>,
        #[arg(long)]
        op: Option<CodecOp>,
        #[arg(long)]
        iters: Option<u64>,
    },
    /// Worker: xdrgen on one file (types, clients, servers) into OUT.
    #[command(hide = true)]
    XdrgenRun {
        spec: PathBuf,
        #[arg(short = 'D')]
        defines: Vec<String>,
        #[arg(short = 'o')]
        out: PathBuf,
    },
    /// Worker: the TCP stream sink on 127.0.0.1:PORT, until killed.
    #[command(hide = true)]
    TcpSink {
        #[arg(long)]
        port: u16,
    },
    /// Worker: the TCP stream source; prints one `result ...` line.
    #[command(hide = true)]
    TcpStream {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, default_value_t = 0.2)]
        warmup: f64,
        #[arg(long, default_value_t = 1.0)]
        secs: f64,
    },
    /// Worker: the plain TCP request/response server on 127.0.0.1:PORT,
    /// until killed.
    #[command(hide = true)]
    TcpBulkServer {
        #[arg(long)]
        port: u16,
    },
    /// Worker: plain TCP request/response exchanges, one at a time;
    /// prints one `result ...` line.
    #[command(hide = true)]
    TcpBulk {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, value_enum)]
        shape: stream::BulkShape,
        #[arg(long, default_value_t = 0.2)]
        warmup: f64,
        #[arg(long, default_value_t = 1.0)]
        secs: f64,
    },
}

/// How long and how often each measurement runs, and where (shared by
/// every benchmark that runs peers).
#[derive(Debug, Args)]
struct Runs {
    /// Passes over everything; the tables show medians over the passes.
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Measured seconds of each client run.
    #[arg(long, default_value_t = 1.0)]
    secs: f64,
    /// Warm-up seconds before each client run's measurement.
    #[arg(long, default_value_t = 0.2)]
    warmup: f64,
    /// Where servers (the broker among them) and clients run (taskset).
    #[arg(long, value_enum, default_value_t = Placement::Split)]
    placement: Placement,
}

/// Settings of a benchmark run.
#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    runs: Runs,
    /// READ/WRITE payload, in bytes (at most 4 MiB minus headers).
    #[arg(long, default_value_t = 1 << 20)]
    payload_bytes: u32,
    /// Minimum milliseconds per codec case and operation and pass.
    #[arg(long, default_value_t = 200)]
    codec_millis: u64,
    /// Entries of the codec list cases, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    lists: Vec<u32>,
    /// A `.x` file for the compiler benchmark (repeatable; default:
    /// rpcsvc/nfs_prot.x, and, when XDRGEN_CORPUS names the corpus
    /// directory, its libvirt/remote_protocol.x with the macros libvirt's
    /// headers define).
    #[arg(long)]
    gen_spec: Vec<PathBuf>,
    /// A macro for every --gen-spec file, `NAME=VALUE` (repeatable).
    #[arg(long)]
    gen_define: Vec<String>,
    /// Runs of each compiler per file and pass.
    #[arg(long, default_value_t = 3)]
    gen_runs: usize,
    /// Skip the cross pairs (Rust client -> C server, C client -> Rust
    /// server).
    #[arg(long)]
    no_cross: bool,
    /// The RPC scenarios to run, comma-separated (default: all), e.g.
    /// `--scenarios null1` for many passes of one-in-flight latency alone.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<rpc::Scenario>,
}

/// Settings of the broker benchmark.
#[derive(Debug, Args)]
struct BrokerArgs {
    #[command(flatten)]
    runs: Runs,
    /// Client process counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64,512")]
    clients: Vec<usize>,
    /// Connections the broker keeps to its backend (`connections` of its
    /// `[backends.store]`).
    #[arg(long, default_value_t = 1)]
    backend_connections: usize,
}

#[derive(Debug, Args)]
struct LoadArgs {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, value_enum)]
    kind: CallKind,
    #[arg(long, default_value_t = 0)]
    size: u32,
    #[arg(long, default_value_t = 1)]
    connections: usize,
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    #[arg(long, default_value_t = 0.2)]
    warmup: f64,
    #[arg(long, default_value_t = 1.0)]
    secs: f64,
}

fn duration(secs: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|e| BenchError::Usage(format!("{what} {secs}: {e}")))
}

fn progress(line: &str) {
    eprintln!("bench: {line}");
}

/// Which parts to run.
#[derive(Debug, Clone, Copy)]
struct Parts {
    codec: bool,
    gen: bool,
    /// The compiler benchmark over every corpus file (instead of the
    /// default files).
    corpus: bool,
    rpc: bool,
}

fn run_benchmarks(args: &RunArgs, parts: Parts) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| BenchError::io("finding this program", e))?;
    let command: Vec<String> = std::env::args().skip(1).collect();
    println!("## bench {}\n", command.join(" "));
    println!("{}", machine::describe());
    println!("Placement: {}.\n", args.runs.placement.describe());
    if parts.codec {
        let opts = CodecOptions {
            passes: args.runs.passes,
            millis: args.codec_millis,
            lists: args.lists.clone(),
            placement: args.runs.placement,
        };
        let report = codec::run(&exe, &opts, &mut progress)?;
        println!(
            "### Codec: ns per operation, medians of {} passes (>= {} ms each)\n",
            opts.passes, opts.millis
        );
        println!("{}", report.render());
    }
    if parts.gen {
        let specs = if parts.corpus {
            gen::corpus_specs()?
        } else if args.gen_spec.is_empty() {
            gen::default_specs()
        } else {
            args.gen_spec
                .iter()
                .map(|p| gen::GenSpec {
                    path: p.clone(),
                    defines: args.gen_define.clone(),
                })
                .collect()
        };
        let runs = args.runs.passes.max(1) * args.gen_runs.max(1);
        let rows = gen::run(&exe, &specs, runs, args.runs.placement, &mut progress)?;
        println!(
            "### Compiler: wall time per run (process start to exit), medians of {runs} runs\n"
        );
        println!("{}", gen::render(&rows));
    }
    if parts.rpc {
        let opts = RpcOptions {
            passes: args.runs.passes,
            warmup: duration(args.runs.warmup, "--warmup")?,
            window: duration(args.runs.secs, "--secs")?,
            payload_bytes: args.payload_bytes,
            placement: args.runs.placement,
            cross: !args.no_cross,
            scenarios: args.scenarios.clone(),
        };
        let report = rpc::run(&exe, &opts, &mut progress)?;
        println!(
            "### RPC on loopback TCP: medians of {} passes of {:.2} s (after {:.2} s warm-up)\n",
            opts.passes,
            opts.window.as_secs_f64(),
            opts.warmup.as_secs_f64()
        );
        println!("{}", report.render());
    }
    Ok(())
}

fn run_broker(args: &BrokerArgs) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| BenchError::io("finding this program", e))?;
    let command: Vec<String> = std::env::args().skip(1).collect();
    let opts = BrokerOptions {
        passes: args.runs.passes,
        warmup: duration(args.runs.warmup, "--warmup")?,
        window: duration(args.runs.secs, "--secs")?,
        placement: args.runs.placement,
        clients: args.clients.clone(),
        backend_connections: args.backend_connections,
    };
    let report = broker_bench::run(&exe, &opts, &mut progress)?;
    println!("## bench {}\n", command.join(" "));
    println!("{}", machine::describe());
    println!("Placement: {}.\n", args.runs.placement.describe());
    println!(
        "Broker: one TCP listener, {} connection(s) to its backend, default limits.\n",
        opts.backend_connections
    );
    println!(
        "### Broker: synchronous C rpcgen clients, medians of {} passes of {:.2} s (after {:.2} s warm-up)\n",
        opts.passes,
        opts.window.as_secs_f64(),
        opts.warmup.as_secs_f64()
    );
    println!("{}", report.render());
    Ok(())
}

fn run_counts(placement: Placement) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| BenchError::io("finding this program", e))?;
    let command: Vec<String> = std::env::args().skip(1).collect();
    let rows = counts::run(&exe, placement, &mut progress)?;
    println!("## bench {}\n", command.join(" "));
    println!("{}", machine::describe());
    println!("Placement: {}.\n", placement.describe());
    println!("### Instructions per operation (valgrind --tool=callgrind, whole processes)\n");
    println!("{}", counts::render(&rows));
    Ok(())
}

fn run_nfs(opts: &NfsOptions) -> Result<()> {
    let command: Vec<String> = std::env::args().skip(1).collect();
    let table = nfs::run(opts, &mut progress)?;
    println!("## bench {}\n", command.join(" "));
    println!("{}", machine::describe());
    println!(
        "### NFSv3 READ of a {} MiB file over loopback TCP, whole process runs, medians of {} passes\n",
        opts.file_mib, opts.passes
    );
    println!("{table}");
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::All(a) => run_benchmarks(
            &a,
            Parts {
                codec: true,
                gen: true,
                corpus: false,
                rpc: true,
            },
        ),
        Cmd::Codec(a) => run_benchmarks(
            &a,
            Parts {
                codec: true,
                gen: false,
                corpus: false,
                rpc: false,
            },
        ),
        Cmd::Gen(a) => run_benchmarks(
            &a,
            Parts {
                codec: false,
                gen: true,
                corpus: false,
                rpc: false,
            },
        ),
        Cmd::GenCorpus(a) => run_benchmarks(
            &a,
            Parts {
                codec: false,
                gen: true,
                corpus: true,
                rpc: false,
            },
        ),
        Cmd::Rpc(a) => run_benchmarks(
            &a,
            Parts {
                codec: false,
                gen: false,
                corpus: false,
                rpc: true,
            },
        ),
        Cmd::Broker(a) => run_broker(&a),
        Cmd::Counts { placement } => run_counts(placement),
        Cmd::Nfs { passes, file_mib } => run_nfs(&NfsOptions { passes, file_mib }),
        Cmd::TcpEcho { port } => broker_bench::rtt::echo(port),
        Cmd::TcpPing { addr, warmup, secs } => {
            let r = broker_bench::rtt::ping(
                addr,
                duration(warmup, "--warmup")?,
                duration(secs, "--secs")?,
            )?;
            println!("{r}");
            Ok(())
        }
        Cmd::XdrgenRun { spec, defines, out } => gen::xdrgen_run(&spec, &defines, &out),
        Cmd::Serve { port } => rpc::server::serve(port),
        Cmd::Load(a) => {
            let cfg = LoadConfig {
                addr: a.addr,
                kind: a.kind,
                size: a.size,
                connections: a.connections,
                in_flight: a.in_flight,
                warmup: duration(a.warmup, "--warmup")?,
                window: duration(a.secs, "--secs")?,
            };
            println!("{}", load::run(&cfg)?);
            Ok(())
        }
        Cmd::CodecRun {
            millis,
            lists,
            case,
            op,
            iters,
        } => {
            let fixed = match (case, op, iters) {
                (Some(case), Some(op), Some(iters)) => Some(Fixed { case, op, iters }),
                _ => None,
            };
            codec::worker::run(millis, &lists, fixed.as_ref(), &mut |line| {
                println!("{line}");
            })
        }
        Cmd::TcpSink { port } => stream::sink(port),
        Cmd::TcpBulkServer { port } => stream::bulk_server(port),
        Cmd::TcpBulk {
            addr,
            shape,
            warmup,
            secs,
        } => {
            let r = stream::bulk(
                addr,
                shape,
                duration(warmup, "--warmup")?,
                duration(secs, "--secs")?,
            )?;
            println!("{r}");
            Ok(())
        }
        Cmd::TcpStream { addr, warmup, secs } => {
            let r = stream::stream(
                addr,
                duration(warmup, "--warmup")?,
                duration(secs, "--secs")?,
            )?;
            println!("{r}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
