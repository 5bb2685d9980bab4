//! What the core asks its driver to do: [`Transmit`]s and [`Event`]s.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::handles::{BackendId, ClientId, ConnId};

/// Where a [`Transmit`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A reply record to a client connection.
    Client(ClientId),
    /// A call record to a backend connection.
    Backend(ConnId),
}

/// One record to send, without record marking: the 4-byte XID `xid`
/// followed by `rest` (the message after its XID, a slice of the record
/// received, so forwarding never copies the payload). Write it as one
/// record: fragment header `0x80000000 | (4 + rest.len())`, the XID in
/// big-endian order, then `rest`.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where it goes.
    pub destination: Destination,
    /// The XID the record carries on this connection.
    pub xid: u32,
    /// The message after the XID.
    pub rest: Bytes,
}

impl Transmit {
    /// The record's length in bytes (XID included).
    pub fn len(&self) -> usize {
        4 + self.rest.len()
    }

    /// Always false: a record carries at least its XID.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The whole record in one buffer (a copy; for tests and small records).
    pub fn to_record(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.len());
        b.put_u32(self.xid);
        b.extend_from_slice(&self.rest);
        b.freeze()
    }
}

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transmit")
            .field("destination", &self.destination)
            .field("xid", &self.xid)
            .field("len", &self.len())
            .finish()
    }
}

/// Why the broker answered a call with SYSTEM_ERR instead of a backend's
/// reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// No backend of the call's candidates is connected or connecting and
    /// admitted.
    NoBackend,
    /// The call's deadline passed.
    Timeout,
    /// The connection carrying the call failed, and the call may not be
    /// retried (not idempotent, or no attempts or replicas left).
    ConnectionLost,
    /// The client already has `max_in_flight_per_client` calls outstanding.
    ClientLimit,
    /// A write was answered by fewer than the route's `min_acks` replicas
    /// (`AllSyncRoute`); those that succeeded are not undone.
    TooFewAcks,
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailReason::NoBackend => "no backend available",
            FailReason::Timeout => "timed out",
            FailReason::ConnectionLost => "backend connection lost",
            FailReason::ClientLimit => "too many calls in flight from this client",
            FailReason::TooFewAcks => "fewer replicas than min_acks acknowledged the write",
        })
    }
}

/// Something the driver must do (connect, close) or may log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Open connection `conn` to `backend`; report the outcome with
    /// [`Core::handle_backend_connected`](super::Core::handle_backend_connected)
    /// or [`Core::handle_backend_failed`](super::Core::handle_backend_failed).
    Connect {
        /// The backend.
        backend: BackendId,
        /// The handle of the new connection.
        conn: ConnId,
    },
    /// Close (or stop connecting) backend connection `conn`; the core has
    /// already forgotten it, so no further input about it is needed.
    CloseBackend {
        /// The connection.
        conn: ConnId,
    },
    /// Close client connection `client`; the core has already forgotten it.
    CloseClient {
        /// The client.
        client: ClientId,
        /// Why (for the log).
        reason: String,
    },
    /// A backend connection is up.
    BackendUp {
        /// The backend.
        backend: BackendId,
    },
    /// A backend connection failed or could not be made; the core retries
    /// after `retry_in_ms` milliseconds.
    BackendDown {
        /// The backend.
        backend: BackendId,
        /// Consecutive failures so far.
        failures: u32,
        /// Milliseconds until the next connection attempt.
        retry_in_ms: u64,
    },
    /// A backend is taken out of routing after `failures` consecutive
    /// failed connections or health checks, or restarts over the
    /// intensity limit.
    Ejected {
        /// The backend.
        backend: BackendId,
        /// Consecutive failures.
        failures: u32,
    },
    /// An ejected backend answered a health check and routes to it again.
    Readmitted {
        /// The backend.
        backend: BackendId,
    },
    /// A backend's connection restarted more than `max_restarts` times in
    /// `restart_window`; it is ejected and left alone for `backoff_max`.
    RestartIntensityExceeded {
        /// The backend.
        backend: BackendId,
    },
    /// The broker answered a forwarded call with SYSTEM_ERR.
    CallFailed {
        /// The caller.
        client: ClientId,
        /// The caller's XID.
        xid: u32,
        /// The program, version and procedure called.
        call: (u32, u32, u32),
        /// Why.
        reason: FailReason,
    },
    /// The broker refused a call its caller's allow list does not allow
    /// (see [`access`](super::access) for the answer sent).
    CallRefused {
        /// The caller.
        client: ClientId,
        /// The caller's credentials, when known.
        cred: Option<super::access::PeerCred>,
        /// The caller's RPCSEC_GSS principal, when the broker ended
        /// RPCSEC_GSS for the call.
        principal: Option<std::sync::Arc<str>>,
        /// The program called.
        program: u32,
        /// Why.
        refusal: super::access::Refusal,
    },
    /// A reply came from a backend for a call no longer waiting for it (it
    /// timed out, was retried elsewhere, or its client left); dropped.
    LateReply {
        /// The backend.
        backend: BackendId,
        /// The XID on the backend connection.
        xid: u32,
    },
    /// A backend connection sent something that is not a REPLY record; the
    /// connection is closed.
    BackendProtocolError {
        /// The backend.
        backend: BackendId,
    },
}
