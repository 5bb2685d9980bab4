//! Typed handles: which client connection, backend, backend connection,
//! route or call an input or output is about.

use std::fmt;

/// A client connection, allocated by [`Core::add_client`](super::Core::add_client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub(crate) u64);

/// One connection to a backend, allocated by the core when it asks for a
/// connection ([`Event::Connect`](super::Event::Connect)). A new connection
/// to the same backend gets a new handle, so inputs about an old one are
/// recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

/// A call being forwarded (internal bookkeeping, shown in events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

pub use crate::route::{BackendId, RouteId};

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client#{}", self.0)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

impl ClientId {
    /// The handle's number, unique for the core's lifetime (for logs).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl ConnId {
    /// The handle's number, unique for the core's lifetime (for logs).
    pub fn get(self) -> u64 {
        self.0
    }
}
