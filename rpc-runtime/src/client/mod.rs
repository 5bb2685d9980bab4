//! The multiplexed client: [`Client`], [`ClientBuilder`] and the timing
//! policies.
//!
//! One [`Client`] is one connection (TCP, Unix stream or UDP). A
//! background task reads the socket; calls from any number of tasks go out
//! with distinct XIDs and their replies are matched by XID in whatever
//! order they arrive. A call that is alone in flight writes its record to
//! the socket itself (on UDP every call does) and, on a stream, reads its
//! reply itself too (see `reader`), so a one-call-at-a-time caller never
//! waits for the background task; concurrent calls are queued to the
//! background task, which batches them into one write (see `writer`).
//! Timeouts are enforced by one watchdog task per connection from the
//! deadlines kept in the pending-call table (see `watchdog`), not by a
//! timer per call.

mod builder;
mod call;
mod header;
mod in_flight;
mod outgoing;
mod policy;
mod reader;
mod reconnect;
mod reply;
mod split;
mod task;
#[cfg(test)]
mod tests;
mod udp;
mod watchdog;
mod writer;
mod xid_hasher;

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::ToSocketAddrs;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

pub use builder::{
    ClientBuilder, DEFAULT_MAX_DATAGRAM_BYTES, DEFAULT_MAX_IN_FLIGHT, DEFAULT_QUEUE_DEPTH,
    DEFAULT_TIMEOUT,
};
#[cfg(feature = "gss")]
pub(crate) use header::call_words;
pub use policy::{ReconnectPolicy, RetransmitPolicy};
#[cfg(feature = "gss")]
pub(crate) use reply::{accept_stat_result, decode_results};

use crate::message::Credentials;
use crate::RpcError;
use header::CallAuth;
use in_flight::InFlight;
use outgoing::Outgoing;
use reader::DirectRead;
use writer::DirectSend;

/// A cheap, cloneable handle to one multiplexed ONC RPC connection (TCP,
/// Unix stream or UDP).
///
/// Many calls may be in flight at once from any number of tasks; each gets
/// its own XID and its reply is matched by XID. At most
/// [`ClientBuilder::max_in_flight`] calls are in flight at once; further
/// calls wait for a free slot (within their timeout) rather than fail.
/// Each call has a timeout (the client's default, or per handle with
/// [`Client::with_timeout`]); dropping a call's future cancels it.
///
/// If a TCP or Unix connection fails, every pending call fails at once
/// with [`RpcError::Transport`]. Later calls fail the same way, unless
/// reconnecting was enabled with [`ClientBuilder::reconnect`]: then they
/// go out on a new connection. Over UDP each call is one datagram,
/// retransmitted with the same XID until a reply arrives or the call times
/// out (see [`RetransmitPolicy`]).
///
/// The connection closes when the last handle is dropped. For callers
/// without a tokio runtime, see [`blocking::Client`](crate::blocking::Client).
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
    auth: Arc<CallAuth>,
    /// RPCSEC_GSS instead of `auth` ([`Client::with_gss`]).
    #[cfg(feature = "gss")]
    gss: Option<Arc<crate::gss::GssSession>>,
}

/// State shared by every handle on one connection.
struct Connection {
    transport: Transport,
    /// The queue to the background task.
    outgoing: mpsc::Sender<Outgoing>,
    /// The socket, for callers that write their call themselves.
    direct: Arc<dyn DirectSend>,
    /// The socket, for a caller alone in flight that reads its reply
    /// itself (streams only).
    reader: Option<Arc<dyn DirectRead>>,
    /// Fragments written are at most this long, in bytes.
    max_fragment_bytes: usize,
    in_flight: Arc<InFlight>,
    /// One permit per call in flight.
    limit: Semaphore,
    max_in_flight: usize,
    next_xid: AtomicU32,
    /// The largest call record (stream) or datagram (UDP), in bytes.
    max_call_bytes: usize,
    /// Set for UDP.
    retransmit: Option<RetransmitPolicy>,
    /// The nesting limit for decoding results, in levels.
    max_decode_depth: u32,
    retransmissions: AtomicU64,
    /// Cancelled when the last handle is dropped.
    shutdown: CancellationToken,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The kind of connection, for `Debug` output and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Unix,
    Udp,
    Stream,
}

impl Connection {
    /// True for TCP, Unix and other stream connections (record marking),
    /// false for UDP (one datagram per call).
    fn is_stream(&self) -> bool {
        !matches!(self.transport, Transport::Udp)
    }
}

/// What the background task of a connection gets.
struct TaskParts {
    outgoing: mpsc::Receiver<Outgoing>,
    in_flight: Arc<InFlight>,
    shutdown: CancellationToken,
}

