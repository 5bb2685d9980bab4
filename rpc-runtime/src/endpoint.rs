//! [`Endpoint`]: where a server listens or a client connects, written as
//! `tcp://HOST:PORT` or `unix:///PATH`.

use std::fmt;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A stream transport address for ONC RPC with record marking (RFC 5531
/// section 11): TCP or a Unix-domain socket.
///
/// Written as `tcp://HOST:PORT` (HOST a name, an IPv4 address or a
/// bracketed IPv6 address; port 0 asks the system for a free port when
/// listening) or `unix://PATH`. In `unix:///run/ds.sock` the path is
/// absolute; `unix://ds.sock` is a relative path, which
/// [`Endpoint::resolve_relative`] places in a directory of choice.
///
/// ```
/// use rpc_runtime::Endpoint;
/// let e: Endpoint = "tcp://127.0.0.1:7101".parse()?;
/// assert_eq!(e, Endpoint::Tcp("127.0.0.1:7101".into()));
/// let u: Endpoint = "unix:///tmp/ds.sock".parse()?;
/// assert_eq!(u.to_string(), "unix:///tmp/ds.sock");
/// # Ok::<(), rpc_runtime::EndpointError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `tcp://HOST:PORT`: the `HOST:PORT` part, as written.
    Tcp(String),
    /// `unix://PATH`: the socket's path.
    Unix(PathBuf),
}

/// Why a string is not an [`Endpoint`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The string starts with neither `tcp://` nor `unix://`.
    #[error("`{0}`: expected tcp://HOST:PORT or unix://PATH")]
    UnknownScheme(String),
    /// A TCP address without `:PORT`, with a non-numeric port or no host.
    #[error("`{0}`: expected tcp://HOST:PORT with a port number from 0 to 65535")]
    BadTcpAddress(String),
    /// `unix://` with nothing after it.
    #[error("`{0}`: the Unix socket path is empty")]
    EmptyPath(String),
}

impl Endpoint {
    /// For a Unix endpoint with a relative path, the same endpoint with the
    /// path placed under `dir`; any other endpoint unchanged.
    pub fn resolve_relative(self, dir: &Path) -> Endpoint {
        match self {
            Endpoint::Unix(p) if p.is_relative() => Endpoint::Unix(dir.join(p)),
            other => other,
        }
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(addr) = s.strip_prefix("tcp://") {
            let (host, port) = addr
                .rsplit_once(':')
                .ok_or_else(|| EndpointError::BadTcpAddress(s.to_owned()))?;
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(EndpointError::BadTcpAddress(s.to_owned()));
            }
            Ok(Endpoint::Tcp(addr.to_owned()))
        } else if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(EndpointError::EmptyPath(s.to_owned()));
            }
            Ok(Endpoint::Unix(PathBuf::from(path)))
        } else {
            Err(EndpointError::UnknownScheme(s.to_owned()))
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "tcp://{addr}"),
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

/// Prepares `path` for binding a Unix listener: removes a socket file
/// that nobody listens on any more (left by a process that died), and
/// refuses to touch a live socket or a file that is not a socket.
///
/// # Errors
///
/// [`io::ErrorKind::AddrInUse`] when a server accepts connections on
/// `path`; [`io::ErrorKind::AlreadyExists`] when `path` is not a socket;
/// the error of removing the stale file.
pub fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another server is listening on {}", path.display()),
        )),
        Err(_) => std::fs::remove_file(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for s in [
            "tcp://127.0.0.1:0",
            "tcp://localhost:7100",
            "tcp://[::1]:7100",
            "unix:///run/x.sock",
            "unix://rel.sock",
        ] {
            let e: Endpoint = s.parse().unwrap();
            assert_eq!(e.to_string(), s);
        }
    }

    #[test]
    fn refuses_malformed() {
        assert!(matches!(
            "udp://1.2.3.4:5".parse::<Endpoint>(),
            Err(EndpointError::UnknownScheme(_))
        ));
        assert!(matches!(
            "tcp://1.2.3.4".parse::<Endpoint>(),
            Err(EndpointError::BadTcpAddress(_))
        ));
        assert!(matches!(
            "tcp://:80".parse::<Endpoint>(),
            Err(EndpointError::BadTcpAddress(_))
        ));
        assert!(matches!(
            "tcp://h:70000".parse::<Endpoint>(),
            Err(EndpointError::BadTcpAddress(_))
        ));
        assert!(matches!(
            "unix://".parse::<Endpoint>(),
            Err(EndpointError::EmptyPath(_))
        ));
    }

    #[test]
    fn relative_unix_paths_resolve_under_dir() {
        let dir = Path::new("/run/user/1");
        let e: Endpoint = "unix://b.sock".parse().unwrap();
        assert_eq!(
            e.resolve_relative(dir),
            Endpoint::Unix("/run/user/1/b.sock".into())
        );
        let abs: Endpoint = "unix:///x.sock".parse().unwrap();
        assert_eq!(abs.clone().resolve_relative(dir), abs);
    }

    #[test]
    fn stale_sockets_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        assert!(remove_stale_socket(&path).is_ok(), "absent is fine");
        let live = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let e = remove_stale_socket(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        drop(live);
        assert!(path.exists());
        remove_stale_socket(&path).unwrap();
        assert!(!path.exists());
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            remove_stale_socket(&file).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
    }
}
