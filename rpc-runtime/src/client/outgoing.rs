//! [`Outgoing`]: a call record on its way to the socket, built so that
//! the common case (a record that fits one fragment) is written with one
//! contiguous buffer and no copy: the caller encodes the call after four
//! bytes of room, and the record mark (RFC 5531 section 11) is written
//! into that room.
//!
//! ```text
//! built by the caller:  | room (4) | xid | CALL | rpcvers | prog | ... | args |
//! one fragment:         |1| len(31)| record ...                              |  -> written as is
//! over the fragment size: the room is skipped and the record is cut into
//!                       fragments, each preceded by its own 4-byte header
//! ```

use bytes::{Bytes, BytesMut};

use crate::message::with_xid;
use crate::record::{fragment_header, Outbox, RecordError, COPY_BELOW_BYTES, MAX_FRAGMENT_BYTES};

/// Bytes reserved in front of a call record for its record mark.
pub(super) const MARK_ROOM: usize = 4;

/// A call record ready to be written: on a stream as one or more
/// fragments, on UDP as one datagram.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    xid: u32,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// The record mark of a one-fragment record, then the record.
    Marked(Bytes),
    /// The record alone; fragment headers are added when it is queued.
    Bare(Bytes),
    /// A one-fragment record in pieces, the first starting with its
    /// record mark (stream transports only).
    MarkedPieces(Vec<Bytes>),
}

impl Outgoing {
    /// Takes a buffer holding [`MARK_ROOM`] reserved bytes followed by
    /// the record (of call `xid`). Writes the record mark into the room
    /// when the record fits in one fragment of `max_fragment_bytes`.
    pub(super) fn from_buffer(xid: u32, mut buf: BytesMut, max_fragment_bytes: usize) -> Self {
        let total = buf.len();
        let len = total.saturating_sub(MARK_ROOM);
        let body = match buf.get_mut(..MARK_ROOM) {
            Some(room) if len <= max_fragment_bytes && len <= MAX_FRAGMENT_BYTES => {
                room.copy_from_slice(&fragment_header(len, true));
                Body::Marked(buf.freeze())
            }
            _ => Body::Bare(buf.freeze().slice(MARK_ROOM.min(total)..)),
        };
        Outgoing { xid, body }
    }

    /// Takes a record encoded in pieces (see
    /// [`XdrEncode::to_xdr_chunks`](xdr_codec::XdrEncode::to_xdr_chunks)):
    /// `pieces`, the first of which starts with [`MARK_ROOM`] reserved
    /// bytes, then `tail`. Large pieces are written by reference; only the
    /// first (the call header and short arguments) is copied, to put the
    /// record mark in its room. A record over one fragment is copied into
    /// one buffer and cut the usual way (small configured fragments only).
    pub(super) fn from_pieces(
        xid: u32,
        pieces: Vec<Bytes>,
        tail: BytesMut,
        max_fragment_bytes: usize,
    ) -> Self {
        let total: usize = pieces.iter().map(Bytes::len).sum::<usize>() + tail.len();
        let len = total.saturating_sub(MARK_ROOM);
        let one_fragment = len <= max_fragment_bytes && len <= MAX_FRAGMENT_BYTES;
        let mut pieces = pieces.into_iter();
        match (pieces.next(), one_fragment) {
            (Some(first), true) if first.len() >= MARK_ROOM => {
                let mut head = BytesMut::with_capacity(first.len());
                head.extend_from_slice(&fragment_header(len, true));
                head.extend_from_slice(&first[MARK_ROOM..]);
                let mut all = vec![head.freeze()];
                all.extend(pieces);
                all.push(tail.freeze());
                Outgoing {
                    xid,
                    body: Body::MarkedPieces(all),
                }
            }
            (first, _) => {
                let mut buf = BytesMut::with_capacity(total);
                for piece in first.into_iter().chain(pieces) {
                    buf.extend_from_slice(&piece);
                }
                buf.extend_from_slice(&tail);
                Outgoing::from_buffer(xid, buf, max_fragment_bytes)
            }
        }
    }

    /// Takes a complete call record with no room in front (from
    /// [`Client::forward`](crate::Client::forward)) and gives it the XID
    /// `xid` (its first word; records shorter than a word are left
    /// alone). Records shorter than [`COPY_BELOW_BYTES`] are copied once,
    /// behind room for the mark; long ones keep their buffer (copied only
    /// if it is shared) and are written by reference after a separate
    /// mark.
    pub(super) fn with_new_xid(xid: u32, record: Bytes, max_fragment_bytes: usize) -> Self {
        if record.len() < COPY_BELOW_BYTES {
            let mut buf = BytesMut::with_capacity(MARK_ROOM + record.len());
            buf.extend_from_slice(&[0; MARK_ROOM]);
            buf.extend_from_slice(&record);
            if let Some(word) = buf.get_mut(MARK_ROOM..MARK_ROOM + 4) {
                word.copy_from_slice(&xid.to_be_bytes());
            }
            return Outgoing::from_buffer(xid, buf, max_fragment_bytes);
        }
        Outgoing {
            xid,
            body: Body::Bare(with_xid(record, xid)),
        }
    }

    /// The XID of the call.
    pub(super) fn xid(&self) -> u32 {
        self.xid
    }

