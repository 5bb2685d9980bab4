//! [`GssService`]: the protection of a data call (RFC 2203 section 5).

use super::wire::RpcGssServiceT;

/// How a data call's arguments and results are protected, `rpc_gss_service_t`
/// (RFC 2203 section 5). Ordered from weakest to strongest, so that
/// `service >= GssService::Integrity` reads as "at least integrity".
///
/// In Kerberos terms (the NFS mount options): `None` is `krb5`,
/// `Integrity` is `krb5i`, `Privacy` is `krb5p`. `service as u32` is the
/// wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GssService {
    /// `rpc_gss_svc_none` (1): the header is authenticated (the
    /// verifier checksums it); arguments and results travel as they are.
    None = 1,
    /// `rpc_gss_svc_integrity` (2): arguments and results carry a
    /// checksum and the sequence number (section 5.3.2.2).
    Integrity = 2,
    /// `rpc_gss_svc_privacy` (3): arguments and results are encrypted,
    /// with the sequence number inside (section 5.3.2.3).
    Privacy = 3,
}

impl GssService {
    /// The name an NFS mount option gives this service with Kerberos:
    /// `krb5`, `krb5i` or `krb5p`.
    pub fn krb5_name(self) -> &'static str {
        match self {
            GssService::None => "krb5",
            GssService::Integrity => "krb5i",
            GssService::Privacy => "krb5p",
        }
    }
}

impl From<GssService> for RpcGssServiceT {
    fn from(s: GssService) -> Self {
        match s {
            GssService::None => RpcGssServiceT::RpcGssSvcNone,
            GssService::Integrity => RpcGssServiceT::RpcGssSvcIntegrity,
            GssService::Privacy => RpcGssServiceT::RpcGssSvcPrivacy,
        }
    }
}

impl From<RpcGssServiceT> for GssService {
    fn from(s: RpcGssServiceT) -> Self {
        match s {
            RpcGssServiceT::RpcGssSvcNone => GssService::None,
            RpcGssServiceT::RpcGssSvcIntegrity => GssService::Integrity,
            RpcGssServiceT::RpcGssSvcPrivacy => GssService::Privacy,
        }
    }
}

impl std::fmt::Display for GssService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.krb5_name())
    }
}

impl std::str::FromStr for GssService {
    type Err = String;

    /// Parses `krb5`, `krb5i` or `krb5p` ([`GssService::krb5_name`]).
    fn from_str(s: &str) -> Result<Self, String> {
        [GssService::None, GssService::Integrity, GssService::Privacy]
            .into_iter()
            .find(|v| v.krb5_name() == s)
            .ok_or_else(|| format!("`{s}` is not a service: krb5, krb5i or krb5p"))
    }
}
