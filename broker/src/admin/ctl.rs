//! `broker ctl`: the admin protocol's generated client, with the text it
//! prints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rpc_runtime::{Client, RpcError};

use super::proto::{BaName, BaStatus, BaStatusRes, BrokerAdminV1Client};
use super::{render_stats, render_status};

/// How long `broker ctl` waits, connection and answer together, unless
/// `--timeout` says otherwise: 10 seconds (a running broker answers status
/// in milliseconds and a reload in well under a second).
pub const DEFAULT_CTL_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin socket of the embedded default configuration:
/// `broker-admin.sock` in the runtime directory.
pub fn default_socket() -> PathBuf {
    crate::config::runtime_dir().join("broker-admin.sock")
}

/// One `broker ctl` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlCommand {
    /// Listeners, routes, backends with health, the task tree.
    Status,
    /// Counters and gauges.
    Stats,
    /// Take a backend out of routing.
    Drain(String),
    /// Put a drained backend back.
    Undrain(String),
    /// Re-read and apply the configuration.
    Reload,
}

/// Why a `broker ctl` request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtlError {
    /// Nobody accepts connections on the admin socket (no such file, or
    /// connection refused).
    #[error("{}: {source}: is the broker running?", socket.display())]
    Unreachable {
        /// The admin socket.
        socket: PathBuf,
        /// The connection error.
        source: RpcError,
    },
    /// No answer within the timeout: the socket accepted (or the connection
    /// hung) but nobody answered.
    #[error("{}: no answer within {} s: is the broker running?", socket.display(), timeout.as_secs_f64())]
    NoAnswer {
        /// The admin socket.
        socket: PathBuf,
        /// How long `broker ctl` waited.
        timeout: Duration,
    },
    /// The call failed.
    #[error("{}: {source}", socket.display())]
    Rpc {
        /// The admin socket.
        socket: PathBuf,
        /// The RPC error.
        source: RpcError,
    },
    /// The broker answered with an error status.
    #[error("{0}")]
    Refused(String),
}

/// Sends `command` to the broker whose admin socket is `socket` and
/// returns the text to print, waiting at most `timeout` (connection and
/// answer together).
///
/// # Errors
///
/// [`CtlError::Unreachable`] when nobody accepts on the socket;
/// [`CtlError::NoAnswer`] when no answer comes within `timeout`;
/// [`CtlError::Rpc`] when the call fails otherwise;
/// [`CtlError::Refused`] when the broker refuses (no such backend, an
/// invalid configuration on reload).
pub async fn run(
    socket: &Path,
    command: &CtlCommand,
    timeout: Duration,
) -> Result<String, CtlError> {
    let no_answer = || CtlError::NoAnswer {
        socket: socket.to_owned(),
        timeout,
    };
    match tokio::time::timeout(timeout, request(socket, command, timeout)).await {
        Ok(Err(CtlError::Rpc {
            source: RpcError::Timeout,
            ..
        }))
        | Err(_) => Err(no_answer()),
        Ok(r) => r,
    }
}

async fn request(
    socket: &Path,
    command: &CtlCommand,
    timeout: Duration,
) -> Result<String, CtlError> {
    let rpc = |source| CtlError::Rpc {
        socket: socket.to_owned(),
        source,
    };
    let client = Client::builder()
        .timeout(timeout)
        .max_record_bytes(16 * 1024 * 1024)
        .connect_unix(socket)
        .await
        .map_err(|source| CtlError::Unreachable {
            socket: socket.to_owned(),
            source,
        })?;
    let admin = BrokerAdminV1Client::new(client);
    match command {
        CtlCommand::Status => match admin.ba_status().await.map_err(rpc)? {
            BaStatusRes::BaOk(ok) => Ok(render_status(&ok)),
            BaStatusRes::Default(s) => Err(CtlError::Refused(format!("status: {}", word(s)))),
        },
        CtlCommand::Stats => Ok(render_stats(&admin.ba_stats().await.map_err(rpc)?)),
        CtlCommand::Drain(name) | CtlCommand::Undrain(name) => {
            let drain = matches!(command, CtlCommand::Drain(_));
            let arg = BaName::from(name.as_str());
            let status = if drain {
                admin.ba_drain(&arg).await
            } else {
                admin.ba_undrain(&arg).await
            }
            .map_err(rpc)?;
            let verb = if drain { "drained" } else { "undrained" };
            match status {
                BaStatus::BaOk => Ok(format!("{name}: {verb}\n")),
                BaStatus::BaNoent => Err(CtlError::Refused(format!("{name}: no such backend"))),
                s => Err(CtlError::Refused(format!("{name}: {}", word(s)))),
            }
        }
        CtlCommand::Reload => {
            let r = admin.ba_reload().await.map_err(rpc)?;
            match r.status {
                BaStatus::BaOk => Ok(format!("reloaded: {}\n", r.message)),
                s => Err(CtlError::Refused(format!(
                    "reload refused ({}): {}",
                    word(s),
                    r.message
                ))),
            }
        }
    }
}

fn word(s: BaStatus) -> &'static str {
    match s {
        BaStatus::BaOk => "ok",
        BaStatus::BaNoent => "no such entry",
        BaStatus::BaIo => "the broker could not do it",
        BaStatus::BaInval => "invalid",
    }
}
