//! [`TlsMetrics`]: `broker_tls_refusals_total`, from the counters the
//! TLS listeners share ([`TlsStats`]), and
//! `broker_backend_tls_failures_total`.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use rpc_runtime::tls::TlsStats;

/// Labels of `broker_tls_refusals_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

/// Labels of `broker_backend_tls_failures_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendFailureLabels {
    backend: String,
    reason: &'static str,
}

/// Reads one count of [`TlsStats`].
type Count = fn(&TlsStats) -> u64;

/// The `reason` label of each kind of refusal, and how to read its count.
const REASONS: [(&str, Count); 3] = [
    ("plain_call", TlsStats::plain_calls_refused),
    ("handshake", TlsStats::handshakes_failed),
    ("certificate", TlsStats::certificates_refused),
];

/// What the TLS listeners refused.
#[derive(Debug)]
pub(crate) struct TlsMetrics {
    /// The counters every TLS listener's upgrades add to.
    pub(crate) stats: Arc<TlsStats>,
    refusals: Family<RefusalLabels, Counter>,
    backend_failures: Family<BackendFailureLabels, Counter>,
    /// The counts already added to `refusals`, in [`REASONS`] order.
    last: Mutex<[u64; 3]>,
}

impl TlsMetrics {
    /// The counter family, registered in `registry` with every series at
    /// zero.
    pub(crate) fn register(registry: &mut Registry) -> TlsMetrics {
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "tls_refusals",
            "RPC-over-TLS refusals on the client listeners, by reason: plain_call (a call \
             without TLS where TLS is required), handshake (failed or timed out), \
             certificate (a client certificate missing or refused, or ours refused)",
            refusals.clone(),
        );
        for (reason, _) in REASONS {
            drop(refusals.get_or_create(&RefusalLabels { reason }));
        }
        let backend_failures = Family::<BackendFailureLabels, Counter>::default();
        registry.register(
            "backend_tls_failures",
            "RPC-over-TLS starts to backends that failed after the TCP connection was made, \
             by backend and reason: certificate (the backend's did not verify, or it refused \
             ours), not_offered (no STARTTLS answer to the probe), handshake (anything else)",
            backend_failures.clone(),
        );
        TlsMetrics {
            stats: Arc::default(),
            refusals,
            backend_failures,
            last: Mutex::new([0; 3]),
        }
    }

    /// Counts a failed RPC-over-TLS start to backend `backend`; `reason`
    /// is a [`TlsFailure`](rpc_runtime::tls::TlsFailure) name.
    pub(crate) fn backend_failed(&self, backend: &str, reason: &'static str) {
        self.backend_failures
            .get_or_create(&BackendFailureLabels {
                backend: backend.to_owned(),
                reason,
            })
            .inc();
    }

    /// Brings the counters up to the listeners' counts.
    pub(crate) fn update(&self) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        for ((reason, read), last) in REASONS.into_iter().zip(last.iter_mut()) {
            let now = read(&self.stats);
            self.refusals
                .get_or_create(&RefusalLabels { reason })
                .inc_by(now.saturating_sub(*last));
            *last = now;
        }
    }
}
