//! The simulated world around one [`Core`]: clients, backends and a
//! network with delays, driven by a virtual clock. Every input the core
//! gets and every output it makes is checked against the properties the
//! core promises; what breaks is collected in `violations`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};

use broker::core::{BackendId, ClientId, ConnId, Core, Destination, Event};
use bytes::Bytes;

use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::wire::{self, Token};
use store::{ReadCounts, ReadStart, Store, Truth};

mod backends;
mod clients;
mod config;
mod store;

use config::config;

/// A second routed program, served by one backend, without a key.
pub(crate) const SECOND_PROGRAM: u32 = 0x2000_0002;
const TIMEOUT: Duration = Duration::from_millis(1000);
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);
/// Events processed at most per seed.
const MAX_STEPS: u64 = 2_000_000;
/// Virtual time after which the run is declared stuck.
const MAX_VIRTUAL_TIME: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// DATASTORE procedure 1 (a PUT: write, not idempotent), 2 (a GET:
    /// read, idempotent) or 3 (a DELETE: write, not idempotent, short
    /// timeout), keyed.
    Keyed(u32),
    /// DATASTORE procedure 0, idempotent, not keyed.
    Null,
    /// SECOND_PROGRAM procedure 1.
    Second,
    /// A program nobody routes.
    Unrouted,
    /// DATASTORE version 7.
    WrongVersion,
}

impl Kind {
    fn timeout(self) -> Duration {
        match self {
            Kind::Keyed(3) => SHORT_TIMEOUT,
            _ => TIMEOUT,
        }
    }

    /// Deliveries to backends at most: a read once per retry plus once
    /// per further replica (after misses), a write once per replica.
    fn max_deliveries(self, retries: u32, replicas: usize) -> u32 {
        let replicas = replicas as u32;
        match self {
            Kind::Keyed(2) => retries + replicas,
            Kind::Null => 1 + retries,
            Kind::Keyed(_) => replicas,
            _ => 1,
        }
    }

    fn idempotent(self) -> bool {
        matches!(self, Kind::Keyed(2) | Kind::Null)
    }
}

#[derive(Debug)]
enum Ev {
    ClientTick(usize),
    CoreClientCall(usize, Bytes),
    CoreClientClosed(usize),
    ClientReceive(usize, Bytes),
    BackendReceive(ConnId, Bytes),
    BackendDone(ConnId, u32, u32, Bytes),
    CoreBackendReply(ConnId, Bytes),
    CoreConnectResult(ConnId, u32),
    CoreBackendClosed(ConnId),
    Crash(usize, Duration),
    Restart(usize),
    Disconnect(usize),
    /// The client sends a REPLY where a call belongs.
    Garbage(usize),
    /// An operator drains (true) or undrains (false) a backend.
    Drain(usize, bool),
    /// The same configuration is applied again.
    Reload,
}

