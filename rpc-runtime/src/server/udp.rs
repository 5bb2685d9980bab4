//! Serving a UDP socket: each datagram is one call (no record marking),
//! run concurrently up to the call limit; each reply goes back to the
//! datagram's sender.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::call::{classify, execute, Action, Reply};
use super::context::PeerAddr;
use super::ServerConfig;
use crate::log_limit::{LogLimit, DEFAULT_INTERVAL};

/// Pause after an unexpected receive error, so a persistent one cannot
/// make the loop spin.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// One log line per interval for oversized call datagrams (anyone can send
/// them, without a connection)...
static OVERSIZED_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... and for datagrams that are not calls.
static GARBAGE_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// Serves `socket` until `stop` is cancelled, then waits for the calls
/// already received to finish and send their replies.
pub(super) async fn serve(
    config: Arc<ServerConfig>,
    socket: UdpSocket,
    stop: CancellationToken,
) -> io::Result<()> {
    let socket = Arc::new(socket);
    let max = config.max_datagram_bytes;
    let limit = Arc::new(Semaphore::new(config.max_concurrent_calls));
    let mut calls = JoinSet::new();
    // One byte more than the limit, to tell "exactly the limit" from
    // "truncated".
    let mut buf = vec![0u8; max.saturating_add(1)];
    loop {
        // Wait for a free call slot before reading, so a flood of
        // datagrams queues in the kernel (and is dropped there), not here.
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            permit = Arc::clone(&limit).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let received = tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = calls.join_next(), if !calls.is_empty() => continue,
            received = socket.recv_from(&mut buf) => received,
        };
        let (n, from) = match received {
            Ok(r) => r,
            Err(e) => {
                // Includes ICMP errors for earlier replies (connection
                // refused), which say nothing about this socket.
                tracing::debug!(error = %e, "UDP receive failed");
                if e.kind() != io::ErrorKind::ConnectionRefused {
                    tokio::time::sleep(RECV_ERROR_PAUSE).await;
                }
                continue;
            }
        };
        if n > max {
            if let Some(suppressed) = OVERSIZED_LOG.allow() {
                tracing::warn!(peer = %from, max_datagram_bytes = max, suppressed, "call datagram over the limit; dropped");
            }
            continue;
        }
        let record = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
        let peer = PeerAddr::Udp(from);
        match classify(
            &config.registry,
            record,
            &peer,
            config.deadline(),
            config.max_decode_depth,
        ) {
            Action::Ignore => {}
            Action::Garbage(why) => {
                if let Some(suppressed) = GARBAGE_LOG.allow() {
                    tracing::warn!(%peer, reason = %why, suppressed, "garbage datagram dropped");
                }
            }
            Action::Reply(reply) => send_reply(&socket, reply, from, max).await,
            Action::Run(job) => {
                let span = tracing::debug_span!(
                    "rpc_serve",
                    %peer,
                    xid = job.call.xid,
                    program = job.call.program,
                    version = job.call.version,
                    procedure = job.call.procedure,
                );
                let socket = Arc::clone(&socket);
                let max_reply = max.min(config.codec.record_limit());
                calls.spawn(
                    async move {
                        if let Some(reply) = execute(job, max_reply).await {
                            send_reply(&socket, reply, from, max).await;
                        }
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
    }
    tracing::debug!(calls = calls.len(), "UDP server stopping; finishing calls");
    while calls.join_next().await.is_some() {}
    Ok(())
}

/// Sends one reply datagram; failures are logged (the client retransmits).
async fn send_reply(socket: &UdpSocket, reply: Reply, to: SocketAddr, max: usize) {
    let datagram = reply.into_message();
    if datagram.len() > max {
        // execute() already replaced over-long results; only a header
        // longer than the limit gets here.
        tracing::error!(peer = %to, len = datagram.len(), "reply datagram over the limit; dropped");
        return;
    }
    if let Err(e) = socket.send_to(&datagram, to).await {
        tracing::debug!(peer = %to, error = %e, "UDP send failed");
    }
}
