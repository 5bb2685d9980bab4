//! Supervision of backend connections: connect, reconnect with
//! exponential backoff and jitter, health checks (NULL calls), ejection
//! and readmission, and the restart-intensity limit. Each backend has
//! `connections` slots, each supervised on its own; failures, ejection and
//! the restart intensity are counted per backend.

use std::time::{Duration, Instant};

use rpc_runtime::message::{CallHeader, OpaqueAuth};
use xdr_codec::XdrEncode;

use super::handles::{BackendId, ConnId};
use super::output::{Destination, Event, FailReason, Transmit};
use super::state::{Link, LinkState, Outstanding};
use super::timers::Timer;
use super::Core;

impl Core {
    pub(super) fn link_mut(&mut self, backend: BackendId, slot: usize) -> Option<&mut LinkState> {
        self.backends.get_mut(backend.0)?.links.get_mut(slot)
    }

    /// Registers the slot's next supervision deadline with the timers.
    pub(super) fn rearm(&mut self, backend: BackendId, slot: usize) {
        let reaped = self.backends.get(backend.0).is_some_and(|s| s.reaped);
        let Some(l) = self.link_mut(backend, slot) else {
            return;
        };
        let next = if reaped { None } else { l.next_wake() };
        if next == l.wake {
            return;
        }
        if let Some(old) = std::mem::replace(&mut l.wake, next) {
            self.timers.remove(old, Timer::Link(backend, slot));
        }
        if let Some(at) = next {
            self.timers.insert(at, Timer::Link(backend, slot));
        }
    }

