//! Checking a parsed [`Config`] and turning it into the core's
//! [`CoreConfig`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rpc_runtime::Endpoint;
use toml::Spanned;

use super::{BackendAddress, Config, ConfigError, KeySource, ProcedureClass};
use crate::core::route::{BackendId, RouteId, RoutingTable, Rule};
use crate::core::{Access, MissRule};
use crate::core::{BackendSpec, CoreConfig, CoreLimits, KeyRule, ProcedurePolicy, RoutePlan};

/// `routes[i].KEY (line N)` for messages.
fn at<T>(text: &str, route: usize, key: &str, spanned: &Spanned<T>) -> String {
    let offset = spanned.span().start.min(text.len());
    let line = text
        .get(..offset)
        .map_or(0, |t| t.bytes().filter(|b| *b == b'\n').count())
        + 1;
    format!("routes[{route}].{key} (line {line})")
}

/// `TABLE.KEY (line N)`: where `KEY = ...` is written under `[TABLE]`
/// (just `TABLE.KEY` when it is not written there, e.g. a default).
fn key_at(text: &str, table: &str, key: &str) -> String {
    let mut current = "";
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix('[') {
            current = h
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            continue;
        }
        let name = l.split('=').next().unwrap_or("").trim();
        if current == table && l.contains('=') && name == key {
            return format!("{table}.{key} (line {})", i + 1);
        }
    }
    format!("{table}.{key}")
}

