//! The tokio driver of the [`Core`]: the core sits behind a mutex in a
//! [`Hub`] shared by every connection task, and each task drives it
//! itself: a client's task reads call records and hands them to the core,
//! a backend connection's task hands it reply records, and each then
//! performs the outputs it got ([`Hub::step`]):
//!
//! * a call for a backend goes into that connection's [`Outbox`] and is
//!   written by the connection's task, once per round of the runtime for
//!   everything queued by then (one vectored write for many calls);
//! * a reply for a client is written at once by the task that has it (no
//!   wake-up of the client's task), unless the socket would block: then
//!   the client's task waits for it and writes the rest.
//!
//! A UDP client's call is read and handed to the core by its listener's
//! task, and its reply sent with one non-blocking `sendto` by the task
//! that has it ([`udp`]).
//!
//! So a forwarded call costs two task wake-ups (the client's socket is
//! readable, the backend's socket is readable) and no channel traffic.
//! The mutex is held only for the synchronous step (never across an
//! `.await`) and the sockets are written after it is released.
//!
//! One more task, [`run`], owns the core's timers (it sleeps until the
//! core's next deadline and is woken only when an earlier one appears)
//! and the administration requests (snapshot, drain, reload).
//!
//! Memory stays bounded: a client's task reads no further call while
//! `max_in_flight_per_client` of its calls are unanswered (a reply counts
//! as answered once written in full) or while its unread replies reach a
//! cap in bytes ([`ReplyBudget`](rpc_runtime::conn_limits::ReplyBudget)); a reply for a
//! client already over a cap closes it. Calls queued to a backend are
//! bounded by the calls the clients may have outstanding, and replies by
//! the calls sent. A client connection holds no read buffer while no
//! byte of a record has arrived, and [`ClientLimits`] close idle,
//! stalled and non-reading clients; at `max_connections` a new client
//! evicts the one idle the longest ([`Hub::admit`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use rpc_runtime::conn_limits::longest_idle;
use rpc_runtime::log_limit::{LogLimit, DEFAULT_INTERVAL};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::AbortHandle;

use crate::config::BackendAddress;
use crate::core::access::{Caller, Refusal};
use crate::core::{ClientId, ConnId, Core, Destination, Event, HandleMap, Transmit};
use crate::driver::backend::{self as backend_io, Target};
use crate::driver::outbox::Outbox;
use crate::driver::socket::WriteHalf;
use crate::driver::socket_count::{SocketCount, SocketSlot};
use crate::driver::udp::Datagrams;
use crate::metrics::{LimitHit, Metrics, Recorder, PRINCIPAL_NOT_ALLOWED};
use crate::status::Snapshot;

mod admin;
pub(crate) mod backend;
pub(crate) mod client;
pub(crate) mod fd_limit;
pub(crate) mod gss;
pub(crate) mod gss_backend;
pub(crate) mod listener;
pub(crate) mod outbox;
pub(crate) mod rpcbind;
pub(crate) mod socket;
pub(crate) mod socket_count;
pub(crate) mod tls;
pub(crate) mod udp;
pub(crate) mod wire;

pub(crate) use admin::{route_keys, NewConfig, ReloadReport};
pub(crate) use client::ClientLimits;

/// One log line per interval for clients closed for sending something
/// that is not a call record stream (any task closing a client for
/// garbage logs through it)...
pub(crate) static GARBAGE_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... and for calls refused by a listener's allow list.
static REFUSED_CALL_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// What the administration (the admin protocol, the metrics endpoint,
/// SIGHUP) asks of the driver task.
#[derive(Debug)]
pub(crate) enum Input {
    /// The admin protocol or the metrics endpoint wants a snapshot.
    Snapshot(oneshot::Sender<Snapshot>),
    /// Drain (true) or undrain (false) the backend of this name; the
    /// answer is false when there is none.
    Drain(String, bool, oneshot::Sender<bool>),
    /// Apply a new, validated configuration.
    Reconfigure(Box<NewConfig>, oneshot::Sender<ReloadReport>),
}

/// A backend as the driver knows it: name, configured address, and how
/// to reach it.
#[derive(Debug, Clone)]
pub(crate) struct BackendTarget {
    pub(crate) name: Arc<str>,
    pub(crate) address: BackendAddress,
    pub(crate) target: Target,
}

