//! RPCSEC_GSS version 1 (RFC 2203): authentication, integrity and
//! privacy of calls through the system's GSS-API (MIT Kerberos v5,
//! through the `libgssapi` crate). Built with the `gss` cargo feature.
//!
//! * [`ClientGss`] and [`Client::with_gss`](crate::Client::with_gss): a
//!   client handle whose calls make and use a context; many calls in
//!   flight on one context and one connection, bounded by the server's
//!   sequence window; a new context when the server lost the old one.
//! * [`ServerGss`] and [`ServerBuilder::gss`](crate::ServerBuilder::gss):
//!   a server that accepts contexts with its keytab, checks every call,
//!   seals every reply, and hands handlers the caller
//!   ([`GssCaller`], in [`CallContext::gss`](crate::server::CallContext::gss)).
//! * [`GssChannelInit`] and [`GssChannel`]: the same client side for a
//!   proxy that owns its connection (the broker towards a backend): it
//!   sends the context creation calls, then protects each call message
//!   and opens each reply message.
//! * [`ServerGss::gate`]: the same checks for a proxy that ends
//!   RPCSEC_GSS and forwards plain calls ([`GssGate`], [`ReplySeal`]).
//! * [`wire`]: the RFC's XDR types.
//!
//! Only the Kerberos v5 mechanism is asked for (RFC 2203 section 6
//! leaves the set of mechanisms open; Kerberos is what NFS and libtirpc
//! use). RPCSEC_GSS version 2 (RFC 5403, channel bindings) is not
//! spoken: a version 2 credential does not decode and is answered
//! AUTH_BADCRED, as any credential version a server does not know.

mod caller;
mod channel;
mod client;
mod contexts;
mod error;
mod initiator;
mod protect;
mod proxy;
mod server;
mod service;
mod window;
pub mod wire;

pub use caller::GssCaller;
pub use channel::{GssChannel, GssChannelInit, GssInitStep, MAX_UNANSWERED};
pub use client::ClientGss;
pub(crate) use client::GssSession;
pub use contexts::DEFAULT_MAX_CONTEXTS;
pub use error::GssError;
pub use proxy::{GssForward, GssGate, GssRefusal};
pub(crate) use server::Verdict;
pub use server::{GssStats, ReplySeal, ServerGss};
pub use service::GssService;
pub use window::DEFAULT_SEQ_WINDOW;
