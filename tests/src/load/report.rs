//! The result of a load run: [`LoadReport`], counters grouped by what
//! they describe, with [`LoadReport::violations`] naming every counter
//! that must be zero and is not.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Why a well-behaved client's call or connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The connection could not be opened.
    ConnectFailed,
    /// The broker closed (or reset) the connection while calls were in
    /// flight; each such call is also counted as unanswered.
    ConnectionLost,
    /// No reply within the reply timeout.
    ReplyTimeout,
    /// An accepted reply with this `accept_stat` other than SUCCESS
    /// (RFC 5531 section 9: 1 PROG_UNAVAIL ... 5 SYSTEM_ERR).
    Accept(u32),
    /// A denied reply (MSG_DENIED).
    Denied,
    /// A datastore result with this `ds_status` other than `DS_OK` (and,
    /// for GET, `DS_NOENT`).
    Status(i32),
    /// A reply that does not decode as the call's result.
    GarbageReply,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::ConnectFailed => f.write_str("connect failed"),
            ErrorKind::ConnectionLost => f.write_str("connection lost with calls in flight"),
            ErrorKind::ReplyTimeout => f.write_str("no reply within the reply timeout"),
            ErrorKind::Accept(1) => f.write_str("PROG_UNAVAIL"),
            ErrorKind::Accept(2) => f.write_str("PROG_MISMATCH"),
            ErrorKind::Accept(3) => f.write_str("PROC_UNAVAIL"),
            ErrorKind::Accept(4) => f.write_str("GARBAGE_ARGS"),
            ErrorKind::Accept(5) => f.write_str("SYSTEM_ERR"),
            ErrorKind::Accept(n) => write!(f, "accept_stat {n}"),
            ErrorKind::Denied => f.write_str("MSG_DENIED"),
            ErrorKind::Status(s) => write!(f, "ds_status {s}"),
            ErrorKind::GarbageReply => f.write_str("reply does not decode"),
        }
    }
}

/// Calls of the well-behaved clients, XID by XID on each connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Calls sent.
    pub sent: u64,
    /// Calls answered (first reply to their XID), load phase and
    /// read-back together.
    pub answered: u64,
    /// Of them, answered during the load phase (the throughput figure).
    pub answered_in_load: u64,
    /// Calls that got no reply: the connection was lost or the reply
    /// timeout passed.
    pub unanswered: u64,
    /// Replies to an XID already answered on the same connection.
    pub duplicate_replies: u64,
    /// Replies to an XID never sent on that connection.
    pub unexpected_replies: u64,
}

/// Connections of the well-behaved clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Connections opened (first connections and reconnections).
    pub opened: u64,
    /// Of them, reconnections after a lost connection or a timeout.
    pub reopened: u64,
    /// Well-behaved connections open at once at the start of the load
    /// phase (all of them, unless some failed to connect).
    pub open_at_start: u64,
}

/// What the datastore read-back found ([`CallMix::Datastore`] only).
///
/// [`CallMix::Datastore`]: super::CallMix::Datastore
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// PUTs acknowledged with `DS_OK`.
    pub acknowledged_puts: u64,
    /// PUTs with no reply or an error reply: their value may or may not
    /// have been stored (either value passes the checks).
    pub unacknowledged_puts: u64,
    /// GETs during the load phase that returned neither the last
    /// acknowledged value nor a value written since.
    pub wrong_reads_in_load: u64,
    /// Keys with an acknowledged PUT, read back at the end.
    pub keys_checked: u64,
    /// Of them, not readable (`DS_NOENT`, an error, or no reply).
    pub unreadable: u64,
    /// Of them, readable but not with the last acknowledged value (nor a
    /// value written after it).
    pub wrong_value: u64,
}

/// The hostile clients' activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChaosCounts {
    /// Connections a disconnecter opened and closed in the middle of a call.
    pub disconnects: u64,
    /// Idle connections opened.
    pub idle_opened: u64,
    /// Slowloris connections opened.
    pub slowloris_opened: u64,
    /// Never-reading connections opened.
    pub never_read_opened: u64,
    /// Calls the never-reading clients sent.
    pub never_read_calls: u64,
    /// Hostile connections the broker closed (idle, slowloris and
    /// never-reading together).
    pub closed_by_broker: u64,
    /// Hostile connections that could not be opened.
    pub connect_failed: u64,
}

/// Backend processes killed and restarted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendCounts {
    /// SIGKILLs sent.
    pub kills: u64,
    /// Restarts.
    pub restarts: u64,
}

