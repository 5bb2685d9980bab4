//! Client connections for the driver: read call records (at most
//! `max_in_flight_per_client` unanswered at a time) and hand them to the
//! core; the replies are written to the socket by whichever task has them
//! (this one only takes over when the socket would block).

use std::sync::Arc;

use bytes::Bytes;

use crate::core::access::Caller;
use crate::driver::outbox::{Outbox, OutboxState};
use crate::driver::socket::{ReadHalf, WriteHalf};
use crate::driver::wire::RecordReader;
use crate::driver::{Deliveries, Hub};

/// Serves one client connection until it closes, sends garbage, or the
/// core drops it. `peer` names it in logs; `caller` is who it is and
/// what it may call ([`Core::add_caller`](crate::core::Core::add_caller)).
///
/// A call counts against the limit from the moment it is read until its
/// reply is written in full (the core answers every call exactly once),
/// so at most that many calls are outstanding and memory stays bounded.
/// After the client stops sending, its remaining replies are written
/// before the connection is released.
pub(crate) async fn serve(
    hub: Arc<Hub>,
    mut read: ReadHalf,
    write: WriteHalf,
    peer: String,
    caller: Caller,
) {
    let max = hub.max_in_flight;
    let outbox = Arc::new(Outbox::new(write, max));
    let mut out = Deliveries::new();
    let client = hub.step(&mut out, |st, _| {
        let id = st.core.add_caller(caller);
        st.clients.insert(id, Arc::clone(&outbox));
        id
    });
    let mut reader = RecordReader::new(hub.max_record, false);
    let mut calls: Vec<Bytes> = Vec::new();
    let mut eof = false;
    'conn: loop {
        let mut room = max.saturating_sub(outbox.unanswered());
        while room > 0 {
            match reader.next_record() {
                Ok(Some(r)) => {
                    calls.push(r);
                    room -= 1;
                }
                Ok(None) => break,
                Err(e) => {
                    if let Some(suppressed) = crate::driver::GARBAGE_LOG.allow() {
                        tracing::warn!(peer, reason = %e, suppressed, "closing client connection: not an RPC call stream");
                    }
                    break 'conn;
                }
            }
        }
        if !calls.is_empty() {
            for _ in 0..calls.len() {
                outbox.call_read();
            }
            hub.step(&mut out, |st, now| {
                for r in calls.drain(..) {
                    st.core.handle_client_call(now, client, r);
                }
            });
        }
        let state = outbox.state();
        if state == OutboxState::Closed || (eof && outbox.unanswered() == 0) {
            break;
        }
        let can_read = !eof && outbox.unanswered() < max;
        tokio::select! {
            biased;
            r = outbox.serve_writes(state) => {
                if let Err(e) = r {
                    tracing::debug!(peer, error = %e, "writing to client failed");
                    break;
                }
            }
            r = reader.fill(&mut read), if can_read => match r {
                Ok(0) => {
                    eof = true;
                    if reader.in_record() {
                        tracing::debug!(peer, "client connection ended inside a record");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(peer, error = %e, "client connection failed");
                    break;
                }
            },
        }
    }
    outbox.close();
    hub.step(&mut out, |st, now| {
        st.clients.remove(&client);
        st.core.handle_client_closed(now, client);
    });
    tracing::debug!(peer, "client disconnected");
}
