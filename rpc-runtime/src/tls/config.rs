//! rustls configurations for RPC-over-TLS (TLS 1.3 only, ALPN `sunrpc`)
//! and PEM loading.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{TlsError, ALPN_SUNRPC};

/// The crypto provider used everywhere here: rustls' `ring` backend.
/// rustls deprecates it because it has no post-quantum key exchange
/// (X25519MLKEM768); the `aws-lc-rs` backend has one but builds a large
/// C library. The TLS 1.3 suites and X25519 it offers are the ones
/// RFC 9289 section 5 (by way of RFC 8446 section 9.1) asks for.
#[allow(deprecated)]
pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration builder limited to TLS 1.3 (RFC 9289 section 5).
pub(super) fn client_builder(
) -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>, TlsError> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?)
}

/// A server configuration builder limited to TLS 1.3 (RFC 9289 section 5).
pub(super) fn server_builder(
) -> Result<rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier>, TlsError> {
    Ok(rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?)
}

/// `protocols` with only `sunrpc` (RFC 9289 section 5).
pub(super) fn set_alpn(protocols: &mut Vec<Vec<u8>>) {
    *protocols = vec![ALPN_SUNRPC.to_vec()];
}

/// Every certificate in the PEM file at `path`, in order (the end-entity
/// certificate first, then its chain, for a certificate file).
///
/// # Errors
///
/// [`TlsError::Pem`] if the file cannot be read or parsed,
/// [`TlsError::EmptyPem`] if it holds no certificate.
pub fn load_certs(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|items| items.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Pem(path.to_owned(), e))?;
    if certs.is_empty() {
        return Err(TlsError::EmptyPem(path.to_owned(), "certificate"));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in the PEM file at
/// `path`.
///
/// # Errors
///
/// [`TlsError::Pem`] if the file cannot be read or parsed, or holds no
/// private key.
pub fn load_private_key(path: impl AsRef<Path>) -> Result<PrivateKeyDer<'static>, TlsError> {
    let path = path.as_ref();
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            TlsError::EmptyPem(path.to_owned(), "private key")
        }
        e => TlsError::Pem(path.to_owned(), e),
    })
}
