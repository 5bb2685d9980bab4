//! `datastore-server`: serves the datastore protocol (`specs/datastore.x`)
//! from memory. See `datastore-server --help`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use datastore::{remove_stale_socket, Endpoint, Store, StoreLimits};
use tokio::net::{TcpListener, UnixListener};
use tracing_subscriber::EnvFilter;

/// Serves the datastore protocol (specs/datastore.x, program 0x2000DA7A
/// version 1) from an in-memory store, over TCP and Unix sockets, with
/// ONC RPC record marking.
///
/// Logs go to stderr; set RUST_LOG to change the level (default `info`).
#[derive(Debug, Parser)]
#[command(name = "datastore-server", version)]
struct Cli {
    /// Where to listen: tcp://HOST:PORT or unix:///PATH. Repeat to listen
    /// on several addresses.
    #[arg(long, value_name = "URL", default_value = "tcp://127.0.0.1:7101")]
    listen: Vec<Endpoint>,
    /// Largest object, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = StoreLimits::default().max_object_bytes)]
    max_object_bytes: u64,
    /// Most bytes held in all objects together.
    #[arg(long, value_name = "BYTES", default_value_t = StoreLimits::default().max_total_bytes)]
    max_total_bytes: u64,
    /// Most objects held.
    #[arg(long, value_name = "COUNT", default_value_t = StoreLimits::default().max_objects)]
    max_objects: usize,
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
    let limits = StoreLimits {
        max_object_bytes: cli.max_object_bytes,
        max_total_bytes: cli.max_total_bytes,
        max_objects: cli.max_objects,
        ..StoreLimits::default()
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("datastore-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.listen, limits)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("datastore-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A bound listener; a Unix one removes its socket file when dropped.
enum Bound {
    Tcp(TcpListener),
    Unix(UnixListener, UnixSocketFile),
}

struct UnixSocketFile(std::path::PathBuf);

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn bind(endpoint: &Endpoint) -> std::io::Result<Bound> {
    match endpoint {
        Endpoint::Tcp(addr) => Ok(Bound::Tcp(TcpListener::bind(addr.as_str()).await?)),
        Endpoint::Unix(path) => {
            remove_stale_socket(path)?;
            Ok(Bound::Unix(
                UnixListener::bind(path)?,
                UnixSocketFile(path.clone()),
            ))
        }
    }
}

async fn run(endpoints: Vec<Endpoint>, limits: StoreLimits) -> Result<(), String> {
    let store = Arc::new(Store::new(limits));
    let server = datastore::server(Arc::clone(&store));
    let mut bound = Vec::new();
    for e in &endpoints {
        let b = bind(e)
            .await
            .map_err(|err| format!("cannot listen on {e}: {err}"))?;
        let local = match &b {
            Bound::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| e.to_string(), |a| format!("tcp://{a}")),
            Bound::Unix(..) => e.to_string(),
        };
        tracing::info!(endpoint = %local, "listening");
        bound.push(b);
    }
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for b in bound {
        let server = server.clone();
        let stop = shutdown.clone().cancelled_owned();
        tasks.spawn(async move {
            match b {
                Bound::Tcp(l) => server.serve_tcp_with_shutdown(l, stop).await,
                Bound::Unix(l, file) => {
                    let r = server.serve_unix_with_shutdown(l, stop).await;
                    drop(file);
                    r
                }
            }
        });
    }
    shutdown_signal().await;
    tracing::info!(
        objects = store.object_count(),
        bytes = store.total_bytes(),
        "shutting down"
    );
    shutdown.cancel();
    while let Some(r) = tasks.join_next().await {
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, "listener failed");
        }
    }
    Ok(())
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
