//! [`Broker`]: a configuration made live: listeners bound, backends ready,
//! connections accepted and served until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rpc_runtime::record::RecordCodecBuilder;
use rpc_runtime::Endpoint;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::admin::{AdminService, ListenerInfo};
use crate::config::{Config, ConfigError};
use crate::core::route::RoutingError;
use crate::core::Core;
use crate::driver::backend::Target;
use crate::driver::listener::{Accepted, Listener};
use crate::driver::outbox::ReplyBudget;
use crate::driver::{BackendTarget, ClientLimits, Hub, Input};
use crate::metrics::Metrics;
use crate::reload::{BrokerHandle, ConfigSource};

/// Pause after a failed `accept` (for example, out of file descriptors).
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The routes are inconsistent.
    #[error("routes: {0}")]
    Routing(#[from] RoutingError),
    /// A listener (or the admin socket) cannot be bound.
    #[error("cannot listen on {endpoint}: {source}")]
    Bind {
        /// The address.
        endpoint: Endpoint,
        /// The error.
        source: std::io::Error,
    },
    /// The metrics address cannot be bound.
    #[error("cannot serve metrics on {address}: {source}")]
    BindMetrics {
        /// The address.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// A broker with its listeners bound, ready to [`Broker::run`].
///
/// ```no_run
/// # async fn demo() -> Result<(), broker::BrokerError> {
/// let config = broker::config::Config::embedded_default()?;
/// let broker = broker::Broker::bind(&config).await?;
/// for e in broker.local_endpoints() {
///     println!("listening on {e}");
/// }
/// broker.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Broker {
    config: crate::core::CoreConfig,
    targets: Vec<BackendTarget>,
    route_keys: Vec<(u32, Vec<u32>)>,
    codec: RecordCodecBuilder,
    max_in_flight_per_client: usize,
    listeners: Vec<Listener>,
    client_limits: ClientLimits,
    admin: Option<Listener>,
    metrics: Option<TcpListener>,
    handle: BrokerHandle,
    inbox_rx: mpsc::UnboundedReceiver<Input>,
}

impl Broker {
    /// Resolves the configuration and binds every listener of `config`,
    /// its admin socket and its metrics address. Nothing is connected
    /// until [`Broker::run`]. Relative Unix socket paths must already be
    /// resolved ([`Config::resolve_relative_paths`]). A reload re-applies
    /// the embedded default; see [`Broker::bind_from`] for a file.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Config`], [`BrokerError::Bind`] or
    /// [`BrokerError::BindMetrics`].
    pub async fn bind(config: &Config) -> Result<Broker, BrokerError> {
        Broker::bind_from(config, ConfigSource::Embedded).await
    }

    /// As [`Broker::bind`], for a configuration read from `source`, which
    /// is what [`BrokerHandle::reload`] (SIGHUP, `broker ctl reload`)
    /// reads again.
    ///
    /// # Errors
    ///
    /// As [`Broker::bind`].
    pub async fn bind_from(config: &Config, source: ConfigSource) -> Result<Broker, BrokerError> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        let core_config = config.core_config(seed)?;
        let (_, backend_list) = config.rules();
        let targets = backend_list
            .iter()
            .map(|(name, address)| BackendTarget {
                name: Arc::from(*name),
                address: (*address).clone(),
                target: Target::new(address),
            })
            .collect();
        let mut codec = RecordCodecBuilder::new();
        codec.max_record_bytes(config.limits.max_record_bytes as usize);
        let mut listeners = Vec::new();
        for l in &config.listen {
            let listener = Listener::bind(&l.0)
                .await
                .map_err(|source| BrokerError::Bind {
                    endpoint: l.0.clone(),
                    source,
                })?;
            listeners.push(listener);
        }
        let admin = match &config.admin.socket {
            Some(path) => {
                let endpoint = Endpoint::Unix(path.clone());
                let listener = Listener::bind(&endpoint)
                    .await
                    .map_err(|source| BrokerError::Bind { endpoint, source })?;
                Some(listener)
            }
            None => None,
        };
        let metrics = match config.admin.metrics {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(|source| BrokerError::BindMetrics { address, source })?,
            ),
            None => None,
        };
        let (inbox, inbox_rx) = mpsc::unbounded_channel();
        Ok(Broker {
            config: core_config,
            targets,
            route_keys: crate::driver::route_keys(config),
            codec,
            max_in_flight_per_client: config.limits.max_in_flight_per_client,
            listeners,
            client_limits: client_limits(&config.limits),
            admin,
            metrics,
            handle: BrokerHandle {
                inbox,
                source,
                current: Arc::new(Mutex::new(config.clone())),
                metrics: Arc::new(Metrics::new()),
            },
            inbox_rx,
        })
    }

    /// A handle to reload the running broker (for example on SIGHUP).
    pub fn handle(&self) -> BrokerHandle {
        self.handle.clone()
    }

    /// The admin socket's path, if the configuration has one.
    pub fn admin_endpoint(&self) -> Option<Endpoint> {
        self.admin.as_ref().map(Listener::local_endpoint)
    }

    /// The metrics endpoint's address (with the real port), if any.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The addresses the broker accepts on, with real port numbers.
    pub fn local_endpoints(&self) -> Vec<Endpoint> {
        self.listeners
            .iter()
            .map(Listener::local_endpoint)
            .collect()
    }

    /// Connects to the backends, accepts and serves client connections
    /// on every listener until `shutdown` completes; then stops accepting,
    /// closes every connection and removes its Unix socket files.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let started = Instant::now();
        let core = Core::new(self.config, started);
        let hub = Hub::new(
            core,
            self.targets,
            self.route_keys,
            Arc::clone(&self.handle.metrics),
            self.codec.record_limit(),
            self.max_in_flight_per_client,
            self.client_limits,
        );
        let mut tasks = JoinSet::new();
        tasks.spawn(crate::driver::run(Arc::clone(&hub), self.inbox_rx));
        let mut infos = Vec::new();
        for listener in self.listeners {
            let endpoint = listener.local_endpoint();
            tracing::info!(%endpoint, "listening");
            let clients = Arc::new(AtomicUsize::new(0));
            infos.push(ListenerInfo {
                endpoint: endpoint.to_string(),
                clients: Arc::clone(&clients),
            });
            tasks.spawn(accept_loop(listener, Arc::clone(&hub), clients));
        }
        drop(hub);
        let mut services = Vec::new();
        if let Some(l) = &self.metrics {
            if let Ok(a) = l.local_addr() {
                tracing::info!(address = %a, "serving metrics at /metrics");
                services.push(("metrics".to_owned(), format!("http://{a}/metrics")));
            }
        }
        if let Some(l) = &self.admin {
            tracing::info!(endpoint = %l.local_endpoint(), "serving the admin protocol");
            services.push(("admin".to_owned(), l.local_endpoint().to_string()));
        }
        if let Some(l) = self.metrics {
            tasks.spawn(crate::metrics::serve(l, self.handle.clone()));
        }
        if let Some(l) = self.admin {
            let service = AdminService {
                handle: self.handle.clone(),
                started,
                listeners: infos,
                services,
            };
            tasks.spawn(crate::admin::serve(l, service));
        }
        shutdown.await;
        tracing::info!("shutting down");
        tasks.shutdown().await;
    }
}

