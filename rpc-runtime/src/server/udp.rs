//! Serving a UDP socket: each datagram is one call (no record marking),
//! run concurrently up to the call limit; each reply goes back to the
//! datagram's sender, and is kept for a while in the socket's duplicate
//! request cache ([`ReplyCache`]): a retransmitted call is answered from
//! it, or dropped while the call still runs, instead of being executed
//! again.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::call::{classify, Action, Reply};
use super::context::PeerAddr;
use super::reply_cache::{call_digest, ReplyCache};
use super::ServerConfig;
use crate::log_limit::{LogLimit, DEFAULT_INTERVAL};
use crate::message::peek_xid;

/// Pause after an unexpected receive error, so a persistent one cannot
/// make the loop spin.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// One log line per interval for oversized call datagrams (anyone can send
/// them, without a connection)...
static OVERSIZED_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);
/// ... and for datagrams that are not calls.
static GARBAGE_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// What a server's UDP duplicate request caches did, counted over all its
/// UDP sockets since it was built.
#[derive(Debug, Default)]
pub struct UdpStats {
    reply_cache_hits: AtomicU64,
    retransmits_in_flight: AtomicU64,
}

impl UdpStats {
    /// Retransmitted calls answered from the reply cache.
    pub fn reply_cache_hits(&self) -> u64 {
        self.reply_cache_hits.load(Ordering::Relaxed)
    }

    /// Retransmitted calls dropped because their call was still running.
    pub fn retransmits_in_flight(&self) -> u64 {
        self.retransmits_in_flight.load(Ordering::Relaxed)
    }
}

/// A UDP socket's calls in flight and recent replies, by client address,
/// XID and digest of the call datagram.
#[derive(Debug)]
struct Duplicates {
    in_flight: HashSet<(SocketAddr, u32, u64)>,
    replies: ReplyCache,
}

/// What to do with a call datagram, as the duplicate request cache says.
enum Seen {
    /// A new call, with its key when it has an XID (marked in flight
    /// while it runs, its reply kept after).
    New(Option<(SocketAddr, u32, u64)>),
    /// A retransmission of a call that still runs: drop it.
    InFlight,
    /// A retransmission of a call already answered: send this again.
    Answered(Bytes),
}

impl Duplicates {
    fn lock(d: &Mutex<Duplicates>) -> std::sync::MutexGuard<'_, Duplicates> {
        d.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Looks `datagram` from `from` up in `dups`, marking a new call in flight.
fn look_up(dups: &Mutex<Duplicates>, from: SocketAddr, datagram: &[u8]) -> Seen {
    let Some(xid) = peek_xid(datagram) else {
        return Seen::New(None);
    };
    let key = (from, xid, call_digest(datagram));
    let d = Duplicates::lock(dups);
    if d.in_flight.contains(&key) {
        return Seen::InFlight;
    }
    if let Some(reply) = d.replies.get(&(from, xid), key.2) {
        return Seen::Answered(reply);
    }
    Seen::New(Some(key))
}

/// Serves `socket` until `stop` is cancelled, then waits for the calls
/// already received to finish and send their replies.
pub(super) async fn serve(
    config: Arc<ServerConfig>,
    socket: UdpSocket,
    stop: CancellationToken,
) -> io::Result<()> {
    let socket = Arc::new(socket);
    let max = config.max_datagram_bytes;
    let (entries, bytes) = config.udp_reply_cache;
    let dups = Arc::new(Mutex::new(Duplicates {
        in_flight: HashSet::new(),
        replies: ReplyCache::new(entries, bytes),
    }));
    let caching = entries > 0;
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
        let datagram = buf.get(..n).unwrap_or_default();
        let key = if caching {
            match look_up(&dups, from, datagram) {
                Seen::New(key) => key,
                Seen::InFlight => {
                    config
                        .udp_stats
                        .retransmits_in_flight
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Seen::Answered(reply) => {
                    config
                        .udp_stats
                        .reply_cache_hits
                        .fetch_add(1, Ordering::Relaxed);
                    send_datagram(&socket, &reply, from).await;
                    continue;
                }
            }
        } else {
            None
        };
        let record = Bytes::copy_from_slice(datagram);
        let peer = PeerAddr::Udp(from);
        match classify(
            &config.registry,
            record,
            &peer,
            config.call_limits(max.min(config.codec.record_limit())),
            #[cfg(feature = "gss")]
            config.gss.as_deref(),
        ) {
            Action::Ignore => {}
            Action::Garbage(why) => {
                if let Some(suppressed) = GARBAGE_LOG.allow() {
                    tracing::warn!(%peer, reason = %why, suppressed, "garbage datagram dropped");
                }
            }
            Action::Reply(reply) => {
                if let Some(datagram) = reply_datagram(reply, from, max) {
                    send_datagram(&socket, &datagram, from).await;
                }
            }
            Action::Run(running) => {
                if let Some(key) = key {
                    Duplicates::lock(&dups).in_flight.insert(key);
                }
                let dups = Arc::clone(&dups);
                let span = tracing::debug_span!(
                    "rpc_serve",
                    %peer,
                    xid = running.call.xid,
                    program = running.call.program,
                    version = running.call.version,
                    procedure = running.call.procedure,
                );
                let socket = Arc::clone(&socket);
                calls.spawn(
                    async move {
                        let datagram = running
                            .finish()
                            .await
                            .and_then(|reply| reply_datagram(reply, from, max));
                        if let Some(datagram) = &datagram {
                            send_datagram(&socket, datagram, from).await;
                        }
                        if let Some((peer, xid, digest)) = key {
                            let mut d = Duplicates::lock(&dups);
                            d.in_flight.remove(&(peer, xid, digest));
                            if let Some(datagram) = datagram {
                                d.replies.insert((peer, xid), digest, datagram);
                            }
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

/// The datagram of `reply` to `to`, or `None` (logged) when it is over
/// `max` bytes.
fn reply_datagram(reply: Reply, to: SocketAddr, max: usize) -> Option<Bytes> {
    let datagram = reply.into_message();
    if datagram.len() > max {
        // execute() already replaced over-long results; only a header
        // longer than the limit gets here.
        tracing::error!(peer = %to, len = datagram.len(), "reply datagram over the limit; dropped");
        return None;
    }
    Some(datagram)
}

/// Sends one reply datagram; failures are logged (the client retransmits).
async fn send_datagram(socket: &UdpSocket, datagram: &[u8], to: SocketAddr) {
    if let Err(e) = socket.send_to(datagram, to).await {
        tracing::debug!(peer = %to, error = %e, "UDP send failed");
    }
}
