//! [`BrokerHandle`]: talks to a running broker's routing task from
//! outside it: reload the configuration (SIGHUP, the admin protocol),
//! take snapshots, drain backends.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::config::{runtime_dir, Config, ConfigError};
use crate::driver::rpcbind::rpcbind_programs;
use crate::driver::tls::TlsStore;
use crate::driver::{Input, NewConfig, ReloadReport};
use crate::metrics::Metrics;
use crate::status::Snapshot;

/// Where the broker's configuration comes from, and so what a reload
/// reads again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The embedded default ([`Config::DEFAULT_TOML`]); a reload re-applies
    /// it.
    Embedded,
    /// A TOML file, read again on every reload.
    File(PathBuf),
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::Embedded => f.write_str("embedded"),
            ConfigSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl ConfigSource {
    /// Reads and validates the configuration, with relative Unix socket
    /// paths placed in [`runtime_dir`].
    ///
    /// # Errors
    ///
    /// As [`Config::from_file`].
    pub fn load(&self) -> Result<Config, ConfigError> {
        let config = match self {
            ConfigSource::Embedded => Config::embedded_default()?,
            ConfigSource::File(p) => Config::from_file(p)?,
        };
        Ok(config.resolve_relative_paths(&runtime_dir()))
    }
}

/// Why a reload or a request to the running broker failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The new configuration is invalid; the old one stays in force.
    #[error("configuration refused, the running one is kept: {0}")]
    Config(#[from] ConfigError),
    /// The broker is shutting down or not running.
    #[error("the broker is not running")]
    Stopped,
}

/// A handle on a running (or about to run) [`Broker`](crate::Broker):
/// cheap to clone, usable from any task.
#[derive(Debug, Clone)]
pub struct BrokerHandle {
    pub(crate) inbox: mpsc::UnboundedSender<Input>,
    pub(crate) source: ConfigSource,
    /// The configuration in force (what the last reload applied).
    pub(crate) current: Arc<Mutex<Config>>,
    pub(crate) metrics: Arc<Metrics>,
    /// The program versions to register with rpcbind.
    pub(crate) rpcbind: Arc<watch::Sender<Vec<(u32, u32)>>>,
    /// The RPC-over-TLS certificates in force.
    pub(crate) tls: Arc<TlsStore>,
}

impl BrokerHandle {
    /// Reads the configuration from its [`ConfigSource`] again, validates
    /// it, and applies it without dropping calls in flight: routes,
    /// limits on calls in flight per backend, supervision and backends
    /// change at once (a backend whose name, address and connection count
    /// are unchanged keeps its connections; removed backends finish their
    /// calls and are closed). Listeners, the admin socket, the metrics
    /// address, the `[udp]` limits and the limits on client connections
    /// (`max_connections`, `reserved_fds`, `max_record_bytes`,
    /// `max_in_flight_per_client`, the timeouts and the caps on unread
    /// reply bytes) stay as they were started (a restart applies them);
    /// the returned message says when they differ. The rpcbind
    /// registrations follow the new routes and `[rpcbind] register`.
    ///
    /// Every RPC-over-TLS certificate, key and CA file is read again
    /// (the listeners' as started, the backends' as the new configuration
    /// names them); new connections use them, connected ones keep their
    /// session. A file that does not load leaves the previous settings in
    /// force; the returned message says which and why (and an error is
    /// logged for each).
    ///
    /// # Errors
    ///
    /// [`ReloadError::Config`] (logged; the running configuration stays)
    /// or [`ReloadError::Stopped`].
    pub async fn reload(&self) -> Result<String, ReloadError> {
        let outcome = self.try_reload().await;
        match &outcome {
            Ok(msg) => {
                self.metrics.reload(true);
                tracing::info!(source = %self.source, "configuration reloaded: {msg}");
            }
            Err(e) => {
                self.metrics.reload(false);
                tracing::error!(source = %self.source, error = %e, "reload refused");
            }
        }
        outcome
    }

    async fn try_reload(&self) -> Result<String, ReloadError> {
        let config = self.source.load()?;
        // What needs a restart runs on as started.
        let mut applied = config.clone();
        if let Ok(current) = self.current.lock() {
            applied.limits = config.limits.keeping_restart_only(&current.limits);
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let tls_failures = self.tls.reload(&config);
        for failure in &tls_failures {
            tracing::error!(source = %self.source, "TLS settings not reloaded: {failure}");
        }
        let new = NewConfig::new(&applied, seed, &self.tls)?;
        let (tx, rx) = oneshot::channel();
        self.inbox
            .send(Input::Reconfigure(Box::new(new), tx))
            .map_err(|_| ReloadError::Stopped)?;
        let report: ReloadReport = rx.await.map_err(|_| ReloadError::Stopped)?;
        self.rpcbind.send_replace(rpcbind_programs(&config));
        let mut msg = report.to_string();
        if !tls_failures.is_empty() {
            msg.push_str(&format!("; TLS not reloaded: {}", tls_failures.join("; ")));
        }
        if let Ok(mut current) = self.current.lock() {
            let restart = restart_only_changes(&current, &config);
            if !restart.is_empty() {
                msg.push_str(&format!(
                    "; not applied until a restart: {}",
                    restart.join(", ")
                ));
            }
            // The configuration in force: as read, except what runs on
            // as started until a restart.
            *current = Config {
                limits: config.limits.keeping_restart_only(&current.limits),
                listen: current.listen.clone(),
                admin: current.admin.clone(),
                udp: current.udp.clone(),
                ..config
            };
        }
        Ok(msg)
    }

    /// A snapshot of the routing state.
    pub(crate) async fn snapshot(&self) -> Result<Snapshot, ReloadError> {
        let (tx, rx) = oneshot::channel();
        self.inbox
            .send(Input::Snapshot(tx))
            .map_err(|_| ReloadError::Stopped)?;
        rx.await.map_err(|_| ReloadError::Stopped)
    }

    /// Drains (or undrains) the backend called `name`; false when there
    /// is no such backend.
    pub(crate) async fn drain(&self, name: &str, drained: bool) -> Result<bool, ReloadError> {
        let (tx, rx) = oneshot::channel();
        self.inbox
            .send(Input::Drain(name.to_owned(), drained, tx))
            .map_err(|_| ReloadError::Stopped)?;
        rx.await.map_err(|_| ReloadError::Stopped)
    }

    /// Where the configuration comes from.
    pub fn source(&self) -> &ConfigSource {
        &self.source
    }

    /// The metrics in the OpenMetrics text format, with gauges as of now.
    ///
    /// # Errors
    ///
    /// [`ReloadError::Stopped`].
    pub async fn render_metrics(&self) -> Result<String, ReloadError> {
        let snapshot = self.snapshot().await?;
        Ok(self.metrics.render(&snapshot))
    }
}

/// The keys whose change needs a restart, named as in the configuration.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut v = Vec::new();
    if old.listen != new.listen {
        v.push("listen");
    }
    if old.admin != new.admin {
        v.push("admin");
    }
    if old.udp != new.udp {
        v.push("udp");
    }
    for ((key, was), (_, is)) in old
        .limits
        .restart_only()
        .into_iter()
        .zip(new.limits.restart_only())
    {
        if was != is {
            v.push(key);
        }
    }
    v
}
