//! The server: [`Server`] serves registered program versions
//! ([`Dispatch`] implementations) over TCP, Unix stream and UDP sockets.
//!
//! Each connection reads calls in order and runs each in its own task, so
//! many calls of one connection execute concurrently; replies are written
//! through one writer as they finish. The server answers for itself:
//!
//! | situation                                   | reply                          |
//! |---------------------------------------------|--------------------------------|
//! | `rpcvers` is not 2                          | RPC_MISMATCH {2, 2}            |
//! | malformed AUTH_SYS credentials              | AUTH_ERROR (AUTH_BADCRED)      |
//! | flavor other than AUTH_NONE / AUTH_SYS      | AUTH_ERROR (AUTH_REJECTEDCRED) |
//! | RPCSEC_GSS (with the `gss` feature)         | see the `gss` module's server table |
//! | handler returns [`ServerError::AuthError`]  | AUTH_ERROR (its `auth_stat`)   |
//! | program not registered                      | PROG_UNAVAIL (or [`Fallback`]) |
//! | program registered, version not             | PROG_MISMATCH {lowest, highest}|
//! | procedure 0 not handled by the dispatcher   | SUCCESS, no results (NULL)     |
//! | other unknown procedure                     | PROC_UNAVAIL                   |
//! | arguments do not decode                     | GARBAGE_ARGS                   |
//! | handler error or panic                      | SYSTEM_ERR (logged)            |
//!
//! A record that is not an RPC call at all, or a broken record stream
//! (a reset, a stream ending inside a record, a record over the limit),
//! closes its connection; other connections are unaffected. Each is
//! counted in [`Server::conn_stats`] and logged at warn level at most
//! once per kind and [`DEFAULT_INTERVAL`] ([`LogLimit`]). Over UDP such a
//! datagram is
//! dropped instead.
//!
//! Limits, each set on [`ServerBuilder`] and each hit counted in
//! [`Server::conn_stats`] (the connection limits are the broker's, from
//! [`conn_limits`](crate::conn_limits)):
//!
//! | limit                          | default                                | beyond it                                  |
//! |--------------------------------|----------------------------------------|--------------------------------------------|
//! | open connections per listener  | [`DEFAULT_MAX_CONNECTIONS`], 1024      | the longest-idle one closed; all busy: the new one |
//! | calls executing per connection | [`DEFAULT_MAX_CONCURRENT_CALLS`], 256  | reading pauses until one finishes          |
//! | (the same, per UDP socket)     | [`DEFAULT_MAX_CONCURRENT_CALLS`], 256  | datagrams wait in the socket               |
//! | record size (streams)          | 4 MiB                                  | connection closed                          |
//! | datagram size (UDP)            | 65,507 bytes                           | call dropped; reply SYSTEM_ERR             |
//! | idle time per connection       | [`DEFAULT_IDLE_TIMEOUT`], 5 minutes    | connection closed                          |
//! | time from a record's first byte to its last | [`DEFAULT_RECORD_TIMEOUT`], 10 s | connection closed               |
//! | time replies wait unread       | [`DEFAULT_WRITE_TIMEOUT`], 30 s        | connection closed                          |
//! | unread reply bytes per connection | [`DEFAULT_MAX_UNREAD_BYTES_PER_CONNECTION`], 16 MiB | reading pauses; a further reply closes it |
//! | unread reply bytes, all connections | [`DEFAULT_MAX_UNREAD_BYTES`], 256 MiB | the same, for connections with replies waiting |
//! | time per call                  | none                                   | handler cancelled, SYSTEM_ERR              |

