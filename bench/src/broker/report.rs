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

    /// The tables: every case side by side, then the targets as
    /// ratios of this run.
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
        ]);
        for call in Call::ALL {
            for &n in &self.options.clients {
                let c = self.get(call, n, Target::CServer).map(|s| s.calls_per_sec);
                for target in Target::ALL {
                    let Some(s) = self.get(call, n, target) else {
                        continue;
                    };
                    let cpu = if target == Target::Broker {
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
                        ratio(c.filter(|c| *c > 0.0).map(|c| s.calls_per_sec / c)),
                    ]);
                }
            }
        }
        let mut out = t.render();
        out.push_str(&format!(
            "\nLoopback TCP round trip (4 bytes each way, one connection): p50 {:.1} us, p99 {:.1} us.\n\n",
            self.rtt.p50_us, self.rtt.p99_us
        ));
        let mut goals = Table::new(["target", "measured", "goal", "met"]);
        let yes = |ok: bool| if ok { "yes" } else { "no" }.to_owned();
        let direct = self.get(Call::Null, 1, Target::RustServer);
        let brokered = self.get(Call::Null, 1, Target::Broker);
        if let (Some(d), Some(b)) = (direct, brokered) {
            let added = b.p50_us - d.p50_us;
            let x = added / self.rtt.p50_us.max(f64::MIN_POSITIVE);
            goals.row([
                "p50 added by the broker (NULL, 1 client) / loopback round trip".to_owned(),
                format!("{added:.1} us = {x:.2}x"),
                "<= 1.50x".to_owned(),
                yes(x <= 1.5),
            ]);
        }
        let many = self.options.clients.iter().copied().max().unwrap_or(1);
        if let Some(b) = self.get(Call::Null, many, Target::Broker) {
            goals.row([
                format!("broker CPU per forwarded call (NULL, {many} clients)"),
                format!("{:.2} us", b.server_cpu_us),
                "<= 5 us".to_owned(),
                yes(b.server_cpu_us <= 5.0),
            ]);
        }
        for call in Call::ALL {
            let c = self.get(call, many, Target::CServer);
            let b = self.get(call, many, Target::Broker);
            if let (Some(c), Some(b)) = (c, b) {
                let x = b.calls_per_sec / c.calls_per_sec.max(f64::MIN_POSITIVE);
                goals.row([
                    format!(
                        "{} x{many} calls/s: through the broker / C server direct",
                        call.title()
                    ),
                    format!("{x:.2}x"),
                    ">= 1.00x".to_owned(),
                    yes(x >= 1.0),
                ]);
            }
        }
        out.push_str(&goals.render());
        out
    }
}
