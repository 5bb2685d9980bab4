//! Address values of the configuration: [`ListenAddress`] and
//! [`BackendAddress`], read from TOML strings.

use std::fmt;
use std::str::FromStr;

use rpc_runtime::{Endpoint, EndpointError};
use serde::Deserialize;

/// A `listen` entry: `tcp://HOST:PORT`, `unix://PATH` or
/// `udp://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ListenAddress {
    /// A stream listener (TCP or Unix socket): calls with record marking.
    Stream(Endpoint),
    /// A UDP socket at `HOST:PORT` (as written; port 0 asks the system
    /// for a free port): one call per datagram.
    Udp(String),
}

impl FromStr for ListenAddress {
    type Err = EndpointError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("udp://") {
            // The same HOST:PORT rules as TCP's.
            Some(addr) => match format!("tcp://{addr}").parse() {
                Ok(Endpoint::Tcp(a)) => Ok(ListenAddress::Udp(a)),
                _ => Err(EndpointError::BadTcpAddress(s.to_owned())),
            },
            None => s.parse().map(ListenAddress::Stream),
        }
    }
}

impl TryFrom<String> for ListenAddress {
    type Error = EndpointError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::Stream(e) => e.fmt(f),
            ListenAddress::Udp(a) => write!(f, "udp://{a}"),
        }
    }
}

/// A backend compiled into the broker, named `builtin:NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Builtin {
    /// `builtin:datastore`: an in-process datastore server
    /// (`datastore/specs/datastore.x`), for a broker that works with nothing else
    /// running.
    Datastore,
}

/// A backend's `address`: `tcp://HOST:PORT`, `unix://PATH` or
/// `builtin:datastore`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum BackendAddress {
    /// A server reached over TCP or a Unix socket.
    Endpoint(Endpoint),
    /// A server inside the broker process.
    Builtin(Builtin),
}

/// Why a string is not a [`BackendAddress`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendAddressError {
    /// `builtin:` followed by an unknown name.
    #[error("unknown builtin backend `{0}` (known: builtin:datastore)")]
    UnknownBuiltin(String),
    /// Not a valid endpoint.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

impl FromStr for BackendAddress {
    type Err = BackendAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("builtin:") {
            Some("datastore") => Ok(BackendAddress::Builtin(Builtin::Datastore)),
            Some(other) => Err(BackendAddressError::UnknownBuiltin(other.to_owned())),
            None => Ok(BackendAddress::Endpoint(s.parse()?)),
        }
    }
}

impl TryFrom<String> for BackendAddress {
    type Error = BackendAddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for BackendAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendAddress::Endpoint(e) => e.fmt(f),
            BackendAddress::Builtin(Builtin::Datastore) => f.write_str("builtin:datastore"),
        }
    }
}
