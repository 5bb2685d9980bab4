//! The client side of RPCSEC_GSS: [`ClientGss`] settings, and the
//! per-handle session that makes a context on first use, protects each
//! call with it and checks each reply (RFC 2203 sections 5.2 to 5.4).
//!
//! ```text
//! first call on the handle (program P, version V):
//!   NULL to P/V, cred {INIT, handle <>}, verf AUTH_NONE, args: token     section 5.2.2
//!   <- rpc_gss_init_res {handle, major, minor, window, token}            section 5.2.3.1
//!      verf = MIC(window)      (CONTINUE_INIT while the mechanism asks)
//! every call:
//!   cred {DATA, seq, service, handle}, verf = MIC(header up to cred)    section 5.3.1
//!   args sealed for the service                                          section 5.3.2
//!   <- verf = MIC(seq); results sealed the same way                      section 5.3.3.2
//! AUTH_ERROR RPCSEC_GSS_CREDPROBLEM / CTXPROBLEM: a new context, the
//! call sent once more (section 5.3.3.3).
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE};
use tokio::sync::{Mutex, Semaphore};
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::error::GssError;
use super::protect::Protection;
use super::service::GssService;
use super::window::DEFAULT_SEQ_WINDOW;
use super::wire::{RpcGssCredT, RpcGssCredVers1T, RpcGssInitRes, RpcGssProcT, MAXSEQ};
use crate::message::{
    AcceptStat, AuthFlavor, AuthStat, OpaqueAuth, RejectStat, ReplyBody, ReplyHeader,
};
use crate::{Client, RpcError};

/// GSS-API major status GSS_S_COMPLETE (RFC 2744 section 3.9.1).
const GSS_S_COMPLETE: u32 = 0;
/// GSS-API major status GSS_S_CONTINUE_NEEDED (RFC 2744 section 3.9.1).
const GSS_S_CONTINUE_NEEDED: u32 = 1;
/// Context creation round trips before giving up (Kerberos takes one).
const MAX_INIT_ROUND_TRIPS: usize = 8;

/// RPCSEC_GSS settings for a client handle
/// ([`Client::with_gss`](crate::Client::with_gss)): the server's
/// host-based service name and the protection of calls. The client's
/// credentials are the caller's default GSS-API credentials (with
/// Kerberos, the ticket cache `KRB5CCNAME` names, filled by `kinit`).
///
/// ```no_run
/// # async fn demo() -> Result<(), rpc_runtime::RpcError> {
/// use rpc_runtime::gss::{ClientGss, GssService};
/// let plain = rpc_runtime::Client::connect_tcp("127.0.0.1:4000").await?;
/// let client = plain.with_gss(&ClientGss::new("datastore@localhost").service(GssService::Privacy))?;
/// let () = client.call(0x2000_0001, 1, 0, &()).await?; // makes the context, then NULL
/// client.destroy_gss_context().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientGss {
    target: String,
    service: GssService,
}

impl ClientGss {
    /// Settings for the server whose GSS-API host-based service name is
    /// `target` (`SERVICE@HOST`, for example `nfs@server.example`; with
    /// Kerberos, the principal `SERVICE/HOST`), with integrity
    /// protection ([`GssService::Integrity`]).
    pub fn new(target: impl Into<String>) -> Self {
        ClientGss {
            target: target.into(),
            service: GssService::Integrity,
        }
    }

    /// Sets the protection of calls (default [`GssService::Integrity`]).
    #[must_use]
    pub fn service(mut self, service: GssService) -> Self {
        self.service = service;
        self
    }
}

/// The RPCSEC_GSS state of a client handle and the handles cloned from
/// it: the target and the current context, made on first use.
pub(crate) struct GssSession {
    target: Name,
    service: GssService,
    current: Mutex<Option<Arc<Established>>>,
}