/// RSS samples (one a second) whose lowest stands for the broker's RSS at
/// the end of the warm-up and at the end of the load phase: 10.
pub const RSS_FLOOR_SAMPLES: usize = 10;

/// The broker process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerFigures {
    /// Resident set size, KiB, before any client connected.
    pub rss_start_kib: u64,
    /// The lowest RSS of the [`RSS_FLOOR_SAMPLES`] samples from the end
    /// of the warm-up (the reference of "RSS flat").
    pub rss_after_warmup_kib: u64,
    /// RSS at the end of the load phase, every connection still open.
    pub rss_end_kib: u64,
    /// Highest RSS sampled (once a second) during the load phase.
    pub rss_max_kib: u64,
    /// Every RSS sample of the load phase (one a second), KiB.
    pub rss_trace_kib: Vec<u64>,
    /// Whether the broker was still running at the end.
    pub alive_at_end: bool,
}

impl BrokerFigures {
    /// At most `points` samples of the RSS trace, evenly spaced, the last
    /// one included.
    pub fn rss_trace_points(&self, points: usize) -> Vec<u64> {
        let n = self.rss_trace_kib.len();
        if n <= points || points < 2 {
            return self.rss_trace_kib.clone();
        }
        (0..points)
            .filter_map(|i| self.rss_trace_kib.get(i * (n - 1) / (points - 1)).copied())
            .collect()
    }

    /// RSS growth from the end of the warm-up to the end of the load
    /// phase, KiB (negative when it shrank): the lowest of the last
    /// [`RSS_FLOOR_SAMPLES`] samples less [`Self::rss_after_warmup_kib`].
    /// Floors, not single samples: replies queued for clients that read
    /// slowly or never swing the RSS by tens of MiB from one second to the
    /// next, while a leak raises the floor.
    pub fn rss_growth_kib(&self) -> i64 {
        let end = self
            .rss_trace_kib
            .iter()
            .rev()
            .take(RSS_FLOOR_SAMPLES)
            .min()
            .copied()
            .unwrap_or(self.rss_end_kib);
        i64::try_from(end).unwrap_or(i64::MAX)
            - i64::try_from(self.rss_after_warmup_kib).unwrap_or(i64::MAX)
    }
}

/// Latency of the answered calls, microseconds.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        // 1 us .. 1 hour, 3 significant digits; these bounds are valid.
        Latency(
            Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| {
                Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits"))
            }),
        )
    }
}

impl Latency {
    /// Records one call's latency (saturated to the histogram's range).
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(us.max(1));
    }

    /// Adds `other`'s samples.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides: cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// The `q` quantile (0.0..=1.0), microseconds; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        self.0.value_at_quantile(q)
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }
}

/// Everything a load run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Length of the load phase.
    pub load_time: Duration,
    /// Well-behaved connections.
    pub connections: ConnectionCounts,
    /// Their calls.
    pub calls: CallCounts,
    /// Their failures by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Their answered calls' latency.
    pub latency: Latency,
    /// The datastore checks (zero when not in the datastore mix).
    pub writes: WriteCounts,
    /// The hostile clients.
    pub chaos: ChaosCounts,
    /// Backend kills and restarts.
    pub backends: BackendCounts,
    /// The broker's memory and health.
    pub broker: BrokerFigures,
}

