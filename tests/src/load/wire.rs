//! The calls of the load clients as records, and their replies as
//! outcomes: RFC 5531 call and reply headers from `rpc_runtime::message`,
//! the datastore arguments and results of `specs/datastore.x`.

use bytes::{Bytes, BytesMut};
use datastore::proto::{DsGetArgs, DsGetRes, DsPutArgs, DsPutRes, DsStatus};
use rpc_runtime::message::{AcceptStat, CallHeader, OpaqueAuth, ReplyBody, ReplyHeader};
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::report::ErrorKind;

/// The datastore program number (`specs/datastore.x`).
pub(super) const DATASTORE_PROGRAM: u32 = 0x2000_DA7A;
/// Its version.
pub(super) const DATASTORE_VERSION: u32 = 1;

/// One procedure call of a load client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    /// `DS_NULL`.
    Null,
    /// `DS_PUT` of a whole object (offset 0, truncate).
    Put {
        /// The key.
        key: String,
        /// The object's new contents.
        data: Bytes,
    },
    /// `DS_GET` of up to `count` bytes from offset 0.
    Get {
        /// The key.
        key: String,
        /// Bytes asked for.
        count: u32,
    },
}

/// The procedure of an [`Op`], which decides how its reply decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Procedure {
    /// `DS_NULL`.
    Null,
    /// `DS_PUT`.
    Put,
    /// `DS_GET`.
    Get,
}

impl Op {
    /// The procedure called.
    pub(super) fn procedure(&self) -> Procedure {
        match self {
            Op::Null => Procedure::Null,
            Op::Put { .. } => Procedure::Put,
            Op::Get { .. } => Procedure::Get,
        }
    }
}

/// What a reply said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// NULL answered, or a PUT acknowledged (`DS_OK`).
    Done,
    /// A GET's data (`DS_OK`).
    Data(Bytes),
    /// A GET of a key the server does not have (`DS_NOENT`).
    NoEntry,
    /// Anything else: an RPC error, a datastore status, a reply that does
    /// not decode.
    Error(ErrorKind),
}

/// The record of call `op` with XID `xid` (AUTH_NONE).
///
/// # Errors
///
/// The encoder's error (a key or data above the protocol's bounds).
pub(super) fn call_record(xid: u32, op: &Op) -> xdr_codec::Result<Bytes> {
    let procedure = match op.procedure() {
        Procedure::Null => 0,
        Procedure::Put => 1,
        Procedure::Get => 2,
    };
    let header = CallHeader::new(
        xid,
        DATASTORE_PROGRAM,
        DATASTORE_VERSION,
        procedure,
        OpaqueAuth::none(),
    );
    let mut buf = BytesMut::new();
    header.encode_into(&mut buf)?;
    match op {
        Op::Null => {}
        Op::Put { key, data } => DsPutArgs {
            key: key.as_str().into(),
            offset: 0,
            truncate: true,
            data: data.clone().into(),
        }
        .encode_into(&mut buf)?,
        Op::Get { key, count } => DsGetArgs {
            key: key.as_str().into(),
            offset: 0,
            count: *count,
        }
        .encode_into(&mut buf)?,
    }
    Ok(buf.freeze())
}

/// The XID of reply `record`, or `None` for a record that is not a reply.
pub(super) fn reply_xid(record: &[u8]) -> Option<u32> {
    let peek = rpc_runtime::message::peek(record)?;
    (peek.msg_type() == rpc_runtime::message::MsgType::Reply).then(|| peek.xid())
}

/// What reply `record` to a call of `procedure` says.
pub(super) fn outcome(procedure: Procedure, record: Bytes) -> Outcome {
    let mut dec = Decoder::new(record);
    let header = match ReplyHeader::decode(&mut dec) {
        Ok(h) => h,
        Err(_) => return Outcome::Error(ErrorKind::GarbageReply),
    };
    match header.body {
        ReplyBody::Accepted {
            stat: AcceptStat::Success,
            ..
        } => {}
        ReplyBody::Accepted { stat, .. } => {
            return Outcome::Error(ErrorKind::Accept(stat.to_u32()))
        }
        ReplyBody::Denied(_) => return Outcome::Error(ErrorKind::Denied),
    }
    match procedure {
        Procedure::Null => match <()>::decode(&mut dec) {
            Ok(()) => Outcome::Done,
            Err(_) => Outcome::Error(ErrorKind::GarbageReply),
        },
        Procedure::Put => match DsPutRes::decode(&mut dec) {
            Ok(DsPutRes::DsOk(_)) => Outcome::Done,
            Ok(DsPutRes::Default(s)) => Outcome::Error(ErrorKind::Status(s as i32)),
            Err(_) => Outcome::Error(ErrorKind::GarbageReply),
        },
        Procedure::Get => match DsGetRes::decode(&mut dec) {
            Ok(DsGetRes::DsOk(ok)) => Outcome::Data(ok.data.into()),
            Ok(DsGetRes::Default(DsStatus::DsNoent)) => Outcome::NoEntry,
            Ok(DsGetRes::Default(s)) => Outcome::Error(ErrorKind::Status(s as i32)),
            Err(_) => Outcome::Error(ErrorKind::GarbageReply),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpc_runtime::message::reply::{accepted_error, success};

    #[test]
    fn put_and_get_outcomes_decode_from_server_replies() {
        let put = Procedure::Put;
        let rec = success(7, &DsPutRes::DsOk(8)).expect("encode");
        assert_eq!(reply_xid(&rec), Some(7));
        assert_eq!(outcome(put, rec), Outcome::Done);

        let get = Procedure::Get;
        let rec = success(8, &DsGetRes::Default(DsStatus::DsNoent)).expect("encode");
        assert_eq!(outcome(get, rec), Outcome::NoEntry);
        let rec = accepted_error(9, AcceptStat::SystemErr);
        assert_eq!(
            outcome(get, rec),
            Outcome::Error(ErrorKind::Accept(AcceptStat::SystemErr.to_u32()))
        );
    }

    #[test]
    fn a_call_record_is_not_taken_for_a_reply() {
        let rec = call_record(5, &Op::Null).expect("encode");
        assert_eq!(reply_xid(&rec), None);
    }
}
