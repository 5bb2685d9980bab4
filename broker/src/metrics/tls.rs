//! [`TlsMetrics`]: `broker_tls_refusals_total`, from the counters the
//! TLS listeners share ([`TlsStats`]).

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
        TlsMetrics {
            stats: Arc::default(),
            refusals,
            last: Mutex::new([0; 3]),
        }
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
