//! UDP listeners (`listen = ["udp://HOST:PORT"]`), for clients such as
//! rpcgen's, whose template calls `clnt_create(host, PROG, VERS, "udp")`.
//!
//! Each datagram is one call message (no record marking: RFC 5531
//! section 11 defines it for streams only), forwarded through the core
//! over the shared backend connections like a stream client's call, and
//! answered with one datagram to its sender. Each client address with
//! calls in flight is a client of the core, with its own
//! `limits.max_in_flight_per_client`; it leaves the core when its last
//! call is answered.
//!
//! A UDP client retransmits a call (same XID) when its reply is late or
//! lost. A retransmission from the same address and with the same XID
//! as a call in flight is dropped, the reply being on its way; one of a
//! call answered recently gets that reply again from the
//! [`ReplyCache`], so a non-idempotent call (a PUT) is not run twice.
//!
//! A reply larger than `udp.max_datagram_bytes` is answered SYSTEM_ERR,
//! as a libtirpc UDP server answers: its `svc_dg_reply` (libtirpc
//! `src/svc_dg.c`) encodes the reply into a send buffer of `su_iosz`
//! bytes (`UDPMSGSIZE`, 8,800, by default); when the results do not fit,
//! `xdr_replymsg` fails, nothing is sent and `svc_sendreply` returns
//! FALSE, on which rpcgen's server template (`rpc_svcout.c`) calls
//! `svcerr_systemerr`.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rpc_runtime::message::reply::accepted_error;
use rpc_runtime::message::{peek, AcceptStat, HeaderPeek};
use rpc_runtime::server::{call_digest, ReplyCache};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::config::UdpConfig;
use crate::core::access::{AllowList, Caller};
use crate::core::{ClientId, Destination, HandleMap, Transmit};
use crate::driver::{Deliveries, Hub, State};

/// Pause after an unexpected receive error, so that a persistent one
/// cannot make the loop spin.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// The limits every UDP listener of a broker shares.
#[derive(Debug, Clone)]
pub(crate) struct UdpLimits {
    /// Largest datagram received or sent, bytes.
    max_datagram_bytes: usize,
    /// Calls from UDP clients outstanding, over every UDP listener.
    in_flight: Arc<Semaphore>,
    reply_cache_entries: usize,
    reply_cache_bytes: usize,
}

impl UdpLimits {
    /// The limits of `config`, with one budget of calls in flight.
    pub(crate) fn new(config: &UdpConfig) -> UdpLimits {
        UdpLimits {
            max_datagram_bytes: config.max_datagram_bytes,
            in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
            reply_cache_entries: config.reply_cache_entries,
            reply_cache_bytes: config.reply_cache_bytes,
        }
    }
}

/// One UDP listener: its socket, and the calls and replies of its
/// clients.
#[derive(Debug)]
pub(crate) struct Datagrams {
    socket: UdpSocket,
    limits: UdpLimits,
    /// The listener's allow list (programs only: UDP has no peer
    /// credentials); `None` allows everything.
    allow: Option<Arc<AllowList>>,
    table: Mutex<Table>,
    /// Client addresses with calls in flight, for the admin status.
    active: Arc<AtomicUsize>,
}

/// The clients of one listener.
#[derive(Debug)]
struct Table {
    /// Client addresses with calls in flight.
    peers: HashMap<SocketAddr, Peer>,
    /// The address of each of those clients, by its id in the core.
    clients: HandleMap<ClientId, SocketAddr>,
    cache: ReplyCache,
}

/// A client address with calls in flight.
#[derive(Debug)]
struct Peer {
    client: ClientId,
    /// XID and digest of each call in flight.
    calls: Vec<(u32, u64)>,
}

/// What became of a received call.
enum Received {
    /// Handed to the core.
    Forwarded,
    /// A retransmission of a call in flight: dropped.
    InFlight,
    /// A retransmission of a call answered recently: this reply again.
    Cached(Bytes),
}

impl Datagrams {
    /// A listener on `socket`.
    pub(crate) fn new(
        socket: UdpSocket,
        limits: UdpLimits,
        allow: Option<Arc<AllowList>>,
    ) -> Datagrams {
        let cache = ReplyCache::new(limits.reply_cache_entries, limits.reply_cache_bytes);
        Datagrams {
            socket,
            limits,
            allow,
            table: Mutex::new(Table {
                peers: HashMap::new(),
                clients: HandleMap::default(),
                cache,
            }),
            active: Arc::default(),
        }
    }

