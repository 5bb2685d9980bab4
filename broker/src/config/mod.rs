//! The broker's TOML configuration: listeners, limits, backends, routes.
//!
//! ```toml
//! # Where clients connect: tcp://HOST:PORT, udp://HOST:PORT or
//! # unix://PATH. A relative Unix path is placed in the runtime directory ($XDG_RUNTIME_DIR, else
//! # the system's temporary directory). Tables ([[listen]] with
//! # `address`, `mode`, `group`, `allow_uids`, `allow_gids`,
//! # `allow_programs`) add who may call: see `ListenConfig`; a `tls`
//! # table on a TCP listener turns RPC-over-TLS on: see `ListenTls`.
//! listen = ["unix://broker.sock", "tcp://127.0.0.1:7100", "udp://127.0.0.1:7100"]
//!
//! [limits]
//! max_record_bytes = 8388608        # largest record, bytes
//! max_in_flight_per_client = 64     # calls one client may have outstanding
//! max_in_flight_per_backend = 1024  # calls outstanding on one backend
//! max_connections = 1024            # client connections at once
//! reserved_fds = 128                # descriptors clients may not take
//! call_timeout_ms = 30000           # default wait for a backend's reply
//! idle_timeout_ms = 300000          # a client with nothing to do is closed
//! record_timeout_ms = 10000         # a call record must arrive within this
//! write_timeout_ms = 30000          # a client must take its replies
//! max_unread_bytes_per_client = 16777216  # replies waiting for one client
//! max_unread_bytes = 268435456      # replies waiting for all clients
//!
//! [supervision]                     # see broker.example.toml
//! health_interval_ms = 1000
//!
//! [backends.store1]
//! address = "tcp://127.0.0.1:7101"   # or unix://PATH, or builtin:datastore
//! connections = 2                    # optional, default 1
//! [backends.store2]
//! address = "tcp://127.0.0.1:7102"
//! tls = { ca = "stores-ca.pem" }     # optional: RPC-over-TLS, see BackendTls
//!
//! [[routes]]
//! program = 0x2000DA7A     # the program number
//! versions = [1]           # optional: absent or empty routes every version
//! pool = ["store1", "store2"]  # or backend = "store1"
//! replicas = 2             # backends per key: writes go to all live ones
//! min_acks = 1             # replicas that must acknowledge a write
//! miss_status = 2          # first result word meaning "not found"
//! key = "first-argument"   # route by the first argument (string/opaque)
//! timeout_ms = 5000        # optional: overrides limits.call_timeout_ms
//! retries = 1              # extra attempts of idempotent procedures
//! [[routes.procedures]]
//! procedure = 2
//! idempotent = true
//! class = "read"           # or "write"; see docs/ROUTING.md
//!
//! [admin]
//! socket = "broker-admin.sock"  # admin protocol for `broker ctl`
//! metrics = "127.0.0.1:7190"    # OpenMetrics text at /metrics
//!
//! [udp]                         # see UdpConfig
//! reply_cache_entries = 1024
//!
//! [rpcbind]
//! register = true               # register the routed programs
//! ```
//!
//! [`Config::DEFAULT_TOML`] is the embedded default the broker runs with
//! when started without arguments.

mod address;
mod admin;
mod gss;
mod listen;
mod resolve;
mod route;
mod rpcbind;
mod supervision;
mod tls;
mod udp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use address::{BackendAddress, Builtin, ListenAddress};
pub use admin::AdminConfig;
pub use gss::{BackendGss, ListenGss};
pub use listen::{ListenConfig, DEFAULT_SOCKET_MODE};
pub use route::{KeySource, ProcedureClass, ProcedureConfig, RouteConfig};
pub use rpcbind::RpcbindConfig;
pub use supervision::SupervisionConfig;
pub(crate) use tls::host_of;
pub use tls::{BackendTls, ListenTls, DEFAULT_HANDSHAKE_TIMEOUT_MS};
pub use udp::UdpConfig;

