//! [`AdminService`]: the broker's implementation of the generated
//! [`BrokerAdminV1`] server trait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rpc_runtime::server::{CallContext, HandlerResult};
use xdr_codec::XdrString;

use super::proto::{
    BaBackend, BaHealth, BaListener, BaName, BaReloadRes, BaRoute, BaStats, BaStatus, BaStatusOk,
    BaStatusRes, BaTask, BrokerAdminV1,
};
use crate::core::LinkStatus;
use crate::reload::{BrokerHandle, ReloadError};
use crate::status::{BackendSnapshot, Snapshot};

/// A listener as the status shows it.
#[derive(Debug, Clone)]
pub(crate) struct ListenerInfo {
    /// Its address with the real port.
    pub(crate) endpoint: String,
    /// Client connections open on it now.
    pub(crate) clients: Arc<AtomicUsize>,
}

/// Serves `specs/broker_admin.x` for a running broker.
#[derive(Debug, Clone)]
pub(crate) struct AdminService {
    pub(crate) handle: BrokerHandle,
    pub(crate) started: Instant,
    pub(crate) listeners: Vec<ListenerInfo>,
    /// Where the admin protocol and the metrics are served, for the task
    /// tree.
    pub(crate) services: Vec<(String, String)>,
}

/// `s` cut to at most `MAX` bytes at a character boundary.
fn text<const MAX: u32>(s: &str) -> XdrString<MAX> {
    let mut end = s.len().min(MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    XdrString::from(s.get(..end).unwrap_or(""))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn health(b: &BackendSnapshot) -> BaHealth {
    let s = b.status;
    if s.ejected {
        BaHealth::BaEjected
    } else if s.up {
        BaHealth::BaHealthy
    } else if b.links.contains(&LinkStatus::Connecting) {
        BaHealth::BaConnecting
    } else {
        BaHealth::BaDown
    }
}

fn health_word(h: BaHealth) -> &'static str {
    match h {
        BaHealth::BaHealthy => "healthy",
        BaHealth::BaConnecting => "connecting",
        BaHealth::BaDown => "down",
        BaHealth::BaEjected => "ejected",
    }
}

impl AdminService {
    fn status_ok(&self, snap: &Snapshot) -> BaStatusOk {
        let uptime = self.started.elapsed();
        let mut tasks = Vec::new();
        let mut task = |depth: u32, name: String, state: String| {
            tasks.push(BaTask {
                depth,
                name: text(&name),
                state: text(&state),
            });
        };
        task(
            0,
            format!("broker (pid {})", std::process::id()),
            format!(
                "running for {} s, {} reload(s)",
                uptime.as_secs(),
                snap.reloads
            ),
        );
        for l in &self.listeners {
            task(
                1,
                format!("listener {}", l.endpoint),
                format!("accepting, {} client(s)", l.clients.load(Ordering::Relaxed)),
            );
        }
        for (name, at) in &self.services {
            task(1, format!("{name} {at}"), "serving".to_owned());
        }
        task(
            1,
            "router".to_owned(),
            format!(
                "{} call(s) pending, {} client(s)",
                snap.stats.pending_calls, snap.stats.clients
            ),
        );
        for b in &snap.backends {
            let mut state = health_word(health(b)).to_owned();
            if b.status.drained {
                state.push_str(", drained");
            }
            if b.status.retired {
                state.push_str(", retired");
            }
            state.push_str(&format!(
                ", {} in flight, {} queued, {} failure(s)",
                b.status.in_flight, b.status.queued, b.status.failures
            ));
            task(2, format!("backend {} {}", b.name, b.address), state);
            for (i, l) in b.links.iter().enumerate() {
                let state = match l {
                    LinkStatus::Up { in_flight } => format!("up, {in_flight} in flight"),
                    LinkStatus::Connecting => "connecting".to_owned(),
                    LinkStatus::Down { retry_in: Some(d) } => {
                        format!("down, reconnecting in {} ms", d.as_millis())
                    }
                    LinkStatus::Down { retry_in: None } => "closed".to_owned(),
                };
                task(3, format!("connection {i}"), state);
            }
        }
        BaStatusOk {
            uptime_ms: u64::try_from(uptime.as_millis()).unwrap_or(u64::MAX),
            reloads: snap.reloads,
            config_source: text(&self.handle.source().to_string()),
            listeners: self
                .listeners
                .iter()
                .map(|l| BaListener {
                    endpoint: text(&l.endpoint),
                })
                .collect(),
            routes: snap
                .routes
                .iter()
                .map(|r| BaRoute {
                    program_number: r.program,
                    versions: r.versions.clone().into(),
                    pool: r.pool.iter().map(|n| text(n)).collect(),
                    replicas: count(r.replicas),
                    keyed: r.keyed,
                    timeout_ms: u64::try_from(r.timeout.as_millis()).unwrap_or(u64::MAX),
                    retries: r.retries,
                    policies: r.policies.iter().map(|l| text(l)).collect(),
                })
                .collect(),
            backends: snap
                .backends
                .iter()
                .map(|b| BaBackend {
                    name: text(&b.name),
                    address: text(&b.address),
                    health: health(b),
                    drained: b.status.drained,
                    retired: b.status.retired,
                    connections_up: count(b.status.connections_up),
                    connections: count(b.status.connections),
                    in_flight: count(b.status.in_flight),
                    queued: count(b.status.queued),
                    failures: b.status.failures,
                })
                .collect(),
            tasks: tasks.into(),
        }
    }

    async fn drain(&self, name: BaName, drained: bool) -> BaStatus {
        let Some(name) = name.as_str().map(str::to_owned) else {
            return BaStatus::BaNoent;
        };
        match self.handle.drain(&name, drained).await {
            Ok(true) => BaStatus::BaOk,
            Ok(false) => BaStatus::BaNoent,
            Err(_) => BaStatus::BaIo,
        }
    }
}

impl BrokerAdminV1 for AdminService {
    async fn ba_status(&self, _ctx: CallContext) -> HandlerResult<BaStatusRes> {
        Ok(match self.handle.snapshot().await {
            Ok(snap) => BaStatusRes::BaOk(self.status_ok(&snap)),
            Err(_) => BaStatusRes::Default(BaStatus::BaIo),
        })
    }

    async fn ba_stats(&self, _ctx: CallContext) -> HandlerResult<BaStats> {
        // A stopping broker answers zeros rather than nothing.
        let s = self.handle.snapshot().await.unwrap_or_default().stats;
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        Ok(BaStats {
            forwarded: s.forwarded,
            retries: s.retries,
            replies: s.replies,
            failed: s.failed,
            late_replies: s.late_replies,
            pending_calls: n(s.pending_calls),
            outstanding: n(s.outstanding_on_backends),
            clients: n(s.clients),
        })
    }

    async fn ba_drain(&self, _ctx: CallContext, arg: BaName) -> HandlerResult<BaStatus> {
        Ok(self.drain(arg, true).await)
    }

    async fn ba_undrain(&self, _ctx: CallContext, arg: BaName) -> HandlerResult<BaStatus> {
        Ok(self.drain(arg, false).await)
    }

    async fn ba_reload(&self, _ctx: CallContext) -> HandlerResult<BaReloadRes> {
        Ok(match self.handle.reload().await {
            Ok(msg) => BaReloadRes {
                status: BaStatus::BaOk,
                message: text(&msg),
            },
            Err(e @ ReloadError::Config(_)) => BaReloadRes {
                status: BaStatus::BaInval,
                message: text(&e.to_string()),
            },
            Err(e) => BaReloadRes {
                status: BaStatus::BaIo,
                message: text(&e.to_string()),
            },
        })
    }
}
