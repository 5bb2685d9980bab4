//! The broker's sans-IO core, in the style of `quinn-proto`: a state
//! machine that owns the routing decision, the pending-call table, XID
//! rewriting, timeouts, retries and failover, in-flight limits and the
//! supervision of backend connections, with no sockets, no clock and no
//! runtime inside.
//!
//! Inputs are `handle_*` methods taking the current time; outputs are
//! polled:
//!
//! * [`Core::poll_transmit`]: a record to write to a client or backend
//!   connection ([`Transmit`]);
//! * [`Core::poll_event`]: a connection to open or close, or something to
//!   log ([`Event`]);
//! * [`Core::poll_timeout`]: when to call [`Core::handle_timeout`] next.
//!
//! After any input, the driver drains `poll_transmit` and `poll_event`
//! and re-arms its timer from `poll_timeout`. The core's behaviour is a
//! pure function of its configuration (including the jitter seed) and the
//! sequence of inputs, which is what the seeded simulator in
//! `broker/tests/sim/` relies on.
//!
//! A minimal drive, with the clock and the sockets played by hand:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use broker::config::Config;
//! use broker::core::{Core, Destination, Event};
//!
//! let config = Config::from_toml(r#"
//!     listen = ["tcp://127.0.0.1:0"]
//!     [backends.store1]
//!     address = "tcp://127.0.0.1:7101"
//!     [[routes]]
//!     program = 0x2000DA7A
//!     backend = "store1"
//!     timeout_ms = 500
//! "#)?;
//! let mut now = Instant::now();
//! let mut core = Core::new(config.core_config(42)?, now);
//! // The core asks for a connection to each backend.
//! let Some(Event::Connect { conn, .. }) = core.poll_event() else { panic!() };
//! core.handle_backend_connected(now, conn);
//!
//! // A client calls DS_NULL with XID 7 (header, AUTH_NONE cred and verf).
//! let client = core.add_client();
//! let words = [7u32, 0, 2, 0x2000DA7A, 1, 0, 0, 0, 0, 0];
//! let call: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
//! core.handle_client_call(now, client, call.into());
//! let out = core.poll_transmit().unwrap();
//! assert_eq!(out.destination, Destination::Backend(conn));
//! let backend_xid = out.xid; // rewritten for the shared connection
//!
//! // The backend answers; the reply goes back with the client's XID.
//! let words = [backend_xid, 1, 0, 0, 0, 0];
//! let reply: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
//! core.handle_backend_reply(now, conn, reply.into());
//! let back = core.poll_transmit().unwrap();
//! assert_eq!((back.destination, back.xid), (Destination::Client(client), 7));
//!
//! // Time passes: health checks are due (a NULL call to the backend).
//! now += Duration::from_secs(2);
//! core.handle_timeout(now);
//! assert!(core.poll_transmit().is_some_and(|t| t.destination == Destination::Backend(conn)));
//! # Ok::<(), broker::config::ConfigError>(())
//! ```
//!
//! Guarantees, for every call record a client sends:
//!
//! * exactly one reply record goes back to that client (unless it closed
//!   first), carrying the client's own XID: the backend's reply, or a
//!   broker reply (AUTH_TOOWEAK or PROG_UNAVAIL for a call the client's
//!   allow list refuses, see [`access`]; PROG_UNAVAIL, PROG_MISMATCH, RPC_MISMATCH, or
//!   SYSTEM_ERR when no backend is available, the deadline passes, or the
//!   connection is lost and the call may not be retried);
//! * on backend connections every outstanding call has its own XID;
//! * a procedure not marked idempotent is sent to each backend at most
//!   once (a write classed `write` goes once to each live replica of its
//!   key, a read classed `read` once more to the next replica after a
//!   miss: see [`policy`]);
//! * a write is answered with success only when at least the route's
//!   `min_acks` replicas acknowledged it;
//! * once every call is answered or has timed out, no call state is left.

