//! The codec benchmark: encode and decode of the same values with our
//! generated code (`bench codec-run`, [`worker`]) and with the C routines
//! `rpcgen` generates on libtirpc's `xdrmem` streams
//! (`bench/c/codec_bench.c`), each in a process of its own under the same
//! CPU placement, alternating which side goes first from pass to pass.
//! Before any figure is reported, the two sides' encodings of every case
//! must have the same length and FNV-1a hash.

pub mod report;
pub mod worker;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::c_peers;
use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::process;
use crate::result_line::{CodecLine, CodecOp};
use crate::rpc::Side;
use crate::stats::median;

/// Settings of a codec benchmark run.
#[derive(Debug, Clone)]
pub struct CodecOptions {
    /// Passes (the report shows medians).
    pub passes: usize,
    /// Minimum time per case and operation and pass, in milliseconds.
    pub millis: u64,
    /// Entries of each list case (`list-N`).
    pub lists: Vec<u32>,
    /// Where the loops run (the client CPU).
    pub placement: Placement,
}

/// One case and operation, both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecRow {
    /// The case (`small`, `list-1000`, ...).
    pub case: String,
    /// Encode or decode.
    pub op: CodecOp,
    /// Length of the encoding, in bytes.
    pub len: u64,
    /// Median ns per operation with libtirpc (for
    /// [`CodecOp::DecodeShared`], its decode).
    pub c_ns: f64,
    /// Median ns per operation with our code.
    pub rust_ns: f64,
}

/// The medians of a codec benchmark run.
#[derive(Debug, Clone)]
pub struct CodecReport {
    /// The settings used.
    pub options: CodecOptions,
    /// Rows in the order the C program printed them.
    pub rows: Vec<CodecRow>,
}

fn run_worker(mut cmd: Command) -> Result<Vec<CodecLine>> {
    let stdout = process::run_worker(&mut cmd, Duration::from_secs(600))?;
    CodecLine::all_from_output(&stdout)
}

/// Runs the codec benchmark; `exe` is the `bench` binary, `progress` gets
/// a line per pass.
///
/// # Errors
///
/// [`BenchError::CPeer`] if the C program cannot be built,
/// [`BenchError::Worker`] if a side fails, [`BenchError::Mismatch`] if
/// the sides' encodings differ or a side skipped a case.
pub fn run(exe: &Path, opts: &CodecOptions, progress: &mut dyn FnMut(&str)) -> Result<CodecReport> {
    if opts.passes == 0 {
        return Err(BenchError::Usage("passes must be at least 1".to_owned()));
    }
    let c_bin = c_peers::codec_bench()?;
    let lists: Vec<String> = opts.lists.iter().map(u32::to_string).collect();
    let mut times: HashMap<(String, CodecOp, Side), Vec<f64>> = HashMap::new();
    let mut encodings: BTreeMap<(String, Side), (u64, u64)> = BTreeMap::new();
    let mut order: Vec<(String, CodecOp)> = Vec::new();
    for pass in 0..opts.passes {
        let sides = if pass % 2 == 0 {
            [Side::C, Side::Rust]
        } else {
            [Side::Rust, Side::C]
        };
        for side in sides {
            let cmd = match side {
                Side::C => {
                    let mut c = opts.placement.command(Role::Client, &c_bin);
                    c.args(["-t", &opts.millis.to_string()]);
                    for n in &lists {
                        c.args(["-l", n]);
                    }
                    c
                }
                Side::Rust => {
                    let mut c = opts.placement.command(Role::Client, exe);
                    c.args(["codec-run", "--millis", &opts.millis.to_string()]);
                    if !lists.is_empty() {
                        c.args(["--lists", &lists.join(",")]);
                    }
                    c
                }
            };
            let lines = run_worker(cmd)?;
            progress(&format!(
                "pass {}/{}: codec, {side}: {} measurements",
                pass + 1,
                opts.passes,
                lines.len()
            ));
            for l in lines {
                if side == Side::C && pass == 0 {
                    order.push((l.case.clone(), l.op));
                }
                encodings.insert((l.case.clone(), side), (l.len, l.hash));
                times
                    .entry((l.case, l.op, side))
                    .or_default()
                    .push(l.ns_per_op);
            }
        }
    }
    let mut rows = Vec::new();
    for (case, op) in order {
        let c = encodings.get(&(case.clone(), Side::C));
        let r = encodings.get(&(case.clone(), Side::Rust));
        match (c, r) {
            (Some(c), Some(r)) if c == r => {}
            _ => {
                return Err(BenchError::Mismatch(format!(
                    "{case}: C encoding (len, hash) {c:?} vs Rust {r:?}"
                )))
            }
        }
        let med = |op, side| {
            times
                .get(&(case.clone(), op, side))
                .and_then(|v| median(v))
                .ok_or_else(|| BenchError::Mismatch(format!("{case} {op}: no {side} timing")))
        };
        let c_ns = med(op, Side::C)?;
        let len = c.map_or(0, |c| c.0);
        // Decoding from a shared buffer has no C counterpart: it is
        // compared with C's decode, in the row after it.
        let mut ops = vec![op];
        if op == CodecOp::Decode {
            ops.push(CodecOp::DecodeShared);
        }
        for rust_op in ops {
            rows.push(CodecRow {
                case: case.clone(),
                op: rust_op,
                len,
                c_ns,
                rust_ns: med(rust_op, Side::Rust)?,
            });
        }
    }
    Ok(CodecReport {
        options: opts.clone(),
        rows,
    })
}
