//! One call on the server: from a record to a reply.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures::future::BoxFuture;
use tokio::time::Instant;
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::context::{CallContext, PeerAddr};
use super::dispatch::DispatchOutcome;
use super::registry::{Lookup, Registry};
use crate::message::reply::plain_success_words;
use crate::message::{
    peek, AcceptStat, AuthStat, CallHeader, CallPeek, Credentials, HeaderPeek, RejectStat,
    ReplyHeader, RPC_VERSION,
};
#[cfg(feature = "gss")]
use crate::message::{AuthFlavor, ReplyBody};
use crate::record::{Outbox, RecordError};

/// Bytes of an accepted reply header with an AUTH_NONE verifier: XID,
/// REPLY, MSG_ACCEPTED, verifier flavor and length, `accept_stat`.
const ACCEPTED_HEADER_BYTES: usize = 24;

/// A reply to send.
#[derive(Debug)]
pub(crate) enum Reply {
    /// An accepted SUCCESS reply with an empty AUTH_NONE verifier (the
    /// common case, written as six fixed header words), then the encoded
    /// results.
    Success {
        /// The call's XID.
        xid: u32,
        /// The encoded results.
        results: Results,
    },
    /// A header the server built, encoded straight into the write queue
    /// when sent, then the encoded results (empty unless SUCCESS).
    Built {
        /// The reply header.
        header: ReplyHeader,
        /// The encoded results.
        results: Results,
    },
    /// A complete reply message (from a [`Fallback`] handler).
    Message(Bytes),
}

/// Encoded results: one piece, or several (large opaque data referenced).
#[derive(Debug)]
pub(crate) enum Results {
    One(Bytes),
    Chunks(Vec<Bytes>),
}

impl Results {
    fn len(&self) -> usize {
        match self {
            Results::One(b) => b.len(),
            Results::Chunks(c) => c.iter().map(Bytes::len).sum(),
        }
    }

    fn pieces(&self) -> &[Bytes] {
        match self {
            Results::One(b) => std::slice::from_ref(b),
            Results::Chunks(c) => c,
        }
    }
}

impl Reply {
    fn accepted(xid: u32, stat: AcceptStat) -> Self {
        Reply::Built {
            header: ReplyHeader::accepted(xid, stat),
            results: Results::One(Bytes::new()),
        }
    }

    fn denied(xid: u32, stat: RejectStat) -> Self {
        Reply::Built {
            header: ReplyHeader::denied(xid, stat),
            results: Results::One(Bytes::new()),
        }
    }

    /// Queues this reply as one record; the results are queued by
    /// reference when large (see [`Outbox`]).
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] over the record limit.
    pub(crate) fn queue(self, out: &mut Outbox) -> Result<(), RecordError> {
        match self {
            Reply::Success { xid, results } => out.push_with_head(
                |buf| buf.extend_from_slice(&plain_success_words(xid)),
                results.pieces(),
            ),
            Reply::Built { header, results } => {
                out.push_with_head(|buf| encode_header(&header, buf), results.pieces())
            }
            Reply::Message(message) => out.push(message),
        }
    }

    /// The whole reply message, as a datagram carries it.
    pub(crate) fn into_message(self) -> Bytes {
        let (results, mut buf) = match self {
            Reply::Success { xid, results } => {
                let mut buf = BytesMut::with_capacity(32 + results.len());
                buf.extend_from_slice(&plain_success_words(xid));
                (results, buf)
            }
            Reply::Built { header, results } => {
                let mut buf = BytesMut::with_capacity(32 + results.len());
                encode_header(&header, &mut buf);
                (results, buf)
            }
            Reply::Message(message) => return message,
        };
        for piece in results.pieces() {
            buf.extend_from_slice(piece);
        }
        buf.freeze()
    }

    /// This reply with the verifier and sealed results of an RPCSEC_GSS
    /// call (RFC 2203 section 5.3.3.2); a denied reply is left as it is.
    #[cfg(feature = "gss")]
    fn sealed(self, seal: &crate::gss::ReplySeal) -> Reply {
        let (xid, stat, results) = match self {
            Reply::Success { xid, results } => (xid, AcceptStat::Success, results),
            Reply::Built {
                header:
                    ReplyHeader {
                        xid,
                        body: ReplyBody::Accepted { stat, .. },
                    },
                results,
            } => (xid, stat, results),
            other => return other,
        };
        let (header, pieces) = seal.seal_accepted(xid, stat, results.pieces());
        Reply::Built {
            header,
            results: Results::Chunks(pieces),
        }
    }
}

