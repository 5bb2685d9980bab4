//! The server side of RPCSEC_GSS: [`ServerGss`] settings and the
//! handling of every call that carries an RPCSEC_GSS credential (RFC
//! 2203 sections 5.2.3, 5.3.3 and 5.4).
//!
//! | call                                     | answer                                   |
//! |------------------------------------------|------------------------------------------|
//! | credential does not decode, not version 1| AUTH_ERROR AUTH_BADCRED                  |
//! | INIT / CONTINUE_INIT, mechanism refuses  | SUCCESS, `rpc_gss_init_res` with its `gss_major`/`gss_minor` |
//! | INIT / CONTINUE_INIT, accepted           | SUCCESS, handle and window, verifier MIC(window) |
//! | DATA / DESTROY, unknown handle           | AUTH_ERROR RPCSEC_GSS_CREDPROBLEM        |
//! | DATA / DESTROY, header checksum fails    | AUTH_ERROR RPCSEC_GSS_CREDPROBLEM        |
//! | `seq_num` at or above MAXSEQ             | AUTH_ERROR RPCSEC_GSS_CTXPROBLEM, context dropped |
//! | replayed or below the window             | no reply (the call is dropped)           |
//! | service below [`ServerGss::required`]    | AUTH_ERROR AUTH_TOOWEAK                  |
//! | integrity checksum / privacy unwrap fails| GARBAGE_ARGS                             |
//! | DESTROY                                  | SUCCESS, context dropped                 |
//! | DATA                                     | the handler runs; its reply carries MIC(seq_num) and sealed results |

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use libgssapi::context::{SecurityContext, ServerCtx};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{OidSet, GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE};
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::caller::GssCaller;
use super::contexts::{ContextTable, Entry, OpenContext, DEFAULT_MAX_CONTEXTS};
use super::error::GssError;
use super::protect::Protection;
use super::proxy::GssRefusal;
use super::service::GssService;
use super::window::{SeqWindow, DEFAULT_SEQ_WINDOW};
use super::wire::{RpcGssCredT, RpcGssInitRes, RpcGssProcT, MAXSEQ};
use crate::message::{
    AcceptStat, AuthFlavor, AuthStat, CallHeader, OpaqueAuth, RejectStat, ReplyBody, ReplyHeader,
};

/// RPCSEC_GSS settings of a server
/// ([`ServerBuilder::gss`](crate::ServerBuilder::gss)): the acceptor
/// credential, the minimum protection, the context table's size.
///
/// ```no_run
/// # fn demo(dispatcher: impl rpc_runtime::server::Dispatch) -> Result<(), rpc_runtime::gss::GssError> {
/// use rpc_runtime::gss::{GssService, ServerGss};
/// // The key of datastore/localhost@REALM comes from the keytab KRB5_KTNAME names.
/// let gss = ServerGss::new(Some("datastore@localhost"))?.required(GssService::Integrity);
/// let server = rpc_runtime::Server::builder().register(dispatcher).gss(gss).build();
/// # Ok(()) }
/// ```
pub struct ServerGss {
    cred: Cred,
    required: Option<GssService>,
    seq_window: u32,
    contexts: ContextTable,
    stats: GssStats,
}

impl std::fmt::Debug for ServerGss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerGss")
            .field("required", &self.required)
            .field("seq_window", &self.seq_window)
            .field("contexts", &self.contexts.len())
            .finish_non_exhaustive()
    }
}

/// What a server's RPCSEC_GSS side did so far ([`ServerGss::stats`]).
#[derive(Debug, Default)]
pub struct GssStats {
    contexts_created: AtomicU64,
    contexts_evicted: AtomicU64,
    creations_refused: AtomicU64,
    calls_dropped: AtomicU64,
    checks_failed: AtomicU64,
}