impl std::fmt::Debug for GssSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GssSession")
            .field("target", &self.target.to_string())
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// A context the server accepted.
struct Established {
    handle: Bytes,
    protection: Protection,
    /// The program and version it was made with (its DESTROY goes there).
    program: u32,
    version: u32,
    next_seq: AtomicU32,
    /// One permit per sequence number the server's window takes.
    window: Semaphore,
}

impl GssSession {
    pub(crate) fn new(settings: &ClientGss) -> Result<Self, GssError> {
        let target = Name::new(settings.target.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|e| GssError::mechanism(&e))?;
        Ok(GssSession {
            target,
            service: settings.service,
            current: Mutex::new(None),
        })
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

impl Client {
    /// Makes a call protected by RPCSEC_GSS, making the context first if
    /// there is none, and once more with a new context when the server
    /// says it lost this one.
    pub(crate) async fn gss_call(
        &self,
        session: &GssSession,
        program: u32,
        version: u32,
        procedure: u32,
        args: Bytes,
    ) -> Result<Decoder, RpcError> {
        let mut retried = false;
        loop {
            let ctx = self.gss_context(session, program, version).await?;
            match self
                .gss_data_call(
                    session,
                    &ctx,
                    RpcGssProcT::RpcsecGssData,
                    program,
                    version,
                    procedure,
                    &args,
                )
                .await
            {
                Err(RpcError::AuthError(
                    AuthStat::RpcsecGssCredProblem | AuthStat::RpcsecGssCtxProblem,
                )) if !retried => {
                    tracing::debug!("the server dropped the RPCSEC_GSS context; making a new one");
                    retried = true;
                    let mut current = session.current.lock().await;
                    if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &ctx)) {
                        *current = None;
                    }
                }
                other => return other,
            }
        }
    }

    /// Sends RPCSEC_GSS_DESTROY for this handle's context, if it has one
    /// (RFC 2203 section 5.4); later calls make a new context. Does
    /// nothing on a handle without RPCSEC_GSS.
    ///
    /// # Errors
    ///
    /// As [`Client::call`]; the context is forgotten on this side
    /// whatever the server answers.
    pub async fn destroy_gss_context(&self) -> Result<(), RpcError> {
        let Some(session) = self.gss_session() else {
            return Ok(());
        };
        let Some(ctx) = session.current.lock().await.take() else {
            return Ok(());
        };
        let (program, version) = (ctx.program, ctx.version);
        self.gss_data_call(
            session,
            &ctx,
            RpcGssProcT::RpcsecGssDestroy,
            program,
            version,
            0,
            &Bytes::new(),
        )
        .await
        .map(drop)
    }

    /// The current context, made now if there is none or the last one
    /// has used up its sequence numbers.
    async fn gss_context(
        &self,
        session: &GssSession,
        program: u32,
        version: u32,
    ) -> Result<Arc<Established>, RpcError> {
        let mut current = session.current.lock().await;
        if let Some(ctx) = current.as_ref() {
            if ctx.next_seq.load(Ordering::Relaxed) < MAXSEQ {
                return Ok(Arc::clone(ctx));
            }
        }
        let ctx = Arc::new(self.gss_init(session, program, version).await?);
        *current = Some(Arc::clone(&ctx));
        Ok(ctx)
    }

