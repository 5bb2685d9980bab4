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

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use libgssapi::name::Name;
use libgssapi::oid::GSS_NT_HOSTBASED_SERVICE;
use tokio::sync::Mutex;
use xdr_codec::Decoder;

use super::error::GssError;
use super::initiator::{accepted, Established, InitStep, Initiator};
use super::service::GssService;
use super::wire::{RpcGssProcT, MAXSEQ};
use crate::message::AuthStat;
use crate::{Client, RpcError};

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

    /// The protection of calls.
    pub(crate) fn protection(&self) -> GssService {
        self.service
    }

    /// The target as a GSS-API host-based service name.
    pub(crate) fn target_name(&self) -> Result<Name, GssError> {
        Name::new(self.target.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|e| GssError::mechanism(&e))
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

impl GssSession {
    pub(crate) fn new(settings: &ClientGss) -> Result<Self, GssError> {
        Ok(GssSession {
            target: settings.target_name()?,
            service: settings.service,
            current: Mutex::new(None),
        })
    }
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
        let mut init = Initiator::new(&session.target, session.service, program, version)?;
        loop {
            let call = init.next_call()?;
            let reply = self
                .round_trip_built(|xid, buf| call.write(xid, buf))
                .await?;
            match init.read_reply(reply, self.max_decode_depth())? {
                InitStep::Again(next) => init = next,
                InitStep::Done(ctx) => return Ok(ctx),
            }
        }
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
        let call = ctx.data_call(service, gss_proc, seq, args)?;
        let reply = self
            .round_trip_built(|xid, buf| call.write(ctx, xid, program, version, procedure, buf))
            .await?;
        let (verifier, stat, results) = accepted(reply, self.max_decode_depth())?;
        ctx.check_verifier(seq, &verifier)?;
        crate::client::accept_stat_result(stat)?;
        if gss_proc != RpcGssProcT::RpcsecGssData {
            return Ok(results);
        }
        let data = ctx.open_results(service, seq, results.into_remaining())?;
        Ok(Decoder::new(data).with_max_depth(self.max_decode_depth()))
    }
}
