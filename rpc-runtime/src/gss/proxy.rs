//! RPCSEC_GSS ended in front of another server: a proxy (the broker)
//! checks each call record with [`ServerGss::gate`], sends the plain
//! call on with credentials of its own ([`GssForward::plain_call`]) and
//! protects the plain reply for its client ([`ReplySeal::seal_reply`]).
//!
//! ```text
//! client --RPCSEC_GSS--> proxy: gate() --plain call--> server
//! client <--RPCSEC_GSS-- proxy: seal_reply() <--plain reply-- server
//! ```
//!
//! Context creation and destruction are answered by the proxy
//! ([`GssGate::Answer`]); the checks and answers are those of a server
//! (see the table in [`ServerGss`]).

use bytes::{Bytes, BytesMut};
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::caller::GssCaller;
use super::server::{ReplySeal, ServerGss, Verdict};
use crate::message::{
    AcceptStat, AuthFlavor, AuthStat, CallHeader, OpaqueAuth, RejectStat, ReplyBody, ReplyHeader,
};

/// Why a call was refused (or dropped) by the RPCSEC_GSS side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GssRefusal {
    /// AUTH_BADCRED: the credential does not decode, is not version 1,
    /// or creates a context with a procedure other than NULL.
    BadCredential,
    /// The GSS-API refused to make a context (bad or missing ticket,
    /// wrong service principal): SUCCESS with the GSS-API's status in
    /// `rpc_gss_init_res` (RFC 2203 section 5.2.3.1).
    CreationRefused,
    /// RPCSEC_GSS_CREDPROBLEM: an unknown handle or a header checksum
    /// that does not check.
    CredProblem,
    /// RPCSEC_GSS_CTXPROBLEM: the context is spent (sequence number at
    /// MAXSEQ) or a checksum could not be made.
    CtxProblem,
    /// AUTH_TOOWEAK: a service below the required one.
    TooWeak,
    /// AUTH_TOOWEAK: another flavor (AUTH_NONE, AUTH_SYS) where
    /// RPCSEC_GSS is required.
    OtherFlavor,
    /// GARBAGE_ARGS: the integrity checksum or privacy envelope of the
    /// arguments does not check.
    GarbageArgs,
    /// No reply: a replayed sequence number or one below the window
    /// (RFC 2203 section 5.3.3.1).
    Replay,
}

impl GssRefusal {
    /// Every refusal, in declaration order (for metrics that list each
    /// reason from the start).
    pub const ALL: [GssRefusal; 8] = [
        GssRefusal::BadCredential,
        GssRefusal::CreationRefused,
        GssRefusal::CredProblem,
        GssRefusal::CtxProblem,
        GssRefusal::TooWeak,
        GssRefusal::OtherFlavor,
        GssRefusal::GarbageArgs,
        GssRefusal::Replay,
    ];

    /// A short name for metrics and logs: `bad_credential`,
    /// `creation_refused`, `credproblem`, `ctxproblem`, `too_weak`,
    /// `other_flavor`, `garbage_args`, `replay`.
    pub fn as_str(self) -> &'static str {
        match self {
            GssRefusal::BadCredential => "bad_credential",
            GssRefusal::CreationRefused => "creation_refused",
            GssRefusal::CredProblem => "credproblem",
            GssRefusal::CtxProblem => "ctxproblem",
            GssRefusal::TooWeak => "too_weak",
            GssRefusal::OtherFlavor => "other_flavor",
            GssRefusal::GarbageArgs => "garbage_args",
            GssRefusal::Replay => "replay",
        }
    }

    fn of(stat: AuthStat) -> GssRefusal {
        match stat {
            AuthStat::RpcsecGssCredProblem => GssRefusal::CredProblem,
            AuthStat::RpcsecGssCtxProblem => GssRefusal::CtxProblem,
            AuthStat::TooWeak => GssRefusal::TooWeak,
            _ => GssRefusal::BadCredential,
        }
    }
}