mod builder;
mod call;
mod conn_stats;
mod conn_table;
mod connection;
mod context;
mod dispatch;
mod fallback;
mod registry;
mod reply_cache;
mod tls_peer;
mod udp;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UdpSocket, UnixListener};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use builder::{
    ServerBuilder, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENT_CALLS, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_UNREAD_BYTES, DEFAULT_MAX_UNREAD_BYTES_PER_CONNECTION, DEFAULT_RECORD_TIMEOUT,
    DEFAULT_UDP_REPLY_CACHE_BYTES, DEFAULT_UDP_REPLY_CACHE_ENTRIES, DEFAULT_WRITE_TIMEOUT,
};
pub use conn_stats::ConnStats;
pub(crate) use conn_table::ConnSlot;
pub use context::{CallContext, PeerAddr};
pub use dispatch::{Dispatch, DispatchOutcome, HandlerResult, ServerError};
pub use fallback::Fallback;
pub use reply_cache::{call_digest, CallKey, ReplyCache};
pub use tls_peer::{PeerCertificate, SubjectAltName, TlsPeer};
pub use udp::UdpStats;

use crate::conn_limits::{ReplyBudget, Timeouts};
use crate::log_limit::{LogLimit, DEFAULT_INTERVAL};
use crate::record::RecordCodecBuilder;
use conn_table::ConnTable;
use registry::Registry;

/// One log line per interval for connections refused at the connection
/// limit with every connection busy...
static REFUSED_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... and for failed accepts.
static ACCEPT_ERROR_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// Pause after a failed `accept` (for example, out of file descriptors)
/// before trying again.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// An ONC RPC server: a set of program versions and connection settings.
/// Cheap to clone; every clone serves the same programs.
///
/// ```no_run
/// # async fn demo(dispatcher: impl rpc_runtime::server::Dispatch) -> std::io::Result<()> {
/// let server = rpc_runtime::Server::builder().register(dispatcher).build();
/// let tcp = tokio::net::TcpListener::bind("0.0.0.0:4000").await?;
/// let unix = tokio::net::UnixListener::bind("/run/my.sock")?;
/// tokio::try_join!(server.serve_tcp(tcp), server.serve_unix(unix))?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    config: Arc<ServerConfig>,
}

#[derive(Debug)]
struct ServerConfig {
    registry: Registry,
    codec: RecordCodecBuilder,
    max_concurrent_calls: usize,
    max_connections: usize,
    timeouts: Timeouts,
    /// The caps on unread reply bytes, shared by every connection.
    budget: ReplyBudget,
    call_timeout: Option<Duration>,
    max_datagram_bytes: usize,
    /// The nesting limit for decoding arguments, in levels.
    max_decode_depth: u32,
    /// Entries and bytes of each UDP socket's reply cache.
    udp_reply_cache: (usize, usize),
    /// What the UDP sockets' reply caches did.
    udp_stats: Arc<UdpStats>,
    /// RPCSEC_GSS, if served.
    #[cfg(feature = "gss")]
    gss: Option<Arc<crate::gss::ServerGss>>,
    /// What the stream connections ran into.
    conn_stats: Arc<ConnStats>,
}

impl ServerConfig {
    /// The limits of a call read now: its deadline (`call_timeout` from
    /// now), the decode depth, and `max_reply_bytes` for its reply.
    fn call_limits(&self, max_reply_bytes: usize) -> call::CallLimits {
        call::CallLimits {
            deadline: self
                .call_timeout
                .and_then(|t| tokio::time::Instant::now().checked_add(t)),
            max_decode_depth: self.max_decode_depth,
            max_reply_bytes,
        }
    }
}

pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
    /// TCP with the RPC-over-TLS upgrade of [`crate::tls::ServerTls`].
    #[cfg(feature = "tls")]
    TcpTls(TcpListener, Arc<crate::tls::ServerTls>),
}

impl Server {
    /// A builder to register program versions and set limits.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// What the duplicate request caches of this server's UDP sockets
    /// did so far (see [`ServerBuilder::udp_reply_cache`]).
    pub fn udp_stats(&self) -> &UdpStats {
        &self.config.udp_stats
    }

