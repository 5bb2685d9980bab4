//! One call on the server: from a record to a reply.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::buf::Chain;
use bytes::{Buf, Bytes};
use futures::FutureExt;
use tokio::time::Instant;
use xdr_codec::{Decoder, XdrDecode};

use super::context::{CallContext, PeerAddr};
use super::dispatch::{Dispatch, DispatchOutcome};
use super::fallback::Fallback;
use super::registry::{Lookup, Registry};
use crate::message::reply::{accepted_error, denied};
use crate::message::{
    peek, AcceptStat, AuthStat, CallHeader, CallPeek, Credentials, HeaderPeek, RejectStat,
    RPC_VERSION,
};

/// A reply record: header, then (for SUCCESS) the encoded results.
pub(crate) type Reply = Chain<Bytes, Bytes>;

/// What to do with one received record.
pub(crate) enum Action {
    /// Send this reply now.
    Reply(Reply),
    /// Run the call.
    Run(Job),
    /// Drop the record (a REPLY message sent to a server).
    Ignore,
    /// Not an RPC call: close the connection.
    Garbage(String),
}

fn reply(header: Bytes) -> Reply {
    header.chain(Bytes::new())
}

/// A call to run in its own task.
pub(crate) struct Job {
    /// The header words, for logging.
    pub(crate) call: CallPeek,
    /// When to give up on the handler and reply SYSTEM_ERR.
    deadline: Option<Instant>,
    kind: JobKind,
}

enum JobKind {
    Dispatch {
        dispatcher: Arc<dyn Dispatch>,
        ctx: CallContext,
        args: Bytes,
    },
    Fallback {
        handler: Arc<dyn Fallback>,
        record: Bytes,
        peer: PeerAddr,
    },
}

/// Reads the call header and decides how to answer, without running
/// anything. A call that is run gets `deadline` (see
/// [`CallContext::deadline`]).
pub(crate) fn classify(
    registry: &Registry,
    record: Bytes,
    peer: &PeerAddr,
    deadline: Option<Instant>,
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
        return Action::Reply(reply(denied(
            c.xid,
            RejectStat::RpcMismatch {
                low: RPC_VERSION,
                high: RPC_VERSION,
            },
        )));
    }
    if let Some(handler) = registry.fallback_for(c.program) {
        return Action::Run(Job {
            call: c,
            deadline,
            kind: JobKind::Fallback {
                handler: Arc::clone(handler),
                record,
                peer: peer.clone(),
            },
        });
    }
    let mut dec = Decoder::new(record);
    let header = match CallHeader::decode(&mut dec) {
        Ok(h) => h,
        Err(e) => return Action::Garbage(format!("malformed call header (xid {}): {e}", c.xid)),
    };
    let credentials = match Credentials::from_opaque_auth(&header.credentials) {
        Ok(Credentials::Other(o)) => {
            tracing::debug!(xid = c.xid, flavor = o.flavor.0, "unsupported auth flavor");
            return Action::Reply(reply(denied(
                c.xid,
                RejectStat::AuthError(AuthStat::RejectedCred),
            )));
        }
        Ok(creds) => creds,
        Err(stat) => return Action::Reply(reply(denied(c.xid, RejectStat::AuthError(stat)))),
    };
    match registry.lookup(c.program, c.version) {
        Lookup::ProgUnavail => Action::Reply(reply(accepted_error(c.xid, AcceptStat::ProgUnavail))),
        Lookup::ProgMismatch { low, high } => Action::Reply(reply(accepted_error(
            c.xid,
            AcceptStat::ProgMismatch { low, high },
        ))),
        Lookup::Found(d) => {
            let ctx = CallContext::new(
                c.xid,
                c.program,
                c.version,
                c.procedure,
                credentials,
                peer.clone(),
            );
            Action::Run(Job {
                call: c,
                deadline,
                kind: JobKind::Dispatch {
                    dispatcher: Arc::clone(d),
                    ctx: match deadline {
                        Some(at) => ctx.with_deadline(at),
                        None => ctx,
                    },
                    args: dec.into_remaining(),
                },
            })
        }
    }
}

/// Runs the call, catching a panic and enforcing its deadline, and builds
/// its reply (`None`: send nothing). Replies longer than `max_reply_bytes`
/// are replaced by SYSTEM_ERR.
pub(crate) async fn execute(job: Job, max_reply_bytes: usize) -> Option<Reply> {
    let xid = job.call.xid;
    let Some(deadline) = job.deadline else {
        return run(job, max_reply_bytes).await;
    };
    match tokio::time::timeout_at(deadline, run(job, max_reply_bytes)).await {
        Ok(reply) => reply,
        Err(_) => {
            tracing::warn!(xid, "call exceeded its time limit; replying SYSTEM_ERR");
            Some(reply(accepted_error(xid, AcceptStat::SystemErr)))
        }
    }
}

async fn run(job: Job, max_record_bytes: usize) -> Option<Reply> {
    let xid = job.call.xid;
    match job.kind {
        JobKind::Dispatch {
            dispatcher,
            ctx,
            args,
        } => {
            let procedure = job.call.procedure;
            let run = async move {
                dispatcher
                    .dispatch(ctx, procedure, Decoder::new(args))
                    .await
            };
            match AssertUnwindSafe(run).catch_unwind().await {
                Ok(outcome) => outcome_reply(xid, procedure, outcome, max_record_bytes),
                Err(panic) => Some(panicked(xid, &*panic)),
            }
        }
        JobKind::Fallback {
            handler,
            record,
            peer,
        } => {
            let call = job.call;
            let run = async move { handler.call(call, record, peer).await };
            match AssertUnwindSafe(run).catch_unwind().await {
                Ok(Some(reply)) if reply.len() > max_record_bytes => {
                    tracing::error!(
                        reply_bytes = reply.len(),
                        max_record_bytes,
                        "fallback reply exceeds the record limit; replying SYSTEM_ERR"
                    );
                    Some(self::reply(accepted_error(xid, AcceptStat::SystemErr)))
                }
                Ok(Some(reply)) => Some(self::reply(reply)),
                Ok(None) => None,
                Err(panic) => Some(panicked(xid, &*panic)),
            }
        }
    }
}

fn panicked(xid: u32, panic: &(dyn std::any::Any + Send)) -> Reply {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %msg, "handler panicked; replying SYSTEM_ERR");
    reply(accepted_error(xid, AcceptStat::SystemErr))
}

fn outcome_reply(
    xid: u32,
    procedure: u32,
    outcome: DispatchOutcome,
    max_record_bytes: usize,
) -> Option<Reply> {
    let stat = match outcome {
        DispatchOutcome::Success(results) => {
            let header = accepted_error(xid, AcceptStat::Success);
            if header.len() + results.len() > max_record_bytes {
                tracing::error!(
                    results_bytes = results.len(),
                    max_record_bytes,
                    "reply exceeds the record limit; replying SYSTEM_ERR"
                );
                AcceptStat::SystemErr
            } else {
                return Some(header.chain(results));
            }
        }
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
    Some(reply(accepted_error(xid, stat)))
}