/// A whole broker configuration, as read from TOML.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the broker accepts client connections (key `listen`), each
    /// an address string or a table with access keys ([`ListenConfig`]).
    /// At least one.
    pub listen: Vec<ListenConfig>,
    /// Limits (table `[limits]`); every key has a default.
    #[serde(default)]
    pub limits: Limits,
    /// Supervision of backend connections (table `[supervision]`); every
    /// key has a default.
    #[serde(default)]
    pub supervision: SupervisionConfig,
    /// Backends by name (tables `[backends.NAME]`).
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    /// Routes (array of tables `[[routes]]`), tried by program and version.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// The admin socket and the metrics endpoint (table `[admin]`); both
    /// off when absent.
    #[serde(default)]
    pub admin: AdminConfig,
    /// The UDP listeners' limits and reply cache (table `[udp]`); every
    /// key has a default.
    #[serde(default)]
    pub udp: UdpConfig,
    /// Registration with the local rpcbind (table `[rpcbind]`); off when
    /// absent.
    #[serde(default)]
    pub rpcbind: RpcbindConfig,
}

/// Table `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest call record accepted from a client, in bytes (key
    /// `max_record_bytes`, default 8 MiB). A client sending a larger one is
    /// disconnected.
    pub max_record_bytes: u32,
    /// Calls one client connection may have outstanding (key
    /// `max_in_flight_per_client`, default 64, at most 65,536); further
    /// calls wait to be read.
    pub max_in_flight_per_client: usize,
    /// Calls outstanding on one backend (key `max_in_flight_per_backend`,
    /// default 1024, at most 2^20); further calls wait for a slot until
    /// their deadline.
    pub max_in_flight_per_backend: usize,
    /// Client connections at once over all listeners (key
    /// `max_connections`, default 1024, at most 2^20). One more evicts the
    /// connection idle the longest (no call in flight, no reply waiting);
    /// when every connection is busy it is accepted and closed. Lowered at
    /// start-up to what the descriptor limit leaves after `reserved_fds`
    /// (logged as a warning).
    pub max_connections: usize,
    /// File descriptors kept from client connections (key
    /// `reserved_fds`, default 128, at least 16): for the admin socket
    /// (16 connections), `/metrics` (16), backend connections and their
    /// reconnections, reloads and files. Client connections may use the
    /// soft `RLIMIT_NOFILE` (raised to the hard limit at start-up) less
    /// this.
    pub reserved_fds: u64,
    /// How long a caller waits for a backend's reply by default, in
    /// milliseconds (key `call_timeout_ms`, default 30,000).
    pub call_timeout_ms: u64,
    /// How long a client connection may stay idle (no call in flight, no
    /// reply waiting, nothing of a record sent) before it is closed, in
    /// milliseconds (key `idle_timeout_ms`, default 300,000: 5 minutes).
    pub idle_timeout_ms: u64,
    /// How long a client may take to send the rest of a call record once
    /// its first byte has arrived, in milliseconds (key
    /// `record_timeout_ms`, default 10,000); a slower client (slowloris)
    /// is closed.
    pub record_timeout_ms: u64,
    /// How long replies may wait for a client to read them without the
    /// socket taking a byte, in milliseconds (key `write_timeout_ms`,
    /// default 30,000); the client is then closed.
    pub write_timeout_ms: u64,
    /// Bytes of replies waiting for one client to read them (key
    /// `max_unread_bytes_per_client`, default 16 MiB). At this many the
    /// broker reads no further call from the client (backpressure); a
    /// reply that arrives for it while it is over the cap closes it.
    pub max_unread_bytes_per_client: u64,
    /// Bytes of replies waiting for all clients together (key
    /// `max_unread_bytes`, default 256 MiB). At this many no further call
    /// is read from a client with replies waiting, and a reply that
    /// arrives for such a client closes it.
    pub max_unread_bytes: u64,
}

