//! A cheap look at the first words of a message, without decoding
//! credentials or arguments; and XID rewriting.

use bytes::{Bytes, BytesMut};

use super::MsgType;

/// The fixed-position fields of a CALL message: the first six 32-bit
/// words of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallPeek {
    /// Transaction id.
    pub xid: u32,
    /// RPC protocol version (2 for RFC 5531).
    pub rpcvers: u32,
    /// Program number.
    pub program: u32,
    /// Program version number.
    pub version: u32,
    /// Procedure number.
    pub procedure: u32,
}

/// What [`peek`] found at the start of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderPeek {
    /// A CALL message.
    Call(CallPeek),
    /// A REPLY message with this XID.
    Reply {
        /// Transaction id.
        xid: u32,
    },
}

impl HeaderPeek {
    /// The message's XID.
    pub fn xid(&self) -> u32 {
        match self {
            HeaderPeek::Call(c) => c.xid,
            HeaderPeek::Reply { xid } => *xid,
        }
    }

    /// The message type.
    pub fn msg_type(&self) -> MsgType {
        match self {
            HeaderPeek::Call(_) => MsgType::Call,
            HeaderPeek::Reply { .. } => MsgType::Reply,
        }
    }
}

fn word(record: &[u8], index: usize) -> Option<u32> {
    let start = index.checked_mul(4)?;
    let bytes = record.get(start..start.checked_add(4)?)?;
    let arr: [u8; 4] = bytes.try_into().ok()?;
    Some(u32::from_be_bytes(arr))
}

/// The XID of a message (its first word), or `None` if the record is
/// shorter than 4 bytes.
pub fn peek_xid(record: &[u8]) -> Option<u32> {
    word(record, 0)
}

/// Reads the XID and message type, and for a CALL the RPC version,
/// program, version and procedure, from the first 8 (REPLY) or 24 (CALL)
/// bytes of `record`. Nothing else is checked or decoded.
///
/// Returns `None` when the record is too short or the message type is
/// neither CALL (0) nor REPLY (1).
///
/// ```
/// use rpc_runtime::message::{peek, CallHeader, HeaderPeek, OpaqueAuth};
/// use xdr_codec::XdrEncode;
/// let record = CallHeader::new(42, 100003, 3, 6, OpaqueAuth::none()).to_xdr_bytes()?;
/// match peek(&record) {
///     Some(HeaderPeek::Call(c)) => assert_eq!((c.xid, c.program, c.procedure), (42, 100003, 6)),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), xdr_codec::Error>(())
/// ```
pub fn peek(record: &[u8]) -> Option<HeaderPeek> {
    let xid = word(record, 0)?;
    match word(record, 1)? {
        0 => Some(HeaderPeek::Call(CallPeek {
            xid,
            rpcvers: word(record, 2)?,
            program: word(record, 3)?,
            version: word(record, 4)?,
            procedure: word(record, 5)?,
        })),
        1 => Some(HeaderPeek::Reply { xid }),
        _ => None,
    }
}

/// Returns `record` with its first word (the XID) replaced by `xid`,
/// copying only when the buffer is shared. Records shorter than 4 bytes
/// come back unchanged.
pub fn with_xid(record: Bytes, xid: u32) -> Bytes {
    if record.len() < 4 {
        return record;
    }
    let mut buf = match record.try_into_mut() {
        Ok(buf) => buf,
        Err(shared) => BytesMut::from(&shared[..]),
    };
    buf[..4].copy_from_slice(&xid.to_be_bytes());
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_records() {
        for n in 0..24 {
            let rec = vec![0u8; n];
            let p = peek(&rec);
            if n < 24 {
                assert_eq!(p, None, "{n}");
            }
        }
        let reply = [0, 0, 0, 5, 0, 0, 0, 1];
        assert_eq!(peek(&reply), Some(HeaderPeek::Reply { xid: 5 }));
        assert_eq!(peek(&[0, 0, 0, 5, 0, 0, 0, 2]), None);
        assert_eq!(peek_xid(&[1, 2, 3]), None);
    }

    #[test]
    fn xid_rewrite_shared_and_unique() {
        let unique = Bytes::from(vec![0, 0, 0, 1, 9, 9]);
        assert_eq!(
            &with_xid(unique, 0xAABBCCDD)[..],
            &[0xAA, 0xBB, 0xCC, 0xDD, 9, 9]
        );
        let shared = Bytes::from(vec![0, 0, 0, 1, 9]);
        let keep = shared.clone();
        assert_eq!(&with_xid(shared, 2)[..], &[0, 0, 0, 2, 9]);
        assert_eq!(&keep[..], &[0, 0, 0, 1, 9]);
        assert_eq!(&with_xid(Bytes::from_static(&[1]), 2)[..], &[1]);
    }
}
