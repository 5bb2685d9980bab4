//! Making calls: [`Client::call`] and [`Client::forward`].

use std::io;

use bytes::{Bytes, BytesMut};
use tracing::Instrument;
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use std::sync::atomic::Ordering;

use tokio::sync::oneshot::{self, error::RecvError};

use super::in_flight::{Closed, InsertError, PendingCall};
use super::{Client, RetransmitPolicy};
use crate::message::{
    peek, with_xid, AcceptStat, CallHeader, HeaderPeek, RejectStat, ReplyBody, ReplyHeader,
};
use crate::RpcError;

/// Where a call's reply (or the reason it will never come) arrives.
type Completion = oneshot::Receiver<Result<Bytes, Closed>>;

/// How many XIDs to try when the next one is still in use.
const XID_ATTEMPTS: usize = 64;

impl Client {
    /// Makes one call and waits for the reply, or for the client's timeout.
    /// If [`ClientBuilder::max_in_flight`](crate::ClientBuilder::max_in_flight)
    /// calls are already in flight, first waits for one to finish.
    ///
    /// `args` is encoded after the call header; the results are decoded as
    /// `R` and must fill the rest of the reply exactly. Runs inside a
    /// `tracing` span `rpc_call` with the program, version, procedure and
    /// XID. Dropping the returned future cancels the call (a reply that
    /// arrives later is dropped).
    ///
    /// # Errors
    ///
    /// * [`RpcError::Timeout`] when no reply arrives in time;
    /// * [`RpcError::Transport`] when the connection is or becomes closed,
    ///   or the call record is larger than the record limit;
    /// * the status variants ([`RpcError::ProgUnavail`],
    ///   [`RpcError::AuthError`], ...) when the server did not succeed;
    /// * [`RpcError::Encode`] / [`RpcError::Decode`] when the arguments
    ///   cannot be encoded or the reply cannot be decoded.
    pub async fn call<A, R>(
        &self,
        program: u32,
        version: u32,
        procedure: u32,
        args: &A,
    ) -> Result<R, RpcError>
    where
        A: XdrEncode + ?Sized,
        R: XdrDecode,
    {
        let span = tracing::debug_span!(
            "rpc_call",
            program,
            version,
            procedure,
            xid = tracing::field::Empty
        );
        let build = |xid: u32| {
            let header = CallHeader::new(
                xid,
                program,
                version,
                procedure,
                (*self.credentials).clone(),
            );
            let mut buf = BytesMut::with_capacity(128);
            header.encode_into(&mut buf).map_err(RpcError::Encode)?;
            args.encode_into(&mut buf).map_err(RpcError::Encode)?;
            Ok(buf.freeze())
        };
        let reply = self.round_trip(build).instrument(span).await?;
        decode_reply(reply)
    }

    /// Forwards a complete CALL record received from another peer, and
    /// returns the REPLY record, without decoding arguments or results.
    ///
    /// The call's XID is replaced by a fresh one from this connection's
    /// XID space (so calls forwarded from many callers never collide), and
    /// the caller's original XID is put back into the reply. Credentials
    /// and body pass through untouched. The timeout applies.
    ///
    /// # Errors
    ///
    /// [`RpcError::MalformedCall`] when `call_record` is not a CALL
    /// message (too short or another message type); otherwise as
    /// [`Client::call`], except that reply statuses are not interpreted.
    pub async fn forward(&self, call_record: Bytes) -> Result<Bytes, RpcError> {
        let Some(HeaderPeek::Call(c)) = peek(&call_record) else {
            return Err(RpcError::MalformedCall);
        };
        let span = tracing::debug_span!(
            "rpc_forward",
            program = c.program,
            version = c.version,
            procedure = c.procedure,
            caller_xid = c.xid,
            xid = tracing::field::Empty
        );
        let build = move |xid: u32| Ok(with_xid(call_record, xid));
        let reply = self.round_trip(build).instrument(span).await?;
        Ok(with_xid(reply, c.xid))
    }

