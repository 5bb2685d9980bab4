//! RPC-over-TLS (RFC 9289) on the broker's TCP connections: the
//! listeners' server side and the backends' client side, with the
//! certificates of each held in a slot that a reload refills.
//!
//! The probe, the STARTTLS verifier and the handshake are the runtime's
//! ([`ServerTls::upgrade`], [`ClientTls::start`]). The driver writes to
//! its sockets without blocking from any task, which a TLS session does
//! not allow; so a TLS connection is relayed: the driver reads and writes
//! one end of a Unix socket pair, and one task per connection moves the
//! bytes between the other end and the TLS session:
//!
//! ```text
//! client ==TLS/TCP== relay task --socket pair-- driver (client task, outbox)
//! driver (backend task, outbox) --socket pair-- relay task ==TLS/TCP== backend
//! ```
//!
//! A client connection is admitted (it counts against `max_connections`
//! and may be evicted while idle) before its handshake, so clients that
//! stall in the handshake cannot keep others out; it takes three file
//! descriptors instead of one. The relay ends when the driver closes its
//! end (the TLS session is closed with `close_notify`) or when the TLS
//! peer goes (the driver then reads the end of the stream).

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rpc_runtime::log_limit::{LogLimit, DEFAULT_INTERVAL};
use rpc_runtime::server::{PeerAddr, PeerCertificate, SubjectAltName};
use rpc_runtime::tls::{ClientTls, ServerTls, TlsError, TlsFailure, TlsStats};
use rpc_runtime::Endpoint;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixStream};

use crate::config::{BackendAddress, Config, ListenTls};
use crate::driver::socket::{split_unix, ReadHalf, WriteHalf};
use crate::metrics::Metrics;

/// Bytes read at once from either side of a relay: four TLS records.
const RELAY_BUFFER_BYTES: usize = 64 * 1024;

/// A value that a reload replaces while connections keep the one they
/// started with.
#[derive(Debug)]
pub(crate) struct Current<T>(RwLock<Arc<T>>);

impl<T> Current<T> {
    fn new(value: T) -> Current<T> {
        Current(RwLock::new(Arc::new(value)))
    }

    /// The value in force.
    pub(crate) fn get(&self) -> Arc<T> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set(&self, value: T) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(value);
    }
}

/// How the broker reaches one TLS backend: its client side, and the
/// program and version its AUTH_TLS probe names; or why its settings
/// could not be loaded (then it cannot be connected to).
pub(crate) type BackendTlsState = Result<BackendTlsClient, Arc<str>>;

/// The client side for one TLS backend.
#[derive(Debug)]
pub(crate) struct BackendTlsClient {
    tls: ClientTls,
    /// Program and version of the probe: those of the first route that
    /// names the backend (RFC 9289 section 4.1 probes with a NULL call of
    /// the program to be protected).
    probe: (u32, u32),
}

/// The certificates in force: one slot per TLS listener, one per TLS
/// backend (by name), and the refusal counters every listener shares.
#[derive(Debug)]
pub(crate) struct TlsStore {
    stats: Arc<TlsStats>,
    /// The TLS listeners' settings as started (a listener's settings
    /// change only with a restart; its files are read again on reload).
    listeners: Vec<(String, ListenTls, Arc<Current<ServerTls>>)>,
    backends: Mutex<BTreeMap<String, Arc<Current<BackendTlsState>>>>,
}

/// Why the TLS settings of the configuration cannot be used at start-up:
/// where (`listen[I].tls` or `backends.NAME.tls`) and what failed.
#[derive(Debug)]
pub(crate) struct TlsSetupError {
    pub(crate) key: String,
    pub(crate) source: TlsError,
}

impl TlsStore {
    /// An empty store whose listeners count refusals in `stats`.
    pub(crate) fn new(stats: Arc<TlsStats>) -> TlsStore {
        TlsStore {
            stats,
            listeners: Vec::new(),
            backends: Mutex::new(BTreeMap::new()),
        }
    }

    /// Loads the settings of the TLS listener `listen[index]`; its slot.
    ///
    /// # Errors
    ///
    /// As [`ListenTls::load`].
    pub(crate) fn add_listener(
        &mut self,
        index: usize,
        config: &ListenTls,
    ) -> Result<Arc<Current<ServerTls>>, TlsSetupError> {
        let key = format!("listen[{index}].tls");
        let tls = config.load(&self.stats).map_err(|source| TlsSetupError {
            key: key.clone(),
            source,
        })?;
        let slot = Arc::new(Current::new(tls));
        self.listeners
            .push((key, config.clone(), Arc::clone(&slot)));
        Ok(slot)
    }

