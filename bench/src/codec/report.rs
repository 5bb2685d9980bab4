//! The codec benchmark's table, with its targets.

use super::{CodecReport, CodecRow};
use crate::result_line::CodecOp;
use crate::table::{num, ratio, Table};

/// Decoding 1 MiB of opaque data in less than this many ns cannot have
/// copied it (a 1 MiB `memcpy` takes tens of µs).
const NO_COPY_NS: f64 = 1_000.0;

/// The goal for a row (as text) and whether it is met.
fn goal(row: &CodecRow) -> Option<(String, bool)> {
    let r = row.rust_ns / row.c_ns;
    let at_most = |g: f64| Some((format!("<= {g:.2}x"), r <= g));
    match (row.case.as_str(), row.op) {
        ("small", CodecOp::Encode) => at_most(0.5),
        ("small", CodecOp::Decode) => at_most(0.3),
        (c, CodecOp::Encode) if c.starts_with("list-") => at_most(0.5),
        (c, CodecOp::Decode) if c.starts_with("list-") => at_most(0.1),
        ("opaque-1MiB", CodecOp::Decode) => Some((
            format!("< {NO_COPY_NS:.0} ns (no copy)"),
            row.rust_ns < NO_COPY_NS,
        )),
        _ => None,
    }
}

impl CodecReport {
    /// The report as a Markdown table: both sides' medians, the ratio
    /// (Rust time / C time: below 1 is faster) and the goal.
    pub fn render(&self) -> String {
        let mut t = Table::new([
            "case",
            "op",
            "bytes",
            "C ns/op",
            "Rust ns/op",
            "Rust/C time",
            "goal",
            "met",
        ]);
        for row in &self.rows {
            let (goal, met) = match goal(row) {
                Some((g, m)) => (g, if m { "yes" } else { "no" }),
                None => ("-".to_owned(), "-"),
            };
            t.row([
                row.case.clone(),
                row.op.to_string(),
                row.len.to_string(),
                num(Some(row.c_ns), 1),
                num(Some(row.rust_ns), 1),
                ratio(Some(row.rust_ns / row.c_ns)),
                goal,
                met.to_owned(),
            ]);
        }
        t.render()
    }
}