fn encode_header(header: &ReplyHeader, buf: &mut BytesMut) {
    if let Some(words) = header.plain_success() {
        buf.extend_from_slice(&words);
        return;
    }
    // Verifiers built here are AUTH_NONE or an RPCSEC_GSS checksum (tens
    // of bytes), so encoding cannot fail; an error would only mean a bug.
    if let Err(e) = header.encode_into(buf) {
        tracing::error!(error = %e, "encoding a reply header failed");
    }
}

/// What to do with one received record.
pub(crate) enum Action {
    /// Send this reply now.
    Reply(Reply),
    /// Run the call: its handler has been started (its future made, not
    /// yet polled).
    Run(Running),
    /// Drop the record (a REPLY message sent to a server).
    Ignore,
    /// Not an RPC call: close the connection.
    Garbage(String),
}

/// What a call that is run may use: its deadline (see
/// [`CallContext::deadline`]), the nesting depth its arguments may reach
/// when decoded, and the largest reply it may send (bytes; over that,
/// SYSTEM_ERR is sent instead).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLimits {
    pub(crate) deadline: Option<Instant>,
    pub(crate) max_decode_depth: u32,
    pub(crate) max_reply_bytes: usize,
}

/// Reads the call header and decides how to answer; a call to run has
/// its handler started (its future made, not polled), under `limits`.
/// The call state goes straight from the record into the handler's
/// future, never through an intermediate value.
pub(crate) fn classify(
    registry: &Registry,
    record: Bytes,
    peer: &PeerAddr,
    limits: CallLimits,
    #[cfg(feature = "gss")] gss: Option<&crate::gss::ServerGss>,
) -> Action {
    let c = match peek(&record) {
        Some(HeaderPeek::Call(c)) => c,
        Some(HeaderPeek::Reply { xid }) => {
            tracing::debug!(xid, "REPLY message received by a server; dropped");
            return Action::Ignore;
        }
        None => {
            return Action::Garbage(format!(
                "record of {} bytes is not an RPC call message",
                record.len()
            ))
        }
    };
    if c.rpcvers != RPC_VERSION {
        return Action::Reply(Reply::denied(
            c.xid,
            RejectStat::RpcMismatch {
                low: RPC_VERSION,
                high: RPC_VERSION,
            },
        ));
    }
    if let Some(handler) = registry.fallback_for(c.program) {
        return Action::Run(Running::start(c, limits, || {
            Handler::Fallback(handler.call(c, record, peer.clone()))
        }));
    }
    let (credentials, args) = match auth_none_args(record) {
        // The common case: AUTH_NONE credentials and verifier, read in place.
        Ok(args) => (Ok(Credentials::None), args),
        Err(record) => {
            let mut dec = Decoder::new(record.clone());
            let header = match CallHeader::decode(&mut dec) {
                Ok(h) => h,
                Err(e) => {
                    return Action::Garbage(format!("malformed call header (xid {}): {e}", c.xid))
                }
            };
            #[cfg(feature = "gss")]
            if let Some(gss) = gss.filter(|_| header.credentials.flavor == AuthFlavor::RPCSEC_GSS) {
                let verdict = gss.judge_record(&record, &header, dec.into_remaining());
                return gss_action(registry, c, verdict, peer, limits);
            }
            (
                Credentials::from_opaque_auth(&header.credentials),
                dec.into_remaining(),
            )
        }
    };
    let credentials = match credentials {
        Ok(Credentials::Other(o)) => {
            tracing::debug!(xid = c.xid, flavor = o.flavor.0, "unsupported auth flavor");
            return Action::Reply(Reply::denied(
                c.xid,
                RejectStat::AuthError(AuthStat::RejectedCred),
            ));
        }
        Ok(creds) => creds,
        Err(stat) => return Action::Reply(Reply::denied(c.xid, RejectStat::AuthError(stat))),
    };
    #[cfg(feature = "gss")]
    if gss.is_some_and(crate::gss::ServerGss::refuses_other_flavors) {
        return Action::Reply(Reply::denied(
            c.xid,
            RejectStat::AuthError(AuthStat::TooWeak),
        ));
    }
    let ctx = CallContext::new(
        c.xid,
        c.program,
        c.version,
        c.procedure,
        credentials,
        peer.clone(),
    );
    lookup_and_run(registry, c, ctx, args, limits)
}

