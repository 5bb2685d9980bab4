//! The processes of the broker benchmark: the Rust `datastore-server`,
//! the C `rpcgen` datastore server (`tests/c/datastore_server.c`), the
//! `broker` and the C relay floor (`bench/c/relay.c`) in front of the Rust
//! server, the client limit (`bench/c/canned_server.c`), and the C clients
//! (`bench/c/ds_bench_client.c`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use interop_tests::c_peer::{free_tcp_port, spec_path, CProgram, CServer, Endpoint};
use interop_tests::workspace_bins::{build_workspace_bins, WorkspaceBins};

use crate::c_peers::c_source;
use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::process;

/// Builds (or finds up to date) `broker` and `datastore-server` with the
/// cargo, profile and target directory of `exe` (this benchmark, which
/// runs as `<target>/<profile>/bench`).
///
/// # Errors
///
/// [`BenchError::Io`] if `exe` has no directory, cargo cannot run or the
/// build fails (with cargo's output).
pub fn build_bins(exe: &Path) -> Result<WorkspaceBins> {
    let profile_dir = exe
        .parent()
        .ok_or_else(|| BenchError::Usage(format!("{} has no directory", exe.display())))?;
    build_workspace_bins(profile_dir)
        .map_err(|e| BenchError::io("building broker and datastore-server", e))
}

/// Builds `bench/c/ds_bench_client.c` on `rpcgen -M` stubs of
/// `datastore/specs/datastore.x`.
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn ds_bench_client() -> Result<PathBuf> {
    Ok(CProgram::new("ds_bench_client")
        .spec(spec_path("datastore.x"))
        .rpcgen_flags(["-M"])
        .cflag("-O2")
        .cflag("-g0")
        .client_stubs()
        .source(c_source("ds_bench_client.c"))
        .input(c_source("load_driver.h"))
        .build()?)
}

/// Builds the C datastore server of the interop tests
/// (`tests/c/datastore_server.c`: single-threaded `svc_run`).
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn c_datastore_server() -> Result<PathBuf> {
    Ok(CProgram::new("datastore_server")
        .spec(spec_path("datastore.x"))
        .rpcgen_flags(["-M"])
        .cflag("-O2")
        .cflag("-g0")
        .server_stubs()
        .source(interop_tests::c_peer::c_source("datastore_server.c"))
        .input(interop_tests::c_peer::c_source("peer_listen.h"))
        .build()?)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Starts `program args...` pinned as a server, ready once `addr` accepts.
fn start(
    placement: Placement,
    program: &Path,
    args: &[String],
    addr: SocketAddr,
) -> Result<CServer> {
    let mut cmd = placement.command(Role::Server, program);
    cmd.args(args).env("RUST_LOG", "warn");
    Ok(CServer::spawn(cmd, Endpoint::Tcp(addr))?)
}

/// Starts the C peer `program tcp PORT extra...` on a free loopback port.
fn start_c(placement: Placement, program: &Path, extra: &[String]) -> Result<CServer> {
    let addr = loopback(free_tcp_port()?);
    let mut args = vec!["tcp".to_owned(), addr.port().to_string()];
    args.extend_from_slice(extra);
    start(placement, program, &args, addr)
}

/// The targets, running (the polling one stopped).
#[derive(Debug)]
pub struct Targets {
    /// The broker, forwarding to `rust_server` (first: it stops first).
    pub broker: CServer,
    /// The C relay, relaying to `rust_server`.
    pub relay: CServer,
    /// The C rpcgen datastore server.
    pub c_server: CServer,
    /// The Rust `datastore-server`.
    pub rust_server: CServer,
    /// The C server answering from memory.
    pub canned: CServer,
    /// The same, polling; stopped except while measured
    /// ([`process::with_resumed`]).
    pub canned_polling: CServer,
    /// The broker's configuration directory (removed on drop).
    _dir: tempfile::TempDir,
}

impl Targets {
    /// Starts the C server, the Rust server, the relay `relay` (built by
    /// [`c_peers::relay`](crate::c_peers::relay)), the canned-reply server
    /// `canned` (built by
    /// [`c_peers::canned_server`](crate::c_peers::canned_server)), once
    /// waiting and once polling (stopped until measured), and the broker
    /// (with `connections` connections to the Rust server) on free loopback
    /// ports.
    ///
    /// # Errors
    ///
    /// [`BenchError::CPeer`] if one does not start, [`BenchError::Io`] for
    /// the broker's configuration file.
    pub fn start(
        bins: &WorkspaceBins,
        c_server: &Path,
        relay: &Path,
        canned: &Path,
        placement: Placement,
        connections: usize,
    ) -> Result<Targets> {
        let c_server = start_c(placement, c_server, &[])?;
        let rust_addr = loopback(free_tcp_port()?);
        let rust_server = start(
            placement,
            &bins.datastore_server,
            &["--listen".to_owned(), format!("tcp://{rust_addr}")],
            rust_addr,
        )?;
        let relay = start_c(placement, relay, &[rust_addr.port().to_string()])?;
        let canned_polling = start_c(placement, canned, &["poll".to_owned()])?;
        process::pause(&canned_polling)?;
        let canned = start_c(placement, canned, &[])?;
        let broker_addr = loopback(free_tcp_port()?);
        let dir = tempfile::Builder::new()
            .prefix("bench-broker-")
            .tempdir()
            .map_err(|e| BenchError::io("creating a directory", e))?;
        let config = dir.path().join("broker.toml");
        std::fs::write(&config, broker_config(broker_addr, rust_addr, connections))
            .map_err(|e| BenchError::io("writing the broker configuration", e))?;
        let broker = start(
            placement,
            &bins.broker,
            &["--config".to_owned(), config.display().to_string()],
            broker_addr,
        )?;
        Ok(Targets {
            c_server,
            rust_server,
            relay,
            broker,
            canned,
            canned_polling,
            _dir: dir,
        })
    }
}

/// The broker's configuration: TCP in, the datastore program to one
/// backend over `connections` connections, default limits.
pub fn broker_config(listen: SocketAddr, backend: SocketAddr, connections: usize) -> String {
    format!(
        "listen = [\"tcp://{listen}\"]\n\n[backends.store]\naddress = \"tcp://{backend}\"\n\
         connections = {connections}\n\n\
         [[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"store\"\n"
    )
}
