//! [`ConnLimitArgs`]: `datastore-server`'s switches for the connection
//! limits of [`Server`] (see [`rpc_runtime::conn_limits`]), and the line
//! it logs of their hits.

use std::time::Duration;

use rpc_runtime::conn_limits::{self, Limit};
use rpc_runtime::server::DEFAULT_MAX_CONNECTIONS;
use rpc_runtime::{Server, ServerBuilder};

/// The connection limits, as command-line switches (a
/// `#[command(flatten)]` group of `datastore-server`). Timeouts are in
/// seconds, 0 turning one off.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnLimitArgs {
    /// Connections per listener; one more evicts the connection idle the
    /// longest (or, with every connection busy, is closed).
    #[arg(long, value_name = "COUNT", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a connection may be idle (no call executing, no reply
    /// waiting) before it is closed; 0: never.
    #[arg(long, value_name = "SECONDS",
          default_value_t = conn_limits::DEFAULT_IDLE_TIMEOUT.as_secs_f64())]
    pub idle_timeout: f64,
    /// Seconds a call record may take from its first byte to its last
    /// (slowloris); 0: no limit.
    #[arg(long, value_name = "SECONDS",
          default_value_t = conn_limits::DEFAULT_RECORD_TIMEOUT.as_secs_f64())]
    pub record_timeout: f64,
    /// Seconds replies may wait without the client taking a byte; 0: no
    /// limit.
    #[arg(long, value_name = "SECONDS",
          default_value_t = conn_limits::DEFAULT_WRITE_TIMEOUT.as_secs_f64())]
    pub write_timeout: f64,
    /// Reply bytes waiting for one connection at which its calls are no
    /// longer read.
    #[arg(long, value_name = "BYTES",
          default_value_t = conn_limits::DEFAULT_MAX_UNREAD_BYTES_PER_CONNECTION)]
    pub max_unread_bytes_per_connection: usize,
    /// Reply bytes waiting for all connections at which calls are no
    /// longer read.
    #[arg(long, value_name = "BYTES", default_value_t = conn_limits::DEFAULT_MAX_UNREAD_BYTES)]
    pub max_unread_bytes: usize,
}

impl ConnLimitArgs {
    /// `builder` with these limits.
    ///
    /// # Errors
    ///
    /// A message naming the switch whose seconds are negative or not a
    /// number.
    pub fn apply(&self, builder: ServerBuilder) -> Result<ServerBuilder, String> {
        let secs = |name: &str, v: f64| -> Result<Option<Duration>, String> {
            let d = Duration::try_from_secs_f64(v).map_err(|e| format!("--{name}: {e}"))?;
            Ok((!d.is_zero()).then_some(d))
        };
        Ok(builder
            .max_connections(self.max_connections)
            .idle_timeout(secs("idle-timeout", self.idle_timeout)?)
            .record_timeout(secs("record-timeout", self.record_timeout)?)
            .write_timeout(secs("write-timeout", self.write_timeout)?)
            .max_unread_bytes(self.max_unread_bytes_per_connection, self.max_unread_bytes))
    }
}

/// Logs (at info level) how often `server`'s connections hit each limit,
/// and how many ended in a broken record stream or a garbage record:
/// `connection limits: max_connections_evicted=N ... bad_record_streams=N
/// garbage_records=N`.
pub fn log_conn_stats(server: &Server) {
    let stats = server.conn_stats();
    let mut line = String::from("connection limits:");
    for limit in Limit::ALL {
        line.push_str(&format!(" {limit}={}", stats.limit_hits(limit)));
    }
    line.push_str(&format!(
        " bad_record_streams={} garbage_records={}",
        stats.bad_record_streams(),
        stats.garbage_records()
    ));
    tracing::info!("{line}");
}
