//! RPC-over-TLS (RFC 9289) settings: table `tls` of a TCP `listen` entry
//! (the broker as a TLS server to its clients) and of a TCP backend (the
//! broker as a TLS client). Certificates and keys are PEM files, read at
//! start-up and again on every reload (SIGHUP, `broker ctl reload`).
//!
//! ```toml
//! [[listen]]
//! address = "tcp://0.0.0.0:7100"
//! allow_programs = [0x2000DA7A]
//! [listen.tls]
//! cert = "/etc/broker/tls/broker.pem"     # chain, end-entity first
//! key = "/etc/broker/tls/broker.key"      # PKCS#8, PKCS#1 or SEC1
//! client_ca = "/etc/broker/tls/clients.pem"  # optional: mutual TLS
//! required = true                         # refuse plain calls (AUTH_TOOWEAK)
//! handshake_timeout_ms = 10000            # probe + handshake
//!
//! [backends.store1]
//! address = "tcp://store1.example:7101"
//! [backends.store1.tls]
//! ca = "/etc/broker/tls/stores-ca.pem"    # roots that sign the server's certificate
//! server_name = "store1.example"          # default: the address's host
//! cert = "/etc/broker/tls/broker-client.pem"  # optional: for mutual TLS
//! key = "/etc/broker/tls/broker-client.key"
//! ```
//!
//! Relative paths are taken from the broker's working directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rpc_runtime::tls::{load_certs, load_private_key, ClientTls, ServerTls, TlsError, TlsStats};
use serde::Deserialize;

/// The default of [`ListenTls::handshake_timeout_ms`]: 10,000 ms, as
/// [`rpc_runtime::tls::DEFAULT_HANDSHAKE_TIMEOUT`].
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// Table `tls` of a TCP `listen` entry: the listener answers the AUTH_TLS
/// probe with the STARTTLS verifier and runs TLS 1.3 (ALPN `sunrpc`) on
/// the same connection (RFC 9289 section 4.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenTls {
    /// The broker's certificate chain, end-entity first (key `cert`, a
    /// PEM file).
    pub cert: PathBuf,
    /// The private key of `cert` (key `key`, a PEM file: PKCS#8, PKCS#1
    /// or SEC1).
    pub key: PathBuf,
    /// Roots that sign client certificates (key `client_ca`, a PEM file;
    /// optional). When set, a client must present a certificate signed by
    /// one of them (mutual TLS, RFC 9289 sections 4.2 and 5.2.1), or its
    /// handshake fails.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Refuse calls not protected by TLS (key `required`, default
    /// false): each is answered `MSG_DENIED` / `AUTH_ERROR` /
    /// `AUTH_TOOWEAK` and the connection stays open for the probe.
    #[serde(default)]
    pub required: bool,
    /// Time a new connection has for the probe and the TLS handshake, in
    /// milliseconds (key `handshake_timeout_ms`, default 10,000); with
    /// `required`, also the time in which it may send plain calls. Past
    /// it the connection is closed.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
}

fn default_handshake_timeout_ms() -> u64 {
    DEFAULT_HANDSHAKE_TIMEOUT_MS
}

impl ListenTls {
    /// Reads the PEM files and builds the server side, counting its
    /// refusals in `stats`.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no certificate or key, a key
    /// that does not suit the certificate, an unusable client CA.
    pub fn load(&self, stats: &Arc<TlsStats>) -> Result<ServerTls, TlsError> {
        let chain = load_certs(&self.cert)?;
        let key = load_private_key(&self.key)?;
        let tls = match &self.client_ca {
            None => ServerTls::new(chain, key)?,
            Some(ca) => ServerTls::with_client_auth(chain, key, load_certs(ca)?, true)?,
        };
        Ok(tls
            .required(self.required)
            .handshake_timeout(Duration::from_millis(self.handshake_timeout_ms))
            .with_stats(Arc::clone(stats)))
    }
}

/// Table `[backends.NAME.tls]` of a TCP backend: the broker sends the
/// AUTH_TLS probe on each new connection and runs TLS 1.3 (ALPN
/// `sunrpc`) before any call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendTls {
    /// Roots trusted to sign the backend's certificate (key `ca`, a PEM
    /// file).
    pub ca: PathBuf,
    /// The name the backend's certificate must carry (key
    /// `server_name`, a DNS name or an IP address; default: the host of
    /// the backend's `address`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// The broker's client certificate chain for mutual TLS (key `cert`,
    /// a PEM file; with `key`).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The private key of `cert` (key `key`, a PEM file).
    #[serde(default)]
    pub key: Option<PathBuf>,
}

impl BackendTls {
    /// Why this table is inconsistent, as `(key, reason)`.
    pub(crate) fn check(&self) -> Option<(&'static str, &'static str)> {
        match (&self.cert, &self.key) {
            (Some(_), None) => Some(("cert", "needs `key` too")),
            (None, Some(_)) => Some(("key", "needs `cert` too")),
            _ => None,
        }
    }

    /// Reads the PEM files and builds the client side for a backend at
    /// `host` (the host of its TCP address, the default server name).
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no certificate or key, a key
    /// that does not suit the certificate, a server name that is neither
    /// a DNS name nor an IP address.
    pub fn load(&self, host: &str) -> Result<ClientTls, TlsError> {
        let roots = load_certs(&self.ca)?;
        let name = self.server_name.as_deref().unwrap_or(host);
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                ClientTls::with_client_auth(roots, name, load_certs(cert)?, load_private_key(key)?)
            }
            _ => ClientTls::new(roots, name),
        }
    }
}

/// The host of a TCP address `HOST:PORT` (`[::1]:7101` gives `::1`).
pub(crate) fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}
