//! The life of a forwarded call: placement, sending with a fresh XID,
//! reply, retry or failover, timeout.

use std::time::Instant;

use bytes::Bytes;
use rpc_runtime::message::reply::{accepted_error, denied};
use rpc_runtime::message::{AcceptStat, CallPeek, RejectStat};

use super::completion::{CallDone, CallStatus};
use super::config::KeyRule;
use super::handles::{BackendId, CallId, ClientId, ConnId, RouteId};
use super::output::{Destination, Event, FailReason, Transmit};
use super::state::{Call, CallState, Outstanding};
use super::timers::Timer;
use super::{hrw, key, Core};
use crate::core::route::Decision;

impl Core {
    /// A CALL from a known client: answer it here or start forwarding it.
    pub(super) fn accept_call(
        &mut self,
        now: Instant,
        client: ClientId,
        call: CallPeek,
        record: Bytes,
    ) {
        let header = (call.program, call.version, call.procedure);
        let route = match self.config.table.decide(&call) {
            Decision::Forward { route } => route,
            Decision::ProgUnavail => {
                self.note_done(header, None, CallStatus::ProgUnavail, now, now);
                return self.reply_to(client, accepted_error(call.xid, AcceptStat::ProgUnavail));
            }
            Decision::ProgMismatch { low, high } => {
                self.note_done(header, None, CallStatus::ProgMismatch, now, now);
                return self.reply_to(
                    client,
                    accepted_error(call.xid, AcceptStat::ProgMismatch { low, high }),
                );
            }
            Decision::RpcMismatch { low, high } => {
                self.note_done(header, None, CallStatus::RpcMismatch, now, now);
                return self.reply_to(
                    client,
                    denied(call.xid, RejectStat::RpcMismatch { low, high }),
                );
            }
        };
        if !self.client_has_capacity(client) {
            self.stats.failed += 1;
            let status = CallStatus::Broker(FailReason::ClientLimit);
            self.note_done(header, None, status, now, now);
            self.events.push_back(Event::CallFailed {
                client,
                xid: call.xid,
                call: header,
                reason: FailReason::ClientLimit,
            });
            return self.reply_to(client, accepted_error(call.xid, AcceptStat::SystemErr));
        }
        let Some(plan) = self.config.routes.get(route.0) else {
            return self.reply_to(client, accepted_error(call.xid, AcceptStat::SystemErr));
        };
        let policy = plan.policy(call.procedure);
        let attempt_timeout = plan.attempt_timeout;
        let timeout = policy.timeout.unwrap_or(plan.timeout);
        let max_attempts = if policy.idempotent {
            plan.retries.saturating_add(1)
        } else {
            1
        };
        let candidates = self.candidates(route, policy.keyed, &record);
        let id = CallId(self.next_call);
        self.next_call += 1;
        let deadline = now + timeout;
        self.calls.insert(
            id,
            Call {
                client,
                client_xid: call.xid,
                header,
                record,
                idempotent: policy.idempotent,
                candidates,
                tried: Vec::new(),
                max_attempts,
                deadline,
                attempt_timeout,
                started: now,
                state: CallState::Unassigned,
                orphan: false,
            },
        );
        if let Some(c) = self.clients.get_mut(&client) {
            c.calls.insert(id);
        }
        self.timers.insert(deadline, Timer::Call(id));
        self.place(now, id);
    }

