//! What an operator does to a running core: drain and undrain a backend,
//! apply a new configuration without dropping calls in flight, and look
//! at each backend's connections.

use std::time::{Duration, Instant};

use super::config::CoreConfig;
use super::handles::BackendId;
use super::output::Event;
use super::state::{BackendState, Link};
use super::timers::Timer;
use super::Core;

/// One connection slot of a backend, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// Connected, with `in_flight` calls outstanding on it.
    Up {
        /// Calls sent on it and not answered.
        in_flight: usize,
    },
    /// A connection is being made.
    Connecting,
    /// No connection; the next attempt is `retry_in` from now (`None`:
    /// never, the backend is retired).
    Down {
        /// Time until the next attempt.
        retry_in: Option<Duration>,
    },
}

/// What [`Core::reconfigure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconfigured {
    /// For each backend of the new configuration, in its order, the
    /// handle it has now: an existing backend that continues, or a new one.
    pub backends: Vec<BackendId>,
    /// Which of `backends` are new (their connections are being made).
    pub added: Vec<BackendId>,
    /// Backends gone from the configuration: retired, they take no new
    /// calls and are closed once their calls in flight are answered.
    pub retired: Vec<BackendId>,
}

impl Core {
    /// Takes `backend` out of routing (`drained`) or puts it back: a
    /// drained backend gets no new calls (keyed calls go to the key's next
    /// replica), its queued calls are placed elsewhere, its calls in flight
    /// finish, and it stays connected and health-checked. Returns false
    /// when there is no such backend (or it is retired).
    pub fn drain(&mut self, now: Instant, backend: BackendId, drained: bool) -> bool {
        let Some(s) = self.backends.get_mut(backend.0) else {
            return false;
        };
        if s.retired {
            return false;
        }
        let was = std::mem::replace(&mut s.drained, drained);
        if drained && !was {
            self.requeue_all(now, backend);
        } else if !drained && was {
            self.pump(now, backend);
        }
        true
    }

    /// The backend called `name` in the current configuration (not a
    /// retired one).
    pub fn backend_by_name(&self, name: &str) -> Option<BackendId> {
        self.config
            .backends
            .iter()
            .enumerate()
            .find(|(i, b)| b.name == name && self.backends.get(*i).is_some_and(|s| !s.retired))
            .map(|(i, _)| BackendId(i))
    }

    /// Applies a new configuration at `now` without dropping calls in
    /// flight. Routes, limits and supervision are replaced at once (calls
    /// already accepted keep their deadline and candidates). A backend of
    /// `config` continues an existing one when the names and the
    /// [`BackendSpec`](super::BackendSpec)s are equal and `same_target(old,
    /// new_index)` says its address is the same; the others are new and
    /// connected now. Existing backends that are not continued are retired.
    /// The jitter generator keeps its state (`config.seed` is ignored).
    ///
    /// Backend handles stay valid: continued backends keep theirs, new
    /// ones get fresh handles after every existing one, retired ones keep
    /// theirs (and their name) until the core is dropped.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        config: CoreConfig,
        same_target: impl Fn(BackendId, usize) -> bool,
    ) -> Reconfigured {
        let CoreConfig {
            backends: new_backends,
            mut routes,
            table,
            limits,
            supervision,
            seed: _,
        } = config;
        let mut mapping = Vec::with_capacity(new_backends.len());
        let mut added = Vec::new();
        let mut kept = vec![false; self.backends.len()];
        for (i, spec) in new_backends.into_iter().enumerate() {
            let existing = self.config.backends.iter().enumerate().find(|(j, old)| {
                **old == spec
                    && self.backends.get(*j).is_some_and(|s| !s.retired)
                    && kept.get(*j) == Some(&false)
                    && same_target(BackendId(*j), i)
            });
            match existing {
                Some((j, _)) => {
                    if let Some(k) = kept.get_mut(j) {
                        *k = true;
                    }
                    mapping.push(BackendId(j));
                }
                None => {
                    let id = BackendId(self.config.backends.len());
                    self.backends.push(BackendState::new(now, spec.connections));
                    self.config.backends.push(spec);
                    mapping.push(id);
                    added.push(id);
                }
            }
        }
        for plan in &mut routes {
            for b in &mut plan.pool {
                if let Some(m) = mapping.get(b.0) {
                    *b = *m;
                }
            }
        }
        self.round_robin = vec![0; routes.len()];
        self.config.routes = routes;
        self.config.table = table;
        self.config.limits = limits;
        self.config.supervision = supervision;
        let mut retired = Vec::new();
        for (j, k) in kept.iter().enumerate() {
            let b = BackendId(j);
            if *k || self.backends.get(j).is_none_or(|s| s.retired) {
                continue;
            }
            if let Some(s) = self.backends.get_mut(j) {
                s.retired = true;
                self.retiring += 1;
            }
            retired.push(b);
            self.requeue_all(now, b);
        }
        for b in &added {
            let slots = self.backends.get(b.0).map_or(0, |s| s.links.len());
            for slot in 0..slots {
                self.start_connect(*b, slot, now);
            }
        }
        // Backends with more room now may take their queues.
        for j in 0..self.backends.len() {
            self.pump(now, BackendId(j));
        }
        self.reap_retired(now);
        Reconfigured {
            backends: mapping,
            added,
            retired,
        }
    }

    /// The connection slots of `backend`, at `now`.
    pub fn link_status(&self, now: Instant, backend: BackendId) -> Vec<LinkStatus> {
        let Some(s) = self.backends.get(backend.0) else {
            return Vec::new();
        };
        s.links
            .iter()
            .map(|l| match l.link {
                Link::Up { .. } => LinkStatus::Up {
                    in_flight: l.in_flight,
                },
                Link::Connecting { .. } => LinkStatus::Connecting,
                Link::Down { retry_at } => LinkStatus::Down {
                    retry_in: (!s.retired).then(|| retry_at.saturating_duration_since(now)),
                },
            })
            .collect()
    }

    /// Closes the connections of retired backends that have no call in
    /// flight any more; they are no longer supervised.
    pub(super) fn reap_retired(&mut self, now: Instant) {
        if self.retiring == 0 {
            return;
        }
        for j in 0..self.backends.len() {
            let done = self
                .backends
                .get(j)
                .is_some_and(|s| s.retired && !s.reaped && s.in_flight == 0);
            if done {
                self.close_retired(now, BackendId(j));
            }
        }
    }

    fn close_retired(&mut self, now: Instant, backend: BackendId) {
        let Some(s) = self.backends.get_mut(backend.0) else {
            return;
        };
        s.reaped = true;
        self.retiring = self.retiring.saturating_sub(1);
        let mut closing = Vec::new();
        for (slot, l) in s.links.iter_mut().enumerate() {
            if let Some(conn) = l.conn() {
                closing.push(conn);
            }
            l.link = Link::Down { retry_at: now };
            l.probe = None;
            l.next_probe = None;
            if let Some(at) = l.wake.take() {
                self.timers.remove(at, Timer::Link(backend, slot));
            }
        }
        for conn in closing {
            self.conns.remove(&conn);
            for (k, _) in self.outstanding_on(conn) {
                self.outstanding.remove(&k);
            }
            self.events.push_back(Event::CloseBackend { conn });
        }
    }

    /// True when `backend` is retired (supervision of it stops).
    pub(super) fn is_retired(&self, backend: BackendId) -> bool {
        self.backends.get(backend.0).is_some_and(|s| s.retired)
    }
}