/// The action for an RPCSEC_GSS call the GSS side has judged.
#[cfg(feature = "gss")]
fn gss_action(
    registry: &Registry,
    c: CallPeek,
    verdict: crate::gss::Verdict,
    peer: &PeerAddr,
    limits: CallLimits,
) -> Action {
    use crate::gss::Verdict;
    match verdict {
        Verdict::Drop => Action::Ignore,
        Verdict::Deny(stat) => Action::Reply(Reply::denied(c.xid, RejectStat::AuthError(stat))),
        Verdict::Reply {
            verifier,
            stat,
            results,
            ..
        } => Action::Reply(Reply::Built {
            header: ReplyHeader {
                xid: c.xid,
                body: ReplyBody::Accepted { verifier, stat },
            },
            results: Results::One(results),
        }),
        Verdict::Run { caller, args, seal } => {
            let ctx = CallContext::new(
                c.xid,
                c.program,
                c.version,
                c.procedure,
                Credentials::None,
                peer.clone(),
            )
            .with_gss(caller);
            match lookup_and_run(registry, c, ctx, args, limits) {
                Action::Run(mut running) => {
                    running.seal = Some(seal);
                    Action::Run(running)
                }
                Action::Reply(reply) => Action::Reply(reply.sealed(&seal)),
                other => other,
            }
        }
    }
}

/// Starts the call if its program and version are served; otherwise the
/// PROG_UNAVAIL or PROG_MISMATCH reply.
fn lookup_and_run(
    registry: &Registry,
    c: CallPeek,
    ctx: CallContext,
    args: Bytes,
    limits: CallLimits,
) -> Action {
    match registry.lookup(c.program, c.version) {
        Lookup::ProgUnavail => Action::Reply(Reply::accepted(c.xid, AcceptStat::ProgUnavail)),
        Lookup::ProgMismatch { low, high } => Action::Reply(Reply::accepted(
            c.xid,
            AcceptStat::ProgMismatch { low, high },
        )),
        Lookup::Found(d) => Action::Run(Running::start(c, limits, || {
            let ctx = match limits.deadline {
                Some(at) => ctx.with_deadline(at),
                None => ctx,
            };
            let args = Decoder::new(args).with_max_depth(limits.max_decode_depth);
            Handler::Dispatch(d.dispatch(ctx, c.procedure, args))
        })),
    }
}

/// Bytes of a call header (RFC 5531 section 9) whose credentials and
/// verifier are both AUTH_NONE with empty bodies: XID, CALL, RPC version,
/// program, version, procedure, then flavor and length twice.
const AUTH_NONE_CALL_HEADER_BYTES: usize = 40;

/// The arguments of a call whose credentials and verifier are both
/// AUTH_NONE with empty bodies (words 6 to 9 all zero): `record` past its
/// header (advanced, not sliced: a record that owns its buffer alone
/// keeps it without a reference count); `Err(record)` for any other
/// call, which takes the full decoder.
fn auth_none_args(mut record: Bytes) -> Result<Bytes, Bytes> {
    let plain = record
        .get(24..AUTH_NONE_CALL_HEADER_BYTES)
        .is_some_and(|auth| auth.iter().all(|&b| b == 0));
    if !plain {
        return Err(record);
    }
    record.advance(AUTH_NONE_CALL_HEADER_BYTES);
    Ok(record)
}

/// A call whose handler has been started: poll it in place with
/// [`poll`](Self::poll) (the connection answers calls that finish at
/// once without a task of their own), or run it to its end with
/// [`finish`](Self::finish).
pub(crate) struct Running {
    /// The header words, for logging.
    pub(crate) call: CallPeek,
    deadline: Option<Instant>,
    max_reply_bytes: usize,
    handler: Handler,
    #[cfg(feature = "gss")]
    seal: Option<crate::gss::ReplySeal>,
}

