//! The background task of a UDP client: hands each received datagram to
//! the call waiting for its XID, and sends as one datagram (no record
//! marking) each call record a caller could not send itself because the
//! socket was full.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::in_flight::{Closed, InFlight};
use super::outgoing::Outgoing;
use super::task::{client_gone, still_wanted};
use super::TaskParts;
use crate::message::peek_xid;

/// Pause after an unexpected receive error, so a persistent one cannot
/// make the task spin.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Runs until every handle is dropped. `socket` is connected to the
/// server, so only its datagrams arrive. Callers send most datagrams
/// themselves; the queue gets those the socket could not take at once.
pub(super) async fn run(socket: Arc<UdpSocket>, max_datagram_bytes: usize, mut parts: TaskParts) {
    tokio::select! {
        () = parts.shutdown.cancelled() => {}
        () = receive(&socket, max_datagram_bytes, &parts.in_flight) => {}
        () = send(&socket, &mut parts.outgoing, &parts.in_flight) => {}
    }
    parts.in_flight.close(client_gone());
}

/// Receives replies forever. A datagram larger than the limit fails the
/// call its XID names (the rest of it was cut off by the kernel).
async fn receive(socket: &UdpSocket, max_datagram_bytes: usize, in_flight: &InFlight) {
    // One byte more than the limit, to tell "exactly the limit" from
    // "truncated".
    let mut buf = vec![0u8; max_datagram_bytes.saturating_add(1)];
    loop {
        let n = match socket.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                // An ICMP port-unreachable for an earlier datagram: the
                // server is not (yet) there; calls retransmit or time out.
                tracing::debug!("UDP server unreachable (connection refused)");
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "UDP receive failed");
                tokio::time::sleep(RECV_ERROR_PAUSE).await;
                continue;
            }
        };
        let datagram = buf.get(..n).unwrap_or_default();
        let Some(xid) = peek_xid(datagram) else {
            in_flight.complete_none();
            tracing::debug!(len = n, "datagram too short for an XID; dropped");
            continue;
        };
        if n > max_datagram_bytes {
            tracing::warn!(xid, max_datagram_bytes, "reply datagram over the limit");
            let reason = Closed::new(
                io::ErrorKind::InvalidData,
                format!("reply datagram larger than the limit of {max_datagram_bytes} bytes"),
            );
            if !in_flight.fail(xid, reason) {
                in_flight.complete_none();
            }
            continue;
        }
        if !in_flight.complete(xid, Bytes::copy_from_slice(datagram)) {
            tracing::debug!(xid, "reply matches no pending call; dropped");
        }
    }
}

/// Sends queued records, one datagram each. A send error fails only the
/// call whose datagram it was.
async fn send(socket: &UdpSocket, outgoing: &mut mpsc::Receiver<Outgoing>, in_flight: &InFlight) {
    while let Some(out) = outgoing.recv().await {
        if !still_wanted(&out, in_flight) {
            continue;
        }
        if let Err(e) = socket.send(out.record()).await {
            tracing::debug!(error = %e, "UDP send failed");
            in_flight.fail(out.xid(), Closed::from_io(&e));
        }
    }
}
