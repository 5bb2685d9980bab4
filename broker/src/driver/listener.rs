//! Listeners: binding TCP and Unix sockets (taking over a stale Unix
//! socket file, refusing a live one, giving a new one its mode and
//! group) and accepting connections, with the peer's credentials on Unix
//! sockets.
//!
//! A failed `accept` never makes a listener spin or flood the log: the
//! listener pauses (out of descriptors: 10 ms doubling to 1 s, reset by
//! the next success; other errors: 100 ms), logs one line per kind of
//! error and [`LogLimit`] interval, and counts each failure in
//! `broker_accept_errors_total`. Out of descriptors, it first refuses the
//! connections waiting in its backlog ([`fd_limit`]) so that their
//! clients see the connection closed rather than wait.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use rpc_runtime::log_limit::{LogLimit, DEFAULT_INTERVAL};
use rpc_runtime::Endpoint;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::config::{ListenAddress, ListenConfig};
use crate::core::access::{AllowList, Caller, PeerCred};
use crate::driver::fd_limit;
use crate::metrics::Metrics;

/// The first pause after running out of descriptors; it doubles with
/// every failure in a row.
const OUT_OF_FDS_FIRST_PAUSE: Duration = Duration::from_millis(10);

/// The longest pause after running out of descriptors.
const OUT_OF_FDS_MAX_PAUSE: Duration = Duration::from_secs(1);

/// The pause after any other failed `accept`.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Connections refused from the backlog per pause, at most.
const MAX_REFUSED_PER_PAUSE: u64 = 1024;

/// One log line per interval for running out of descriptors...
static OUT_OF_FDS_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... and for other accept errors.
static ACCEPT_ERROR_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// A bound listener.
#[derive(Debug)]
pub(crate) struct Listener {
    socket: Socket,
    /// Who may call through it; `None`: everyone, everything.
    allow: Option<Arc<AllowList>>,
    /// The current pause after running out of descriptors, milliseconds
    /// (0: none in a row).
    pause_ms: AtomicU64,
}

#[derive(Debug)]
enum Socket {
    Tcp(TcpListener),
    /// A Unix stream listener and its socket file, removed on drop.
    Unix(UnixListener, SocketFile),
}

/// A Unix socket file this process created; removed when dropped.
#[derive(Debug)]
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        // Best effort: it may already be gone.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An accepted connection, a name for its peer (for logs) and, on a Unix
/// socket, the peer's credentials.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// A TCP client.
    Tcp(TcpStream, String),
    /// A Unix socket client.
    Unix(UnixStream, String, Option<PeerCred>),
}

impl Accepted {
    /// The caller as the core sees it, under `listener`'s allow list.
    pub(crate) fn caller(&self, listener: &Listener) -> Caller {
        Caller {
            cred: match self {
                Accepted::Unix(_, _, cred) => *cred,
                Accepted::Tcp(..) => None,
            },
            allow: listener.allow.clone(),
            tls_names: Vec::new(),
        }
    }
}

/// Resolves a `group` value: a group name, or a number.
fn group_id(group: &str) -> io::Result<u32> {
    if let Ok(gid) = group.parse() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no group named `{group}`"),
        )),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Gives a new socket file its group (if any) and mode.
