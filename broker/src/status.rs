//! [`Snapshot`]: the state of the routing core at one moment, taken by the
//! driver task for the admin protocol and the metrics endpoint.

use std::time::Duration;

use crate::core::{BackendStatus, CoreStats, LinkStatus};

/// The core's state at one moment; its parts are consistent with each
/// other.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    /// Counters and gauges.
    pub(crate) stats: CoreStats,
    /// Every backend, in handle order, retired ones included until their
    /// connections are closed.
    pub(crate) backends: Vec<BackendSnapshot>,
    /// The routes in configuration order.
    pub(crate) routes: Vec<RouteSnapshot>,
    /// Configurations applied since start (reloads).
    pub(crate) reloads: u32,
}

/// One backend.
#[derive(Debug, Clone)]
pub(crate) struct BackendSnapshot {
    pub(crate) name: String,
    /// Its address as configured.
    pub(crate) address: String,
    pub(crate) status: BackendStatus,
    /// Its connection slots.
    pub(crate) links: Vec<LinkStatus>,
}

/// One route.
#[derive(Debug, Clone)]
pub(crate) struct RouteSnapshot {
    pub(crate) program: u32,
    /// Empty: every version.
    pub(crate) versions: Vec<u32>,
    /// Backend names.
    pub(crate) pool: Vec<String>,
    pub(crate) replicas: usize,
    pub(crate) keyed: bool,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    /// The replica and per-procedure policies, one line each
    /// ([`describe`](crate::core::policy::describe)).
    pub(crate) policies: Vec<String>,
}