impl GssStats {
    /// Contexts established.
    pub fn contexts_created(&self) -> u64 {
        self.contexts_created.load(Ordering::Relaxed)
    }
    /// Contexts dropped because the table was full
    /// ([`ServerGss::max_contexts`]).
    pub fn contexts_evicted(&self) -> u64 {
        self.contexts_evicted.load(Ordering::Relaxed)
    }
    /// Context creations the GSS-API refused (bad or missing ticket,
    /// wrong service principal).
    pub fn creations_refused(&self) -> u64 {
        self.creations_refused.load(Ordering::Relaxed)
    }
    /// Calls dropped without a reply: replayed sequence numbers and
    /// sequence numbers below the window.
    pub fn calls_dropped(&self) -> u64 {
        self.calls_dropped.load(Ordering::Relaxed)
    }
    /// Calls refused because a checksum did not check (the header's
    /// verifier, or the integrity or privacy envelope of the arguments).
    pub fn checks_failed(&self) -> u64 {
        self.checks_failed.load(Ordering::Relaxed)
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What to do with a call that carries an RPCSEC_GSS credential.
pub(crate) enum Verdict {
    /// Send an accepted reply with this verifier, status and results;
    /// `refusal` says why when it refuses the call.
    Reply {
        verifier: OpaqueAuth,
        stat: AcceptStat,
        results: Bytes,
        refusal: Option<GssRefusal>,
    },
    /// Send AUTH_ERROR with this status.
    Deny(AuthStat),
    /// Send nothing.
    Drop,
    /// Run the handler with these arguments; seal its reply.
    Run {
        caller: GssCaller,
        args: Bytes,
        seal: ReplySeal,
    },
}

/// How the reply to a data call is protected: its verifier (the
/// checksum of the sequence number) and its results' envelope. A proxy
/// gets one with each call it forwards ([`GssForward::into_seal`](super::GssForward::into_seal)).
#[derive(Debug)]
pub struct ReplySeal {
    ctx: Arc<OpenContext>,
    seq: u32,
    service: GssService,
}

impl ReplySeal {
    /// The reply verifier, MIC(seq_num) (RFC 2203 section 5.3.3.2);
    /// `None` if GSS_GetMIC fails (section 5.3.3.4.1: then
    /// RPCSEC_GSS_CTXPROBLEM).
    fn verifier(&self) -> Option<OpaqueAuth> {
        let body = self.ctx.protection.mic_of_u32(self.seq).ok()?;
        Some(OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body,
        })
    }

    /// The results in the call's envelope; `None` if GSS_Wrap or
    /// GSS_GetMIC fails (section 5.3.3.4.4: then SYSTEM_ERR).
    fn results(&self, pieces: &[Bytes]) -> Option<Vec<Bytes>> {
        self.ctx
            .protection
            .seal(self.service, self.seq, pieces)
            .ok()
    }

    /// The header and results of an accepted reply with status `stat`
    /// and plain `results`, protected (RFC 2203 section 5.3.3.2): the
    /// verifier MIC(seq_num) and, for SUCCESS, the results in the
    /// call's envelope. A failed GSS_GetMIC gives AUTH_ERROR
    /// RPCSEC_GSS_CTXPROBLEM, a failed GSS_Wrap SYSTEM_ERR (section
    /// 5.3.3.4); other statuses keep their results.
    pub(crate) fn seal_accepted(
        &self,
        xid: u32,
        stat: AcceptStat,
        results: &[Bytes],
    ) -> (ReplyHeader, Vec<Bytes>) {
        let Some(verifier) = self.verifier() else {
            let denied = RejectStat::AuthError(AuthStat::RpcsecGssCtxProblem);
            return (ReplyHeader::denied(xid, denied), Vec::new());
        };
        let (stat, results) = match stat {
            AcceptStat::Success => match self.results(results) {
                Some(pieces) => (stat, pieces),
                None => (AcceptStat::SystemErr, Vec::new()),
            },
            _ => (stat, results.to_vec()),
        };
        let body = ReplyBody::Accepted { verifier, stat };
        (ReplyHeader { xid, body }, results)
    }

    /// The reply message `reply` (a plain reply from the server behind
    /// a proxy, no record marking) as the RPCSEC_GSS client expects it:
    /// an accepted reply gets the verifier and its results the call's
    /// envelope; a denied reply, or one that does not decode, is
    /// returned as it is.
    pub fn seal_reply(&self, reply: Bytes) -> Bytes {
        let mut dec = Decoder::new(reply.clone());
        let Ok(header) = ReplyHeader::decode(&mut dec) else {
            return reply;
        };
        let ReplyBody::Accepted { stat, .. } = header.body else {
            return reply;
        };
        let (header, pieces) = self.seal_accepted(header.xid, stat, &[dec.into_remaining()]);
        let len = pieces.iter().map(Bytes::len).sum::<usize>();
        let mut out = BytesMut::with_capacity(64 + len);
        if header.encode_into(&mut out).is_err() {
            return reply;
        }
        for p in &pieces {
            out.extend_from_slice(p);
        }
        out.freeze()
    }
}

impl ServerGss {
    /// Settings that accept contexts for the host-based service name
    /// `service` (`SERVICE@HOST`, for example `nfs@server.example`; with
    /// Kerberos the key of `SERVICE/HOST@REALM` must be in the keytab,
    /// which `KRB5_KTNAME` names, default `/etc/krb5.keytab`), or for
    /// any key of the keytab with `None`.
    ///
    /// # Errors
    ///
    /// [`GssError::Mechanism`] when the name does not import or the
    /// keytab holds no key for it.
    pub fn new(service: Option<&str>) -> Result<Self, GssError> {
        let mech = || -> Result<OidSet, libgssapi::error::Error> {
            let mut set = OidSet::new();
            set.add(GSS_MECH_KRB5)?;
            Ok(set)
        };
        let mechs = mech().map_err(|e| GssError::mechanism(&e))?;
        let name = service
            .map(|s| Name::new(s.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE)))
            .transpose()
            .map_err(|e| GssError::mechanism(&e))?;
        let cred = Cred::acquire(name.as_ref(), None, CredUsage::Accept, Some(&mechs))
            .map_err(|e| GssError::mechanism(&e))?;
        Ok(ServerGss {
            cred,
            required: None,
            seq_window: DEFAULT_SEQ_WINDOW,
            contexts: ContextTable::new(DEFAULT_MAX_CONTEXTS),
            stats: GssStats::default(),
        })
    }

