//! RPC message headers (RFC 5531 section 9): [`CallHeader`] and
//! [`ReplyHeader`] decoding checked against the cheap header [`peek`],
//! [`peek_xid`] and [`with_xid`], and against re-encoding.

use bytes::Bytes;
use rpc_runtime::message::wire::RpcMsg;
use rpc_runtime::message::{peek, peek_xid, with_xid, CallHeader, HeaderPeek, ReplyHeader};

use crate::reencode::decode_and_reencode;

/// Input: one message (the record's bytes). A header that decodes must
/// agree with `peek` and re-encode to exactly the bytes it consumed.
pub fn rpc_message(data: &[u8]) {
    let record = Bytes::copy_from_slice(data);
    let first_word = data
        .get(..4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    assert_eq!(peek_xid(data), first_word);
    let peeked = peek(data);
    if let Some(p) = peeked {
        assert_eq!(Some(p.xid()), first_word);
    }

    if let Some(call) = decode_and_reencode::<CallHeader>(&record) {
        let Some(HeaderPeek::Call(p)) = peeked else {
            panic!("decoded a call, peek gave {peeked:?}");
        };
        assert_eq!(
            (p.xid, p.rpcvers, p.program, p.version, p.procedure),
            (
                call.xid,
                call.rpcvers,
                call.program,
                call.version,
                call.procedure
            )
        );
    }
    if let Some(reply) = decode_and_reencode::<ReplyHeader>(&record) {
        assert_eq!(peeked, Some(HeaderPeek::Reply { xid: reply.xid }));
    }
    if let Some(msg) = decode_and_reencode::<RpcMsg>(&record) {
        assert_eq!(peeked.map(|p| p.xid()), Some(msg.xid));
    }

    // XID rewriting changes the first word only, shared buffer or not.
    let shared = record.clone();
    let rewritten = with_xid(record, !first_word.unwrap_or(0));
    match first_word {
        Some(xid) => {
            assert_eq!(peek_xid(&rewritten), Some(!xid));
            assert_eq!(rewritten.get(4..), shared.get(4..));
        }
        None => assert_eq!(rewritten, shared),
    }
}
