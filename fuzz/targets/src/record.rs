//! The record-marking decoder ([`RecordCodec`], RFC 5531 section 11) fed
//! a byte stream in arbitrary pieces, checked against a reference decoder
//! that sees the whole stream at once; the records it returns re-encoded
//! in small fragments and decoded again.

use bytes::{Bytes, BytesMut};
use rpc_runtime::record::{RecordCodec, RecordError, LAST_FRAGMENT_BIT};
use tokio_util::codec::{Decoder, Encoder};

/// Record limits the target picks from (bytes): small ones reach the
/// too-large path with short inputs.
const RECORD_LIMITS: [usize; 4] = [0, 16, 200, 4096];

/// Input: `[limit selector, fragment size, 4 bytes chunking seed, stream...]`.
/// The stream is fed to the codec in pieces of 0 to 63 bytes drawn from
/// the seed, calling `decode` until it returns `None` after each piece,
/// then `decode_eof`.
pub fn record_marking(data: &[u8]) {
    let (Some(&[sel, frag, s0, s1, s2, s3]), Some(stream)) = (data.get(..6), data.get(6..)) else {
        return;
    };
    let limit = RECORD_LIMITS[usize::from(sel) % RECORD_LIMITS.len()];
    let mut builder = RecordCodec::builder();
    builder
        .max_record_bytes(limit)
        .max_fragment_bytes(usize::from(frag));
    let want = reference_decode(stream, limit);
    let mut seed = u32::from_be_bytes([s0, s1, s2, s3]) | 1;
    let (got, end) = decode_in_pieces(&mut builder.new_codec(), stream, &mut seed);
    assert_eq!(got, want.records, "records differ from the reference");
    assert_eq!(
        end, want.end,
        "the stream ends differently from the reference"
    );
    round_trip(&mut builder.new_codec(), &got);
}

/// Feeds `stream` in pieces; returns the records and how it ended.
fn decode_in_pieces(codec: &mut RecordCodec, stream: &[u8], seed: &mut u32) -> (Vec<Bytes>, End) {
    let mut got = Vec::new();
    let mut buf = BytesMut::new();
    let mut rest = stream;
    loop {
        // xorshift32: piece lengths 0..=63 (empty pieces included).
        *seed ^= *seed << 13;
        *seed ^= *seed >> 17;
        *seed ^= *seed << 5;
        let n = (*seed as usize % 64).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        buf.extend_from_slice(piece);
        let at_end = rest.is_empty();
        loop {
            let step = if at_end {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            match step {
                Ok(Some(record)) => got.push(record),
                Ok(None) => break,
                Err(RecordError::RecordTooLarge {
                    size_bytes,
                    max_bytes,
                }) => {
                    assert_eq!(max_bytes, codec.max_record_bytes());
                    return (got, End::TooLarge(size_bytes));
                }
                Err(RecordError::Io(e)) if at_end => {
                    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
                    return (got, End::Partial);
                }
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
        if at_end {
            assert!(buf.is_empty(), "clean end with {} bytes left", buf.len());
            assert!(!codec.in_record(), "clean end inside a record");
            return (got, End::Clean);
        }
    }
}

/// Encodes `records` with the codec's fragment size and decodes them back
/// with the same (fresh) codec.
fn round_trip(codec: &mut RecordCodec, records: &[Bytes]) {
    let mut wire = BytesMut::new();
    for r in records {
        codec
            .encode(r.clone(), &mut wire)
            .expect("a decoded record fits");
    }
    let mut back = Vec::new();
    while let Some(r) = codec
        .decode_eof(&mut wire)
        .expect("re-encoded stream decodes")
    {
        back.push(r);
    }
    assert_eq!(back, records, "re-encoded records differ");
}

/// How the reference decoder's stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Between records.
    Clean,
    /// Inside a record: a header or fragment incomplete, or a record
    /// without its last fragment.
    Partial,
    /// A record of this many bytes (so far) over the limit.
    TooLarge(u64),
}

#[derive(Debug)]
struct Reference {
    records: Vec<Bytes>,
    end: End,
}

/// Record marking read straight off the RFC: 4-byte headers (last bit,
/// 31-bit length), fragments concatenated until a last one.
fn reference_decode(stream: &[u8], limit: usize) -> Reference {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut in_record = false;
    let mut at = 0;
    loop {
        let Some(header) = stream.get(at..at + 4) else {
            let end = if in_record || at < stream.len() {
                End::Partial
            } else {
                End::Clean
            };
            return Reference { records, end };
        };
        let header = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let len = (header & !LAST_FRAGMENT_BIT) as usize;
        let total = (record.len() + len) as u64;
        if total > limit as u64 {
            return Reference {
                records,
                end: End::TooLarge(total),
            };
        }
        let Some(fragment) = stream.get(at + 4..at + 4 + len) else {
            return Reference {
                records,
                end: End::Partial,
            };
        };
        record.extend_from_slice(fragment);
        at += 4 + len;
        in_record = header & LAST_FRAGMENT_BIT == 0;
        if !in_record {
            records.push(Bytes::from(std::mem::take(&mut record)));
        }
    }
}
