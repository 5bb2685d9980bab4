//! One client connection: read call records, route each, forward or answer
//! it, write the replies back in whatever order they complete.

use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rpc_runtime::message::reply::{accepted_error, denied};
use rpc_runtime::message::{peek, AcceptStat, CallPeek, HeaderPeek, RejectStat};
use rpc_runtime::record::{RecordCodecBuilder, RecordError};
use rpc_runtime::RpcError;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::backend::Backend;
use crate::route::{BackendId, Decision, RoutingTable};

/// What every client connection shares: routes, backends, limits.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) table: RoutingTable,
    pub(crate) backends: Vec<Backend>,
    pub(crate) codec: RecordCodecBuilder,
    pub(crate) max_in_flight_per_client: usize,
}

/// Why a client connection ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The client closed the connection (after its replies were written,
    /// or after it went away).
    Closed,
    /// The client sent something that is not an RPC call record; the
    /// connection was cut off.
    Garbage(String),
}

/// Serves one client connection until the client closes it or sends
/// garbage. `peer` names the client in logs.
///
/// Calls are read one after another; each routed call is forwarded in its
/// own task, so a client may pipeline up to `max_in_flight_per_client`
/// calls and gets their replies as they complete. Reading stops while that
/// many are outstanding (backpressure, bounded memory).
pub(crate) async fn serve<IO>(io: IO, peer: &str, shared: Arc<Shared>) -> Ending
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let mut records = FramedRead::new(read, shared.codec.new_codec());
    let (replies, to_write) = mpsc::channel::<Bytes>(shared.max_in_flight_per_client);
    let writer = tokio::spawn(write_replies(
        FramedWrite::new(write, shared.codec.new_codec()),
        to_write,
    ));
    let permits = Arc::new(Semaphore::new(shared.max_in_flight_per_client));
    let mut calls = JoinSet::new();
    let peer_name: Arc<str> = Arc::from(peer);

    let ending = loop {
        // Reap finished call tasks so the set does not grow.
        while calls.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break Ending::Closed;
        };
        let record = match records.next().await {
            None => break Ending::Closed,
            Some(Err(RecordError::Io(e))) => {
                tracing::debug!(peer, error = %e, "client connection failed");
                break Ending::Closed;
            }
            Some(Err(e)) => break Ending::Garbage(e.to_string()),
            Some(Ok(record)) => record,
        };
        let call = match peek(&record) {
            Some(HeaderPeek::Call(call)) => call,
            Some(HeaderPeek::Reply { xid }) => {
                break Ending::Garbage(format!(
                    "a REPLY message (xid {xid}) where a CALL was expected"
                ))
            }
            None => {
                break Ending::Garbage(format!(
                    "a record of {} bytes that is not an RPC message",
                    record.len()
                ))
            }
        };
        let decision = shared.table.decide(&call);
        let replies = replies.clone();
        let shared = Arc::clone(&shared);
        let peer = Arc::clone(&peer_name);
        calls.spawn(async move {
            let reply = answer(&shared, call, decision, record, &peer).await;
            // The client may have gone; then the reply has no one to go to.
            let _ = replies.send(reply).await;
            drop(permit);
        });
    };

    match &ending {
        Ending::Closed => {
            // Let calls already read finish and their replies be written.
            drop(replies);
            while calls.join_next().await.is_some() {}
            let _ = writer.await;
        }
        Ending::Garbage(why) => {
            tracing::warn!(peer, reason = %why, "closing client connection: not an RPC call stream");
            calls.abort_all();
            writer.abort();
        }
    }
    ending
}

/// The reply record for one call: the backend's, or one the broker makes.
async fn answer(
    shared: &Shared,
    call: CallPeek,
    decision: Decision,
    record: Bytes,
    peer: &str,
) -> Bytes {
    match decision {
        Decision::Forward { backend, timeout } => {
            let Some(b) = shared.backends.get(backend.0) else {
                return accepted_error(call.xid, AcceptStat::SystemErr);
            };
            match b.forward(record, timeout).await {
                Ok(reply) => reply,
                Err(e) => {
                    log_failure(peer, &call, backend, b, &e);
                    accepted_error(call.xid, AcceptStat::SystemErr)
                }
            }
        }
        Decision::ProgUnavail => {
            tracing::debug!(peer, program = call.program, "no route: PROG_UNAVAIL");
            accepted_error(call.xid, AcceptStat::ProgUnavail)
        }
        Decision::ProgMismatch { low, high } => {
            accepted_error(call.xid, AcceptStat::ProgMismatch { low, high })
        }
        Decision::RpcMismatch { low, high } => {
            denied(call.xid, RejectStat::RpcMismatch { low, high })
        }
    }
}

fn log_failure(peer: &str, call: &CallPeek, id: BackendId, backend: &Backend, e: &RpcError) {
    tracing::warn!(
        peer,
        backend = backend.name(),
        backend_id = id.0,
        xid = call.xid,
        program = call.program,
        version = call.version,
        procedure = call.procedure,
        error = %e,
        "forwarding failed: answering SYSTEM_ERR"
    );
}

/// Writes replies to the client as they come, until every sender is gone
/// or the client stops accepting them.
async fn write_replies<W>(
    mut sink: FramedWrite<W, rpc_runtime::record::RecordCodec>,
    mut replies: mpsc::Receiver<Bytes>,
) where
    W: AsyncWrite + Unpin,
{
    while let Some(reply) = replies.recv().await {
        // Batch whatever else is ready into one flush.
        let mut result = sink.feed(reply).await;
        while result.is_ok() {
            match replies.try_recv() {
                Ok(more) => result = sink.feed(more).await,
                Err(_) => break,
            }
        }
        if result.is_err() || SinkExt::<Bytes>::flush(&mut sink).await.is_err() {
            return;
        }
    }
}
