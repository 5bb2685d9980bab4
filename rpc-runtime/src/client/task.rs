//! The background task that owns a client connection: writes queued call
//! records, reads reply records and hands each to the call waiting for
//! its XID.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::in_flight::{Closed, InFlight};
use crate::message::peek_xid;
use crate::record::RecordCodec;

/// Runs the connection until it fails or every [`Client`](crate::Client)
/// handle is dropped, then fails all pending calls.
pub(crate) async fn run<IO>(
    io: IO,
    codec: RecordCodec,
    outgoing: mpsc::Receiver<Bytes>,
    in_flight: Arc<InFlight>,
) where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (r, w) = tokio::io::split(io);
    let reader = FramedRead::new(r, codec.clone());
    let writer = FramedWrite::new(w, codec);
    let reason = tokio::select! {
        reason = read_replies(reader, &in_flight) => reason,
        reason = write_calls(writer, outgoing) => reason,
    };
    tracing::debug!(reason = %reason.to_io(), "client connection closed");
    in_flight.close(reason);
}

async fn read_replies<R: AsyncRead>(
    reader: FramedRead<R, RecordCodec>,
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

async fn write_calls<W: AsyncWrite>(
    writer: FramedWrite<W, RecordCodec>,
    mut outgoing: mpsc::Receiver<Bytes>,
) -> Closed {
    futures::pin_mut!(writer);
    while let Some(record) = outgoing.recv().await {
        if let Err(e) = writer.feed(record).await {
            return write_failed(e.into());
        }
        // Batch whatever else is queued into the same write.
        while let Ok(record) = outgoing.try_recv() {
            if let Err(e) = writer.feed(record).await {
                return write_failed(e.into());
            }
        }
        if let Err(e) = SinkExt::<Bytes>::flush(&mut writer).await {
            return write_failed(e.into());
        }
    }
    Closed::new(io::ErrorKind::NotConnected, "client dropped")
}

fn write_failed(e: io::Error) -> Closed {
    tracing::warn!(error = %e, "client connection write failed");
    Closed::from_io(&e)
}
