//! [`Registration`]: a server's program versions registered with rpcbind,
//! kept up to date and removed.
//!
//! Each program version is registered at each endpoint as libtirpc's
//! `svc_reg` does: rpcbind SET (version 4, else 3) with the endpoint's
//! network id and universal address. For TCP and UDP over IPv4 the
//! portmapper (version 2) table must hold the port too, because classic
//! clients (glibc's `clnt_create`, `rpcinfo -p`) ask PMAPPROC_GETPORT:
//! Linux rpcbind fills it from the SET itself (`map_set` adds the
//! portmapper entry for the `tcp` and `udp` network ids), so the port is
//! checked with GETPORT and set with PMAPPROC_SET only when the binder
//! did not. A binder with only the portmapper (version 2) gets
//! PMAPPROC_SET alone, and no Unix-socket entries.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::client::Client;
use super::error::Error;
use super::uaddr::Endpoint;
use super::Protocol;
use crate::{RpcError, Server};

/// One registered program version at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    program: u32,
    version: u32,
    endpoint: Endpoint,
    /// Registered in rpcbind's version 3/4 table (false on a binder that
    /// has only the portmapper).
    rpcb: bool,
    /// Registered by us with PMAPPROC_SET.
    pmap: bool,
}

/// Program versions registered with rpcbind at some endpoints. Call
/// [`Registration::unregister`] when the server stops (on shutdown);
/// dropping it without that leaves the entries in rpcbind (logged).
///
/// ```no_run
/// # async fn demo(server: rpc_runtime::Server) -> Result<(), rpc_runtime::rpcbind::Error> {
/// use rpc_runtime::rpcbind::{register_server, Endpoint};
/// let tcp = tokio::net::TcpListener::bind("0.0.0.0:0").await.map_err(rpc_runtime::RpcError::from)?;
/// let reg = register_server(&server, &[Endpoint::Tcp(tcp.local_addr().map_err(rpc_runtime::RpcError::from)?)]).await?;
/// // serve until shutdown, then:
/// reg.unregister().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Registration {
    client: Client,
    owner: String,
    /// The endpoints registered, one per network id.
    endpoints: Vec<Endpoint>,
    entries: Vec<Entry>,
    done: bool,
}

impl Registration {
    /// Registers every `(program, version)` of `programs` at every
    /// endpoint of `endpoints` through `client`: rpcbind SET (version 4,
    /// else 3), and PMAPPROC_SET for TCP and UDP over IPv4 where the
    /// binder did not fill its portmapper table from the SET.
    ///
    /// rpcbind holds one address per program, version and network id: a
    /// second endpoint with the same network id (two TCP listeners) is
    /// skipped with a warning. A registration left by an earlier instance
    /// (same program, version and network id) is removed first, as
    /// rpcgen's servers do.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if a call fails, [`Error::Refused`] if rpcbind
    /// refuses one; what was registered before the failure is removed
    /// again.
    pub async fn register(
        client: Client,
        programs: &[(u32, u32)],
        endpoints: &[Endpoint],
    ) -> Result<Registration, Error> {
        let mut netids = HashSet::new();
        let endpoints = endpoints
            .iter()
            .filter(|e| {
                let first = netids.insert(e.netid());
                if !first {
                    tracing::warn!(endpoint = %e, netid = e.netid(), "a second endpoint with the same network id is not registered with rpcbind");
                }
                first
            })
            .cloned()
            .collect();
        let mut reg = Registration {
            client,
            owner: owner_name(),
            endpoints,
            entries: Vec::new(),
            done: false,
        };
        if let Err(e) = reg.update(programs).await {
            if let Err(undo) = reg.remove_all().await {
                tracing::warn!(error = %undo, "removing partial rpcbind registration failed");
            }
            reg.done = true;
            return Err(e);
        }
        Ok(reg)
    }

    /// Makes the registered program versions exactly `programs` (at the
    /// endpoints given to [`Registration::register`]): removes the
    /// entries of program versions no longer listed and registers the
    /// new ones. For a server whose set of programs changes while it
    /// runs (a reloaded configuration).
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if a call fails, [`Error::Refused`] if rpcbind
    /// refuses a registration. Entries registered before the failure
    /// stay registered (and are listed by [`Registration::entries`]).
    pub async fn update(&mut self, programs: &[(u32, u32)]) -> Result<(), Error> {
        let (gone, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| !programs.contains(&(e.program, e.version)));
        self.entries = kept;
        let removed = self.remove(gone).await;
        for &(program, version) in programs {
            for endpoint in self.endpoints.clone() {
                let registered = self
                    .entries
                    .iter()
                    .any(|e| (e.program, e.version, &e.endpoint) == (program, version, &endpoint));
                if !registered {
                    self.add(program, version, endpoint).await?;
                }
            }
        }
        removed
    }

