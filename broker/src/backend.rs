//! [`Backend`]: one shared connection to a data server, over which the
//! calls of every client connection are forwarded.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use datastore::Endpoint;
use rpc_runtime::{Client, RpcError, Server};
use tokio::sync::Mutex;

use crate::config::BackendAddress;

/// Buffer size of the in-memory pipe to a builtin backend, in bytes.
const BUILTIN_PIPE_BYTES: usize = 256 * 1024;

/// How to reach a backend.
#[derive(Clone)]
enum Target {
    /// A server at a TCP or Unix socket address.
    Remote(Endpoint),
    /// A server in this process, reached through an in-memory pipe.
    InProcess(Server),
}

/// One backend: a name, where it is, and at most one live connection
/// ([`rpc_runtime::Client`]) shared by every caller.
///
/// The connection is made on first use and made again on the first call
/// after it failed, so a restarted backend is picked up; calls that were in
/// flight when it failed get an error (and their callers a SYSTEM_ERR
/// reply from the broker).
pub(crate) struct Backend {
    name: String,
    target: Target,
    max_record_bytes: usize,
    client: Mutex<Option<Client>>,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match &self.target {
            Target::Remote(e) => e.to_string(),
            Target::InProcess(_) => "in-process".to_owned(),
        };
        f.debug_struct("Backend")
            .field("name", &self.name)
            .field("target", &target)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// A backend named `name` at `address`, whose connection carries
    /// records of at most `max_record_bytes`. Nothing is connected yet; a
    /// builtin backend's server is created here (empty).
    pub(crate) fn new(name: &str, address: &BackendAddress, max_record_bytes: usize) -> Backend {
        let target = match address {
            BackendAddress::Endpoint(e) => Target::Remote(e.clone()),
            BackendAddress::Builtin(b) => Target::InProcess(crate::builtin::server(*b)),
        };
        Backend {
            name: name.to_owned(),
            target,
            max_record_bytes,
            client: Mutex::new(None),
        }
    }

    /// The backend's name in the configuration.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Forwards one call record and returns the reply record, waiting at
    /// most `timeout` for the reply (RFC 5531 section 11 records, without
    /// record marking). The XID is rewritten on the way out and restored on
    /// the way back ([`Client::forward`]).
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] when the backend cannot be reached or the
    /// connection fails, [`RpcError::Timeout`], [`RpcError::MalformedCall`].
    pub(crate) async fn forward(
        &self,
        record: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, RpcError> {
        let client = self.client().await?;
        client.with_timeout(timeout).forward(record).await
    }

    /// The live connection, connecting first if there is none or the last
    /// one failed. Concurrent callers wait for one connection attempt.
    async fn client(&self) -> Result<Client, RpcError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let builder = Client::builder().max_record_bytes(self.max_record_bytes);
        let client = match &self.target {
            Target::Remote(Endpoint::Tcp(addr)) => builder.connect_tcp(addr.as_str()).await,
            Target::Remote(Endpoint::Unix(path)) => builder.connect_unix(path).await,
            Target::InProcess(server) => {
                let (ours, theirs) = tokio::io::duplex(BUILTIN_PIPE_BYTES);
                let server = server.clone();
                let name = self.name.clone();
                tokio::spawn(async move {
                    let peer = rpc_runtime::server::PeerAddr::Unknown;
                    if let Err(e) = server.serve_connection(theirs, peer).await {
                        tracing::warn!(backend = %name, error = %e, "in-process backend connection failed");
                    }
                });
                builder.connect_io(ours)
            }
        };
        match client {
            Ok(c) => {
                tracing::info!(backend = %self.name, "connected to backend");
                *slot = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                tracing::warn!(backend = %self.name, error = %e, "cannot connect to backend");
                *slot = None;
                Err(e)
            }
        }
    }
}
