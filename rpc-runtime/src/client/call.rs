//! Making calls: [`Client::call`] and [`Client::forward`].

use std::io;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;
use tracing::Instrument;
use xdr_codec::{Encoder, XdrDecode, XdrEncode, BY_REFERENCE_MIN_BYTES};

use super::in_flight::{Closed, InsertError, NoReply, Outcome, PendingCall, Registered};
use super::outgoing::Outgoing;
use super::reader::DirectRead;
use super::reply::decode_reply;
use super::writer::Sent;
use super::{Client, RetransmitPolicy};
use crate::message::{peek, with_xid, HeaderPeek};
use crate::RpcError;

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
    ///   cannot be encoded or the reply cannot be decoded (also when the
    ///   results nest deeper than
    ///   [`ClientBuilder::max_decode_depth`](crate::ClientBuilder::max_decode_depth)).
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
        #[cfg(feature = "gss")]
        if let Some(session) = self.gss_session() {
            let args = args.to_xdr_bytes().map_err(RpcError::Encode)?;
            let results = self
                .gss_call(session, program, version, procedure, args)
                .instrument(span)
                .await?;
            return super::decode_results(results);
        }
        let hint = args.encoded_len_hint();
        // Large opaque arguments (a WRITE's data) held as `Bytes` go to a
        // stream socket by reference, not copied into the record.
        let in_pieces = hint >= BY_REFERENCE_MIN_BYTES && self.conn.is_stream();
        let build = |xid: u32| {
            if in_pieces {
                let mut buf =
                    self.auth
                        .header(xid, program, version, procedure, BY_REFERENCE_MIN_BYTES);
                let mut pieces = Vec::new();
                args.encode(&mut Encoder::with_chunks(&mut buf, &mut pieces))
                    .map_err(RpcError::Encode)?;
                if !pieces.is_empty() {
                    return Ok(Outgoing::from_pieces(
                        xid,
                        pieces,
                        buf,
                        self.conn.max_fragment_bytes,
                    ));
                }
                return Ok(Outgoing::from_buffer(
                    xid,
                    buf,
                    self.conn.max_fragment_bytes,
                ));
            }
            let mut buf = self.auth.header(xid, program, version, procedure, hint);
            args.encode_into(&mut buf).map_err(RpcError::Encode)?;
            Ok(Outgoing::from_buffer(
                xid,
                buf,
                self.conn.max_fragment_bytes,
            ))
        };
        let reply = self.round_trip(build).instrument(span).await?;
        decode_reply(reply, self.conn.max_decode_depth)
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
        let max_fragment_bytes = self.conn.max_fragment_bytes;
        let build =
            move |xid: u32| Ok(Outgoing::with_new_xid(xid, call_record, max_fragment_bytes));
        let reply = self.round_trip(build).instrument(span).await?;
        Ok(with_xid(reply, c.xid))
    }

    /// Makes one round trip with a call message that `build` writes into
    /// the buffer for the XID it is given (after the room reserved for
    /// the record mark); returns the reply record.
    #[cfg(feature = "gss")]
    pub(crate) async fn round_trip_built(
        &self,
        build: impl FnOnce(u32, &mut bytes::BytesMut) -> Result<(), RpcError>,
    ) -> Result<Bytes, RpcError> {
        let max_fragment_bytes = self.conn.max_fragment_bytes;
        self.round_trip(move |xid| {
            let mut buf = bytes::BytesMut::with_capacity(256);
            buf.extend_from_slice(&[0; super::outgoing::MARK_ROOM]);
            build(xid, &mut buf)?;
            Ok(Outgoing::from_buffer(xid, buf, max_fragment_bytes))
        })
        .await
    }

    /// Registers an XID, builds the record for it, sends it and waits for
    /// the reply record, all within the timeout. The deadline goes into
    /// the pending-call entry (the connection's watchdog enforces it);
    /// only the rare waits before the call is registered or queued (for
    /// an in-flight slot, for room in the queue) arm a timer of their own.
    async fn round_trip(
        &self,
        build: impl FnOnce(u32) -> Result<Outgoing, RpcError>,
    ) -> Result<Bytes, RpcError> {
        let deadline = Instant::now().checked_add(self.timeout);
        let result = self.send_and_wait(build, deadline).await;
        if let Err(RpcError::Timeout) = result {
            tracing::debug!("call timed out");
        }
        result
    }

    async fn send_and_wait(
        &self,
        build: impl FnOnce(u32) -> Result<Outgoing, RpcError>,
        deadline: Option<Instant>,
    ) -> Result<Bytes, RpcError> {
        // Backpressure: wait for a free in-flight slot. The semaphore is
        // never closed, so an error cannot happen; treat it as closed.
        let _permit = match self.conn.limit.try_acquire() {
            Ok(permit) => permit,
            Err(_) => until(deadline, self.conn.limit.acquire())
                .await?
                .map_err(|_| self.closed_error())?,
        };
        let Registered { guard, alone } = self.register(deadline)?;
        tracing::Span::current().record("xid", guard.xid());
        let record = build(guard.xid())?;
        if record.record_len() > self.conn.max_call_bytes {
            return Err(RpcError::Transport(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "call of {} bytes exceeds the limit of {} bytes",
                    record.record_len(),
                    self.conn.max_call_bytes
                ),
            )));
        }
        let result = match self.conn.retransmit {
            None => {
                self.send(record, alone, deadline).await?;
                let outcome = match (&self.conn.reader, alone) {
                    (Some(reader), true) => Self::read_own_reply(reader.as_ref(), &guard).await,
                    _ => guard.outcome().await,
                };
                self.reply_of(outcome)
            }
            Some(policy) => {
                self.send(record.clone(), true, deadline).await?;
                self.retransmit_until_reply(record, &guard, policy, deadline)
                    .await
            }
        };
        drop(guard);
        result
    }

    /// Sends a call record. With `write_now` (the call is alone in flight)
    /// this task writes it to the socket itself if the socket takes it
    /// without waiting; otherwise it is queued in the connection's writer
    /// for the connection task to batch, or, when the writer is busy or
    /// full or there is no connection, sent through the channel. UDP
    /// calls are sent by their caller whenever the socket takes them.
    async fn send(
        &self,
        record: Outgoing,
        write_now: bool,
        deadline: Option<Instant>,
    ) -> Result<(), RpcError> {
        let record = match self.conn.direct.try_send(record, write_now) {
            Sent::Taken => return Ok(()),
            Sent::Failed(e) => return Err(RpcError::Transport(e)),
            Sent::Queue(record) => record,
        };
        match self.conn.outgoing.try_send(record) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(_)) => Err(self.closed_error()),
            Err(TrySendError::Full(record)) => until(deadline, self.conn.outgoing.send(record))
                .await?
                .map_err(|_| self.closed_error()),
        }
    }

    /// Waits for the outcome of a call that was alone in flight, reading
    /// the socket itself meanwhile (see `reader`). When it stops reading
    /// (done, or dropped), the connection task takes the socket back (see
    /// `reader`).
    async fn read_own_reply(reader: &dyn DirectRead, call: &PendingCall) -> Option<Outcome> {
        struct HandBack<'a>(&'a dyn DirectRead, &'a PendingCall);
        impl Drop for HandBack<'_> {
            fn drop(&mut self) {
                self.0.hand_back(self.1);
            }
        }
        let _hand_back = HandBack(reader, call);
        std::future::poll_fn(|cx| reader.poll_reply(cx, call)).await
    }

    /// Waits for the reply, sending `record` again (same XID) whenever an
    /// interval of `policy` passes without one. The caller's timeout ends
    /// the loop.
    async fn retransmit_until_reply(
        &self,
        record: Outgoing,
        call: &PendingCall,
        policy: RetransmitPolicy,
        deadline: Option<Instant>,
    ) -> Result<Bytes, RpcError> {
        let mut sends: u32 = 0;
        loop {
            tokio::select! {
                received = call.outcome() => return self.reply_of(received),
                () = tokio::time::sleep(policy.interval(sends)) => {}
            }
            sends = sends.saturating_add(1);
            self.conn.retransmissions.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(sends, "no reply yet; retransmitting");
            self.send(record.clone(), true, deadline).await?;
        }
    }

    /// The reply record, or why it will never come.
    fn reply_of(&self, received: Option<Outcome>) -> Result<Bytes, RpcError> {
        match received {
            Some(Ok(reply)) => Ok(reply),
            Some(Err(NoReply::TimedOut)) => Err(RpcError::Timeout),
            Some(Err(NoReply::Closed(closed))) => Err(RpcError::Transport(closed.to_io())),
            None => Err(self.closed_error()),
        }
    }

    fn register(&self, deadline: Option<Instant>) -> Result<Registered, RpcError> {
        for _ in 0..XID_ATTEMPTS {
            match self.conn.in_flight.insert(self.next_xid(), deadline) {
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

/// Runs `wait` to completion, or fails with [`RpcError::Timeout`] at
/// `deadline` (`None`: never).
async fn until<T>(
    deadline: Option<Instant>,
    wait: impl std::future::Future<Output = T>,
) -> Result<T, RpcError> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, wait)
            .await
            .map_err(|_| RpcError::Timeout),
        None => Ok(wait.await),
    }
}
