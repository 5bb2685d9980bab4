//! Instruction counts (`bench counts`): the figures of the codec and RPC
//! benchmarks as instructions per operation under
//! `valgrind --tool=callgrind`, ours beside the C reference's. Timings on
//! a shared machine move by ±15% between identical runs; instruction
//! counts barely move, so they are the figures to compare code changes
//! with.
//!
//! * Codec: the worker runs one case's op a fixed number of times
//!   (`bench codec-run --case C --op O --iters N`, `codec_bench -c C -o O
//!   -n N`); two runs with different N, the difference in instructions
//!   over the difference in N is the cost of one op (set-up cancels out).
//! * RPC clients: two counted client runs of different lengths against a
//!   server running natively; the difference in instructions over the
//!   difference in calls made (warm-up included) is the cost of a call.
//! * RPC servers: the server runs under callgrind; its counts are dumped
//!   (`callgrind_control --dump`) before and after a client run, and the
//!   instructions between the dumps are divided by the calls the client
//!   made.
//!
//! Whole processes are counted (tokio and libtirpc included); the kernel
//! is not (system calls count as the instructions issuing them).

pub mod callgrind;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};

use crate::c_peers;
use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::process::run_worker;
use crate::result_line::{CodecOp, LoadResult};
use crate::table::{num, ratio, Table};
use callgrind::Callgrind;

/// The codec cases counted, with the two iteration counts of each.
const CODEC_CASES: [(&str, u64, u64); 2] = [("small", 2_000, 12_000), ("list-1000", 10, 60)];

/// Entries of the list case (`list-1000`).
const LIST_ENTRIES: &str = "1000";

/// Measured seconds of the shorter and the longer counted client run.
const CLIENT_SECS: (f64, f64) = (1.0, 3.0);

/// Warm-up seconds of every counted client run.
const WARMUP_SECS: f64 = 0.2;

/// Measured seconds of the native client run between a server's dumps.
const SERVER_WINDOW_SECS: f64 = 1.0;

/// One figure: instructions per operation, ours and the reference's.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRow {
    /// What is counted.
    pub figure: String,
    /// What the reference is.
    pub reference: String,
    /// Our instructions per operation.
    pub ours: f64,
    /// The reference's instructions per operation.
    pub theirs: f64,
}

/// One RPC implementation's programs: the server and the client, and how
/// to call them.
struct RpcPeer {
    server: PathBuf,
    server_args: fn(u16) -> Vec<String>,
    client: PathBuf,
    client_args: fn(SocketAddr, f64) -> Vec<String>,
}

fn secs(s: f64) -> String {
    format!("{s:.3}")
}