impl Limits {
    /// The keys applied only when the broker starts, with their values:
    /// a reload keeps them as they are.
    pub(crate) fn restart_only(&self) -> [(&'static str, u64); 9] {
        let n = |v: usize| v as u64;
        [
            ("limits.max_record_bytes", u64::from(self.max_record_bytes)),
            (
                "limits.max_in_flight_per_client",
                n(self.max_in_flight_per_client),
            ),
            ("limits.max_connections", n(self.max_connections)),
            ("limits.reserved_fds", self.reserved_fds),
            ("limits.idle_timeout_ms", self.idle_timeout_ms),
            ("limits.record_timeout_ms", self.record_timeout_ms),
            ("limits.write_timeout_ms", self.write_timeout_ms),
            (
                "limits.max_unread_bytes_per_client",
                self.max_unread_bytes_per_client,
            ),
            ("limits.max_unread_bytes", self.max_unread_bytes),
        ]
    }

    /// These limits with the start-up-only ones ([`Limits::restart_only`])
    /// taken from `running`.
    pub(crate) fn keeping_restart_only(&self, running: &Limits) -> Limits {
        Limits {
            max_in_flight_per_backend: self.max_in_flight_per_backend,
            call_timeout_ms: self.call_timeout_ms,
            ..running.clone()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 8 * 1024 * 1024,
            max_in_flight_per_client: 64,
            max_in_flight_per_backend: 1024,
            max_connections: 1024,
            reserved_fds: 128,
            call_timeout_ms: 30_000,
            idle_timeout_ms: 300_000,
            record_timeout_ms: 10_000,
            write_timeout_ms: 30_000,
            max_unread_bytes_per_client: 16 * 1024 * 1024,
            max_unread_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Table `[backends.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Where the backend is (key `address`).
    pub address: BackendAddress,
    /// Connections the broker keeps to it (key `connections`, default 1,
    /// at most 64); each call goes to the least loaded one.
    #[serde(default = "one")]
    pub connections: usize,
    /// TCP only: RPC-over-TLS to this backend (table
    /// `[backends.NAME.tls]`, see [`BackendTls`]); absent: plain.
    #[serde(default)]
    pub tls: Option<BackendTls>,
    /// RPCSEC_GSS to this backend (table `[backends.NAME.gss]`, see
    /// [`BackendGss`]); absent: calls go with the credentials the core
    /// gives them (AUTH_NONE for calls the broker checked itself).
    #[serde(default)]
    pub gss: Option<BackendGss>,
}

fn one() -> usize {
    1
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown, missing or of the wrong
    /// type. The message names the key and the line.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// The configuration is well-formed but inconsistent; the message names
    /// the key and, where known, the line.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// The embedded default configuration (see the module docs).
    pub const DEFAULT_TOML: &'static str = include_str!("default.toml");

    /// The embedded default configuration, parsed.
    ///
    /// # Errors
    ///
    /// None in practice: a test checks the embedded text is valid.
    pub fn embedded_default() -> Result<Config, ConfigError> {
        Config::from_toml(Config::DEFAULT_TOML)
    }

    /// Parses and validates a configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Toml`] or [`ConfigError::Invalid`].
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate(text)?;
        Ok(config)
    }

    /// Reads, parses and validates the configuration file at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`], [`ConfigError::Toml`] (its message names the
    /// file's line) or [`ConfigError::Invalid`].
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text)
    }

    /// This configuration with every relative Unix socket path (listeners
    /// and backends) placed under `dir`.
    #[must_use]
    pub fn resolve_relative_paths(mut self, dir: &Path) -> Config {
        for l in &mut self.listen {
            if let ListenAddress::Stream(e) = &mut l.address {
                *e = e.clone().resolve_relative(dir);
            }
        }
        for b in self.backends.values_mut() {
            if let BackendAddress::Endpoint(e) = &mut b.address {
                *e = e.clone().resolve_relative(dir);
            }
        }
        self.admin = self.admin.resolve_relative(dir);
        self
    }
}

/// The directory for relative Unix socket paths: `$XDG_RUNTIME_DIR` when
/// it names a directory, else the system's temporary directory.
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

#[cfg(test)]
mod tests;
