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
//!   made. Every scenario of `bench rpc` is counted, against libtirpc
//!   (and the pipelined NULL against the framing-only C pair).
//! * The broker: counted like a server, forwarding NULL calls of 64
//!   synchronous C clients to a native `datastore-server`, beside the C
//!   rpcgen datastore server answering the same clients.
//!
//! Whole processes are counted (tokio and libtirpc included); the kernel
//! is not (system calls count as the instructions issuing them).

mod broker;
pub mod callgrind;
mod rpc;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use interop_tests::c_peer::CServer;

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

/// Measured seconds of the native client run between a server's dumps.
const SERVER_WINDOW: Duration = Duration::from_secs(1);

/// Warm-up of every client run.
const WARMUP: Duration = Duration::from_millis(200);

/// Instructions per call of `server` (running under callgrind, its output
/// files named from `prefix`) while `client` (native, printing a
/// `result ...` line) runs against it: the instructions between a dump
/// before and a dump after the client's run, over the calls it made.
fn server_per_call(server: &mut CServer, prefix: &Path, client: &mut Command) -> Result<f64> {
    let pid = server.pid();
    // Start-up and the readiness probe are not counted.
    callgrind::dump(pid, prefix)?;
    let stdout = run_worker(client, Duration::from_secs(120))?;
    let calls = LoadResult::from_output(&stdout)?.total_calls;
    let instructions = callgrind::dump(pid, prefix)?;
    server.check_running()?;
    if calls == 0 {
        return Err(BenchError::Mismatch("the client made no calls".to_owned()));
    }
    Ok(instructions as f64 / calls as f64)
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
    rows.extend(rpc::count(exe, placement, &mut cg, progress)?);
    rows.extend(broker::count(exe, placement, &mut cg, progress)?);
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
