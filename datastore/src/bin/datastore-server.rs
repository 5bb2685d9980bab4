//! `datastore-server`: serves the datastore protocol (`specs/datastore.x`)
//! from memory. See `datastore-server --help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use datastore::{ConnLimitArgs, Store, StoreLimits};
use rpc_runtime::gss::{GssService, ServerGss};
use rpc_runtime::rpcbind;
use rpc_runtime::tls::{self, ServerTls};
use rpc_runtime::{remove_stale_socket, Endpoint, EndpointError};
use tokio::net::{TcpListener, UdpSocket, UnixListener};
use tracing_subscriber::EnvFilter;

/// Serves the datastore protocol (specs/datastore.x, program 0x2000DA7A
/// version 1) from an in-memory store, over TCP, UDP and Unix sockets.
///
/// Logs go to stderr; set RUST_LOG to change the level (default `info`).
#[derive(Debug, Parser)]
#[command(name = "datastore-server", version)]
struct Cli {
    /// Where to listen: tcp://HOST:PORT, udp://HOST:PORT or unix:///PATH.
    /// Repeat to listen on several addresses.
    #[arg(long, value_name = "URL", default_value = "tcp://127.0.0.1:7101")]
    listen: Vec<Listen>,
    /// Register every listener with the local rpcbind (one per network
    /// id: tcp, tcp6, udp, udp6, local) and unregister on shutdown.
    #[arg(long)]
    register: bool,
    /// Largest object, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = StoreLimits::default().max_object_bytes)]
    max_object_bytes: u64,
    /// Most bytes held in all objects together.
    #[arg(long, value_name = "BYTES", default_value_t = StoreLimits::default().max_total_bytes)]
    max_total_bytes: u64,
    /// Most objects held.
    #[arg(long, value_name = "COUNT", default_value_t = StoreLimits::default().max_objects)]
    max_objects: usize,
    /// Offer RPC-over-TLS (RFC 9289) on the TCP listeners with this
    /// certificate chain (PEM, end-entity certificate first): a client
    /// that sends the AUTH_TLS probe gets TLS 1.3 with ALPN "sunrpc".
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Refuse calls not protected by TLS: each is answered AUTH_ERROR
    /// (AUTH_TOOWEAK). UDP and Unix listeners are not allowed with it.
    #[arg(long, requires = "tls_cert")]
    tls_required: bool,
    /// Ask TLS clients for a certificate signed by one of these CA
    /// certificates (PEM) and refuse those without one (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Seconds a new TCP connection has to send the AUTH_TLS probe and
    /// finish the TLS handshake (with --tls-required, also the time its
    /// refused plain calls may take); then it is closed.
    #[arg(long, value_name = "SECONDS", requires = "tls_cert",
          default_value_t = tls::DEFAULT_HANDSHAKE_TIMEOUT.as_secs_f64())]
    tls_handshake_timeout: f64,
    /// Accept RPCSEC_GSS (RFC 2203, Kerberos v5) calls for this
    /// host-based service name, for example `datastore@server.example`
    /// (principal `datastore/server.example@REALM`); its key comes from
    /// the keytab KRB5_KTNAME names (default /etc/krb5.keytab).
    #[arg(long, value_name = "NAME")]
    gss_service: Option<String>,
    /// Refuse calls not protected by RPCSEC_GSS (AUTH_NONE and AUTH_SYS
    /// included) with AUTH_ERROR (AUTH_TOOWEAK).
    #[arg(long, requires = "gss_service")]
    gss_required: bool,
    /// With --gss-required, the weakest protection accepted: krb5
    /// (authentication), krb5i (integrity) or krb5p (privacy).
    #[arg(long, value_name = "LEVEL", requires = "gss_required", default_value = "krb5",
          value_parser = ["krb5", "krb5i", "krb5p"])]
    gss_min_service: String,
    /// Most RPCSEC_GSS contexts kept at once; a new one beyond it drops
    /// the oldest (its client is answered RPCSEC_GSS_CREDPROBLEM and
    /// makes a new context).
    #[arg(long, value_name = "COUNT", requires = "gss_service",
          default_value_t = rpc_runtime::gss::DEFAULT_MAX_CONTEXTS)]
    gss_max_contexts: usize,
    #[command(flatten)]
    conn_limits: ConnLimitArgs,
}

