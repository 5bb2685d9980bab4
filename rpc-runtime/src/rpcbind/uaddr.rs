//! Universal addresses (RFC 1833 section 2.1; RFC 5665 section 5) and
//! network ids: how rpcbind writes transport addresses.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

/// Network id of TCP over IPv4.
pub const NETID_TCP: &str = "tcp";
/// Network id of TCP over IPv6.
pub const NETID_TCP6: &str = "tcp6";
/// Network id of UDP over IPv4.
pub const NETID_UDP: &str = "udp";
/// Network id of UDP over IPv6.
pub const NETID_UDP6: &str = "udp6";
/// Network id of a local (Unix-domain stream) socket, as rpcbind and
/// libtirpc register it.
pub const NETID_LOCAL: &str = "local";
/// The other network id libtirpc uses for Unix-domain stream sockets.
pub const NETID_UNIX: &str = "unix";

/// Where a program version can be reached: a transport and its address.
/// Converts to and from the network id and universal address rpcbind
/// stores.
///
/// ```
/// use rpc_runtime::rpcbind::Endpoint;
/// let e = Endpoint::Tcp("127.0.0.1:2049".parse()?);
/// assert_eq!((e.netid(), e.uaddr().as_str()), ("tcp", "127.0.0.1.8.1"));
/// assert_eq!(Endpoint::from_netid_uaddr("tcp", "127.0.0.1.8.1")?, e);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// TCP at this address (network id `tcp` or `tcp6`).
    Tcp(SocketAddr),
    /// UDP at this address (network id `udp` or `udp6`).
    Udp(SocketAddr),
    /// A Unix-domain stream socket at this path (network id `local`).
    Unix(PathBuf),
}

/// Why a network id / universal address pair is not an [`Endpoint`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UaddrError {
    /// The network id is none this crate can connect with (only `tcp`,
    /// `tcp6`, `udp`, `udp6`, `local` and `unix` are).
    #[error("unsupported network id `{0}`")]
    UnsupportedNetid(String),
    /// The universal address is malformed for its network id.
    #[error("malformed universal address `{uaddr}` for network id `{netid}`")]
    Malformed {
        /// The network id.
        netid: String,
        /// The universal address.
        uaddr: String,
    },
}