    /// The RPCSEC_GSS side's counters, if RPCSEC_GSS is served
    /// ([`ServerBuilder::gss`]).
    #[cfg(feature = "gss")]
    pub fn gss_stats(&self) -> Option<&crate::gss::GssStats> {
        self.config.gss.as_deref().map(crate::gss::ServerGss::stats)
    }

    /// What this server's stream connections ran into: the hits of each
    /// connection limit, broken record streams and garbage records.
    pub fn conn_stats(&self) -> &ConnStats {
        &self.config.conn_stats
    }

    /// The registered `(program, version)` pairs, sorted (what
    /// [`rpcbind::register_server`](crate::rpcbind::register_server)
    /// registers).
    pub fn programs(&self) -> Vec<(u32, u32)> {
        self.config.registry.versions()
    }

    /// Accepts TCP connections from `listener` and serves each in its own
    /// task, forever. Failed accepts are logged and retried after a pause.
    ///
    /// # Errors
    ///
    /// None at present; the `Result` leaves room for fatal listener errors.
    pub async fn serve_tcp(&self, listener: TcpListener) -> io::Result<()> {
        self.accept_loop(Listener::Tcp(listener), std::future::pending())
            .await
    }

    /// As [`Server::serve_tcp`], until `shutdown` completes: then it stops
    /// accepting, lets every connection finish the calls it has read and
    /// send their replies, and returns once all connections are closed.
    ///
    /// # Errors
    ///
    /// As [`Server::serve_tcp`].
    pub async fn serve_tcp_with_shutdown(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        self.accept_loop(Listener::Tcp(listener), shutdown).await
    }

    /// Accepts Unix stream connections from `listener` and serves each in
    /// its own task, forever.
    ///
    /// # Errors
    ///
    /// As [`Server::serve_tcp`].
    pub async fn serve_unix(&self, listener: UnixListener) -> io::Result<()> {
        self.accept_loop(Listener::Unix(listener), std::future::pending())
            .await
    }

    /// As [`Server::serve_unix`], with graceful shutdown as in
    /// [`Server::serve_tcp_with_shutdown`].
    ///
    /// # Errors
    ///
    /// As [`Server::serve_tcp`].
    pub async fn serve_unix_with_shutdown(
        &self,
        listener: UnixListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        self.accept_loop(Listener::Unix(listener), shutdown).await
    }

    /// Serves calls arriving on the UDP socket `socket`, forever: each
    /// datagram is one call (no record marking), up to
    /// [`ServerBuilder::max_datagram_bytes`] long; calls run concurrently
    /// (at most [`ServerBuilder::max_concurrent_calls`] at once; beyond
    /// that datagrams wait in the socket's receive buffer) and each reply
    /// is sent to the datagram's source address. Datagrams that are not
    /// RPC calls are dropped and logged. Handlers see
    /// [`PeerAddr::Udp`].
    ///
    /// There is no duplicate request cache: a retransmitted call runs
    /// again.
    ///
    /// # Errors
    ///
    /// None at present; receive errors are logged and the socket is
    /// served on.
    pub async fn serve_udp(&self, socket: UdpSocket) -> io::Result<()> {
        udp::serve(Arc::clone(&self.config), socket, CancellationToken::new()).await
    }

    /// As [`Server::serve_udp`], until `shutdown` completes: then it stops
    /// receiving, and returns once the calls already received have sent
    /// their replies.
    ///
    /// # Errors
    ///
    /// As [`Server::serve_udp`].
    pub async fn serve_udp_with_shutdown(
        &self,
        socket: UdpSocket,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let stop = CancellationToken::new();
        let serve = udp::serve(Arc::clone(&self.config), socket, stop.clone());
        futures::pin_mut!(serve, shutdown);
        tokio::select! {
            result = &mut serve => return result,
            () = &mut shutdown => stop.cancel(),
        }
        serve.await
    }

