//! The background task of a stream (TCP, Unix or any other) connection:
//! reads reply records and hands each to the call waiting for its XID
//! (unless a caller alone in flight is reading, see `reader`), moves
//! queued call records into the shared writer and finishes writes that
//! callers started (see `writer`).

use std::io;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::mpsc;

use super::in_flight::{Closed, InFlight};
use super::outgoing::Outgoing;
use super::reader::SharedReader;
use super::split::SplitStream;
use super::writer::{CallWriter, SharedWriter};
use super::TaskParts;
use crate::record::{RecordCodecBuilder, RecordReader, Reservation};

/// The shared halves of a stream connection: what callers write to and
/// read from directly, and the connection task serves.
pub(super) struct Halves<S: SplitStream> {
    pub(super) writer: Arc<SharedWriter<S::Write>>,
    pub(super) reader: Arc<SharedReader<S::Read>>,
}

/// How one connection ended.
pub(super) enum End {
    /// Every [`Client`](crate::Client) handle was dropped.
    ClientGone,
    /// The connection failed or the server closed it.
    Lost(Closed),
}

/// The reason recorded when the last handle is dropped.
pub(super) fn client_gone() -> Closed {
    Closed::new(io::ErrorKind::NotConnected, "client dropped")
}

/// Runs the connection until it fails or every handle is dropped, then
/// fails all pending and later calls.
pub(super) async fn run<S: SplitStream>(
    io: S,
    codec: RecordCodecBuilder,
    halves: Halves<S>,
    mut parts: TaskParts,
) {
    let reason = match run_once(io, &codec, &halves, &mut parts.outgoing, &parts.in_flight).await {
        End::ClientGone => client_gone(),
        End::Lost(reason) => reason,
    };
    parts.in_flight.close(reason);
}

/// Serves one connection; the call queue and the writer and reader slots
/// outlive it (a reconnecting client hands them to the next connection).
/// When it returns, the slots are empty again, so callers queue their
/// calls until the next connection.
pub(super) async fn run_once<S: SplitStream>(
    io: S,
    codec: &RecordCodecBuilder,
    halves: &Halves<S>,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    in_flight: &InFlight,
) -> End {
    let (r, w) = io.split();
    halves.writer.attach(CallWriter::new(w, codec));
    halves.reader.attach(
        r,
        RecordReader::new(codec.new_codec(), Reservation::Trusted),
    );
    let end = tokio::select! {
        biased;
        reason = std::future::poll_fn(|cx| halves.reader.poll_task(cx, in_flight)) => End::Lost(reason),
        end = write_calls(&halves.writer, outgoing, in_flight) => end,
    };
    drop(halves.writer.detach());
    halves.reader.detach();
    if let End::Lost(reason) = &end {
        tracing::debug!(reason = %reason.to_io(), "client connection closed");
    }
    end
}

/// True if the record's call is still waiting (not cancelled, timed out
/// or failed while queued); only those are worth sending.
pub(super) fn still_wanted(out: &Outgoing, in_flight: &InFlight) -> bool {
    in_flight.is_pending(out.xid())
}

/// Moves queued calls into the writer, batching whatever is queued into
/// one write, and finishes writes that callers started. A poll function
/// rather than a `select!` loop: a wake-up for a reply costs this side
/// one look at the queue and one at the writer, no timers or futures.
async fn write_calls<W: tokio::io::AsyncWrite + Unpin>(
    writer: &SharedWriter<W>,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    in_flight: &InFlight,
) -> End {
    let mut batch = Vec::new();
    std::future::poll_fn(|cx| {
        let mut queue_closed = false;
        loop {
            match outgoing.poll_recv(cx) {
                Poll::Ready(Some(out)) => {
                    if still_wanted(&out, in_flight) {
                        batch.push(out);
                    }
                }
                Poll::Ready(None) => {
                    queue_closed = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if !batch.is_empty() {
            writer.push_all(batch.drain(..));
        }
        if let Poll::Ready(Err(e)) = writer.poll_flush(cx) {
            tracing::warn!(error = %e, "client connection write failed");
            return Poll::Ready(End::Lost(Closed::from_io(&e)));
        }
        if queue_closed {
            return Poll::Ready(End::ClientGone);
        }
        Poll::Pending
    })
    .await
}