    async fn add(&mut self, program: u32, version: u32, endpoint: Endpoint) -> Result<(), Error> {
        let netid = endpoint.netid();
        let refused = || Error::Refused {
            program,
            version,
            netid: netid.to_owned(),
        };
        // A stale entry of an earlier instance would make SET fail.
        let rpcb = match self
            .client
            .unset(program, version, Some(netid), &self.owner)
            .await
        {
            Ok(_) => {
                if !self
                    .client
                    .set(program, version, &endpoint, &self.owner)
                    .await?
                {
                    return Err(refused());
                }
                true
            }
            // A binder with only the portmapper (version 2).
            Err(Error::Rpc(RpcError::ProgMismatch { .. })) => false,
            Err(e) => return Err(e),
        };
        let pmap = match pmap_mapping(&endpoint) {
            Some((protocol, port)) => {
                let present = self.client.getport(program, version, protocol).await? == Some(port);
                if present {
                    false
                } else if self
                    .client
                    .pmap_set(program, version, protocol, port)
                    .await?
                {
                    true
                } else if rpcb {
                    tracing::warn!(program, version, %endpoint, "the portmapper (version 2) refused the port; only rpcbind version 3/4 clients will find it");
                    false
                } else {
                    return Err(refused());
                }
            }
            None if !rpcb => {
                tracing::warn!(program, version, %endpoint, "the binder has only the portmapper (version 2), which cannot register this endpoint");
                return Ok(());
            }
            None => false,
        };
        tracing::info!(program, version, %endpoint, "registered with rpcbind");
        self.entries.push(Entry {
            program,
            version,
            endpoint,
            rpcb,
            pmap,
        });
        Ok(())
    }

    /// The registered `(program, version, endpoint)` triples.
    pub fn entries(&self) -> Vec<(u32, u32, Endpoint)> {
        self.entries
            .iter()
            .map(|e| (e.program, e.version, e.endpoint.clone()))
            .collect()
    }

    /// Removes every registration made.
    ///
    /// # Errors
    ///
    /// [`Error::Rpc`] if an UNSET call fails (the others are still
    /// attempted).
    pub async fn unregister(mut self) -> Result<(), Error> {
        self.done = true;
        self.remove_all().await
    }

    async fn remove_all(&mut self) -> Result<(), Error> {
        let entries = std::mem::take(&mut self.entries);
        self.remove(entries).await
    }

    /// Removes `entries` from rpcbind, except those another server has
    /// registered over since (rpcbind holds one address per program,
    /// version and network id, and UNSET does not name the address).
    async fn remove(&self, entries: Vec<Entry>) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        // What rpcbind holds now, to leave alone what is no longer ours.
        let held = self.client.dump().await.ok();
        let mut result = Ok(());
        for e in entries {
            let (netid, uaddr) = (e.endpoint.netid(), e.endpoint.uaddr());
            let taken_over = held.as_ref().is_some_and(|held| {
                held.iter().any(|r| {
                    (r.r_prog, r.r_vers) == (e.program, e.version)
                        && r.r_netid.to_string_lossy() == netid
                        && r.r_addr.to_string_lossy() != uaddr
                })
            });
            if e.rpcb && taken_over {
                tracing::warn!(program = e.program, version = e.version, endpoint = %e.endpoint, "another server registered over this entry; left in rpcbind");
                continue;
            }
            let outcome = if e.rpcb {
                self.client
                    .unset(e.program, e.version, Some(netid), &self.owner)
                    .await
            } else {
                Ok(true)
            };
            // PMAPPROC_UNSET removes both protocols of the program
            // version; a second one finds nothing, which is no error.
            let outcome = match outcome {
                Ok(_) if e.pmap => self.client.pmap_unset(e.program, e.version).await,
                other => other,
            };
            match outcome {
                Ok(_) => {
                    tracing::info!(program = e.program, version = e.version, endpoint = %e.endpoint, "unregistered from rpcbind");
                }
                Err(err) => result = Err(err),
            }
        }
        result
    }
}

/// The portmapper's protocol and port of an IPv4 TCP or UDP endpoint
/// (version 2 knows nothing else).
fn pmap_mapping(endpoint: &Endpoint) -> Option<(Protocol, u16)> {
    match endpoint {
        Endpoint::Tcp(a) if a.is_ipv4() => Some((Protocol::Tcp, a.port())),
        Endpoint::Udp(a) if a.is_ipv4() => Some((Protocol::Udp, a.port())),
        _ => None,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.done && !self.entries.is_empty() {
            tracing::warn!(
                entries = self.entries.len(),
                "rpcbind registration dropped without unregister(); the entries stay in rpcbind"
            );
        }
    }
}

/// Connects to the local rpcbind: over its local socket
/// ([`RPCBIND_SOCKET_PATH`](super::RPCBIND_SOCKET_PATH)), where rpcbind
/// knows the caller's user id, or if that fails over TCP to 127.0.0.1
/// port 111.
///
/// # Errors
///
/// [`Error::Rpc`] if neither can be reached (rpcbind is not running).
pub async fn connect_local_rpcbind() -> Result<Client, Error> {
    match Client::connect_local().await {
        Ok(c) => Ok(c),
        Err(e) => {
            tracing::debug!(error = %e, "rpcbind local socket unavailable; trying TCP");
            Client::connect_tcp(Ipv4Addr::LOCALHOST.into()).await
        }
    }
}

/// Registers every program version `server` serves at `endpoints` with
/// the local rpcbind ([`connect_local_rpcbind`]). See
/// [`Registration::register`].
///
/// # Errors
///
/// As [`Registration::register`]; [`Error::Rpc`] if rpcbind cannot be
/// reached at all.
pub async fn register_server(
    server: &Server,
    endpoints: &[Endpoint],
) -> Result<Registration, Error> {
    let client = connect_local_rpcbind().await?;
    Registration::register(client, &server.programs(), endpoints).await
}

/// The owner name rpcbind gives a local caller: `superuser` for uid 0,
/// else the decimal uid (`unknown` if it cannot be found).
fn owner_name() -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(m) if m.uid() == 0 => "superuser".to_owned(),
        Ok(m) => m.uid().to_string(),
        Err(_) => "unknown".to_owned(),
    }
}
