//! The background task that owns a stream (TCP or Unix) connection:
//! writes queued call records, reads reply records and hands each to the
//! call waiting for its XID.

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

use super::in_flight::{Closed, InFlight};
use super::TaskParts;
use crate::message::peek_xid;
use crate::record::{RecordCodecBuilder, RecordWriter};

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
pub(super) async fn run<IO>(io: IO, codec: RecordCodecBuilder, mut parts: TaskParts)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let reason = match run_once(io, &codec, &mut parts.outgoing, &parts.in_flight).await {
        End::ClientGone => client_gone(),
        End::Lost(reason) => reason,
    };
    parts.in_flight.close(reason);
}

/// Serves one connection; the call queue outlives it (a reconnecting
/// client hands the same queue to the next connection).
pub(super) async fn run_once<IO>(
    io: IO,
    codec: &RecordCodecBuilder,
    outgoing: &mut mpsc::Receiver<Bytes>,
    in_flight: &InFlight,
) -> End
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (r, w) = tokio::io::split(io);
    let reader = FramedRead::new(r, codec.new_codec());
    let writer = RecordWriter::new(w, codec);
    let end = tokio::select! {
        reason = read_replies(reader, in_flight) => End::Lost(reason),
        end = write_calls(writer, outgoing, in_flight) => end,
    };
    if let End::Lost(reason) = &end {
        tracing::debug!(reason = %reason.to_io(), "client connection closed");
    }
    end
}

async fn read_replies<R: AsyncRead>(
    reader: FramedRead<R, crate::record::RecordCodec>,
    in_flight: &InFlight,
) -> Closed {
    futures::pin_mut!(reader);
    while let Some(next) = reader.next().await {
        let record = match next {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(error = %e, "client connection read failed");
                return Closed::from_io(&e.into());
            }
        };
        match peek_xid(&record) {
            Some(xid) => {
                if !in_flight.complete(xid, record) {
                    tracing::debug!(xid, "reply matches no pending call; dropped");
                }
            }
            None => {
                in_flight.complete_none();
                tracing::debug!(len = record.len(), "record too short for an XID; dropped");
            }
        }
    }
    Closed::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed by the server",
    )
}

/// True if the record's call is still waiting (not cancelled, timed out
/// or failed while queued); only those are worth sending.
pub(super) fn still_wanted(record: &[u8], in_flight: &InFlight) -> bool {
    peek_xid(record).is_some_and(|xid| in_flight.is_pending(xid))
}

async fn write_calls<W: AsyncWrite + Unpin>(
    mut writer: RecordWriter<W>,
    outgoing: &mut mpsc::Receiver<Bytes>,
    in_flight: &InFlight,
) -> End {
    while let Some(record) = outgoing.recv().await {
        let mut batch = Some(record);
        // Batch whatever else is queued into the same write.
        while let Some(record) = batch.take() {
            if still_wanted(&record, in_flight) {
                if let Err(e) = writer.push(record) {
                    return write_failed(e.into());
                }
            }
            batch = outgoing.try_recv().ok();
        }
        if let Err(e) = writer.flush().await {
            return write_failed(e);
        }
    }
    End::ClientGone
}

fn write_failed(e: io::Error) -> End {
    tracing::warn!(error = %e, "client connection write failed");
    End::Lost(Closed::from_io(&e))
}
