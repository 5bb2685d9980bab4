//! `nfs3-server DIR`: a read-only NFSv3 + MOUNT v3 server exporting a
//! local directory, built on the generated server traits and
//! `rpc-runtime`.
//!
//! ```text
//! nfs3-server /srv/data                       # 127.0.0.1, a free port, registered with rpcbind
//! nfs3-server /srv/data --listen 0.0.0.0:2049 --export /data
//! nfs-ls nfs://127.0.0.1/srv/data             # libnfs finds it through rpcbind
//! ```
//!
//! Both programs are served on one TCP and one UDP socket bound to the
//! same address, registered with the local rpcbind (TCP and UDP) unless
//! `--no-rpcbind`, and unregistered on SIGINT or SIGTERM. Procedures that
//! would modify the export answer NFS3ERR_ROFS. A retransmitted UDP call
//! is answered from the runtime's duplicate request cache
//! (`ServerBuilder::udp_reply_cache`, 1,024 replies or 4 MiB by default),
//! not executed again; the cache's counts are logged at shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use nfs3::export::Export;
use nfs3::mount::MountProgramV3Server;
use nfs3::nfs::NfsProgramV3Server;
use nfs3::server::{MountService, NfsService, SERVER_MAX_READ_BYTES};
use rpc_runtime::rpcbind;
use rpc_runtime::Server;
use tokio::net::{TcpListener, UdpSocket};

#[derive(Debug, Parser)]
#[command(
    name = "nfs3-server",
    version,
    about = "A read-only NFSv3 server (RFC 1813) for one directory"
)]
struct Cli {
    /// The directory to export.
    dir: PathBuf,
    /// Address for TCP and UDP (port 0: a free port, same for both).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The path clients mount (default: the directory's absolute path).
    #[arg(long)]
    export: Option<String>,
    /// Do not register with rpcbind.
    #[arg(long)]
    no_rpcbind: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = rpc_runtime::runtime::for_available_cpus()
        .map_err(|e| format!("cannot start the runtime: {e}"))
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nfs3-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let export = Arc::new(
        Export::new(&cli.dir).map_err(|e| format!("cannot export {}: {e}", cli.dir.display()))?,
    );
    let name = cli
        .export
        .unwrap_or_else(|| export.root().to_string_lossy().into_owned());
    let server = Server::builder()
        .max_record_bytes(SERVER_MAX_READ_BYTES as usize + 64 * 1024)
        .register(NfsProgramV3Server::new(NfsService::new(Arc::clone(
            &export,
        ))))
        .register(MountProgramV3Server::new(MountService::new(
            Arc::clone(&export),
            name.clone(),
        )))
        .build();
    let tcp = TcpListener::bind(cli.listen)
        .await
        .map_err(|e| format!("cannot listen on tcp {}: {e}", cli.listen))?;
    let addr = tcp.local_addr().map_err(|e| e.to_string())?;
    let udp = UdpSocket::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on udp {addr}: {e}"))?;
    tracing::info!(%addr, export = %name, dir = %export.root().display(), "serving NFSv3 and MOUNT v3 on tcp and udp");
    let registration = if cli.no_rpcbind {
        None
    } else {
        let targets = [rpcbind::Endpoint::Tcp(addr), rpcbind::Endpoint::Udp(addr)];
        Some(
            rpcbind::register_server(&server, &targets)
                .await
                .map_err(|e| format!("cannot register with rpcbind: {e}"))?,
        )
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let tcp_task = tokio::spawn({
        let (server, stop) = (server.clone(), stop.clone().cancelled_owned());
        async move { server.serve_tcp_with_shutdown(tcp, stop).await }
    });
    let udp_task = tokio::spawn({
        let (server, stop) = (server.clone(), stop.clone().cancelled_owned());
        async move { server.serve_udp_with_shutdown(udp, stop).await }
    });
    rpc_runtime::runtime::shutdown_signal().await;
    let udp = server.udp_stats();
    tracing::info!(
        udp_reply_cache_hits = udp.reply_cache_hits(),
        udp_retransmits_in_flight = udp.retransmits_in_flight(),
        "shutting down"
    );
    if let Some(registration) = registration {
        if let Err(e) = registration.unregister().await {
            tracing::warn!(error = %e, "unregistering from rpcbind failed");
        }
    }
    stop.cancel();
    for task in [tcp_task, udp_task] {
        if let Ok(Err(e)) = task.await {
            tracing::warn!(error = %e, "listener failed");
        }
    }
    Ok(())
}