    /// Refuses every call not protected by RPCSEC_GSS with at least
    /// `service` (AUTH_NONE and AUTH_SYS calls included) with AUTH_ERROR
    /// AUTH_TOOWEAK (RFC 5531 section 9: "rejected for security
    /// reasons"). Default: no minimum, other flavors served as before.
    #[must_use]
    pub fn required(mut self, service: GssService) -> Self {
        self.required = Some(service);
        self
    }

    /// Sets how many contexts the server keeps at once (default
    /// [`DEFAULT_MAX_CONTEXTS`], 1,024; at least 1). Creating one more
    /// drops the oldest; its client is answered
    /// RPCSEC_GSS_CREDPROBLEM and makes a new one. Counted by
    /// [`GssStats::contexts_evicted`].
    #[must_use]
    pub fn max_contexts(mut self, max: usize) -> Self {
        self.contexts = ContextTable::new(max);
        self
    }

    /// What the RPCSEC_GSS side did so far.
    pub fn stats(&self) -> &GssStats {
        &self.stats
    }

    /// True when calls without RPCSEC_GSS are refused.
    pub(crate) fn refuses_other_flavors(&self) -> bool {
        self.required.is_some()
    }

    /// The number of contexts held (established or being created).
    pub fn contexts_open(&self) -> usize {
        self.contexts.len()
    }

    /// Decides what to do with the call `record` whose decoded header
    /// `header` has an RPCSEC_GSS credential; `args` follow the header.
    pub(crate) fn judge_record(&self, record: &[u8], header: &CallHeader, args: Bytes) -> Verdict {
        // The verifier checksums the header from the XID to the end of
        // the credential (RFC 2203 section 5.3.1).
        let cred_len = header.credentials.body.len();
        let cred_end = 32 + cred_len + xdr_codec::padding(cred_len);
        self.judge(
            &record[..cred_end],
            &header.credentials,
            &header.verifier,
            header.procedure,
            args,
        )
    }