impl Config {
    pub(super) fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.listen.is_empty() {
            return invalid("listen: at least one address is needed".into());
        }
        for (i, l) in self.listen.iter().enumerate() {
            if let Some((key, why)) = l.check() {
                return invalid(format!("listen[{i}].{key}: {why}"));
            }
        }
        if self.limits.reserved_fds < 16 {
            return invalid(format!(
                "{}: must be at least 16 (the admin socket and /metrics need them)",
                key_at(text, "limits", "reserved_fds")
            ));
        }
        let limits = [
            (
                "max_in_flight_per_client",
                self.limits.max_in_flight_per_client,
                1 << 16,
            ),
            (
                "max_in_flight_per_backend",
                self.limits.max_in_flight_per_backend,
                1 << 20,
            ),
            ("max_connections", self.limits.max_connections, 1 << 20),
        ];
        for (key, v, max) in limits {
            if v == 0 || v > max {
                return invalid(format!(
                    "{}: must be from 1 to {max}",
                    key_at(text, "limits", key)
                ));
            }
        }
        let positive = [
            ("idle_timeout_ms", self.limits.idle_timeout_ms),
            ("record_timeout_ms", self.limits.record_timeout_ms),
            ("write_timeout_ms", self.limits.write_timeout_ms),
            (
                "max_unread_bytes_per_client",
                self.limits.max_unread_bytes_per_client,
            ),
            ("max_unread_bytes", self.limits.max_unread_bytes),
        ];
        for (key, v) in positive {
            if v == 0 {
                return invalid(format!(
                    "{}: must be at least 1",
                    key_at(text, "limits", key)
                ));
            }
        }
        if self.limits.max_record_bytes < 24 {
            return invalid(format!(
                "{}: must be at least 24 (one call header)",
                key_at(text, "limits", "max_record_bytes")
            ));
        }
        for (name, b) in &self.backends {
            if b.connections == 0 || b.connections > 64 {
                return invalid(format!(
                    "{}: must be from 1 to 64",
                    key_at(text, &format!("backends.{name}"), "connections")
                ));
            }
            if let Some(tls) = &b.tls {
                let table = format!("backends.{name}.tls");
                if !matches!(b.address, BackendAddress::Endpoint(Endpoint::Tcp(_))) {
                    return invalid(format!(
                        "{table}: only a TCP backend is reached over RPC-over-TLS"
                    ));
                }
                if let Some((key, why)) = tls.check() {
                    return invalid(format!("{}: {why}", key_at(text, &table, key)));
                }
            }
        }
        if let Some((key, why)) = self.supervision.check() {
            return invalid(format!("{}: {why}", key_at(text, "supervision", key)));
        }
        if let Some((key, why)) = self.udp.check() {
            return invalid(format!("{}: {why}", key_at(text, "udp", key)));
        }
        for (i, r) in self.routes.iter().enumerate() {
            let names: Vec<(&str, String)> = match (&r.backend, &r.pool) {
                (Some(b), None) => vec![(b.get_ref().as_str(), at(text, i, "backend", b))],
                (None, Some(p)) => {
                    let where_ = at(text, i, "pool", p);
                    if p.get_ref().is_empty() {
                        return invalid(format!("{where_}: names no backend"));
                    }
                    let mut seen = BTreeSet::new();
                    for n in p.get_ref() {
                        if !seen.insert(n) {
                            return invalid(format!("{where_}: `{n}` appears twice"));
                        }
                    }
                    p.get_ref()
                        .iter()
                        .map(|n| (n.as_str(), where_.clone()))
                        .collect()
                }
                (Some(b), Some(_)) => {
                    return invalid(format!(
                        "{}: give either `backend` or `pool`, not both",
                        at(text, i, "backend", b)
                    ))
                }
                (None, None) => {
                    return invalid(format!("routes[{i}]: `backend` or `pool` is needed"))
                }
            };
            for (name, where_) in &names {
                if !self.backends.contains_key(*name) {
                    return invalid(format!("{where_}: no backend named `{name}` in [backends]"));
                }
            }
            if let Some(rep) = &r.replicas {
                let n = *rep.get_ref();
                if n == 0 || n > names.len() {
                    return invalid(format!(
                        "{}: must be from 1 to the pool size ({})",
                        at(text, i, "replicas", rep),
                        names.len()
                    ));
                }
            }
            let replicas = r.replicas.as_ref().map_or(1, |s| *s.get_ref());
            if let Some(m) = &r.min_acks {
                let n = *m.get_ref();
                if n == 0 || n > replicas {
                    return invalid(format!(
                        "{}: must be from 1 to replicas ({replicas})",
                        at(text, i, "min_acks", m)
                    ));
                }
            }
            let mut procs = BTreeSet::new();
            for p in &r.procedures {
                let where_ = at(text, i, "procedures", p);
                let proc_ = p.get_ref();
                if !procs.insert(proc_.procedure) {
                    return invalid(format!(
                        "{where_}: procedure {} is listed twice",
                        proc_.procedure
                    ));
                }
                if proc_.class == Some(ProcedureClass::Write) && (r.key.is_none() || !proc_.keyed) {
                    return invalid(format!(
                        "{where_}: procedure {} is classed `write` but is not keyed \
                         (the route needs `key` and the procedure `keyed = true`)",
                        proc_.procedure
                    ));
                }
            }
        }
        let (rules, _) = self.rules();
        RoutingTable::new(&rules, self.routes.len())
            .map_err(|e| ConfigError::Invalid(format!("routes: {e}")))?;
        Ok(())
    }

    /// The RPCSEC_GSS settings for connections to backend `name`
    /// (`[backends.NAME.gss]`), if it has them.
    pub(crate) fn backend_gss(&self, name: &str) -> Option<crate::config::BackendGss> {
        self.backends.get(name).and_then(|b| b.gss.clone())
    }

    /// The backends' names and addresses in [`BackendId`] order, and one
    /// [`Rule`] per route (route `i` is [`RouteId`]`(i)`).
    pub fn rules(&self) -> (Vec<Rule>, Vec<(&str, &BackendAddress)>) {
        let backends = self
            .backends
            .iter()
            .map(|(name, b)| (name.as_str(), &b.address))
            .collect();
        let rules = self
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| Rule {
                program: r.program,
                versions: r.versions.clone(),
                route: RouteId(i),
            })
            .collect();
        (rules, backends)
    }

    /// The core's configuration, with jitter seed `seed`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when the routes overlap (as
    /// [`Config::from_toml`] checks).
    pub fn core_config(&self, seed: u64) -> Result<CoreConfig, ConfigError> {
        let ids: BTreeMap<&str, BackendId> = self
            .backends
            .keys()
            .enumerate()
            .map(|(i, n)| (n.as_str(), BackendId(i)))
            .collect();
        let mut health: BTreeMap<BackendId, (u32, u32)> = BTreeMap::new();
        let mut routes = Vec::new();
        for r in &self.routes {
            let names: Vec<&str> = match (&r.backend, &r.pool) {
                (Some(b), _) => vec![b.get_ref().as_str()],
                (None, Some(p)) => p.get_ref().iter().map(String::as_str).collect(),
                (None, None) => Vec::new(),
            };
            let pool: Vec<BackendId> = names.iter().filter_map(|n| ids.get(n).copied()).collect();
            let version = r.versions.iter().copied().min().unwrap_or(1);
            for b in &pool {
                health.entry(*b).or_insert((r.program, version));
            }
            let ms = Duration::from_millis;
            routes.push(RoutePlan {
                replicas: r.replicas.as_ref().map_or(1, |s| *s.get_ref()),
                pool,
                key: r.key.map(|k| match k {
                    KeySource::FirstArgument => KeyRule::FirstOpaque {
                        max_bytes: self.limits.max_record_bytes as usize,
                    },
                }),
                timeout: ms(r.timeout_ms.unwrap_or(self.limits.call_timeout_ms)),
                retries: r.retries,
                attempt_timeout: r.attempt_timeout_ms.map(ms),
                min_acks: r.min_acks.as_ref().map_or(1, |s| *s.get_ref()),
                miss: r.miss_status.map(|status| MissRule { status }),
                procedures: r
                    .procedures
                    .iter()
                    .map(|p| {
                        let p = p.get_ref();
                        (
                            p.procedure,
                            ProcedurePolicy {
                                idempotent: p.idempotent,
                                keyed: p.keyed,
                                timeout: p.timeout_ms.map(ms),
                                access: match p.class {
                                    None => Access::Unclassed,
                                    Some(ProcedureClass::Read) => Access::Read,
                                    Some(ProcedureClass::Write) => Access::Write,
                                },
                            },
                        )
                    })
                    .collect(),
            });
        }
        let backends = self
            .backends
            .iter()
            .enumerate()
            .map(|(i, (name, b))| BackendSpec {
                name: name.clone(),
                connections: b.connections,
                health_check: health.get(&BackendId(i)).copied().unwrap_or((0, 0)),
            })
            .collect();
        let (rules, _) = self.rules();
        let table = RoutingTable::new(&rules, routes.len())
            .map_err(|e| ConfigError::Invalid(format!("routes: {e}")))?;
        Ok(CoreConfig {
            backends,
            routes,
            table,
            limits: CoreLimits {
                max_in_flight_per_client: self.limits.max_in_flight_per_client,
                max_in_flight_per_backend: self.limits.max_in_flight_per_backend,
            },
            supervision: self.supervision.to_core(),
            seed,
        })
    }
}
