//! The processes under load: `datastore-server` backends on Unix sockets
//! and a `broker` in front of them, in one temporary directory, with the
//! broker's configuration written from the run's settings.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;

use crate::c_peer::{free_tcp_port, CPeerError, CServer, Endpoint};
use crate::workspace_bins::WorkspaceBins;

use super::config::LoadConfig;
use super::conn::Listeners;

/// The backends, each running or killed.
#[derive(Debug)]
pub(super) struct Backends {
    program: PathBuf,
    log: String,
    sockets: Vec<PathBuf>,
    running: Vec<Option<CServer>>,
}

impl Backends {
    /// Starts `count` `datastore-server`s on sockets in `dir`.
    fn start(
        bins: &WorkspaceBins,
        dir: &std::path::Path,
        count: usize,
        log: &str,
    ) -> Result<Self, CPeerError> {
        let mut b = Backends {
            program: bins.datastore_server.clone(),
            log: log.to_owned(),
            sockets: (0..count)
                .map(|i| dir.join(format!("ds{i}.sock")))
                .collect(),
            running: (0..count).map(|_| None).collect(),
        };
        for i in 0..count {
            b.restart(i)?;
        }
        Ok(b)
    }

    /// Number of backends.
    pub(super) fn len(&self) -> usize {
        self.sockets.len()
    }

    /// Kills backend `i` with SIGKILL (nothing if it is not running).
    pub(super) fn kill(&mut self, i: usize) -> bool {
        match self.running.get_mut(i).and_then(Option::take) {
            Some(server) => {
                // `Child::kill` sends SIGKILL.
                drop(server.stop());
                true
            }
            None => false,
        }
    }

    /// Starts backend `i` again on its socket, if it is not running, and
    /// waits until it accepts connections.
    ///
    /// # Errors
    ///
    /// [`CPeerError`] when the server cannot start.
    pub(super) fn restart(&mut self, i: usize) -> Result<bool, CPeerError> {
        let (Some(slot), Some(socket)) = (self.running.get_mut(i), self.sockets.get(i)) else {
            return Ok(false);
        };
        if slot.is_some() {
            return Ok(false);
        }
        let mut cmd = Command::new(&self.program);
        cmd.arg("--listen")
            .arg(format!("unix://{}", socket.display()))
            .env("RUST_LOG", &self.log);
        *slot = Some(CServer::spawn(cmd, Endpoint::Unix(socket.clone()))?);
        Ok(true)
    }

    /// Starts every backend that is not running.
    ///
    /// # Errors
    ///
    /// As [`Backends::restart`].
    pub(super) fn restart_all(&mut self) -> Result<u64, CPeerError> {
        let mut n = 0;
        for i in 0..self.len() {
            n += u64::from(self.restart(i)?);
        }
        Ok(n)
    }
}

/// The broker and its backends.
#[derive(Debug)]
pub(super) struct Cluster {
    /// The broker process.
    pub(super) broker: CServer,
    /// Its listeners.
    pub(super) listeners: Listeners,
    /// The backends (taken by the kill schedule while the load runs).
    pub(super) backends: Backends,
    /// The temporary directory of the sockets and the configuration.
    pub(super) dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the backends and the broker for `cfg` and waits until both
    /// accept connections.
    ///
    /// # Errors
    ///
    /// [`CPeerError`] when a directory, a port or a process cannot be had.
    pub(super) fn start(cfg: &LoadConfig, bins: &WorkspaceBins) -> Result<Cluster, CPeerError> {
        let dir = tempfile::Builder::new()
            .prefix("broker-load-")
            .tempdir()
            .map_err(|e| CPeerError::io("cannot create a temporary directory", e))?;
        let backends = Backends::start(bins, dir.path(), cfg.backends, &cfg.server_log)?;
        let tcp = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()?));
        let unix = dir.path().join("broker.sock");
        let config = dir.path().join("broker.toml");
        let text = broker_config(cfg, tcp, &unix, &backends.sockets);
        std::fs::write(&config, text)
            .map_err(|e| CPeerError::io("cannot write the broker's configuration", e))?;
        let mut cmd = Command::new(&bins.broker);
        cmd.arg("--config")
            .arg(&config)
            .env("RUST_LOG", &cfg.server_log);
        // Ready once the Unix socket accepts: every listener is bound by then.
        let broker = CServer::spawn(cmd, Endpoint::Unix(unix.clone()))?;
        Ok(Cluster {
            broker,
            listeners: Listeners { tcp, unix },
            backends,
            dir,
        })
    }
}

/// The broker's configuration: both listeners, `[limits]`, the backends
/// and one route for the datastore program (keyed over the pool, 2
/// replicas, when there are several backends).
fn broker_config(
    cfg: &LoadConfig,
    tcp: SocketAddr,
    unix: &std::path::Path,
    sockets: &[PathBuf],
) -> String {
    let mut s = format!(
        "listen = [\"tcp://{tcp}\", \"unix://{}\"]\n\n[limits]\nmax_connections = {}\n",
        unix.display(),
        cfg.max_connections
    );
    for line in &cfg.extra_limits {
        s.push_str(line);
        s.push('\n');
    }
    for (i, socket) in sockets.iter().enumerate() {
        s.push_str(&format!(
            "\n[backends.store{i}]\naddress = \"unix://{}\"\nconnections = {}\n",
            socket.display(),
            cfg.backend_connections
        ));
    }
    s.push_str("\n[[routes]]\nprogram = 0x2000DA7A\nversions = [1]\n");
    if sockets.len() == 1 {
        s.push_str("backend = \"store0\"\n");
        return s;
    }
    let pool: Vec<String> = (0..sockets.len())
        .map(|i| format!("\"store{i}\""))
        .collect();
    s.push_str(&format!(
        "pool = [{}]\nkey = \"first-argument\"\nreplicas = 2\nmiss_status = 2\nretries = 1\nattempt_timeout_ms = 2000\n",
        pool.join(", ")
    ));
    // DS_NULL, DS_PUT, DS_GET as in broker/broker.example.toml: PUTs go to
    // every live replica of the key, GETs fail over on DS_NOENT (2).
    for (procedure, name, class, idempotent, keyed) in [
        (0, "DS_NULL", "read", true, false),
        (1, "DS_PUT", "write", false, true),
        (2, "DS_GET", "read", true, true),
    ] {
        s.push_str(&format!(
            "\n[[routes.procedures]]\nprocedure = {procedure}\nname = \"{name}\"\nclass = \"{class}\"\nidempotent = {idempotent}\nkeyed = {keyed}\n"
        ));
    }
    s
}