struct Scheduled {
    at: Instant,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

struct Sent {
    token: Token,
    kind: Kind,
    key: Vec<u8>,
    sent_at: Instant,
    /// For a read: the invariant's premise when it was sent.
    read: Option<ReadStart>,
}

struct SimClient {
    id: Option<ClientId>,
    connected: bool,
    /// Told the core it closed.
    closed: bool,
    /// The core has processed the close.
    core_closed: bool,
    /// Sent garbage: the core must drop it.
    garbled: bool,
    window: usize,
    next_seq: u32,
    next_xid: u32,
    outstanding: BTreeMap<u32, Sent>,
    answered: u32,
    to_core_last: Instant,
    to_client_last: Instant,
}

struct SimBackend {
    alive: bool,
    epoch: u32,
    store: Store,
}

struct SimConn {
    backend: usize,
    epoch: u32,
    /// The network connection exists.
    open: bool,
    /// The core was told it is up and not told it is gone.
    core_open: bool,
    xids: BTreeSet<u32>,
    to_backend_last: Instant,
    to_core_last: Instant,
}

/// The outcome of one seed.
pub(crate) struct Outcome {
    pub(crate) violations: Vec<String>,
    /// A digest of every output of the core, with its time.
    pub(crate) trace: u64,
    pub(crate) steps: u64,
    pub(crate) calls: u64,
    /// The core's counters at the end.
    pub(crate) stats: broker::core::CoreStats,
    /// Events seen, by kind: backend protocol errors, clients dropped for
    /// garbage, ejections, readmissions.
    pub(crate) seen: [u64; 4],
    /// Reads judged against the invariant, and reads it does not cover.
    pub(crate) reads: ReadCounts,
}

pub(crate) struct World {
    s: Scenario,
    rng: Rng,
    start: Instant,
    now: Instant,
    queue: BinaryHeap<Scheduled>,
    seq: u64,
    core: Core,
    clients: Vec<SimClient>,
    backends: Vec<SimBackend>,
    names: Vec<String>,
    conns: BTreeMap<ConnId, SimConn>,
    deliveries: BTreeMap<Token, u32>,
    /// Calls that are not idempotent, by backend reached.
    delivered_to: BTreeSet<(Token, usize)>,
    truth: BTreeMap<Vec<u8>, Truth>,
    reads: ReadCounts,
    violations: Vec<String>,
    trace: u64,
    calls: u64,
    seen: [u64; 4],
}

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

impl World {
    pub(crate) fn new(s: Scenario) -> World {
        let start = Instant::now();
        let cfg = config(&s);
        let names = cfg.backends.iter().map(|b| b.name.clone()).collect();
        let core = Core::new(cfg, start);
        let clients = s
            .windows
            .iter()
            .map(|&window| SimClient {
                id: None,
                connected: true,
                closed: false,
                core_closed: false,
                garbled: false,
                window,
                next_seq: 0,
                next_xid: 1000,
                outstanding: BTreeMap::new(),
                answered: 0,
                to_core_last: start,
                to_client_last: start,
            })
            .collect();
        let backends = (0..=s.pool)
            .map(|_| SimBackend {
                alive: true,
                epoch: 0,
                store: Store::new(),
            })
            .collect();
        let mut w = World {
            rng: Rng::new(s.seed.wrapping_mul(31).wrapping_add(7)),
            start,
            now: start,
            queue: BinaryHeap::new(),
            seq: 0,
            core,
            clients,
            backends,
            names,
            conns: BTreeMap::new(),
            deliveries: BTreeMap::new(),
            delivered_to: BTreeSet::new(),
            truth: BTreeMap::new(),
            reads: ReadCounts::default(),
            violations: Vec::new(),
            trace: 0xcbf2_9ce4_8422_2325,
            calls: 0,
            seen: [0; 4],
            s,
        };
        for i in 0..w.clients.len() {
            let id = w.core.add_client();
            w.clients[i].id = Some(id);
            let d = Duration::from_micros(w.rng.below(5000));
            w.schedule(d, Ev::ClientTick(i));
        }
        for &(b, at, down_for) in &w.s.crashes.clone() {
            w.schedule(at, Ev::Crash(b, down_for));
        }
        for &(c, at) in &w.s.disconnects.clone() {
            w.schedule(at, Ev::Disconnect(c));
        }
        for &(c, at) in &w.s.garbage.clone() {
            w.schedule(at, Ev::Garbage(c));
        }
        for &(b, at, undrain_after) in &w.s.drains.clone() {
            w.schedule(at, Ev::Drain(b, true));
            w.schedule(at + undrain_after, Ev::Drain(b, false));
        }
        for &at in &w.s.reloads.clone() {
            w.schedule(at, Ev::Reload);
        }
        w.drain();
        w
    }

    fn schedule(&mut self, after: Duration, ev: Ev) {
        self.schedule_at(self.now + after, ev);
    }

