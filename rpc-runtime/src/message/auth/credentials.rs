//! [`Credentials`]: the decoded `cred` of a call.

use xdr_codec::{ErrorKind, XdrDecode, XdrEncode};

use super::opaque::{AuthFlavor, OpaqueAuth, MAX_AUTH_BODY_BYTES};
use super::stat::AuthStat;
use super::sys::AuthSysParams;

/// The credentials of a call, decoded from its `opaque_auth`.
///
/// A client sends these with every call (see
/// [`ClientBuilder::credentials`](crate::ClientBuilder::credentials)); a
/// server hands them to handlers in
/// [`CallContext::credentials`](crate::server::CallContext::credentials).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// AUTH_NONE.
    #[default]
    None,
    /// AUTH_SYS.
    Sys(AuthSysParams),
    /// Any other flavor, undecoded.
    Other(OpaqueAuth),
}

impl Credentials {
    /// The flavor these credentials are sent with.
    pub fn flavor(&self) -> AuthFlavor {
        match self {
            Credentials::None => AuthFlavor::NONE,
            Credentials::Sys(_) => AuthFlavor::SYS,
            Credentials::Other(o) => o.flavor,
        }
    }

    /// The AUTH_SYS parameters, if these are AUTH_SYS credentials.
    pub fn auth_sys(&self) -> Option<&AuthSysParams> {
        match self {
            Credentials::Sys(p) => Some(p),
            _ => None,
        }
    }

    /// Encodes these credentials as the `cred` field of a call.
    ///
    /// # Errors
    ///
    /// An encode error when AUTH_SYS parameters exceed their limits or the
    /// encoded body is over [`MAX_AUTH_BODY_BYTES`].
    pub fn to_opaque_auth(&self) -> xdr_codec::Result<OpaqueAuth> {
        match self {
            Credentials::None => Ok(OpaqueAuth::none()),
            Credentials::Sys(p) => {
                let body = p.to_xdr_bytes()?;
                if body.len() > MAX_AUTH_BODY_BYTES as usize {
                    return Err(xdr_codec::Error::new(ErrorKind::LengthExceedsMax {
                        len: body.len() as u64,
                        max: MAX_AUTH_BODY_BYTES,
                    })
                    .in_field("opaque_auth.body"));
                }
                Ok(OpaqueAuth {
                    flavor: AuthFlavor::SYS,
                    body,
                })
            }
            Credentials::Other(o) => Ok(o.clone()),
        }
    }

    /// Decodes the `cred` field of a call. AUTH_NONE and AUTH_SYS are
    /// decoded; other flavors come back as [`Credentials::Other`].
    ///
    /// # Errors
    ///
    /// [`AuthStat::BadCred`] when an AUTH_SYS body is malformed (it must
    /// decode exactly, with no trailing bytes).
    pub fn from_opaque_auth(auth: &OpaqueAuth) -> Result<Self, AuthStat> {
        match auth.flavor {
            AuthFlavor::NONE => Ok(Credentials::None),
            AuthFlavor::SYS => AuthSysParams::from_xdr_bytes(auth.body.clone())
                .map(Credentials::Sys)
                .map_err(|_| AuthStat::BadCred),
            _ => Ok(Credentials::Other(auth.clone())),
        }
    }
}
