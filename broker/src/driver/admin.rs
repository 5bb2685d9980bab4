//! The driver's side of administration: snapshots of the core, draining,
//! and applying a reloaded configuration.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use super::{BackendTarget, Input, State};
use crate::config::{BackendAddress, Config, ConfigError};
use crate::core::{BackendId, CoreConfig, KeyRule};
use crate::driver::backend::Target;
use crate::driver::tls::TlsStore;
use crate::status::{BackendSnapshot, RouteSnapshot, Snapshot};

/// A validated configuration, ready for the driver to apply.
#[derive(Debug)]
pub(crate) struct NewConfig {
    core: CoreConfig,
    /// Name, address and how to reach each backend, in the order of
    /// `core.backends`.
    backends: Vec<(String, BackendAddress, Target)>,
    /// Program and versions of each route.
    route_keys: Vec<(u32, Vec<u32>)>,
}

impl NewConfig {
    /// The parts of `config` the driver applies, with jitter seed `seed`;
    /// TLS backends reached with their settings in `tls`.
    ///
    /// # Errors
    ///
    /// As [`Config::core_config`].
    pub(crate) fn new(
        config: &Config,
        seed: u64,
        tls: &TlsStore,
    ) -> Result<NewConfig, ConfigError> {
        let core = config.core_config(seed)?;
        let (_, backends) = config.rules();
        Ok(NewConfig {
            core,
            backends: backends
                .into_iter()
                .map(|(n, a)| {
                    let gss = config.backend_gss(n);
                    (n.to_owned(), a.clone(), Target::new(a, tls.backend(n), gss))
                })
                .collect(),
            route_keys: route_keys(config),
        })
    }
}

/// Program and versions of each route of `config`.
pub(crate) fn route_keys(config: &Config) -> Vec<(u32, Vec<u32>)> {
    config
        .routes
        .iter()
        .map(|r| (r.program, r.versions.clone()))
        .collect()
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ReloadReport {
    /// Routes now.
    pub(crate) routes: usize,
    /// Backends that continue with their connections.
    pub(crate) kept: Vec<String>,
    /// Backends added (connecting).
    pub(crate) added: Vec<String>,
    /// Backends retired (closed once their calls in flight are answered).
    pub(crate) retired: Vec<String>,
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(", ")
            }
        };
        write!(
            f,
            "{} route(s); backends kept: {}; added: {}; retired: {}",
            self.routes,
            list(&self.kept),
            list(&self.added),
            list(&self.retired)
        )
    }
}

impl State {
    /// Answers one administration request.
    pub(super) fn admin(&mut self, now: Instant, msg: Input) {
        match msg {
            Input::Snapshot(reply) => {
                let _ = reply.send(self.snapshot(now));
            }
            Input::Drain(name, drained, reply) => {
                let _ = reply.send(self.drain(now, &name, drained));
            }
            Input::Reconfigure(new, reply) => {
                let _ = reply.send(self.reconfigure(now, *new));
            }
        }
    }

    pub(super) fn snapshot(&self, now: Instant) -> Snapshot {
        let name = |b: &BackendId| self.name(*b).to_owned();
        let backends = (0..self.core.config().backends.len())
            .filter_map(|i| {
                let b = BackendId(i);
                let status = self.core.backend_status(b)?;
                let links = self.core.link_status(now, b);
                let t = self.targets.get(i)?;
                // Retired and closed: history, not state.
                if status.retired && status.connections_up == 0 && status.in_flight == 0 {
                    return None;
                }
                Some(BackendSnapshot {
                    name: t.name.to_string(),
                    address: t.address.to_string(),
                    status,
                    links,
                })
            })
            .collect();
        let routes = self
            .core
            .config()
            .routes
            .iter()
            .zip(&self.route_keys)
            .map(|(plan, (program, versions))| RouteSnapshot {
                program: *program,
                versions: versions.clone(),
                pool: plan.pool.iter().map(name).collect(),
                replicas: plan.replicas,
                keyed: matches!(plan.key, Some(KeyRule::FirstOpaque { .. })),
                timeout: plan.timeout,
                retries: plan.retries,
                policies: crate::core::policy::describe(plan, |_| None),
            })
            .collect();
        Snapshot {
            stats: self.core.stats(),
            backends,
            routes,
            reloads: self.reloads,
        }
    }

    pub(super) fn drain(&mut self, now: Instant, name: &str, drained: bool) -> bool {
        let Some(b) = self.core.backend_by_name(name) else {
            return false;
        };
        let ok = self.core.drain(now, b, drained);
        if ok {
            tracing::info!(
                backend = name,
                "{}",
                if drained { "drained" } else { "undrained" }
            );
        }
        ok
    }

    pub(super) fn reconfigure(&mut self, now: Instant, new: NewConfig) -> ReloadReport {
        let NewConfig {
            core,
            backends,
            route_keys,
        } = new;
        let targets = &self.targets;
        let done = self.core.reconfigure(now, core, |old, i| {
            match (targets.get(old.0), backends.get(i)) {
                (Some(t), Some((_, address, target))) => {
                    t.address == *address && t.target.same_security(target)
                }
                _ => false,
            }
        });
        for (i, b) in done.backends.iter().enumerate() {
            if b.0 < self.targets.len() {
                continue;
            }
            let Some((name, address, target)) = backends.get(i) else {
                continue;
            };
            // New handles come in order after every existing one.
            self.targets.push(BackendTarget {
                name: Arc::from(name.as_str()),
                address: address.clone(),
                target: target.clone(),
            });
        }
        self.route_keys = route_keys;
        self.reloads = self.reloads.saturating_add(1);
        let names = |v: &[BackendId]| v.iter().map(|b| self.name(*b).to_owned()).collect();
        ReloadReport {
            routes: self.route_keys.len(),
            kept: done
                .backends
                .iter()
                .filter(|b| !done.added.contains(b))
                .map(|b| self.name(*b).to_owned())
                .collect(),
            added: names(&done.added),
            retired: names(&done.retired),
        }
    }
}