fn rust_client(addr: SocketAddr, s: f64, in_flight: usize) -> Vec<String> {
    [
        "load",
        "--kind",
        "null",
        "--addr",
        &addr.to_string(),
        "--in-flight",
        &in_flight.to_string(),
        "--warmup",
        &secs(WARMUP_SECS),
        "--secs",
        &secs(s),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn host_port(addr: SocketAddr) -> [String; 2] {
    [addr.ip().to_string(), addr.port().to_string()]
}

impl RpcPeer {
    fn rust(exe: &Path, in_flight_64: bool) -> RpcPeer {
        RpcPeer {
            server: exe.to_path_buf(),
            server_args: |port| vec!["serve".into(), "--port".into(), port.to_string()],
            client: exe.to_path_buf(),
            client_args: if in_flight_64 {
                |addr, s| rust_client(addr, s, 64)
            } else {
                |addr, s| rust_client(addr, s, 1)
            },
        }
    }

    fn libtirpc() -> Result<RpcPeer> {
        Ok(RpcPeer {
            server: c_peers::bench_server()?,
            server_args: |port| vec!["tcp".into(), port.to_string()],
            client: c_peers::bench_client()?,
            client_args: |addr, s| {
                let mut v: Vec<String> = ["-m", "null", "-p", "1", "-w", &secs(WARMUP_SECS)]
                    .map(str::to_owned)
                    .to_vec();
                v.extend(["-t".to_owned(), secs(s)]);
                v.extend(host_port(addr));
                v
            },
        })
    }

    fn framing() -> Result<RpcPeer> {
        Ok(RpcPeer {
            server: c_peers::framing_server()?,
            server_args: |port| vec!["tcp".into(), port.to_string()],
            client: c_peers::framing_client()?,
            client_args: |addr, s| {
                let mut v: Vec<String> = ["-d", "64", "-w", &secs(WARMUP_SECS), "-t", &secs(s)]
                    .map(str::to_owned)
                    .to_vec();
                v.extend(host_port(addr));
                v
            },
        })
    }

    /// Starts the server, counted or not.
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
    fn client_per_call(&self, placement: Placement, cg: &mut Callgrind) -> Result<f64> {
        let (mut server, _) = self.start_server(placement, None)?;
        let addr = tcp_addr(&server)?;
        let mut counted = Vec::new();
        for s in [CLIENT_SECS.0, CLIENT_SECS.1] {
            let (mut cmd, prefix) = cg.command(placement, Role::Client, &self.client);
            cmd.args((self.client_args)(addr, s));
            let (stdout, instructions) = Callgrind::run(&mut cmd, &prefix)?;
            counted.push((instructions, LoadResult::from_output(&stdout)?.total_calls));
        }
        server.check_running()?;
        per_op(counted[0], counted[1])
    }

    /// Instructions per call of the server (dumps around a native client
    /// run).
    fn server_per_call(&self, placement: Placement, cg: &mut Callgrind) -> Result<f64> {
        let (mut server, prefix) = self.start_server(placement, Some(cg))?;
        let prefix = prefix.ok_or_else(|| BenchError::Usage("server not counted".to_owned()))?;
        let addr = tcp_addr(&server)?;
        let pid = server.pid();
        // Start-up and the readiness probe are not counted.
        callgrind::dump(pid, &prefix)?;
        let mut cmd = placement.command(Role::Client, &self.client);
        cmd.args((self.client_args)(addr, SERVER_WINDOW_SECS));
        let stdout = run_worker(&mut cmd, Duration::from_secs(120))?;
        let calls = LoadResult::from_output(&stdout)?.total_calls;
        let instructions = callgrind::dump(pid, &prefix)?;
        server.check_running()?;
        if calls == 0 {
            return Err(BenchError::Mismatch("the client made no calls".to_owned()));
        }
        Ok(instructions as f64 / calls as f64)
    }
}

fn tcp_addr(server: &CServer) -> Result<SocketAddr> {
    server
        .tcp_addr()
        .ok_or_else(|| BenchError::Usage("server is not on TCP".to_owned()))
}

/// Instructions per operation from two counted runs, each (instructions,
/// operations): the difference over the difference.
fn per_op(a: (u64, u64), b: (u64, u64)) -> Result<f64> {
    let ops = b.1.abs_diff(a.1);
    if ops == 0 {
        return Err(BenchError::Mismatch(
            "two counted runs made the same number of operations".to_owned(),
        ));
    }
    Ok((b.0 as f64 - a.0 as f64) / (b.1 as f64 - a.1 as f64))
}

/// Instructions per op of one codec case's op, one side.
fn codec_per_op(
    cg: &mut Callgrind,
    placement: Placement,
    program: &Path,
    rust: bool,
    (case, n1, n2): (&str, u64, u64),
    op: CodecOp,
) -> Result<f64> {
    let mut counted = Vec::new();
    for n in [n1, n2] {
        let (mut cmd, prefix) = cg.command(placement, Role::Client, program);
        if rust {
            cmd.args(["codec-run", "--lists", LIST_ENTRIES, "--case", case])
                .args(["--op", &op.to_string(), "--iters", &n.to_string()]);
        } else {
            cmd.args(["-l", LIST_ENTRIES, "-c", case, "-o", &op.to_string()])
                .args(["-n", &n.to_string()]);
        }
        let (_, instructions) = Callgrind::run(&mut cmd, &prefix)?;
        counted.push((instructions, n));
    }
    per_op(counted[0], counted[1])
}

/// Counts every figure; `exe` is the `bench` binary, `progress` gets a
/// line per figure.
///
/// # Errors
///
/// [`BenchError::Usage`] without valgrind, [`BenchError::CPeer`] if a C
/// peer cannot be built or started, [`BenchError::Worker`] if a run
/// fails.
pub fn run(
    exe: &Path,
    placement: Placement,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<CountRow>> {
    let mut cg = Callgrind::new()?;
    let mut rows = Vec::new();
    let c_codec = c_peers::codec_bench()?;
    for case in CODEC_CASES {
        for op in [CodecOp::Encode, CodecOp::Decode] {
            let ours = codec_per_op(&mut cg, placement, exe, true, case, op)?;
            let theirs = codec_per_op(&mut cg, placement, &c_codec, false, case, op)?;
            let figure = format!("XDR {} {op}, per op", case.0);
            progress(&format!("counts: {figure}: {ours:.0} vs {theirs:.0}"));
            rows.push(CountRow {
                figure,
                reference: "C rpcgen + libtirpc xdrmem".to_owned(),
                ours,
                theirs,
            });
        }
    }
    let pipelined = RpcPeer::rust(exe, true);
    let framing = RpcPeer::framing()?;
    let one = RpcPeer::rust(exe, false);
    let libtirpc = RpcPeer::libtirpc()?;
    let rpc: [(&str, &RpcPeer, &RpcPeer, &str); 2] = [
        (
            "NULL, 64 in flight on 1 connection",
            &pipelined,
            &framing,
            "framing-only C, same depth",
        ),
        ("NULL, 1 in flight", &one, &libtirpc, "C rpcgen + libtirpc"),
    ];
    for (name, ours, theirs, reference) in rpc {
        for (side, client) in [("client", true), ("server", false)] {
            let count = |p: &RpcPeer, cg: &mut Callgrind| {
                if client {
                    p.client_per_call(placement, cg)
                } else {
                    p.server_per_call(placement, cg)
                }
            };
            let o = count(ours, &mut cg)?;
            let t = count(theirs, &mut cg)?;
            let figure = format!("{name}: {side}, per call");
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

/// The counts as a Markdown table.
pub fn render(rows: &[CountRow]) -> String {
    let mut t = Table::new([
        "figure",
        "ours (instructions)",
        "reference (instructions)",
        "reference",
        "ours/reference",
    ]);
    for r in rows {
        t.row([
            r.figure.clone(),
            num(Some(r.ours), 0),
            num(Some(r.theirs), 0),
            r.reference.clone(),
            ratio((r.theirs > 0.0).then(|| r.ours / r.theirs)),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_op_is_the_difference_over_the_difference() {
        // 1,000 of set-up, 50 per op.
        let a = (1_000 + 50 * 10, 10);
        let b = (1_000 + 50 * 30, 30);
        assert_eq!(per_op(a, b).ok(), Some(50.0));
        assert!(per_op(a, a).is_err());
    }

    #[test]
    fn counts_a_real_process() {
        let mut cg = Callgrind::new().expect("valgrind is installed");
        let (mut cmd, prefix) = cg.command(Placement::None, Role::Client, "true");
        let (_, instructions) = Callgrind::run(&mut cmd, &prefix).expect("true runs");
        // The dynamic loader alone runs tens of thousands.
        assert!(instructions > 10_000, "{instructions}");
    }
}
