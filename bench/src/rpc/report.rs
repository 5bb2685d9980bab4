//! The RPC benchmark's tables: one per scenario, then its targets as
//! ratios.

use std::fmt::Write as _;

use super::{pairs, Measurement, Pair, RpcReport, Scenario, Side};
use crate::stats::{median, median_ci95};
use crate::table::{num, ratio, Table};

const RUST: Pair = Pair {
    client: Side::Rust,
    server: Side::Rust,
};
const C: Pair = Pair {
    client: Side::C,
    server: Side::C,
};

impl RpcReport {
    fn get(&self, scenario: Scenario, pair: Pair) -> Option<&Measurement> {
        self.results.get(&(scenario, pair))
    }

    /// Throughput of a scenario (see [`throughput_of`]).
    fn throughput(&self, scenario: Scenario, pair: Pair) -> Option<f64> {
        self.get(scenario, pair).map(|m| throughput_of(scenario, m))
    }

    /// The report as Markdown: a table per scenario, the TCP stream
    /// ceiling, and the targets.
    pub fn render(&self) -> String {
        let payload = self.options.payload_bytes;
        let mut out = String::new();
        for scenario in self.options.scenarios() {
            let _ = writeln!(out, "#### {}\n", scenario.title(payload));
            let mut header = vec!["client -> server", "calls/s"];
            if scenario.moves_data() {
                header.push("MiB/s");
            }
            header.extend([
                "p50 µs",
                "p99 µs",
                "client CPU µs/call",
                "server CPU µs/call",
                "vs C -> C",
            ]);
            let mut t = Table::new(header);
            for pair in pairs(self.options.cross) {
                let Some(m) = self.get(scenario, pair) else {
                    continue;
                };
                let mut row = vec![pair.to_string(), num(Some(m.calls_per_sec), 0)];
                if scenario.moves_data() {
                    row.push(num(Some(m.mib_per_sec), 0));
                }
                row.extend([
                    num(m.p50_us, 1),
                    num(m.p99_us, 1),
                    num(m.client_cpu_us, 2),
                    num(m.server_cpu_us, 2),
                    ratio(div(
                        self.throughput(scenario, pair),
                        self.throughput(scenario, C),
                    )),
                ]);
                t.row(row);
            }
            out.push_str(&t.render());
            out.push('\n');
        }
        if !self.stream_passes.is_empty() {
            let _ = writeln!(
                out,
                "Plain loopback TCP stream (1 MiB writes, no RPC), same placement: {} MiB/s \
                 (sender CPU {} µs/MiB, receiver CPU {} µs/MiB).\n",
                num(Some(self.stream.mib_per_sec), 0),
                num(self.stream.client_cpu_us, 0),
                num(self.stream.server_cpu_us, 0),
            );
        }
        for (passes, m, shape) in [
            (
                &self.fetch_passes,
                &self.fetch,
                "a 4-byte request, 1 MiB back: READ's shape",
            ),
            (
                &self.push_passes,
                &self.push,
                "1 MiB out, 4 bytes back: WRITE's shape",
            ),
        ] {
            if !passes.is_empty() {
                let _ = writeln!(
                    out,
                    "Plain loopback TCP request/response ({shape}; one at a time, no RPC), \
                     same placement: {} MiB/s (client CPU {} µs/MiB, server CPU {} µs/MiB).\n",
                    num(Some(m.mib_per_sec), 0),
                    num(m.client_cpu_us, 0),
                    num(m.server_cpu_us, 0),
                );
            }
        }
        if !self.framing_passes.is_empty() {
            let (_, depth) = Scenario::Null64.rust_shape();
            let _ = writeln!(
                out,
                "Framing-only limit (C `framing_client` -> `framing_server`: record marks \
                 and the bodies' sizes of a NULL call and reply (40 and 24 bytes), no XDR, {depth} \
                 in flight on one connection), same placement: {} records/s, p50 {} µs \
                 (client CPU {} µs/record, server CPU {} µs/record).\n",
                num(Some(self.framing.calls_per_sec), 0),
                num(self.framing.p50_us, 1),
                num(self.framing.client_cpu_us, 2),
                num(self.framing.server_cpu_us, 2),
            );
        }
        out.push_str(
            "#### Targets, Rust client -> Rust server vs C client -> C server\n\n\
             Rust and reference: medians over the passes; ratio: the median of the \
             per-pass ratios (both sides of a ratio measured in the same pass); \
             95% CI: a distribution-free interval for that median (sign test; \
             at least 6 passes), which shows whether the run can tell a ratio \
             from its goal; met: the median against the goal.\n\n",
        );
        out.push_str(&self.targets().render());
        out
    }

    /// A figure of `scenario` and `pair`: its median, and its value in
    /// every pass (in pass order).
    fn series(
        &self,
        scenario: Scenario,
        pair: Pair,
        figure: impl Fn(&Measurement) -> Option<f64>,
    ) -> Series {
        Series {
            median: self.get(scenario, pair).and_then(&figure),
            per_pass: self
                .passes
                .get(&(scenario, pair))
                .map(|ms| ms.iter().map(&figure).collect())
                .unwrap_or_default(),
        }
    }

    /// Throughput of a scenario (see [`throughput_of`]), median and per pass.
    fn throughput_series(&self, scenario: Scenario, pair: Pair) -> Series {
        self.series(scenario, pair, |m| Some(throughput_of(scenario, m)))
    }

