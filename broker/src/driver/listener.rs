//! Client-facing listeners: binding TCP and Unix sockets (taking over a
//! stale Unix socket file, refusing a live one) and accepting connections.

use std::io;
use std::path::PathBuf;

use rpc_runtime::Endpoint;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// A bound listener, with the address it actually listens on (the real
/// port when the configuration asked for port 0).
#[derive(Debug)]
pub(crate) enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix stream listener and its socket path, removed on drop.
    Unix(UnixListener, SocketFile),
}

/// A Unix socket file this process created; removed when dropped.
#[derive(Debug)]
pub(crate) struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        // Best effort: it may already be gone.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An accepted client connection and a name for its peer, for logs.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// A TCP client.
    Tcp(TcpStream, String),
    /// A Unix socket client.
    Unix(UnixStream, String),
}

impl Listener {
    /// Binds `endpoint`.
    ///
    /// # Errors
    ///
    /// The bind error; for a Unix path where a live server already listens,
    /// [`io::ErrorKind::AddrInUse`].
    pub(crate) async fn bind(endpoint: &Endpoint) -> io::Result<Listener> {
        match endpoint {
            Endpoint::Tcp(addr) => Ok(Listener::Tcp(TcpListener::bind(addr.as_str()).await?)),
            Endpoint::Unix(path) => {
                rpc_runtime::remove_stale_socket(path)?;
                let listener = UnixListener::bind(path)?;
                Ok(Listener::Unix(listener, SocketFile(path.clone())))
            }
        }
    }

    /// The address this listener accepts on.
    pub(crate) fn local_endpoint(&self) -> Endpoint {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(a) => Endpoint::Tcp(a.to_string()),
                Err(_) => Endpoint::Tcp("unknown:0".to_owned()),
            },
            Listener::Unix(_, file) => Endpoint::Unix(file.0.clone()),
        }
    }

    /// Accepts one connection.
    pub(crate) async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                // Small replies should not wait for Nagle's algorithm.
                let _ = s.set_nodelay(true);
                Ok(Accepted::Tcp(s, format!("tcp://{peer}")))
            }
            Listener::Unix(l, file) => {
                let (s, _) = l.accept().await?;
                let id = s
                    .peer_cred()
                    .ok()
                    .and_then(|c| c.pid())
                    .map_or_else(String::new, |p| format!(" pid {p}"));
                Ok(Accepted::Unix(
                    s,
                    format!("unix://{}{id}", file.0.display()),
                ))
            }
        }
    }
}
