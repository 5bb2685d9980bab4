//! Decoding a reply record into results or a typed error.
//!
//! The common reply (MSG_ACCEPTED, an empty verifier, SUCCESS) is
//! recognised by reading its five header words in place; every other
//! reply goes through the full [`ReplyHeader`] decoder, so all of them
//! are checked exactly as RFC 5531 section 9 lays them out.
//!
//! ```text
//! xid | REPLY(1) | MSG_ACCEPTED(0) | verf flavor | verf length(0) | SUCCESS(0) | results...
//! ```

use bytes::{Buf, Bytes};
use xdr_codec::{Decoder, XdrDecode};

use crate::message::{AcceptStat, MsgType, RejectStat, ReplyBody, ReplyHeader};
use crate::RpcError;

/// Bytes before the results of an accepted SUCCESS reply whose verifier
/// has an empty body.
const SUCCESS_HEADER_BYTES: usize = 24;

/// Decodes a reply record: the header's status, then the results, which
/// must fill the rest of the record exactly and nest at most `max_depth`
/// levels deep.
pub(super) fn decode_reply<R: XdrDecode>(reply: Bytes, max_depth: u32) -> Result<R, RpcError> {
    if is_plain_success(&reply) {
        // Advanced, not sliced: a reply that owns its buffer alone keeps
        // it without a reference count.
        let mut reply = reply;
        reply.advance(SUCCESS_HEADER_BYTES);
        let results = Decoder::new(reply).with_max_depth(max_depth);
        return decode_results(results);
    }
    let mut dec = Decoder::new(reply).with_max_depth(max_depth);
    let header = ReplyHeader::decode(&mut dec).map_err(RpcError::Decode)?;
    match header.body {
        ReplyBody::Accepted { stat, .. } => {
            accept_stat_result(stat)?;
            decode_results(dec)
        }
        ReplyBody::Denied(RejectStat::RpcMismatch { low, high }) => {
            Err(RpcError::RpcMismatch { low, high })
        }
        ReplyBody::Denied(RejectStat::AuthError(stat)) => Err(RpcError::AuthError(stat)),
    }
}

/// `Ok` for SUCCESS, else the error an `accept_stat` means.
pub(crate) fn accept_stat_result(stat: AcceptStat) -> Result<(), RpcError> {
    match stat {
        AcceptStat::Success => Ok(()),
        AcceptStat::ProgUnavail => Err(RpcError::ProgUnavail),
        AcceptStat::ProgMismatch { low, high } => Err(RpcError::ProgMismatch { low, high }),
        AcceptStat::ProcUnavail => Err(RpcError::ProcUnavail),
        AcceptStat::GarbageArgs => Err(RpcError::GarbageArgs),
        AcceptStat::SystemErr => Err(RpcError::SystemErr),
    }
}

/// Decodes results that must fill the rest of the decoder exactly.
pub(crate) fn decode_results<R: XdrDecode>(mut dec: Decoder) -> Result<R, RpcError> {
    let r = R::decode(&mut dec).map_err(RpcError::Decode)?;
    dec.finish().map_err(RpcError::Decode)?;
    Ok(r)
}

/// True for a REPLY, MSG_ACCEPTED with an empty verifier body, SUCCESS.
fn is_plain_success(reply: &[u8]) -> bool {
    let word = |i: usize| {
        reply
            .get(i * 4..i * 4 + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
    };
    // Words: xid, mtype, reply_stat, verf flavor, verf length, accept_stat.
    word(1) == Some(MsgType::Reply as u32)
        && word(2) == Some(0)
        && word(4) == Some(0)
        && word(5) == Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{AuthFlavor, AuthStat, OpaqueAuth};
    use xdr_codec::{XdrEncode, DEFAULT_MAX_DEPTH as DEPTH};

    fn reply_with(header: ReplyHeader, results: &[u8]) -> Bytes {
        let mut buf = bytes::BytesMut::new();
        header.encode_into(&mut buf).unwrap();
        buf.extend_from_slice(results);
        buf.freeze()
    }

    #[test]
    fn fast_and_full_paths_agree() {
        let ok = ReplyHeader::accepted(9, AcceptStat::Success);
        let results = 77u32.to_be_bytes();
        assert!(is_plain_success(&reply_with(ok.clone(), &results)));
        assert_eq!(
            decode_reply::<u32>(reply_with(ok.clone(), &results), DEPTH).unwrap(),
            77
        );
        // A verifier with a body takes the full decoder, same result.
        let with_verf = ReplyHeader {
            xid: 9,
            body: ReplyBody::Accepted {
                verifier: OpaqueAuth {
                    flavor: AuthFlavor::SHORT,
                    body: Bytes::from_static(b"abcde"),
                },
                stat: AcceptStat::Success,
            },
        };
        assert!(!is_plain_success(&reply_with(with_verf.clone(), &results)));
        assert_eq!(
            decode_reply::<u32>(reply_with(with_verf, &results), DEPTH).unwrap(),
            77
        );
        // Trailing bytes and short results are errors on the fast path too.
        let mut long = results.to_vec();
        long.extend_from_slice(&[0, 0, 0, 0]);
        assert!(matches!(
            decode_reply::<u32>(reply_with(ok.clone(), &long), DEPTH),
            Err(RpcError::Decode(_))
        ));
        assert!(matches!(
            decode_reply::<u32>(reply_with(ok, &[0, 0]), DEPTH),
            Err(RpcError::Decode(_))
        ));
    }

    #[test]
    fn statuses_become_errors() {
        let cases = [
            (
                ReplyHeader::accepted(1, AcceptStat::ProgMismatch { low: 2, high: 3 }),
                "ProgMismatch",
            ),
            (
                ReplyHeader::accepted(1, AcceptStat::ProcUnavail),
                "ProcUnavail",
            ),
            (
                ReplyHeader::denied(1, RejectStat::AuthError(AuthStat::TooWeak)),
                "AuthError",
            ),
            (
                ReplyHeader::denied(1, RejectStat::RpcMismatch { low: 2, high: 2 }),
                "RpcMismatch",
            ),
        ];
        for (header, name) in cases {
            let err = decode_reply::<()>(reply_with(header, &[]), DEPTH).unwrap_err();
            assert!(format!("{err:?}").starts_with(name), "{err:?}");
        }
        // Too short for a header at all.
        assert!(matches!(
            decode_reply::<()>(Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 1]), DEPTH),
            Err(RpcError::Decode(_))
        ));
    }
}
