//! A well-behaved client: one connection (reopened when lost), calls
//! kept `in_flight` at a time, every reply checked against its XID and,
//! in the datastore mix, against what was written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Barrier, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{CallMix, LoadConfig};
use super::conn::{Conn, Listeners, Recv};
use super::keys::{KeyBook, ReadCheck};
use super::report::{ErrorKind, LoadReport};
use super::wire::{outcome, Op, Outcome, Procedure};

/// Connection attempts before a client gives up for now.
const CONNECT_ATTEMPTS: u32 = 3;

/// Pause before a connection attempt after the first.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// How long a client keeps listening after its last reply, for
/// duplicates.
const LINGER: Duration = Duration::from_millis(50);

/// What the clients of a run share.
#[derive(Debug)]
pub(super) struct Shared {
    /// The run's settings.
    pub(super) cfg: LoadConfig,
    /// Where to connect.
    pub(super) listeners: Listeners,
    /// Bounds the connection attempts at once while the clients start.
    pub(super) connect_gate: Semaphore,
    /// Every client and the run itself: the load starts when all wait.
    pub(super) start: Barrier,
    /// Cancelled when the load phase ends (after the duration).
    pub(super) load_stop: CancellationToken,
    /// Cancelled when the read-back may start.
    pub(super) verify: CancellationToken,
    /// A message per client whose load phase (and drain) is over.
    pub(super) load_done: mpsc::UnboundedSender<()>,
    /// Clients connected when the load starts.
    pub(super) open_at_start: AtomicU64,
}

/// What a call was for.
#[derive(Debug, Clone, Copy)]
enum Tag {
    Null,
    Put { key: usize, version: u64 },
    Get { key: usize },
    ReadBack { key: usize },
}

impl Tag {
    fn procedure(self) -> Procedure {
        match self {
            Tag::Null => Procedure::Null,
            Tag::Put { .. } => Procedure::Put,
            Tag::Get { .. } | Tag::ReadBack { .. } => Procedure::Get,
        }
    }
}

/// The next call to make.
enum Next {
    Call(Op, Tag),
    /// Nothing until a reply frees a key.
    Wait,
    /// No more calls.
    Stop,
}

struct Client {
    shared: Arc<Shared>,
    unix: bool,
    rng: fastrand::Rng,
    book: KeyBook,
    conn: Option<Conn<Tag>>,
    report: LoadReport,
    /// Calls issued in the load phase.
    issued: u64,
    in_load: bool,
}

/// Runs well-behaved client number `index` to its end: connect, wait for
/// the start, the load phase, drain, then (datastore mix) the read-back.
pub(super) async fn run_client(index: usize, shared: Arc<Shared>) -> LoadReport {
    let cfg = &shared.cfg;
    let mut c = Client {
        unix: cfg.transport.unix_for(index),
        rng: fastrand::Rng::with_seed(
            cfg.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ),
        book: KeyBook::new(index, cfg.keys_per_client, cfg.payload_bytes),
        conn: None,
        report: LoadReport::default(),
        issued: 0,
        in_load: true,
        shared: Arc::clone(&shared),
    };
    {
        let _permit = shared.connect_gate.acquire().await;
        if c.connect().await {
            shared.open_at_start.fetch_add(1, Ordering::Relaxed);
        }
    }
    shared.start.wait().await;
    c.pump(Client::next_load_call).await;
    c.in_load = false;
    let _ = shared.load_done.send(());
    if shared.cfg.mix == CallMix::Datastore {
        shared.verify.cancelled().await;
        let mut next_key = 0;
        c.pump(move |c| c.next_read_back(&mut next_key)).await;
    }
    c.report
}

