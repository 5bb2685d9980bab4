//! [`GssCaller`]: who made an RPCSEC_GSS call, as a handler sees it.

use std::sync::Arc;

use super::service::GssService;

/// The authenticated caller of an RPCSEC_GSS call: the GSS-API name the
/// context was made for and the protection of this call. Handlers find
/// it in [`CallContext::gss`](crate::server::CallContext::gss).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GssCaller {
    principal: Arc<str>,
    service: GssService,
}

impl GssCaller {
    pub(crate) fn new(principal: Arc<str>, service: GssService) -> Self {
        GssCaller { principal, service }
    }

    /// The client's GSS-API name in its display form; with Kerberos the
    /// principal, for example `alice@EXAMPLE.ORG`.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The protection of this call's arguments and results.
    pub fn service(&self) -> GssService {
        self.service
    }
}
