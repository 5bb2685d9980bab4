//! The initiator's side of one RPCSEC_GSS context, without I/O: the
//! context creation handshake ([`Initiator`], RFC 2203 section 5.2),
//! and the credential, verifier and envelope of each data call and the
//! checks of its reply ([`Established`], section 5.3). The client
//! handle ([`Client::with_gss`](crate::Client::with_gss)) and a proxy's
//! backend connection ([`GssChannel`](super::GssChannel)) both drive it.

use std::sync::atomic::AtomicU32;

use bytes::{BufMut, Bytes, BytesMut};
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::name::Name;
use libgssapi::oid::GSS_MECH_KRB5;
use tokio::sync::Semaphore;
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::error::GssError;
use super::protect::Protection;
use super::service::GssService;
use super::window::DEFAULT_SEQ_WINDOW;
use super::wire::{RpcGssCredT, RpcGssCredVers1T, RpcGssInitRes, RpcGssProcT};
use crate::message::{AcceptStat, AuthFlavor, OpaqueAuth, RejectStat, ReplyBody, ReplyHeader};
use crate::RpcError;

/// GSS-API major status GSS_S_COMPLETE (RFC 2744 section 3.9.1).
const GSS_S_COMPLETE: u32 = 0;
/// GSS-API major status GSS_S_CONTINUE_NEEDED (RFC 2744 section 3.9.1).
const GSS_S_CONTINUE_NEEDED: u32 = 1;
/// Context creation round trips before giving up (Kerberos takes one).
const MAX_INIT_ROUND_TRIPS: usize = 8;

/// A context being created: the next INIT or CONTINUE_INIT call to send.
pub(crate) struct Initiator {
    ctx: ClientCtx,
    token: Bytes,
    handle: Bytes,
    gss_proc: RpcGssProcT,
    service: GssService,
    program: u32,
    version: u32,
    rounds: usize,
}

/// One context creation call (INIT or CONTINUE_INIT) to send.
pub(crate) struct InitCall {
    cred: OpaqueAuth,
    token: Bytes,
    program: u32,
    version: u32,
}

impl InitCall {
    /// Writes the call message with XID `xid` into `buf`.
    pub(crate) fn write(&self, xid: u32, buf: &mut BytesMut) -> Result<(), RpcError> {
        put_header(buf, xid, self.program, self.version, 0, &self.cred)?;
        OpaqueAuth::none()
            .encode_into(buf)
            .map_err(RpcError::Encode)?;
        xdr_codec::Opaque::<{ u32::MAX }>::new(self.token.clone())
            .encode_into(buf)
            .map_err(RpcError::Encode)
    }
}

/// What a reply to context creation leads to.
pub(crate) enum InitStep {
    /// Another round trip ([`Initiator::next_call`] again).
    Again(Initiator),
    /// The server accepted the context.
    Done(Established),
}

impl Initiator {
    /// Starts a context with the default credentials for `target`, to be
    /// made with NULL calls to `program`/`version`.
    pub(crate) fn new(
        target: &Name,
        service: GssService,
        program: u32,
        version: u32,
    ) -> Result<Initiator, RpcError> {
        let target = target.duplicate().map_err(|e| GssError::mechanism(&e))?;
        let mut ctx = ClientCtx::new(
            None,
            target,
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(GSS_MECH_KRB5),
        );
        let token = ctx.step(None, None).map_err(|e| GssError::mechanism(&e))?;
        Ok(Initiator {
            ctx,
            token: Bytes::copy_from_slice(token.as_deref().unwrap_or_default()),
            handle: Bytes::new(),
            gss_proc: RpcGssProcT::RpcsecGssInit,
            service,
            program,
            version,
            rounds: 0,
        })
    }

    /// The next context creation call.
    pub(crate) fn next_call(&self) -> Result<InitCall, RpcError> {
        Ok(InitCall {
            cred: credential(self.gss_proc, 0, self.service, &self.handle)?,
            token: self.token.clone(),
            program: self.program,
            version: self.version,
        })
    }

    /// Takes the server's reply message to the last call.
    pub(crate) fn read_reply(mut self, reply: Bytes, max_depth: u32) -> Result<InitStep, RpcError> {
        self.rounds += 1;
        let (verifier, stat, mut results) = accepted(reply, max_depth)?;
        crate::client::accept_stat_result(stat)?;
        let res = RpcGssInitRes::decode(&mut results).map_err(RpcError::Decode)?;
        results.finish().map_err(RpcError::Decode)?;
        if res.gss_major != GSS_S_COMPLETE && res.gss_major != GSS_S_CONTINUE_NEEDED {
            return Err(GssError::Refused {
                major: res.gss_major,
                minor: res.gss_minor,
            }
            .into());
        }
        self.handle = res.handle.into_bytes();
        if !self.ctx.is_complete() {
            let token = self
                .ctx
                .step(Some(&res.gss_token), None)
                .map_err(|e| GssError::mechanism(&e))?;
            self.token = Bytes::copy_from_slice(token.as_deref().unwrap_or_default());
        }
        if res.gss_major == GSS_S_CONTINUE_NEEDED {
            if self.rounds >= MAX_INIT_ROUND_TRIPS {
                return Err(GssError::Protocol("too many CONTINUE_INIT round trips").into());
            }
            self.gss_proc = RpcGssProcT::RpcsecGssContinueInit;
            return Ok(InitStep::Again(self));
        }
        if !self.ctx.is_complete() || self.handle.is_empty() {
            return Err(GssError::Protocol("the server finished before the mechanism did").into());
        }
        let protection = Protection::new(self.ctx);
        if verifier.flavor != AuthFlavor::RPCSEC_GSS
            || protection
                .verify(&res.seq_window.to_be_bytes(), &verifier.body)
                .is_err()
        {
            return Err(GssError::BadVerifier.into());
        }
        let window = res.seq_window.clamp(1, DEFAULT_SEQ_WINDOW) as usize;
        Ok(InitStep::Done(Established {
            handle: self.handle,
            protection,
            program: self.program,
            version: self.version,
            next_seq: AtomicU32::new(1),
            window: Semaphore::new(window),
        }))
    }
}

