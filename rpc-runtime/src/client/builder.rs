//! [`ClientBuilder`]: connection settings for a [`Client`].

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, ToSocketAddrs, UdpSocket, UnixStream};

use super::header::CallAuth;
use super::policy::{ReconnectPolicy, RetransmitPolicy};
use super::reader::SharedReader;
use super::split::{AnyStream, SplitStream};
use super::task::Halves;
use super::writer::SharedWriter;
use super::{reconnect, task, udp, Client, ConnectionSettings, TaskParts, Transport};
use crate::message::Credentials;
use crate::record::{RecordCodecBuilder, MAX_FRAGMENT_BYTES};
use crate::RpcError;

/// The default call timeout: 25 seconds, as in rpcgen's client stubs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(25);

/// The default number of call records queued for the connection's writer
/// before callers wait.
pub const DEFAULT_QUEUE_DEPTH: usize = 1024;

/// The default limit on calls in flight on one connection.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// The default largest UDP datagram sent or received, by clients and
/// servers, in bytes: 65,507, the largest UDP payload over IPv4.
/// (libtirpc's UDP servers read at most 8,800 bytes by default; calls to
/// them must stay below that.)
pub const DEFAULT_MAX_DATAGRAM_BYTES: usize = 65_507;

/// Configures and connects a [`Client`].
///
/// ```no_run
/// # async fn demo() -> Result<(), rpc_runtime::RpcError> {
/// use std::time::Duration;
/// use rpc_runtime::message::{AuthSysParams, Credentials};
/// use rpc_runtime::ReconnectPolicy;
/// let client = rpc_runtime::Client::builder()
///     .timeout(Duration::from_secs(5))
///     .credentials(Credentials::Sys(AuthSysParams { uid: 1000, gid: 1000, ..Default::default() }))
///     .max_in_flight(64)
///     .reconnect(ReconnectPolicy::default())
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
    max_in_flight: usize,
    reconnect: Option<ReconnectPolicy>,
    retransmit: RetransmitPolicy,
    max_datagram_bytes: usize,
    max_decode_depth: u32,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            timeout: DEFAULT_TIMEOUT,
            credentials: Credentials::None,
            codec: RecordCodecBuilder::new(),
            queue_depth: DEFAULT_QUEUE_DEPTH,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            reconnect: None,
            retransmit: RetransmitPolicy::default(),
            max_datagram_bytes: DEFAULT_MAX_DATAGRAM_BYTES,
            max_decode_depth: xdr_codec::DEFAULT_MAX_DEPTH,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the default timeout of each call, from the call's start
    /// (including any wait for a free in-flight slot) to its reply
    /// (default [`DEFAULT_TIMEOUT`], 25 s).
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

    /// Sets the largest call or reply record on a stream, in bytes
    /// (default
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

    /// Sets how many call records may wait for the connection's writer
    /// before callers wait too (default [`DEFAULT_QUEUE_DEPTH`]; at least
    /// 1): that many in the writer's own queue, then that many more in
    /// the channel to the background task. A call alone in flight whose
    /// record the socket takes at once, and every UDP call the socket
    /// takes at once, is written by its caller and never queued.
    #[must_use]
    pub fn queue_depth(mut self, depth: usize) -> Self {
        self.queue_depth = depth.max(1);
        self
    }

    /// Sets how many calls may be in flight (sent or queued, and not yet
    /// answered) on the connection at once (default
    /// [`DEFAULT_MAX_IN_FLIGHT`]; at least 1). Further calls wait, first
    /// come first served, until an earlier one finishes; the wait counts
    /// against their timeout, so they fail only with
    /// [`RpcError::Timeout`].
    #[must_use]
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// Makes TCP and Unix clients reconnect after the connection is lost,
    /// as `policy` says (default: no reconnect; a lost connection closes
    /// the client). Ignored by [`ClientBuilder::connect_io`] (it cannot
    /// make a new stream) and by UDP (there is no connection to lose).
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Sets when UDP calls are retransmitted (default
    /// [`RetransmitPolicy::default`]: after 1 s, doubling up to 8 s).
    #[must_use]
    pub fn retransmit(mut self, policy: RetransmitPolicy) -> Self {
        self.retransmit = policy;
        self
    }

    /// Sets the largest UDP datagram sent or received, in bytes (default
    /// [`DEFAULT_MAX_DATAGRAM_BYTES`]). A larger call fails alone with
    /// [`RpcError::Transport`] (`InvalidInput`) before it is sent; a larger
    /// reply fails its call with [`RpcError::Transport`] (`InvalidData`).
    /// The receive buffer of this size is allocated once per client.
    #[must_use]
    pub fn max_datagram_bytes(mut self, max: usize) -> Self {
        self.max_datagram_bytes = max;
        self
    }

    /// Sets how deep results may nest, in levels of recursive data
    /// (default [`xdr_codec::DEFAULT_MAX_DEPTH`], 256; see
    /// [`Decoder::with_max_depth`](xdr_codec::Decoder::with_max_depth)).
    /// Linked lists take one level whatever their length; a tree (a
    /// recursive type that is not a list) takes one per level. A reply
    /// nested deeper fails its call with [`RpcError::Decode`]
    /// ([`ErrorKind::DepthLimitExceeded`](xdr_codec::ErrorKind::DepthLimitExceeded)).
    /// Results are decoded on the calling task's stack: a limit in the
    /// tens of thousands needs a larger stack than tokio's 2 MiB default.
    #[must_use]
    pub fn max_decode_depth(mut self, max: u32) -> Self {
        self.max_decode_depth = max;
        self
    }

    /// Connects over TCP (with `TCP_NODELAY`) and starts the connection
    /// task on the current tokio runtime. With
    /// [`ClientBuilder::reconnect`], reconnects to the same addresses
    /// after a loss (the first connection is not retried: its failure is
    /// returned here).
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if connecting fails; [`RpcError::Encode`] if
    /// the credentials exceed their limits.
    pub async fn connect_tcp(self, addr: impl ToSocketAddrs) -> Result<Client, RpcError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr).await?.collect();
        let stream = tcp_connect(addrs.clone()).await?;
        match self.reconnect {
            None => self.start_stream(stream, Transport::Tcp),
            Some(policy) => self.start_reconnecting(stream, Transport::Tcp, policy, move || {
                tcp_connect(addrs.clone())
            }),
        }
    }

    /// Connects to a Unix stream socket and starts the connection task on
    /// the current tokio runtime. With [`ClientBuilder::reconnect`],
    /// reconnects to the same path.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::connect_tcp`].
    pub async fn connect_unix(self, path: impl AsRef<Path>) -> Result<Client, RpcError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let stream = UnixStream::connect(&path).await?;
        match self.reconnect {
            None => self.start_stream(stream, Transport::Unix),
            Some(policy) => self.start_reconnecting(stream, Transport::Unix, policy, move || {
                UnixStream::connect(path.clone())
            }),
        }
    }

    /// Creates a UDP client for the server at `addr` (the first address
    /// it resolves to): binds an ephemeral local port, connects the socket
    /// to `addr` (so only that server's datagrams are received) and starts
    /// the client task on the current tokio runtime.
    ///
    /// Each call is one datagram (no record marking), retransmitted with
    /// the same XID per [`ClientBuilder::retransmit`] until its reply
    /// arrives or it times out. Nothing is sent until the first call, so
    /// this succeeds even if no server listens.
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if `addr` does not resolve or the socket
    /// cannot be bound; [`RpcError::Encode`] if the credentials exceed
    /// their limits.
    pub async fn connect_udp(self, addr: impl ToSocketAddrs) -> Result<Client, RpcError> {
        let Some(addr) = tokio::net::lookup_host(addr).await?.next() else {
            return Err(
                io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to").into(),
            );
        };
        let local: SocketAddr = match addr {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        let socket = Arc::new(socket);
        let max = self.max_datagram_bytes;
        let settings = self.settings(Transport::Udp, max, Some(self.retransmit))?;
        let (client, parts) = Client::new_connection(settings, Arc::clone(&socket) as _, None);
        tokio::spawn(udp::run(socket, max, parts));
        Ok(client)
    }

    /// Uses an already connected stream (anything [`AsyncRead`] +
    /// [`AsyncWrite`]) and starts the connection task on the current tokio
    /// runtime. The client does not reconnect.
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
        self.start_stream(AnyStream(io), Transport::Stream)
    }

    fn settings(
        &self,
        transport: Transport,
        max_call_bytes: usize,
        retransmit: Option<RetransmitPolicy>,
    ) -> Result<ConnectionSettings, RpcError> {
        let credentials = self
            .credentials
            .to_opaque_auth()
            .map_err(RpcError::Encode)?;
        let auth = CallAuth::new(&credentials).map_err(RpcError::Encode)?;
        let max_fragment_bytes = match transport {
            // A datagram carries no record marking.
            Transport::Udp => MAX_FRAGMENT_BYTES,
            Transport::Tcp | Transport::Unix | Transport::Stream => self.codec.fragment_limit(),
        };
        Ok(ConnectionSettings {
            transport,
            timeout: self.timeout,
            auth: Arc::new(auth),
            queue_depth: self.queue_depth,
            max_in_flight: self.max_in_flight,
            max_call_bytes,
            max_fragment_bytes,
            retransmit,
            max_decode_depth: self.max_decode_depth,
        })
    }

    fn start_stream<S: SplitStream>(self, io: S, transport: Transport) -> Result<Client, RpcError> {
        let (client, halves, parts) = self.stream_connection::<S>(transport)?;
        tokio::spawn(task::run(io, self.codec, halves, parts));
        Ok(client)
    }

    fn start_reconnecting<IO, C, Fut>(
        self,
        io: IO,
        transport: Transport,
        policy: ReconnectPolicy,
        connect: C,
    ) -> Result<Client, RpcError>
    where
        IO: SplitStream,
        C: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = io::Result<IO>> + Send + 'static,
    {
        let (client, halves, parts) = self.stream_connection::<IO>(transport)?;
        tokio::spawn(reconnect::run(
            io, connect, policy, self.codec, halves, parts,
        ));
        Ok(client)
    }

    /// The client and the shared halves of a stream connection.
    fn stream_connection<S: SplitStream>(
        &self,
        transport: Transport,
    ) -> Result<(Client, Halves<S>, TaskParts), RpcError> {
        let settings = self.settings(transport, self.codec.record_limit(), None)?;
        let halves = Halves::<S> {
            writer: Arc::new(SharedWriter::new(self.queue_depth)),
            reader: Arc::new(SharedReader::new()),
        };
        let (client, parts) = Client::new_connection(
            settings,
            Arc::clone(&halves.writer) as _,
            Some(Arc::clone(&halves.reader) as _),
        );
        Ok((client, halves, parts))
    }
}

/// Connects to the first of `addrs` that accepts, with `TCP_NODELAY`.
async fn tcp_connect(addrs: Vec<SocketAddr>) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addrs.as_slice()).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}