    /// Decides what to do with a call whose credential is RPCSEC_GSS.
    /// `header` is the call from its XID to the end of the credential
    /// (what the verifier checksums), `args` the rest after the verifier.
    fn judge(
        &self,
        header: &[u8],
        cred: &OpaqueAuth,
        verifier: &OpaqueAuth,
        procedure: u32,
        args: Bytes,
    ) -> Verdict {
        let Ok(RpcGssCredT::Vers1(cred)) = RpcGssCredT::from_xdr_bytes(cred.body.clone()) else {
            return Verdict::Deny(AuthStat::BadCred);
        };
        let service = GssService::from(cred.service);
        match cred.gss_proc {
            RpcGssProcT::RpcsecGssInit | RpcGssProcT::RpcsecGssContinueInit if procedure != 0 => {
                Verdict::Deny(AuthStat::BadCred)
            }
            RpcGssProcT::RpcsecGssInit => self.create(None, args),
            RpcGssProcT::RpcsecGssContinueInit => self.create(Some(&cred.handle), args),
            RpcGssProcT::RpcsecGssData | RpcGssProcT::RpcsecGssDestroy => {
                let Some(entry) = self.contexts.get(&cred.handle) else {
                    return Verdict::Deny(AuthStat::RpcsecGssCredProblem);
                };
                let Entry::Open(ctx) = &*entry else {
                    return Verdict::Deny(AuthStat::RpcsecGssCredProblem);
                };
                if verifier.flavor != AuthFlavor::RPCSEC_GSS
                    || ctx.protection.verify(header, &verifier.body).is_err()
                {
                    bump(&self.stats.checks_failed);
                    return Verdict::Deny(AuthStat::RpcsecGssCredProblem);
                }
                if cred.seq_num >= MAXSEQ {
                    self.contexts.remove(&cred.handle);
                    return Verdict::Deny(AuthStat::RpcsecGssCtxProblem);
                }
                let fresh = ctx
                    .window
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .accept(cred.seq_num);
                if !fresh {
                    bump(&self.stats.calls_dropped);
                    return Verdict::Drop;
                }
                if self.required.is_some_and(|min| service < min) {
                    return Verdict::Deny(AuthStat::TooWeak);
                }
                let seal = ReplySeal {
                    ctx: Arc::clone(ctx),
                    seq: cred.seq_num,
                    service,
                };
                if cred.gss_proc == RpcGssProcT::RpcsecGssDestroy {
                    self.contexts.remove(&cred.handle);
                    return sealed_reply(&seal, AcceptStat::Success, &[]);
                }
                match ctx.protection.open(service, cred.seq_num, args) {
                    Some(args) => Verdict::Run {
                        caller: GssCaller::new(Arc::clone(&ctx.principal), service),
                        args,
                        seal,
                    },
                    None => {
                        bump(&self.stats.checks_failed);
                        sealed_reply(&seal, AcceptStat::GarbageArgs, &[])
                    }
                }
            }
        }
    }

