//! The AUTH_TLS probe and its replies (RFC 9289 section 4.1), and the
//! little record I/O the exchange before TLS needs.

use std::io;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use xdr_codec::{Decoder, XdrDecode, XdrEncode};

use super::{TlsError, AUTH_TLS, STARTTLS_VERIFIER};
use crate::message::reply::denied;
use crate::message::{
    AcceptStat, AuthFlavor, AuthStat, CallHeader, OpaqueAuth, RejectStat, ReplyBody, ReplyHeader,
};
use crate::record::LAST_FRAGMENT_BIT;

/// The largest probe call or probe reply, in bytes: a header with two
/// `opaque_auth` of at most 400 bytes each fits well below it.
pub(super) const MAX_PROBE_BYTES: usize = 1024;

/// Bytes of a call header up to and including the credential flavor:
/// xid, mtype, rpcvers, prog, vers, proc, cred flavor.
pub(super) const PROBE_PEEK_BYTES: usize = 28;

/// A record-marking header: the fragment length and the last-fragment bit.
#[derive(Debug, Clone, Copy)]
pub(super) struct FragmentHeader {
    pub(super) len: usize,
    pub(super) last: bool,
}

impl FragmentHeader {
    pub(super) fn from_word(word: [u8; 4]) -> Self {
        let word = u32::from_be_bytes(word);
        FragmentHeader {
            len: (word & !LAST_FRAGMENT_BIT) as usize,
            last: word & LAST_FRAGMENT_BIT != 0,
        }
    }
}

/// Reads one fragment header; `UnexpectedEof` if the peer closed.
pub(super) async fn read_fragment_header<IO: AsyncRead + Unpin>(
    io: &mut IO,
) -> io::Result<([u8; 4], FragmentHeader)> {
    let mut word = [0u8; 4];
    io.read_exact(&mut word).await?;
    Ok((word, FragmentHeader::from_word(word)))
}

/// Writes `message` as one record of one fragment and flushes.
pub(super) async fn write_record<IO: AsyncWrite + Unpin>(
    io: &mut IO,
    message: &[u8],
) -> io::Result<()> {
    let len = u32::try_from(message.len())
        .ok()
        .filter(|&n| n & LAST_FRAGMENT_BIT == 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "record too long"))?;
    let mut buf = BytesMut::with_capacity(4 + message.len());
    buf.put_u32(len | LAST_FRAGMENT_BIT);
    buf.extend_from_slice(message);
    io.write_all(&buf).await?;
    io.flush().await
}

/// The probe: a NULL call (procedure 0) of `program` `version` with an
/// AUTH_TLS credential (empty body) and an AUTH_NONE verifier.
pub(super) fn probe_call(xid: u32, program: u32, version: u32) -> Bytes {
    let credentials = OpaqueAuth {
        flavor: AUTH_TLS,
        body: Bytes::new(),
    };
    let header = CallHeader::new(xid, program, version, 0, credentials);
    // A header of two empty `opaque_auth` is always encodable.
    header.to_xdr_bytes().unwrap_or_default()
}

/// Checks the reply to the probe with XID `xid`: MSG_ACCEPTED with the
/// AUTH_NONE verifier whose body is "STARTTLS". The `accept_stat` is not
/// looked at (RFC 9289 section 4.1: the client proceeds even if it is
/// not SUCCESS).
pub(super) fn check_probe_reply(message: &[u8], xid: u32) -> Result<(), TlsError> {
    let header = ReplyHeader::decode(&mut Decoder::new(Bytes::copy_from_slice(message)))
        .map_err(|_| TlsError::BadProbeReply("not an RPC reply"))?;
    if header.xid != xid {
        return Err(TlsError::BadProbeReply("XID differs from the probe's"));
    }
    match header.body {
        ReplyBody::Accepted { verifier, .. }
            if verifier.flavor == AuthFlavor::NONE && verifier.body[..] == *STARTTLS_VERIFIER =>
        {
            Ok(())
        }
        _ => Err(TlsError::NotOffered),
    }
}

