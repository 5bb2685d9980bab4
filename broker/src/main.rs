//! `broker`: the ONC RPC request broker daemon. See `broker --help`.

use std::path::PathBuf;
use std::process::ExitCode;

use broker::admin::ctl::{self, CtlCommand};
use broker::config::{runtime_dir, Config};
use broker::{Broker, BrokerHandle, ConfigSource};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Forwards ONC RPC calls from many clients (Unix socket, TCP or UDP)
/// over shared connections to the backends chosen by program number.
///
/// With no arguments it runs on its embedded default configuration: a Unix
/// socket `broker.sock` in $XDG_RUNTIME_DIR (else the temporary
/// directory), TCP and UDP 127.0.0.1:7100, and the datastore program served
/// in process, registered with the local rpcbind when one runs (see
/// `--print-default-config`). Logs go to stderr; set RUST_LOG (e.g. `RUST_LOG=debug`) to
/// change the level (default `info`).
///
/// SIGHUP reloads the configuration file without dropping calls in
/// flight (an invalid file is logged and the running configuration kept);
/// SIGINT or SIGTERM stop the broker (removing its rpcbind
/// registrations). `broker ctl` talks to a running
/// broker over its admin socket.
#[derive(Debug, Parser)]
#[command(name = "broker", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The TOML configuration file (default: the embedded configuration).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration, print it as resolved, and exit (0 if
    /// valid, 1 if not).
    #[arg(long)]
    check_config: bool,
    /// Print the embedded default configuration and exit.
    #[arg(long)]
    print_default_config: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Talk to a running broker over its admin socket (specs/broker_admin.x).
    Ctl {
        /// The admin socket (default: broker-admin.sock in
        /// $XDG_RUNTIME_DIR, else the temporary directory, as the embedded
        /// configuration has it).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// How long to wait for the broker, connection and answer
        /// together, in seconds; then it gives up and asks whether the
        /// broker is running.
        #[arg(long, value_name = "SECONDS", default_value_t = ctl::DEFAULT_CTL_TIMEOUT.as_secs_f64())]
        timeout: f64,
        #[command(subcommand)]
        request: CtlRequest,
    },
}

#[derive(Debug, Subcommand)]
enum CtlRequest {
    /// Listeners, routes, backends with health, and the supervised tasks.
    Status,
    /// Counters (calls forwarded, failed, late replies...) and gauges.
    Stats,
    /// Take backend NAME out of routing: its keys go to their next replica,
    /// its calls in flight finish.
    Drain {
        /// The backend's name in the configuration.
        name: String,
    },
    /// Put drained backend NAME back into routing.
    Undrain {
        /// The backend's name in the configuration.
        name: String,
    },
    /// Re-read the configuration file and apply it (as SIGHUP does).
    Reload,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Some(Command::Ctl {
        socket,
        timeout,
        request,
    }) = cli.command
    {
        return run_ctl(socket, timeout, request);
    }
    if cli.print_default_config {
        print!("{}", Config::DEFAULT_TOML);
        return ExitCode::SUCCESS;
    }
    let loaded = match &cli.config {
        Some(path) => Config::from_file(path).map_err(|e| format!("{}: {e}", path.display())),
        None => Config::embedded_default().map_err(|e| format!("embedded configuration: {e}")),
    };
    let config = match loaded {
        Ok(c) => c.resolve_relative_paths(&runtime_dir()),
        Err(e) => {
            eprintln!("broker: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        print_summary(&config);
        return ExitCode::SUCCESS;
    }
    // Current-thread when the process may use one CPU (pinned), one
    // worker per CPU otherwise.
    let runtime = match rpc_runtime::runtime::for_available_cpus() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("broker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let source = cli
        .config
        .map_or(ConfigSource::Embedded, ConfigSource::File);
    runtime.block_on(run(config, source))
}

/// `broker ctl`: prints the answer, or the error on stderr (exit 1).
fn run_ctl(socket: Option<PathBuf>, timeout: f64, request: CtlRequest) -> ExitCode {
    let socket = socket.unwrap_or_else(ctl::default_socket);
    let Ok(timeout) = std::time::Duration::try_from_secs_f64(timeout) else {
        eprintln!("broker ctl: --timeout {timeout}: not a number of seconds");
        return ExitCode::FAILURE;
    };
    let command = match request {
        CtlRequest::Status => CtlCommand::Status,
        CtlRequest::Stats => CtlCommand::Stats,
        CtlRequest::Drain { name } => CtlCommand::Drain(name),
        CtlRequest::Undrain { name } => CtlCommand::Undrain(name),
        CtlRequest::Reload => CtlCommand::Reload,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("broker ctl: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ctl::run(&socket, &command, timeout)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("broker ctl: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config, source: ConfigSource) -> ExitCode {
    let broker = match Broker::bind_from(&config, source).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("broker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let hup = tokio::spawn(reload_on_sighup(broker.handle()));
    broker.run(rpc_runtime::runtime::shutdown_signal()).await;
    hup.abort();
    ExitCode::SUCCESS
}

/// Reloads the configuration on every SIGHUP (errors are logged by
/// [`BrokerHandle::reload`]).
async fn reload_on_sighup(handle: BrokerHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle SIGHUP: reload with `broker ctl reload`");
            return;
        }
    };
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the configuration");
        let _ = handle.reload().await;
    }
}

/// Prints what `config` does, for `--check-config`.
fn print_summary(config: &Config) {
    println!("configuration is valid");
    for l in &config.listen {
        println!("listen  {l}");
    }
    if config.rpcbind.register {
        println!("rpcbind register the routed program versions");
    }
    for l in config.listen.iter().filter(|l| l.is_open_to_the_network()) {
        println!(
            "warning listen {} is a non-loopback address with no allow_programs",
            l.address
        );
    }
    if let Some(p) = &config.admin.socket {
        println!("admin   unix://{} mode 0600", p.display());
    }
    if let Some(a) = &config.admin.metrics {
        println!("metrics http://{a}/metrics");
    }
    let l = &config.limits;
    println!(
        "limits  max_connections {} (within the descriptor limit less reserved_fds {}), max_record_bytes {}, max_in_flight_per_client {}",
        l.max_connections, l.reserved_fds, l.max_record_bytes, l.max_in_flight_per_client
    );
    for (name, b) in &config.backends {
        println!("backend {name} = {}", b.address);
    }
    let Ok(core) = config.core_config(0) else {
        return;
    };
    for (r, plan) in config.routes.iter().zip(&core.routes) {
        let versions = broker::admin::versions_label(&r.versions);
        let pool = plan
            .pool
            .iter()
            .filter_map(|b| core.backends.get(b.0).map(|s| s.name.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let key = if plan.key.is_some() {
            "by key"
        } else {
            "in turn"
        };
        println!(
            "route   program {:#x} version {versions} -> [{pool}] {key}, {} replica(s), timeout {} ms, {} retries",
            r.program,
            plan.replicas,
            plan.timeout.as_millis(),
            plan.retries,
        );
        let name = |n: u32| {
            r.procedures
                .iter()
                .find(|p| p.get_ref().procedure == n)
                .and_then(|p| p.get_ref().name.clone())
        };
        for line in broker::core::policy::describe(plan, name) {
            println!("          {line}");
        }
    }
}
