//! RPCSEC_GSS made by a proxy on a connection it owns (the broker
//! towards a backend): [`GssChannelInit`] gives the context creation
//! calls to send and takes their replies; [`GssChannel`] turns each
//! plain call message into an RPCSEC_GSS one and each reply back into a
//! plain one (RFC 2203 sections 5.2 and 5.3).
//!
//! ```text
//! proxy --INIT call(s)--> server      GssChannelInit::call / reply
//! plain call  --protect_call-->  cred {DATA, seq}, verf MIC, sealed args
//! plain reply <--open_reply--    verf MIC(seq) checked, results unsealed
//! ```
//!
//! A proxy sends calls in about the order it protects them, so on one
//! stream the server sees sequence numbers rising (or nearly) and none
//! falls out of its window.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::client::ClientGss;
use super::error::GssError;
use super::initiator::{Established, InitStep, Initiator};
use super::service::GssService;
use super::wire::{RpcGssProcT, MAXSEQ};
use crate::message::{AcceptStat, CallHeader, OpaqueAuth, ReplyBody, ReplyHeader};
use crate::RpcError;

/// Calls a [`GssChannel`] waits for replies to at most; one more is
/// refused (the proxy makes a new connection and context).
pub const MAX_UNANSWERED: usize = 65_536;

/// A context being created by a proxy ([`GssChannelInit::new`]).
pub struct GssChannelInit {
    init: Initiator,
    service: GssService,
}

impl std::fmt::Debug for GssChannelInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GssChannelInit").finish_non_exhaustive()
    }
}

/// What the reply to a context creation call leads to.
#[derive(Debug)]
pub enum GssInitStep {
    /// Send [`GssChannelInit::call`] again and pass its reply.
    Continue(GssChannelInit),
    /// The context is made.
    Done(GssChannel),
}

impl GssChannelInit {
    /// Starts a context for the server `settings` names, with this
    /// process's default GSS-API credentials (with MIT Kerberos the
    /// client keytab `KRB5_CLIENT_KTNAME` or the ticket cache
    /// `KRB5CCNAME`), made with NULL calls to `program`/`version`.
    ///
    /// # Errors
    ///
    /// [`RpcError::Gss`] with [`GssError::Mechanism`] when the GSS-API
    /// has no credentials or does not know the service name.
    pub fn new(settings: &ClientGss, program: u32, version: u32) -> Result<Self, RpcError> {
        let target = settings.target_name()?;
        let service = settings.protection();
        Ok(GssChannelInit {
            init: Initiator::new(&target, service, program, version)?,
            service,
        })
    }

    /// The next context creation call message (no record marking),
    /// with XID `xid`.
    ///
    /// # Errors
    ///
    /// [`RpcError::Encode`] when the mechanism's token does not encode.
    pub fn call(&self, xid: u32) -> Result<Bytes, RpcError> {
        let mut buf = BytesMut::with_capacity(256);
        self.init.next_call()?.write(xid, &mut buf)?;
        Ok(buf.freeze())
    }

    /// Takes the server's reply message to [`GssChannelInit::call`].
    ///
    /// # Errors
    ///
    /// [`RpcError::AuthError`] or another reply status when the call was
    /// not accepted, [`GssError::Refused`] when the server's GSS-API
    /// refused the context, [`GssError::BadVerifier`] when the window's
    /// checksum does not check, [`GssError::Protocol`] when the handshake
    /// does not finish.
    pub fn reply(self, reply: Bytes) -> Result<GssInitStep, RpcError> {
        let service = self.service;
        Ok(
            match self.init.read_reply(reply, xdr_codec::DEFAULT_MAX_DEPTH)? {
                InitStep::Again(init) => GssInitStep::Continue(GssChannelInit { init, service }),
                InitStep::Done(ctx) => GssInitStep::Done(GssChannel {
                    ctx,
                    service,
                    unanswered: Mutex::default(),
                }),
            },
        )
    }
}

/// An established context on a proxy's connection: protects the calls
/// sent on it and opens their replies.
pub struct GssChannel {
    ctx: Established,
    service: GssService,
    /// The sequence number of each call sent, by XID, until its reply.
    unanswered: Mutex<HashMap<u32, u32>>,
}