    fn schedule_at(&mut self, at: Instant, ev: Ev) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at,
            seq: self.seq,
            ev,
        });
    }

    fn net_delay(&mut self) -> Duration {
        let max = self.s.max_net_delay.as_nanos() as u64;
        Duration::from_nanos(self.rng.below(max + 1))
    }

    /// When a message sent now on a link last used at `last` arrives: after
    /// a random delay, never before an earlier message (stream order).
    fn fifo(&mut self, last: Instant) -> Instant {
        let t = self.now + self.net_delay();
        t.max(last)
    }

    fn violation(&mut self, what: String) {
        let t = self.now - self.start;
        self.violations.push(format!("at {t:?}: {what}"));
    }

    fn record(&mut self, what: &str) {
        let t = (self.now - self.start).as_nanos() as u64;
        self.trace = fnv(fnv(self.trace, &t.to_be_bytes()), what.as_bytes());
    }

    pub(crate) fn run(mut self) -> Outcome {
        let mut steps = 0u64;
        let mut quiet_since: Option<Instant> = None;
        loop {
            steps += 1;
            if steps > MAX_STEPS || self.now - self.start > MAX_VIRTUAL_TIME {
                self.violation(format!("no quiescence after {steps} steps"));
                break;
            }
            if self.clients.iter().all(|c| c.closed) {
                let since = *quiet_since.get_or_insert(self.now);
                // Long enough for every deadline to pass.
                if self.now - since > TIMEOUT * 3 {
                    break;
                }
            }
            let next_ev = self.queue.peek().map(|s| s.at);
            let next_timer = self.core.poll_timeout();
            match (next_ev, next_timer) {
                (Some(e), Some(t)) if t < e => self.timer(t),
                (None, Some(t)) => self.timer(t),
                (Some(_), _) => {
                    let Some(s) = self.queue.pop() else { break };
                    self.now = self.now.max(s.at);
                    self.event(s.ev);
                }
                (None, None) => break,
            }
            self.drain();
        }
        self.final_checks();
        let stats = self.core.stats();
        Outcome {
            reads: self.reads,
            seen: self.seen,
            stats,
            violations: self.violations,
            trace: self.trace,
            steps,
            calls: self.calls,
        }
    }

    fn timer(&mut self, t: Instant) {
        self.now = self.now.max(t);
        self.core.handle_timeout(self.now);
    }

    fn event(&mut self, ev: Ev) {
        match ev {
            Ev::ClientTick(c) => self.client_tick(c),
            Ev::CoreClientCall(c, record) => {
                if let Some(id) = self.clients[c].id {
                    self.core.handle_client_call(self.now, id, record);
                }
            }
            Ev::CoreClientClosed(c) => {
                self.clients[c].core_closed = true;
                if let Some(id) = self.clients[c].id {
                    self.core.handle_client_closed(self.now, id);
                }
            }
            Ev::ClientReceive(c, record) => self.client_receive(c, record),
            Ev::BackendReceive(conn, record) => self.backend_receive(conn, record),
            Ev::BackendDone(conn, epoch, xid, record) => {
                let Some(sc) = self.conns.get_mut(&conn) else {
                    return;
                };
                if !sc.open || sc.epoch != epoch {
                    return;
                }
                sc.xids.remove(&xid);
                let last = sc.to_core_last;
                let at = self.fifo(last);
                if let Some(sc) = self.conns.get_mut(&conn) {
                    sc.to_core_last = at;
                }
                self.schedule_at(at, Ev::CoreBackendReply(conn, record));
            }
            Ev::CoreBackendReply(conn, record) => {
                if self.conns.get(&conn).is_some_and(|c| c.core_open) {
                    self.core.handle_backend_reply(self.now, conn, record);
                }
            }
            Ev::CoreConnectResult(conn, epoch) => {
                let Some(sc) = self.conns.get(&conn) else {
                    return;
                };
                let b = sc.backend;
                if sc.open || sc.core_open {
                    return;
                }
                let ok = self.backends[b].alive && self.backends[b].epoch == epoch;
                if ok {
                    if let Some(sc) = self.conns.get_mut(&conn) {
                        sc.open = true;
                        sc.core_open = true;
                    }
                    self.core.handle_backend_connected(self.now, conn);
                } else {
                    self.conns.remove(&conn);
                    self.core.handle_backend_failed(self.now, conn);
                }
            }
            Ev::CoreBackendClosed(conn) => {
                if let Some(sc) = self.conns.get_mut(&conn) {
                    if sc.core_open {
                        sc.core_open = false;
                        self.core.handle_backend_closed(self.now, conn);
                    }
                }
            }
            Ev::Crash(b, down_for) => {
                let backend = &mut self.backends[b];
                backend.alive = false;
                backend.epoch += 1;
                // Like datastore-server: a restart comes back empty.
                backend.store.clear();
                self.replicas_changed();
                let victims: Vec<ConnId> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.backend == b && c.open)
                    .map(|(id, _)| *id)
                    .collect();
                for conn in victims {
                    let last = self.conns[&conn].to_core_last;
                    let at = self.fifo(last);
                    if let Some(sc) = self.conns.get_mut(&conn) {
                        sc.open = false;
                        sc.xids.clear();
                    }
                    self.schedule_at(at, Ev::CoreBackendClosed(conn));
                }
                self.schedule(down_for, Ev::Restart(b));
            }
            Ev::Restart(b) => self.backends[b].alive = true,
            Ev::Drain(b, on) => {
                self.replicas_changed();
                if !self.core.drain(self.now, BackendId(b), on) {
                    self.violation(format!("drain of backend {b} refused"));
                }
            }
            Ev::Reload => {
                let done = self
                    .core
                    .reconfigure(self.now, config(&self.s), |_, _| true);
                if !done.added.is_empty() || !done.retired.is_empty() {
                    self.violation(format!(
                        "reloading the same configuration changed backends: {done:?}"
                    ));
                }
            }
            Ev::Garbage(c) => {
                let client = &mut self.clients[c];
                if !client.connected {
                    return;
                }
                // From now on the client is a broken peer: whatever it
                // had outstanding is lost with the connection.
                client.connected = false;
                client.garbled = true;
                client.outstanding.clear();
                let last = client.to_core_last;
                let at = self.fifo(last);
                self.clients[c].to_core_last = at;
                self.schedule_at(at, Ev::CoreClientCall(c, wire::success(7, b"junk")));
            }
            Ev::Disconnect(c) => {
                let client = &mut self.clients[c];
                if !client.connected {
                    return;
                }
                client.connected = false;
                client.outstanding.clear();
                self.close_client(c);
            }
        }
    }

    /// Hands the core's outputs to the world.
    fn drain(&mut self) {
        while let Some(t) = self.core.poll_transmit() {
            self.record(&format!("{:?} {} {}", t.destination, t.xid, t.rest.len()));
            match t.destination {
                Destination::Client(id) => {
                    let Some(c) = self.clients.iter().position(|c| c.id == Some(id)) else {
                        self.violation(format!("transmit to unknown client {id:?}"));
                        continue;
                    };
                    if self.clients[c].core_closed {
                        self.violation(format!(
                            "transmit to client {c} after the core saw it close"
                        ));
                        continue;
                    }
                    if !self.clients[c].connected {
                        // The close is still on its way to the core.
                        continue;
                    }
                    let last = self.clients[c].to_client_last;
                    let at = self.fifo(last);
                    self.clients[c].to_client_last = at;
                    self.schedule_at(at, Ev::ClientReceive(c, t.to_record()));
                }
                Destination::Backend(conn) => {
                    let Some(sc) = self.conns.get(&conn) else {
                        self.violation(format!("transmit to unknown backend connection {conn:?}"));
                        continue;
                    };
                    if !sc.core_open {
                        self.violation(format!(
                            "transmit to backend connection {conn:?} the core knows is not up"
                        ));
                        continue;
                    }
                    if !sc.open {
                        continue;
                    }
                    let last = sc.to_backend_last;
                    let at = self.fifo(last);
                    if let Some(sc) = self.conns.get_mut(&conn) {
                        sc.to_backend_last = at;
                    }
                    self.schedule_at(at, Ev::BackendReceive(conn, t.to_record()));
                }
            }
        }
        while let Some(e) = self.core.poll_event() {
            self.record(&format!("{e:?}"));
            if self.s.calm
                && matches!(
                    e,
                    Event::Ejected { .. } | Event::BackendDown { .. } | Event::CallFailed { .. }
                )
            {
                self.violation(format!("{e:?} in a calm run"));
            }
            if matches!(
                e,
                Event::Ejected { .. }
                    | Event::BackendDown { .. }
                    | Event::BackendUp { .. }
                    | Event::Readmitted { .. }
            ) {
                self.replicas_changed();
            }
            match e {
                Event::BackendProtocolError { .. } => self.seen[0] += 1,
                Event::Ejected { .. } => self.seen[2] += 1,
                Event::Readmitted { .. } => self.seen[3] += 1,
                Event::Connect { backend, conn } => {
                    let b = backend.0;
                    let epoch = self.backends[b].epoch;
                    self.conns.insert(
                        conn,
                        SimConn {
                            backend: b,
                            epoch,
                            open: false,
                            core_open: false,
                            xids: BTreeSet::new(),
                            to_backend_last: self.now,
                            to_core_last: self.now,
                        },
                    );
                    let hang = !self.s.calm && self.rng.chance(self.s.hang_connect_permille);
                    if !hang {
                        let d = self.net_delay() * 2;
                        self.schedule(d, Ev::CoreConnectResult(conn, epoch));
                    }
                }
                Event::CloseBackend { conn } => {
                    if let Some(sc) = self.conns.get_mut(&conn) {
                        sc.open = false;
                        sc.core_open = false;
                        sc.xids.clear();
                    }
                }
                Event::CloseClient { client, reason } => {
                    match self.clients.iter().position(|c| c.id == Some(client)) {
                        Some(c) if self.clients[c].garbled && !self.clients[c].core_closed => {
                            // The driver closes the socket; the core has
                            // forgotten the client already.
                            self.clients[c].core_closed = true;
                            self.clients[c].closed = true;
                            self.seen[1] += 1;
                        }
                        _ => self.violation(format!("client {client:?} dropped: {reason}")),
                    }
                }
                _ => {}
            }
        }
    }

    fn final_checks(&mut self) {
        self.final_read_back();
        for c in 0..self.clients.len() {
            let client = &self.clients[c];
            if client.connected && client.answered != self.s.calls_per_client {
                let (answered, waiting) = (client.answered, client.outstanding.len());
                self.violation(format!(
                    "client {c}: {answered} of {} calls answered, {waiting} still waiting",
                    self.s.calls_per_client
                ));
            }
        }
        let stats = self.core.stats();
        if stats.pending_calls != 0 || stats.clients != 0 {
            self.violation(format!("state left after quiescence: {stats:?}"));
        }
        // Only health checks may be outstanding, one per connection, and
        // only supervision deadlines registered, one per connection.
        let links = self.backends.len() * self.s.connections;
        if stats.outstanding_on_backends > links {
            self.violation(format!("backend XIDs left after quiescence: {stats:?}"));
        }
        if stats.timers > links {
            self.violation(format!("deadlines left after quiescence: {stats:?}"));
        }
        for b in 0..self.backends.len() {
            if let Some(st) = self.core.backend_status(BackendId(b)) {
                if st.in_flight != 0 || st.queued != 0 {
                    self.violation(format!("backend {b} left with {st:?}"));
                }
            }
        }
    }
}