    /// Context creation (RFC 2203 section 5.2).
    async fn gss_init(
        &self,
        session: &GssSession,
        program: u32,
        version: u32,
    ) -> Result<Established, RpcError> {
        let target = session
            .target
            .duplicate()
            .map_err(|e| GssError::mechanism(&e))?;
        let mut ctx = ClientCtx::new(
            None,
            target,
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(GSS_MECH_KRB5),
        );
        let mut token = ctx.step(None, None).map_err(|e| GssError::mechanism(&e))?;
        let mut handle = Bytes::new();
        let mut gss_proc = RpcGssProcT::RpcsecGssInit;
        for _ in 0..MAX_INIT_ROUND_TRIPS {
            let cred = credential(gss_proc, 0, session.service, &handle)?;
            let arg = Bytes::copy_from_slice(token.as_deref().unwrap_or_default());
            let reply = self
                .round_trip_built(|xid, buf| {
                    put_header(buf, xid, program, version, 0, &cred)?;
                    OpaqueAuth::none()
                        .encode_into(buf)
                        .map_err(RpcError::Encode)?;
                    xdr_codec::Opaque::<{ u32::MAX }>::new(arg)
                        .encode_into(buf)
                        .map_err(RpcError::Encode)
                })
                .await?;
            let (verifier, stat, mut results) = accepted(reply, self.max_decode_depth())?;
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
            handle = res.handle.into_bytes();
            if !ctx.is_complete() {
                token = ctx
                    .step(Some(&res.gss_token), None)
                    .map_err(|e| GssError::mechanism(&e))?;
            }
            if res.gss_major == GSS_S_CONTINUE_NEEDED {
                gss_proc = RpcGssProcT::RpcsecGssContinueInit;
                continue;
            }
            if !ctx.is_complete() || handle.is_empty() {
                return Err(
                    GssError::Protocol("the server finished before the mechanism did").into(),
                );
            }
            let protection = Protection::new(ctx);
            if verifier.flavor != AuthFlavor::RPCSEC_GSS
                || protection
                    .verify(&res.seq_window.to_be_bytes(), &verifier.body)
                    .is_err()
            {
                return Err(GssError::BadVerifier.into());
            }
            let window = res.seq_window.clamp(1, DEFAULT_SEQ_WINDOW) as usize;
            return Ok(Established {
                handle,
                protection,
                program,
                version,
                next_seq: AtomicU32::new(1),
                window: Semaphore::new(window),
            });
        }
        Err(GssError::Protocol("too many CONTINUE_INIT round trips").into())
    }

    /// One data (or DESTROY) call on `ctx`; the decoder holds the
    /// unsealed results.
    #[allow(clippy::too_many_arguments)]
    async fn gss_data_call(
        &self,
        session: &GssSession,
        ctx: &Established,
        gss_proc: RpcGssProcT,
        program: u32,
        version: u32,
        procedure: u32,
        args: &Bytes,
    ) -> Result<Decoder, RpcError> {
        // The window semaphore is never closed.
        let _slot = ctx
            .window
            .acquire()
            .await
            .map_err(|_| GssError::Protocol("context closed"))?;
        let seq = ctx.next_seq.fetch_add(1, Ordering::Relaxed);
        let service = session.service;
        let cred = credential(gss_proc, seq, service, &ctx.handle)?;
        let body = if gss_proc == RpcGssProcT::RpcsecGssData {
            ctx.protection
                .seal(service, seq, std::slice::from_ref(args))
                .map_err(|e| GssError::mechanism(&e))?
        } else {
            Vec::new()
        };
        let reply = self
            .round_trip_built(|xid, buf| {
                let start = put_header(buf, xid, program, version, procedure, &cred)?;
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
                for piece in &body {
                    buf.extend_from_slice(piece);
                }
                Ok(())
            })
            .await?;
        let (verifier, stat, results) = accepted(reply, self.max_decode_depth())?;
        if verifier.flavor != AuthFlavor::RPCSEC_GSS
            || ctx
                .protection
                .verify(&seq.to_be_bytes(), &verifier.body)
                .is_err()
        {
            return Err(GssError::BadVerifier.into());
        }
        crate::client::accept_stat_result(stat)?;
        if gss_proc != RpcGssProcT::RpcsecGssData {
            return Ok(results);
        }
        let data = ctx
            .protection
            .open(service, seq, results.into_remaining())
            .ok_or(GssError::BadResults)?;
        Ok(Decoder::new(data).with_max_depth(self.max_decode_depth()))
    }
}

/// The verifier, status and results of an accepted reply, or the error
/// a denied reply means.
fn accepted(reply: Bytes, max_depth: u32) -> Result<(OpaqueAuth, AcceptStat, Decoder), RpcError> {
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