impl std::fmt::Debug for GssChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GssChannel")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl GssChannel {
    /// The call message `call` (no record marking; its credential and
    /// verifier are replaced) as an RPCSEC_GSS DATA call with the next
    /// sequence number and its arguments sealed.
    ///
    /// # Errors
    ///
    /// [`RpcError::MalformedCall`] when `call` is not a call message;
    /// [`GssError::Protocol`] when the context has used up its sequence
    /// numbers (`MAXSEQ`) or [`MAX_UNANSWERED`] calls wait for replies;
    /// [`GssError::Mechanism`] when a checksum or wrapping fails.
    pub fn protect_call(&self, call: &Bytes) -> Result<Bytes, RpcError> {
        let mut dec = Decoder::new(call.clone());
        let header = CallHeader::decode(&mut dec).map_err(|_| RpcError::MalformedCall)?;
        let args = dec.into_remaining();
        let seq = self.ctx.next_seq.fetch_add(1, Ordering::Relaxed);
        if seq >= MAXSEQ {
            return Err(GssError::Protocol("the context has used up its sequence numbers").into());
        }
        {
            let mut unanswered = self.lock();
            if unanswered.len() >= MAX_UNANSWERED {
                return Err(GssError::Protocol("too many calls without replies").into());
            }
            unanswered.insert(header.xid, seq);
        }
        let data = self
            .ctx
            .data_call(self.service, RpcGssProcT::RpcsecGssData, seq, &args)?;
        let mut buf = BytesMut::with_capacity(args.len() + 256);
        data.write(
            &self.ctx,
            header.xid,
            header.program,
            header.version,
            header.procedure,
            &mut buf,
        )?;
        Ok(buf.freeze())
    }

    /// The call message (no record marking) that destroys the context
    /// (RFC 2203 section 5.4): the NULL procedure of the program and
    /// version the context was made with, credential
    /// RPCSEC_GSS_DESTROY with the next sequence number, XID `xid`. A
    /// proxy sends it before closing a connection it chose to close, so
    /// that the server frees the context at once rather than when it
    /// expires; the reply can be left unread.
    ///
    /// # Errors
    ///
    /// [`GssError::Mechanism`] when the checksum or wrapping fails.
    pub fn destroy_call(&self, xid: u32) -> Result<Bytes, RpcError> {
        let seq = self.ctx.next_seq.fetch_add(1, Ordering::Relaxed);
        let data = self.ctx.data_call(
            self.service,
            RpcGssProcT::RpcsecGssDestroy,
            seq,
            &Bytes::new(),
        )?;
        let mut buf = BytesMut::with_capacity(256);
        data.write(
            &self.ctx,
            xid,
            self.ctx.program,
            self.ctx.version,
            0,
            &mut buf,
        )?;
        Ok(buf.freeze())
    }

    /// The reply message `reply` to a call protected by
    /// [`GssChannel::protect_call`] as a plain reply: its verifier
    /// checked and replaced by AUTH_NONE, its results unsealed. A reply
    /// to an XID this channel did not send, and a denied reply other
    /// than the two below, pass unchanged.
    ///
    /// # Errors
    ///
    /// [`GssError::BadVerifier`] or [`GssError::BadResults`] when the
    /// protection does not check; [`RpcError::AuthError`] with
    /// RPCSEC_GSS_CREDPROBLEM or RPCSEC_GSS_CTXPROBLEM when the server
    /// lost the context (the proxy makes a new one); [`RpcError::Decode`]
    /// when the reply header does not decode.
    pub fn open_reply(&self, reply: Bytes) -> Result<Bytes, RpcError> {
        let Some(xid) = crate::message::peek_xid(&reply) else {
            return Ok(reply);
        };
        let Some(seq) = self.lock().remove(&xid) else {
            return Ok(reply);
        };
        let mut dec = Decoder::new(reply.clone());
        let header = ReplyHeader::decode(&mut dec).map_err(RpcError::Decode)?;
        let stat = match header.body {
            ReplyBody::Accepted { verifier, stat } => {
                self.ctx.check_verifier(seq, &verifier)?;
                stat
            }
            ReplyBody::Denied(crate::message::RejectStat::AuthError(
                s @ (crate::message::AuthStat::RpcsecGssCredProblem
                | crate::message::AuthStat::RpcsecGssCtxProblem),
            )) => return Err(RpcError::AuthError(s)),
            ReplyBody::Denied(_) => return Ok(reply),
        };
        let results = if stat == AcceptStat::Success {
            self.ctx
                .open_results(self.service, seq, dec.into_remaining())?
        } else {
            dec.into_remaining()
        };
        let plain = ReplyHeader {
            xid,
            body: ReplyBody::Accepted {
                verifier: OpaqueAuth::none(),
                stat,
            },
        };
        let mut out = BytesMut::with_capacity(32 + results.len());
        plain.encode_into(&mut out).map_err(RpcError::Encode)?;
        out.extend_from_slice(&results);
        Ok(out.freeze())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, u32>> {
        self.unanswered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