/// Small on purpose (no reply held inline), so that a [`Running`] call
/// moves in registers, not by `memcpy`.
enum Handler {
    Dispatch(BoxFuture<'static, DispatchOutcome>),
    Fallback(BoxFuture<'static, Option<Bytes>>),
    /// Panicked when started (logged then): SYSTEM_ERR when polled.
    Panicked,
    /// Finished: nothing more to send.
    Done,
}

impl Running {
    /// Calls `start`, which makes the handler's future without running
    /// it; a panic in that call is caught (SYSTEM_ERR).
    fn start(call: CallPeek, limits: CallLimits, start: impl FnOnce() -> Handler) -> Running {
        let handler = catch_unwind(AssertUnwindSafe(start)).unwrap_or_else(|panic| {
            log_panic(&*panic);
            Handler::Panicked
        });
        Running {
            call,
            deadline: limits.deadline,
            max_reply_bytes: limits.max_reply_bytes,
            handler,
            #[cfg(feature = "gss")]
            seal: None,
        }
    }

    /// Polls the handler once, catching a panic (SYSTEM_ERR). Ready with
    /// the reply to send (`None`: none) when it has finished; the
    /// deadline is not enforced here (see [`finish`](Self::finish)).
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Reply>> {
        let reply = std::task::ready!(self.poll_handler(cx));
        Poll::Ready(reply.map(|r| self.seal(r)))
    }

    /// The reply as the call's RPCSEC_GSS context protects it.
    fn seal(&self, reply: Reply) -> Reply {
        #[cfg(feature = "gss")]
        if let Some(seal) = &self.seal {
            return reply.sealed(seal);
        }
        reply
    }

    fn poll_handler(&mut self, cx: &mut Context<'_>) -> Poll<Option<Reply>> {
        let (xid, procedure, max) = (self.call.xid, self.call.procedure, self.max_reply_bytes);
        let polled = match &mut self.handler {
            Handler::Done => return Poll::Ready(None),
            Handler::Panicked => {
                self.handler = Handler::Done;
                return Poll::Ready(Some(Reply::accepted(xid, AcceptStat::SystemErr)));
            }
            Handler::Dispatch(fut) => catch_unwind(AssertUnwindSafe(|| {
                fut.as_mut()
                    .poll(cx)
                    .map(|outcome| outcome_reply(xid, procedure, outcome, max))
            })),
            Handler::Fallback(fut) => catch_unwind(AssertUnwindSafe(|| {
                fut.as_mut()
                    .poll(cx)
                    .map(|reply| fallback_reply(xid, reply, max))
            })),
        };
        let reply = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(reply)) => reply,
            Err(panic) => Some(panicked(xid, &*panic)),
        };
        // Never poll a finished (or panicked) handler again.
        self.handler = Handler::Done;
        Poll::Ready(reply)
    }

    /// Runs the call to its end, replying SYSTEM_ERR if its deadline
    /// passes first (the handler's future is then dropped).
    pub(crate) async fn finish(mut self) -> Option<Reply> {
        let xid = self.call.xid;
        let Some(deadline) = self.deadline else {
            return std::future::poll_fn(|cx| self.poll(cx)).await;
        };
        let run = std::future::poll_fn(|cx| self.poll(cx));
        match tokio::time::timeout_at(deadline, run).await {
            Ok(reply) => reply,
            Err(_) => {
                tracing::warn!(xid, "call exceeded its time limit; replying SYSTEM_ERR");
                Some(self.seal(Reply::accepted(xid, AcceptStat::SystemErr)))
            }
        }
    }
}

fn fallback_reply(xid: u32, reply: Option<Bytes>, max_reply_bytes: usize) -> Option<Reply> {
    match reply {
        Some(reply) if reply.len() > max_reply_bytes => {
            tracing::error!(
                reply_bytes = reply.len(),
                max_reply_bytes,
                "fallback reply exceeds the record limit; replying SYSTEM_ERR"
            );
            Some(Reply::accepted(xid, AcceptStat::SystemErr))
        }
        Some(reply) => Some(Reply::Message(reply)),
        None => None,
    }
}

fn panicked(xid: u32, panic: &(dyn std::any::Any + Send)) -> Reply {
    log_panic(panic);
    Reply::accepted(xid, AcceptStat::SystemErr)
}

/// Logs a handler's panic, whose reply is SYSTEM_ERR.
fn log_panic(panic: &(dyn std::any::Any + Send)) {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %msg, "handler panicked; replying SYSTEM_ERR");
}

