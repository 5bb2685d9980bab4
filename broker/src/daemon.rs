//! [`Broker`]: a configuration made live: listeners bound, backends ready,
//! connections accepted and served until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use datastore::Endpoint;
use rpc_runtime::record::RecordCodecBuilder;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::backend::Backend;
use crate::config::{Config, ConfigError};
use crate::connection::{self, Ending, Shared};
use crate::listener::{Accepted, Listener};
use crate::route::{RoutingError, RoutingTable};

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
    shared: Arc<Shared>,
    listeners: Vec<Listener>,
    max_connections: usize,
}

impl Broker {
    /// Sets up the backends (nothing is connected until the first call) and
    /// binds every listener of `config`. Relative Unix socket paths must
    /// already be resolved ([`Config::resolve_relative_paths`]).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Routing`] or [`BrokerError::Bind`].
    pub async fn bind(config: &Config) -> Result<Broker, BrokerError> {
        let (rules, backend_list) = config.rules();
        let table = RoutingTable::new(&rules, backend_list.len())?;
        let max_record_bytes = config.limits.max_record_bytes as usize;
        let backends = backend_list
            .iter()
            .map(|(name, address)| Backend::new(name, address, max_record_bytes))
            .collect();
        let mut codec = RecordCodecBuilder::new();
        codec.max_record_bytes(max_record_bytes);
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
            shared: Arc::new(Shared {
                table,
                backends,
                codec,
                max_in_flight_per_client: config.limits.max_in_flight_per_client,
            }),
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

    /// Accepts and serves client connections on every listener until
    /// `shutdown` completes; then stops accepting, closes every client
    /// connection and removes its Unix socket files.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let connections = Arc::new(Semaphore::new(self.max_connections));
        let mut tasks = JoinSet::new();
        for listener in self.listeners {
            tracing::info!(endpoint = %listener.local_endpoint(), "listening");
            tasks.spawn(accept_loop(
                listener,
                Arc::clone(&self.shared),
                Arc::clone(&connections),
            ));
        }
        shutdown.await;
        tracing::info!("shutting down");
        tasks.shutdown().await;
    }
}

/// Accepts connections on one listener forever, each served in its own
/// task; the tasks end when this one is aborted.
async fn accept_loop(listener: Listener, shared: Arc<Shared>, connections: Arc<Semaphore>) {
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
                let shared = Arc::clone(&shared);
                clients.spawn(async move {
                    let (peer, ending) = match accepted {
                        Accepted::Tcp(s, peer) => {
                            tracing::debug!(peer, "client connected");
                            let ending = connection::serve(s, &peer, shared).await;
                            (peer, ending)
                        }
                        Accepted::Unix(s, peer) => {
                            tracing::debug!(peer, "client connected");
                            let ending = connection::serve(s, &peer, shared).await;
                            (peer, ending)
                        }
                    };
                    if ending == Ending::Closed {
                        tracing::debug!(peer, "client disconnected");
                    }
                    drop(permit);
                });
            }
        }
    }
}
