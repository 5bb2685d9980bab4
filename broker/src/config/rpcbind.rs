//! Table `[rpcbind]`: whether the broker registers its routed programs
//! with the local rpcbind.

use serde::Deserialize;

/// Table `[rpcbind]`.
///
/// ```toml
/// [rpcbind]
/// register = true   # register every routed program version
/// ```
///
/// When on, the broker registers every program version its routes name
/// (routes without `versions` are skipped: rpcbind needs version
/// numbers) at its TCP, UDP and Unix listeners, as a libtirpc server
/// does (rpcbind version 3/4 SET, and portmapper version 2 for TCP and
/// UDP), updates the registrations on every reload and removes them when
/// it stops. Without a running rpcbind it logs one warning and serves on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcbindConfig {
    /// Register with rpcbind (key `register`). Default false when the key
    /// is absent, so that brokers started for tests or benchmarks, many
    /// on one machine, never fight over the machine's rpcbind; the
    /// embedded default configuration and `broker.example.toml` set it.
    pub register: bool,
}
