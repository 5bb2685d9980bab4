//! `[[routes]]` and `[[routes.procedures]]` tables.

use serde::Deserialize;
use toml::Spanned;

/// One `[[routes]]` entry: which calls (program, versions) go to which
/// backends, and how.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The program number (key `program`).
    pub program: u32,
    /// The versions routed (key `versions`); absent or empty: all.
    #[serde(default)]
    pub versions: Vec<u32>,
    /// A single backend's name, a key of `[backends]` (key `backend`).
    /// Exactly one of `backend` and `pool` is given.
    #[serde(default)]
    pub backend: Option<Spanned<String>>,
    /// Several backends' names (key `pool`): calls are spread over them by
    /// key (see `key`) or in turn.
    #[serde(default)]
    pub pool: Option<Spanned<Vec<String>>>,
    /// How many backends of the pool hold one key (key `replicas`, default
    /// 1, at most the pool size): procedures classed `write` go to every
    /// live one, others to the first live one, failing over to the next.
    #[serde(default)]
    pub replicas: Option<Spanned<usize>>,
    /// Where calls carry their routing key (key `key`): `"first-argument"`
    /// reads the first argument as an XDR `string<>` / `opaque<>` and
    /// places the call by rendezvous hashing over the pool. Absent: calls
    /// go to the pool's backends in turn.
    #[serde(default)]
    pub key: Option<KeySource>,
    /// How long a caller waits for the reply, in milliseconds (key
    /// `timeout_ms`); absent: `limits.call_timeout_ms`.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Extra attempts for procedures marked idempotent, each on the next
    /// replica when there is one (key `retries`, default 1). Other
    /// procedures are sent at most once to each backend.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// How long one attempt of an idempotent procedure waits before it is
    /// retried, in milliseconds (key `attempt_timeout_ms`); absent: only a
    /// lost connection triggers a retry.
    #[serde(default)]
    pub attempt_timeout_ms: Option<u64>,
    /// Replicas that must acknowledge a procedure classed `write` before
    /// the client gets a success (key `min_acks`, default 1, at most
    /// `replicas`). A write goes to every live replica of its key; with
    /// fewer acknowledgements the client gets SYSTEM_ERR.
    #[serde(default)]
    pub min_acks: Option<Spanned<usize>>,
    /// The first XDR word of a successful reply's results that means "not
    /// found" (key `miss_status`; for `specs/datastore.x`, `DS_NOENT` = 2).
    /// A procedure classed `read` answered with it asks the key's next
    /// live replica before the miss is returned. Absent: no reply is a
    /// miss.
    #[serde(default)]
    pub miss_status: Option<u32>,
    /// Per-procedure policies (array of tables `[[routes.procedures]]`).
    #[serde(default)]
    pub procedures: Vec<Spanned<ProcedureConfig>>,
}

fn default_retries() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Value of a route's `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySource {
    /// `"first-argument"`: the first argument, an XDR `string<>` or
    /// `opaque<>`.
    FirstArgument,
}

/// One `[[routes.procedures]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureConfig {
    /// The procedure number (key `procedure`).
    pub procedure: u32,
    /// A name for logs (key `name`), e.g. `"DS_GET"`.
    #[serde(default)]
    pub name: Option<String>,
    /// Safe to execute twice (key `idempotent`, default false): may be
    /// retried and failed over after it was sent.
    #[serde(default)]
    pub idempotent: bool,
    /// Its arguments start with the route's key (key `keyed`, default
    /// true); false sends it to the pool's backends in turn.
    #[serde(default = "yes")]
    pub keyed: bool,
    /// Overrides the route's `timeout_ms` (key `timeout_ms`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// What the procedure does to its key's data (key `class`): `"read"`
    /// (fails over to the next replica on a miss) or `"write"` (sent to
    /// every live replica). Absent: the key's first live replica only.
    /// `"write"` needs a keyed procedure on a route with a `key`; a
    /// `"read"` that is not keyed goes to the pool's backends in turn.
    #[serde(default)]
    pub class: Option<ProcedureClass>,
}

/// Value of a procedure's `class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcedureClass {
    /// `"read"`: `MissFailoverRoute`.
    Read,
    /// `"write"`: `AllSyncRoute`.
    Write,
}
