//! [`ServerBuilder`].

use std::io;
use std::sync::Arc;

use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket, UnixListener};

use super::dispatch::Dispatch;
use super::fallback::Fallback;
use super::registry::Registry;
use super::{Server, ServerConfig};
use crate::conn_limits::{ReplyBudget, Timeouts};
use crate::record::RecordCodecBuilder;

pub use crate::conn_limits::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_UNREAD_BYTES, DEFAULT_MAX_UNREAD_BYTES_PER_CONNECTION,
    DEFAULT_RECORD_TIMEOUT, DEFAULT_WRITE_TIMEOUT,
};

/// The default limit on calls being executed at once per connection (and
/// per UDP socket).
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 256;

/// The default limit on open connections per listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The default number of replies a UDP socket keeps for retransmitted
/// calls ([`ServerBuilder::udp_reply_cache`]).
pub const DEFAULT_UDP_REPLY_CACHE_ENTRIES: usize = 1024;

/// The default bytes of replies a UDP socket keeps for retransmitted calls
/// ([`ServerBuilder::udp_reply_cache`]): 4 MiB.
pub const DEFAULT_UDP_REPLY_CACHE_BYTES: usize = 4 * 1024 * 1024;

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
#[derive(Debug)]
pub struct ServerBuilder {
    registry: Registry,
    codec: RecordCodecBuilder,
    max_concurrent_calls: usize,
    max_connections: usize,
    timeouts: Timeouts,
    /// Unread reply bytes per connection and in total.
    max_unread_bytes: (usize, usize),
    call_timeout: Option<Duration>,
    max_datagram_bytes: usize,
    max_decode_depth: u32,
    udp_reply_cache: (usize, usize),
    #[cfg(feature = "gss")]
    gss: Option<Arc<crate::gss::ServerGss>>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            registry: Registry::default(),
            codec: RecordCodecBuilder::new(),
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            timeouts: Timeouts::default(),
            max_unread_bytes: (
                DEFAULT_MAX_UNREAD_BYTES_PER_CONNECTION,
                DEFAULT_MAX_UNREAD_BYTES,
            ),
            call_timeout: None,
            max_datagram_bytes: crate::DEFAULT_MAX_DATAGRAM_BYTES,
            max_decode_depth: xdr_codec::DEFAULT_MAX_DEPTH,
            udp_reply_cache: (
                DEFAULT_UDP_REPLY_CACHE_ENTRIES,
                DEFAULT_UDP_REPLY_CACHE_BYTES,
            ),
            #[cfg(feature = "gss")]
            gss: None,
        }
    }
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
    /// server stops reading that connection until a call finishes. For
    /// UDP the limit applies to the whole socket.
    #[must_use]
    pub fn max_concurrent_calls(mut self, max: usize) -> Self {
        self.max_concurrent_calls = max.max(1);
        self
    }

    /// Sets how many connections one listener keeps open at once (default
    /// [`DEFAULT_MAX_CONNECTIONS`]; at least 1). A connection accepted
    /// beyond the limit evicts the connection idle the longest (no call
    /// executing, no reply waiting; one stopped inside a record counts as
    /// idle), so idle or stalled peers never keep an active one out; when
    /// every connection is busy the new one is closed at once. Counted as
    /// [`Limit::Evicted`](crate::conn_limits::Limit::Evicted) and
    /// [`Limit::Refused`](crate::conn_limits::Limit::Refused) in
    /// [`Server::conn_stats`].
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets how long a connection may stay idle before the server closes
    /// it (default [`DEFAULT_IDLE_TIMEOUT`], 5 minutes; `None`: never).
    /// Idle means no call is executing or waiting for its reply to be
    /// written; the time counts from the last call read or finished.
    /// Counted as [`Limit::IdleTimeout`](crate::conn_limits::Limit::IdleTimeout).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeouts.idle = timeout;
        self
    }

    /// Sets how long a call record may take to arrive, from its first
    /// byte (or the end of the record before it) to its last (default
    /// [`DEFAULT_RECORD_TIMEOUT`], 10 s; `None`: no limit). A peer that
    /// sends part of a record and then trickles or stops (slowloris) is
    /// closed when it passes. Counted as
    /// [`Limit::RecordTimeout`](crate::conn_limits::Limit::RecordTimeout).
    #[must_use]
    pub fn record_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeouts.record = timeout;
        self
    }

    /// Sets how long replies may wait without the peer taking a byte of
    /// them (default [`DEFAULT_WRITE_TIMEOUT`], 30 s; `None`: no limit).
    /// A peer that sends calls but does not read the replies fills its
    /// socket buffer; once the replies have waited this long the
    /// connection is closed and its calls are cancelled, instead of
    /// holding their replies and call slots forever. Counted as
    /// [`Limit::WriteTimeout`](crate::conn_limits::Limit::WriteTimeout).
    #[must_use]
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeouts.write = timeout;
        self
    }

    /// Sets the caps on reply bytes written and not yet taken by the
    /// peer: `per_connection` for one connection and `total` for all the
    /// server's connections together (defaults
    /// [`DEFAULT_MAX_UNREAD_BYTES_PER_CONNECTION`], 16 MiB, and
    /// [`DEFAULT_MAX_UNREAD_BYTES`], 256 MiB). At a cap the connection
    /// reads no further call until the peer takes some (backpressure,
    /// counted as
    /// [`Limit::UnreadBytesPaused`](crate::conn_limits::Limit::UnreadBytesPaused));
    /// a reply ready while its connection is still over a cap closes the
    /// connection (counted as
    /// [`Limit::UnreadBytesClosed`](crate::conn_limits::Limit::UnreadBytesClosed)),
    /// and one that stays there is closed by the write timeout.
    #[must_use]
    pub fn max_unread_bytes(mut self, per_connection: usize, total: usize) -> Self {
        self.max_unread_bytes = (per_connection, total);
        self
    }

    /// Sets a time limit for each call, from when its record has been
    /// read to its reply (default `None`: no limit). Handlers see the
    /// resulting deadline in
    /// [`CallContext::deadline`](super::CallContext::deadline); a call
    /// still running at its deadline is cancelled (its future dropped) and
    /// answered with SYSTEM_ERR.
    #[must_use]
    pub fn call_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Sets the duplicate request cache of each UDP socket: the last
    /// `entries` replies, at most `bytes` bytes of them (defaults
    /// [`DEFAULT_UDP_REPLY_CACHE_ENTRIES`], 1,024, and
    /// [`DEFAULT_UDP_REPLY_CACHE_BYTES`], 4 MiB; 0 entries turns it off).
    /// A call datagram that arrives again (same client address, XID and
    /// bytes) while its call runs is dropped, and one that arrives after
    /// its reply was sent gets that reply again without running the
    /// handler twice: a client's retransmission of a call that is not
    /// idempotent (RFC 5531 section 8.1) is executed once. Counted by
    /// [`Server::udp_stats`].
    #[must_use]
    pub fn udp_reply_cache(mut self, entries: usize, bytes: usize) -> Self {
        self.udp_reply_cache = (entries, bytes);
        self
    }

    /// Sets the largest UDP datagram received or sent, in bytes (default
    /// [`DEFAULT_MAX_DATAGRAM_BYTES`](crate::DEFAULT_MAX_DATAGRAM_BYTES),
    /// 65,507). A larger call datagram is dropped (logged); a larger
    /// reply is replaced by SYSTEM_ERR. The receive buffer of this size is
    /// allocated once per socket.
    #[must_use]
    pub fn max_datagram_bytes(mut self, max: usize) -> Self {
        self.max_datagram_bytes = max;
        self
    }

    /// Sets how deep call arguments may nest, in levels of recursive data
    /// (default [`xdr_codec::DEFAULT_MAX_DEPTH`], 256; see
    /// [`Decoder::with_max_depth`](xdr_codec::Decoder::with_max_depth)).
    /// Linked lists take one level whatever their length; a tree (a
    /// recursive type that is not a list) takes one per level. A call
    /// whose arguments nest deeper is answered GARBAGE_ARGS. Arguments
    /// are decoded on a tokio worker's stack: a limit in the tens of
    /// thousands needs larger worker stacks than tokio's 2 MiB default.
    #[must_use]
    pub fn max_decode_depth(mut self, max: u32) -> Self {
        self.max_decode_depth = max;
        self
    }

    /// Accepts RPCSEC_GSS (RFC 2203) calls with these settings (default:
    /// such calls are refused with AUTH_REJECTEDCRED like any unknown
    /// flavor). See [`crate::gss`] for what the server answers; handlers
    /// see the caller in [`CallContext::gss`](super::CallContext::gss).
    #[cfg(feature = "gss")]
    #[must_use]
    pub fn gss(mut self, gss: crate::gss::ServerGss) -> Self {
        self.gss = Some(Arc::new(gss));
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        Server {
            config: Arc::new(ServerConfig {
                registry: self.registry,
                codec: self.codec,
                max_concurrent_calls: self.max_concurrent_calls,
                max_connections: self.max_connections,
                timeouts: self.timeouts,
                budget: ReplyBudget::new(self.max_unread_bytes.0, self.max_unread_bytes.1),
                call_timeout: self.call_timeout,
                max_datagram_bytes: self.max_datagram_bytes,
                max_decode_depth: self.max_decode_depth,
                udp_reply_cache: self.udp_reply_cache,
                udp_stats: Arc::default(),
                #[cfg(feature = "gss")]
                gss: self.gss,
                conn_stats: Arc::default(),
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

    /// Builds the server and serves the UDP socket `socket`; see
    /// [`Server::serve_udp`].
    ///
    /// # Errors
    ///
    /// As [`Server::serve_udp`].
    pub async fn serve_udp(self, socket: UdpSocket) -> io::Result<()> {
        self.build().serve_udp(socket).await
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
