//! The text `broker ctl` prints for status and stats replies.

use std::fmt::Write;

use super::proto::{BaHealth, BaStats, BaStatusOk};

fn health(h: BaHealth) -> &'static str {
    match h {
        BaHealth::BaHealthy => "healthy",
        BaHealth::BaConnecting => "connecting",
        BaHealth::BaDown => "down",
        BaHealth::BaEjected => "ejected",
    }
}

/// A status reply as text: listeners, routes, backends (one line each,
/// with health, drained/retired marks and load), and the indented tree of
/// supervised tasks.
pub fn render_status(s: &BaStatusOk) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "broker up {:.1} s, configuration {} ({} reload(s))",
        s.uptime_ms as f64 / 1000.0,
        s.config_source,
        s.reloads
    );
    let _ = writeln!(out, "\nlisteners:");
    for l in s.listeners.iter() {
        let _ = writeln!(out, "  {}", l.endpoint);
    }
    let _ = writeln!(out, "\nroutes:");
    for r in s.routes.iter() {
        let versions = versions_label(&r.versions);
        let pool = r
            .pool
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "  program {:#x} version {versions} -> [{pool}] {}, {} replica(s), timeout {} ms, {} retries",
            r.program_number,
            if r.keyed { "by key" } else { "in turn" },
            r.replicas,
            r.timeout_ms,
            r.retries
        );
        for line in r.policies.iter() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "\nbackends:");
    let width = s.backends.iter().map(|b| b.name.len()).max().unwrap_or(0);
    let states: Vec<String> = s
        .backends
        .iter()
        .map(|b| {
            let mut state = health(b.health).to_owned();
            if b.drained {
                state.push_str(" DRAINED");
            }
            if b.retired {
                state.push_str(" RETIRED");
            }
            state
        })
        .collect();
    let state_width = states.iter().map(String::len).max().unwrap_or(0);
    for (b, state) in s.backends.iter().zip(&states) {
        let _ = writeln!(
            out,
            "  {:width$}  {state:state_width$}  {}  connections {}/{}, {} in flight, {} queued, {} failure(s)",
            b.name.to_string(),
            b.address,
            b.connections_up,
            b.connections,
            b.in_flight,
            b.queued,
            b.failures,
        );
    }
    let _ = writeln!(out, "\ntasks:");
    for t in s.tasks.iter() {
        let indent = "  ".repeat(t.depth.min(16) as usize + 1);
        let _ = writeln!(out, "{indent}{}: {}", t.name, t.state);
    }
    out
}

/// A stats reply as text, one counter per line.
pub fn render_stats(s: &BaStats) -> String {
    let rows = [
        (
            "forwarded",
            s.forwarded,
            "calls sent to backends, retries included",
        ),
        ("retries", s.retries, "attempts after the first"),
        ("replies", s.replies, "backend replies passed to callers"),
        (
            "failed",
            s.failed,
            "calls answered SYSTEM_ERR by the broker",
        ),
        (
            "late_replies",
            s.late_replies,
            "backend replies nobody waited for",
        ),
        (
            "pending_calls",
            s.pending_calls,
            "calls not yet answered (now)",
        ),
        (
            "outstanding",
            s.outstanding,
            "calls and health checks on backends (now)",
        ),
        ("clients", s.clients, "client connections (now)"),
    ];
    let mut out = String::new();
    for (name, v, what) in rows {
        let _ = writeln!(out, "{name:14} {v:>12}  {what}");
    }
    out
}

/// A route's versions as shown to operators: `1,3`, or `*` for every
/// version.
pub fn versions_label(versions: &[u32]) -> String {
    if versions.is_empty() {
        return "*".to_owned();
    }
    versions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::proto::BaBackend;

    fn backend(name: &str, drained: bool) -> BaBackend {
        BaBackend {
            name: name.into(),
            address: "tcp://127.0.0.1:7101".into(),
            health: BaHealth::BaHealthy,
            drained,
            retired: false,
            connections_up: 1,
            connections: 1,
            in_flight: 0,
            queued: 0,
            failures: 0,
        }
    }

    #[test]
    fn backend_columns_stay_aligned_when_one_is_drained() {
        let status = BaStatusOk {
            uptime_ms: 1,
            reloads: 0,
            config_source: "embedded".into(),
            listeners: Vec::new().into(),
            routes: Vec::new().into(),
            backends: vec![
                backend("a", false),
                backend("bb", true),
                backend("c", false),
            ]
            .into(),
            tasks: Vec::new().into(),
        };
        let text = render_status(&status);
        let columns: Vec<usize> = text.lines().filter_map(|l| l.find("tcp://")).collect();
        assert_eq!(columns.len(), 3, "{text}");
        assert!(columns.iter().all(|c| *c == columns[0]), "{text}");
        assert!(text.contains("healthy DRAINED"), "{text}");
    }
}
