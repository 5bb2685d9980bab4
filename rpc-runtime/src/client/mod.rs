//! The multiplexed client: [`Client`] and [`ClientBuilder`].
//!
//! One [`Client`] is one connection. A background task owns the socket;
//! calls from any number of tasks go out through it with distinct XIDs and
//! their replies are matched by XID in whatever order they arrive.

mod builder;
mod call;
mod in_flight;
mod task;

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::ToSocketAddrs;
use tokio::sync::mpsc;

pub use builder::{ClientBuilder, DEFAULT_QUEUE_DEPTH, DEFAULT_TIMEOUT};

use crate::message::{Credentials, OpaqueAuth};
use crate::record::RecordCodec;
use crate::RpcError;
use in_flight::InFlight;

/// A cheap, cloneable handle to one multiplexed ONC RPC connection (TCP or
/// Unix stream).
///
/// Many calls may be in flight at once from any number of tasks; each gets
/// its own XID and its reply is matched by XID. Each call has a timeout
/// (the client's default, or per handle with [`Client::with_timeout`]);
/// dropping a call's future cancels it. If the connection fails, every
/// pending call fails at once with [`RpcError::Transport`], and so do later
/// calls (this client does not reconnect).
///
/// The connection closes when the last handle is dropped.
///
/// ```no_run
/// # async fn demo() -> Result<(), rpc_runtime::RpcError> {
/// let client = rpc_runtime::Client::connect_tcp("127.0.0.1:2049").await?;
/// // NULL procedure of NFS version 3:
/// let () = client.call(100003, 3, 0, &()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    conn: Arc<Connection>,
    timeout: Duration,
    credentials: Arc<OpaqueAuth>,
}

/// State shared by every handle on one connection.
struct Connection {
    outgoing: mpsc::Sender<Bytes>,
    in_flight: Arc<InFlight>,
    next_xid: AtomicU32,
    max_record_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("credentials_flavor", &self.credentials.flavor)
            .field("pending_calls", &self.pending_calls())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A starting XID that differs between connections and processes, so a
/// server's duplicate-request cache does not confuse two clients.
fn initial_xid() -> u32 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish() as u32
}

impl Client {
    /// A builder for connection settings (timeout, credentials, limits).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects over TCP with the default settings.
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if connecting fails.
    pub async fn connect_tcp(addr: impl ToSocketAddrs) -> Result<Client, RpcError> {
        ClientBuilder::new().connect_tcp(addr).await
    }

    /// Connects to a Unix stream socket with the default settings.
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if connecting fails.
    pub async fn connect_unix(path: impl AsRef<Path>) -> Result<Client, RpcError> {
        ClientBuilder::new().connect_unix(path).await
    }

    fn start<IO>(
        io: IO,
        codec: RecordCodec,
        queue_depth: usize,
        timeout: Duration,
        credentials: Arc<OpaqueAuth>,
    ) -> Client
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (outgoing, rx) = mpsc::channel(queue_depth);
        let in_flight = Arc::new(InFlight::default());
        let max_record_bytes = codec.max_record_bytes();
        tokio::spawn(task::run(io, codec, rx, Arc::clone(&in_flight)));
        Client {
            conn: Arc::new(Connection {
                outgoing,
                in_flight,
                next_xid: AtomicU32::new(initial_xid()),
                max_record_bytes,
            }),
            timeout,
            credentials,
        }
    }

    /// A handle on the same connection whose calls use `timeout` instead
    /// of the default.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout,
            ..self.clone()
        }
    }

    /// A handle on the same connection whose calls carry `credentials`.
    ///
    /// # Errors
    ///
    /// [`RpcError::Encode`] if the credentials exceed their limits.
    pub fn with_credentials(&self, credentials: &Credentials) -> Result<Client, RpcError> {
        let cred = credentials.to_opaque_auth().map_err(RpcError::Encode)?;
        Ok(Client {
            credentials: Arc::new(cred),
            ..self.clone()
        })
    }

    /// This handle's call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Calls currently waiting for a reply on this connection.
    pub fn pending_calls(&self) -> usize {
        self.conn.in_flight.len()
    }

    /// Replies received so far that matched no waiting call (late replies
    /// to cancelled or timed-out calls, duplicates, bogus XIDs). They are
    /// dropped.
    pub fn unmatched_replies(&self) -> u64 {
        self.conn.in_flight.unmatched_replies()
    }

    /// True once the connection has failed or closed; every call then
    /// fails with [`RpcError::Transport`].
    pub fn is_closed(&self) -> bool {
        self.conn.in_flight.closed().is_some() || self.conn.outgoing.is_closed()
    }

    fn next_xid(&self) -> u32 {
        self.conn.next_xid.fetch_add(1, Ordering::Relaxed)
    }
}
