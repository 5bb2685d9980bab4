//! [`CallContext`]: what a handler knows about the call it serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::message::{AuthSysParams, Credentials};

/// The address of the peer on the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A Unix stream socket peer, with its path if it has one (clients
    /// usually do not bind a path).
    Unix(Option<PathBuf>),
    /// A connection handed to
    /// [`Server::serve_connection`](crate::Server::serve_connection) with
    /// no known address.
    Unknown,
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerAddr::Tcp(a) => write!(f, "tcp://{a}"),
            PeerAddr::Unix(Some(p)) => write!(f, "unix://{}", p.display()),
            PeerAddr::Unix(None) => f.write_str("unix:(unnamed)"),
            PeerAddr::Unknown => f.write_str("(unknown)"),
        }
    }
}

/// Everything about one call except its arguments: XID, peer, credentials
/// and the program, version and procedure numbers.
///
/// Cheap to clone (one reference count).
#[derive(Debug, Clone)]
pub struct CallContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    credentials: Credentials,
    peer: PeerAddr,
}

impl CallContext {
    /// A context for a call; the server builds these, tests may too.
    pub fn new(
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        credentials: Credentials,
        peer: PeerAddr,
    ) -> Self {
        CallContext {
            inner: Arc::new(Inner {
                xid,
                program,
                version,
                procedure,
                credentials,
                peer,
            }),
        }
    }

    /// The call's transaction id.
    pub fn xid(&self) -> u32 {
        self.inner.xid
    }

    /// The program number called.
    pub fn program(&self) -> u32 {
        self.inner.program
    }

    /// The program version called.
    pub fn version(&self) -> u32 {
        self.inner.version
    }

    /// The procedure number called.
    pub fn procedure(&self) -> u32 {
        self.inner.procedure
    }

    /// The caller's credentials (AUTH_NONE or AUTH_SYS; other flavors are
    /// refused before a handler runs).
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The AUTH_SYS parameters, if the caller sent AUTH_SYS credentials.
    pub fn auth_sys(&self) -> Option<&AuthSysParams> {
        self.inner.credentials.auth_sys()
    }

    /// The caller's address.
    pub fn peer(&self) -> &PeerAddr {
        &self.inner.peer
    }
}
