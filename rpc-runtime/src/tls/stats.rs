//! [`TlsStats`]: what a server's RPC-over-TLS upgrades refused.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::AlertDescription;

/// What the RPC-over-TLS upgrades of a [`ServerTls`](super::ServerTls)
/// refused, counted since the counters were made. Clones of a
/// `ServerTls` share them, and [`ServerTls::with_stats`](super::ServerTls::with_stats)
/// hands them on to a new configuration (for example one with renewed
/// certificates), so a counter spans a server's whole life.
#[derive(Debug, Default)]
pub struct TlsStats {
    plain_calls_refused: AtomicU64,
    handshakes_failed: AtomicU64,
    certificates_refused: AtomicU64,
}

impl TlsStats {
    /// Plain calls answered `AUTH_ERROR` / `AUTH_TOOWEAK` because TLS is
    /// required ([`ServerTls::required`](super::ServerTls::required)).
    pub fn plain_calls_refused(&self) -> u64 {
        self.plain_calls_refused.load(Ordering::Relaxed)
    }

    /// TLS handshakes begun after the AUTH_TLS probe that failed for a
    /// reason other than a certificate: a protocol error, no ALPN
    /// `sunrpc`, the peer gone, or the handshake timeout.
    pub fn handshakes_failed(&self) -> u64 {
        self.handshakes_failed.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed on a certificate: the client's was
    /// missing where one is mandatory or did not verify, or the client
    /// refused the server's (a certificate alert from it).
    pub fn certificates_refused(&self) -> u64 {
        self.certificates_refused.load(Ordering::Relaxed)
    }

    pub(super) fn plain_call_refused(&self) {
        self.plain_calls_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts the failed handshake whose error is `e`.
    pub(super) fn handshake_failed(&self, e: &io::Error) {
        let counter = if TlsFailure::of(e) == TlsFailure::Certificate {
            &self.certificates_refused
        } else {
            &self.handshakes_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why starting RPC-over-TLS failed, from the error of
/// [`ClientTls::start`](super::ClientTls::start) or
/// [`ServerTls::upgrade`](super::ServerTls::upgrade): for metrics and
/// logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsFailure {
    /// A certificate: the peer's did not verify or was missing, or the
    /// peer refused ours (a certificate alert).
    Certificate,
    /// The server does not offer RPC-over-TLS ([`TlsError::NotOffered`](super::TlsError::NotOffered)).
    NotOffered,
    /// Anything else: a protocol error, no ALPN `sunrpc`, a malformed
    /// probe reply, the peer gone, the handshake timeout.
    Handshake,
}

impl TlsFailure {
    /// The kind of failure `e` is.
    pub fn of(e: &io::Error) -> TlsFailure {
        let inner = e.get_ref();
        if inner
            .and_then(|e| e.downcast_ref::<super::TlsError>())
            .is_some_and(|t| matches!(t, super::TlsError::NotOffered))
        {
            return TlsFailure::NotOffered;
        }
        match inner.and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(e) if is_certificate_error(e) => TlsFailure::Certificate,
            _ => TlsFailure::Handshake,
        }
    }

    /// `certificate`, `not_offered` or `handshake`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsFailure::Certificate => "certificate",
            TlsFailure::NotOffered => "not_offered",
            TlsFailure::Handshake => "handshake",
        }
    }
}

/// Whether a handshake failed on a certificate (ours refused by the peer,
/// or the peer's refused by us).
fn is_certificate_error(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => true,
        rustls::Error::AlertReceived(alert) => matches!(
            alert,
            AlertDescription::BadCertificate
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::CertificateRevoked
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateRequired
        ),
        _ => false,
    }
}
