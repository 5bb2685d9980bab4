//! [`Client`]: talks to rpcbind / the portmapper (RFC 1833).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::error::Error;
use super::proto::portmap::{self, Mapping, PmapProgV2Client};
use super::proto::rpcb::{self, Rpcb, RpcbprogV3Client, RpcbprogV4Client};
use super::uaddr::{Endpoint, NETID_LOCAL, NETID_UNIX};
use super::{Protocol, RPCBIND_PORT, RPCBIND_SOCKET_PATH};
use crate::RpcError;

/// A client of rpcbind (versions 3 and 4) and the portmapper (version 2),
/// program 100000, over one connection.
///
/// Version 4 procedures fall back to version 3 when the server only has
/// that (PROG_MISMATCH). Registering ([`Client::set`], [`Client::unset`])
/// usually needs the local socket ([`Client::connect_local`]) or a
/// loopback connection: rpcbind refuses it from other hosts.
///
/// ```no_run
/// # async fn demo() -> Result<(), rpc_runtime::rpcbind::Error> {
/// use rpc_runtime::rpcbind::{Client, Protocol};
/// let rpcbind = Client::connect_tcp("127.0.0.1".parse().unwrap()).await?;
/// // Where is NFS version 3 over TCP?
/// let port = rpcbind.getport(100003, 3, Protocol::Tcp).await?;
/// let addr = rpcbind.lookup(100003, 3, "tcp").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    rpc: crate::Client,
}

impl Client {
    /// Connects to rpcbind over TCP on `host`, port 111.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] ([`RpcError::Transport`]) if connecting fails.
    pub async fn connect_tcp(host: IpAddr) -> Result<Client, Error> {
        let rpc = crate::Client::connect_tcp(SocketAddr::new(host, RPCBIND_PORT)).await?;
        Ok(Client { rpc })
    }

    /// Connects to rpcbind's local socket, [`RPCBIND_SOCKET_PATH`]. Over
    /// it rpcbind knows the caller's user id and records the registration
    /// owner from it.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] ([`RpcError::Transport`]) if connecting fails (for
    /// example, rpcbind is not running).
    pub async fn connect_local() -> Result<Client, Error> {
        Self::connect_unix(RPCBIND_SOCKET_PATH).await
    }

    /// Connects to an rpcbind local socket at `path`.
    ///
    /// # Errors
    ///
    /// As [`Client::connect_local`].
    pub async fn connect_unix(path: impl AsRef<Path>) -> Result<Client, Error> {
        Ok(Client {
            rpc: crate::Client::connect_unix(path).await?,
        })
    }

    /// Uses an existing connection to rpcbind (any transport, any
    /// settings: timeout, credentials, UDP).
    pub fn from_client(rpc: crate::Client) -> Client {
        Client { rpc }
    }

    /// The underlying connection.
    pub fn inner(&self) -> &crate::Client {
        &self.rpc
    }

    fn v4(&self) -> RpcbprogV4Client {
        RpcbprogV4Client::new(self.rpc.clone())
    }

    fn v3(&self) -> RpcbprogV3Client {
        RpcbprogV3Client::new(self.rpc.clone())
    }

    fn v2(&self) -> PmapProgV2Client {
        PmapProgV2Client::new(self.rpc.clone())
    }

