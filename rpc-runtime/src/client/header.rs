//! The call header (RFC 5531 section 9) as a client writes it: the
//! credentials and verifier never change for a [`Client`](crate::Client)
//! handle, so they are encoded once ([`CallAuth`]) and each call writes
//! six words and copies those bytes.
//!
//! ```text
//! xid | CALL(0) | rpcvers(2) | prog | vers | proc | cred | verf | args...
//!                                                  \-- CallAuth --/
//! ```

use bytes::{Bytes, BytesMut};
use xdr_codec::XdrEncode;

use super::outgoing::MARK_ROOM;
use crate::message::{AuthFlavor, MsgType, OpaqueAuth, RPC_VERSION};

/// Bytes of the call header before the credentials: six words.
const FIXED_HEADER_BYTES: usize = 24;

/// The encoded credentials and AUTH_NONE verifier of a client handle.
#[derive(Debug, Clone)]
pub(super) struct CallAuth {
    flavor: AuthFlavor,
    encoded: Bytes,
}

impl CallAuth {
    /// Encodes `credentials` followed by an AUTH_NONE verifier.
    ///
    /// # Errors
    ///
    /// The encoding error if the credentials' body exceeds 400 bytes.
    pub(super) fn new(credentials: &OpaqueAuth) -> xdr_codec::Result<Self> {
        let mut buf = BytesMut::with_capacity(16 + credentials.body.len());
        credentials.encode_into(&mut buf)?;
        OpaqueAuth::none().encode_into(&mut buf)?;
        Ok(CallAuth {
            flavor: credentials.flavor,
            encoded: buf.freeze(),
        })
    }

    /// The credentials' flavor.
    pub(super) fn flavor(&self) -> AuthFlavor {
        self.flavor
    }

    /// A buffer holding [`MARK_ROOM`] reserved bytes and the call header
    /// for `xid`, with room for `args_hint` more bytes of arguments.
    pub(super) fn header(
        &self,
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        args_hint: usize,
    ) -> BytesMut {
        let mut fixed = [0u8; MARK_ROOM + FIXED_HEADER_BYTES];
        let words = call_words(xid, program, version, procedure);
        for (slot, word) in fixed[MARK_ROOM..].chunks_exact_mut(4).zip(words) {
            slot.copy_from_slice(&word.to_be_bytes());
        }
        let mut buf = BytesMut::with_capacity(fixed.len() + self.encoded.len() + args_hint);
        buf.extend_from_slice(&fixed);
        buf.extend_from_slice(&self.encoded);
        buf
    }
}

/// The six words of a call header before the credentials (RFC 5531
/// section 9): XID, CALL, RPC version 2, program, version, procedure.
pub(crate) fn call_words(xid: u32, program: u32, version: u32, procedure: u32) -> [u32; 6] {
    [
        xid,
        MsgType::Call as u32,
        RPC_VERSION,
        program,
        version,
        procedure,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{AuthSysParams, CallHeader, Credentials};

    #[test]
    fn same_bytes_as_the_generic_encoder() {
        let sys = Credentials::Sys(AuthSysParams {
            stamp: 7,
            machine_name: "host".into(),
            uid: 1000,
            gid: 100,
            gids: vec![1, 2, 3],
        });
        for creds in [Credentials::None, sys] {
            let opaque = creds.to_opaque_auth().unwrap();
            let auth = CallAuth::new(&opaque).unwrap();
            assert_eq!(auth.flavor(), opaque.flavor);
            let ours = auth.header(0x0102_0304, 100_003, 3, 6, 0);
            let reference = CallHeader::new(0x0102_0304, 100_003, 3, 6, opaque)
                .to_xdr_bytes()
                .unwrap();
            assert_eq!(&ours[MARK_ROOM..], &reference[..]);
        }
    }
}