pub mod access;
pub mod all_sync;
pub mod config;
mod handles;
pub mod hrw;
pub mod key;
mod output;
pub mod policy;
mod rng;
pub mod route;
mod state;
mod timers;

mod admin;
mod calls;
mod completion;
mod supervisor;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rpc_runtime::message::{peek, HeaderPeek};

pub use admin::{LinkStatus, Reconfigured};
pub use completion::{CallDone, CallStatus};
pub use config::{
    BackendSpec, CoreConfig, CoreLimits, KeyRule, ProcedurePolicy, RoutePlan, Supervision,
};
pub use handles::{BackendId, CallId, ClientId, ConnId, HandleHasher, HandleMap, RouteId};
pub use policy::{Access, MissRule};

use all_sync::Fanout;
use handles::FanoutId;
pub use output::{Destination, Event, FailReason, Transmit};

use access::Caller;
use rng::SplitMix64;
use state::{BackendState, Call, ClientState, Outstanding};
use timers::{Timer, Timers};

/// The broker's state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Core {
    config: CoreConfig,
    rng: SplitMix64,
    clients: BTreeMap<ClientId, ClientState>,
    next_client: u64,
    backends: Vec<BackendState>,
    /// Live and connecting backend connections: backend and slot.
    conns: BTreeMap<ConnId, (BackendId, usize)>,
    next_conn: u64,
    calls: HandleMap<CallId, Call>,
    next_call: u64,
    /// Writes fanned out to their key's replicas, not yet answered.
    fanouts: HandleMap<FanoutId, Fanout>,
    next_fanout: u64,
    /// Entries of `calls` that are copies of a fanned-out write.
    copies: usize,
    /// What each (connection, XID) on a backend connection waits for.
    outstanding: HandleMap<(ConnId, u32), Outstanding>,
    /// Per route: the next pool position for calls without a key.
    round_robin: Vec<usize>,
    timers: Timers,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: CoreStats,
    /// Keep a [`CallDone`] per answered call in `done`.
    record_calls: bool,
    done: VecDeque<CallDone>,
    /// Backends retired by a reload whose connections are still open.
    retiring: usize,
}

/// Counters and gauges of a [`Core`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    /// Calls waiting for a backend's reply or for a connection (gauge); a
    /// write sent to several replicas counts once.
    pub pending_calls: usize,
    /// Of those, writes waiting for their replicas' answers (gauge).
    pub pending_writes: usize,
    /// Calls or health checks sent and not yet answered, over all backend
    /// connections (gauge).
    pub outstanding_on_backends: usize,
    /// Client connections (gauge).
    pub clients: usize,
    /// Deadlines registered (gauge).
    pub timers: usize,
    /// Calls sent to a backend, retries included.
    pub forwarded: u64,
    /// Attempts after the first (retries and failovers).
    pub retries: u64,
    /// Replies from backends passed to clients.
    pub replies: u64,
    /// Calls answered SYSTEM_ERR by the broker.
    pub failed: u64,
    /// Backend replies nobody waited for any more.
    pub late_replies: u64,
    /// Reads asked again of the key's next replica after a miss
    /// (`MissFailoverRoute`); also counted in `retries`.
    pub miss_failovers: u64,
    /// Writes answered SYSTEM_ERR because fewer than `min_acks` replicas
    /// acknowledged them; also counted in `failed`.
    pub writes_short_of_acks: u64,
}

/// A backend's state as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendStatus {
    /// At least one connection is up.
    pub up: bool,
    /// Taken out of routing after failures.
    pub ejected: bool,
    /// Taken out of routing by an operator ([`Core::drain`]).
    pub drained: bool,
    /// Gone from the configuration after [`Core::reconfigure`]; finishing
    /// its calls in flight.
    pub retired: bool,
    /// Connections up.
    pub connections_up: usize,
    /// Connections configured.
    pub connections: usize,
    /// Calls sent and not answered.
    pub in_flight: usize,
    /// Calls waiting for it.
    pub queued: usize,
    /// Consecutive failures.
    pub failures: u32,
}

