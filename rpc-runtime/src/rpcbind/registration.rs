//! [`Registration`]: a server's program versions registered with rpcbind,
//! and their removal.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::client::Client;
use super::error::Error;
use super::uaddr::Endpoint;
use crate::Server;

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
    entries: Vec<(u32, u32, Endpoint)>,
    done: bool,
}

impl Registration {
    /// Registers every `(program, version)` of `programs` at every
    /// endpoint of `endpoints` through `client`.
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
        let mut reg = Registration {
            client,
            owner: owner_name(),
            entries: Vec::new(),
            done: false,
        };
        let mut netids = HashSet::new();
        let endpoints: Vec<&Endpoint> = endpoints
            .iter()
            .filter(|e| {
                let first = netids.insert(e.netid());
                if !first {
                    tracing::warn!(endpoint = %e, netid = e.netid(), "a second endpoint with the same network id is not registered with rpcbind");
                }
                first
            })
            .collect();
        for &(program, version) in programs {
            for endpoint in &endpoints {
                if let Err(e) = reg.add(program, version, endpoint).await {
                    if let Err(undo) = reg.remove_all().await {
                        tracing::warn!(error = %undo, "removing partial rpcbind registration failed");
                    }
                    reg.done = true;
                    return Err(e);
                }
            }
        }
        Ok(reg)
    }

    async fn add(&mut self, program: u32, version: u32, endpoint: &Endpoint) -> Result<(), Error> {
        let netid = endpoint.netid();
        // A stale entry of an earlier instance would make SET fail.
        self.client
            .unset(program, version, Some(netid), &self.owner)
            .await?;
        if !self
            .client
            .set(program, version, endpoint, &self.owner)
            .await?
        {
            return Err(Error::Refused {
                program,
                version,
                netid: netid.to_owned(),
            });
        }
        tracing::info!(program, version, %endpoint, "registered with rpcbind");
        self.entries.push((program, version, endpoint.clone()));
        Ok(())
    }

    /// The registered `(program, version, endpoint)` triples.
    pub fn entries(&self) -> &[(u32, u32, Endpoint)] {
        &self.entries
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
        let mut result = Ok(());
        for (program, version, endpoint) in std::mem::take(&mut self.entries) {
            match self
                .client
                .unset(program, version, Some(endpoint.netid()), &self.owner)
                .await
            {
                Ok(_) => tracing::info!(program, version, %endpoint, "unregistered from rpcbind"),
                Err(e) => result = Err(e),
            }
        }
        result
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

/// Registers every program version `server` serves at `endpoints` with
/// the local rpcbind: over its local socket
/// ([`RPCBIND_SOCKET_PATH`](super::RPCBIND_SOCKET_PATH)), or if that
/// fails over TCP to 127.0.0.1 port 111. See [`Registration::register`].
///
/// # Errors
///
/// As [`Registration::register`]; [`Error::Rpc`] if rpcbind cannot be
/// reached at all.
pub async fn register_server(
    server: &Server,
    endpoints: &[Endpoint],
) -> Result<Registration, Error> {
    let client = match Client::connect_local().await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "rpcbind local socket unavailable; trying TCP");
            Client::connect_tcp(Ipv4Addr::LOCALHOST.into()).await?
        }
    };
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