/// Whether the start of a record (at least [`PROBE_PEEK_BYTES`]) looks
/// like the probe: a CALL of procedure 0 with flavor AUTH_TLS.
pub(super) fn looks_like_probe(head: &[u8]) -> bool {
    let word = |i: usize| head.get(i * 4..i * 4 + 4).map(|w| [w[0], w[1], w[2], w[3]]);
    let is = |i: usize, v: u32| word(i).map(u32::from_be_bytes) == Some(v);
    is(1, 0) && is(5, 0) && is(6, AUTH_TLS.0)
}

/// The XID of a probe call in `message`, if it is one (decodes the whole
/// header, so the credential and verifier are well-formed).
pub(super) fn probe_xid(message: &[u8]) -> Option<u32> {
    let header = CallHeader::decode(&mut Decoder::new(Bytes::copy_from_slice(message))).ok()?;
    (header.procedure == 0 && header.credentials.flavor == AUTH_TLS).then_some(header.xid)
}

/// The server's answer to the probe: SUCCESS with the STARTTLS verifier.
pub(super) fn starttls_reply(xid: u32) -> Bytes {
    let header = ReplyHeader {
        xid,
        body: ReplyBody::Accepted {
            verifier: OpaqueAuth {
                flavor: AuthFlavor::NONE,
                body: Bytes::from_static(STARTTLS_VERIFIER),
            },
            stat: AcceptStat::Success,
        },
    };
    // An 8-byte verifier is always encodable.
    header.to_xdr_bytes().unwrap_or_default()
}

/// The answer to a plain call on a server that requires TLS:
/// AUTH_ERROR with AUTH_TOOWEAK.
pub(super) fn too_weak_reply(xid: u32) -> Bytes {
    denied(xid, RejectStat::AuthError(AuthStat::TooWeak))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_round_trip() {
        let call = probe_call(9, 0x2000_DA7A, 1);
        assert!(looks_like_probe(&call));
        assert_eq!(probe_xid(&call), Some(9));
        assert_eq!(check_probe_reply(&starttls_reply(9), 9).ok(), Some(()));
        assert!(matches!(
            check_probe_reply(&starttls_reply(9), 8),
            Err(TlsError::BadProbeReply(_))
        ));
        assert!(matches!(
            check_probe_reply(&too_weak_reply(9), 9),
            Err(TlsError::NotOffered)
        ));
        let plain = crate::message::reply::accepted_error(9, AcceptStat::Success);
        assert!(matches!(
            check_probe_reply(&plain, 9),
            Err(TlsError::NotOffered)
        ));
    }

    #[test]
    fn probe_wire_words() {
        // RFC 9289 section 4.1 with RFC 5531 section 9: xid, CALL, rpcvers 2,
        // prog, vers, proc 0, cred {7, <>}, verf {0, <>}.
        let call = probe_call(1, 100_003, 4);
        let words: Vec<u32> = call
            .chunks(4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        assert_eq!(words, [1, 0, 2, 100_003, 4, 0, 7, 0, 0, 0]);
        // xid, REPLY, MSG_ACCEPTED, verf {AUTH_NONE, 8, "STARTTLS"}, SUCCESS.
        let reply = starttls_reply(1);
        assert_eq!(
            &reply[..20],
            &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]
        );
        assert_eq!(&reply[20..28], b"STARTTLS");
        assert_eq!(&reply[28..], &[0, 0, 0, 0]);
    }

    #[test]
    fn not_probes() {
        let none = CallHeader::new(3, 1, 1, 0, OpaqueAuth::none())
            .to_xdr_bytes()
            .unwrap();
        assert!(!looks_like_probe(&none));
        assert_eq!(probe_xid(&none), None);
        let tls_proc1 = CallHeader::new(
            3,
            1,
            1,
            1,
            OpaqueAuth {
                flavor: AUTH_TLS,
                body: Bytes::new(),
            },
        )
        .to_xdr_bytes()
        .unwrap();
        assert!(!looks_like_probe(&tls_proc1));
        assert!(!looks_like_probe(&[0; 8]));
    }
}