    /// The backends that may serve a call of `route`, in preference order:
    /// the key's rendezvous order cut to `replicas`, or the pool rotated
    /// by a round-robin counter when there is no key.
    fn candidates(&mut self, route: RouteId, keyed: bool, record: &[u8]) -> Vec<BackendId> {
        let Some(plan) = self.config.routes.get(route.0) else {
            return Vec::new();
        };
        let key = match (keyed, plan.key) {
            (true, Some(KeyRule::FirstOpaque { max_bytes })) => {
                key::first_opaque_arg(record, max_bytes)
            }
            _ => None,
        };
        if let Some(key) = key {
            let names: Vec<&str> = plan
                .pool
                .iter()
                .map(|b| {
                    self.config
                        .backends
                        .get(b.0)
                        .map_or("", |s| s.name.as_str())
                })
                .collect();
            return hrw::rank(key, &names)
                .into_iter()
                .filter_map(|i| plan.pool.get(i).copied())
                .take(plan.replicas.max(1))
                .collect();
        }
        let n = plan.pool.len();
        let Some(start) = self.round_robin.get_mut(route.0) else {
            return plan.pool.clone();
        };
        let first = *start % n.max(1);
        *start = start.wrapping_add(1);
        (0..n)
            .filter_map(|i| plan.pool.get((first + i) % n).copied())
            .collect()
    }

    /// Sends a call, queues it on a backend, or fails it when no backend
    /// can take it. An untried usable candidate is preferred.
    pub(super) fn place(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.orphan {
            self.finish(id);
            return;
        }
        let usable = |b: &BackendId| self.backends.get(b.0).is_some_and(|s| s.usable());
        let pick = call
            .candidates
            .iter()
            .find(|b| usable(b) && !call.tried.contains(b))
            .or_else(|| call.candidates.iter().find(|b| usable(b)))
            .copied();
        let Some(backend) = pick else {
            return self.fail(now, id, FailReason::NoBackend);
        };
        let limit = self.config.limits.max_in_flight_per_backend;
        let Some(state) = self.backends.get_mut(backend.0) else {
            return self.fail(now, id, FailReason::NoBackend);
        };
        if state.least_loaded().is_some() && state.in_flight < limit && state.queue.is_empty() {
            self.send(now, id, backend);
        } else {
            state.queue.push_back(id);
            if let Some(call) = self.calls.get_mut(&id) {
                call.state = CallState::Queued(backend);
            }
        }
    }

    /// Sends call `id` on `backend`'s least loaded live connection with a
    /// fresh XID.
    fn send(&mut self, now: Instant, id: CallId, backend: BackendId) {
        let Some((slot, conn)) = self.backends.get(backend.0).and_then(|s| s.least_loaded()) else {
            return;
        };
        let xid = self.allocate_xid(backend, slot, conn);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let attempt_timeout = call.attempt_timeout;
        call.tried.push(backend);
        let last = call.attempts() >= call.max_attempts;
        let rest = call.record.slice(4.min(call.record.len())..);
        if last {
            // Never sent again: let the buffer go with the transmit.
            call.record = Bytes::new();
        }
        let attempt_deadline = match attempt_timeout {
            Some(t) if !last => Some((now + t).min(call.deadline)),
            _ => None,
        };
        call.state = CallState::Sent {
            backend,
            slot,
            conn,
            xid,
            attempt_deadline,
        };
        if call.attempts() > 1 {
            self.stats.retries += 1;
        }
        if let Some(at) = attempt_deadline {
            self.timers.insert(at, Timer::Attempt(id));
        }
        self.outstanding.insert((conn, xid), Outstanding::Call(id));
        self.add_in_flight(backend, slot, 1);
        self.stats.forwarded += 1;
        self.transmits.push_back(Transmit {
            destination: Destination::Backend(conn),
            xid,
            rest,
        });
    }

    /// Counts `delta` more (or fewer) calls in flight on a connection.
    fn add_in_flight(&mut self, backend: BackendId, slot: usize, delta: isize) {
        if let Some(s) = self.backends.get_mut(backend.0) {
            s.in_flight = s.in_flight.saturating_add_signed(delta);
            if let Some(l) = s.links.get_mut(slot) {
                l.in_flight = l.in_flight.saturating_add_signed(delta);
            }
        }
    }

