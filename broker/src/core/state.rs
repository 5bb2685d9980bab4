//! The core's records: calls, clients, backends.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use smallvec::SmallVec;

use super::handles::{BackendId, CallId, ClientId, ConnId, FanoutId, HandleSet};
use super::policy::MissRule;

/// Backends of one call (its candidates, those tried, those that
/// missed): a few, held inline, so that forwarding a call allocates no
/// list.
pub(crate) type Backends = SmallVec<[BackendId; 4]>;

/// A call being forwarded.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) client: ClientId,
    pub(crate) client_xid: u32,
    /// (program, version, procedure), for logs.
    pub(crate) header: (u32, u32, u32),
    /// The whole call record as received; emptied once it can no longer
    /// be sent again (after the last attempt).
    pub(crate) record: Bytes,
    pub(crate) idempotent: bool,
    /// For a read: what a miss looks like; a miss is asked again of the
    /// next untried live candidate (`MissFailoverRoute`).
    pub(crate) miss: Option<MissRule>,
    /// The candidates that answered the read with a miss.
    pub(crate) missed: Backends,
    /// For one copy of a fanned-out write: the write and the copy's
    /// index; the answer goes to the write's vote, not to the client.
    pub(crate) copy_of: Option<(FanoutId, usize)>,
    /// Backends that may serve it, in preference order.
    pub(crate) candidates: Backends,
    /// Backends it was sent to, in order.
    pub(crate) tried: Backends,
    pub(crate) max_attempts: u32,
    pub(crate) deadline: Instant,
    /// How long one attempt may wait before a retry (fixed when the call
    /// arrives, so a reload does not change calls in flight).
    pub(crate) attempt_timeout: Option<Duration>,
    /// When the call arrived (for the latency of [`CallDone`](super::CallDone)).
    pub(crate) started: Instant,
    pub(crate) state: CallState,
    /// The client left; nobody gets the reply.
    pub(crate) orphan: bool,
}

impl Call {
    pub(crate) fn attempts(&self) -> u32 {
        u32::try_from(self.tried.len()).unwrap_or(u32::MAX)
    }

    /// May be sent to `b` after a miss: it has not answered "not found"
    /// yet, and it was not sent the call before unless the call is
    /// idempotent.
    pub(crate) fn may_ask(&self, b: BackendId) -> bool {
        !self.missed.contains(&b) && (self.idempotent || !self.tried.contains(&b))
    }
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallState {
    /// Being placed (only inside one input).
    Unassigned,
    /// Waiting for a backend connection or an in-flight slot.
    Queued(BackendId),
    /// Sent; the reply will carry `xid` on `conn` (slot `slot`).
    Sent {
        backend: BackendId,
        slot: usize,
        conn: ConnId,
        xid: u32,
        attempt_deadline: Option<Instant>,
    },
}

/// A client connection.
#[derive(Debug, Default)]
pub(crate) struct ClientState {
    /// Its forwarded calls not yet answered.
    /// (A hash set: a client's first call allocates its table once,
    /// where a B-tree would allocate and free a node for every call of a
    /// one-call-at-a-time client.)
    pub(crate) calls: HandleSet<CallId>,
    /// Who is calling, and the allow list that applies.
    pub(crate) caller: super::access::Caller,
    /// Its fanned-out writes not yet answered (their copies are not in
    /// `calls`).
    pub(crate) writes: HandleSet<FanoutId>,
}

impl ClientState {
    /// Calls outstanding as the client sees them: a write counts once.
    pub(crate) fn in_flight(&self) -> usize {
        self.calls.len() + self.writes.len()
    }
}

/// What waits for a reply on a backend connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outstanding {
    Call(CallId),
    Probe,
}

/// The connection side of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// No connection; the next attempt is at `retry_at`.
    Down { retry_at: Instant },
    /// Connection `conn` is being made; given up at `deadline`.
    Connecting { conn: ConnId, deadline: Instant },
    /// Connection `conn` carries calls.
    Up { conn: ConnId },
}

