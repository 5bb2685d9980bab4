//! The server side: [`ServerTls`], [`Server::serve_tcp_tls`] and the
//! per-connection upgrade.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;

use super::config::{load_certs, load_private_key, provider, server_builder, set_alpn};
use super::identity::peer_certificate;
use super::probe::{
    looks_like_probe, probe_xid, read_fragment_header, starttls_reply, too_weak_reply,
    write_record, FragmentHeader, MAX_PROBE_BYTES, PROBE_PEEK_BYTES,
};
use super::rewind::Rewind;
use super::stats::TlsStats;
use super::{TlsError, ALPN_SUNRPC, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::message::peek_xid;
use crate::server::{ConnSlot, Listener, PeerAddr, TlsPeer};
use crate::Server;

/// How a server offers RPC-over-TLS (RFC 9289): its certificate chain
/// and key, optionally the roots it trusts for client certificates
/// (mutual TLS), whether plain calls are refused, and the time allowed
/// for the probe and the handshake.
///
/// ```no_run
/// # async fn demo(server: rpc_runtime::Server) -> Result<(), Box<dyn std::error::Error>> {
/// use rpc_runtime::tls::ServerTls;
/// let tls = ServerTls::from_pem_files("server.pem", "server.key")?.required(true);
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:7101").await?;
/// server.serve_tcp_tls(listener, tls).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    required: bool,
    handshake_timeout: Duration,
    stats: Arc<TlsStats>,
}

impl ServerTls {
    /// Serves with the certificate chain `cert_chain` (end-entity first)
    /// and its private key `key`; TLS 1.3 only, ALPN `sunrpc`; no client
    /// certificate asked for; plain calls served too.
    ///
    /// # Errors
    ///
    /// [`TlsError::Config`] if the key does not suit the certificate.
    pub fn new(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let config = server_builder()?
            .with_no_client_auth()
            .with_single_cert(cert_chain, key)?;
        Ok(Self::with_config(config))
    }

