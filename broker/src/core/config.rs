//! The core's configuration: backends, routes with their pools and
//! per-procedure policies, limits and supervision parameters, all
//! resolved (no names to look up, durations as [`Duration`]).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::core::policy::{Access, MissRule};
use crate::core::route::{BackendId, RoutingTable};

/// Everything the [`Core`](super::Core) needs to know.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The backends, indexed by [`BackendId`].
    pub backends: Vec<BackendSpec>,
    /// The routes, indexed by [`RouteId`](crate::core::route::RouteId).
    pub routes: Vec<RoutePlan>,
    /// Program and version to route.
    pub table: RoutingTable,
    /// In-flight limits.
    pub limits: CoreLimits,
    /// Reconnection, health checks and ejection.
    pub supervision: Supervision,
    /// Seed of the jitter generator; the core is deterministic given the
    /// seed and its inputs.
    pub seed: u64,
}

/// One backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// Its name in the configuration; also what rendezvous hashing hashes
    /// (see [`hrw`](super::hrw)).
    pub name: String,
    /// Program and version of the NULL (procedure 0) call used as the
    /// health check. Any well-formed REPLY counts as healthy, so a version
    /// the server does not have still proves it is alive.
    pub health_check: (u32, u32),
    /// Connections kept to it (at least 1); calls go to the least loaded.
    pub connections: usize,
}

/// How calls of one route are placed and how long they wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    /// The backends serving the route, in configuration order.
    pub pool: Vec<BackendId>,
    /// How many backends of the pool hold one key (its replicas): the
    /// key's first `replicas` backends in rendezvous order. A keyed call
    /// goes to the first live one, a write to every live one (see
    /// [`policy`](super::policy)). At least 1, at most the pool size.
    pub replicas: usize,
    /// How a routing key is read from calls, if at all.
    pub key: Option<KeyRule>,
    /// How long a caller waits for the reply, unless its procedure says
    /// otherwise.
    pub timeout: Duration,
    /// Extra attempts for idempotent procedures (on connection loss or
    /// attempt timeout), each on the next replica when there is one.
    pub retries: u32,
    /// How long one attempt of an idempotent call waits before it is
    /// retried; `None`: only connection loss triggers a retry.
    pub attempt_timeout: Option<Duration>,
    /// Replicas that must acknowledge a write (`AllSyncRoute`) for the
    /// client to get a success: at least 1, at most `replicas`.
    pub min_acks: usize,
    /// What a "not found" reply looks like, for reads
    /// (`MissFailoverRoute`) and for choosing among a write's replies;
    /// `None`: no reply is a miss.
    pub miss: Option<MissRule>,
    /// Per-procedure policies; a procedure not listed is not idempotent,
    /// not classed, keyed (when the route has a key) and uses the route's
    /// timeout.
    pub procedures: BTreeMap<u32, ProcedurePolicy>,
}

/// How a routing key is read from a call's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    /// The first argument is an XDR `string<>` or `opaque<>` (as
    /// `ds_key` in `datastore/specs/datastore.x`), at most `max_bytes` long.
    FirstOpaque {
        /// Longest key, bytes.
        max_bytes: usize,
    },
}

/// The policy of one procedure of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcedurePolicy {
    /// Safe to execute more than once: may be retried and failed over
    /// after it was sent. Procedures that are not idempotent are sent at
    /// most once to each backend (a write once to each live replica, a
    /// read once more to the next replica after a miss).
    pub idempotent: bool,
    /// Its arguments start with the route's key; when false (or the key
    /// cannot be read) the call goes to the pool's backends in turn.
    pub keyed: bool,
    /// Overrides the route's timeout.
    pub timeout: Option<Duration>,
    /// Read, write, or neither: decides how a keyed call uses the key's
    /// replicas (see [`policy`](super::policy)).
    pub access: Access,
}

impl Default for ProcedurePolicy {
    fn default() -> Self {
        ProcedurePolicy {
            idempotent: false,
            keyed: true,
            timeout: None,
            access: Access::Unclassed,
        }
    }
}

/// In-flight limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreLimits {
    /// Calls one client may have outstanding; further calls are answered
    /// SYSTEM_ERR at once (the driver normally stops reading first).
    pub max_in_flight_per_client: usize,
    /// Calls outstanding on one backend; further calls wait in the
    /// backend's queue until a reply frees a slot or their deadline passes.
    pub max_in_flight_per_backend: usize,
}

/// Supervision of backend connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supervision {
    /// How long a connection attempt may take.
    pub connect_timeout: Duration,
    /// Delay before the first reconnection; doubles per consecutive
    /// failure up to `backoff_max`, with jitter (a uniform draw from half
    /// the delay to the whole of it).
    pub backoff_initial: Duration,
    /// Longest delay between connection attempts.
    pub backoff_max: Duration,
    /// Time between health checks (NULL calls) on an idle-or-busy live
    /// connection.
    pub health_interval: Duration,
    /// How long a health check waits for its reply.
    pub health_timeout: Duration,
    /// Consecutive failures (connections refused or lost, health checks
    /// unanswered) after which a backend is ejected from routing. An
    /// ejected backend is readmitted when a health check succeeds.
    pub eject_after_failures: u32,
    /// Connection attempts allowed per `restart_window` (per backend, all
    /// its connections together); beyond that the backend is ejected and
    /// the connection left alone for `backoff_max`.
    pub max_restarts: u32,
    /// The window of `max_restarts`.
    pub restart_window: Duration,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision {
            connect_timeout: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            health_interval: Duration::from_secs(1),
            health_timeout: Duration::from_secs(1),
            eject_after_failures: 3,
            max_restarts: 20,
            restart_window: Duration::from_secs(10),
        }
    }
}

impl RoutePlan {
    /// The policy of `procedure`.
    pub fn policy(&self, procedure: u32) -> ProcedurePolicy {
        self.procedures.get(&procedure).copied().unwrap_or_default()
    }
}