impl Cli {
    /// The RPCSEC_GSS settings, if RPCSEC_GSS is on.
    fn server_gss(&self) -> Result<Option<ServerGss>, String> {
        let Some(name) = &self.gss_service else {
            return Ok(None);
        };
        let gss = ServerGss::new(Some(name))
            .map_err(|e| format!("--gss-service {name}: {e}"))?
            .max_contexts(self.gss_max_contexts);
        if !self.gss_required {
            return Ok(Some(gss));
        }
        let min = match self.gss_min_service.as_str() {
            "krb5p" => GssService::Privacy,
            "krb5i" => GssService::Integrity,
            _ => GssService::None,
        };
        Ok(Some(gss.required(min)))
    }

    /// The RPC-over-TLS settings of the TCP listeners, if TLS is on.
    fn server_tls(&self) -> Result<Option<ServerTls>, String> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let chain = tls::load_certs(cert).map_err(|e| e.to_string())?;
        let key = tls::load_private_key(key).map_err(|e| e.to_string())?;
        let server_tls = match &self.tls_client_ca {
            None => ServerTls::new(chain, key),
            Some(ca) => {
                let roots = tls::load_certs(ca).map_err(|e| e.to_string())?;
                ServerTls::with_client_auth(chain, key, roots, true)
            }
        }
        .map_err(|e| e.to_string())?;
        if self.tls_required {
            if let Some(plain) = self
                .listen
                .iter()
                .find(|l| !matches!(l, Listen::Stream(Endpoint::Tcp(_))))
            {
                return Err(format!(
                    "--tls-required: {plain} cannot carry TLS (only TCP listeners do)"
                ));
            }
        }
        let timeout = Duration::try_from_secs_f64(self.tls_handshake_timeout)
            .map_err(|e| format!("--tls-handshake-timeout: {e}"))?;
        Ok(Some(
            server_tls
                .required(self.tls_required)
                .handshake_timeout(timeout),
        ))
    }
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
    let (server_tls, server_gss) = match (cli.server_tls(), cli.server_gss()) {
        (Ok(tls), Ok(gss)) => (tls, gss),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("datastore-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limits = StoreLimits {
        max_object_bytes: cli.max_object_bytes,
        max_total_bytes: cli.max_total_bytes,
        max_objects: cli.max_objects,
        ..StoreLimits::default()
    };
    // Current-thread when the process may use one CPU (pinned), one
    // worker per CPU otherwise.
    let runtime = match rpc_runtime::runtime::for_available_cpus() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("datastore-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let security = Security {
        tls: server_tls,
        gss: server_gss,
    };
    match runtime.block_on(run(
        cli.listen,
        cli.register,
        limits,
        security,
        cli.conn_limits,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("datastore-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A `--listen` address: a stream [`Endpoint`] or `udp://HOST:PORT`.
#[derive(Debug, Clone)]
enum Listen {
    Stream(Endpoint),
    Udp(String),
}

impl std::str::FromStr for Listen {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("udp://") {
            // Same HOST:PORT rules as tcp://.
            Some(addr) => match format!("tcp://{addr}").parse::<Endpoint>() {
                Ok(_) => Ok(Listen::Udp(addr.to_owned())),
                Err(_) => Err(EndpointError::BadTcpAddress(s.to_owned())),
            },
            None => s.parse().map(Listen::Stream),
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Stream(e) => e.fmt(f),
            Listen::Udp(a) => write!(f, "udp://{a}"),
        }
    }
}

/// A bound listener; a Unix one removes its socket file when dropped.
enum Bound {
    Tcp(TcpListener),
    Udp(UdpSocket),
    Unix(UnixListener, UnixSocketFile),
}

impl Bound {
    /// The rpcbind endpoint of this listener.
    fn rpcbind_endpoint(&self) -> std::io::Result<rpcbind::Endpoint> {
        Ok(match self {
            Bound::Tcp(l) => rpcbind::Endpoint::Tcp(l.local_addr()?),
            Bound::Udp(s) => rpcbind::Endpoint::Udp(s.local_addr()?),
            Bound::Unix(_, file) => rpcbind::Endpoint::Unix(std::path::absolute(&file.0)?),
        })
    }
}

struct UnixSocketFile(std::path::PathBuf);

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn bind(listen: &Listen) -> std::io::Result<Bound> {
    match listen {
        Listen::Udp(addr) => Ok(Bound::Udp(UdpSocket::bind(addr.as_str()).await?)),
        Listen::Stream(Endpoint::Tcp(addr)) => {
            Ok(Bound::Tcp(TcpListener::bind(addr.as_str()).await?))
        }
        Listen::Stream(Endpoint::Unix(path)) => {
            remove_stale_socket(path)?;
            Ok(Bound::Unix(
                UnixListener::bind(path)?,
                UnixSocketFile(path.clone()),
            ))
        }
    }
}

/// The security switches' settings.
struct Security {
    tls: Option<ServerTls>,
    gss: Option<ServerGss>,
}

async fn run(
    endpoints: Vec<Listen>,
    register: bool,
    limits: StoreLimits,
    security: Security,
    conn_limits: ConnLimitArgs,
) -> Result<(), String> {
    let Security {
        tls: server_tls,
        gss: server_gss,
    } = security;
    let store = Arc::new(Store::new(limits));
    let mut builder = conn_limits.apply(datastore::server_builder(Arc::clone(&store)))?;
    if let Some(gss) = server_gss {
        tracing::info!(?gss, "RPCSEC_GSS on");
        builder = builder.gss(gss);
    }
    let server = builder.build();
    let mut bound = Vec::new();
    for e in &endpoints {
        let b = bind(e)
            .await
            .map_err(|err| format!("cannot listen on {e}: {err}"))?;
        let local = match &b {
            Bound::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| e.to_string(), |a| format!("tcp://{a}")),
            Bound::Udp(s) => s
                .local_addr()
                .map_or_else(|_| e.to_string(), |a| format!("udp://{a}")),
            Bound::Unix(..) => e.to_string(),
        };
        let tls = match (&b, &server_tls) {
            (Bound::Tcp(_), Some(t)) if t.is_required() => "required",
            (Bound::Tcp(_), Some(_)) => "offered",
            _ => "off",
        };
        tracing::info!(endpoint = %local, tls, "listening");
        bound.push(b);
    }
    let registration = if register {
        let mut targets = Vec::new();
        for b in &bound {
            targets.push(
                b.rpcbind_endpoint()
                    .map_err(|e| format!("cannot find a listener's address: {e}"))?,
            );
        }
        Some(
            rpcbind::register_server(&server, &targets)
                .await
                .map_err(|e| format!("cannot register with rpcbind: {e}"))?,
        )
    } else {
        None
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for b in bound {
        let server = server.clone();
        let server_tls = server_tls.clone();
        let stop = shutdown.clone().cancelled_owned();
        tasks.spawn(async move {
            match b {
                Bound::Tcp(l) => match server_tls {
                    Some(tls) => server.serve_tcp_tls_with_shutdown(l, tls, stop).await,
                    None => server.serve_tcp_with_shutdown(l, stop).await,
                },
                Bound::Udp(s) => server.serve_udp_with_shutdown(s, stop).await,
                Bound::Unix(l, file) => {
                    let r = server.serve_unix_with_shutdown(l, stop).await;
                    drop(file);
                    r
                }
            }
        });
    }
    rpc_runtime::runtime::shutdown_signal().await;
    tracing::info!(
        objects = store.object_count(),
        bytes = store.total_bytes(),
        "shutting down"
    );
    if let Some(registration) = registration {
        if let Err(e) = registration.unregister().await {
            tracing::warn!(error = %e, "unregistering from rpcbind failed");
        }
    }
    shutdown.cancel();
    while let Some(r) = tasks.join_next().await {
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, "listener failed");
        }
    }
    datastore::log_conn_stats(&server);
    Ok(())
}