impl std::fmt::Display for GssRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a proxy does with a call record ([`ServerGss::gate`]).
#[derive(Debug)]
pub enum GssGate {
    /// Send the client this reply message (no record marking): a context
    /// created or destroyed, or the call refused (`refusal`).
    Answer {
        /// The reply message.
        reply: Bytes,
        /// Why the call was refused, when it was.
        refusal: Option<GssRefusal>,
    },
    /// Send nothing ([`GssRefusal::Replay`]).
    Drop,
    /// A data call that checked: forward it.
    Forward(GssForward),
}

/// A data call that checked: who made it, its plain arguments, and how
/// to protect its reply.
#[derive(Debug)]
pub struct GssForward {
    caller: GssCaller,
    header: CallHeader,
    args: Bytes,
    seal: ReplySeal,
}

impl GssForward {
    /// Who made the call, with which protection.
    pub fn caller(&self) -> &GssCaller {
        &self.caller
    }

    /// The call as a plain call message (no record marking): the same
    /// XID, program, version and procedure, `credentials` with an
    /// AUTH_NONE verifier, and the unwrapped arguments.
    ///
    /// # Errors
    ///
    /// An XDR error when `credentials` is longer than 400 bytes (RFC
    /// 5531 section 8.2).
    pub fn plain_call(&self, credentials: OpaqueAuth) -> xdr_codec::Result<Bytes> {
        let h = &self.header;
        let header = CallHeader::new(h.xid, h.program, h.version, h.procedure, credentials);
        let mut out = BytesMut::with_capacity(64 + self.args.len());
        header.encode_into(&mut out)?;
        out.extend_from_slice(&self.args);
        Ok(out.freeze())
    }

    /// How to protect the reply ([`ReplySeal::seal_reply`]).
    pub fn into_seal(self) -> ReplySeal {
        self.seal
    }
}

impl ServerGss {
    /// Checks the call message `record` (no record marking) for a proxy:
    /// `None` when it is not a call with an RPCSEC_GSS credential and
    /// other flavors are not refused (the proxy handles it as before),
    /// otherwise what to do ([`GssGate`]).
    pub fn gate(&self, record: &Bytes) -> Option<GssGate> {
        let flavor = record.get(24..28)?;
        if flavor != AuthFlavor::RPCSEC_GSS.0.to_be_bytes() {
            if !self.refuses_other_flavors() {
                return None;
            }
            let xid = u32::from_be_bytes(record.get(..4)?.try_into().ok()?);
            return Some(GssGate::Answer {
                reply: crate::message::reply::denied(xid, RejectStat::AuthError(AuthStat::TooWeak)),
                refusal: Some(GssRefusal::OtherFlavor),
            });
        }
        let mut dec = Decoder::new(record.clone());
        let header = CallHeader::decode(&mut dec).ok()?;
        let xid = header.xid;
        Some(
            match self.judge_record(record, &header, dec.into_remaining()) {
                Verdict::Drop => GssGate::Drop,
                Verdict::Deny(stat) => GssGate::Answer {
                    reply: crate::message::reply::denied(xid, RejectStat::AuthError(stat)),
                    refusal: Some(GssRefusal::of(stat)),
                },
                Verdict::Reply {
                    verifier,
                    stat,
                    results,
                    refusal,
                } => GssGate::Answer {
                    reply: accepted(xid, verifier, stat, &results),
                    refusal,
                },
                Verdict::Run { caller, args, seal } => GssGate::Forward(GssForward {
                    caller,
                    header,
                    args,
                    seal,
                }),
            },
        )
    }
}

/// An accepted reply message.
fn accepted(xid: u32, verifier: OpaqueAuth, stat: AcceptStat, results: &[u8]) -> Bytes {
    let header = ReplyHeader {
        xid,
        body: ReplyBody::Accepted { verifier, stat },
    };
    let mut out = BytesMut::with_capacity(64 + results.len());
    // Verifiers made here are checksums of tens of bytes: encoding
    // cannot fail.
    if header.encode_into(&mut out).is_ok() {
        out.extend_from_slice(results);
    }
    out.freeze()
}
