//! [`Metrics`]: the broker's metrics (OpenMetrics), and [`Recorder`], the
//! driver's cached handles that update them per call without building
//! label sets.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::gss::GssMetrics;
use super::tls::TlsMetrics;
use super::udp::UdpMetrics;
use crate::core::{BackendId, CallDone, CallStatus, CoreStats, HandleMap};
use crate::status::Snapshot;

/// Labels of `broker_calls_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    /// Program number, `0x` hexadecimal: the route.
    program: String,
    /// Backend name, or `none` when the broker answered alone.
    backend: String,
    /// [`CallStatus::as_str`].
    status: String,
}

/// Labels of the latency histogram: route and backend.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    program: String,
    backend: String,
}

/// Labels of per-backend series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

/// Labels of `broker_accept_errors_total` and
/// `broker_connections_refused_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// Labels of `broker_client_limit_hits_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

/// The limits on client connections, as `rpc_runtime` names them (one
/// vocabulary for the broker and `Server`).
pub(crate) use rpc_runtime::conn_limits::Limit as LimitHit;

/// Labels of `broker_config_reloads_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets, seconds: 50 µs doubling to about 26 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// Every metric the broker exports, registered in one [`Registry`].
pub(crate) struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    in_flight: Gauge,
    clients: Gauge,
    backend_in_flight: Family<BackendLabels, Gauge>,
    backend_up: Family<BackendLabels, Gauge>,
    backend_routable: Family<BackendLabels, Gauge>,
    backend_connections: Family<BackendLabels, Gauge>,
    reconnects: Family<BackendLabels, Counter>,
    late_replies: Counter,
    retries: Counter,
    miss_failovers: Counter,
    forwarded: Counter,
    reloads: Family<ReloadLabels, Counter>,
    /// The UDP listeners' counters.
    pub(crate) udp: UdpMetrics,
    /// The TLS listeners' refusals.
    pub(crate) tls: TlsMetrics,
    /// The RPCSEC_GSS listeners' contexts and refusals.
    pub(crate) gss: GssMetrics,
    accept_errors: Family<ReasonLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
    limit_hits: Family<LimitLabels, Counter>,
    /// Core counters already added to the `prometheus-client` counters.
    last: Mutex<CoreStats>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("broker");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "calls",
            "Calls answered, by route (program), backend and reply status",
            calls.clone(),
        );
        let latency: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "call_duration",
            "Time from a call's arrival to its answer, by route and backend",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "calls_in_flight",
            "Calls accepted and not yet answered",
            in_flight.clone(),
        );
        let clients = Gauge::default();
        registry.register(
            "client_connections",
            "Client connections open",
            clients.clone(),
        );
        let backend_in_flight = Family::<BackendLabels, Gauge>::default();
        registry.register(
            "backend_calls_in_flight",
            "Calls sent to a backend and not answered",
            backend_in_flight.clone(),
        );
        let backend_up = Family::<BackendLabels, Gauge>::default();
        registry.register(
            "backend_up",
            "1 when at least one connection to the backend is up",
            backend_up.clone(),
        );
        let backend_routable = Family::<BackendLabels, Gauge>::default();
        registry.register(
            "backend_routable",
            "1 when the backend takes new calls (not ejected, drained or retired)",
            backend_routable.clone(),
        );
        let backend_connections = Family::<BackendLabels, Gauge>::default();
        registry.register(
            "backend_connections",
            "Connections to the backend that are up",
            backend_connections.clone(),
        );
        let reconnects = Family::<BackendLabels, Counter>::default();
        registry.register(
            "backend_reconnects",
            "Backend connections lost or failed, each followed by a reconnection",
            reconnects.clone(),
        );
        let late_replies = Counter::default();
        registry.register(
            "late_replies",
            "Backend replies dropped because nobody waited for them any more",
            late_replies.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "retries",
            "Attempts after the first (retries and failovers)",
            retries.clone(),
        );
        let miss_failovers = Counter::default();
        registry.register(
            "miss_failovers",
            "Reads asked of the key's next replica after a miss (MissFailoverRoute)",
            miss_failovers.clone(),
        );
        let forwarded = Counter::default();
        registry.register(
            "forwarded",
            "Calls sent to backends, retries included",
            forwarded.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Configuration reloads, by result (applied or rejected)",
            reloads.clone(),
        );
        let udp = UdpMetrics::register(&mut registry);
        let tls = TlsMetrics::register(&mut registry);
        let gss = GssMetrics::register(&mut registry);
        let accept_errors = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "accept_errors",
            "Failed accepts on the client listeners, by reason (out_of_descriptors or other)",
            accept_errors.clone(),
        );
        let refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "connections_refused",
            "Client connections closed as soon as accepted, by reason (descriptors: out of file descriptors)",
            refused.clone(),
        );
        let limit_hits = Family::<LimitLabels, Counter>::default();
        registry.register(
            "client_limit_hits",
            "Limits on client connections reached, by limit",
            limit_hits.clone(),
        );
        for hit in LimitHit::ALL {
            // Every series exists from the start, at zero.
            drop(limit_hits.get_or_create(&LimitLabels {
                limit: hit.as_str(),
            }));
        }
        Metrics {
            registry,
            calls,
            latency,
            in_flight,
            clients,
            backend_in_flight,
            backend_up,
            backend_routable,
            backend_connections,
            reconnects,
            late_replies,
            retries,
            miss_failovers,
            forwarded,
            reloads,
            udp,
            tls,
            gss,
            accept_errors,
            refused,
            limit_hits,
            last: Mutex::new(CoreStats::default()),
        }
    }

    /// Counts a connection loss of backend `name`.
    pub(crate) fn reconnect(&self, name: &str) {
        self.reconnects
            .get_or_create(&BackendLabels {
                backend: name.to_owned(),
            })
            .inc();
    }

    /// Counts a failed accept on a client listener: `reason` is
    /// `out_of_descriptors` (EMFILE, ENFILE) or `other`.
    pub(crate) fn accept_error(&self, reason: &str) {
        self.accept_errors
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a client connection limit reached.
    pub(crate) fn limit_hit(&self, hit: LimitHit) {
        self.limit_hits
            .get_or_create(&LimitLabels {
                limit: hit.as_str(),
            })
            .inc();
    }

    /// Counts `n` client connections closed as soon as accepted because
    /// the process is out of file descriptors (`reason` `descriptors`;
    /// `max_connections` is counted by [`Metrics::limit_hit`]).
    pub(crate) fn refused(&self, reason: &str, n: u64) {
        self.refused
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc_by(n);
    }

    /// Counts a reload, `applied` or not.
    pub(crate) fn reload(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        self.reloads
            .get_or_create(&ReloadLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Sets the gauges (and the counters kept by the core) from a
    /// snapshot of the core, then renders every metric in the OpenMetrics
    /// text format.
    pub(crate) fn render(&self, snapshot: &Snapshot) -> String {
        let s = snapshot.stats;
        self.in_flight
            .set(i64::try_from(s.pending_calls).unwrap_or(i64::MAX));
        self.clients
            .set(i64::try_from(s.clients).unwrap_or(i64::MAX));
        if let Ok(mut last) = self.last.lock() {
            self.late_replies
                .inc_by(s.late_replies.saturating_sub(last.late_replies));
            self.retries.inc_by(s.retries.saturating_sub(last.retries));
            self.miss_failovers
                .inc_by(s.miss_failovers.saturating_sub(last.miss_failovers));
            self.forwarded
                .inc_by(s.forwarded.saturating_sub(last.forwarded));
            *last = s;
        }
        self.tls.update();
        self.gss.update();
        for b in &snapshot.backends {
            let l = BackendLabels {
                backend: b.name.clone(),
            };
            let st = b.status;
            let g = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
            self.backend_in_flight
                .get_or_create(&l)
                .set(g(st.in_flight));
            self.backend_up.get_or_create(&l).set(i64::from(st.up));
            self.backend_routable
                .get_or_create(&l)
                .set(i64::from(!(st.ejected || st.drained || st.retired)));
            self.backend_connections
                .get_or_create(&l)
                .set(g(st.connections_up));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The driver's handles on the per-call series, created once per
/// (program, backend, status) and (program, backend).
#[derive(Default)]
pub(crate) struct Recorder {
    /// Keyed by program (`None`: not routed), backend and status.
    counters: HandleMap<(Option<u32>, Option<BackendId>, CallStatus), Counter>,
    histograms: HandleMap<(u32, Option<BackendId>), Histogram>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("series", &self.counters.len())
            .finish()
    }
}

impl Recorder {
    /// Counts an answered call; `name` gives a backend's name.
    pub(crate) fn record<'a>(
        &mut self,
        metrics: &Metrics,
        done: &CallDone,
        name: impl Fn(BackendId) -> &'a str,
    ) {
        let program = done.call.0;
        let backend_name = || done.backend.map_or("none", &name).to_owned();
        // Program numbers no route has come from the network, as do those
        // of calls an allow list refused: one series for all of them, so
        // a client cannot make the series grow.
        let routed = match done.status {
            CallStatus::ProgUnavail | CallStatus::RpcMismatch | CallStatus::AuthError => {
                done.backend.map(|_| program)
            }
            _ => Some(program),
        };
        self.counters
            .entry((routed, done.backend, done.status))
            .or_insert_with(|| {
                metrics
                    .calls
                    .get_or_create(&CallLabels {
                        program: routed
                            .map_or_else(|| "unrouted".to_owned(), |p| format!("{p:#x}")),
                        backend: backend_name(),
                        status: done.status.as_str().to_owned(),
                    })
                    .clone()
            })
            .inc();
        if done.backend.is_some() {
            self.histograms
                .entry((program, done.backend))
                .or_insert_with(|| {
                    metrics
                        .latency
                        .get_or_create(&RouteLabels {
                            program: format!("{program:#x}"),
                            backend: backend_name(),
                        })
                        .clone()
                })
                .observe(done.elapsed.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn calls_and_latency_are_rendered_with_their_labels() {
        let m = Metrics::new();
        let mut r = Recorder::default();
        let done = CallDone {
            call: (0x2000_DA7A, 1, 2),
            backend: Some(BackendId(0)),
            status: CallStatus::Success,
            elapsed: Duration::from_micros(300),
        };
        for _ in 0..3 {
            r.record(&m, &done, |_| "store1");
        }
        let text = m.render(&Snapshot::default());
        assert!(
            text.contains(
                r#"broker_calls_total{program="0x2000da7a",backend="store1",status="success"} 3"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"broker_call_duration_seconds_count{program="0x2000da7a",backend="store1"} 3"#
            ),
            "{text}"
        );
        // Unrouted programs share one series, however many there are; so
        // do the programs of calls refused by an allow list.
        for program in 0..100 {
            for status in [CallStatus::ProgUnavail, CallStatus::AuthError] {
                let unrouted = CallDone {
                    call: (program, 1, 0),
                    backend: None,
                    status,
                    elapsed: Duration::ZERO,
                };
                r.record(&m, &unrouted, |_| "?");
            }
        }
        let text = m.render(&Snapshot::default());
        assert!(
            text.contains(
                r#"broker_calls_total{program="unrouted",backend="none",status="prog_unavail"} 100"#
            ),
            "{text}"
        );
        assert_eq!(text.matches("prog_unavail").count(), 1, "{text}");
        assert!(
            text.contains(
                r#"broker_calls_total{program="unrouted",backend="none",status="auth_error"} 100"#
            ),
            "{text}"
        );
        // 300 µs falls in the 400 µs bucket, not in the 200 µs one.
        for (le, n) in [("0.0002", 0), ("0.0004", 3)] {
            let line = format!(
                r#"broker_call_duration_seconds_bucket{{le="{le}",program="0x2000da7a",backend="store1"}} {n}"#
            );
            assert!(text.contains(&line), "{line} missing:\n{text}");
        }
    }
}
