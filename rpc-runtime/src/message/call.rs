//! The call header, `call_body` (RFC 5531 section 9).

use xdr_codec::{Decoder, Encoder, ErrorKind, XdrDecode, XdrEncode};

use super::auth::OpaqueAuth;
use super::{MsgType, RPC_VERSION};

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

impl XdrEncode for CallHeader {
    fn encode(&self, enc: &mut Encoder<'_>) -> xdr_codec::Result<()> {
        enc.put_u32(self.xid);
        enc.put_u32(MsgType::Call as u32);
        enc.put_u32(self.rpcvers);
        enc.put_u32(self.program);
        enc.put_u32(self.version);
        enc.put_u32(self.procedure);
        enc.field("call_body.cred", &self.credentials)?;
        enc.field("call_body.verf", &self.verifier)
    }
}

impl XdrDecode for CallHeader {
    const MIN_ENCODED_LEN: usize = 40;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        let xid = dec.field("rpc_msg.xid")?;
        let mtype: u32 = dec.field("rpc_msg.mtype")?;
        if mtype != MsgType::Call as u32 {
            return Err(xdr_codec::Error::new(ErrorKind::InvalidDiscriminant {
                type_name: "rpc_msg.body (expected CALL)",
                value: i64::from(mtype),
            }));
        }
        Ok(CallHeader {
            xid,
            rpcvers: dec.field("call_body.rpcvers")?,
            program: dec.field("call_body.prog")?,
            version: dec.field("call_body.vers")?,
            procedure: dec.field("call_body.proc")?,
            credentials: dec.field("call_body.cred")?,
            verifier: dec.field("call_body.verf")?,
        })
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