impl Core {
    /// A core for `config`, starting at `now`: it asks at once for a
    /// connection to every backend ([`Event::Connect`]).
    pub fn new(config: CoreConfig, now: Instant) -> Core {
        let backends = config
            .backends
            .iter()
            .map(|b| BackendState::new(now, b.connections))
            .collect();
        let mut core = Core {
            rng: SplitMix64::new(config.seed),
            round_robin: vec![0; config.routes.len()],
            config,
            clients: BTreeMap::new(),
            next_client: 0,
            backends,
            conns: BTreeMap::new(),
            next_conn: 0,
            calls: HandleMap::default(),
            next_call: 0,
            fanouts: HandleMap::default(),
            next_fanout: 0,
            copies: 0,
            outstanding: HandleMap::default(),
            timers: Timers::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: CoreStats::default(),
            record_calls: false,
            done: VecDeque::new(),
            retiring: 0,
        };
        for i in 0..core.backends.len() {
            let slots = core.backends.get(i).map_or(0, |b| b.links.len());
            for slot in 0..slots {
                core.start_connect(BackendId(i), slot, now);
            }
        }
        core
    }

    /// The configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Registers a new client connection whose calls nothing restricts.
    pub fn add_client(&mut self) -> ClientId {
        self.add_caller(Caller::default())
    }

    /// Registers a new client connection from `caller`: its calls are
    /// checked against the caller's allow list ([`access`]) before they
    /// are routed.
    pub fn add_caller(&mut self, caller: Caller) -> ClientId {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        self.clients.insert(
            id,
            ClientState {
                caller,
                ..ClientState::default()
            },
        );
        id
    }