impl LoadReport {
    /// Adds one failure of kind `kind`.
    pub fn error(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Adds the counters of `other` (one client's share) to this report.
    pub fn merge_client(&mut self, other: &LoadReport) {
        let (a, b) = (&mut self.calls, &other.calls);
        a.sent += b.sent;
        a.answered += b.answered;
        a.answered_in_load += b.answered_in_load;
        a.unanswered += b.unanswered;
        a.duplicate_replies += b.duplicate_replies;
        a.unexpected_replies += b.unexpected_replies;
        let (a, b) = (&mut self.connections, &other.connections);
        a.opened += b.opened;
        a.reopened += b.reopened;
        let (a, b) = (&mut self.writes, &other.writes);
        a.acknowledged_puts += b.acknowledged_puts;
        a.unacknowledged_puts += b.unacknowledged_puts;
        a.wrong_reads_in_load += b.wrong_reads_in_load;
        a.keys_checked += b.keys_checked;
        a.unreadable += b.unreadable;
        a.wrong_value += b.wrong_value;
        for (k, n) in &other.errors {
            *self.errors.entry(*k).or_default() += n;
        }
        self.latency.merge(&other.latency);
    }

    /// Answered calls per second of the load phase.
    pub fn calls_per_sec(&self) -> f64 {
        self.calls.answered_in_load as f64 / self.load_time.as_secs_f64().max(1e-9)
    }

    /// Every counter that must be zero (or true) for a clean run and is
    /// not, as `name = value`: unanswered, duplicate and unexpected
    /// replies, failures of any kind, wrong or unreadable datastore
    /// values, a broker that died.
    pub fn violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        let mut check = |name: &str, n: u64| {
            if n != 0 {
                v.push(format!("{name} = {n}"));
            }
        };
        check("calls without a reply", self.calls.unanswered);
        check("calls with two replies", self.calls.duplicate_replies);
        check("replies to unknown XIDs", self.calls.unexpected_replies);
        check(
            "wrong reads during the load",
            self.writes.wrong_reads_in_load,
        );
        check("acknowledged keys unreadable", self.writes.unreadable);
        check(
            "acknowledged keys with a wrong value",
            self.writes.wrong_value,
        );
        for (kind, n) in &self.errors {
            check(&format!("errors: {kind}"), *n);
        }
        if !self.broker.alive_at_end {
            v.push("the broker exited".to_owned());
        }
        v
    }

    /// The report as aligned text lines.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let c = &self.calls;
        let l = &self.latency;
        let _ = writeln!(s, "load phase        {:.1} s", self.load_time.as_secs_f64());
        let _ = writeln!(
            s,
            "connections       {} open at start, {} opened, {} reopened",
            self.connections.open_at_start, self.connections.opened, self.connections.reopened
        );
        let _ = writeln!(
            s,
            "calls             {} sent, {} answered ({} in the load phase)",
            c.sent, c.answered, c.answered_in_load
        );
        let _ = writeln!(s, "throughput        {:.0} calls/s", self.calls_per_sec());
        let _ = writeln!(
            s,
            "latency us        p50 {} p90 {} p99 {} p99.9 {} max {}",
            l.quantile_us(0.5),
            l.quantile_us(0.9),
            l.quantile_us(0.99),
            l.quantile_us(0.999),
            l.quantile_us(1.0)
        );
        let _ = writeln!(
            s,
            "replies           {} calls without a reply, {} with two, {} to unknown XIDs",
            c.unanswered, c.duplicate_replies, c.unexpected_replies
        );
        if self.errors.is_empty() {
            let _ = writeln!(s, "errors            none");
        }
        for (kind, n) in &self.errors {
            let _ = writeln!(s, "errors            {n} {kind}");
        }
        let w = &self.writes;
        if w.acknowledged_puts + w.unacknowledged_puts > 0 {
            let _ = writeln!(
                s,
                "writes            {} acknowledged PUTs, {} unacknowledged, {} wrong reads in the load",
                w.acknowledged_puts, w.unacknowledged_puts, w.wrong_reads_in_load
            );
            let _ = writeln!(
                s,
                "read-back         {} keys checked, {} unreadable, {} wrong value",
                w.keys_checked, w.unreadable, w.wrong_value
            );
        }
        let h = &self.chaos;
        let _ = writeln!(
            s,
            "chaos             {} disconnects mid-call, {} idle, {} slowloris, {} never-reading ({} calls) opened; {} closed by the broker, {} failed to connect",
            h.disconnects,
            h.idle_opened,
            h.slowloris_opened,
            h.never_read_opened,
            h.never_read_calls,
            h.closed_by_broker,
            h.connect_failed
        );
        let _ = writeln!(
            s,
            "backends          {} killed, {} restarted",
            self.backends.kills, self.backends.restarts
        );
        let b = &self.broker;
        let _ = writeln!(
            s,
            "broker RSS KiB    start {} after warm-up {} end {} max {}; {}",
            b.rss_start_kib,
            b.rss_after_warmup_kib,
            b.rss_end_kib,
            b.rss_max_kib,
            if b.alive_at_end {
                "running at the end"
            } else {
                "EXITED"
            }
        );
        let trace: Vec<String> = b.rss_trace_points(12).iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "broker RSS trace  {} (KiB, evenly spaced over the load phase)",
            trace.join(" ")
        );
        let violations = self.violations();
        if violations.is_empty() {
            let _ = writeln!(s, "verdict           clean");
        } else {
            let _ = writeln!(s, "verdict           {}", violations.join("; "));
        }
        s
    }
}