    /// Asks the driver for a new connection in `slot`, unless the restart
    /// intensity is exceeded.
    pub(super) fn start_connect(&mut self, backend: BackendId, slot: usize, now: Instant) {
        if self.is_retired(backend) {
            // Retired: its calls were on the lost connection; nothing to remake.
            if let Some(l) = self.link_mut(backend, slot) {
                l.link = Link::Down { retry_at: now };
            }
            return;
        }
        let sup = self.config.supervision;
        let conn = ConnId(self.next_conn);
        let first_xid = self.rng.next_u64() as u32;
        let Some(s) = self.backends.get_mut(backend.0) else {
            return;
        };
        while s
            .restarts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= sup.restart_window)
        {
            s.restarts.pop_front();
        }
        if s.restarts.len() >= sup.max_restarts as usize {
            s.restarts.clear();
            let newly = !s.ejected;
            s.ejected = true;
            let failures = s.failures;
            if let Some(l) = s.links.get_mut(slot) {
                l.link = Link::Down {
                    retry_at: now + sup.backoff_max,
                };
            }
            self.events
                .push_back(Event::RestartIntensityExceeded { backend });
            if newly {
                self.events.push_back(Event::Ejected { backend, failures });
                self.requeue_all(now, backend);
            }
            self.rearm(backend, slot);
            return;
        }
        s.restarts.push_back(now);
        let Some(l) = s.links.get_mut(slot) else {
            return;
        };
        self.next_conn += 1;
        l.next_xid = first_xid;
        l.link = Link::Connecting {
            conn,
            deadline: now + sup.connect_timeout,
        };
        self.conns.insert(conn, (backend, slot));
        self.events.push_back(Event::Connect { backend, conn });
        self.rearm(backend, slot);
    }

    pub(super) fn connected(
        &mut self,
        now: Instant,
        backend: BackendId,
        slot: usize,
        conn: ConnId,
    ) {
        let interval = self.config.supervision.health_interval;
        let Some(s) = self.backends.get_mut(backend.0) else {
            return;
        };
        let ejected = s.ejected;
        let Some(l) = s.links.get_mut(slot) else {
            return;
        };
        if !matches!(l.link, Link::Connecting { conn: c, .. } if c == conn) {
            return;
        }
        l.link = Link::Up { conn };
        l.connect_failures = 0;
        l.probe = None;
        // An ejected backend is checked at once, to be readmitted.
        l.next_probe = Some(if ejected { now } else { now + interval });
        self.events.push_back(Event::BackendUp { backend });
        self.rearm(backend, slot);
        if ejected {
            self.link_timer(now, backend, slot);
        }
        self.pump(now, backend);
    }

    /// Connection `conn` (slot `slot` of `backend`) failed, closed or was
    /// given up: its calls are retried or failed, and a reconnection is
    /// scheduled; if the backend has no usable connection left, its queue
    /// is placed elsewhere.
    pub(super) fn connection_lost(
        &mut self,
        now: Instant,
        backend: BackendId,
        slot: usize,
        conn: ConnId,
    ) {
        self.conns.remove(&conn);
        let Some(l) = self.link_mut(backend, slot) else {
            return;
        };
        if l.conn() != Some(conn) {
            return;
        }
        l.connect_failures = l.connect_failures.saturating_add(1);
        l.probe = None;
        l.next_probe = None;
        let delay = self.backoff(backend, slot);
        if let Some(l) = self.link_mut(backend, slot) {
            l.link = Link::Down {
                retry_at: now + delay,
            };
        }
        self.note_failure(now, backend);
        let failures = self.backends.get(backend.0).map_or(0, |s| s.failures);
        self.events.push_back(Event::BackendDown {
            backend,
            failures,
            retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        });
        self.rearm(backend, slot);
        for (_, o) in self.outstanding_on(conn) {
            if let Outstanding::Call(id) = o {
                self.attempt_failed(now, id, FailReason::ConnectionLost);
            }
        }
        for (k, _) in self.outstanding_on(conn) {
            self.outstanding.remove(&k);
        }
        if let Some(s) = self.backends.get_mut(backend.0) {
            if let Some(l) = s.links.get_mut(slot) {
                l.in_flight = 0;
            }
            s.in_flight = s.links.iter().map(|l| l.in_flight).sum();
        }
        if !self.backends.get(backend.0).is_some_and(|s| s.usable()) {
            self.requeue_all(now, backend);
        }
    }

    /// The delay before the slot's next connection attempt:
    /// `backoff_initial` doubled per consecutive failure beyond the first,
    /// capped at `backoff_max`, then drawn uniformly from half of it to all
    /// of it.
    fn backoff(&mut self, backend: BackendId, slot: usize) -> Duration {
        let sup = self.config.supervision;
        let n = self
            .link_mut(backend, slot)
            .map_or(1, |l| l.connect_failures)
            .saturating_sub(1)
            .min(30);
        let full = sup
            .backoff_initial
            .saturating_mul(1u32 << n)
            .min(sup.backoff_max);
        let nanos = u64::try_from(full.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.between(nanos / 2, nanos))
    }

    /// One more consecutive failure; ejects at the threshold.
    fn note_failure(&mut self, now: Instant, backend: BackendId) {
        let limit = self.config.supervision.eject_after_failures;
        let Some(s) = self.backends.get_mut(backend.0) else {
            return;
        };
        s.failures = s.failures.saturating_add(1);
        if !s.ejected && s.failures >= limit {
            s.ejected = true;
            self.events.push_back(Event::Ejected {
                backend,
                failures: s.failures,
            });
            self.requeue_all(now, backend);
        }
    }

    /// A supervision deadline of slot `slot` of `backend` may be due.
    pub(super) fn link_timer(&mut self, now: Instant, backend: BackendId, slot: usize) {
        let sup = self.config.supervision;
        let Some(l) = self.link_mut(backend, slot) else {
            return;
        };
        match l.link {
            Link::Down { retry_at } if retry_at <= now => self.start_connect(backend, slot, now),
            Link::Connecting { conn, deadline } if deadline <= now => {
                self.events.push_back(Event::CloseBackend { conn });
                self.connection_lost(now, backend, slot, conn);
            }
            Link::Up { conn } => {
                if let Some((xid, deadline)) = l.probe {
                    if deadline <= now {
                        l.probe = None;
                        l.next_probe = Some(now + sup.health_interval);
                        self.outstanding.remove(&(conn, xid));
                        self.note_failure(now, backend);
                        if self.backends.get(backend.0).is_some_and(|s| s.ejected) {
                            // Unresponsive: drop the connection; calls on it
                            // are retried or failed, and it is remade.
                            self.events.push_back(Event::CloseBackend { conn });
                            self.connection_lost(now, backend, slot, conn);
                            return;
                        }
                    }
                } else if l.next_probe.is_some_and(|t| t <= now) {
                    self.send_probe(now, backend, slot, conn);
                }
                self.rearm(backend, slot);
            }
            _ => self.rearm(backend, slot),
        }
    }

    fn send_probe(&mut self, now: Instant, backend: BackendId, slot: usize, conn: ConnId) {
        let sup = self.config.supervision;
        let Some((program, version)) = self.config.backends.get(backend.0).map(|b| b.health_check)
        else {
            return;
        };
        let xid = self.allocate_xid(backend, slot, conn);
        let record =
            match CallHeader::new(xid, program, version, 0, OpaqueAuth::none()).to_xdr_bytes() {
                Ok(r) => r,
                Err(_) => return,
            };
        self.outstanding.insert((conn, xid), Outstanding::Probe);
        if let Some(l) = self.link_mut(backend, slot) {
            l.probe = Some((xid, now + sup.health_timeout));
            l.next_probe = None;
        }
        self.transmits.push_back(Transmit {
            destination: Destination::Backend(conn),
            xid,
            rest: record.slice(4.min(record.len())..),
        });
        self.rearm(backend, slot);
    }

    pub(super) fn probe_answered(&mut self, now: Instant, backend: BackendId, slot: usize) {
        let interval = self.config.supervision.health_interval;
        let Some(s) = self.backends.get_mut(backend.0) else {
            return;
        };
        s.failures = 0;
        let readmit = s.ejected;
        if readmit {
            s.ejected = false;
            s.restarts.clear();
            self.events.push_back(Event::Readmitted { backend });
        }
        if let Some(l) = self.link_mut(backend, slot) {
            l.probe = None;
            l.next_probe = Some(now + interval);
        }
        self.rearm(backend, slot);
        if readmit {
            self.pump(now, backend);
        }
    }
}
