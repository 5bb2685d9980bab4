//! Instructions per call of every `bench rpc` scenario: our client and
//! server against libtirpc's (the pipelined NULL against the framing-only
//! C pair, its reference in `bench rpc`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};

use super::callgrind::Callgrind;
use super::{per_op, server_per_call, CountRow, SERVER_WINDOW, WARMUP};
use crate::c_peers;
use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::result_line::LoadResult;
use crate::rpc::{client_args, Scenario, Side};

/// Measured windows of the shorter and the longer counted client run.
const CLIENT_WINDOWS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3));

/// Payload of READ and WRITE, bytes (`bench rpc`'s default).
const PAYLOAD_BYTES: u32 = 1 << 20;

/// One implementation's server and client.
struct Peer {
    server: PathBuf,
    server_args: fn(u16) -> Vec<String>,
    client: PathBuf,
    /// The client's arguments for a scenario against an address, with a
    /// measured window.
    client_args: Box<dyn Fn(Scenario, SocketAddr, Duration) -> Vec<String>>,
}

fn payload_bytes(scenario: Scenario) -> u32 {
    if scenario.moves_data() {
        PAYLOAD_BYTES
    } else {
        0
    }
}

/// The arguments `bench rpc` gives `side`'s client.
fn bench_client_args(side: Side) -> Box<dyn Fn(Scenario, SocketAddr, Duration) -> Vec<String>> {
    Box::new(move |scenario, addr, window| {
        client_args(
            side,
            scenario,
            payload_bytes(scenario),
            addr,
            WARMUP,
            window,
        )
    })
}

impl Peer {
    fn rust(exe: &Path) -> Peer {
        Peer {
            server: exe.to_path_buf(),
            server_args: |port| vec!["serve".into(), "--port".into(), port.to_string()],
            client: exe.to_path_buf(),
            client_args: bench_client_args(Side::Rust),
        }
    }

    fn libtirpc() -> Result<Peer> {
        Ok(Peer {
            server: c_peers::bench_server()?,
            server_args: |port| vec!["tcp".into(), port.to_string()],
            client: c_peers::bench_client()?,
            client_args: bench_client_args(Side::C),
        })
    }

    /// `bench/c/framing_client.c` and `framing_server.c`, 64 records in
    /// flight whatever the scenario (it stands only beside NULL x64).
    fn framing() -> Result<Peer> {
        Ok(Peer {
            server: c_peers::framing_server()?,
            server_args: |port| vec!["tcp".into(), port.to_string()],
            client: c_peers::framing_client()?,
            client_args: Box::new(|_, addr, window| {
                vec![
                    "-d".into(),
                    "64".into(),
                    "-w".into(),
                    format!("{:.3}", WARMUP.as_secs_f64()),
                    "-t".into(),
                    format!("{:.3}", window.as_secs_f64()),
                    addr.ip().to_string(),
                    addr.port().to_string(),
                ]
            }),
        })
    }

    /// Starts the server, counted or not; the prefix of its callgrind
    /// output when counted.
    fn start_server(
        &self,
        placement: Placement,
        cg: Option<&mut Callgrind>,
    ) -> Result<(CServer, Option<PathBuf>)> {
        let port = free_tcp_port()?;
        let (mut cmd, prefix) = match cg {
            Some(cg) => {
                let (c, p) = cg.command(placement, Role::Server, &self.server);
                (c, Some(p))
            }
            None => (placement.command(Role::Server, &self.server), None),
        };
        cmd.args((self.server_args)(port));
        let server = CServer::spawn(
            cmd,
            Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        )?;
        Ok((server, prefix))
    }

    /// Instructions per call of the client (two counted runs against a
    /// native server).
    fn client_per_call(
        &self,
        scenario: Scenario,
        placement: Placement,
        cg: &mut Callgrind,
    ) -> Result<f64> {
        let (mut server, _) = self.start_server(placement, None)?;
        let addr = tcp_addr(&server)?;
        let mut counted = Vec::new();
        for window in [CLIENT_WINDOWS.0, CLIENT_WINDOWS.1] {
            let (mut cmd, prefix) = cg.command(placement, Role::Client, &self.client);
            cmd.args((self.client_args)(scenario, addr, window));
            let (stdout, instructions) = Callgrind::run(&mut cmd, &prefix)?;
            counted.push((instructions, LoadResult::from_output(&stdout)?.total_calls));
        }
        server.check_running()?;
        per_op(counted[0], counted[1])
    }

    /// Instructions per call of the server (dumps around a native client
    /// run).
    fn server_per_call(
        &self,
        scenario: Scenario,
        placement: Placement,
        cg: &mut Callgrind,
    ) -> Result<f64> {
        let (mut server, prefix) = self.start_server(placement, Some(cg))?;
        let prefix = prefix.ok_or_else(|| BenchError::Usage("server not counted".to_owned()))?;
        let addr = tcp_addr(&server)?;
        let mut client = placement.command(Role::Client, &self.client);
        client.args((self.client_args)(scenario, addr, SERVER_WINDOW));
        server_per_call(&mut server, &prefix, &mut client)
    }
}

fn tcp_addr(server: &CServer) -> Result<SocketAddr> {
    server
        .tcp_addr()
        .ok_or_else(|| BenchError::Usage("server is not on TCP".to_owned()))
}

/// A row's name for a scenario.
fn figure(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Null1 => "NULL, 1 in flight",
        Scenario::Null64 => "NULL, 64 in flight on 1 connection",
        Scenario::Null16Conn => "NULL, 16 connections",
        Scenario::Read => "READ 1 MiB",
        Scenario::Write => "WRITE 1 MiB",
    }
}

/// Counts the client and the server of every scenario, ours and the
/// reference's; `progress` gets a line per figure.
///
/// # Errors
///
/// [`BenchError::CPeer`] if a C peer cannot be built or started,
/// [`BenchError::Worker`] if a run fails.
pub(super) fn count(
    exe: &Path,
    placement: Placement,
    cg: &mut Callgrind,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<CountRow>> {
    let ours = Peer::rust(exe);
    let libtirpc = Peer::libtirpc()?;
    let framing = Peer::framing()?;
    let mut rows = Vec::new();
    for scenario in Scenario::ALL {
        let (theirs, reference) = match scenario {
            Scenario::Null64 => (&framing, "framing-only C, same depth"),
            Scenario::Null16Conn => (&libtirpc, "C rpcgen + libtirpc, 16 processes"),
            _ => (&libtirpc, "C rpcgen + libtirpc"),
        };
        for (side, client) in [("client", true), ("server", false)] {
            let mut count = |p: &Peer| {
                if client {
                    p.client_per_call(scenario, placement, cg)
                } else {
                    p.server_per_call(scenario, placement, cg)
                }
            };
            let o = count(&ours)?;
            let t = count(theirs)?;
            let figure = format!("{}: {side}, per call", figure(scenario));
            progress(&format!("counts: {figure}: {o:.0} vs {t:.0}"));
            rows.push(CountRow {
                figure,
                reference: reference.to_owned(),
                ours: o,
                theirs: t,
            });
        }
    }
    Ok(rows)
}