    /// True when `client` may send another call without being refused for
    /// `max_in_flight_per_client` (the driver stops reading otherwise).
    pub fn client_has_capacity(&self, client: ClientId) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|c| c.in_flight() < self.config.limits.max_in_flight_per_client)
    }

    /// A call record (RFC 5531 section 9, without record marking) from
    /// `client`. Produces exactly one reply [`Transmit`] to the client,
    /// now or later, unless the record is not a CALL: then the client is
    /// dropped ([`Event::CloseClient`]). Unknown clients are ignored.
    pub fn handle_client_call(&mut self, now: Instant, client: ClientId, record: Bytes) {
        self.handle_client_call_as(now, client, record, None);
    }

    /// As [`Core::handle_client_call`], for a call whose caller the
    /// driver authenticated as RPCSEC_GSS `principal` (checked against
    /// the listener's `allow_principals`).
    pub fn handle_client_call_as(
        &mut self,
        now: Instant,
        client: ClientId,
        record: Bytes,
        principal: Option<Arc<str>>,
    ) {
        if !self.clients.contains_key(&client) {
            return;
        }
        match peek(&record) {
            Some(HeaderPeek::Call(call)) => {
                if !self.refuse_if_not_allowed(now, client, &call, principal.as_ref()) {
                    self.accept_call(now, client, call, record);
                }
            }
            Some(HeaderPeek::Reply { xid }) => self.drop_client(
                client,
                format!("a REPLY message (xid {xid}) where a CALL was expected"),
            ),
            None => self.drop_client(
                client,
                format!(
                    "a record of {} bytes that is not an RPC message",
                    record.len()
                ),
            ),
        }
    }

    /// The client connection closed. Its queued calls are dropped; calls
    /// already sent finish on the backend and their replies are discarded.
    pub fn handle_client_closed(&mut self, now: Instant, client: ClientId) {
        self.forget_client(client);
        self.reap_retired(now);
    }

    /// A reply record from backend connection `conn`.
    pub fn handle_backend_reply(&mut self, now: Instant, conn: ConnId, record: Bytes) {
        let Some(&(backend, slot)) = self.conns.get(&conn) else {
            return;
        };
        match peek(&record) {
            Some(HeaderPeek::Reply { xid }) => {
                self.reply_from_backend(now, backend, slot, conn, xid, record)
            }
            _ => {
                self.events
                    .push_back(Event::BackendProtocolError { backend });
                self.events.push_back(Event::CloseBackend { conn });
                self.connection_lost(now, backend, slot, conn);
            }
        }
        self.reap_retired(now);
    }

    /// Connection `conn` (from [`Event::Connect`]) is established.
    pub fn handle_backend_connected(&mut self, now: Instant, conn: ConnId) {
        match self.conns.get(&conn) {
            Some(&(backend, slot)) => self.connected(now, backend, slot, conn),
            // Given up on already (connect timeout): close it.
            None => self.events.push_back(Event::CloseBackend { conn }),
        }
    }

    /// Connection `conn` (from [`Event::Connect`]) could not be made.
    pub fn handle_backend_failed(&mut self, now: Instant, conn: ConnId) {
        if let Some(&(backend, slot)) = self.conns.get(&conn) {
            self.connection_lost(now, backend, slot, conn);
        }
        self.reap_retired(now);
    }

    /// Connection `conn` closed or failed after it was established.
    pub fn handle_backend_closed(&mut self, now: Instant, conn: ConnId) {
        self.handle_backend_failed(now, conn);
    }

    /// Time passed: fires every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::Call(id) => self.call_deadline(now, id),
                Timer::Attempt(id) => self.attempt_deadline(now, id),
                Timer::Link(b, slot) => {
                    if let Some(l) = self.link_mut(b, slot) {
                        l.wake = None;
                    }
                    self.link_timer(now, b, slot);
                }
            }
        }
        self.reap_retired(now);
    }

    /// The next record to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Core::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Turns on (or off) the [`CallDone`] record of every answered call,
    /// to be drained with [`Core::poll_call_done`] after each input. Off by
    /// default; when on, undrained records accumulate.
    pub fn record_calls(&mut self, on: bool) {
        self.record_calls = on;
        if !on {
            self.done.clear();
        }
    }

    /// The next answered call, when [`Core::record_calls`] is on.
    pub fn poll_call_done(&mut self) -> Option<CallDone> {
        self.done.pop_front()
    }

    /// Counters and gauges.
    pub fn stats(&self) -> CoreStats {
        CoreStats {
            pending_calls: self.calls.len().saturating_sub(self.copies) + self.fanouts.len(),
            pending_writes: self.fanouts.len(),
            outstanding_on_backends: self.outstanding.len(),
            clients: self.clients.len(),
            timers: self.timers.len(),
            ..self.stats
        }
    }

    /// The state of `backend`, if it exists.
    pub fn backend_status(&self, backend: BackendId) -> Option<BackendStatus> {
        self.backends.get(backend.0).map(|s| BackendStatus {
            up: s.links.iter().any(|l| l.up().is_some()),
            ejected: s.ejected,
            drained: s.drained,
            retired: s.retired,
            connections_up: s.links.iter().filter(|l| l.up().is_some()).count(),
            connections: s.links.len(),
            in_flight: s.in_flight,
            queued: s.queue.len(),
            failures: s.failures,
        })
    }

    /// The backend's name, if it exists.
    pub fn backend_name(&self, backend: BackendId) -> Option<&str> {
        self.config.backends.get(backend.0).map(|b| b.name.as_str())
    }

    /// What connection `conn` waits for, in XID order (the order a
    /// lost connection's calls are retried or failed in).
    fn outstanding_on(&self, conn: ConnId) -> Vec<((ConnId, u32), Outstanding)> {
        let mut on: Vec<_> = self
            .outstanding
            .iter()
            .filter(|((c, _), _)| *c == conn)
            .map(|(k, o)| (*k, *o))
            .collect();
        on.sort_unstable_by_key(|&((_, xid), _)| xid);
        on
    }

    fn drop_client(&mut self, client: ClientId, reason: String) {
        self.forget_client(client);
        self.events.push_back(Event::CloseClient { client, reason });
    }
}

#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod bounded_tests;
#[cfg(test)]
mod replica_tests;
#[cfg(test)]
mod tests;