    /// INIT (`handle` `None`) or CONTINUE_INIT: one step of the
    /// mechanism (RFC 2203 sections 5.2.2 and 5.2.3).
    fn create(&self, handle: Option<&[u8]>, args: Bytes) -> Verdict {
        let mut dec = Decoder::new(args);
        let token = match xdr_codec::Opaque::<{ u32::MAX }>::decode(&mut dec) {
            Ok(t) if dec.finish().is_ok() => t,
            _ => return garbage_args(),
        };
        let mut ctx = match handle {
            None => ServerCtx::new(Some(self.cred.clone())),
            Some(h) => {
                let pending = self.contexts.get(h);
                let taken = match pending.as_deref() {
                    Some(Entry::Creating(slot)) => {
                        slot.lock().unwrap_or_else(|p| p.into_inner()).take()
                    }
                    _ => None,
                };
                match taken {
                    Some(ctx) => ctx,
                    None => return Verdict::Deny(AuthStat::RpcsecGssCredProblem),
                }
            }
        };
        let out = match ctx.step(&token, None) {
            Ok(out) => out,
            Err(e) => {
                bump(&self.stats.creations_refused);
                tracing::debug!(error = %e, "RPCSEC_GSS context creation refused");
                if let Some(h) = handle {
                    self.contexts.remove(h);
                }
                return init_reply(
                    OpaqueAuth::none(),
                    Some(GssRefusal::CreationRefused),
                    RpcGssInitRes {
                        handle: Bytes::new().into(),
                        gss_major: e.major.bits(),
                        gss_minor: e.minor,
                        seq_window: 0,
                        gss_token: Bytes::new().into(),
                    },
                );
            }
        };
        let out = out.map(|b| Bytes::copy_from_slice(&b)).unwrap_or_default();
        if !ctx.is_complete() {
            let handle = match handle {
                Some(h) => {
                    let h = Bytes::copy_from_slice(h);
                    self.contexts
                        .replace(&h, Entry::Creating(Mutex::new(Some(ctx))));
                    h
                }
                None => self.insert(Entry::Creating(Mutex::new(Some(ctx)))),
            };
            return init_reply(OpaqueAuth::none(), None, init_res(handle, 1, 0, out));
        }
        let principal: Arc<str> = match ctx.source_name() {
            Ok(name) => Arc::from(name.to_string()),
            Err(e) => {
                tracing::debug!(error = %e, "RPCSEC_GSS context without a source name");
                return Verdict::Deny(AuthStat::RpcsecGssCtxProblem);
            }
        };
        let protection = Protection::new(ctx);
        let Ok(mic) = protection.mic_of_u32(self.seq_window) else {
            return Verdict::Deny(AuthStat::RpcsecGssCtxProblem);
        };
        let open = Entry::Open(Arc::new(OpenContext {
            protection,
            window: Mutex::new(SeqWindow::new(self.seq_window)),
            principal,
        }));
        let handle = match handle {
            Some(h) => {
                let h = Bytes::copy_from_slice(h);
                self.contexts.replace(&h, open);
                h
            }
            None => self.insert(open),
        };
        bump(&self.stats.contexts_created);
        let verifier = OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body: mic,
        };
        init_reply(verifier, None, init_res(handle, 0, self.seq_window, out))
    }

    fn insert(&self, entry: Entry) -> Bytes {
        let (handle, evicted) = self.contexts.insert(entry);
        if evicted {
            bump(&self.stats.contexts_evicted);
            tracing::debug!("RPCSEC_GSS context table full; dropped the oldest context");
        }
        handle
    }
}

fn init_res(handle: Bytes, gss_major: u32, seq_window: u32, token: Bytes) -> RpcGssInitRes {
    RpcGssInitRes {
        handle: handle.into(),
        gss_major,
        gss_minor: 0,
        seq_window,
        gss_token: token.into(),
    }
}

fn init_reply(verifier: OpaqueAuth, refusal: Option<GssRefusal>, res: RpcGssInitRes) -> Verdict {
    match res.to_xdr_bytes() {
        Ok(results) => Verdict::Reply {
            verifier,
            stat: AcceptStat::Success,
            results,
            refusal,
        },
        Err(_) => garbage_args(),
    }
}

fn garbage_args() -> Verdict {
    Verdict::Reply {
        verifier: OpaqueAuth::none(),
        stat: AcceptStat::GarbageArgs,
        results: Bytes::new(),
        refusal: Some(GssRefusal::GarbageArgs),
    }
}

fn sealed_reply(seal: &ReplySeal, stat: AcceptStat, results: &[Bytes]) -> Verdict {
    let (header, pieces) = seal.seal_accepted(0, stat, results);
    match header.body {
        ReplyBody::Accepted { verifier, stat } => Verdict::Reply {
            verifier,
            stat,
            results: pieces.concat().into(),
            refusal: (stat == AcceptStat::GarbageArgs).then_some(GssRefusal::GarbageArgs),
        },
        ReplyBody::Denied(RejectStat::AuthError(stat)) => Verdict::Deny(stat),
        ReplyBody::Denied(_) => Verdict::Deny(AuthStat::RpcsecGssCtxProblem),
    }
}
