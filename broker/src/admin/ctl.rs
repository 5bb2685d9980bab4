//! `broker ctl`: the admin protocol's generated client, with the text it
//! prints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rpc_runtime::{Client, RpcError};

use super::proto::{BaName, BaStatus, BaStatusRes, BrokerAdminV1Client};
use super::{render_stats, render_status};

/// How long `broker ctl` waits for an answer (a reload validates and
/// applies a configuration first).
pub const CTL_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The admin socket could not be reached, or the call failed.
    #[error("{socket}: {source}")]
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
/// returns the text to print.
///
/// # Errors
///
/// [`CtlError::Rpc`] when the broker cannot be reached or the call fails;
/// [`CtlError::Refused`] when the broker refuses (no such backend, an
/// invalid configuration on reload).
pub async fn run(socket: &Path, command: &CtlCommand) -> Result<String, CtlError> {
    let rpc = |source| CtlError::Rpc {
        socket: socket.to_owned(),
        source,
    };
    let client = Client::builder()
        .timeout(CTL_TIMEOUT)
        .max_record_bytes(16 * 1024 * 1024)
        .connect_unix(socket)
        .await
        .map_err(rpc)?;
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
