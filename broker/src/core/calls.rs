//! The life of a forwarded call: placement, sending with a fresh XID,
//! reply, retry or failover (`FailoverRoute`), a read's failover on a
//! miss (`MissFailoverRoute`), a write's fan-out to the key's replicas
//! (`AllSyncRoute`, see [`all_sync`](super::all_sync)), timeout.

use std::time::Instant;

use bytes::Bytes;
use rpc_runtime::message::reply::{accepted_error, denied};
use rpc_runtime::message::{AcceptStat, CallPeek, RejectStat};

use super::completion::{CallDone, CallStatus};
use super::config::KeyRule;
use super::handles::{BackendId, CallId, ClientId, ConnId, RouteId};
use super::output::{Destination, Event, FailReason, Transmit};
use super::policy::Access;
use super::state::{Backends, Call, CallState, Outstanding};
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
        let (min_acks, miss) = (plan.min_acks, plan.miss);
        let (candidates, by_key) = self.candidates(route, policy.keyed, &record);
        let deadline = now + timeout;
        let new_call = |record: Bytes, candidates: Backends| Call {
            client,
            client_xid: call.xid,
            header,
            record,
            idempotent: policy.idempotent,
            miss: None,
            missed: Backends::new(),
            copy_of: None,
            candidates,
            tried: Backends::new(),
            max_attempts,
            deadline,
            attempt_timeout,
            started: now,
            state: CallState::Unassigned,
            orphan: false,
        };
        match policy.access {
            Access::Write if by_key => {
                let write = new_call(record, Backends::new());
                self.fan_out(now, write, candidates, min_acks, miss);
            }
            access => {
                let mut c = new_call(record, candidates);
                if access == Access::Read && by_key {
                    c.miss = miss;
                }
                let id = self.insert_call(c);
                if let Some(c) = self.clients.get_mut(&client) {
                    c.calls.insert(id);
                }
                self.place(now, id);
            }
        }
    }

    /// Registers `call` and its deadline; returns its handle.
    pub(super) fn insert_call(&mut self, call: Call) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let timeout = call.deadline.saturating_duration_since(call.started);
        self.timers.insert_call(id, timeout, call.deadline);
        if call.copy_of.is_some() {
            self.copies += 1;
        }
        self.calls.insert(id, call);
        id
    }

    /// The backends that may serve a call of `route`, in preference order:
    /// the key's rendezvous order cut to `replicas` (then `true`), or the
    /// pool rotated by a round-robin counter when there is no key.
    fn candidates(&mut self, route: RouteId, keyed: bool, record: &[u8]) -> (Backends, bool) {
        let Some(plan) = self.config.routes.get(route.0) else {
            return (Backends::new(), false);
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
            let order = hrw::rank(key, &names)
                .into_iter()
                .filter_map(|i| plan.pool.get(i).copied())
                .take(plan.replicas.max(1))
                .collect();
            return (order, true);
        }
        let n = plan.pool.len();
        let Some(start) = self.round_robin.get_mut(route.0) else {
            return (plan.pool.iter().copied().collect(), false);
        };
        let first = *start % n.max(1);
        *start = start.wrapping_add(1);
        let order = (0..n)
            .filter_map(|i| plan.pool.get((first + i) % n).copied())
            .collect();
        (order, false)
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
            .or_else(|| {
                let not_missed = |b: &&BackendId| usable(b) && !call.missed.contains(b);
                call.candidates.iter().find(not_missed)
            })
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
        // A read keeps its record until it is answered: a miss may send
        // it on.
        let last = call.attempts() >= call.max_attempts && call.miss.is_none();
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
                if self.miss_failover(now, id, backend, &record) {
                    return self.pump(now, backend);
                }
                if let Some(call) = self.finish(id) {
                    if call.orphan {
                        self.stats.late_replies += 1;
                    } else if let Some((fanout, copy)) = call.copy_of {
                        self.copy_answered(now, fanout, copy, Some(record));
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

    /// `MissFailoverRoute`: when read `id` was answered with a miss by
    /// `backend` and a live candidate has not answered "not found" yet,
    /// asks it (the miss is dropped) and returns true. A candidate already
    /// sent the call (its answer was lost) is asked again only when the
    /// call is idempotent; otherwise the read fails (SYSTEM_ERR): a miss is
    /// passed on only when every live candidate said so. The reply's
    /// connection slot is already freed.
    fn miss_failover(
        &mut self,
        now: Instant,
        id: CallId,
        backend: BackendId,
        reply: &[u8],
    ) -> bool {
        let usable = |b: &BackendId| self.backends.get(b.0).is_some_and(|s| s.usable());
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        if call.orphan || !call.miss.is_some_and(|m| m.is_miss(reply)) {
            return false;
        }
        call.missed.push(backend);
        let call = &*call;
        let unsure = call
            .candidates
            .iter()
            .any(|b| usable(b) && !call.missed.contains(b));
        if !unsure {
            return false;
        }
        let ask = call
            .candidates
            .iter()
            .any(|b| usable(b) && call.may_ask(*b));
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        if let CallState::Sent {
            attempt_deadline: Some(at),
            ..
        } = std::mem::replace(&mut call.state, CallState::Unassigned)
        {
            self.timers.remove(at, Timer::Attempt(id));
        }
        if ask {
            self.stats.miss_failovers += 1;
            self.place(now, id);
        } else {
            self.fail(now, id, FailReason::Timeout);
        }
        true
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
        if call.copy_of.is_some() {
            self.copies = self.copies.saturating_sub(1);
        }
        self.timers.remove_call(id);
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
        if let Some((fanout, copy)) = call.copy_of {
            // One replica's copy of a write: the vote decides the answer.
            return self.copy_answered(now, fanout, copy, None);
        }
        let backend = call.tried.last().copied();
        let caller = (call.client, call.client_xid, call.header);
        self.answer_system_err(caller, backend, reason, call.started, now);
    }

    /// Answers `caller` (client, its XID, program/version/procedure) with
    /// SYSTEM_ERR for `reason`, counted and recorded; `backend` is the
    /// last one tried, if any.
    pub(super) fn answer_system_err(
        &mut self,
        (client, xid, header): (ClientId, u32, (u32, u32, u32)),
        backend: Option<BackendId>,
        reason: FailReason,
        started: Instant,
        now: Instant,
    ) {
        self.stats.failed += 1;
        self.note_done(header, backend, CallStatus::Broker(reason), started, now);
        self.events.push_back(Event::CallFailed {
            client,
            xid,
            call: header,
            reason,
        });
        self.reply_to(client, accepted_error(xid, AcceptStat::SystemErr));
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
        let copies: Vec<CallId> = state
            .writes
            .iter()
            .filter_map(|f| self.fanouts.remove(f))
            .flat_map(|f| f.copies.into_iter().map(|c| c.0))
            .collect();
        for id in state.calls.into_iter().chain(copies) {
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
