//! `opaque_auth` and the flavor numbers (RFC 5531 section 8.2).

use bytes::Bytes;
use xdr_codec::{Decoder, Encoder, XdrDecode, XdrEncode};

/// Largest body of an `opaque_auth`, in bytes (RFC 5531 section 8.2:
/// `opaque body<400>`).
pub const MAX_AUTH_BODY_BYTES: u32 = 400;

/// An authentication flavor number (`auth_flavor`, RFC 5531 section 8.2).
///
/// An open set: flavors are assigned by IANA, so any `u32` is representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthFlavor(pub u32);

impl AuthFlavor {
    /// AUTH_NONE (0): no authentication.
    pub const NONE: AuthFlavor = AuthFlavor(0);
    /// AUTH_SYS (1), also known as AUTH_UNIX: uid, gid and groups.
    pub const SYS: AuthFlavor = AuthFlavor(1);
    /// AUTH_SHORT (2): a short-hand credential handed out by a server.
    pub const SHORT: AuthFlavor = AuthFlavor(2);
    /// AUTH_DH (3): Diffie-Hellman authentication.
    pub const DH: AuthFlavor = AuthFlavor(3);
    /// RPCSEC_GSS (6), RFC 2203.
    pub const RPCSEC_GSS: AuthFlavor = AuthFlavor(6);
}

/// `opaque_auth` (RFC 5531 section 8.2): a flavor and up to 400 bytes of
/// flavor-specific data. Used for both credentials and verifiers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpaqueAuth {
    /// The authentication flavor.
    pub flavor: AuthFlavor,
    /// The flavor-specific body, at most [`MAX_AUTH_BODY_BYTES`] bytes.
    pub body: Bytes,
}

impl Default for AuthFlavor {
    fn default() -> Self {
        AuthFlavor::NONE
    }
}

impl OpaqueAuth {
    /// The AUTH_NONE credential or verifier (flavor 0, empty body).
    pub const fn none() -> Self {
        OpaqueAuth {
            flavor: AuthFlavor::NONE,
            body: Bytes::new(),
        }
    }
}

impl XdrEncode for OpaqueAuth {
    fn encode(&self, enc: &mut Encoder<'_>) -> xdr_codec::Result<()> {
        enc.put_u32(self.flavor.0);
        enc.put_opaque(&self.body, MAX_AUTH_BODY_BYTES)
            .map_err(|e| e.in_field("opaque_auth.body"))
    }
}

impl XdrDecode for OpaqueAuth {
    const MIN_ENCODED_LEN: usize = 8;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        let flavor = AuthFlavor(dec.field("opaque_auth.flavor")?);
        let body = dec
            .get_opaque(MAX_AUTH_BODY_BYTES)
            .map_err(|e| e.in_field("opaque_auth.body"))?;
        Ok(OpaqueAuth { flavor, body })
    }
}