/// The per-connection settings taken from the builder.
struct ConnectionSettings {
    transport: Transport,
    timeout: Duration,
    auth: Arc<CallAuth>,
    queue_depth: usize,
    max_in_flight: usize,
    max_call_bytes: usize,
    max_fragment_bytes: usize,
    retransmit: Option<RetransmitPolicy>,
    max_decode_depth: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.conn.transport)
            .field("timeout", &self.timeout)
            .field("credentials_flavor", &self.auth.flavor())
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

    /// Creates a UDP client for the server at `addr` with the default
    /// settings; see [`ClientBuilder::connect_udp`].
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if the address does not resolve or no
    /// socket can be bound.
    pub async fn connect_udp(addr: impl ToSocketAddrs) -> Result<Client, RpcError> {
        ClientBuilder::new().connect_udp(addr).await
    }

    /// Connects to a Unix stream socket with the default settings.
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if connecting fails.
    pub async fn connect_unix(path: impl AsRef<Path>) -> Result<Client, RpcError> {
        ClientBuilder::new().connect_unix(path).await
    }

    /// Creates the shared state of a new connection and the parts its
    /// background task needs (the caller spawns the task), and spawns its
    /// timeout watchdog. `direct` is the socket (or its writer slot)
    /// callers may write to themselves, `reader` the reader slot a caller
    /// alone in flight may read from.
    fn new_connection(
        settings: ConnectionSettings,
        direct: Arc<dyn DirectSend>,
        reader: Option<Arc<dyn DirectRead>>,
    ) -> (Client, TaskParts) {
        let (outgoing, rx) = mpsc::channel(settings.queue_depth.max(1));
        let in_flight = Arc::new(InFlight::default());
        let shutdown = CancellationToken::new();
        tokio::spawn(watchdog::run(Arc::clone(&in_flight), shutdown.clone()));
        let permits = settings.max_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        let client = Client {
            conn: Arc::new(Connection {
                transport: settings.transport,
                outgoing,
                direct,
                reader,
                max_fragment_bytes: settings.max_fragment_bytes,
                in_flight: Arc::clone(&in_flight),
                limit: Semaphore::new(permits),
                max_in_flight: permits,
                next_xid: AtomicU32::new(initial_xid()),
                max_call_bytes: settings.max_call_bytes,
                retransmit: settings.retransmit,
                max_decode_depth: settings.max_decode_depth,
                retransmissions: AtomicU64::new(0),
                shutdown: shutdown.clone(),
            }),
            timeout: settings.timeout,
            auth: settings.auth,
            #[cfg(feature = "gss")]
            gss: None,
        };
        let parts = TaskParts {
            outgoing: rx,
            in_flight,
            shutdown,
        };
        (client, parts)
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
        let auth = CallAuth::new(&cred).map_err(RpcError::Encode)?;
        Ok(Client {
            auth: Arc::new(auth),
            #[cfg(feature = "gss")]
            gss: None,
            ..self.clone()
        })
    }

    /// A handle on the same connection whose calls are protected by
    /// RPCSEC_GSS (RFC 2203) as `settings` say. The context is made by
    /// the first call, with that call's program and version (section
    /// 5.2), and shared by the handles cloned from this one; calls in
    /// flight on it are bounded by the server's sequence window. When
    /// the server answers RPCSEC_GSS_CREDPROBLEM or
    /// RPCSEC_GSS_CTXPROBLEM (it lost or expired the context), a new
    /// context is made and the call sent once more.
    ///
    /// Every reply's verifier is checked; a reply whose verifier or
    /// sealed results do not check fails with
    /// [`RpcError::Gss`]. End the context with
    /// [`Client::destroy_gss_context`].
    ///
    /// # Errors
    ///
    /// [`RpcError::Gss`] if the service name cannot be imported.
    #[cfg(feature = "gss")]
    pub fn with_gss(&self, settings: &crate::gss::ClientGss) -> Result<Client, RpcError> {
        Ok(Client {
            gss: Some(Arc::new(crate::gss::GssSession::new(settings)?)),
            ..self.clone()
        })
    }

    /// The RPCSEC_GSS state of this handle, if it has one.
    #[cfg(feature = "gss")]
    pub(crate) fn gss_session(&self) -> Option<&crate::gss::GssSession> {
        self.gss.as_deref()
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

    /// How many times a call's datagram was sent again because no reply
    /// had arrived (UDP only; always 0 on streams).
    pub fn retransmissions(&self) -> u64 {
        self.conn.retransmissions.load(Ordering::Relaxed)
    }

    /// The limit on calls in flight on this connection
    /// ([`ClientBuilder::max_in_flight`]).
    pub fn max_in_flight(&self) -> usize {
        self.conn.max_in_flight
    }

    /// The nesting limit for decoding results, in levels
    /// ([`ClientBuilder::max_decode_depth`]).
    pub fn max_decode_depth(&self) -> u32 {
        self.conn.max_decode_depth
    }

    /// True once the connection has failed or closed for good; every call
    /// then fails with [`RpcError::Transport`]. A client that reconnects
    /// is not closed while it is reconnecting.
    pub fn is_closed(&self) -> bool {
        self.conn.in_flight.closed().is_some() || self.conn.outgoing.is_closed()
    }

    fn next_xid(&self) -> u32 {
        self.conn.next_xid.fetch_add(1, Ordering::Relaxed)
    }
}
