//! The identity in a verified peer certificate, for
//! [`TlsPeer`](crate::server::TlsPeer).

use bytes::Bytes;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::server::{PeerCertificate, SubjectAltName};

/// The subject and subject alternative names of the DER certificate
/// `der`, or `None` if it does not parse (rustls has verified it by then,
/// so that means a certificate x509-parser cannot read).
pub(super) fn peer_certificate(der: &[u8]) -> Option<PeerCertificate> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut subject_alt_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            subject_alt_names.extend(match name {
                GeneralName::DNSName(s) => Some(SubjectAltName::Dns((*s).to_owned())),
                GeneralName::URI(s) => Some(SubjectAltName::Uri((*s).to_owned())),
                GeneralName::RFC822Name(s) => Some(SubjectAltName::Email((*s).to_owned())),
                GeneralName::IPAddress(b) => ip(b).map(SubjectAltName::Ip),
                _ => None,
            });
        }
    }
    Some(PeerCertificate {
        subject: cert.subject().to_string(),
        common_name: cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok())
            .last()
            .map(str::to_owned),
        subject_alt_names,
        der: Bytes::copy_from_slice(der),
    })
}

fn ip(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(Into::into),
        16 => <[u8; 16]>::try_from(bytes).ok().map(Into::into),
        _ => None,
    }
}