    /// An XID not outstanding on `conn` (slot `slot` of `backend`).
    pub(super) fn allocate_xid(&mut self, backend: BackendId, slot: usize, conn: ConnId) -> u32 {
        let Some(state) = self
            .backends
            .get_mut(backend.0)
            .and_then(|s| s.links.get_mut(slot))
        else {
            return 0;
        };
        loop {
            let xid = state.next_xid;
            state.next_xid = state.next_xid.wrapping_add(1);
            if !self.outstanding.contains_key(&(conn, xid)) {
                return xid;
            }
        }
    }

    /// Sends queued calls while `backend` has free slots.
    pub(super) fn pump(&mut self, now: Instant, backend: BackendId) {
        let limit = self.config.limits.max_in_flight_per_backend;
        loop {
            let Some(state) = self.backends.get_mut(backend.0) else {
                return;
            };
            if state.least_loaded().is_none() || state.in_flight >= limit {
                return;
            }
            let Some(id) = state.queue.pop_front() else {
                return;
            };
            match self.calls.get(&id) {
                Some(c) if c.orphan => {
                    self.finish(id);
                }
                Some(c) if c.state == CallState::Queued(backend) => self.send(now, id, backend),
                _ => {}
            }
        }
    }

    /// Calls queued on `backend` go elsewhere (it went down or was ejected).
    pub(super) fn requeue_all(&mut self, now: Instant, backend: BackendId) {
        let queued: Vec<CallId> = match self.backends.get_mut(backend.0) {
            Some(s) => s.queue.drain(..).collect(),
            None => return,
        };
        for id in queued {
            if let Some(c) = self.calls.get_mut(&id) {
                c.state = CallState::Unassigned;
                self.place(now, id);
            }
        }
    }

    /// A REPLY with `xid` on `conn` of `backend`.
    pub(super) fn reply_from_backend(
        &mut self,
        now: Instant,
        backend: BackendId,
        slot: usize,
        conn: ConnId,
        xid: u32,
        record: Bytes,
    ) {
        match self.outstanding.remove(&(conn, xid)) {
            Some(Outstanding::Call(id)) => {
                self.add_in_flight(backend, slot, -1);
                if let Some(s) = self.backends.get_mut(backend.0) {
                    s.failures = 0;
                }
                if let Some(call) = self.finish(id) {
                    if call.orphan {
                        self.stats.late_replies += 1;
                    } else {
                        self.stats.replies += 1;
                        let status = CallStatus::of_reply(&record);
                        self.note_done(call.header, Some(backend), status, call.started, now);
                        self.transmits.push_back(Transmit {
                            destination: Destination::Client(call.client),
                            xid: call.client_xid,
                            rest: record.slice(4.min(record.len())..),
                        });
                    }
                }
                self.pump(now, backend);
            }
            Some(Outstanding::Probe) => self.probe_answered(now, backend, slot),
            None => {
                self.stats.late_replies += 1;
                self.events.push_back(Event::LateReply { backend, xid });
            }
        }
    }

    /// Takes call `id` off its backend (connection, slot, timers) without
    /// answering anyone; the call stays, `Unassigned`.
    fn detach(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let state = std::mem::replace(&mut call.state, CallState::Unassigned);
        if let Some(backend) = self.release_backend(id, state) {
            self.pump(now, backend);
        }
    }

    /// Undoes what call `id` holds on a backend in `state`: its place in
    /// the backend's queue, or its attempt timer, its outstanding XID and
    /// its in-flight slot. Returns the backend whose slot it freed.
    fn release_backend(&mut self, id: CallId, state: CallState) -> Option<BackendId> {
        match state {
            CallState::Unassigned => None,
            CallState::Queued(b) => {
                if let Some(s) = self.backends.get_mut(b.0) {
                    s.queue.retain(|q| *q != id);
                }
                None
            }
            CallState::Sent {
                backend,
                slot,
                conn,
                xid,
                attempt_deadline,
            } => {
                if let Some(at) = attempt_deadline {
                    self.timers.remove(at, Timer::Attempt(id));
                }
                self.outstanding.remove(&(conn, xid))?;
                self.add_in_flight(backend, slot, -1);
                Some(backend)
            }
        }
    }

