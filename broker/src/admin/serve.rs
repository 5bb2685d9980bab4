//! Serving the admin protocol on its Unix socket with the generated
//! dispatcher.

use rpc_runtime::server::PeerAddr;
use rpc_runtime::Server;
use tokio::task::JoinSet;

use super::proto::BrokerAdminV1Server;
use super::AdminService;
use crate::driver::listener::{Accepted, Listener};

/// Admin connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 16;

/// Largest admin record, bytes (a status of many backends fits).
const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Serves `service` on `listener` until the task is aborted.
pub(crate) async fn serve(listener: Listener, service: AdminService) {
    let metrics = std::sync::Arc::clone(&service.handle.metrics);
    let server = Server::builder()
        .max_record_bytes(MAX_RECORD_BYTES)
        .max_connections(MAX_CONNECTIONS)
        .register(BrokerAdminV1Server::new(service))
        .build();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept(&metrics) => {
                let Accepted::Unix(io, ..) = accepted else { continue };
                if conns.len() >= MAX_CONNECTIONS {
                    continue;
                }
                let server = server.clone();
                conns.spawn(async move {
                    if let Err(e) = server.serve_connection(io, PeerAddr::Unix(None)).await {
                        tracing::debug!(error = %e, "admin connection ended");
                    }
                });
            }
        }
    }
}
