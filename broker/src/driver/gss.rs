//! RPCSEC_GSS (RFC 2203) ended on a listener with a `gss` table: the
//! broker is the RPCSEC_GSS server its clients see, and its backends
//! see plain AUTH_NONE calls. The broker rewrites XIDs, which the
//! header checksum covers, so the protection cannot pass through.
//!
//! * Each call record a client sends is checked by the listener's
//!   [`ServerGss`] before the core sees it ([`ClientGss::screen`]):
//!   context creation and destruction, and refusals, are answered at
//!   once; replayed calls are dropped; a data call that checks goes to
//!   the core as a plain call, with its principal for the allow list.
//! * The reply to a forwarded call (the backend's, or the core's own
//!   answer such as SYSTEM_ERR) gets the call's verifier and envelope
//!   on its way to the client ([`ClientGss::seal`]), outside the hub's
//!   lock.
//!
//! The seals wait by the client's XID, at most one per call in flight
//! (`max_in_flight_per_client`): the core answers every call exactly
//! once. A client that reuses the XID of a call still in flight for
//! another RPCSEC_GSS call gets the second call's protection on both
//! replies (RFC 5531 makes XIDs unique per call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use rpc_runtime::gss::{GssGate, GssRefusal, ReplySeal, ServerGss};
use rpc_runtime::log_limit::{LogLimit, DEFAULT_INTERVAL};
use rpc_runtime::message::{peek_xid, OpaqueAuth};

use crate::core::{ClientId, Destination, Transmit};
use crate::driver::outbox::Outbox;
use crate::driver::Hub;
use crate::metrics::Metrics;

/// One log line per interval for refused RPCSEC_GSS calls.
static REFUSED_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// A call for the core: the record, and the principal the broker
/// authenticated it as (RPCSEC_GSS calls only).
pub(crate) type Screened = (Bytes, Option<Arc<str>>);

/// The RPCSEC_GSS side of one client connection.
#[derive(Debug)]
pub(crate) struct ClientGss {
    /// The listener's contexts and settings.
    server: Arc<ServerGss>,
    /// How to protect the reply to each forwarded call, by client XID.
    seals: Mutex<HashMap<u32, ReplySeal>>,
}

impl ClientGss {
    /// The RPCSEC_GSS side of client `client` on a listener with
    /// `server`, known to the hub (its replies are sealed) until
    /// [`ClientGss::detach`].
    pub(crate) fn attach(hub: &Arc<Hub>, client: ClientId, server: Arc<ServerGss>) -> Arc<Self> {
        let gss = Arc::new(ClientGss {
            server,
            seals: Mutex::default(),
        });
        hub.lock().gss_clients.insert(client, Arc::clone(&gss));
        gss
    }

    /// Forgets client `client` (its connection ended).
    pub(crate) fn detach(hub: &Arc<Hub>, client: ClientId) {
        hub.lock().gss_clients.remove(&client);
    }

    /// Checks the call records `records` of client `client` (whose
    /// replies go to `outbox`): answers what the RPCSEC_GSS side answers
    /// itself (each counted as a call read and answered), counts
    /// refusals, and returns the calls for the core.
    pub(crate) fn screen(
        &self,
        client: ClientId,
        outbox: &Outbox,
        metrics: &Metrics,
        records: impl Iterator<Item = Bytes>,
    ) -> Vec<Screened> {
        let mut calls = Vec::new();
        for record in records {
            let Some(gate) = self.server.gate(&record) else {
                calls.push((record, None));
                continue;
            };
            match gate {
                GssGate::Answer { reply, refusal } => {
                    if let Some(r) = refusal {
                        refused(metrics, client, r);
                    }
                    outbox.call_read();
                    outbox.send_now(Transmit {
                        destination: Destination::Client(client),
                        // The broker made the reply: it has a header.
                        xid: peek_xid(&reply).unwrap_or(0),
                        rest: reply.slice(4..),
                    });
                }
                GssGate::Drop => refused(metrics, client, GssRefusal::Replay),
                GssGate::Forward(f) => {
                    // AUTH_NONE credentials are 8 bytes: encoding cannot fail.
                    let Ok(plain) = f.plain_call(OpaqueAuth::none()) else {
                        continue;
                    };
                    let principal = Arc::from(f.caller().principal());
                    self.lock()
                        .insert(peek_xid(&plain).unwrap_or(0), f.into_seal());
                    calls.push((plain, Some(principal)));
                }
            }
        }
        calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, ReplySeal>> {
        self.seals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The reply `t` to this client, protected as its call was (a reply
    /// to a call that was not RPCSEC_GSS passes as it is).
    pub(crate) fn seal(&self, t: Transmit) -> Transmit {
        let Some(seal) = self.lock().remove(&t.xid) else {
            return t;
        };
        let sealed = seal.seal_reply(t.to_record());
        Transmit {
            destination: t.destination,
            xid: t.xid,
            rest: sealed.slice(4..),
        }
    }
}

fn refused(metrics: &Metrics, client: ClientId, refusal: GssRefusal) {
    metrics.gss.refused(refusal.as_str());
    if let Some(suppressed) = REFUSED_LOG.allow() {
        tracing::warn!(
            client = client.get(),
            reason = refusal.as_str(),
            suppressed,
            "RPCSEC_GSS call refused"
        );
    }
}

/// The calls of a client without an RPCSEC_GSS side, for the core.
pub(crate) fn plain(records: impl Iterator<Item = Bytes>) -> Vec<Screened> {
    records.map(|r| (r, None)).collect()
}