impl Endpoint {
    /// The network id rpcbind registers this endpoint under: `tcp`,
    /// `tcp6`, `udp`, `udp6` or `local`.
    pub fn netid(&self) -> &'static str {
        match self {
            Endpoint::Tcp(a) if a.is_ipv4() => NETID_TCP,
            Endpoint::Tcp(_) => NETID_TCP6,
            Endpoint::Udp(a) if a.is_ipv4() => NETID_UDP,
            Endpoint::Udp(_) => NETID_UDP6,
            Endpoint::Unix(_) => NETID_LOCAL,
        }
    }

    /// The universal address: `h1.h2.h3.h4.p1.p2` for IPv4, the IPv6
    /// address text followed by `.p1.p2` for IPv6 (port = p1 * 256 + p2),
    /// the path for a Unix socket.
    pub fn uaddr(&self) -> String {
        match self {
            Endpoint::Tcp(a) | Endpoint::Udp(a) => format_inet_uaddr(*a),
            Endpoint::Unix(p) => p.to_string_lossy().into_owned(),
        }
    }

    /// The endpoint a network id and universal address describe.
    ///
    /// # Errors
    ///
    /// [`UaddrError::UnsupportedNetid`] for other network ids,
    /// [`UaddrError::Malformed`] when the address does not parse (its IP
    /// version does not match a `6` network id, or a `local` address is
    /// not an absolute path).
    pub fn from_netid_uaddr(netid: &str, uaddr: &str) -> Result<Endpoint, UaddrError> {
        let malformed = || UaddrError::Malformed {
            netid: netid.to_owned(),
            uaddr: uaddr.to_owned(),
        };
        let inet = |v6: bool| {
            parse_inet_uaddr(uaddr)
                .filter(|a| a.is_ipv6() == v6)
                .ok_or_else(malformed)
        };
        match netid {
            NETID_TCP => inet(false).map(Endpoint::Tcp),
            NETID_TCP6 => inet(true).map(Endpoint::Tcp),
            NETID_UDP => inet(false).map(Endpoint::Udp),
            NETID_UDP6 => inet(true).map(Endpoint::Udp),
            // rpcbind registers local sockets by absolute path.
            NETID_LOCAL | NETID_UNIX if uaddr.starts_with('/') => Ok(Endpoint::Unix(uaddr.into())),
            NETID_LOCAL | NETID_UNIX => Err(malformed()),
            other => Err(UaddrError::UnsupportedNetid(other.to_owned())),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
            Endpoint::Udp(a) => write!(f, "udp://{a}"),
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// Formats an IP socket address as a universal address:
/// `127.0.0.1:2049` becomes `127.0.0.1.8.1`, `[::1]:111` becomes
/// `::1.0.111`.
pub fn format_inet_uaddr(addr: SocketAddr) -> String {
    let port = addr.port();
    format!("{}.{}.{}", addr.ip(), port >> 8, port & 0xff)
}

/// Parses an IPv4 or IPv6 universal address (the inverse of
/// [`format_inet_uaddr`]). Returns `None` if it is malformed: the last two
/// dot-separated parts must be decimal numbers from 0 to 255, and the
/// rest an IP address.
pub fn parse_inet_uaddr(uaddr: &str) -> Option<SocketAddr> {
    let (rest, p2) = uaddr.rsplit_once('.')?;
    let (host, p1) = rest.rsplit_once('.')?;
    let p1 = port_byte(p1)?;
    let p2 = port_byte(p2)?;
    let ip = IpAddr::from_str(host).ok()?;
    Some(SocketAddr::new(ip, u16::from(p1) << 8 | u16::from(p2)))
}

fn port_byte(s: &str) -> Option<u8> {
    // `u8::from_str` accepts a leading `+`; a universal address has digits only.
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_round_trips() {
        for text in [
            "127.0.0.1:2049",
            "0.0.0.0:0",
            "10.1.2.3:65535",
            "[::1]:111",
            "[fe80::1:2]:256",
        ] {
            let a: SocketAddr = text.parse().unwrap();
            let u = format_inet_uaddr(a);
            assert_eq!(parse_inet_uaddr(&u), Some(a), "{u}");
        }
        assert_eq!(
            format_inet_uaddr("127.0.0.1:2049".parse().unwrap()),
            "127.0.0.1.8.1"
        );
        assert_eq!(format_inet_uaddr("[::]:111".parse().unwrap()), "::.0.111");
    }

    #[test]
    fn malformed_inet() {
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1.8",
            "127.0.0.1.256.1",
            "127.0.0.1.8.+1",
            "127.0.0.1.8.",
            "host.example.8.1",
            "1.2.3.4.5.6.7",
            "::1.0.1111",
        ] {
            assert_eq!(parse_inet_uaddr(bad), None, "{bad}");
        }
    }

    #[test]
    fn endpoints_and_netids() {
        let cases = [
            (
                Endpoint::Udp("127.0.0.1:111".parse().unwrap()),
                "udp",
                "127.0.0.1.0.111",
            ),
            (
                Endpoint::Tcp("[::1]:2049".parse().unwrap()),
                "tcp6",
                "::1.8.1",
            ),
            (
                Endpoint::Unix("/run/rpcbind.sock".into()),
                "local",
                "/run/rpcbind.sock",
            ),
        ];
        for (e, netid, uaddr) in cases {
            assert_eq!((e.netid(), e.uaddr().as_str()), (netid, uaddr));
            assert_eq!(Endpoint::from_netid_uaddr(netid, uaddr).unwrap(), e);
        }
        assert!(matches!(
            Endpoint::from_netid_uaddr("tcp6", "127.0.0.1.0.1"),
            Err(UaddrError::Malformed { .. })
        ));
        assert!(matches!(
            Endpoint::from_netid_uaddr("rdma", "x"),
            Err(UaddrError::UnsupportedNetid(_))
        ));
        assert!(Endpoint::from_netid_uaddr("local", "").is_err());
        assert!(Endpoint::from_netid_uaddr("local", "127.0.0.1.8.1").is_err());
    }
}