/// A context the server accepted.
pub(crate) struct Established {
    handle: Bytes,
    protection: Protection,
    /// The program and version it was made with (its DESTROY goes there).
    pub(crate) program: u32,
    pub(crate) version: u32,
    pub(crate) next_seq: AtomicU32,
    /// One permit per sequence number the server's window takes.
    pub(crate) window: Semaphore,
}

/// The credential and sealed arguments of one call on a context.
pub(crate) struct DataCall {
    cred: OpaqueAuth,
    body: Vec<Bytes>,
}

impl DataCall {
    /// Writes the call message with XID `xid` into `buf`: the header, the
    /// verifier (the checksum of the header up to the credential), then
    /// the sealed arguments.
    pub(crate) fn write(
        &self,
        ctx: &Established,
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        buf: &mut BytesMut,
    ) -> Result<(), RpcError> {
        let start = put_header(buf, xid, program, version, procedure, &self.cred)?;
        let mic = ctx
            .protection
            .mic(&buf[start..])
            .map_err(|e| GssError::mechanism(&e))?;
        OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body: mic,
        }
        .encode_into(buf)
        .map_err(RpcError::Encode)?;
        for piece in &self.body {
            buf.extend_from_slice(piece);
        }
        Ok(())
    }
}

impl Established {
    /// The credential for sequence number `seq` and the arguments sealed
    /// for `service` (DATA calls only; DESTROY has none).
    pub(crate) fn data_call(
        &self,
        service: GssService,
        gss_proc: RpcGssProcT,
        seq: u32,
        args: &Bytes,
    ) -> Result<DataCall, RpcError> {
        let cred = credential(gss_proc, seq, service, &self.handle)?;
        let body = if gss_proc == RpcGssProcT::RpcsecGssData {
            self.protection
                .seal(service, seq, std::slice::from_ref(args))
                .map_err(|e| GssError::mechanism(&e))?
        } else {
            Vec::new()
        };
        Ok(DataCall { cred, body })
    }

    /// Checks a reply's verifier: the checksum of `seq` (section 5.3.3.2).
    pub(crate) fn check_verifier(&self, seq: u32, verifier: &OpaqueAuth) -> Result<(), GssError> {
        if verifier.flavor != AuthFlavor::RPCSEC_GSS
            || self
                .protection
                .verify(&seq.to_be_bytes(), &verifier.body)
                .is_err()
        {
            return Err(GssError::BadVerifier);
        }
        Ok(())
    }

    /// The results of a successful reply, unsealed for `service`.
    pub(crate) fn open_results(
        &self,
        service: GssService,
        seq: u32,
        data: Bytes,
    ) -> Result<Bytes, GssError> {
        self.protection
            .open(service, seq, data)
            .ok_or(GssError::BadResults)
    }
}

/// The credential of a call or control message.
fn credential(
    proc_: RpcGssProcT,
    seq_num: u32,
    service: GssService,
    handle: &Bytes,
) -> Result<OpaqueAuth, RpcError> {
    let cred = RpcGssCredT::Vers1(RpcGssCredVers1T {
        gss_proc: proc_,
        seq_num,
        service: service.into(),
        handle: handle.clone().into(),
    });
    Ok(OpaqueAuth {
        flavor: AuthFlavor::RPCSEC_GSS,
        body: cred.to_xdr_bytes().map_err(RpcError::Encode)?,
    })
}

/// Writes the call header up to and including the credential; returns
/// where it starts in `buf` (the checksum covers `buf[start..]`).
fn put_header(
    buf: &mut BytesMut,
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    cred: &OpaqueAuth,
) -> Result<usize, RpcError> {
    let start = buf.len();
    for word in crate::client::call_words(xid, program, version, procedure) {
        buf.put_u32(word);
    }
    cred.encode_into(buf).map_err(RpcError::Encode)?;
    Ok(start)
}

/// The verifier, status and results of an accepted reply, or the error
/// a denied reply means.
pub(crate) fn accepted(
    reply: Bytes,
    max_depth: u32,
) -> Result<(OpaqueAuth, AcceptStat, Decoder), RpcError> {
    let mut dec = Decoder::new(reply).with_max_depth(max_depth);
    let header = ReplyHeader::decode(&mut dec).map_err(RpcError::Decode)?;
    match header.body {
        ReplyBody::Accepted { verifier, stat } => Ok((verifier, stat, dec)),
        ReplyBody::Denied(RejectStat::RpcMismatch { low, high }) => {
            Err(RpcError::RpcMismatch { low, high })
        }
        ReplyBody::Denied(RejectStat::AuthError(stat)) => Err(RpcError::AuthError(stat)),
    }
}