/// The driver's limits on client connections from the configuration's.
fn client_limits(limits: &crate::config::Limits) -> ClientLimits {
    let bytes = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    ClientLimits {
        max_connections: limits.max_connections,
        idle_timeout: Duration::from_millis(limits.idle_timeout_ms),
        record_timeout: Duration::from_millis(limits.record_timeout_ms),
        write_timeout: Duration::from_millis(limits.write_timeout_ms),
        budget: ReplyBudget {
            per_client: bytes(limits.max_unread_bytes_per_client),
            total_cap: bytes(limits.max_unread_bytes),
            total: Arc::new(AtomicUsize::new(0)),
        },
    }
}

/// Accepts connections on one listener forever, each admitted by the hub
/// ([`Hub::admit`]) and served in its own task; the tasks end when this
/// one is aborted.
async fn accept_loop(listener: Listener, hub: Arc<Hub>, open: Arc<AtomicUsize>) {
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = clients.join_next(), if !clients.is_empty() => {
                open.store(clients.len(), Ordering::Relaxed);
            }
            accepted = listener.accept() => {
                let accepted = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                        continue;
                    }
                };
                let (read, write, peer) = match accepted {
                    Accepted::Tcp(io, peer) => {
                        let (r, w) = crate::driver::socket::split_tcp(io);
                        (r, w, peer)
                    }
                    Accepted::Unix(io, peer) => {
                        let (r, w) = crate::driver::socket::split_unix(io);
                        (r, w, peer)
                    }
                };
                let Some((client, outbox)) = hub.admit(write) else {
                    tracing::warn!(peer, "too many client connections, none idle: refusing one");
                    continue;
                };
                tracing::debug!(peer, "client connected");
                clients.spawn(crate::driver::client::serve(
                    Arc::clone(&hub),
                    read,
                    client,
                    outbox,
                    peer,
                ));
                open.store(clients.len(), Ordering::Relaxed);
            }
        }
    }
}