/// Where a record goes once the hub's lock is released.
#[derive(Debug)]
pub(crate) enum Sink {
    /// A stream connection (client or backend).
    Stream(Arc<Outbox>),
    /// A client whose calls the broker checked for RPCSEC_GSS: the reply
    /// is protected first.
    Sealed(Arc<Outbox>, Arc<gss::ClientGss>),
    /// A backend connection with RPCSEC_GSS: the call is protected first.
    Protected(Arc<Outbox>, Arc<gss_backend::BackendChannel>),
    /// A UDP listener's client.
    Datagram(Arc<Datagrams>),
}

/// Records to write once the hub's lock is released: where, and what.
pub(crate) type Deliveries = Vec<(Sink, Transmit)>;

/// The core and everything the connection tasks share.
#[derive(Debug)]
pub(crate) struct Hub {
    state: Mutex<State>,
    /// Wakes the driver task: the core has an earlier deadline.
    timer: Notify,
    metrics: Arc<Metrics>,
    /// Largest record read, bytes.
    pub(crate) max_record: usize,
    /// Calls a client may have unanswered before its reading pauses.
    pub(crate) max_in_flight: usize,
    /// The limits on client connections.
    pub(crate) client_limits: ClientLimits,
    /// Client sockets open, until their tasks have let go of them.
    pub(crate) client_sockets: Arc<SocketCount>,
}

/// What the hub's lock guards.
pub(crate) struct State {
    pub(crate) core: Core,
    /// Indexed by [`BackendId`](crate::core::BackendId).
    targets: Vec<BackendTarget>,
    /// Program and versions of each route, in route order.
    route_keys: Vec<(u32, Vec<u32>)>,
    recorder: Recorder,
    reloads: u32,
    pub(crate) clients: HandleMap<ClientId, Arc<Outbox>>,
    /// The RPCSEC_GSS side of the clients of listeners that end it.
    pub(crate) gss_clients: HandleMap<ClientId, Arc<gss::ClientGss>>,
    /// The UDP listener of each client address with calls in flight.
    pub(crate) datagram_clients: HandleMap<ClientId, Arc<Datagrams>>,
    pub(crate) conns: HandleMap<ConnId, Arc<Outbox>>,
    /// The RPCSEC_GSS context of each backend connection that has one.
    pub(crate) gss_backends: HandleMap<ConnId, Arc<gss_backend::BackendChannel>>,
    /// The task of each backend connection (connecting or connected).
    pub(crate) tasks: HandleMap<ConnId, AbortHandle>,
    /// The deadline the driver task sleeps until.
    armed: Option<Instant>,
    /// The broker is shutting down: no new backend connections.
    stopped: bool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("clients", &self.clients.len())
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

impl State {
    fn name(&self, b: crate::core::BackendId) -> &str {
        self.targets.get(b.0).map_or("?", |t| &*t.name)
    }
}

impl Hub {
    /// A hub around `core` (which records every answered call for the
    /// metrics from now on).
    pub(crate) fn new(
        mut core: Core,
        targets: Vec<BackendTarget>,
        route_keys: Vec<(u32, Vec<u32>)>,
        metrics: Arc<Metrics>,
        max_record: usize,
        max_in_flight: usize,
        client_limits: ClientLimits,
    ) -> Arc<Hub> {
        core.record_calls(true);
        Arc::new(Hub {
            state: Mutex::new(State {
                core,
                targets,
                route_keys,
                recorder: Recorder::default(),
                reloads: 0,
                clients: HandleMap::default(),
                gss_clients: HandleMap::default(),
                gss_backends: HandleMap::default(),
                datagram_clients: HandleMap::default(),
                conns: HandleMap::default(),
                tasks: HandleMap::default(),
                armed: None,
                stopped: false,
            }),
            timer: Notify::new(),
            metrics,
            max_record,
            max_in_flight: max_in_flight.max(1),
            client_limits,
            client_sockets: Arc::default(),
        })
    }

