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

use bytes::Bytes;
use libgssapi::context::{SecurityContext, ServerCtx};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{OidSet, GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE};
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::caller::GssCaller;
use super::contexts::{ContextTable, Entry, OpenContext, DEFAULT_MAX_CONTEXTS};
use super::error::GssError;
use super::protect::Protection;
use super::service::GssService;
use super::window::{SeqWindow, DEFAULT_SEQ_WINDOW};
use super::wire::{RpcGssCredT, RpcGssInitRes, RpcGssProcT, MAXSEQ};
use crate::message::{AcceptStat, AuthFlavor, AuthStat, OpaqueAuth};

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
    /// Send an accepted reply with this verifier, status and results.
    Reply {
        verifier: OpaqueAuth,
        stat: AcceptStat,
        results: Bytes,
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
/// checksum of the sequence number) and its results' envelope.
#[derive(Debug)]
pub(crate) struct ReplySeal {
    ctx: Arc<OpenContext>,
    seq: u32,
    service: GssService,
}

impl ReplySeal {
    /// The reply verifier, MIC(seq_num) (RFC 2203 section 5.3.3.2);
    /// `None` if GSS_GetMIC fails (section 5.3.3.4.1: then
    /// RPCSEC_GSS_CTXPROBLEM).
    pub(crate) fn verifier(&self) -> Option<OpaqueAuth> {
        let body = self.ctx.protection.mic_of_u32(self.seq).ok()?;
        Some(OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body,
        })
    }

    /// The results in the call's envelope; `None` if GSS_Wrap or
    /// GSS_GetMIC fails (section 5.3.3.4.4: then SYSTEM_ERR).
    pub(crate) fn results(&self, pieces: &[Bytes]) -> Option<Vec<Bytes>> {
        self.ctx
            .protection
            .seal(self.service, self.seq, pieces)
            .ok()
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

    /// Decides what to do with a call whose credential is RPCSEC_GSS.
    /// `header` is the call from its XID to the end of the credential
    /// (what the verifier checksums), `args` the rest after the verifier.
    pub(crate) fn judge(
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
            return init_reply(OpaqueAuth::none(), init_res(handle, 1, 0, out));
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
        init_reply(verifier, init_res(handle, 0, self.seq_window, out))
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

fn init_reply(verifier: OpaqueAuth, res: RpcGssInitRes) -> Verdict {
    match res.to_xdr_bytes() {
        Ok(results) => Verdict::Reply {
            verifier,
            stat: AcceptStat::Success,
            results,
        },
        Err(_) => garbage_args(),
    }
}

fn garbage_args() -> Verdict {
    Verdict::Reply {
        verifier: OpaqueAuth::none(),
        stat: AcceptStat::GarbageArgs,
        results: Bytes::new(),
    }
}

fn sealed_reply(seal: &ReplySeal, stat: AcceptStat, results: &[Bytes]) -> Verdict {
    let Some(verifier) = seal.verifier() else {
        return Verdict::Deny(AuthStat::RpcsecGssCtxProblem);
    };
    let results = if stat == AcceptStat::Success {
        match seal.results(results) {
            Some(pieces) => pieces.concat().into(),
            None => {
                return Verdict::Reply {
                    verifier,
                    stat: AcceptStat::SystemErr,
                    results: Bytes::new(),
                }
            }
        }
    } else {
        Bytes::new()
    };
    Verdict::Reply {
        verifier,
        stat,
        results,
    }
}
