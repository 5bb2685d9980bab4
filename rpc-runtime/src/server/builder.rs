//! [`ServerBuilder`].

use std::io;
use std::sync::Arc;

use tokio::net::{TcpListener, UnixListener};

use super::dispatch::Dispatch;
use super::fallback::Fallback;
use super::registry::Registry;
use super::{Server, ServerConfig};
use crate::record::RecordCodecBuilder;

/// The default limit on calls being executed at once per connection.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 256;

/// Collects program versions and settings, then serves.
///
/// ```no_run
/// # async fn demo(dispatcher: impl rpc_runtime::server::Dispatch) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// rpc_runtime::Server::builder()
///     .register(dispatcher)
///     .serve_tcp(listener)
///     .await
/// # }
/// ```
#[derive(Debug, Default)]
pub struct ServerBuilder {
    registry: Registry,
    codec: RecordCodecBuilder,
    max_concurrent_calls: Option<usize>,
}

impl ServerBuilder {
    /// An empty builder with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves a program version. Register each version of a program
    /// separately; a later registration of the same program and version
    /// replaces the earlier one.
    #[must_use]
    pub fn register(self, dispatcher: impl Dispatch) -> Self {
        self.register_arc(Arc::new(dispatcher))
    }

    /// As [`ServerBuilder::register`], for a shared dispatcher.
    #[must_use]
    pub fn register_arc(mut self, dispatcher: Arc<dyn Dispatch>) -> Self {
        self.registry.insert(dispatcher);
        self
    }

    /// Hands calls to programs that are not registered, as whole records,
    /// to `fallback` instead of answering PROG_UNAVAIL (see [`Fallback`]).
    #[must_use]
    pub fn fallback(mut self, fallback: impl Fallback) -> Self {
        self.registry.set_fallback(Arc::new(fallback));
        self
    }

    /// Sets the largest call or reply record, in bytes (default
    /// [`DEFAULT_MAX_RECORD_BYTES`](crate::record::DEFAULT_MAX_RECORD_BYTES),
    /// 4 MiB). A larger call closes its connection; a larger reply is
    /// replaced by SYSTEM_ERR.
    #[must_use]
    pub fn max_record_bytes(mut self, max: usize) -> Self {
        self.codec.max_record_bytes(max);
        self
    }

    /// Sets the largest fragment written, in bytes (default: one fragment
    /// per record).
    #[must_use]
    pub fn max_fragment_bytes(mut self, max: usize) -> Self {
        self.codec.max_fragment_bytes(max);
        self
    }

    /// Sets how many calls of one connection may execute at once (default
    /// [`DEFAULT_MAX_CONCURRENT_CALLS`]; at least 1). When reached, the
    /// server stops reading that connection until a call finishes.
    #[must_use]
    pub fn max_concurrent_calls(mut self, max: usize) -> Self {
        self.max_concurrent_calls = Some(max.max(1));
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        Server {
            config: Arc::new(ServerConfig {
                registry: self.registry,
                codec: self.codec,
                max_concurrent_calls: self
                    .max_concurrent_calls
                    .unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS),
            }),
        }
    }

    /// Builds the server and serves TCP connections accepted from
    /// `listener`; see [`Server::serve_tcp`].
    ///
    /// # Errors
    ///
    /// As [`Server::serve_tcp`].
    pub async fn serve_tcp(self, listener: TcpListener) -> io::Result<()> {
        self.build().serve_tcp(listener).await
    }

    /// Builds the server and serves Unix stream connections accepted from
    /// `listener`; see [`Server::serve_unix`].
    ///
    /// # Errors
    ///
    /// As [`Server::serve_unix`].
    pub async fn serve_unix(self, listener: UnixListener) -> io::Result<()> {
        self.build().serve_unix(listener).await
    }
}
