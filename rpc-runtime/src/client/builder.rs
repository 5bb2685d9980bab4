//! [`ClientBuilder`]: connection settings for a [`Client`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, ToSocketAddrs, UnixStream};

use super::Client;
use crate::message::Credentials;
use crate::record::RecordCodecBuilder;
use crate::RpcError;

/// The default call timeout: 25 seconds, as in rpcgen's client stubs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(25);

/// The default number of call records queued for the connection's writer
/// before callers wait.
pub const DEFAULT_QUEUE_DEPTH: usize = 1024;

/// Configures and connects a [`Client`].
///
/// ```no_run
/// # async fn demo() -> Result<(), rpc_runtime::RpcError> {
/// use std::time::Duration;
/// use rpc_runtime::message::{AuthSysParams, Credentials};
/// let client = rpc_runtime::Client::builder()
///     .timeout(Duration::from_secs(5))
///     .credentials(Credentials::Sys(AuthSysParams { uid: 1000, gid: 1000, ..Default::default() }))
///     .connect_tcp("127.0.0.1:2049")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    timeout: Duration,
    credentials: Credentials,
    codec: RecordCodecBuilder,
    queue_depth: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            timeout: DEFAULT_TIMEOUT,
            credentials: Credentials::None,
            codec: RecordCodecBuilder::new(),
            queue_depth: DEFAULT_QUEUE_DEPTH,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the default timeout of each call, from the call's start to its
    /// reply (default [`DEFAULT_TIMEOUT`], 25 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the credentials sent with every call (default AUTH_NONE).
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets the largest call or reply record, in bytes (default
    /// [`DEFAULT_MAX_RECORD_BYTES`](crate::record::DEFAULT_MAX_RECORD_BYTES),
    /// 4 MiB). A larger reply closes the connection; a larger call fails
    /// alone.
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

    /// Sets how many call records may wait for the writer before callers
    /// wait too (default [`DEFAULT_QUEUE_DEPTH`]; at least 1).
    #[must_use]
    pub fn queue_depth(mut self, depth: usize) -> Self {
        self.queue_depth = depth.max(1);
        self
    }

    /// Connects over TCP (with `TCP_NODELAY`) and starts the connection
    /// task on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if connecting fails; [`RpcError::Encode`] if
    /// the credentials exceed their limits.
    pub async fn connect_tcp(self, addr: impl ToSocketAddrs) -> Result<Client, RpcError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        self.connect_io(stream)
    }

    /// Connects to a Unix stream socket and starts the connection task on
    /// the current tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::connect_tcp`].
    pub async fn connect_unix(self, path: impl AsRef<Path>) -> Result<Client, RpcError> {
        let stream = UnixStream::connect(path).await?;
        self.connect_io(stream)
    }

    /// Uses an already connected stream (anything [`AsyncRead`] +
    /// [`AsyncWrite`]) and starts the connection task on the current tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// [`RpcError::Encode`] if the credentials exceed their limits.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (it spawns a task).
    pub fn connect_io<IO>(self, io: IO) -> Result<Client, RpcError>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let credentials = self
            .credentials
            .to_opaque_auth()
            .map_err(RpcError::Encode)?;
        Ok(Client::start(
            io,
            self.codec.new_codec(),
            self.queue_depth,
            self.timeout,
            Arc::new(credentials),
        ))
    }
}