    /// Serves one already accepted connection (any byte stream) until the
    /// peer closes it, it fails, or it sends a record that is not an RPC
    /// call. Returns after the replies of calls already read are written.
    ///
    /// # Errors
    ///
    /// The I/O or record error that ended the connection; `Ok` when the
    /// peer closed it cleanly.
    pub async fn serve_connection<IO>(&self, io: IO, peer: PeerAddr) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let slot = ConnSlot::alone(CancellationToken::new());
        connection::serve(Arc::clone(&self.config), io, peer, slot.entry()).await
    }

    pub(crate) async fn accept_loop(
        &self,
        listener: Listener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let stop = CancellationToken::new();
        let mut connections = JoinSet::new();
        let table = ConnTable::new(self.config.max_connections);
        futures::pin_mut!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => {
                        let stop = stop.child_token();
                        let Some(slot) = table.admit(stop.clone(), &self.config.conn_stats) else {
                            if let Some(suppressed) = REFUSED_LOG.allow() {
                                tracing::warn!(
                                    peer = %accepted.peer(),
                                    max_connections = self.config.max_connections,
                                    suppressed,
                                    "connection limit reached, every connection busy: closing the new one"
                                );
                            }
                            continue;
                        };
                        match accepted {
                            Accepted::Tcp(stream, peer) => {
                                connections.spawn(self.connection_task(stream, peer, slot));
                            }
                            Accepted::Unix(stream, peer) => {
                                connections.spawn(self.connection_task(stream, peer, slot));
                            }
                            #[cfg(feature = "tls")]
                            Accepted::TcpTls(stream, peer, tls) => {
                                connections.spawn(crate::tls::serve_upgraded(
                                    self.clone(), tls, stream, peer, slot,
                                ));
                            }
                        }
                    }
                    Err(e) => {
                        if let Some(suppressed) = ACCEPT_ERROR_LOG.allow() {
                            tracing::warn!(error = %e, suppressed, "accept failed; retrying");
                        }
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    }
                },
            }
        }
        tracing::info!(connections = connections.len(), "server shutting down");
        stop.cancel();
        while connections.join_next().await.is_some() {}
        Ok(())
    }

    pub(crate) fn connection_task<IO>(
        &self,
        io: IO,
        peer: PeerAddr,
        slot: ConnSlot,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let config = Arc::clone(&self.config);
        async move {
            tracing::debug!(%peer, "connection accepted");
            match connection::serve(config, io, peer.clone(), slot.entry()).await {
                Ok(()) => tracing::debug!(%peer, "connection closed"),
                Err(e) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
            }
            drop(slot);
        }
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, PeerAddr),
    Unix(tokio::net::UnixStream, PeerAddr),
    #[cfg(feature = "tls")]
    TcpTls(tokio::net::TcpStream, PeerAddr, Arc<crate::tls::ServerTls>),
}

impl Accepted {
    fn peer(&self) -> &PeerAddr {
        match self {
            Accepted::Tcp(_, peer) | Accepted::Unix(_, peer) => peer,
            #[cfg(feature = "tls")]
            Accepted::TcpTls(_, peer, _) => peer,
        }
    }
}

impl Listener {
    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Listener::Tcp(l) => {
                let (stream, peer) = accept_tcp(l).await?;
                Ok(Accepted::Tcp(stream, peer))
            }
            #[cfg(feature = "tls")]
            Listener::TcpTls(l, tls) => {
                let (stream, peer) = accept_tcp(l).await?;
                Ok(Accepted::TcpTls(stream, peer, Arc::clone(tls)))
            }
            Listener::Unix(l) => {
                let (stream, addr) = l.accept().await?;
                let path = addr.as_pathname().map(Arc::from);
                Ok(Accepted::Unix(stream, PeerAddr::Unix(path)))
            }
        }
    }
}

/// Accepts one TCP connection and sets `TCP_NODELAY` on it.
async fn accept_tcp(l: &TcpListener) -> io::Result<(tokio::net::TcpStream, PeerAddr)> {
    let (stream, addr) = l.accept().await?;
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    Ok((stream, PeerAddr::Tcp(addr)))
}