    /// As [`ServerTls::new`] with the PEM files `cert` (chain) and `key`.
    ///
    /// # Errors
    ///
    /// The errors of [`load_certs`], [`load_private_key`] and
    /// [`ServerTls::new`].
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::new(load_certs(cert)?, load_private_key(key)?)
    }

    /// As [`ServerTls::new`], and asks clients for a certificate signed
    /// by one of `client_roots` (mutual TLS, RFC 9289 sections 4.2 and
    /// 5.2.1).
    /// With `mandatory`, a client without one fails the handshake;
    /// otherwise it is served without an identity. The identity shows in
    /// [`TlsPeer::certificate`].
    ///
    /// # Errors
    ///
    /// [`TlsError::Config`] as [`ServerTls::new`], or if a root is not
    /// usable; [`TlsError::Verifier`] if `client_roots` is empty.
    pub fn with_client_auth(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        client_roots: Vec<CertificateDer<'static>>,
        mandatory: bool,
    ) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for root in client_roots {
            roots.add(root)?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
        let verifier = if mandatory {
            verifier.build()?
        } else {
            verifier.allow_unauthenticated().build()?
        };
        let config = server_builder()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(cert_chain, key)?;
        Ok(Self::with_config(config))
    }

    fn with_config(mut config: rustls::ServerConfig) -> Self {
        set_alpn(&mut config.alpn_protocols);
        ServerTls {
            config: Arc::new(config),
            required: false,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            stats: Arc::default(),
        }
    }

    /// With `true`, plain calls are refused with AUTH_ERROR /
    /// AUTH_TOOWEAK (see the [module documentation](super)); only
    /// connections that probe and upgrade are served. Default `false`.
    #[must_use]
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Whether plain calls are refused ([`ServerTls::required`]).
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// The time a new connection has to probe and finish the TLS
    /// handshake (with `required`, also the time in which it may send
    /// plain calls that are refused); past it, the connection is closed.
    /// Default [`DEFAULT_HANDSHAKE_TIMEOUT`], 10 seconds. A plain
    /// connection on a server that does not require TLS is only timed
    /// until its first record header is read.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// What the upgrades of this configuration and of every one sharing
    /// its counters refused so far: plain calls, failed handshakes,
    /// refused certificates.
    pub fn stats(&self) -> &Arc<TlsStats> {
        &self.stats
    }

    /// Counts refusals in `stats` (from now on) instead of counters of
    /// its own: give a configuration built from renewed certificates the
    /// [`ServerTls::stats`] of the one it replaces.
    #[must_use]
    pub fn with_stats(mut self, stats: Arc<TlsStats>) -> Self {
        self.stats = stats;
        self
    }

    /// Upgrades one accepted connection: reads its first record; if it is
    /// the AUTH_TLS probe, answers with the STARTTLS verifier and runs
    /// the TLS handshake; otherwise (TLS not required) returns the
    /// connection with that record put back, to be served plain. Returns
    /// the stream to serve with
    /// [`Server::serve_connection`](crate::Server::serve_connection) and
    /// the peer to serve it as: `peer` itself for a plain connection,
    /// [`PeerAddr::Tls`] around it for TLS.
    ///
    /// # Errors
    ///
    /// An I/O error if the peer closes or fails, sends something that is
    /// not an RPC call, or takes longer than the handshake timeout
    /// (`TimedOut`); the handshake's error if TLS fails (no client
    /// certificate where one is mandatory, one that does not verify);
    /// `InvalidData` with [`TlsError::NoAlpn`] without ALPN `sunrpc`.
    /// Refused plain calls and failed handshakes are counted in
    /// [`ServerTls::stats`].
    pub async fn upgrade<IO>(
        &self,
        io: IO,
        peer: PeerAddr,
    ) -> io::Result<(
        impl AsyncRead + AsyncWrite + Send + Unpin + 'static,
        PeerAddr,
    )>
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let mut handshaking = false;
        let negotiated = tokio::time::timeout(
            self.handshake_timeout,
            self.negotiate(io, peer, &mut handshaking),
        )
        .await;
        negotiated.unwrap_or_else(|_| {
            let e = io::Error::from(TlsError::Timeout);
            if handshaking {
                self.stats.handshake_failed(&e);
            }
            Err(e)
        })
    }

    /// The probe (or plain calls), then the handshake; `handshaking` is
    /// set once the handshake has begun.
    async fn negotiate<IO>(
        &self,
        mut io: IO,
        peer: PeerAddr,
        handshaking: &mut bool,
    ) -> io::Result<Upgraded<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            let (word, fragment) = read_fragment_header(&mut io).await?;
            let mut consumed = BytesMut::with_capacity(4 + PROBE_PEEK_BYTES);
            consumed.put_slice(&word);
            let head = fragment.len.min(PROBE_PEEK_BYTES);
            read_into(&mut io, &mut consumed, head).await?;
            let mut unread = fragment.len - head;
            if looks_like_probe(&consumed[4..]) && fragment.last && fragment.len <= MAX_PROBE_BYTES
            {
                read_into(&mut io, &mut consumed, unread).await?;
                unread = 0;
                if let Some(xid) = probe_xid(&consumed[4..]) {
                    write_record(&mut io, &starttls_reply(xid)).await?;
                    *handshaking = true;
                    let upgraded = self.handshake(io, peer).await;
                    if let Err(e) = &upgraded {
                        self.stats.handshake_failed(e);
                    }
                    return upgraded;
                }
            }
            if !self.required {
                return Ok((Either::Left(Rewind::new(consumed.freeze(), io)), peer));
            }
            let Some(xid) = peek_xid(&consumed[4..]) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a record too short to be an RPC call",
                ));
            };
            skip_record(&mut io, fragment, unread).await?;
            self.stats.plain_call_refused();
            tracing::debug!(%peer, xid, "plain call refused: TLS is required (AUTH_TOOWEAK)");
            write_record(&mut io, &too_weak_reply(xid)).await?;
        }
    }

    async fn handshake<IO>(&self, io: IO, peer: PeerAddr) -> io::Result<Upgraded<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let tls = TlsAcceptor::from(Arc::clone(&self.config))
            .accept(io)
            .await?;
        let connection = tls.get_ref().1;
        if connection.alpn_protocol() != Some(ALPN_SUNRPC) {
            return Err(TlsError::NoAlpn.into());
        }
        let certificate = connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|end_entity| peer_certificate(end_entity));
        let peer = PeerAddr::Tls(Arc::new(TlsPeer {
            addr: peer,
            certificate,
        }));
        Ok((Either::Right(Rewind::new(Bytes::new(), tls)), peer))
    }
}

