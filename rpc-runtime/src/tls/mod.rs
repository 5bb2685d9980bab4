//! RPC-over-TLS (RFC 9289): the AUTH_TLS probe, then TLS 1.3 on the same
//! TCP connection with ALPN `sunrpc`, through rustls. Built with the
//! `tls` cargo feature.
//!
//! * [`ClientTls`] and [`ClientBuilder::connect_tls`](crate::ClientBuilder::connect_tls):
//!   connect, probe, upgrade, then the ordinary multiplexed [`Client`](crate::Client).
//! * [`ServerTls`] and [`Server::serve_tcp_tls`](crate::Server::serve_tcp_tls):
//!   answer the probe, upgrade, then serve as usual; optionally refuse
//!   plain calls and ask for client certificates (mutual TLS). The
//!   handler sees the TLS peer, with its certificate's identity, in
//!   [`CallContext::peer`](crate::server::CallContext::peer) as
//!   [`PeerAddr::Tls`](crate::server::PeerAddr::Tls).
//! * [`load_certs`] and [`load_private_key`]: PEM files.
//! * [`TlsStats`]: what a server's upgrades refused (plain calls, failed
//!   handshakes, refused certificates), from [`ServerTls::stats`].
//!
//! # The wire sequence
//!
//! ```text
//! client                                             server
//!   | -- TCP connect ------------------------------------> |
//!   | -- record: CALL xid=X prog=P vers=V proc=0 (NULL)    |  RFC 9289 section 4.1:
//!   |            cred = AUTH_TLS (7), empty body           |  the AUTH_TLS probe
//!   |            verf = AUTH_NONE ------------------------> |
//!   | <- record: REPLY xid=X MSG_ACCEPTED                  |
//!   |            verf = AUTH_NONE, body "STARTTLS"         |  the STARTTLS verifier
//!   |            accept_stat SUCCESS ---------------------- |
//!   | == TLS 1.3 handshake, ALPN "sunrpc" ===============> |  section 5
//!   |    (client certificate if the server asks: mTLS)     |  sections 4.2, 5.2.1
//!   | == records of ordinary RPC calls and replies =======> |  section 5.1.1: record marking
//!   | <= ... inside TLS application data ================= |  as on plain TCP
//! ```
//!
//! A server that does not speak RPC-over-TLS answers the probe otherwise
//! (AUTH_ERROR, or a reply without the STARTTLS verifier); the client
//! then fails with [`TlsError::NotOffered`] (section 4.1: the client must
//! not start TLS unless the verifier says STARTTLS).
//!
//! A server configured with [`ServerTls::required`] answers every plain
//! call before the probe with `MSG_DENIED` / `AUTH_ERROR` /
//! `AUTH_TOOWEAK` (RFC 5531 section 9: "rejected for security reasons";
//! RFC 9289 section 4.1 leaves it to a server's policy whether RPC
//! operation continues without TLS), and keeps reading: the client may still
//! probe on the same connection.
//!
//! Only TLS 1.3 is offered and accepted (section 5 forbids versions
//! before 1.3), and a handshake without ALPN `sunrpc` fails (section 5:
//! both peers must negotiate it).

mod client;
mod config;
mod identity;
mod probe;
mod rewind;
mod server;
mod stats;

pub use client::ClientTls;
pub use config::{load_certs, load_private_key};
pub(crate) use server::serve_upgraded;
pub use server::ServerTls;
pub use stats::{TlsFailure, TlsStats};

pub use rustls;

/// The AUTH_TLS authentication flavor (7), used only in the probe
/// (RFC 9289 section 4.1, section 7.1 for its registration).
pub const AUTH_TLS: crate::message::AuthFlavor = crate::message::AuthFlavor(7);

/// The body of the AUTH_NONE verifier a server sends in its reply to the
/// probe to say it speaks RPC-over-TLS (RFC 9289 section 4.1).
pub const STARTTLS_VERIFIER: &[u8] = b"STARTTLS";

/// The ALPN protocol id of RPC-over-TLS (RFC 9289 section 5, section
/// 7.2 for its registration).
pub const ALPN_SUNRPC: &[u8] = b"sunrpc";

/// The default time for the probe exchange and the TLS handshake
/// together, 10 seconds: [`ClientTls::handshake_timeout`],
/// [`ServerTls::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why RPC-over-TLS could not be set up. Carried inside the
/// [`std::io::Error`] of [`RpcError::Transport`](crate::RpcError::Transport)
/// by [`ClientBuilder::connect_tls`](crate::ClientBuilder::connect_tls)
/// (find it with [`std::io::Error::get_ref`] and `downcast_ref`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The server's reply to the AUTH_TLS probe did not carry the
    /// STARTTLS verifier (RFC 9289 section 4.1): it does not speak
    /// RPC-over-TLS.
    #[error("the server does not offer RPC-over-TLS (no STARTTLS verifier in its probe reply)")]
    NotOffered,
    /// The probe reply was not a well-formed reply to the probe.
    #[error("malformed reply to the AUTH_TLS probe: {0}")]
    BadProbeReply(&'static str),
    /// The server name is neither a DNS name nor an IP address.
    #[error("{0:?} is not a valid server name for TLS")]
    ServerName(String),
    /// The TLS handshake finished without ALPN `sunrpc`.
    #[error("the TLS peer did not negotiate ALPN \"sunrpc\"")]
    NoAlpn,
    /// The probe and handshake took longer than the handshake timeout.
    #[error("the AUTH_TLS probe and TLS handshake timed out")]
    Timeout,
    /// A PEM file held no item of the kind asked for.
    #[error("{0}: no {1} found in the PEM file")]
    EmptyPem(std::path::PathBuf, &'static str),
    /// A PEM file could not be read or parsed.
    #[error("{0}: {1}")]
    Pem(std::path::PathBuf, rustls::pki_types::pem::Error),
    /// rustls refused the configuration (for example a key that does not
    /// match the certificate).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The client certificate verifier could not be built (for example
    /// an empty set of trusted roots).
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

impl From<TlsError> for std::io::Error {
    fn from(e: TlsError) -> Self {
        let kind = match e {
            TlsError::Timeout => std::io::ErrorKind::TimedOut,
            TlsError::NotOffered => std::io::ErrorKind::Unsupported,
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests;
