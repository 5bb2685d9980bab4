//! [`CallContext`]: what a handler knows about the call it serves.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::time::Instant;

use super::TlsPeer;
use crate::message::{AuthSysParams, Credentials};

/// The address of the peer on the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A UDP peer: the address the call datagram came from, where the
    /// reply goes.
    Udp(SocketAddr),
    /// A Unix stream socket peer, with its path if it has one (clients
    /// usually do not bind a path). Shared: the per-call copy of the
    /// address in each [`CallContext`] copies no path.
    Unix(Option<Arc<Path>>),
    /// A connection upgraded to RPC-over-TLS (RFC 9289), with the
    /// client's certificate identity under mutual TLS.
    Tls(Arc<TlsPeer>),
    /// A connection handed to
    /// [`Server::serve_connection`](crate::Server::serve_connection) with
    /// no known address.
    Unknown,
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerAddr::Tcp(a) => write!(f, "tcp://{a}"),
            PeerAddr::Udp(a) => write!(f, "udp://{a}"),
            PeerAddr::Unix(Some(p)) => write!(f, "unix://{}", p.display()),
            PeerAddr::Unix(None) => f.write_str("unix:(unnamed)"),
            PeerAddr::Tls(p) => write!(f, "tls+{}", p.addr),
            PeerAddr::Unknown => f.write_str("(unknown)"),
        }
    }
}

/// Everything about one call except its arguments: XID, peer, credentials,
/// the program, version and procedure numbers, and the deadline.
///
/// Held by value (the server builds one per call without allocating);
/// cloning copies the AUTH_SYS machine name and gids, if any.
#[derive(Debug, Clone)]
pub struct CallContext {
    inner: Inner,
}

#[derive(Debug, Clone)]
struct Inner {
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    credentials: Credentials,
    peer: PeerAddr,
    deadline: Option<Instant>,
    #[cfg(feature = "gss")]
    gss: Option<crate::gss::GssCaller>,
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
            inner: Inner {
                xid,
                program,
                version,
                procedure,
                credentials,
                peer,
                deadline: None,
                #[cfg(feature = "gss")]
                gss: None,
            },
        }
    }

    /// This context with a deadline (see [`CallContext::deadline`]).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.inner.deadline = Some(deadline);
        self
    }

    /// This context with the RPCSEC_GSS caller (see [`CallContext::gss`]).
    #[cfg(feature = "gss")]
    #[must_use]
    pub fn with_gss(mut self, caller: crate::gss::GssCaller) -> Self {
        self.inner.gss = Some(caller);
        self
    }

    /// The authenticated caller, if the call came under RPCSEC_GSS (RFC
    /// 2203): the client's principal and the call's protection.
    #[cfg(feature = "gss")]
    pub fn gss(&self) -> Option<&crate::gss::GssCaller> {
        self.inner.gss.as_ref()
    }

    /// The caller, if the call came under RPCSEC_GSS with at least
    /// `service`: for a handler that needs that protection.
    ///
    /// # Errors
    ///
    /// [`ServerError::AuthError`](super::ServerError::AuthError) with
    /// AUTH_TOOWEAK (RFC 5531 section 9) otherwise; return it and the
    /// call is refused with that status.
    #[cfg(feature = "gss")]
    pub fn require_gss(
        &self,
        service: crate::gss::GssService,
    ) -> Result<&crate::gss::GssCaller, super::ServerError> {
        self.gss()
            .filter(|caller| caller.service() >= service)
            .ok_or(super::ServerError::AuthError(
                crate::message::AuthStat::TooWeak,
            ))
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

    /// The caller's credentials (AUTH_NONE or AUTH_SYS; RPCSEC_GSS calls
    /// show [`Credentials::None`] here and their caller in `gss()`;
    /// other flavors are refused before a handler runs).
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

    /// When the server stops waiting for this call: the time the call was
    /// read plus [`ServerBuilder::call_timeout`](crate::ServerBuilder::call_timeout),
    /// or `None` when no per-call time limit is configured (the default).
    /// At the deadline the server drops the handler's future and replies
    /// SYSTEM_ERR. A handler can pass it on, for example to
    /// [`tokio::time::timeout_at`] or as the timeout of a call it makes
    /// itself.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }
}
