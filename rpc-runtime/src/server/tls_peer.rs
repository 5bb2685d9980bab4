//! [`TlsPeer`]: who is on the other end of an RPC-over-TLS connection
//! (RFC 9289), as [`PeerAddr::Tls`](super::PeerAddr::Tls) carries it.

use std::net::IpAddr;

use bytes::Bytes;

use super::PeerAddr;

/// The peer of a connection upgraded to TLS: its transport address and,
/// with mutual TLS, the certificate it presented (already verified
/// against the server's trusted client roots).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsPeer {
    /// The address of the connection under TLS (a [`PeerAddr::Tcp`]).
    pub addr: PeerAddr,
    /// The client's end-entity certificate, if it sent one.
    pub certificate: Option<PeerCertificate>,
}

/// The identity in a peer's X.509 end-entity certificate (RFC 5280
/// section 4.1.2.6 subject, section 4.2.1.6 subject alternative names).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerCertificate {
    /// The subject distinguished name in RFC 4514 string form, for
    /// example `CN=client.example`.
    pub subject: String,
    /// The subject's common name (its last CN attribute), if it has one.
    pub common_name: Option<String>,
    /// The subject alternative names, in certificate order.
    pub subject_alt_names: Vec<SubjectAltName>,
    /// The whole certificate, DER-encoded, for checks of one's own.
    pub der: Bytes,
}

/// One subject alternative name (RFC 5280 section 4.2.1.6); the kinds
/// not listed here are left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// `dNSName`.
    Dns(String),
    /// `iPAddress`.
    Ip(IpAddr),
    /// `uniformResourceIdentifier`.
    Uri(String),
    /// `rfc822Name` (an e-mail address).
    Email(String),
}
