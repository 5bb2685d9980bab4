//! [`GssError`]: why an RPCSEC_GSS context could not be made or used.

/// Why an RPCSEC_GSS context could not be made or used by
/// a client handle made with
/// [`Client::with_gss`](crate::Client::with_gss). Carried in
/// [`RpcError::Gss`](crate::RpcError::Gss).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GssError {
    /// A GSS-API call failed on this side (for example no Kerberos
    /// ticket: "No Kerberos credentials available", or a service name
    /// the KDC does not know). The text is the GSS-API's own message.
    #[error("GSS-API: {0}")]
    Mechanism(String),
    /// The server refused context creation with these GSS-API status
    /// codes (RFC 2203 section 5.2.3.1, `gss_major`, `gss_minor`).
    #[error("the server refused the GSS context: major {major:#x}, minor {minor}")]
    Refused {
        /// `gss_major` of the server's reply (RFC 2743 major status).
        major: u32,
        /// `gss_minor` of the server's reply (mechanism-specific).
        minor: u32,
    },
    /// A reply's verifier is not the checksum of what it must cover
    /// (RFC 2203 sections 5.2.3.1 and 5.3.3.2): the reply is not from
    /// the server the context was made with, or was altered.
    #[error("the reply's RPCSEC_GSS verifier does not check")]
    BadVerifier,
    /// The integrity checksum or the privacy wrapping of the results
    /// does not check, or it carries another sequence number (RFC 2203
    /// sections 5.3.2.2 and 5.3.2.3).
    #[error("the reply's results fail their RPCSEC_GSS protection")]
    BadResults,
    /// The server's reply to context creation is not an `rpc_gss_init_res`
    /// (RFC 2203 section 5.2.3.1), or the handshake did not finish.
    #[error("malformed RPCSEC_GSS context creation: {0}")]
    Protocol(&'static str),
}

impl GssError {
    pub(crate) fn mechanism(e: &libgssapi::error::Error) -> Self {
        GssError::Mechanism(e.to_string())
    }
}