    fn targets(&self) -> Table {
        let mut t = Table::new([
            "target",
            "Rust",
            "reference",
            "ratio",
            "95% CI",
            "goal",
            "met",
        ]);
        let mut add =
            |name: &str, ours: &Series, reference: &Series, goal: f64, lower_is_better: bool| {
                if ours.per_pass.is_empty() || reference.per_pass.is_empty() {
                    // A scenario this run left out.
                    return;
                }
                let ratios = paired_ratios(&ours.per_pass, &reference.per_pass);
                let r = median(&ratios);
                let ci = match median_ci95(&ratios) {
                    Some((low, high)) => format!("{}-{}", ratio(Some(low)), ratio(Some(high))),
                    None => "-".to_owned(),
                };
                let met = match r {
                    Some(r) if lower_is_better => yes_no(r <= goal),
                    Some(r) => yes_no(r >= goal),
                    None => "-",
                };
                let goal = if lower_is_better {
                    format!("<= {goal:.2}x")
                } else {
                    format!(">= {goal:.2}x")
                };
                t.row([
                    name.to_owned(),
                    num(ours.median, 1),
                    num(reference.median, 1),
                    ratio(r),
                    ci,
                    goal,
                    met.to_owned(),
                ]);
            };
        let p50 = |pair| self.series(Scenario::Null1, pair, |m| m.p50_us);
        add(
            "NULL p50 latency µs, 1 in flight (vs C)",
            &p50(RUST),
            &p50(C),
            1.0,
            true,
        );
        add(
            "NULL calls/s, 64 in flight on 1 connection (vs C 1 in flight)",
            &self.throughput_series(Scenario::Null64, RUST),
            &self.throughput_series(Scenario::Null1, C),
            5.0,
            false,
        );
        add(
            "NULL calls/s, 16 connections (vs C 16 processes)",
            &self.throughput_series(Scenario::Null16Conn, RUST),
            &self.throughput_series(Scenario::Null16Conn, C),
            2.0,
            false,
        );
        add(
            "NULL calls/s, 64 in flight on 1 connection (vs framing-only limit, same depth)",
            &self.throughput_series(Scenario::Null64, RUST),
            &reference_series(&self.framing, &self.framing_passes, |m| m.calls_per_sec),
            0.85,
            false,
        );
        let stream = reference_series(&self.stream, &self.stream_passes, |m| m.mib_per_sec);
        let fetch = reference_series(&self.fetch, &self.fetch_passes, |m| m.mib_per_sec);
        let push = reference_series(&self.push, &self.push_passes, |m| m.mib_per_sec);
        for (scenario, name, floor) in [
            (Scenario::Read, "READ", &fetch),
            (Scenario::Write, "WRITE", &push),
        ] {
            let ours = self.throughput_series(scenario, RUST);
            add(
                &format!("{name} MiB/s (vs C)"),
                &ours,
                &self.throughput_series(scenario, C),
                1.0,
                false,
            );
            add(
                &format!("{name} MiB/s (vs plain TCP stream)"),
                &ours,
                &stream,
                0.95,
                false,
            );
            add(
                &format!("{name} MiB/s (vs plain TCP request/response, same shape)"),
                &ours,
                floor,
                0.95,
                false,
            );
            add(
                &format!(
                    "plain TCP request/response, {name} shape (vs plain TCP stream): the floor"
                ),
                floor,
                &stream,
                0.95,
                false,
            );
        }
        t
    }
}

/// One figure of a run: its median over the passes and its value in each
/// pass, in pass order (`None` where a pass lacks it).
struct Series {
    median: Option<f64>,
    per_pass: Vec<Option<f64>>,
}

/// A reference measured beside the pairs (the TCP stream, the framing-only
/// limit): `figure` of its median and of each pass.
fn reference_series(
    median: &Measurement,
    passes: &[Measurement],
    figure: impl Fn(&Measurement) -> f64,
) -> Series {
    Series {
        median: Some(figure(median)),
        per_pass: passes.iter().map(|m| Some(figure(m))).collect(),
    }
}

/// Throughput of a measurement of `scenario`: MiB/s when the scenario
/// moves data, else calls/s.
fn throughput_of(scenario: Scenario, m: &Measurement) -> f64 {
    if scenario.moves_data() {
        m.mib_per_sec
    } else {
        m.calls_per_sec
    }
}

/// `ours / reference` in each pass: each pass measures both within
/// seconds of each other (a minute for the stream), so the shared host's
/// slow swings, which move both alike, cancel out of each ratio. Passes
/// missing either figure are left out.
fn paired_ratios(ours: &[Option<f64>], reference: &[Option<f64>]) -> Vec<f64> {
    ours.iter()
        .zip(reference)
        .filter_map(|(o, r)| div(*o, *r))
        .collect()
}

fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

#[cfg(test)]
mod tests {
    use super::paired_ratios;

    #[test]
    fn paired_ratios_are_per_pass() {
        // The passes drift together: 100/100, 220/200, 330/300.
        let ours = [Some(100.0), Some(220.0), Some(330.0), None];
        let reference = [Some(100.0), Some(200.0), Some(300.0), Some(1.0)];
        let r = paired_ratios(&ours, &reference);
        assert_eq!(r.len(), 3);
        assert!(
            r.iter()
                .zip([1.0, 1.1, 1.1])
                .all(|(a, b)| (a - b).abs() < 1e-12),
            "{r:?}"
        );
        assert!(paired_ratios(&[None], &[Some(1.0)]).is_empty());
    }
}
