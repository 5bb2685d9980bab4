//! [`Broker`]: a configuration made live: listeners bound, backends ready,
//! connections accepted and served until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rpc_runtime::conn_limits::{ReplyBudget, Timeouts};
use rpc_runtime::log_limit::{LogLimit, DEFAULT_INTERVAL};
use rpc_runtime::record::RecordCodecBuilder;
use rpc_runtime::{rpcbind, Endpoint};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::admin::{AdminService, ListenerInfo};
use crate::config::{Config, ConfigError, ListenAddress};
use crate::core::route::RoutingError;
use crate::core::Core;
use crate::driver::backend::Target;
use crate::driver::listener::{Accepted, Listener};
use crate::driver::rpcbind::{rpcbind_programs, Registrar};
use crate::driver::tls::{Current, TlsSetupError, TlsStore};
use crate::driver::udp::{Datagrams, UdpLimits};
use crate::driver::{BackendTarget, ClientLimits, Hub, Input};
use crate::metrics::Metrics;
use crate::reload::{BrokerHandle, ConfigSource};
use rpc_runtime::gss::ServerGss;

/// Mode of the admin socket file: the broker's user only (`broker ctl`
/// can drain backends and reload).
const ADMIN_SOCKET_MODE: u32 = 0o600;

/// One log line per interval for connections refused at
/// `max_connections`.
static REFUSED_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

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
    /// A listener of `listen` cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    BindListen {
        /// The address.
        address: ListenAddress,
        /// The error.
        source: std::io::Error,
    },
    /// The admin socket cannot be bound.
    #[error("cannot listen on {endpoint}: {source}")]
    Bind {
        /// The address.
        endpoint: Endpoint,
        /// The error.
        source: std::io::Error,
    },
    /// The RPC-over-TLS settings of a listener or backend cannot be
    /// used: a certificate or key file that cannot be read, a key that
    /// does not suit its certificate, an unusable CA.
    #[error("{key}: {source}")]
    Tls {
        /// Where: `listen[I].tls` or `backends.NAME.tls`.
        key: String,
        /// What failed.
        source: rpc_runtime::tls::TlsError,
    },
    /// The RPCSEC_GSS settings of a listener cannot be used: no key for
    /// the service in the keytab `KRB5_KTNAME` names, or no keytab.
    #[error("{key}: {source}")]
    Gss {
        /// Where: `listen[I].gss`.
        key: String,
        /// What failed.
        source: rpc_runtime::gss::GssError,
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
    /// The TLS settings of each of `listeners` that has some.
    listener_tls: Vec<Option<Arc<Current<rpc_runtime::tls::ServerTls>>>>,
    /// The RPCSEC_GSS side of each of `listeners` that ends it.
    listener_gss: Vec<Option<Arc<ServerGss>>>,
    /// The UDP listeners.
    datagrams: Vec<Arc<Datagrams>>,
    /// The program versions to register with rpcbind (changed on reload).
    rpcbind_programs: watch::Receiver<Vec<(u32, u32)>>,
    client_limits: ClientLimits,
    admin: Option<Listener>,
    metrics: Option<Listener>,
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
    /// [`BrokerError::Config`], [`BrokerError::Bind`],
    /// [`BrokerError::BindListen`], [`BrokerError::BindMetrics`] or
    /// [`BrokerError::Tls`].
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
        let counters = Arc::new(Metrics::new());
        let mut tls = TlsStore::new(Arc::clone(&counters.tls.stats));
        tls.load_backends(config).map_err(BrokerError::from)?;
        let (_, backend_list) = config.rules();
        let targets = backend_list
            .iter()
            .map(|(name, address)| BackendTarget {
                name: Arc::from(*name),
                address: (*address).clone(),
                target: Target::new(address, tls.backend(name), config.backend_gss(name)),
            })
            .collect();
        let mut codec = RecordCodecBuilder::new();
        codec.max_record_bytes(config.limits.max_record_bytes as usize);
        let max_connections = crate::driver::fd_limit::connection_capacity(config);
        let mut listeners = Vec::new();
        let mut listener_tls = Vec::new();
        let mut listener_gss = Vec::new();
        let mut datagrams = Vec::new();
        let udp_limits = UdpLimits::new(&config.udp);
        for (i, l) in config.listen.iter().enumerate() {
            let bind_error = |source| BrokerError::BindListen {
                address: l.address.clone(),
                source,
            };
            if l.is_open_to_the_network() {
                tracing::warn!(
                    listener = %l.address,
                    "listening on a non-loopback address with no allow_programs: \
                     anyone who can reach it may call every routed program"
                );
            }
            match &l.address {
                ListenAddress::Stream(_) => {
                    let settings = l.tls.as_ref().map(|t| tls.add_listener(i, t)).transpose();
                    listener_tls.push(settings.map_err(BrokerError::from)?);
                    let gss = l.gss.as_ref().map(|g| g.server()).transpose();
                    let gss = gss.map_err(|source| BrokerError::Gss {
                        key: format!("listen[{i}].gss"),
                        source,
                    })?;
                    let gss = gss.map(Arc::new);
                    if let Some(g) = &gss {
                        counters.gss.add_listener(Arc::clone(g));
                    }
                    listener_gss.push(gss);
                    listeners.push(Listener::bind(l).await.map_err(bind_error)?);
                }
                ListenAddress::Udp(a) => {
                    let socket = UdpSocket::bind(a.as_str()).await.map_err(bind_error)?;
                    let allow = (!l.allow.allows_all()).then(|| Arc::new(l.allow.clone()));
                    datagrams.push(Arc::new(Datagrams::new(socket, udp_limits.clone(), allow)));
                }
            }
        }
        let (rpcbind_tx, rpcbind_programs) = watch::channel(rpcbind_programs(config));
        let admin = match &config.admin.socket {
            Some(path) => {
                let endpoint = Endpoint::Unix(path.clone());
                let listener = Listener::bind_endpoint(&endpoint, ADMIN_SOCKET_MODE, None)
                    .await
                    .map_err(|source| BrokerError::Bind { endpoint, source })?;
                Some(listener)
            }
            None => None,
        };
        let metrics = match config.admin.metrics {
            Some(address) => Some(
                // TCP: no socket file, so no mode or group.
                Listener::bind_endpoint(&Endpoint::Tcp(address.to_string()), 0, None)
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
            listener_tls,
            listener_gss,
            datagrams,
            rpcbind_programs,
            client_limits: client_limits(&config.limits, max_connections),
            admin,
            metrics,
            handle: BrokerHandle {
                inbox,
                source,
                current: Arc::new(Mutex::new(config.clone())),
                metrics: counters,
                tls: Arc::new(tls),
                rpcbind: Arc::new(rpcbind_tx),
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
        match self.metrics.as_ref().map(Listener::local_endpoint) {
            Some(Endpoint::Tcp(a)) => a.parse().ok(),
            _ => None,
        }
    }

    /// The addresses the broker accepts on, with real port numbers.
    pub fn local_endpoints(&self) -> Vec<Endpoint> {
        self.listeners
            .iter()
            .map(Listener::local_endpoint)
            .collect()
    }

    /// The addresses of the UDP listeners, with real port numbers.
    pub fn udp_addresses(&self) -> Vec<SocketAddr> {
        self.datagrams
            .iter()
            .filter_map(|d| d.local_addr().ok())
            .collect()
    }

    /// Every listener as rpcbind registers it.
    fn rpcbind_endpoints(&self) -> Vec<rpcbind::Endpoint> {
        let stream = self.local_endpoints().into_iter().filter_map(|e| match e {
            Endpoint::Tcp(a) => a.parse().ok().map(rpcbind::Endpoint::Tcp),
            Endpoint::Unix(p) => Some(rpcbind::Endpoint::Unix(p)),
        });
        let udp = self.udp_addresses().into_iter().map(rpcbind::Endpoint::Udp);
        stream.chain(udp).collect()
    }

    /// Connects to the backends, registers with rpcbind (when the
    /// configuration says so), accepts and serves client connections on
    /// every listener until `shutdown` completes; then removes the
    /// rpcbind registrations, stops accepting, closes every connection
    /// and removes its Unix socket files.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let started = Instant::now();
        let registrar = Registrar::start(self.rpcbind_endpoints(), self.rpcbind_programs.clone());
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
        let listeners = self.listeners.into_iter().zip(self.listener_tls);
        for ((listener, tls), gss) in listeners.zip(self.listener_gss) {
            let endpoint = listener.local_endpoint();
            match &tls {
                Some(tls) if tls.get().is_required() => {
                    tracing::info!(%endpoint, "listening, RPC-over-TLS required")
                }
                Some(_) => tracing::info!(%endpoint, "listening, RPC-over-TLS offered"),
                None => tracing::info!(%endpoint, "listening"),
            }
            let clients = Arc::new(AtomicUsize::new(0));
            infos.push(ListenerInfo {
                endpoint: endpoint.to_string(),
                clients: Arc::clone(&clients),
            });
            tasks.spawn(accept_loop(
                listener,
                tls,
                gss,
                Arc::clone(&hub),
                clients,
                Arc::clone(&self.handle.metrics),
            ));
        }
        for d in self.datagrams {
            if let Ok(a) = d.local_addr() {
                tracing::info!(endpoint = %format!("udp://{a}"), "listening");
                infos.push(ListenerInfo {
                    endpoint: format!("udp://{a}"),
                    clients: d.active_clients(),
                });
            }
            tasks.spawn(crate::driver::udp::serve(Arc::clone(&hub), d));
        }
        drop(hub);
        let mut services = Vec::new();
        if let Some(Endpoint::Tcp(a)) = self.metrics.as_ref().map(Listener::local_endpoint) {
            tracing::info!(address = %a, "serving metrics at /metrics");
            services.push(("metrics".to_owned(), format!("http://{a}/metrics")));
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
        registrar.stop().await;
        tasks.shutdown().await;
    }
}

/// The driver's limits on client connections from the configuration's;
/// `max_connections` is the configured one, lowered to what the file
/// descriptor limit allows.
fn client_limits(limits: &crate::config::Limits, max_connections: usize) -> ClientLimits {
    let bytes = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    ClientLimits {
        max_connections,
        timeouts: Timeouts {
            idle: Some(Duration::from_millis(limits.idle_timeout_ms)),
            record: Some(Duration::from_millis(limits.record_timeout_ms)),
            write: Some(Duration::from_millis(limits.write_timeout_ms)),
        },
        budget: ReplyBudget::new(
            bytes(limits.max_unread_bytes_per_client),
            bytes(limits.max_unread_bytes),
        ),
    }
}

/// How long a listener waits, after an eviction, for the evicted
/// connection's descriptor to be released before accepting again.
const EVICTION_PATIENCE: Duration = Duration::from_secs(1);

/// Accepts connections on one listener forever, each admitted by the hub
/// ([`Hub::admit`]) and served in its own task (on a TLS listener, with
/// the settings `tls` holds when it is accepted: [`crate::driver::tls`]);
/// the tasks end when this one is aborted.
async fn accept_loop(
    listener: Listener,
    tls: Option<Arc<Current<rpc_runtime::tls::ServerTls>>>,
    gss: Option<Arc<ServerGss>>,
    hub: Arc<Hub>,
    open: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
) {
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = clients.join_next(), if !clients.is_empty() => {
                open.store(clients.len(), Ordering::Relaxed);
            }
            accepted = listener.accept(&metrics) => {
                let caller = accepted.caller(&listener);
                // The client's handle, for its certificate's names (known
                // after the handshake, which runs once it is admitted).
                let admitted = Arc::new(std::sync::OnceLock::new());
                // Boxed: a plain connection's task does not carry the
                // TLS relay's state inline (its size counts per idle client).
                let mut upgrade: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>> = None;
                let (read, write, peer) = match accepted {
                    Accepted::Tcp(io, peer) => match &tls {
                        Some(tls) => match crate::driver::tls::accept(io, tls.get(), {
                            let (hub, admitted) = (Arc::clone(&hub), Arc::clone(&admitted));
                            move |names| {
                                if let Some(&client) = admitted.get() {
                                    hub.step(&mut Vec::new(), |st, _| st.core.set_tls_names(client, names));
                                }
                            }
                        }) {
                            Ok((r, w, task)) => {
                                upgrade = Some(Box::pin(task));
                                (r, w, peer)
                            }
                            Err(e) => {
                                tracing::warn!(peer, error = %e, "cannot relay a TLS client connection: closing it");
                                metrics.refused("descriptors", 1);
                                continue;
                            }
                        },
                        None => {
                            let (r, w) = crate::driver::socket::split_tcp(io);
                            (r, w, peer)
                        }
                    },
                    Accepted::Unix(io, peer, _) => {
                        let (r, w) = crate::driver::socket::split_unix(io);
                        (r, w, peer)
                    }
                };
                match caller.cred {
                    Some(c) => tracing::debug!(peer, uid = c.uid, gid = c.gid, pid = c.pid, "client connected"),
                    None => tracing::debug!(peer, "client connected"),
                }
                let Some((client, outbox, slot)) = hub.admit(write, caller) else {
                    if let Some(suppressed) = REFUSED_LOG.allow() {
                        tracing::warn!(suppressed, "too many client connections, none idle: refusing one");
                    }
                    continue;
                };
                let _ = admitted.set(client);
                let serve = crate::driver::client::serve(
                    Arc::clone(&hub),
                    read,
                    client,
                    outbox,
                    peer,
                    gss.clone(),
                );
                clients.spawn(async move {
                    // A TLS connection's relay (and its TCP socket) ends
                    // once the client task has let go of its end of the
                    // socket pair.
                    match upgrade {
                        Some(upgrade) => {
                            let ((), ()) = tokio::join!(serve, upgrade);
                        }
                        None => serve.await,
                    }
                    // The socket's halves are dropped: its descriptor is free.
                    drop(slot);
                });
                open.store(clients.len(), Ordering::Relaxed);
                // An eviction made room in the table, but the evicted
                // connection's descriptor is free only once its task has
                // ended: accept nothing more until then, so that a burst
                // of connections cannot run the process out of descriptors.
                let max = hub.client_limits.max_connections;
                if hub.client_sockets.open() > max {
                    hub.client_sockets.wait_at_most(max, EVICTION_PATIENCE).await;
                }
            }
        }
    }
}

impl From<TlsSetupError> for BrokerError {
    fn from(e: TlsSetupError) -> Self {
        BrokerError::Tls {
            key: e.key,
            source: e.source,
        }
    }
}
