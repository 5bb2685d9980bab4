//! The call header, `call_body` (RFC 5531 section 9).

use xdr_codec::{Decoder, Encoder, ErrorKind, XdrDecode, XdrEncode};

use super::auth::OpaqueAuth;
use super::{wire, MsgType, RPC_VERSION};

/// The header of a CALL message: `rpc_msg` with `mtype = CALL` and its
/// `call_body` up to (not including) the procedure arguments, which follow
/// it in the record (RFC 5531 section 9).
///
/// ```text
/// xid | CALL(0) | rpcvers | prog | vers | proc | cred | verf | args...
/// ```
///
/// Decoding checks `mtype` but not `rpcvers`: a server must answer a
/// wrong version with RPC_MISMATCH, so it looks at [`CallHeader::rpcvers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader {
    /// Transaction id, echoed in the reply.
    pub xid: u32,
    /// RPC protocol version; 2 ([`RPC_VERSION`]) for RFC 5531.
    pub rpcvers: u32,
    /// Program number.
    pub program: u32,
    /// Program version number.
    pub version: u32,
    /// Procedure number.
    pub procedure: u32,
    /// The caller's credentials.
    pub credentials: OpaqueAuth,
    /// The caller's verifier.
    pub verifier: OpaqueAuth,
}

impl CallHeader {
    /// A version-2 call header with the given credentials and an AUTH_NONE
    /// verifier.
    pub fn new(
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        credentials: OpaqueAuth,
    ) -> Self {
        CallHeader {
            xid,
            rpcvers: RPC_VERSION,
            program,
            version,
            procedure,
            credentials,
            verifier: OpaqueAuth::none(),
        }
    }
}

impl CallHeader {
    /// The RFC's view of this header.
    fn to_wire(&self) -> wire::RpcMsg {
        wire::RpcMsg {
            xid: self.xid,
            body: wire::RpcMsgBody::Call(wire::CallBody {
                rpcvers: self.rpcvers,
                prog: self.program,
                vers: self.version,
                proc: self.procedure,
                cred: self.credentials.to_wire(),
                verf: self.verifier.to_wire(),
            }),
        }
    }
}

impl XdrEncode for CallHeader {
    fn encode(&self, enc: &mut Encoder<'_>) -> xdr_codec::Result<()> {
        self.to_wire().encode(enc)
    }
}

impl XdrDecode for CallHeader {
    const MIN_ENCODED_LEN: usize = 40;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        let msg = wire::RpcMsg::decode(dec)?;
        match msg.body {
            wire::RpcMsgBody::Call(c) => Ok(CallHeader {
                xid: msg.xid,
                rpcvers: c.rpcvers,
                program: c.prog,
                version: c.vers,
                procedure: c.proc,
                credentials: OpaqueAuth::from_wire(c.cred),
                verifier: OpaqueAuth::from_wire(c.verf),
            }),
            wire::RpcMsgBody::Reply(_) => {
                Err(xdr_codec::Error::new(ErrorKind::InvalidDiscriminant {
                    type_name: "rpc_msg.body (expected CALL)",
                    value: i64::from(MsgType::Reply as u32),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::auth::AuthFlavor;
    use bytes::Bytes;

    #[test]
    fn layout_matches_rfc_5531() {
        let h = CallHeader::new(0x01020304, 100005, 3, 1, OpaqueAuth::none());
        let wire = h.to_xdr_bytes().unwrap();
        let words: Vec<u32> = wire
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(words, [0x01020304, 0, 2, 100005, 3, 1, 0, 0, 0, 0]);
        assert_eq!(CallHeader::from_xdr_bytes(wire).unwrap(), h);
    }

    #[test]
    fn reply_is_not_a_call() {
        let wire = Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert!(CallHeader::from_xdr_bytes(wire).is_err());
    }

    #[test]
    fn credentials_body_kept() {
        let cred = OpaqueAuth {
            flavor: AuthFlavor(42),
            body: Bytes::from_static(b"abcde"),
        };
        let h = CallHeader::new(1, 2, 3, 4, cred);
        let back = CallHeader::from_xdr_bytes(h.to_xdr_bytes().unwrap()).unwrap();
        assert_eq!(back, h);
    }
}
