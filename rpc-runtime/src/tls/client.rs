//! The client side: [`ClientTls`] and
//! [`ClientBuilder::connect_tls`](crate::ClientBuilder::connect_tls).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::RootCertStore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::config::{client_builder, set_alpn};
use super::probe::{
    check_probe_reply, probe_call, read_fragment_header, write_record, MAX_PROBE_BYTES,
};
use super::{TlsError, ALPN_SUNRPC, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::{Client, ClientBuilder, RpcError};

/// How a client starts RPC-over-TLS (RFC 9289): the trusted roots, the
/// name the server's certificate must carry, an optional client
/// certificate (mutual TLS), and the time allowed for the probe and the
/// handshake. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use rpc_runtime::tls::{load_certs, ClientTls};
/// let tls = ClientTls::new(load_certs("/etc/ssl/rpc-ca.pem")?, "data.example")?;
/// let client = rpc_runtime::Client::builder()
///     .connect_tls("data.example:7101", 0x2000_DA7A, 1, &tls)
///     .await?;
/// let () = client.call(0x2000_DA7A, 1, 0, &()).await?; // NULL, inside TLS
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
    handshake_timeout: Duration,
}

impl ClientTls {
    /// Trusts the certificates `roots` (DER, for example from
    /// [`load_certs`](super::load_certs)) and expects the server's
    /// certificate to be valid for `server_name` (a DNS name or an IP
    /// address). TLS 1.3 only, ALPN `sunrpc`, no client certificate.
    ///
    /// # Errors
    ///
    /// [`TlsError::Config`] if a root is not a usable certificate,
    /// [`TlsError::ServerName`] if `server_name` is neither a DNS name nor
    /// an IP address.
    pub fn new(roots: Vec<CertificateDer<'static>>, server_name: &str) -> Result<Self, TlsError> {
        let config = client_builder()?
            .with_root_certificates(root_store(roots)?)
            .with_no_client_auth();
        Self::with_config(config, server_name)
    }

    /// As [`ClientTls::new`], and presents `cert_chain` (end-entity
    /// certificate first) with its private key `key` when the server asks
    /// for a client certificate (mutual TLS, RFC 9289 sections 4.2 and
    /// 5.2.1).
    ///
    /// # Errors
    ///
    /// As [`ClientTls::new`]; [`TlsError::Config`] also if the key does
    /// not suit the certificate.
    pub fn with_client_auth(
        roots: Vec<CertificateDer<'static>>,
        server_name: &str,
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let config = client_builder()?
            .with_root_certificates(root_store(roots)?)
            .with_client_auth_cert(cert_chain, key)?;
        Self::with_config(config, server_name)
    }

    fn with_config(mut config: rustls::ClientConfig, server_name: &str) -> Result<Self, TlsError> {
        set_alpn(&mut config.alpn_protocols);
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsError::ServerName(server_name.to_owned()))?;
        Ok(ClientTls {
            config: Arc::new(config),
            server_name,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// The time allowed for the probe exchange and the TLS handshake
    /// together (default [`DEFAULT_HANDSHAKE_TIMEOUT`], 10 seconds).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sends the AUTH_TLS probe for `program` `version` over `io`, checks
    /// the STARTTLS verifier in the reply, and runs the TLS handshake on
    /// the same stream (RFC 9289 section 4.1). The result carries the
    /// RPC records from then on; see
    /// [`ClientBuilder::connect_io`](crate::ClientBuilder::connect_io).
    ///
    /// # Errors
    ///
    /// An I/O error; one of kind `Unsupported` carrying
    /// [`TlsError::NotOffered`] if the server does not offer TLS,
    /// `TimedOut` with [`TlsError::Timeout`], `InvalidData` with another
    /// [`TlsError`], or the handshake's error (for example a certificate
    /// that does not verify).
    pub async fn start<IO>(&self, io: IO, program: u32, version: u32) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        tokio::time::timeout(
            self.handshake_timeout,
            self.probe_and_handshake(io, program, version),
        )
        .await
        .map_err(|_| io::Error::from(TlsError::Timeout))?
    }

    async fn probe_and_handshake<IO>(
        &self,
        mut io: IO,
        program: u32,
        version: u32,
    ) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let xid = rand_xid();
        write_record(&mut io, &probe_call(xid, program, version)).await?;
        let (_, fragment) = read_fragment_header(&mut io).await?;
        if !fragment.last || fragment.len > MAX_PROBE_BYTES {
            return Err(TlsError::BadProbeReply("not one small fragment").into());
        }
        let mut reply = vec![0u8; fragment.len];
        io.read_exact(&mut reply).await?;
        check_probe_reply(&reply, xid)?;
        let tls = TlsConnector::from(Arc::clone(&self.config))
            .connect(self.server_name.clone(), io)
            .await?;
        if tls.get_ref().1.alpn_protocol() != Some(ALPN_SUNRPC) {
            return Err(TlsError::NoAlpn.into());
        }
        Ok(tls)
    }
}

/// A fresh XID for the probe; its only need is to match its reply.
fn rand_xid() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish() as u32
}

fn root_store(roots: Vec<CertificateDer<'static>>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root)?;
    }
    Ok(store)
}

impl ClientBuilder {
    /// Connects over TCP (with `TCP_NODELAY`), upgrades the connection to
    /// RPC-over-TLS with `tls` ([`ClientTls::start`]: the AUTH_TLS probe
    /// for `program` `version`, then TLS 1.3 with ALPN `sunrpc`), and
    /// starts the ordinary multiplexed client over it. The client does
    /// not reconnect.
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if connecting, the probe or the handshake
    /// fails (see [`ClientTls::start`] for the kinds);
    /// [`RpcError::Encode`] if the credentials exceed their limits.
    pub async fn connect_tls(
        self,
        addr: impl ToSocketAddrs,
        program: u32,
        version: u32,
        tls: &ClientTls,
    ) -> Result<Client, RpcError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let stream = tls.start(stream, program, version).await?;
        self.connect_io(stream)
    }
}
