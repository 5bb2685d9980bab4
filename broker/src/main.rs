//! `broker`: the ONC RPC request broker daemon. See `broker --help`.

use std::path::PathBuf;
use std::process::ExitCode;

use broker::config::{runtime_dir, Config};
use broker::Broker;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Forwards ONC RPC calls from many client connections (Unix socket or
/// TCP) over shared connections to the backends chosen by program number.
///
/// With no arguments it runs on its embedded default configuration: a Unix
/// socket `broker.sock` in $XDG_RUNTIME_DIR (else the temporary
/// directory), TCP 127.0.0.1:7100, and the datastore program served in
/// process. Logs go to stderr; set RUST_LOG (e.g. `RUST_LOG=debug`) to
/// change the level (default `info`).
#[derive(Debug, Parser)]
#[command(name = "broker", version)]
struct Cli {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("broker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let broker = match Broker::bind(&config).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("broker: {e}");
            return ExitCode::FAILURE;
        }
    };
    broker.run(shutdown_signal()).await;
    ExitCode::SUCCESS
}

/// Prints what `config` does, for `--check-config`.
fn print_summary(config: &Config) {
    println!("configuration is valid");
    for l in &config.listen {
        println!("listen  {l}");
    }
    for (name, b) in &config.backends {
        println!("backend {name} = {}", b.address);
    }
    let Ok(core) = config.core_config(0) else {
        return;
    };
    for (r, plan) in config.routes.iter().zip(&core.routes) {
        let versions = if r.versions.is_empty() {
            "*".to_owned()
        } else {
            r.versions
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
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
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