    /// Registers an XID, builds the record for it, sends it and waits for
    /// the reply record, all within the timeout.
    async fn round_trip(
        &self,
        build: impl FnOnce(u32) -> Result<Bytes, RpcError>,
    ) -> Result<Bytes, RpcError> {
        match tokio::time::timeout(self.timeout, self.send_and_wait(build)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::debug!("call timed out");
                Err(RpcError::Timeout)
            }
        }
    }

    async fn send_and_wait(
        &self,
        build: impl FnOnce(u32) -> Result<Bytes, RpcError>,
    ) -> Result<Bytes, RpcError> {
        // Backpressure: wait for a free in-flight slot. The semaphore is
        // never closed, so an error cannot happen; treat it as closed.
        let _permit = self
            .conn
            .limit
            .acquire()
            .await
            .map_err(|_| self.closed_error())?;
        let (guard, reply) = self.register()?;
        tracing::Span::current().record("xid", guard.xid());
        let record = build(guard.xid())?;
        if record.len() > self.conn.max_call_bytes {
            return Err(RpcError::Transport(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "call of {} bytes exceeds the limit of {} bytes",
                    record.len(),
                    self.conn.max_call_bytes
                ),
            )));
        }
        if self.conn.outgoing.send(record.clone()).await.is_err() {
            return Err(self.closed_error());
        }
        let result = match self.conn.retransmit {
            None => self.reply_of(reply.await),
            Some(policy) => self.retransmit_until_reply(record, reply, policy).await,
        };
        drop(guard);
        result
    }

    /// Waits for the reply, sending `record` again (same XID) whenever an
    /// interval of `policy` passes without one. The caller's timeout ends
    /// the loop.
    async fn retransmit_until_reply(
        &self,
        record: Bytes,
        mut reply: Completion,
        policy: RetransmitPolicy,
    ) -> Result<Bytes, RpcError> {
        let mut sends: u32 = 0;
        loop {
            tokio::select! {
                received = &mut reply => return self.reply_of(received),
                () = tokio::time::sleep(policy.interval(sends)) => {}
            }
            sends = sends.saturating_add(1);
            self.conn.retransmissions.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(sends, "no reply yet; retransmitting");
            if self.conn.outgoing.send(record.clone()).await.is_err() {
                return Err(self.closed_error());
            }
        }
    }

    /// The reply record, or why it will never come.
    fn reply_of(
        &self,
        received: Result<Result<Bytes, Closed>, RecvError>,
    ) -> Result<Bytes, RpcError> {
        match received {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(closed)) => Err(RpcError::Transport(closed.to_io())),
            Err(_) => Err(self.closed_error()),
        }
    }

    fn register(&self) -> Result<(PendingCall, Completion), RpcError> {
        for _ in 0..XID_ATTEMPTS {
            match self.conn.in_flight.insert(self.next_xid()) {
                Ok(entry) => return Ok(entry),
                Err(InsertError::Duplicate) => continue,
                Err(InsertError::Closed(c)) => return Err(RpcError::Transport(c.to_io())),
            }
        }
        Err(RpcError::XidsExhausted)
    }

    fn closed_error(&self) -> RpcError {
        let closed = self.conn.in_flight.closed().unwrap_or_else(|| {
            Closed::new(io::ErrorKind::NotConnected, "client connection task ended")
        });
        RpcError::Transport(closed.to_io())
    }
}

/// Decodes a reply record: the header's status, then the results.
fn decode_reply<R: XdrDecode>(reply: Bytes) -> Result<R, RpcError> {
    let mut dec = Decoder::new(reply);
    let header = ReplyHeader::decode(&mut dec).map_err(RpcError::Decode)?;
    match header.body {
        ReplyBody::Accepted { stat, .. } => match stat {
            AcceptStat::Success => {
                let r = R::decode(&mut dec).map_err(RpcError::Decode)?;
                dec.finish().map_err(RpcError::Decode)?;
                Ok(r)
            }
            AcceptStat::ProgUnavail => Err(RpcError::ProgUnavail),
            AcceptStat::ProgMismatch { low, high } => Err(RpcError::ProgMismatch { low, high }),
            AcceptStat::ProcUnavail => Err(RpcError::ProcUnavail),
            AcceptStat::GarbageArgs => Err(RpcError::GarbageArgs),
            AcceptStat::SystemErr => Err(RpcError::SystemErr),
        },
        ReplyBody::Denied(RejectStat::RpcMismatch { low, high }) => {
            Err(RpcError::RpcMismatch { low, high })
        }
        ReplyBody::Denied(RejectStat::AuthError(stat)) => Err(RpcError::AuthError(stat)),
    }
}
