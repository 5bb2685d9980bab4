//! Client connections for the driver: read call records (at most
//! `max_in_flight_per_client` unanswered at a time) and write the replies
//! the core sends back, in whatever order they come.

use std::sync::Arc;

use futures::StreamExt;
use rpc_runtime::record::{RecordCodecBuilder, RecordError};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::codec::FramedRead;

use crate::core::Transmit;
use crate::driver::Input;
use crate::wire::write_transmit;

/// Serves one client connection until it closes, sends garbage, or the
/// core drops it. `peer` names it in logs.
///
/// Every call read takes one of `max_in_flight` permits; writing its
/// reply gives it back (the core answers every call exactly once), so at
/// most that many calls are outstanding and memory stays bounded. After
/// the client stops sending, its remaining replies are written before the
/// connection is released.
pub(crate) async fn serve<IO>(
    io: IO,
    peer: String,
    codec: RecordCodecBuilder,
    max_in_flight: usize,
    inbox: mpsc::UnboundedSender<Input>,
) where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let (tx, mut rx) = mpsc::unbounded_channel::<Transmit>();
    let (id_tx, id_rx) = oneshot::channel();
    if inbox.send(Input::NewClient(tx, id_tx)).is_err() {
        return;
    }
    let Ok(client) = id_rx.await else {
        return;
    };
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let mut writer = BufWriter::new(write);
    let write_permits = Arc::clone(&permits);
    let writing = async move {
        while let Some(t) = rx.recv().await {
            let mut n = 1;
            let mut result = write_transmit(&mut writer, &t).await;
            while result.is_ok() {
                let Ok(t) = rx.try_recv() else { break };
                n += 1;
                result = write_transmit(&mut writer, &t).await;
            }
            if result.is_ok() {
                result = writer.flush().await;
            }
            if let Err(e) = result {
                tracing::debug!(error = %e, "writing to client failed");
                break;
            }
            write_permits.add_permits(n);
        }
        // Wakes the reader if it waits for replies that cannot be written.
        write_permits.close();
    };
    let mut records = FramedRead::new(read, codec.new_codec());
    let closed_inbox = inbox.clone();
    let read_permits = Arc::clone(&permits);
    let peer_name = peer.clone();
    let reading = async move {
        loop {
            let Ok(permit) = read_permits.acquire().await else {
                return;
            };
            match records.next().await {
                None => break,
                Some(Err(RecordError::Io(e))) => {
                    tracing::debug!(peer = %peer_name, error = %e, "client connection failed");
                    return;
                }
                Some(Err(e)) => {
                    tracing::warn!(peer = %peer_name, reason = %e, "closing client connection: not an RPC call stream");
                    return;
                }
                Some(Ok(record)) => {
                    permit.forget();
                    if inbox.send(Input::ClientCall(client, record)).is_err() {
                        return;
                    }
                }
            }
        }
        // The client sent everything: let the replies go out first.
        let n = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
        let _ = read_permits.acquire_many(n).await;
    };
    tokio::select! {
        () = reading => {}
        () = writing => {}
    }
    let _ = closed_inbox.send(Input::ClientClosed(client));
    tracing::debug!(peer, "client disconnected");
}
