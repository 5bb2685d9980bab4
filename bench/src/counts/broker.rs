//! Instructions per forwarded call of the broker (NULL from 64
//! synchronous C clients, to a native `datastore-server`) beside the C
//! rpcgen datastore server's per answered call from the same clients: the
//! user-space part of `bench broker`'s "CPU per forwarded call" target.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};

use super::callgrind::Callgrind;
use super::{server_per_call, CountRow, SERVER_WINDOW, WARMUP};
use crate::broker::peers::{broker_config, build_bins, c_datastore_server, ds_bench_client};
use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};

/// Client processes, one call in flight each.
const CLIENTS: usize = 64;

fn loopback_port() -> Result<SocketAddr> {
    Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()?)))
}

/// Instructions per call of a server started by `cmd` under callgrind
/// (`prefix`) on `addr`, with the NULL clients running natively.
fn per_call(
    mut cmd: std::process::Command,
    prefix: &Path,
    addr: SocketAddr,
    placement: Placement,
    client: &Path,
) -> Result<f64> {
    cmd.env("RUST_LOG", "warn");
    let mut server = CServer::spawn(cmd, Endpoint::Tcp(addr))?;
    let mut clients = placement.command(Role::Client, client);
    clients
        .args(["-m", "null", "-n", "0", "-p", &CLIENTS.to_string()])
        .args(["-w", &format!("{:.3}", WARMUP.as_secs_f64())])
        .args(["-t", &format!("{:.3}", SERVER_WINDOW.as_secs_f64())])
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string());
    server_per_call(&mut server, prefix, &mut clients)
}

/// Counts the broker per forwarded call and the C server per answered
/// call; `progress` gets a line.
///
/// # Errors
///
/// [`BenchError::Io`] if the broker cannot be built or configured,
/// [`BenchError::CPeer`] if a process does not start,
/// [`BenchError::Worker`] if a run fails.
pub(super) fn count(
    exe: &Path,
    placement: Placement,
    cg: &mut Callgrind,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<CountRow>> {
    let bins = build_bins(exe)?;
    let client = ds_bench_client()?;

    let backend_addr = loopback_port()?;
    let mut backend = placement.command(Role::Server, &bins.datastore_server);
    backend
        .args(["--listen", &format!("tcp://{backend_addr}")])
        .env("RUST_LOG", "warn");
    let mut backend = CServer::spawn(backend, Endpoint::Tcp(backend_addr))?;
    let dir = tempfile::Builder::new()
        .prefix("bench-counts-broker-")
        .tempdir()
        .map_err(|e| BenchError::io("creating a directory", e))?;
    let broker_addr = loopback_port()?;
    let config = dir.path().join("broker.toml");
    std::fs::write(&config, broker_config(broker_addr, backend_addr, 1))
        .map_err(|e| BenchError::io("writing the broker configuration", e))?;
    let (mut cmd, prefix) = cg.command(placement, Role::Server, &bins.broker);
    cmd.arg("--config").arg(&config);
    let ours = per_call(cmd, &prefix, broker_addr, placement, &client)?;
    backend.check_running()?;

    let c_addr = loopback_port()?;
    let (mut cmd, prefix) = cg.command(placement, Role::Server, c_datastore_server()?);
    cmd.args(["tcp", &c_addr.port().to_string()]);
    let theirs = per_call(cmd, &prefix, c_addr, placement, &client)?;

    let figure = format!("broker, NULL from {CLIENTS} C clients: per forwarded call");
    progress(&format!("counts: {figure}: {ours:.0} vs {theirs:.0}"));
    Ok(vec![CountRow {
        figure,
        reference: "C rpcgen server, per answered call".to_owned(),
        ours,
        theirs,
    }])
}
