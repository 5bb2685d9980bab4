//! RPCSEC_GSS (RFC 2203) from the broker to a backend with a `gss`
//! table: the broker is the RPCSEC_GSS client the backend sees.
//!
//! * Right after a connection is made, before the core hears of it,
//!   [`establish`] sends the context creation calls on it with the
//!   broker's own credentials. A context that cannot be made counts as
//!   a failed connect (the core backs off and tries again), with a
//!   rate-limited log line and `broker_gss_backend_context_failures_total`.
//! * Every call the core sends there is protected on its way out
//!   ([`send_call`]): credential with the connection's next sequence
//!   number, header checksum, arguments sealed for the service level.
//! * Every reply is checked and opened before the core sees it
//!   ([`open_reply`]). A reply whose verifier or results do not check,
//!   and RPCSEC_GSS_CREDPROBLEM / CTXPROBLEM (the backend lost the
//!   context), close the connection: the core treats its calls in
//!   flight as for any lost backend connection, and the next connection
//!   makes a new context.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use rpc_runtime::gss::{GssChannel, GssChannelInit, GssError, GssInitStep};
use rpc_runtime::log_limit::{LogLimit, DEFAULT_INTERVAL};
use rpc_runtime::record::RecordReader;
use rpc_runtime::RpcError;

use crate::config::BackendGss;
use crate::core::{ConnId, Destination, Transmit};
use crate::driver::outbox::Outbox;
use crate::driver::socket::{ReadHalf, WriteHalf};
use crate::driver::wire::record_outbox;
use crate::metrics::Metrics;

/// The RPCSEC_GSS context of one backend connection, with the name of the
/// backend it reaches (for the log).
#[derive(Debug)]
pub(crate) struct BackendChannel {
    channel: GssChannel,
    backend: Arc<str>,
}

/// One log line per interval for backend RPCSEC_GSS failures.
static FAILED_LOG: LogLimit = LogLimit::new(DEFAULT_INTERVAL);

/// The XID of the first context creation call on a connection (the
/// connection carries no other call yet).
const INIT_XID: u32 = 1;

/// The XID of the RPCSEC_GSS_DESTROY sent before the broker closes a
/// connection: no call is left on it, and the reply is not read.
const DESTROY_XID: u32 = 0;

/// Makes the RPCSEC_GSS context on a new backend connection: sends the
/// context creation calls on `write` and reads their replies from
/// `read` through `reader`. Counts the context made.
pub(crate) async fn establish(
    backend: &Arc<str>,
    settings: &BackendGss,
    read: &mut ReadHalf,
    write: &WriteHalf,
    reader: &mut RecordReader,
    metrics: &Metrics,
) -> Result<BackendChannel, RpcError> {
    let mut init = GssChannelInit::new(&settings.client(), settings.program, settings.version)?;
    let mut xid = INIT_XID;
    loop {
        write_record(write, init.call(xid)?).await?;
        let reply = read_reply(read, reader, xid).await?;
        match init.reply(reply)? {
            GssInitStep::Continue(next) => init = next,
            GssInitStep::Done(channel) => {
                metrics.gss.backend_context();
                return Ok(BackendChannel {
                    channel,
                    backend: Arc::clone(backend),
                });
            }
        }
        xid = xid.wrapping_add(1);
    }
}

/// Writes `message` as one record through the driver's record writer.
async fn write_record(write: &WriteHalf, message: Bytes) -> io::Result<()> {
    let mut out = record_outbox();
    out.push(message).map_err(io::Error::other)?;
    loop {
        match out.try_write(|slices| write.try_write_vectored(slices)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => write.writable().await?,
            done => return done,
        }
    }
}

/// Reads the reply with XID `xid` (other records are not expected on a
/// connection that carries no call yet, and are skipped).
async fn read_reply(read: &mut ReadHalf, reader: &mut RecordReader, xid: u32) -> io::Result<Bytes> {
    loop {
        while let Some(record) = reader.next_record().map_err(io::Error::other)? {
            if rpc_runtime::message::peek_xid(&record) == Some(xid) {
                return Ok(record);
            }
        }
        if reader.fill(read).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// Counts and logs (rate-limited) a backend context that could not be
/// made.
pub(crate) fn creation_failed(metrics: &Metrics, backend: &str, e: &RpcError) {
    let reason = match e {
        RpcError::Gss(GssError::Mechanism(_)) => "mechanism",
        RpcError::Gss(GssError::Refused { .. }) => "refused",
        RpcError::Gss(GssError::BadVerifier) => "bad_verifier",
        RpcError::Transport(_) => "connection",
        RpcError::AuthError(_) | RpcError::RpcMismatch { .. } => "rejected",
        _ => "protocol",
    };
    failed(metrics, backend, reason, e);
}

fn failed(metrics: &Metrics, backend: &str, reason: &'static str, e: &RpcError) {
    metrics.gss.backend_failed(reason);
    if let Some(suppressed) = FAILED_LOG.allow() {
        tracing::warn!(
            backend,
            reason,
            error = %e,
            suppressed,
            "RPCSEC_GSS to backend failed; the connection counts as down"
        );
    }
}

/// The plain reply for the core, or `None` when the connection must
/// close (counted and logged).
pub(crate) fn open_reply(c: &BackendChannel, reply: Bytes, metrics: &Metrics) -> Option<Bytes> {
    match c.channel.open_reply(reply) {
        Ok(plain) => Some(plain),
        Err(e) => {
            let reason = match e {
                RpcError::Gss(GssError::BadVerifier) => "bad_verifier",
                RpcError::AuthError(_) => "context_lost",
                _ => "bad_results",
            };
            failed(metrics, &c.backend, reason, &e);
            None
        }
    }
}

/// Closes the outbox of backend connection `conn`, which the broker
/// chose to close. With a context (`channel`), sends its
/// RPCSEC_GSS_DESTROY first, so that the backend frees the context now
/// rather than when it expires: best effort, only when nothing else is
/// queued and the socket takes it at once; its reply is not read.
pub(crate) fn close_backend(outbox: &Outbox, conn: ConnId, channel: Option<&BackendChannel>) {
    if let Some(c) = channel {
        match c.channel.destroy_call(DESTROY_XID) {
            Ok(call) => outbox.send_now(Transmit {
                destination: Destination::Backend(conn),
                xid: DESTROY_XID,
                rest: call.slice(4..),
            }),
            Err(e) => tracing::debug!(error = %e, "RPCSEC_GSS_DESTROY not sent"),
        }
    }
    outbox.close();
}

/// Protects the call `t` and queues it on `outbox`; closes the
/// connection when it cannot be protected (counted and logged).
pub(crate) fn send_call(outbox: &Outbox, c: &BackendChannel, metrics: &Metrics, t: Transmit) {
    match c.channel.protect_call(&t.to_record()) {
        Ok(call) => outbox.send_later(Transmit {
            destination: t.destination,
            xid: t.xid,
            rest: call.slice(4..),
        }),
        Err(e) => {
            failed(metrics, &c.backend, "protect", &e);
            outbox.close();
        }
    }
}