impl Client {
    /// Opens the connection if there is none; false when that fails.
    async fn connect(&mut self) -> bool {
        if self.conn.is_some() {
            return true;
        }
        for _ in 0..CONNECT_ATTEMPTS {
            if self.report.connections.opened > 0 {
                // A reconnection: pause first, as a client backs off.
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
            match self.shared.listeners.connect(self.unix).await {
                Ok(io) => {
                    if self.report.connections.opened > 0 {
                        self.report.connections.reopened += 1;
                    }
                    self.report.connections.opened += 1;
                    self.conn = Some(Conn::new(io, self.rng.u32(..)));
                    return true;
                }
                Err(_) => {
                    self.report.error(ErrorKind::ConnectFailed);
                    if self.report.connections.opened == 0 {
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                    }
                }
            }
        }
        false
    }

    fn next_load_call(&mut self) -> Next {
        let quota_met = self
            .shared
            .cfg
            .calls_per_client()
            .is_some_and(|q| self.issued >= q);
        if quota_met || self.shared.load_stop.is_cancelled() {
            return Next::Stop;
        }
        let next = match self.shared.cfg.mix {
            CallMix::Null => Next::Call(Op::Null, Tag::Null),
            CallMix::Datastore => {
                let Some(key) = self.book.pick(&mut self.rng) else {
                    return Next::Wait;
                };
                let name = self.book.name(key);
                if !self.book.written(key) || self.rng.bool() {
                    let (version, data) = self.book.next_put(key);
                    Next::Call(Op::Put { key: name, data }, Tag::Put { key, version })
                } else {
                    let count = u32::try_from(self.book.payload_bytes()).unwrap_or(u32::MAX);
                    Next::Call(Op::Get { key: name, count }, Tag::Get { key })
                }
            }
        };
        self.issued += 1;
        next
    }

    fn next_read_back(&mut self, next_key: &mut usize) -> Next {
        while *next_key < self.book.len() {
            let key = *next_key;
            *next_key += 1;
            if self.book.is_acknowledged(key) {
                self.report.writes.keys_checked += 1;
                let count = u32::try_from(self.book.payload_bytes()).unwrap_or(u32::MAX);
                let op = Op::Get {
                    key: self.book.name(key),
                    count,
                };
                return Next::Call(op, Tag::ReadBack { key });
            }
        }
        Next::Stop
    }

    /// Makes the calls `next` gives, `in_flight` at a time, until it says
    /// stop and every call is answered or given up; then listens a moment
    /// longer for duplicate replies.
    async fn pump(&mut self, mut next: impl FnMut(&mut Self) -> Next) {
        let in_flight = self.shared.cfg.in_flight;
        let mut stopped = false;
        loop {
            while !stopped && self.conn.as_ref().map_or(0, Conn::in_flight) < in_flight {
                if !self.connect().await {
                    if self.in_load {
                        break;
                    }
                    // The read-back goes on without a connection: every
                    // key left counts as unreadable.
                    match next(self) {
                        Next::Call(_, tag) => {
                            self.report.calls.sent += 1;
                            self.lose(tag);
                            continue;
                        }
                        Next::Wait | Next::Stop => {
                            stopped = true;
                            break;
                        }
                    }
                }
                match next(self) {
                    Next::Call(op, tag) => self.send(&op, tag).await,
                    Next::Wait => break,
                    Next::Stop => stopped = true,
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                if stopped {
                    break;
                }
                // Could not connect: try again unless the load is over.
                if self.shared.load_stop.is_cancelled() && self.in_load {
                    break;
                }
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            };
            let Some(oldest) = conn.oldest() else {
                if stopped {
                    break;
                }
                continue;
            };
            let received = conn.recv(oldest + self.shared.cfg.reply_timeout).await;
            self.receive(received);
        }
        if let Some(conn) = self.conn.as_mut() {
            loop {
                match conn.recv(Instant::now() + LINGER).await {
                    Recv::Duplicate => self.report.calls.duplicate_replies += 1,
                    Recv::Unexpected => self.report.calls.unexpected_replies += 1,
                    _ => break,
                }
            }
        }
    }

    async fn send(&mut self, op: &Op, tag: Tag) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        self.report.calls.sent += 1;
        if let Err(tag) = conn.send(op, tag).await {
            self.lose(tag);
            self.give_up(ErrorKind::ConnectionLost);
        }
    }

    fn receive(&mut self, received: Recv<Tag>) {
        match received {
            Recv::Reply { call, record } => {
                self.report.calls.answered += 1;
                if self.in_load {
                    self.report.calls.answered_in_load += 1;
                }
                self.report.latency.record(call.sent_at.elapsed());
                self.settle(call.tag, outcome(call.tag.procedure(), record));
            }
            Recv::Duplicate => self.report.calls.duplicate_replies += 1,
            Recv::Unexpected => self.report.calls.unexpected_replies += 1,
            Recv::Closed => self.give_up(ErrorKind::ConnectionLost),
            Recv::TimedOut => self.give_up(ErrorKind::ReplyTimeout),
        }
    }

    /// Drops the connection; its calls in flight count as unanswered.
    fn give_up(&mut self, kind: ErrorKind) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        self.report.error(kind);
        for call in conn.take_pending() {
            self.lose(call.tag);
        }
    }

    /// Counts a call that got no reply.
    fn lose(&mut self, tag: Tag) {
        self.report.calls.unanswered += 1;
        match tag {
            Tag::Null => {}
            Tag::Put { key, version } => {
                self.report.writes.unacknowledged_puts += 1;
                self.book.unacknowledged(key, version);
            }
            Tag::Get { key } => self.book.release(key),
            Tag::ReadBack { .. } => self.report.writes.unreadable += 1,
        }
    }

    fn settle(&mut self, tag: Tag, outcome: Outcome) {
        if let Outcome::Error(kind) = outcome {
            self.report.error(kind);
        }
        match tag {
            Tag::Null => {
                if !matches!(outcome, Outcome::Done | Outcome::Error(_)) {
                    self.report.error(ErrorKind::GarbageReply);
                }
            }
            Tag::Put { key, version } => {
                if outcome == Outcome::Done {
                    self.report.writes.acknowledged_puts += 1;
                    self.book.acknowledged(key, version);
                } else {
                    self.report.writes.unacknowledged_puts += 1;
                    self.book.unacknowledged(key, version);
                }
            }
            Tag::Get { key } => {
                let check = match &outcome {
                    Outcome::Data(d) => Some(self.book.check(key, Some(d))),
                    Outcome::NoEntry => Some(self.book.check(key, None)),
                    _ => None,
                };
                if matches!(check, Some(ReadCheck::Wrong | ReadCheck::Missing)) {
                    self.report.writes.wrong_reads_in_load += 1;
                }
                self.book.release(key);
            }
            Tag::ReadBack { key } => match &outcome {
                Outcome::Data(d) => {
                    if self.book.check(key, Some(d)) != ReadCheck::Consistent {
                        self.report.writes.wrong_value += 1;
                    }
                }
                _ => self.report.writes.unreadable += 1,
            },
        }
    }
}
