//! The broker's TOML configuration: listeners, limits, backends, routes.
//!
//! ```toml
//! # Where clients connect: tcp://HOST:PORT or unix://PATH. A relative
//! # Unix path is placed in the runtime directory ($XDG_RUNTIME_DIR, else
//! # the system's temporary directory).
//! listen = ["unix://broker.sock", "tcp://127.0.0.1:7100"]
//!
//! [limits]
//! max_record_bytes = 8388608     # largest call record from a client, bytes
//! max_in_flight_per_client = 64  # calls one client may have outstanding
//! max_connections = 1024         # client connections at once, all listeners
//! call_timeout_ms = 30000        # default wait for a backend's reply
//!
//! [backends.store1]
//! address = "tcp://127.0.0.1:7101"   # or unix://PATH, or builtin:datastore
//!
//! [[routes]]
//! program = 0x2000DA7A     # the program number
//! versions = [1]           # optional: absent or empty routes every version
//! backend = "store1"       # a key of [backends]
//! timeout_ms = 5000        # optional: overrides limits.call_timeout_ms
//! ```
//!
//! [`Config::DEFAULT_TOML`] is the embedded default the broker runs with
//! when started without arguments.

mod address;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use address::{BackendAddress, Builtin, ListenAddress};

use crate::route::{BackendId, Rule};

/// A whole broker configuration, as read from TOML.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the broker accepts client connections (key `listen`). At least
    /// one.
    pub listen: Vec<ListenAddress>,
    /// Limits (table `[limits]`); every key has a default.
    #[serde(default)]
    pub limits: Limits,
    /// Backends by name (tables `[backends.NAME]`).
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    /// Routes (array of tables `[[routes]]`), tried by program and version.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
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
    /// `max_in_flight_per_client`, default 64); further calls wait to be
    /// read.
    pub max_in_flight_per_client: usize,
    /// Client connections at once over all listeners (key
    /// `max_connections`, default 1024); more are accepted and closed.
    pub max_connections: usize,
    /// How long a caller waits for a backend's reply by default, in
    /// milliseconds (key `call_timeout_ms`, default 30,000).
    pub call_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 8 * 1024 * 1024,
            max_in_flight_per_client: 64,
            max_connections: 1024,
            call_timeout_ms: 30_000,
        }
    }
}

/// Table `[backends.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Where the backend is (key `address`).
    pub address: BackendAddress,
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The program number (key `program`).
    pub program: u32,
    /// The versions routed (key `versions`); absent or empty: all.
    #[serde(default)]
    pub versions: Vec<u32>,
    /// The backend's name, a key of `[backends]` (key `backend`).
    pub backend: String,
    /// How long a caller waits for the reply, in milliseconds (key
    /// `timeout_ms`); absent: `limits.call_timeout_ms`.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
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
    /// the key.
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
        config.validate()?;
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

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.listen.is_empty() {
            return invalid("listen: at least one address is needed".into());
        }
        if self.limits.max_in_flight_per_client == 0 {
            return invalid("limits.max_in_flight_per_client: must be at least 1".into());
        }
        if self.limits.max_connections == 0 {
            return invalid("limits.max_connections: must be at least 1".into());
        }
        if self.limits.max_record_bytes < 24 {
            return invalid(
                "limits.max_record_bytes: must be at least 24 (one call header)".into(),
            );
        }
        for (i, r) in self.routes.iter().enumerate() {
            if !self.backends.contains_key(&r.backend) {
                return invalid(format!(
                    "routes[{i}].backend: no backend named `{}` in [backends]",
                    r.backend
                ));
            }
        }
        let (rules, _) = self.rules();
        crate::route::RoutingTable::new(&rules, self.backends.len())
            .map_err(|e| ConfigError::Invalid(format!("routes: {e}")))?;
        Ok(())
    }

    /// The backends' names and addresses in [`BackendId`] order, and the
    /// routes as [`Rule`]s naming them.
    pub fn rules(&self) -> (Vec<Rule>, Vec<(&str, &BackendAddress)>) {
        let backends: Vec<(&str, &BackendAddress)> = self
            .backends
            .iter()
            .map(|(name, b)| (name.as_str(), &b.address))
            .collect();
        let rules = self
            .routes
            .iter()
            .filter_map(|r| {
                let id = backends.iter().position(|(name, _)| *name == r.backend)?;
                Some(Rule {
                    program: r.program,
                    versions: r.versions.clone(),
                    backend: BackendId(id),
                    timeout: Duration::from_millis(
                        r.timeout_ms.unwrap_or(self.limits.call_timeout_ms),
                    ),
                })
            })
            .collect();
        (rules, backends)
    }

    /// This configuration with every relative Unix socket path (listeners
    /// and backends) placed under `dir`.
    #[must_use]
    pub fn resolve_relative_paths(mut self, dir: &Path) -> Config {
        for l in &mut self.listen {
            l.0 = l.0.clone().resolve_relative(dir);
        }
        for b in self.backends.values_mut() {
            if let BackendAddress::Endpoint(e) = &mut b.address {
                *e = e.clone().resolve_relative(dir);
            }
        }
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