    /// Portmapper GETPORT (version 2): the port of `program` `version`
    /// over `protocol`, or `None` if it is not registered.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn getport(
        &self,
        program: u32,
        version: u32,
        protocol: Protocol,
    ) -> Result<Option<u16>, Error> {
        let port = self
            .v2()
            .pmapproc_getport(&Mapping {
                prog: program,
                vers: version,
                prot: protocol.number(),
                port: 0,
            })
            .await?;
        // A port that does not fit 16 bits is as good as none.
        Ok(u16::try_from(port).ok().filter(|p| *p != 0))
    }

    /// rpcbind GETADDR (version 4, else 3): the universal address of
    /// `program` `version`, or `None` if it is not registered.
    ///
    /// rpcbind answers for the network id of the transport the query
    /// arrives on (RFC 1833 section 2.2.1), not for `netid`: ask over
    /// TCP for the `tcp` address, over UDP for `udp`, over the local
    /// socket for `local`. `netid` is sent along for servers that use it.
    /// A wildcard host (`0.0.0.0`) comes back as the address the query
    /// arrived on. To find any transport's address over one connection,
    /// use [`Client::lookup`].
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn getaddr(
        &self,
        program: u32,
        version: u32,
        netid: &str,
    ) -> Result<Option<String>, Error> {
        let query = query(program, version, netid);
        let uaddr = match self.v4().rpcbproc_getaddr(&query).await {
            Err(RpcError::ProgMismatch { .. }) => self.v3().rpcbproc_getaddr(&query).await?,
            other => other?,
        };
        Ok(Some(uaddr.to_string_lossy().into_owned()).filter(|u| !u.is_empty()))
    }

    /// rpcbind GETADDRLIST (version 4): every address of `program`
    /// `version`, as `(netid, universal address)` pairs. rpcbind lists
    /// the addresses of the query transport's protocol family: over TCP
    /// or UDP the `tcp`/`udp` (and `tcp6`/`udp6`) ones, over the local
    /// socket the `local` ones.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails (a version-3-only rpcbind
    /// answers [`RpcError::ProgMismatch`]).
    pub async fn getaddrlist(
        &self,
        program: u32,
        version: u32,
    ) -> Result<Vec<(String, String)>, Error> {
        let list = self
            .v4()
            .rpcbproc_getaddrlist(&query(program, version, ""))
            .await?;
        Ok(list
            .into_inner()
            .into_iter()
            .map(|e| {
                let e = e.rpcb_entry_map;
                (
                    e.r_nc_netid.to_string_lossy().into_owned(),
                    e.r_maddr.to_string_lossy().into_owned(),
                )
            })
            .collect())
    }

    /// Where `program` `version` can be reached on network id `netid`
    /// (`"tcp"`, `"udp"`, `"tcp6"`, `"udp6"`, `"local"`), or `None` if it
    /// is not registered there. For IP network ids it uses GETADDRLIST,
    /// so one TCP or UDP connection to rpcbind finds every IP transport
    /// (see [`Client::getaddrlist`]); against a version-3-only rpcbind it
    /// falls back to GETADDR. For `local` (and `unix`) it uses GETADDR,
    /// which answers only over the local socket
    /// ([`Client::connect_local`]): rpcbind lists no local addresses in
    /// GETADDRLIST, and over TCP or UDP GETADDR returns an IP address
    /// (then this fails with [`Error::Address`]).
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails, [`Error::Address`] if the
    /// address rpcbind returned does not parse for `netid`.
    pub async fn lookup(
        &self,
        program: u32,
        version: u32,
        netid: &str,
    ) -> Result<Option<Endpoint>, Error> {
        if netid == NETID_LOCAL || netid == NETID_UNIX {
            return match self.getaddr(program, version, netid).await? {
                None => Ok(None),
                Some(uaddr) => Ok(Some(Endpoint::from_netid_uaddr(netid, &uaddr)?)),
            };
        }
        let uaddr = match self.getaddrlist(program, version).await {
            Ok(list) => list.into_iter().find(|(n, _)| n == netid).map(|(_, u)| u),
            Err(Error::Rpc(RpcError::ProgMismatch { .. })) => {
                self.getaddr(program, version, netid).await?
            }
            Err(e) => return Err(e),
        };
        match uaddr {
            None => Ok(None),
            Some(uaddr) => Ok(Some(Endpoint::from_netid_uaddr(netid, &uaddr)?)),
        }
    }

    /// rpcbind SET (version 4, else 3): registers `program` `version` at
    /// `endpoint` for `owner` (over the local socket rpcbind takes the
    /// owner from the caller's user id instead). Returns `false` when
    /// rpcbind refuses: the program version is already registered on that
    /// network id, or the caller may not register.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn set(
        &self,
        program: u32,
        version: u32,
        endpoint: &Endpoint,
        owner: &str,
    ) -> Result<bool, Error> {
        let reg = Rpcb {
            r_prog: program,
            r_vers: version,
            r_netid: endpoint.netid().into(),
            r_addr: endpoint.uaddr().into(),
            r_owner: owner.into(),
        };
        Ok(match self.v4().rpcbproc_set(&reg).await {
            Err(RpcError::ProgMismatch { .. }) => self.v3().rpcbproc_set(&reg).await?,
            other => other?,
        })
    }

    /// rpcbind UNSET (version 4, else 3): removes the registration of
    /// `program` `version` on network id `netid`, or on every network id
    /// if `netid` is `None`. Returns `false` if there was nothing the
    /// caller may remove.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn unset(
        &self,
        program: u32,
        version: u32,
        netid: Option<&str>,
        owner: &str,
    ) -> Result<bool, Error> {
        let reg = Rpcb {
            r_prog: program,
            r_vers: version,
            r_netid: netid.unwrap_or("").into(),
            r_addr: "".into(),
            r_owner: owner.into(),
        };
        Ok(match self.v4().rpcbproc_unset(&reg).await {
            Err(RpcError::ProgMismatch { .. }) => self.v3().rpcbproc_unset(&reg).await?,
            other => other?,
        })
    }

    /// rpcbind DUMP (version 4, else 3): every registration.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn dump(&self) -> Result<Vec<Rpcb>, Error> {
        let list = match self.v4().rpcbproc_dump().await {
            Err(RpcError::ProgMismatch { .. }) => self.v3().rpcbproc_dump().await?,
            other => other?,
        };
        Ok(list.into_inner().into_iter().map(|e| e.rpcb_map).collect())
    }

    /// Portmapper DUMP (version 2): every TCP and UDP registration.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn pmap_dump(&self) -> Result<Vec<Mapping>, Error> {
        let list = self.v2().pmapproc_dump().await?;
        Ok(list.into_inner().into_iter().map(|e| e.map).collect())
    }

    /// Portmapper SET (version 2): registers `program` `version` on
    /// `protocol` at `port` of this host. Returns `false` if rpcbind
    /// refuses.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn pmap_set(
        &self,
        program: u32,
        version: u32,
        protocol: Protocol,
        port: u16,
    ) -> Result<bool, Error> {
        Ok(self
            .v2()
            .pmapproc_set(&Mapping {
                prog: program,
                vers: version,
                prot: protocol.number(),
                port: u32::from(port),
            })
            .await?)
    }

    /// Portmapper UNSET (version 2): removes the TCP and UDP registrations
    /// of `program` `version`. Returns `false` if there were none the
    /// caller may remove.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn pmap_unset(&self, program: u32, version: u32) -> Result<bool, Error> {
        Ok(self
            .v2()
            .pmapproc_unset(&Mapping {
                prog: program,
                vers: version,
                prot: 0,
                port: 0,
            })
            .await?)
    }

    /// rpcbind GETTIME: the server's clock, in seconds since 1970-01-01
    /// UTC (a cheap liveness check).
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if the call fails.
    pub async fn gettime_secs(&self) -> Result<u32, Error> {
        Ok(self.v3().rpcbproc_gettime().await?)
    }
}

/// An `rpcb` naming a program version on a network id (no address, no
/// owner), as lookups send it.
fn query(program: u32, version: u32, netid: &str) -> Rpcb {
    Rpcb {
        r_prog: program,
        r_vers: version,
        r_netid: netid.into(),
        r_addr: "".into(),
        r_owner: "".into(),
    }
}

// The protocol numbers the code relies on.
const _: () = {
    assert!(portmap::IPPROTO_TCP == 6 && portmap::IPPROTO_UDP == 17);
    assert!(rpcb::RPCBPROG == portmap::PMAP_PROG);
};