    /// Admits a new client connection from `caller` writing to `io`: its
    /// handle and outbox (its calls are checked against the caller's allow
    /// list, [`Core::add_caller`]). At `max_connections` the client idle the longest (no call
    /// in flight, no reply waiting; a half-sent record counts as idle) is
    /// closed to make room; `None` (the new connection is to be closed)
    /// when every client is busy. The slot counts the socket in
    /// [`Hub::client_sockets`] until the connection's task drops it.
    pub(crate) fn admit(
        self: &Arc<Self>,
        io: WriteHalf,
        caller: Caller,
    ) -> Option<(ClientId, Arc<Outbox>, SocketSlot)> {
        let mut st = self.lock();
        if st.clients.len() >= self.client_limits.max_connections {
            let idlest = longest_idle(st.clients.iter().map(|(id, o)| (*id, o.idle_since())));
            let Some(id) = idlest else {
                drop(st);
                self.metrics.limit_hit(LimitHit::Refused);
                return None;
            };
            if let Some(o) = st.clients.remove(&id) {
                o.close_because(Some(LimitHit::Evicted));
            }
        }
        let outbox = Arc::new(Outbox::client(
            io,
            self.max_in_flight,
            self.client_limits.budget.clone(),
        ));
        let id = st.core.add_caller(caller);
        st.clients.insert(id, Arc::clone(&outbox));
        Some((id, outbox, self.client_sockets.opened()))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the state (an input to the core, at the current time)
    /// under the lock, takes the core's outputs (events acted on, call
    /// records counted, the timer re-armed if need be), releases the lock
    /// and writes the records. `out` is scratch space, left empty.
    pub(crate) fn step<R>(
        self: &Arc<Self>,
        out: &mut Deliveries,
        f: impl FnOnce(&mut State, Instant) -> R,
    ) -> R {
        let now = Instant::now();
        let r = {
            let mut st = self.lock();
            let r = f(&mut st, now);
            self.collect(&mut st, out);
            r
        };
        for (sink, t) in out.drain(..) {
            match (sink, t.destination) {
                (Sink::Stream(outbox), Destination::Backend(_)) => outbox.send_later(t),
                (Sink::Stream(outbox), Destination::Client(_)) => outbox.send_now(t),
                (Sink::Sealed(outbox, gss), _) => outbox.send_now(gss.seal(t)),
                (Sink::Protected(outbox, channel), _) => {
                    gss_backend::send_call(&outbox, &channel, &self.metrics, t);
                }
                (Sink::Datagram(d), _) => d.send_reply(self, t),
            }
        }
        r
    }

    fn collect(self: &Arc<Self>, st: &mut State, out: &mut Deliveries) {
        while let Some(t) = st.core.poll_transmit() {
            let sink = match t.destination {
                Destination::Client(id) => st.clients.get(&id).map_or_else(
                    || st.datagram_clients.get(&id).cloned().map(Sink::Datagram),
                    |o| match st.gss_clients.get(&id) {
                        Some(g) => Some(Sink::Sealed(Arc::clone(o), Arc::clone(g))),
                        None => Some(Sink::Stream(Arc::clone(o))),
                    },
                ),
                Destination::Backend(conn) => {
                    st.conns
                        .get(&conn)
                        .map(|o| match st.gss_backends.get(&conn) {
                            Some(c) => Sink::Protected(Arc::clone(o), Arc::clone(c)),
                            None => Sink::Stream(Arc::clone(o)),
                        })
                }
            };
            // A connection that is gone has reported (or will report) its end.
            if let Some(sink) = sink {
                out.push((sink, t));
            }
        }
        while let Some(e) = st.core.poll_event() {
            self.event(st, e);
        }
        let State {
            core,
            recorder,
            targets,
            ..
        } = st;
        while let Some(done) = core.poll_call_done() {
            recorder.record(&self.metrics, &done, |b| {
                targets.get(b.0).map_or("?", |t| &*t.name)
            });
        }
        if let Some(next) = st.core.poll_timeout() {
            if st.armed.is_none_or(|a| next < a) {
                st.armed = Some(next);
                self.timer.notify_one();
            }
        }
    }

    fn event(self: &Arc<Self>, st: &mut State, e: Event) {
        match e {
            Event::Connect { backend, conn } => {
                if st.stopped {
                    return;
                }
                let Some(BackendTarget { name, target, .. }) = st.targets.get(backend.0).cloned()
                else {
                    return;
                };
                tracing::debug!(backend = %name, conn = conn.get(), "connecting to backend");
                let task = tokio::spawn(backend_io::run(Arc::clone(self), conn, target, name));
                st.tasks.insert(conn, task.abort_handle());
            }
            Event::CloseBackend { conn } => {
                let gss = st.gss_backends.remove(&conn);
                if let Some(o) = st.conns.remove(&conn) {
                    gss_backend::close_backend(&o, conn, gss.as_deref());
                }
                if let Some(h) = st.tasks.remove(&conn) {
                    h.abort();
                }
            }
            Event::CloseClient { client, reason } => {
                if let Some(suppressed) = GARBAGE_LOG.allow() {
                    tracing::warn!(client = client.get(), reason = %reason, suppressed, "closing client connection: not an RPC call stream");
                }
                if let Some(o) = st.clients.remove(&client) {
                    o.close();
                }
            }
            Event::BackendUp { backend } => {
                tracing::info!(backend = st.name(backend), "connected to backend");
            }
            Event::BackendDown {
                backend,
                failures,
                retry_in_ms,
            } => {
                self.metrics.reconnect(st.name(backend));
                tracing::warn!(
                    backend = st.name(backend),
                    failures,
                    retry_in_ms,
                    "backend connection down"
                );
            }
            Event::Ejected { backend, failures } => {
                tracing::warn!(backend = st.name(backend), failures, "backend ejected");
            }
            Event::Readmitted { backend } => {
                tracing::info!(backend = st.name(backend), "backend readmitted");
            }
            Event::RestartIntensityExceeded { backend } => tracing::warn!(
                backend = st.name(backend),
                "backend restarts too often: holding off"
            ),
            Event::CallFailed {
                client,
                xid,
                call: (program, version, procedure),
                reason,
            } => tracing::warn!(
                client = client.get(),
                xid,
                program = %format_args!("{program:#x}"),
                version,
                procedure,
                %reason,
                "answering SYSTEM_ERR"
            ),
            Event::CallRefused {
                client,
                cred,
                principal,
                program,
                refusal,
            } => {
                if principal.is_some() && matches!(refusal, Refusal::Caller) {
                    self.metrics.gss.refused(PRINCIPAL_NOT_ALLOWED);
                }
                if let Some(suppressed) = REFUSED_CALL_LOG.allow() {
                    tracing::warn!(
                        client = client.get(),
                        uid = cred.map(|c| c.uid),
                        gid = cred.map(|c| c.gid),
                        pid = cred.and_then(|c| c.pid),
                        principal = principal.as_deref(),
                        program = %format_args!("{program:#x}"),
                        suppressed,
                        "call refused: {refusal}"
                    );
                }
            }
            Event::LateReply { backend, xid } => {
                tracing::debug!(backend = st.name(backend), xid, "late reply dropped");
            }
            Event::BackendProtocolError { backend } => tracing::warn!(
                backend = st.name(backend),
                "backend sent something that is not a reply: reconnecting"
            ),
        }
    }

    /// Shuts the connections down (the broker stops): backend tasks are
    /// aborted, client and backend outboxes closed.
    fn stop(&self) {
        let mut st = self.lock();
        st.stopped = true;
        for (_, h) in st.tasks.drain() {
            h.abort();
        }
        let gss = std::mem::take(&mut st.gss_backends);
        for (conn, o) in st.conns.drain() {
            gss_backend::close_backend(&o, conn, gss.get(&conn).map(|c| &**c));
        }
        for (_, o) in st.clients.drain() {
            o.close();
        }
        st.datagram_clients.clear();
    }
}

/// Stops the hub when the driver task ends (or is aborted).
struct StopOnDrop(Arc<Hub>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The driver task: starts the backend connections, then fires the
/// core's deadlines and answers the administration until the inbox
/// closes (every sender gone) or the task is aborted; then stops every
/// connection.
pub(crate) async fn run(hub: Arc<Hub>, mut inbox: mpsc::UnboundedReceiver<Input>) {
    let _stop = StopOnDrop(Arc::clone(&hub));
    let mut out = Deliveries::new();
    // The core asked for its backend connections when it was made.
    hub.step(&mut out, |_, _| ());
    let sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
    tokio::pin!(sleep);
    loop {
        let deadline = {
            let mut st = hub.lock();
            st.armed = st.core.poll_timeout();
            st.armed
        };
        if let Some(d) = deadline {
            sleep.as_mut().reset(tokio::time::Instant::from_std(d));
        }
        tokio::select! {
            () = hub.timer.notified() => {}
            () = &mut sleep, if deadline.is_some() => {
                hub.step(&mut out, |st, now| st.core.handle_timeout(now));
            }
            msg = inbox.recv() => {
                let Some(msg) = msg else { break };
                hub.step(&mut out, |st, now| st.admin(now, msg));
            }
        }
    }
}
