//! Table `[admin]`: where the broker serves its administration protocol
//! (`specs/broker_admin.x`) and its metrics.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Table `[admin]`. Both keys are optional; an absent key turns the
/// service off.
///
/// ```toml
/// [admin]
/// socket = "broker-admin.sock"   # Unix socket of `broker ctl`
/// metrics = "127.0.0.1:7190"     # OpenMetrics text format at /metrics
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// The Unix socket of the admin protocol (key `socket`), a path; a
    /// relative path is placed in the runtime directory, like the
    /// listeners'. Anyone who can open it can drain backends and reload,
    /// so it is created with the permissions of the broker's umask.
    pub socket: Option<PathBuf>,
    /// The HTTP address serving metrics at `/metrics` (key `metrics`,
    /// `HOST:PORT`). Use a loopback address unless the network is
    /// trusted: the endpoint has no authentication.
    pub metrics: Option<SocketAddr>,
}

impl AdminConfig {
    /// The admin socket's path with a relative path placed under `dir`.
    pub(crate) fn resolve_relative(mut self, dir: &Path) -> AdminConfig {
        if let Some(p) = &self.socket {
            if p.is_relative() {
                self.socket = Some(dir.join(p));
            }
        }
        self
    }
}