    /// Loads the settings of every TLS backend of `config`, at start-up.
    ///
    /// # Errors
    ///
    /// The first backend whose settings do not load.
    pub(crate) fn load_backends(&self, config: &Config) -> Result<(), TlsSetupError> {
        let mut backends = self.lock_backends();
        for (name, key, state) in backend_states(config) {
            let client = state.map_err(|source| TlsSetupError { key, source })?;
            backends.insert(name, Arc::new(Current::new(Ok(client))));
        }
        Ok(())
    }

    /// Reads every certificate and key file again: the listeners' as
    /// started, the backends' as `config` (the new configuration) says.
    /// What does not load keeps its previous settings (a backend new to
    /// TLS has none: it cannot be connected to until a reload succeeds);
    /// the returned lines say what and why.
    pub(crate) fn reload(&self, config: &Config) -> Vec<String> {
        let mut failed = Vec::new();
        for (key, settings, slot) in &self.listeners {
            match settings.load(&self.stats) {
                Ok(tls) => slot.set(tls),
                Err(e) => failed.push(format!("{key}: {e}; the previous certificate stays")),
            }
        }
        let mut backends = self.lock_backends();
        let mut kept = BTreeMap::new();
        for (name, key, state) in backend_states(config) {
            let slot = backends
                .remove(&name)
                .unwrap_or_else(|| Arc::new(Current::new(Err(Arc::from("not loaded yet")))));
            match state {
                Ok(client) => slot.set(Ok(client)),
                Err(e) => {
                    let keeps = if slot.get().is_ok() {
                        "the previous settings stay"
                    } else {
                        "the backend cannot be connected to"
                    };
                    failed.push(format!("{key}: {e}; {keeps}"));
                    if slot.get().is_err() {
                        slot.set(Err(Arc::from(e.to_string())));
                    }
                }
            }
            kept.insert(name, slot);
        }
        *backends = kept;
        failed
    }

    /// The TLS settings of backend `name`, if it is reached over TLS (see
    /// [`TlsStore::load_backends`], [`TlsStore::reload`]).
    pub(crate) fn backend(&self, name: &str) -> Option<Arc<Current<BackendTlsState>>> {
        self.lock_backends().get(name).cloned()
    }

