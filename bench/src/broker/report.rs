//! [`BrokerReport`]: medians over the passes, as Markdown.

use std::collections::HashMap;

use super::{BrokerOptions, Call, Sample, Target};
use crate::stats::median;
use crate::table::{num, ratio, Table};

/// Medians of every (call, clients, target) case and of the loopback
/// round trip.
#[derive(Debug, Clone)]
pub struct BrokerReport {
    options: BrokerOptions,
    results: HashMap<(Call, usize, Target), Sample>,
    rtt: Sample,
}

/// The "met" column: whether a goal is met.
fn met(ok: bool) -> String {
    if ok { "yes" } else { "no" }.to_owned()
}

fn median_of(v: &[Sample]) -> Sample {
    let m = |f: fn(&Sample) -> f64| median(&v.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0);
    Sample {
        calls_per_sec: m(|s| s.calls_per_sec),
        p50_us: m(|s| s.p50_us),
        p99_us: m(|s| s.p99_us),
        server_cpu_us: m(|s| s.server_cpu_us),
        backend_cpu_us: m(|s| s.backend_cpu_us),
    }
}

impl BrokerReport {
    pub(super) fn new(
        options: BrokerOptions,
        samples: HashMap<(Call, usize, Target), Vec<Sample>>,
        rtt: Vec<Sample>,
    ) -> BrokerReport {
        BrokerReport {
            options,
            results: samples.iter().map(|(k, v)| (*k, median_of(v))).collect(),
            rtt: median_of(&rtt),
        }
    }

    fn get(&self, call: Call, clients: usize, target: Target) -> Option<&Sample> {
        self.results.get(&(call, clients, target))
    }

    /// Calls per second of `target` over those of `base`, same case.
    fn calls_ratio(&self, call: Call, clients: usize, target: Target, base: Target) -> Option<f64> {
        let t = self.get(call, clients, target)?;
        let b = self.get(call, clients, base)?;
        (b.calls_per_sec > 0.0).then(|| t.calls_per_sec / b.calls_per_sec)
    }

    /// The tables: every case side by side (each rate against the C
    /// server direct and against the relay floor), then the issue's
    /// targets as ratios of this run, each beside the same figure through
    /// the relay.
    pub fn render(&self) -> String {
        let mut t = Table::new([
            "call",
            "clients",
            "target",
            "calls/s",
            "p50 us",
            "p99 us",
            "server CPU us/call",
            "vs C server calls/s",
            "vs relay calls/s",
        ]);
        for call in Call::ALL {
            for &n in &self.options.clients {
                for target in Target::ALL {
                    let Some(s) = self.get(call, n, target) else {
                        continue;
                    };
                    let cpu = if target == Target::CannedPolling {
                        // It spins by design: all of its CPU, whatever it answers.
                        "-".to_owned()
                    } else if matches!(target, Target::Broker | Target::Relay) {
                        format!(
                            "{} (+ backend {})",
                            num(Some(s.server_cpu_us), 1),
                            num(Some(s.backend_cpu_us), 1)
                        )
                    } else {
                        num(Some(s.server_cpu_us), 1)
                    };
                    t.row([
                        call.title(),
                        n.to_string(),
                        target.title().to_owned(),
                        num(Some(s.calls_per_sec), 0),
                        num(Some(s.p50_us), 1),
                        num(Some(s.p99_us), 1),
                        cpu,
                        ratio(self.calls_ratio(call, n, target, Target::CServer)),
                        ratio(self.calls_ratio(call, n, target, Target::Relay)),
                    ]);
                }
            }
        }
        let mut out = t.render();
        out.push_str(&format!(
            "\nLoopback TCP round trip (4 bytes each way, one connection): p50 {:.1} us, p99 {:.1} us.\n\n",
            self.rtt.p50_us, self.rtt.p99_us
        ));
        out.push_str(&self.render_goals());
        out
    }

    /// The targets: the broker's figure, the same figure through the C
    /// relay (the floor of any process in between) and from the canned
    /// server (its CPU per call waiting in `epoll_wait`; its calls/s
    /// polling, the clients' limit), the goal.
    fn render_goals(&self) -> String {
        let mut goals = Table::new([
            "target",
            "broker",
            "C relay (floor)",
            "C canned replies",
            "goal",
            "met",
        ]);
        let direct = self.get(Call::Null, 1, Target::RustServer);
        let added = |via: Target| {
            let d = direct?;
            let added = self.get(Call::Null, 1, via)?.p50_us - d.p50_us;
            Some((added, added / self.rtt.p50_us.max(f64::MIN_POSITIVE)))
        };
        if let Some((us, x)) = added(Target::Broker) {
            goals.row([
                "p50 added (NULL, 1 client) / loopback round trip".to_owned(),
                format!("{us:.1} us = {x:.2}x"),
                added(Target::Relay)
                    .map_or("-".to_owned(), |(us, x)| format!("{us:.1} us = {x:.2}x")),
                "-".to_owned(),
                "<= 1.50x".to_owned(),
                met(x <= 1.5),
            ]);
        }
        // The goals are for many clients: every count above one.
        for &many in self.options.clients.iter().filter(|&&n| n > 1) {
            self.many_client_goals(&mut goals, many);
        }
        goals.render()
    }

    /// The rows of the goals for `many` clients: the broker's CPU per
    /// forwarded NULL call against the C server's per answered call, and
    /// each call's rate against the C server direct.
    fn many_client_goals(&self, goals: &mut Table, many: usize) {
        let cpu = |via: Target| {
            let c = self.get(Call::Null, many, Target::CServer)?.server_cpu_us;
            let v = self.get(Call::Null, many, via)?.server_cpu_us;
            (c > 0.0).then(|| (v, v / c))
        };
        let cpu_text =
            |via| cpu(via).map_or("-".to_owned(), |(us, x)| format!("{us:.2} us = {x:.2}x"));
        if let Some((_, x)) = cpu(Target::Broker) {
            goals.row([
                format!("CPU per forwarded call / C server's per call (NULL, {many} clients)"),
                cpu_text(Target::Broker),
                cpu_text(Target::Relay),
                cpu_text(Target::Canned),
                "<= 0.50x".to_owned(),
                met(x <= 0.5),
            ]);
        }
        for call in Call::ALL {
            let goal = if call == Call::Get(1 << 20) { 0.9 } else { 1.2 };
            if let Some(x) = self.calls_ratio(call, many, Target::Broker, Target::CServer) {
                goals.row([
                    format!("{} x{many} calls/s / C server direct", call.title()),
                    format!("{x:.2}x"),
                    ratio(self.calls_ratio(call, many, Target::Relay, Target::CServer)),
                    ratio(self.calls_ratio(call, many, Target::CannedPolling, Target::CServer)),
                    format!(">= {goal:.2}x"),
                    met(x >= goal),
                ]);
            }
        }
    }
}
