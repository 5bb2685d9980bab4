//! [`Broker`]: a configuration made live: listeners bound, backends ready,
//! connections accepted and served until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datastore::Endpoint;
use rpc_runtime::record::RecordCodecBuilder;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::backend_io::Target;
use crate::config::{Config, ConfigError};
use crate::core::Core;
use crate::driver::{Driver, Input};
use crate::listener::{Accepted, Listener};
use crate::route::RoutingError;

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
    /// A listener cannot be bound.
    #[error("cannot listen on {endpoint}: {source}")]
    Bind {
        /// The address.
        endpoint: Endpoint,
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
    targets: Vec<(Arc<str>, Target)>,
    codec: RecordCodecBuilder,
    max_in_flight_per_client: usize,
    listeners: Vec<Listener>,
    max_connections: usize,
}

impl Broker {
    /// Resolves the configuration and binds every listener of `config`.
    /// Nothing is connected until [`Broker::run`]. Relative Unix socket
    /// paths must already be resolved ([`Config::resolve_relative_paths`]).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Config`] or [`BrokerError::Bind`].
    pub async fn bind(config: &Config) -> Result<Broker, BrokerError> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        let core_config = config.core_config(seed)?;
        let (_, backend_list) = config.rules();
        let targets = backend_list
            .iter()
            .map(|(name, address)| (Arc::from(*name), Target::new(address)))
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
        Ok(Broker {
            config: core_config,
            targets,
            codec,
            max_in_flight_per_client: config.limits.max_in_flight_per_client,
            listeners,
            max_connections: config.limits.max_connections,
        })
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
        let (inbox, inbox_rx) = mpsc::unbounded_channel();
        let core = Core::new(self.config, Instant::now());
        let driver = Driver::new(core, self.targets, self.codec, inbox.clone());
        let mut tasks = JoinSet::new();
        tasks.spawn(driver.run(inbox_rx));
        let connections = Arc::new(Semaphore::new(self.max_connections));
        let client = ClientSetup {
            codec: self.codec,
            max_in_flight: self.max_in_flight_per_client,
            inbox,
        };
        for listener in self.listeners {
            tracing::info!(endpoint = %listener.local_endpoint(), "listening");
            tasks.spawn(accept_loop(
                listener,
                client.clone(),
                Arc::clone(&connections),
            ));
        }
        drop(client);
        shutdown.await;
        tracing::info!("shutting down");
        tasks.shutdown().await;
    }
}

/// What every client connection needs.
#[derive(Debug, Clone)]
struct ClientSetup {
    codec: RecordCodecBuilder,
    max_in_flight: usize,
    inbox: mpsc::UnboundedSender<Input>,
}

/// Accepts connections on one listener forever, each served in its own
/// task; the tasks end when this one is aborted.
async fn accept_loop(listener: Listener, setup: ClientSetup, connections: Arc<Semaphore>) {
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
            accepted = listener.accept() => {
                let accepted = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                    tracing::warn!("too many client connections: refusing one");
                    continue;
                };
                let s = setup.clone();
                clients.spawn(async move {
                    match accepted {
                        Accepted::Tcp(io, peer) => {
                            let _ = io.set_nodelay(true);
                            tracing::debug!(peer, "client connected");
                            crate::client_io::serve(io, peer, s.codec, s.max_in_flight, s.inbox).await;
                        }
                        Accepted::Unix(io, peer) => {
                            tracing::debug!(peer, "client connected");
                            crate::client_io::serve(io, peer, s.codec, s.max_in_flight, s.inbox).await;
                        }
                    }
                    drop(permit);
                });
            }
        }
    }
}