fn set_access(path: &Path, mode: u32, group: Option<&str>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(g) = group {
        std::os::unix::fs::chown(path, None, Some(group_id(g)?))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

impl Listener {
    /// Binds a client listener as `config` says: its Unix socket file gets
    /// the configured mode and group, its connections the allow list.
    ///
    /// # Errors
    ///
    /// As [`Listener::bind_endpoint`]; also a group that does not exist,
    /// or a `chown`/`chmod` refused.
    pub(crate) async fn bind(config: &ListenConfig) -> io::Result<Listener> {
        let ListenAddress::Stream(endpoint) = &config.address else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a stream listener", config.address),
            ));
        };
        let mut l =
            Listener::bind_endpoint(endpoint, config.socket_mode(), config.group.as_deref())
                .await?;
        if !config.allow.allows_all() {
            l.allow = Some(Arc::new(config.allow.clone()));
        }
        Ok(l)
    }

    /// Binds `endpoint`; a Unix socket file gets `mode` and `group`.
    ///
    /// # Errors
    ///
    /// The bind error; for a Unix path where a live server already listens,
    /// [`io::ErrorKind::AddrInUse`].
    pub(crate) async fn bind_endpoint(
        endpoint: &Endpoint,
        mode: u32,
        group: Option<&str>,
    ) -> io::Result<Listener> {
        let socket = match endpoint {
            Endpoint::Tcp(addr) => Socket::Tcp(TcpListener::bind(addr.as_str()).await?),
            Endpoint::Unix(path) => {
                rpc_runtime::remove_stale_socket(path)?;
                let listener = UnixListener::bind(path)?;
                let file = SocketFile(path.clone());
                set_access(path, mode, group)?;
                Socket::Unix(listener, file)
            }
        };
        Ok(Listener {
            socket,
            allow: None,
            pause_ms: AtomicU64::new(0),
        })
    }

    /// The address this listener accepts on.
    pub(crate) fn local_endpoint(&self) -> Endpoint {
        match &self.socket {
            Socket::Tcp(l) => match l.local_addr() {
                Ok(a) => Endpoint::Tcp(a.to_string()),
                Err(_) => Endpoint::Tcp("unknown:0".to_owned()),
            },
            Socket::Unix(_, file) => Endpoint::Unix(file.0.clone()),
        }
    }

    /// Accepts one connection, pausing after failures (see the module
    /// docs; they are counted in `metrics`).
    pub(crate) async fn accept(&self, metrics: &Metrics) -> Accepted {
        loop {
            match self.accept_once().await {
                Ok(a) => {
                    self.pause_ms.store(0, Ordering::Relaxed);
                    return a;
                }
                Err(e) => self.pause_after(&e, metrics).await,
            }
        }
    }

    async fn accept_once(&self) -> io::Result<Accepted> {
        match &self.socket {
            Socket::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                // Small replies should not wait for Nagle's algorithm.
                let _ = s.set_nodelay(true);
                Ok(Accepted::Tcp(s, format!("tcp://{peer}")))
            }
            Socket::Unix(l, file) => {
                let (s, _) = l.accept().await?;
                let cred = s.peer_cred().ok().map(|c| PeerCred {
                    uid: c.uid(),
                    gid: c.gid(),
                    pid: c.pid(),
                });
                Ok(Accepted::Unix(
                    s,
                    format!("unix://{}", file.0.display()),
                    cred,
                ))
            }
        }
    }

    /// After a failed accept: refuse the backlog if out of descriptors,
    /// count, log (rate-limited) and pause.
    async fn pause_after(&self, e: &io::Error, metrics: &Metrics) {
        let endpoint = self.local_endpoint();
        let pause = if fd_limit::is_out_of_descriptors(e) {
            metrics.accept_error("out_of_descriptors");
            let refused = fd_limit::with_spare_released(|| self.refuse_waiting());
            metrics.refused("descriptors", refused);
            let last = self.pause_ms.load(Ordering::Relaxed);
            let pause = Duration::from_millis(last.saturating_mul(2))
                .clamp(OUT_OF_FDS_FIRST_PAUSE, OUT_OF_FDS_MAX_PAUSE);
            self.pause_ms
                .store(pause.as_millis() as u64, Ordering::Relaxed);
            if let Some(suppressed) = OUT_OF_FDS_LOG.allow() {
                tracing::warn!(
                    %endpoint,
                    error = %e,
                    refused,
                    pause_ms = pause.as_millis() as u64,
                    suppressed,
                    "out of file descriptors: refusing waiting connections, pausing accept"
                );
            }
            pause
        } else {
            metrics.accept_error("other");
            if let Some(suppressed) = ACCEPT_ERROR_LOG.allow() {
                tracing::warn!(%endpoint, error = %e, suppressed, "accept failed");
            }
            ACCEPT_ERROR_PAUSE
        };
        tokio::time::sleep(pause).await;
    }

    /// Accepts and at once closes the connections waiting in the backlog
    /// (at most [`MAX_REFUSED_PER_PAUSE`]); how many.
    fn refuse_waiting(&self) -> u64 {
        let mut refused = 0;
        while refused < MAX_REFUSED_PER_PAUSE {
            match self.accept_once().now_or_never() {
                Some(Ok(connection)) => {
                    drop(connection);
                    refused += 1;
                }
                Some(Err(_)) | None => break,
            }
        }
        refused
    }
}