/// One connection slot of a backend: its link and what rides on it.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) link: Link,
    /// Next XID to try on the current connection.
    pub(crate) next_xid: u32,
    /// Consecutive failed or lost connections (the backoff exponent).
    pub(crate) connect_failures: u32,
    /// Calls sent on this connection and not answered.
    pub(crate) in_flight: usize,
    /// The outstanding health check: its XID and deadline.
    pub(crate) probe: Option<(u32, Instant)>,
    /// When the next health check is due (while up).
    pub(crate) next_probe: Option<Instant>,
    /// The deadline registered in the timers for this slot.
    pub(crate) wake: Option<Instant>,
}

impl LinkState {
    fn new(now: Instant) -> Self {
        LinkState {
            link: Link::Down { retry_at: now },
            next_xid: 0,
            connect_failures: 0,
            in_flight: 0,
            probe: None,
            next_probe: None,
            wake: None,
        }
    }

    pub(crate) fn up(&self) -> Option<ConnId> {
        match self.link {
            Link::Up { conn } => Some(conn),
            _ => None,
        }
    }

    /// Connected, or making its first connection (not a reconnection
    /// after a failure).
    pub(crate) fn usable(&self) -> bool {
        match self.link {
            Link::Up { .. } => true,
            Link::Connecting { .. } => self.connect_failures == 0,
            Link::Down { .. } => false,
        }
    }

    pub(crate) fn conn(&self) -> Option<ConnId> {
        match self.link {
            Link::Up { conn } | Link::Connecting { conn, .. } => Some(conn),
            Link::Down { .. } => None,
        }
    }

    /// The earliest supervision deadline.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        match self.link {
            Link::Down { retry_at } => Some(retry_at),
            Link::Connecting { deadline, .. } => Some(deadline),
            Link::Up { .. } => match (self.probe, self.next_probe) {
                (Some((_, d)), _) => Some(d),
                (None, n) => n,
            },
        }
    }
}

/// One backend's supervision and load.
#[derive(Debug)]
pub(crate) struct BackendState {
    /// Its connections (`connections` of the configuration).
    pub(crate) links: Vec<LinkState>,
    /// Consecutive failures of any kind (the ejection count).
    pub(crate) failures: u32,
    pub(crate) ejected: bool,
    /// Taken out of routing by an operator (`broker ctl drain`).
    pub(crate) drained: bool,
    /// Gone from the configuration after a reload: no new calls, its
    /// connections are closed once its calls in flight are answered.
    pub(crate) retired: bool,
    /// Retired and its connections closed: no longer supervised.
    pub(crate) reaped: bool,
    /// Connection attempts within the restart window, all slots.
    pub(crate) restarts: VecDeque<Instant>,
    /// Calls sent and not answered, all connections.
    pub(crate) in_flight: usize,
    /// Calls waiting for this backend, oldest first.
    pub(crate) queue: VecDeque<CallId>,
}

impl BackendState {
    pub(crate) fn new(now: Instant, connections: usize) -> Self {
        BackendState {
            links: (0..connections.max(1))
                .map(|_| LinkState::new(now))
                .collect(),
            failures: 0,
            ejected: false,
            drained: false,
            retired: false,
            reaped: false,
            restarts: VecDeque::new(),
            in_flight: 0,
            queue: VecDeque::new(),
        }
    }

    /// May calls be placed here: admitted, not drained or retired, and a
    /// connection is up or being made for the first time.
    pub(crate) fn usable(&self) -> bool {
        !self.ejected && !self.drained && !self.retired && self.links.iter().any(LinkState::usable)
    }

    /// The live connection with the fewest calls in flight.
    pub(crate) fn least_loaded(&self) -> Option<(usize, ConnId)> {
        self.links
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.up().map(|c| (l.in_flight, i, c)))
            .min()
            .map(|(_, i, c)| (i, c))
    }
}
