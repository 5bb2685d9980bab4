//! Client connections for the driver: read call records (at most
//! `max_in_flight_per_client` unanswered at a time) and hand them to the
//! core; the replies are written to the socket by whichever task has them
//! (this one only takes over when the socket would block). The limits of
//! [`ClientLimits`] close a connection that is idle, stalls inside a
//! record, or leaves its replies unread.

use std::sync::Arc;

use bytes::Bytes;
use rpc_runtime::conn_limits::{LimitTimer, RecordClock, ReplyBudget, Timeouts};
use rpc_runtime::record::{RecordError, RecordReader, Reservation};

use rpc_runtime::log_limit::{LogLimit, DEFAULT_INTERVAL};

use crate::core::ClientId;
use crate::driver::gss::{self, ClientGss};
use crate::driver::outbox::{Outbox, OutboxState};
use crate::driver::socket::ReadHalf;
use crate::driver::wire::record_codec;
use crate::driver::{Deliveries, Hub};
use crate::metrics::LimitHit;

/// One log line per interval for clients closed for a record over
/// `limits.max_record_bytes`.
static OVERSIZED_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// The limits on client connections (table `[limits]` of the
/// configuration, which documents each with its default).
#[derive(Debug, Clone)]
pub(crate) struct ClientLimits {
    /// Client connections at once; one more evicts the longest idle.
    pub(crate) max_connections: usize,
    /// The idle, record and write timeouts.
    pub(crate) timeouts: Timeouts,
    /// The caps on unread reply bytes.
    pub(crate) budget: ReplyBudget,
}

/// Serves client `client` (admitted with [`Hub::admit`], its replies
/// going to `outbox`) until it closes, sends garbage, reaches a limit, or
/// the core drops it. `peer` names it in logs.
///
/// A call counts against the limit from the moment it is read until its
/// reply is written in full (the core answers every call exactly once),
/// so at most that many calls are outstanding and memory stays bounded.
/// After the client stops sending, its remaining replies are written
/// before the connection is released.
pub(crate) async fn serve(
    hub: Arc<Hub>,
    mut read: ReadHalf,
    client: ClientId,
    outbox: Arc<Outbox>,
    peer: String,
    gss: Option<Arc<rpc_runtime::gss::ServerGss>>,
) {
    let gss = gss.map(|g| ClientGss::attach(&hub, client, g));
    let max = hub.max_in_flight;
    let limits = hub.client_limits.clone();
    let mut out = Deliveries::new();
    let mut reader = RecordReader::new(record_codec(hub.max_record), Reservation::Untrusted);
    let mut calls: Vec<Bytes> = Vec::new();
    let mut eof = false;
    let mut record = RecordClock::default();
    let mut paused = false;
    let mut timer = LimitTimer::new();
    let hit = 'conn: loop {
        // A reply may have taken the client over a cap since the last
        // look: then no call is taken from what has been read.
        let mut view = outbox.client_view();
        let mut room = if view.over_budget {
            0
        } else {
            max.saturating_sub(outbox.unanswered())
        };
        while room > 0 {
            match reader.next_record() {
                Ok(Some(r)) => {
                    calls.push(r);
                    room -= 1;
                }
                Ok(None) => break,
                Err(RecordError::RecordTooLarge {
                    size_bytes,
                    max_bytes,
                }) => {
                    if let Some(suppressed) = OVERSIZED_LOG.allow() {
                        tracing::warn!(
                            peer,
                            size_bytes,
                            max_bytes,
                            suppressed,
                            "closing client connection: record over limits.max_record_bytes"
                        );
                    }
                    break 'conn Some(LimitHit::RecordTooLarge);
                }
                Err(e) => {
                    if let Some(suppressed) = crate::driver::GARBAGE_LOG.allow() {
                        tracing::warn!(peer, reason = %e, suppressed, "closing client connection: not an RPC call stream");
                    }
                    break 'conn None;
                }
            }
        }
        let got_calls = !calls.is_empty();
        if got_calls {
            outbox.touch();
            let calls = match &gss {
                Some(g) => g.screen(client, &outbox, &hub.metrics, calls.drain(..)),
                None => gss::plain(calls.drain(..)),
            };
            for _ in 0..calls.len() {
                outbox.call_read();
            }
            hub.step(&mut out, |st, now| {
                for (r, principal) in calls {
                    st.core.handle_client_call_as(now, client, r, principal);
                }
            });
        }
        record.update(reader.in_record(), got_calls);
        if got_calls {
            view = outbox.client_view();
        }
        if view.state == OutboxState::Closed {
            break outbox.closed_by();
        }
        let unanswered = outbox.unanswered();
        if eof && unanswered == 0 {
            break None;
        }
        if view.over_budget && !paused {
            hub.metrics.limit_hit(LimitHit::UnreadBytesPaused);
        }
        paused = view.over_budget;
        let can_read = !eof && unanswered < max && !paused;
        // Idleness is checked also while calls are out (the write of the
        // last reply wakes no one): a check that finds one is not a hit.
        let deadline = limits.timeouts.next(
            view.stalled_since,
            record.started().filter(|_| can_read),
            (!eof).then(|| outbox.last_active()),
        );
        tokio::select! {
            biased;
            r = outbox.serve_writes(view.state) => {
                if let Err(e) = r {
                    tracing::debug!(peer, error = %e, "writing to client failed");
                    break None;
                }
            }
            r = reader.fill(&mut read), if can_read => match r {
                Ok(0) => {
                    eof = true;
                    outbox.end_reading();
                    if reader.in_record() {
                        tracing::debug!(peer, "client connection ended inside a record");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(peer, error = %e, "client connection failed");
                    break None;
                }
            },
            limit = std::future::poll_fn(|cx| timer.poll_expired(cx, deadline)) => {
                if limit == LimitHit::IdleTimeout && outbox.unanswered() > 0 {
                    // Not idle: calls are out. Checked again an idle
                    // timeout from now.
                    outbox.touch();
                } else {
                    break Some(limit);
                }
            }
        }
    };
    if let Some(hit) = hit {
        hub.metrics.limit_hit(hit);
        tracing::debug!(
            peer,
            limit = hit.as_str(),
            "client connection closed at a limit"
        );
    }
    outbox.close();
    if gss.is_some() {
        ClientGss::detach(&hub, client);
    }
    hub.step(&mut out, |st, now| {
        st.clients.remove(&client);
        st.core.handle_client_closed(now, client);
    });
    tracing::debug!(peer, "client disconnected");
}