    /// The number of client addresses with calls in flight, kept up to
    /// date.
    pub(crate) fn active_clients(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.active)
    }

    /// The address the socket is bound to.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Under the hub's lock: a call datagram from `from`.
    fn accept(
        self: &Arc<Self>,
        st: &mut State,
        now: Instant,
        from: SocketAddr,
        (xid, digest): (u32, u64),
        record: Bytes,
    ) -> Received {
        let client = {
            let mut t = self.table();
            if let Some(p) = t.peers.get(&from) {
                if p.calls.iter().any(|(x, _)| *x == xid) {
                    return Received::InFlight;
                }
            }
            if let Some(reply) = t.cache.get(&(from, xid), digest) {
                return Received::Cached(reply);
            }
            let client = match t.peers.get(&from) {
                Some(p) => p.client,
                None => {
                    let client = st.core.add_caller(Caller {
                        cred: None,
                        allow: self.allow.clone(),
                        tls_names: Vec::new(),
                    });
                    st.datagram_clients.insert(client, Arc::clone(self));
                    t.clients.insert(client, from);
                    t.peers.insert(
                        from,
                        Peer {
                            client,
                            calls: Vec::new(),
                        },
                    );
                    self.active.store(t.peers.len(), Ordering::Relaxed);
                    client
                }
            };
            if let Some(p) = t.peers.get_mut(&from) {
                p.calls.push((xid, digest));
            }
            client
        };
        st.core.handle_client_call(now, client, record);
        Received::Forwarded
    }

    /// Sends the core's reply `t` to its client (after the hub's lock is
    /// released), keeps it for retransmissions, and lets the client leave
    /// the core when it has no call left in flight.
    pub(crate) fn send_reply(&self, hub: &Arc<Hub>, t: Transmit) {
        let Destination::Client(client) = t.destination else {
            return;
        };
        let reply = if t.len() > self.limits.max_datagram_bytes {
            hub.metrics.udp.replies_too_large.inc();
            tracing::warn!(
                xid = t.xid,
                reply_bytes = t.len(),
                max_datagram_bytes = self.limits.max_datagram_bytes,
                "reply larger than a datagram: answering SYSTEM_ERR"
            );
            accepted_error(t.xid, AcceptStat::SystemErr)
        } else {
            t.to_record()
        };
        let (peer, idle) = {
            let mut table = self.table();
            let Some(&peer) = table.clients.get(&client) else {
                return;
            };
            let mut idle = false;
            let mut digest = None;
            if let Some(p) = table.peers.get_mut(&peer) {
                if let Some(i) = p.calls.iter().position(|(x, _)| *x == t.xid) {
                    digest = Some(p.calls.swap_remove(i).1);
                }
                idle = p.calls.is_empty();
            }
            if let Some(d) = digest {
                table.cache.insert((peer, t.xid), d, reply.clone());
                self.limits.in_flight.add_permits(1);
            }
            if idle {
                table.peers.remove(&peer);
                table.clients.remove(&client);
                self.active.store(table.peers.len(), Ordering::Relaxed);
            }
            (peer, idle)
        };
        if idle {
            hub.step(&mut Deliveries::new(), |st, now| {
                st.datagram_clients.remove(&client);
                st.core.handle_client_closed(now, client);
            });
        }
        // A full socket buffer drops the reply; the client retransmits and
        // the cache answers.
        if let Err(e) = self.socket.try_send_to(&reply, peer) {
            tracing::debug!(%peer, error = %e, "UDP reply not sent");
        }
    }
}

/// Serves one UDP listener until the task is aborted: reads a datagram
/// whenever fewer than `udp.max_in_flight` UDP calls are outstanding
/// (else the datagrams wait in the kernel's socket buffer), and hands
/// each call to the core.
pub(crate) async fn serve(hub: Arc<Hub>, d: Arc<Datagrams>) {
    let max = d.limits.max_datagram_bytes;
    // One byte more than the limit, to tell "exactly the limit" from
    // "truncated".
    let mut buf = vec![0u8; max.saturating_add(1)];
    let mut out = Deliveries::new();
    loop {
        let permit = match d.limits.in_flight.try_acquire() {
            Ok(p) => p,
            Err(_) => {
                hub.metrics.udp.in_flight_full.inc();
                match d.limits.in_flight.acquire().await {
                    Ok(p) => p,
                    Err(_) => return,
                }
            }
        };
        let (n, from) = match d.socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // Includes ICMP errors for earlier replies (port
                // unreachable), which say nothing about this socket.
                tracing::debug!(error = %e, "UDP receive failed");
                if e.kind() != io::ErrorKind::ConnectionRefused {
                    tokio::time::sleep(RECV_ERROR_PAUSE).await;
                }
                continue;
            }
        };
        let datagram = buf.get(..n).filter(|_| n <= max).unwrap_or_default();
        let Some(HeaderPeek::Call(call)) = peek(datagram) else {
            hub.metrics.udp.datagrams_dropped.inc();
            tracing::debug!(peer = %from, bytes = n, max_datagram_bytes = max, "datagram dropped: too large, or not a call");
            continue;
        };
        let call = (call.xid, call_digest(datagram));
        let record = Bytes::copy_from_slice(datagram);
        match hub.step(&mut out, |st, now| d.accept(st, now, from, call, record)) {
            // Given back when the reply is sent.
            Received::Forwarded => permit.forget(),
            Received::InFlight => {
                hub.metrics.udp.retransmits_in_flight.inc();
            }
            Received::Cached(reply) => {
                hub.metrics.udp.reply_cache_hits.inc();
                if let Err(e) = d.socket.send_to(&reply, from).await {
                    tracing::debug!(peer = %from, error = %e, "UDP reply not sent");
                }
            }
        }
    }
}
