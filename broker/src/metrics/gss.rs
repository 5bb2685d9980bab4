//! [`GssMetrics`]: `broker_gss_contexts_open`,
//! `broker_gss_contexts_evicted_total` and `broker_gss_refusals_total`,
//! for the listeners that end RPCSEC_GSS; `broker_gss_backend_contexts_total`
//! and `broker_gss_backend_context_failures_total` for the backends the
//! broker speaks RPCSEC_GSS to.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rpc_runtime::gss::{GssRefusal, ServerGss};

/// Labels of `broker_gss_refusals_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

/// The `reason` label of a call the allow list refused for its
/// principal (the other refusals are named by
/// [`GssRefusal::as_str`]).
pub(crate) const PRINCIPAL_NOT_ALLOWED: &str = "principal_not_allowed";

/// The `reason` label of each backend context failure: creation failed
/// on this side (`mechanism`: no credentials, unknown service), was
/// refused by the backend's GSS-API (`refused`) or its RPC layer
/// (`rejected`), broke off (`connection`, `protocol`); a reply's
/// verifier or results did not check (`bad_verifier`, `bad_results`);
/// the backend lost the context (`context_lost`:
/// RPCSEC_GSS_CREDPROBLEM or CTXPROBLEM); a call could not be protected
/// (`protect`).
pub(crate) const BACKEND_REASONS: [&str; 9] = [
    "mechanism",
    "refused",
    "rejected",
    "connection",
    "protocol",
    "bad_verifier",
    "bad_results",
    "context_lost",
    "protect",
];

/// What the RPCSEC_GSS listeners hold and refused, and the contexts made
/// towards backends.
#[derive(Debug)]
pub(crate) struct GssMetrics {
    /// The RPCSEC_GSS side of each listener that has one.
    servers: Mutex<Vec<Arc<ServerGss>>>,
    open: Gauge,
    evicted: Counter,
    /// The evictions already added to `evicted`.
    evicted_seen: Mutex<u64>,
    refusals: Family<RefusalLabels, Counter>,
    backend_contexts: Counter,
    backend_failures: Family<RefusalLabels, Counter>,
}

impl GssMetrics {
    /// The metrics, registered in `registry` with every series at zero.
    pub(crate) fn register(registry: &mut Registry) -> GssMetrics {
        let open = Gauge::default();
        registry.register(
            "gss_contexts_open",
            "RPCSEC_GSS contexts the listeners hold (established or being created)",
            open.clone(),
        );
        let evicted = Counter::default();
        registry.register(
            "gss_contexts_evicted",
            "RPCSEC_GSS contexts dropped because a listener held gss.max_contexts",
            evicted.clone(),
        );
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "gss_refusals",
            "Calls refused or dropped on RPCSEC_GSS listeners, by reason",
            refusals.clone(),
        );
        let reasons = GssRefusal::ALL.map(GssRefusal::as_str);
        for reason in reasons.into_iter().chain([PRINCIPAL_NOT_ALLOWED]) {
            drop(refusals.get_or_create(&RefusalLabels { reason }));
        }
        let backend_contexts = Counter::default();
        registry.register(
            "gss_backend_contexts",
            "RPCSEC_GSS contexts the broker made on backend connections",
            backend_contexts.clone(),
        );
        let backend_failures = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "gss_backend_context_failures",
            "RPCSEC_GSS contexts towards backends that could not be made or broke, by reason",
            backend_failures.clone(),
        );
        for reason in BACKEND_REASONS {
            drop(backend_failures.get_or_create(&RefusalLabels { reason }));
        }
        GssMetrics {
            servers: Mutex::default(),
            open,
            evicted,
            evicted_seen: Mutex::default(),
            refusals,
            backend_contexts,
            backend_failures,
        }
    }

    /// Counts the contexts of `server` in `broker_gss_contexts_open`.
    pub(crate) fn add_listener(&self, server: Arc<ServerGss>) {
        self.lock().push(server);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<ServerGss>>> {
        self.servers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a refused call; `reason` is a [`GssRefusal::as_str`] or
    /// [`PRINCIPAL_NOT_ALLOWED`].
    pub(crate) fn refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&RefusalLabels { reason }).inc();
    }

    /// Counts a context made on a backend connection.
    pub(crate) fn backend_context(&self) {
        self.backend_contexts.inc();
    }

    /// Counts a backend context failure; `reason` is one of
    /// [`BACKEND_REASONS`].
    pub(crate) fn backend_failed(&self, reason: &'static str) {
        self.backend_failures
            .get_or_create(&RefusalLabels { reason })
            .inc();
    }

    /// Brings the gauge and the eviction counter up to the listeners'
    /// context tables.
    pub(crate) fn update(&self) {
        let servers = self.lock();
        let open: usize = servers.iter().map(|s| s.contexts_open()).sum();
        self.open.set(i64::try_from(open).unwrap_or(i64::MAX));
        let evicted: u64 = servers.iter().map(|s| s.stats().contexts_evicted()).sum();
        let mut seen = self
            .evicted_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.evicted.inc_by(evicted.saturating_sub(*seen));
        *seen = evicted;
    }
}