fn outcome_reply(
    xid: u32,
    procedure: u32,
    outcome: DispatchOutcome,
    max_record_bytes: usize,
) -> Option<Reply> {
    let results = match outcome {
        DispatchOutcome::Success(one) => Results::One(one),
        DispatchOutcome::SuccessChunks(chunks) => Results::Chunks(chunks),
        DispatchOutcome::AuthError(stat) => {
            return Some(Reply::denied(xid, RejectStat::AuthError(stat)))
        }
        other => return Some(Reply::accepted(xid, failure_stat(procedure, other)?)),
    };
    if ACCEPTED_HEADER_BYTES + results.len() > max_record_bytes {
        tracing::error!(
            results_bytes = results.len(),
            max_record_bytes,
            "reply exceeds the record limit; replying SYSTEM_ERR"
        );
        return Some(Reply::accepted(xid, AcceptStat::SystemErr));
    }
    Some(Reply::Success { xid, results })
}

/// The status of an outcome other than SUCCESS; `None`: no reply.
fn failure_stat(procedure: u32, outcome: DispatchOutcome) -> Option<AcceptStat> {
    let stat = match outcome {
        DispatchOutcome::Success(_)
        | DispatchOutcome::SuccessChunks(_)
        | DispatchOutcome::AuthError(_) => AcceptStat::Success,
        DispatchOutcome::ProcUnavail if procedure == 0 => AcceptStat::Success,
        DispatchOutcome::ProcUnavail => AcceptStat::ProcUnavail,
        DispatchOutcome::GarbageArgs(e) => {
            tracing::debug!(error = %e, "arguments did not decode");
            AcceptStat::GarbageArgs
        }
        DispatchOutcome::RejectedArgs(msg) => {
            tracing::debug!(reason = %msg, "handler rejected the arguments");
            AcceptStat::GarbageArgs
        }
        DispatchOutcome::SystemErr(msg) => {
            tracing::warn!(reason = %msg, "handler failed; replying SYSTEM_ERR");
            AcceptStat::SystemErr
        }
        DispatchOutcome::NoReply => return None,
    };
    Some(stat)
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, BytesMut};

    use super::*;
    use crate::message::{AuthFlavor, AuthSysParams, OpaqueAuth};

    fn record(credentials: OpaqueAuth, verifier: OpaqueAuth, args: &[u8]) -> Bytes {
        let mut header = CallHeader::new(7, 100_003, 3, 6, credentials);
        header.verifier = verifier;
        let mut buf = BytesMut::new();
        header.encode_into(&mut buf).unwrap();
        buf.put_slice(args);
        buf.freeze()
    }

    /// The in-place AUTH_NONE path agrees with the full decoder, and only
    /// takes calls whose credentials and verifier are both empty AUTH_NONE.
    #[test]
    fn auth_none_fast_path_matches_the_decoder() {
        let sys = Credentials::Sys(AuthSysParams {
            stamp: 1,
            machine_name: "m".into(),
            uid: 0,
            gid: 0,
            gids: vec![],
        })
        .to_opaque_auth()
        .unwrap();
        let odd = OpaqueAuth {
            flavor: AuthFlavor::NONE,
            body: Bytes::from_static(b"\0\0\0\0"),
        };
        let cases = [
            (OpaqueAuth::none(), OpaqueAuth::none(), true),
            (sys, OpaqueAuth::none(), false),
            (OpaqueAuth::none(), odd.clone(), false),
            (odd, OpaqueAuth::none(), false),
        ];
        for (credentials, verifier, fast) in cases {
            for args in [&b""[..], b"\0\0\0\x2a", b"\0\0\0\0\0\0\0\0"] {
                let rec = record(credentials.clone(), verifier.clone(), args);
                let mut dec = Decoder::new(rec.clone());
                let header = CallHeader::decode(&mut dec).unwrap();
                let rest = dec.into_remaining();
                match auth_none_args(rec) {
                    Ok(got) => {
                        assert!(fast, "{credentials:?} {verifier:?}");
                        assert_eq!(got, rest);
                        assert_eq!(header.credentials, OpaqueAuth::none());
                        assert_eq!(header.verifier, OpaqueAuth::none());
                    }
                    Err(_) => assert!(!fast, "{credentials:?} {verifier:?}"),
                }
            }
        }
        // Too short to hold the header: the decoder decides.
        assert!(auth_none_args(Bytes::from_static(&[0; 39])).is_err());
    }
}