    fn lock_backends(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Current<BackendTlsState>>>> {
        self.backends.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every TLS backend of `config`: its name, its table's key, and its
/// client side as loaded now.
fn backend_states(
    config: &Config,
) -> impl Iterator<Item = (String, String, Result<BackendTlsClient, TlsError>)> + '_ {
    config.backends.iter().filter_map(move |(name, b)| {
        let (Some(tls), BackendAddress::Endpoint(Endpoint::Tcp(addr))) = (&b.tls, &b.address)
        else {
            return None;
        };
        let client = tls
            .load(crate::config::host_of(addr))
            .map(|tls| BackendTlsClient {
                tls,
                probe: probe_program(config, name),
            });
        Some((name.clone(), format!("backends.{name}.tls"), client))
    })
}

/// The program and version the probe to backend `name` names: the first
/// route that names it, its first listed version (1 when the route takes
/// every version).
fn probe_program(config: &Config, name: &str) -> (u32, u32) {
    config
        .routes
        .iter()
        .find(|r| {
            r.backend.as_ref().is_some_and(|b| b.get_ref() == name)
                || r.pool
                    .as_ref()
                    .is_some_and(|p| p.get_ref().iter().any(|n| n == name))
        })
        .map_or((0, 0), |r| {
            (r.program, r.versions.first().copied().unwrap_or(1))
        })
}

/// A client connection accepted on a TLS listener, for the driver: the
/// halves it reads and writes, and the task that runs the upgrade with
/// `server` (the probe, then TLS; or plain calls, refused or served as
/// the listener says) and then relays. After a handshake with a client
/// certificate, and before relaying a byte, the task hands `on_names`
/// the certificate's names ([`certificate_names`]).
///
/// # Errors
///
/// The socket pair cannot be made (out of descriptors).
pub(crate) fn accept(
    stream: TcpStream,
    server: Arc<ServerTls>,
    on_names: impl FnOnce(Vec<String>) + Send + 'static,
) -> io::Result<(
    ReadHalf,
    WriteHalf,
    impl Future<Output = ()> + Send + 'static,
)> {
    let (driver, relay_end) = UnixStream::pair()?;
    let (read, write) = split_unix(driver);
    let task = async move {
        let peer = stream.peer_addr().map_or(PeerAddr::Unknown, PeerAddr::Tcp);
        match server.upgrade(stream, peer.clone()).await {
            Ok((io, peer)) => {
                if let PeerAddr::Tls(tls) = &peer {
                    if let Some(cert) = &tls.certificate {
                        on_names(certificate_names(cert));
                    }
                }
                relay(io, relay_end).await
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "RPC-over-TLS upgrade failed; connection closed")
            }
        }
    };
    Ok((read, write, task))
}

/// The names a verified client certificate gives its holder, for the
/// allow lists (`allow_tls_names`): the subject's common name, and the
/// DNS, e-mail, URI and IP subject alternative names.
pub(crate) fn certificate_names(cert: &PeerCertificate) -> Vec<String> {
    let sans = cert.subject_alt_names.iter().map(|n| match n {
        SubjectAltName::Dns(s) | SubjectAltName::Uri(s) | SubjectAltName::Email(s) => s.clone(),
        SubjectAltName::Ip(ip) => ip.to_string(),
        _ => String::new(),
    });
    cert.common_name
        .iter()
        .cloned()
        .chain(sans)
        .filter(|n| !n.is_empty())
        .collect()
}

/// Starts RPC-over-TLS on `stream`, a new connection to a backend whose
/// TLS settings are `state`, and relays it (in a task of its own) to the
/// halves returned for the driver.
///
/// # Errors
///
/// Settings that did not load, the probe or the handshake failing (the
/// backend does not offer TLS, its certificate does not verify), or no
/// descriptors left for the socket pair.
pub(crate) async fn connect(
    stream: TcpStream,
    state: &BackendTlsState,
) -> io::Result<(ReadHalf, WriteHalf)> {
    let client = state
        .as_ref()
        .map_err(|e| io::Error::other(format!("TLS settings not loaded: {e}")))?;
    let (program, version) = client.probe;
    let io = client
        .tls
        .start(stream, program, version)
        .await
        .map_err(|e| {
            let reason = TlsFailure::of(&e);
            io::Error::new(e.kind(), BackendTlsFailed { reason, source: e })
        })?;
    let (driver, relay_end) = UnixStream::pair()?;
    tokio::spawn(relay(io, relay_end));
    Ok(split_unix(driver))
}

/// The error of a backend connection whose TCP connection was made but
/// whose RPC-over-TLS start failed ([`connect`]), and why.
#[derive(Debug, thiserror::Error)]
#[error("RPC-over-TLS failed ({}): {source}", reason.as_str())]
pub(crate) struct BackendTlsFailed {
    reason: TlsFailure,
    source: io::Error,
}

/// One log line per interval for backends whose TLS start failed.
static BACKEND_TLS_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// Counts and logs (at most one line per interval) the failure `e` of a
/// connection to backend `name` when it is an RPC-over-TLS failure
/// (`broker_backend_tls_failures_total`); other failures (the TCP
/// connection refused) are left to the caller.
pub(crate) fn note_backend_failure(metrics: &Metrics, name: &str, e: &io::Error) {
    let Some(failed) = e
        .get_ref()
        .and_then(|e| e.downcast_ref::<BackendTlsFailed>())
    else {
        return;
    };
    let reason = failed.reason.as_str();
    metrics.tls.backend_failed(name, reason);
    if let Some(suppressed) = BACKEND_TLS_LOG.allow() {
        tracing::warn!(backend = name, reason, error = %failed.source, suppressed, "RPC-over-TLS to backend failed");
    }
}

/// Moves bytes between `network` (a TLS session) and `local` (the relay's
/// end of the socket pair) until the driver closes its end or writing to
/// the network fails. The network's end of stream becomes the end of
/// `local`'s writing, so the driver reads it as the peer's close.
/// `copy_buf` flushes its writer whenever its reader has nothing more for
/// the moment, so TLS records rustls still holds go out at the end of a
/// burst (the tail of a reply never waits for the next one).
async fn relay<IO: AsyncRead + AsyncWrite>(network: IO, local: UnixStream) {
    let (net_read, mut net_write) = tokio::io::split(network);
    let (local_read, mut local_write) = local.into_split();
    let mut net_read = BufReader::with_capacity(RELAY_BUFFER_BYTES, net_read);
    let mut local_read = BufReader::with_capacity(RELAY_BUFFER_BYTES, local_read);
    let inbound = async {
        if let Err(e) = tokio::io::copy_buf(&mut net_read, &mut local_write).await {
            tracing::debug!(error = %e, "TLS relay: reading the network side failed");
        }
        let _ = local_write.shutdown().await;
        // The relay ends with the driver's side (outbound), which may
        // still have replies to write.
        std::future::pending::<()>().await
    };
    let outbound = async {
        if let Err(e) = tokio::io::copy_buf(&mut local_read, &mut net_write).await {
            tracing::debug!(error = %e, "TLS relay: writing the network side failed");
        }
        let _ = net_write.shutdown().await;
    };
    tokio::select! {
        () = inbound => {}
        () = outbound => {}
    }
}