    /// The record itself (without any record mark): a UDP datagram.
    /// Empty for a record in pieces, which only stream transports build.
    pub(super) fn record(&self) -> &[u8] {
        match &self.body {
            Body::Marked(b) => b.get(MARK_ROOM..).unwrap_or_default(),
            Body::Bare(b) => b,
            Body::MarkedPieces(_) => &[],
        }
    }

    /// The record's length in bytes (without any record mark).
    pub(super) fn record_len(&self) -> usize {
        match &self.body {
            Body::MarkedPieces(pieces) => pieces
                .iter()
                .map(Bytes::len)
                .sum::<usize>()
                .saturating_sub(MARK_ROOM),
            _ => self.record().len(),
        }
    }

    /// Queues the record in `records`: a record built with its record
    /// mark as it is (large pieces by reference), any other cut into
    /// fragments as `records` is configured.
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] over `records`' record limit;
    /// nothing is queued then.
    pub(super) fn push_into(self, records: &mut Outbox) -> Result<(), RecordError> {
        match self.body {
            Body::Marked(b) => records.push_marked([b]),
            Body::MarkedPieces(pieces) => records.push_marked(pieces),
            Body::Bare(record) => records.push(record)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::codec::Decoder;

    use super::*;
    use crate::record::RecordCodec;
    use crate::record::LAST_FRAGMENT_BIT;

    fn outbox(max_fragment: usize) -> Outbox {
        let mut codec = RecordCodec::builder();
        codec.max_fragment_bytes(max_fragment);
        Outbox::new(&codec, true)
    }

    fn written(records: &mut Outbox) -> BytesMut {
        let mut wire = BytesMut::new();
        records
            .try_write(|slices| {
                for s in slices {
                    wire.extend_from_slice(s);
                }
                Ok(slices.iter().map(|s| s.len()).sum())
            })
            .unwrap();
        wire
    }

    fn wire_of(out: Outgoing, max_fragment: usize) -> BytesMut {
        let mut records = outbox(max_fragment);
        out.push_into(&mut records).unwrap();
        written(&mut records)
    }

    fn decode_all(mut wire: BytesMut) -> Vec<Bytes> {
        let mut dec = RecordCodec::builder().new_codec();
        let mut out = Vec::new();
        while let Some(r) = dec.decode(&mut wire).unwrap() {
            out.push(r);
        }
        assert!(wire.is_empty());
        out
    }

    fn record(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn one_fragment_has_the_mark_in_the_room() {
        let rec = record(40);
        let mut buf = BytesMut::from(&[0u8; MARK_ROOM][..]);
        buf.extend_from_slice(&rec);
        let out = Outgoing::from_buffer(7, buf, usize::MAX);
        assert_eq!(out.record(), &rec[..]);
        assert_eq!(out.xid(), 7);
        let wire = wire_of(out, usize::MAX);
        assert_eq!(&wire[..4], &(40u32 | LAST_FRAGMENT_BIT).to_be_bytes());
        assert_eq!(&wire[4..], &rec[..]);
    }

    #[test]
    fn every_shape_decodes_to_the_same_record() {
        for len in [0, 1, 5, 40, 4095, 4096, 10_000] {
            let rec = record(len);
            for frag in [1, 3, 40, 4096, usize::MAX] {
                let mut buf = BytesMut::from(&[9u8; MARK_ROOM][..]);
                buf.extend_from_slice(&rec);
                let a = Outgoing::from_buffer(1, buf, frag);
                assert_eq!(a.record(), &rec[..]);
                let b = Outgoing::with_new_xid(1, Bytes::from(rec.clone()), frag);
                assert_eq!(b.record_len(), len);
                let mut renumbered = rec.clone();
                if let Some(word) = renumbered.get_mut(..4) {
                    word.copy_from_slice(&1u32.to_be_bytes());
                }
                let got = decode_all(wire_of(a, frag));
                assert_eq!(got, vec![Bytes::from(rec.clone())], "len {len} frag {frag}");
                let got = decode_all(wire_of(b, frag));
                assert_eq!(got, vec![Bytes::from(renumbered)], "len {len} frag {frag}");
            }
        }
    }

    #[test]
    fn pieces_decode_to_the_same_record_and_large_ones_are_not_copied() {
        let head = record(40);
        let data = Bytes::from(record(100_000));
        let tail = record(3);
        let mut expected = head.clone();
        expected.extend_from_slice(&data);
        expected.extend_from_slice(&tail);
        for frag in [1, 7, 4096, 100_043, usize::MAX] {
            let mut first = BytesMut::from(&[9u8; MARK_ROOM][..]);
            first.extend_from_slice(&head);
            let out = Outgoing::from_pieces(
                5,
                vec![first.freeze(), data.clone()],
                BytesMut::from(&tail[..]),
                frag,
            );
            assert_eq!(out.record_len(), expected.len());
            let mut records = outbox(frag);
            out.push_into(&mut records).unwrap();
            if frag >= expected.len() {
                // One fragment: the data goes out as the caller's buffer.
                assert!(records.queued_chunks().any(|c| c.as_ptr() == data.as_ptr()));
            }
            let got = decode_all(written(&mut records));
            assert_eq!(got, vec![Bytes::from(expected.clone())], "frag {frag}");
        }
    }
}
