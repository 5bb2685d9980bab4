//! The tokio driver of the [`Core`]: one task owns the core, feeds it the
//! inputs that connection tasks send to its inbox, hands its transmits to
//! the connections' writers, acts on its events (connect, close, log) and
//! sleeps until its next deadline.
//!
//! The channels are unbounded, but what is in them is bounded elsewhere:
//! a client's reader holds one of `max_in_flight_per_client` permits per
//! call until its reply is written, so a client's inbox messages and
//! replies are bounded by that limit; calls to a backend are bounded by
//! the calls the clients may have outstanding; replies from a backend by
//! the calls sent to it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rpc_runtime::record::RecordCodecBuilder;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::backend_io::{self, Target};
use crate::config::BackendAddress;
use crate::core::{ClientId, ConnId, Core, Destination, Event, Transmit};
use crate::metrics::{Metrics, Recorder};
use crate::status::Snapshot;

mod admin;

pub(crate) use admin::{route_keys, NewConfig, ReloadReport};

/// What connection tasks tell the core task.
#[derive(Debug)]
pub(crate) enum Input {
    /// A client connected; send its writer, get its id back.
    NewClient(mpsc::UnboundedSender<Transmit>, oneshot::Sender<ClientId>),
    /// A call record from a client.
    ClientCall(ClientId, Bytes),
    /// A client connection ended.
    ClientClosed(ClientId),
    /// A backend connection is up; here is its writer.
    BackendConnected(ConnId, mpsc::UnboundedSender<Transmit>),
    /// A backend connection could not be made.
    BackendFailed(ConnId),
    /// A reply record from a backend.
    BackendReply(ConnId, Bytes),
    /// A backend connection ended.
    BackendClosed(ConnId),
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

/// The core task's state besides the core.
pub(crate) struct Driver {
    core: Core,
    /// Indexed by [`BackendId`](crate::core::BackendId).
    targets: Vec<BackendTarget>,
    /// Program and versions of each route, in route order.
    route_keys: Vec<(u32, Vec<u32>)>,
    metrics: Arc<Metrics>,
    recorder: Recorder,
    reloads: u32,
    codec: RecordCodecBuilder,
    inbox: mpsc::UnboundedSender<Input>,
    clients: HashMap<ClientId, mpsc::UnboundedSender<Transmit>>,
    conns: HashMap<ConnId, mpsc::UnboundedSender<Transmit>>,
    connecting: HashMap<ConnId, tokio::task::AbortHandle>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("clients", &self.clients.len())
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    pub(crate) fn new(
        mut core: Core,
        targets: Vec<BackendTarget>,
        route_keys: Vec<(u32, Vec<u32>)>,
        metrics: Arc<Metrics>,
        codec: RecordCodecBuilder,
        inbox: mpsc::UnboundedSender<Input>,
    ) -> Driver {
        core.record_calls(true);
        Driver {
            core,
            targets,
            route_keys,
            metrics,
            recorder: Recorder::default(),
            reloads: 0,
            codec,
            inbox,
            clients: HashMap::new(),
            conns: HashMap::new(),
            connecting: HashMap::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Runs until the inbox closes (every sender gone) or the task is
    /// aborted.
    pub(crate) async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Input>) {
        self.flush();
        // One timer, moved only when the core's next deadline changes (most
        // inputs leave it where it is).
        let sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            let deadline = self.core.poll_timeout();
            if deadline != armed {
                if let Some(d) = deadline {
                    sleep.as_mut().reset(tokio::time::Instant::from_std(d));
                }
                armed = deadline;
            }
            tokio::select! {
                msg = inbox.recv() => {
                    let Some(msg) = msg else { break };
                    self.input(msg);
                    // Take what else is waiting before flushing.
                    for _ in 0..64 {
                        match inbox.try_recv() {
                            Ok(msg) => self.input(msg),
                            Err(_) => break,
                        }
                    }
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.core.handle_timeout(Instant::now());
                }
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
            self.flush();
        }
    }

    fn input(&mut self, msg: Input) {
        let now = Instant::now();
        match msg {
            Input::NewClient(tx, reply) => {
                let id = self.core.add_client();
                self.clients.insert(id, tx);
                if reply.send(id).is_err() {
                    self.clients.remove(&id);
                    self.core.handle_client_closed(now, id);
                }
            }
            Input::ClientCall(id, record) => self.core.handle_client_call(now, id, record),
            Input::ClientClosed(id) => {
                self.clients.remove(&id);
                self.core.handle_client_closed(now, id);
            }
            Input::BackendConnected(conn, tx) => {
                self.connecting.remove(&conn);
                self.conns.insert(conn, tx);
                self.core.handle_backend_connected(now, conn);
            }
            Input::BackendFailed(conn) => {
                self.connecting.remove(&conn);
                self.core.handle_backend_failed(now, conn);
            }
            Input::BackendReply(conn, record) => self.core.handle_backend_reply(now, conn, record),
            Input::BackendClosed(conn) => {
                self.connecting.remove(&conn);
                self.conns.remove(&conn);
                self.core.handle_backend_closed(now, conn);
            }
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

    fn flush(&mut self) {
        while let Some(t) = self.core.poll_transmit() {
            let tx = match t.destination {
                Destination::Client(id) => self.clients.get(&id),
                Destination::Backend(conn) => self.conns.get(&conn),
            };
            // A writer that is gone has reported (or will report) its end.
            if let Some(tx) = tx {
                let _ = tx.send(t);
            }
        }
        while let Some(e) = self.core.poll_event() {
            self.event(e);
        }
        while let Some(done) = self.core.poll_call_done() {
            let targets = &self.targets;
            self.recorder.record(&self.metrics, &done, |b| {
                targets.get(b.0).map_or("?", |t| &*t.name)
            });
        }
    }

    fn name(&self, b: crate::core::BackendId) -> &str {
        self.targets.get(b.0).map_or("?", |t| &*t.name)
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Connect { backend, conn } => {
                let Some(BackendTarget { name, target, .. }) = self.targets.get(backend.0).cloned()
                else {
                    return;
                };
                tracing::debug!(backend = %name, conn = conn.get(), "connecting to backend");
                let h = self.tasks.spawn(backend_io::run(
                    conn,
                    target,
                    self.codec,
                    self.inbox.clone(),
                    name,
                ));
                self.connecting.insert(conn, h);
            }
            Event::CloseBackend { conn } => {
                // Dropping the writer ends the connection task.
                self.conns.remove(&conn);
                if let Some(h) = self.connecting.remove(&conn) {
                    h.abort();
                }
            }
            Event::CloseClient { client, reason } => {
                tracing::warn!(client = client.get(), reason = %reason, "closing client connection: not an RPC call stream");
                self.clients.remove(&client);
            }
            Event::BackendUp { backend } => {
                tracing::info!(backend = self.name(backend), "connected to backend");
            }
            Event::BackendDown {
                backend,
                failures,
                retry_in_ms,
            } => {
                self.metrics.reconnect(self.name(backend));
                tracing::warn!(
                    backend = self.name(backend),
                    failures,
                    retry_in_ms,
                    "backend connection down"
                );
            }
            Event::Ejected { backend, failures } => {
                tracing::warn!(backend = self.name(backend), failures, "backend ejected");
            }
            Event::Readmitted { backend } => {
                tracing::info!(backend = self.name(backend), "backend readmitted");
            }
            Event::RestartIntensityExceeded { backend } => tracing::warn!(
                backend = self.name(backend),
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
                program,
                version,
                procedure,
                %reason,
                "answering SYSTEM_ERR"
            ),
            Event::LateReply { backend, xid } => {
                tracing::debug!(backend = self.name(backend), xid, "late reply dropped");
            }
            Event::BackendProtocolError { backend } => tracing::warn!(
                backend = self.name(backend),
                "backend sent something that is not a reply: reconnecting"
            ),
        }
    }
}
