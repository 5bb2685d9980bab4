//! `opaque_auth` and the flavor numbers (RFC 5531 section 8.2).

use bytes::Bytes;
use xdr_codec::{Decoder, Encoder, XdrDecode, XdrEncode};

use crate::message::wire;

/// Largest body of an `opaque_auth`, in bytes (RFC 5531 section 8.2:
/// `opaque body<400>`).
pub const MAX_AUTH_BODY_BYTES: u32 = 400;

// The flavor numbers of `specs/rpc_msg.x` are the ones named below.
const _: () = assert!(wire::AUTH_NONE == 0 && wire::AUTH_SYS == 1 && wire::RPCSEC_GSS == 6);

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

impl OpaqueAuth {
    /// The RFC's view: `opaque_auth` from `specs/rpc_msg.x`.
    pub(crate) fn to_wire(&self) -> wire::OpaqueAuth {
        wire::OpaqueAuth {
            flavor: self.flavor.0,
            body: xdr_codec::Opaque::new(self.body.clone()),
        }
    }

    /// From the RFC's view.
    pub(crate) fn from_wire(w: wire::OpaqueAuth) -> Self {
        OpaqueAuth {
            flavor: AuthFlavor(w.flavor),
            body: w.body.into_bytes(),
        }
    }
}

impl XdrEncode for OpaqueAuth {
    fn encode(&self, enc: &mut Encoder<'_>) -> xdr_codec::Result<()> {
        self.to_wire().encode(enc)
    }
}

impl XdrDecode for OpaqueAuth {
    const MIN_ENCODED_LEN: usize = 8;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        wire::OpaqueAuth::decode(dec).map(OpaqueAuth::from_wire)
    }
}