    /// Removes call `id` and every reference to it; returns it.
    pub(super) fn finish(&mut self, id: CallId) -> Option<Call> {
        let call = self.calls.remove(&id)?;
        self.timers.remove(call.deadline, Timer::Call(id));
        self.release_backend(id, call.state);
        if let Some(c) = self.clients.get_mut(&call.client) {
            c.calls.remove(&id);
        }
        Some(call)
    }

    /// Answers call `id` with SYSTEM_ERR (if its client is still there)
    /// and forgets it.
    pub(super) fn fail(&mut self, now: Instant, id: CallId, reason: FailReason) {
        let Some(call) = self.finish(id) else {
            return;
        };
        if call.orphan {
            return;
        }
        self.stats.failed += 1;
        let backend = call.tried.last().copied();
        self.note_done(
            call.header,
            backend,
            CallStatus::Broker(reason),
            call.started,
            now,
        );
        self.events.push_back(Event::CallFailed {
            client: call.client,
            xid: call.client_xid,
            call: call.header,
            reason,
        });
        self.reply_to(
            call.client,
            accepted_error(call.client_xid, AcceptStat::SystemErr),
        );
    }

    /// An attempt of call `id` ended without a reply (its connection was
    /// lost, or its attempt deadline passed): retry it if it is idempotent
    /// and has attempts and time left, else fail it with `reason`.
    pub(super) fn attempt_failed(&mut self, now: Instant, id: CallId, reason: FailReason) {
        self.detach(now, id);
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.orphan {
            self.finish(id);
        } else if call.idempotent && call.attempts() < call.max_attempts && now < call.deadline {
            self.place(now, id);
        } else {
            self.fail(now, id, reason);
        }
    }

    pub(super) fn call_deadline(&mut self, now: Instant, id: CallId) {
        // The deadline timer is gone already; `finish` tolerates that.
        self.detach(now, id);
        let orphan = self.calls.get(&id).map(|c| c.orphan);
        match orphan {
            Some(true) => {
                self.finish(id);
            }
            Some(false) => self.fail(now, id, FailReason::Timeout),
            None => {}
        }
    }

    pub(super) fn attempt_deadline(&mut self, now: Instant, id: CallId) {
        let sent = self
            .calls
            .get_mut(&id)
            .map(|c| match &mut c.state {
                CallState::Sent {
                    attempt_deadline, ..
                } => {
                    // The timer has fired: nothing to remove later.
                    *attempt_deadline = None;
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
        if sent {
            self.attempt_failed(now, id, FailReason::Timeout);
        }
    }

    /// The client is gone: forget it, drop its queued calls, and let its
    /// sent calls finish unanswered.
    pub(super) fn forget_client(&mut self, client: ClientId) {
        let Some(state) = self.clients.remove(&client) else {
            return;
        };
        for id in state.calls {
            let queued = match self.calls.get_mut(&id) {
                Some(c) => {
                    c.orphan = true;
                    !matches!(c.state, CallState::Sent { .. })
                }
                None => false,
            };
            if queued {
                self.finish(id);
            }
        }
    }

    /// Records an answered call for [`Core::poll_call_done`], when enabled.
    pub(super) fn note_done(
        &mut self,
        call: (u32, u32, u32),
        backend: Option<BackendId>,
        status: CallStatus,
        started: Instant,
        now: Instant,
    ) {
        if self.record_calls {
            self.done.push_back(CallDone {
                call,
                backend,
                status,
                elapsed: now.saturating_duration_since(started),
            });
        }
    }

    /// Queues a reply made by the broker for `client`.
    pub(super) fn reply_to(&mut self, client: ClientId, record: Bytes) {
        let xid = rpc_runtime::message::peek_xid(&record).unwrap_or(0);
        self.transmits.push_back(Transmit {
            destination: Destination::Client(client),
            xid,
            rest: record.slice(4.min(record.len())..),
        });
    }
}