/// A connection after [`ServerTls::upgrade`] and the peer to serve it as.
type Upgraded<IO> = (
    Either<Rewind<IO>, Rewind<tokio_rustls::server::TlsStream<IO>>>,
    PeerAddr,
);

/// Reads exactly `n` more bytes into `buf`.
async fn read_into<IO: AsyncRead + Unpin>(
    io: &mut IO,
    buf: &mut BytesMut,
    n: usize,
) -> io::Result<()> {
    let start = buf.len();
    buf.resize(start + n, 0);
    io.read_exact(&mut buf[start..]).await?;
    Ok(())
}

/// Reads and drops the rest of a record: `unread` bytes of the current
/// `fragment`, then the following fragments up to the last one. Nothing
/// is buffered, whatever the lengths.
async fn skip_record<IO: AsyncRead + Unpin>(
    io: &mut IO,
    mut fragment: FragmentHeader,
    mut unread: usize,
) -> io::Result<()> {
    loop {
        let skipped =
            tokio::io::copy(&mut (&mut *io).take(unread as u64), &mut tokio::io::sink()).await?;
        if skipped < unread as u64 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if fragment.last {
            return Ok(());
        }
        (_, fragment) = read_fragment_header(io).await?;
        unread = fragment.len;
    }
}

impl Server {
    /// Accepts TCP connections from `listener` and serves each in its own
    /// task as [`Server::serve_tcp`] does, after the RPC-over-TLS upgrade
    /// of `tls` ([`ServerTls::upgrade`]). A connection whose upgrade fails
    /// is closed (logged at debug level).
    ///
    /// # Errors
    ///
    /// As [`Server::serve_tcp`].
    pub async fn serve_tcp_tls(&self, listener: TcpListener, tls: ServerTls) -> io::Result<()> {
        self.serve_tcp_tls_with_shutdown(listener, tls, std::future::pending())
            .await
    }

    /// As [`Server::serve_tcp_tls`], until `shutdown` completes; then as
    /// [`Server::serve_tcp_with_shutdown`].
    ///
    /// # Errors
    ///
    /// As [`Server::serve_tcp`].
    pub async fn serve_tcp_tls_with_shutdown(
        &self,
        listener: TcpListener,
        tls: ServerTls,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        self.accept_loop(Listener::TcpTls(listener, Arc::new(tls)), shutdown)
            .await
    }
}

/// The task of one connection of [`Server::serve_tcp_tls`]: the upgrade,
/// then the ordinary connection task.
pub(crate) async fn serve_upgraded(
    server: Server,
    tls: Arc<ServerTls>,
    stream: TcpStream,
    peer: PeerAddr,
    slot: ConnSlot,
) {
    let upgraded = tokio::select! {
        upgraded = tls.upgrade(stream, peer.clone()) => upgraded,
        () = slot.entry().stop.cancelled() => return,
    };
    match upgraded {
        Ok((io, peer)) => server.connection_task(io, peer, slot).await,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "RPC-over-TLS upgrade failed; connection closed")
        }
    }
}
