//! The one-line results worker processes print, the same format from the
//! C programs (`bench/c/`) and the Rust workers (`bench load`,
//! `bench codec-run`):
//!
//! ```text
//! result calls=N total_calls=T window_ns=W p50_ns=X p99_ns=Y client_cpu_ns=C bytes=B
//! codec case=NAME op=encode|decode ns_per_op=F iters=N len=BYTES hash=HEX
//! ```

use std::collections::HashMap;
use std::fmt;

use crate::error::{BenchError, Result};

/// `key=value` fields of a line starting with `prefix`.
fn fields<'a>(line: &'a str, prefix: &str) -> Option<HashMap<&'a str, &'a str>> {
    let mut words = line.split_whitespace();
    if words.next()? != prefix {
        return None;
    }
    words.map(|w| w.split_once('=')).collect()
}

fn field<T: std::str::FromStr>(f: &HashMap<&str, &str>, line: &str, key: &str) -> Result<T> {
    f.get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BenchError::BadResult {
            line: line.to_owned(),
            reason: format!("missing or malformed `{key}`"),
        })
}

/// What one RPC client run measured (all client processes or tasks
/// together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadResult {
    /// Calls that started and finished inside the measured window.
    pub calls: u64,
    /// Every call made, warm-up included (the server's CPU time is divided
    /// by this).
    pub total_calls: u64,
    /// The measured window, in nanoseconds.
    pub window_ns: u64,
    /// Median latency of the window's calls, in nanoseconds (0: none).
    pub p50_ns: u64,
    /// 99th percentile latency, in nanoseconds (0: none).
    pub p99_ns: u64,
    /// User + system CPU time of the client during the window, in
    /// nanoseconds.
    pub client_cpu_ns: u64,
    /// Payload bytes moved in the window (READ/WRITE data; 0 for NULL).
    pub bytes: u64,
}

impl fmt::Display for LoadResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "result calls={} total_calls={} window_ns={} p50_ns={} p99_ns={} client_cpu_ns={} bytes={}",
            self.calls,
            self.total_calls,
            self.window_ns,
            self.p50_ns,
            self.p99_ns,
            self.client_cpu_ns,
            self.bytes
        )
    }
}

impl LoadResult {
    /// The last `result ...` line of a worker's output.
    ///
    /// # Errors
    ///
    /// [`BenchError::BadResult`] if there is no such line or a field is
    /// missing.
    pub fn from_output(output: &str) -> Result<LoadResult> {
        let (line, f) = output
            .lines()
            .rev()
            .find_map(|l| fields(l, "result").map(|f| (l, f)))
            .ok_or_else(|| BenchError::BadResult {
                line: output.to_owned(),
                reason: "no `result ...` line".to_owned(),
            })?;
        Ok(LoadResult {
            calls: field(&f, line, "calls")?,
            total_calls: field(&f, line, "total_calls")?,
            window_ns: field(&f, line, "window_ns")?,
            p50_ns: field(&f, line, "p50_ns")?,
            p99_ns: field(&f, line, "p99_ns")?,
            client_cpu_ns: field(&f, line, "client_cpu_ns")?,
            bytes: field(&f, line, "bytes")?,
        })
    }
}

/// Encode or decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodecOp {
    /// Value to bytes.
    Encode,
    /// Bytes to value (and dropping or freeing it), from a buffer that
    /// lives for the whole run (C: a global array; Rust: a `'static`
    /// `Bytes`, which has no reference count).
    Decode,
    /// Rust only: [`CodecOp::Decode`] from a clone of a reference-counted
    /// `Bytes` (an atomic increment and decrement per op, what decoding
    /// part of a buffer kept elsewhere costs); compared with C's decode.
    DecodeShared,
}

impl fmt::Display for CodecOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodecOp::Encode => "encode",
            CodecOp::Decode => "decode",
            CodecOp::DecodeShared => "decode-shared",
        })
    }
}

impl std::str::FromStr for CodecOp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "encode" => Ok(CodecOp::Encode),
            "decode" => Ok(CodecOp::Decode),
            "decode-shared" => Ok(CodecOp::DecodeShared),
            other => Err(format!("unknown op {other:?}")),
        }
    }
}

/// One timed codec operation.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecLine {
    /// The case (`small`, `list-1000`, `opaque-1MiB`, ...).
    pub case: String,
    /// Encode or decode.
    pub op: CodecOp,
    /// Mean time per operation, in nanoseconds.
    pub ns_per_op: f64,
    /// Operations timed.
    pub iters: u64,
    /// Length of the encoding, in bytes.
    pub len: u64,
    /// FNV-1a 64 of the encoding ([`fnv1a`]), to prove both sides encode
    /// the same value.
    pub hash: u64,
}

impl fmt::Display for CodecLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "codec case={} op={} ns_per_op={:.1} iters={} len={} hash={:016x}",
            self.case, self.op, self.ns_per_op, self.iters, self.len, self.hash
        )
    }
}

impl CodecLine {
    /// Every `codec ...` line of a worker's output, in order.
    ///
    /// # Errors
    ///
    /// [`BenchError::BadResult`] if a `codec` line lacks a field.
    pub fn all_from_output(output: &str) -> Result<Vec<CodecLine>> {
        output
            .lines()
            .filter_map(|l| fields(l, "codec").map(|f| (l, f)))
            .map(|(line, f)| {
                let hash: String = field(&f, line, "hash")?;
                Ok(CodecLine {
                    case: field(&f, line, "case")?,
                    op: field(&f, line, "op")?,
                    ns_per_op: field(&f, line, "ns_per_op")?,
                    iters: field(&f, line, "iters")?,
                    len: field(&f, line, "len")?,
                    hash: u64::from_str_radix(&hash, 16).map_err(|e| BenchError::BadResult {
                        line: line.to_owned(),
                        reason: format!("bad hash: {e}"),
                    })?,
                })
            })
            .collect()
    }
}

/// FNV-1a, 64 bits (as `fnv1a` in `bench/c/codec_bench.c`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_result_round_trips() {
        let r = LoadResult {
            calls: 1,
            total_calls: 2,
            window_ns: 3,
            p50_ns: 4,
            p99_ns: 5,
            client_cpu_ns: 6,
            bytes: 7,
        };
        let out = format!("noise\n{r}\n");
        assert_eq!(LoadResult::from_output(&out).ok(), Some(r));
        assert!(LoadResult::from_output("nothing").is_err());
    }

    #[test]
    fn codec_line_round_trips() {
        let l = CodecLine {
            case: "small".into(),
            op: CodecOp::Decode,
            ns_per_op: 12.5,
            iters: 10,
            len: 72,
            hash: 0x5c65_cc72_7dd4_0d23,
        };
        let parsed = CodecLine::all_from_output(&format!("{l}\n")).ok();
        assert_eq!(parsed, Some(vec![l]));
    }

    #[test]
    fn fnv1a_known_value() {
        // The FNV-1a 64 test vector for "a".
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
