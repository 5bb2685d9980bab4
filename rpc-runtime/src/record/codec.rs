//! [`RecordCodec`] and its builder.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::error::RecordError;
use super::fragment::{fragment_header, fragment_lengths, parse_fragment_header};

/// The last-fragment bit of a fragment header.
pub const LAST_FRAGMENT_BIT: u32 = 0x8000_0000;

/// The largest fragment the header can describe: 2^31 - 1 bytes.
pub const MAX_FRAGMENT_BYTES: usize = 0x7fff_ffff;

/// The default limit on a reassembled record: 4 MiB, room for a 1 MiB
/// NFS READ or WRITE plus headers several times over.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// Bytes of a fragment's body that must have arrived before the decoder
/// reserves room for all of it. Until then it reserves at most this much,
/// so a header alone never allocates the length it announces; after it,
/// one allocation takes the rest and a large fragment is copied once at
/// most (its first 64 KiB) while it arrives.
const MAX_RESERVE_AHEAD_BYTES: usize = 64 * 1024;

/// Record marking (RFC 5531 section 11) as a `tokio_util` codec: decodes
/// a byte stream into records ([`Bytes`]), encodes records (any
/// [`Buf`]) into fragments. See the [module docs](crate::record).
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use rpc_runtime::record::RecordCodec;
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = RecordCodec::builder().max_fragment_bytes(4).new_codec();
/// let mut wire = BytesMut::new();
/// codec.encode(Bytes::from_static(b"hello"), &mut wire)?;
/// assert_eq!(&wire[..], b"\x00\x00\x00\x04hell\x80\x00\x00\x01o");
/// assert_eq!(codec.decode(&mut wire)?, Some(Bytes::from_static(b"hello")));
/// # Ok::<(), rpc_runtime::record::RecordError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordCodec {
    builder: RecordCodecBuilder,
    state: DecodeState,
    /// Fragments of the current record received so far.
    partial: BytesMut,
    /// Set once a fragment without the last-fragment bit is complete,
    /// until the record's last fragment: `partial` alone cannot tell,
    /// since a fragment may be empty.
    mid_record: bool,
}

#[derive(Debug, Clone, Copy)]
enum DecodeState {
    Header,
    Fragment { len: usize, last: bool },
}

/// Configures a [`RecordCodec`].
#[derive(Debug, Clone, Copy)]
pub struct RecordCodecBuilder {
    max_record_bytes: usize,
    max_fragment_bytes: usize,
}

impl Default for RecordCodecBuilder {
    fn default() -> Self {
        RecordCodecBuilder {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_fragment_bytes: MAX_FRAGMENT_BYTES,
        }
    }
}

impl RecordCodecBuilder {
    /// The defaults: records up to [`DEFAULT_MAX_RECORD_BYTES`], written
    /// as one fragment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the largest record, in bytes, that is read or written
    /// (default [`DEFAULT_MAX_RECORD_BYTES`], 4 MiB). Reading, it is
    /// checked against each fragment header before the fragment is
    /// buffered; a larger record is a [`RecordError::RecordTooLarge`].
    pub fn max_record_bytes(&mut self, max: usize) -> &mut Self {
        self.max_record_bytes = max;
        self
    }

    /// Sets the largest fragment written, in bytes (default and upper
    /// bound [`MAX_FRAGMENT_BYTES`]; 0 is treated as 1). Records longer
    /// than this are written as several fragments. Reading accepts any
    /// fragment size.
    pub fn max_fragment_bytes(&mut self, max: usize) -> &mut Self {
        self.max_fragment_bytes = max.clamp(1, MAX_FRAGMENT_BYTES);
        self
    }

    /// The configured record limit, in bytes.
    pub fn record_limit(&self) -> usize {
        self.max_record_bytes
    }

    /// The configured largest fragment written, in bytes.
    pub fn fragment_limit(&self) -> usize {
        self.max_fragment_bytes
    }

    /// Builds a codec with this configuration.
    pub fn new_codec(&self) -> RecordCodec {
        RecordCodec {
            builder: *self,
            state: DecodeState::Header,
            partial: BytesMut::new(),
            mid_record: false,
        }
    }
}

impl Default for RecordCodec {
    fn default() -> Self {
        RecordCodecBuilder::new().new_codec()
    }
}

impl RecordCodec {
    /// A codec with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder to configure limits.
    pub fn builder() -> RecordCodecBuilder {
        RecordCodecBuilder::new()
    }

    /// The largest record read or written, in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.builder.max_record_bytes
    }

    /// True while part of a record has been decoded (a fragment header
    /// or earlier fragments) and the rest has not arrived: the stream
    /// stopped mid-record if it ends or idles now.
    pub fn in_record(&self) -> bool {
        self.mid_record || matches!(self.state, DecodeState::Fragment { .. })
    }

    /// The length in bytes of the fragment being read, once its header
    /// has been decoded and until its body is complete; `None` between
    /// fragments. The decoder itself reserves room gradually (a header
    /// alone never allocates what it announces); a reader that trusts its
    /// peer can reserve room for the whole fragment at once with this
    /// (still within [`RecordCodecBuilder::max_record_bytes`]).
    pub fn fragment_len(&self) -> Option<usize> {
        match self.state {
            DecodeState::Fragment { len, .. } => Some(len),
            DecodeState::Header => None,
        }
    }

    /// The room, in bytes, that decoding the fragment starting `read`
    /// (bytes read into an empty buffer) will reserve: `read`'s length
    /// when it holds no whole fragment header or the header is over the
    /// record limit (decoding refuses it). `whole` is room for all of the
    /// fragment (a trusted peer's, see
    /// [`Reservation`](super::Reservation)); otherwise room for the bytes
    /// read and at most 64 KiB more, what the decoder reserves before the
    /// fragment has shown it is arriving. A reader that allocates its
    /// buffer with this room after a first read elsewhere (on the stack)
    /// does not reallocate it, and copy what it holds, at the header.
    pub(super) fn first_fragment_room(&self, read: &[u8], whole: bool) -> usize {
        let Some(head) = read.first_chunk::<4>() else {
            return read.len();
        };
        if !matches!(self.state, DecodeState::Header) {
            return read.len();
        }
        let (len, _) = parse_fragment_header(*head);
        if self.partial.len() as u64 + len as u64 > self.builder.max_record_bytes as u64 {
            return read.len();
        }
        let body_read = read.len() - head.len();
        let body_room = if whole {
            len
        } else {
            len.min(body_read + MAX_RESERVE_AHEAD_BYTES)
        };
        read.len().max(head.len() + body_room)
    }

    /// [`Decoder::decode`] for a reader that owns `src` and gets a fresh
    /// buffer of its own when `src` is empty (see
    /// [`RecordReader`](super::RecordReader)): a record that is the rest
    /// of a full buffer takes the buffer itself, so no reference count is
    /// set up for it (what `split_to` does to a fresh buffer). A reader
    /// that keeps reading into `src` (such as `FramedRead`) must not use
    /// this: its buffer would start again from nothing.
    pub(super) fn decode_owned(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<Bytes>, RecordError> {
        self.decode_from(src, true)
    }

    /// Decodes the next record from `src`; with `take_whole`, a record
    /// that is the rest of a full buffer takes the buffer (see
    /// [`RecordCodec::decode_owned`]).
    fn decode_from(
        &mut self,
        src: &mut BytesMut,
        take_whole: bool,
    ) -> Result<Option<Bytes>, RecordError> {
        loop {
            match self.state {
                DecodeState::Header => {
                    if src.len() < 4 {
                        // Nothing read yet: nothing to make room for (a
                        // reader holds no buffer while it waits).
                        if !src.is_empty() {
                            src.reserve(4 - src.len());
                        }
                        return Ok(None);
                    }
                    let (len, last) = parse_fragment_header(src.get_u32().to_be_bytes());
                    let total = self.partial.len() as u64 + len as u64;
                    if total > self.builder.max_record_bytes as u64 {
                        return Err(self.too_large(total));
                    }
                    self.state = DecodeState::Fragment { len, last };
                }
                DecodeState::Fragment { len, last } => {
                    if src.len() < len {
                        let missing = len - src.len();
                        // The whole rest once the peer has shown it is
                        // sending the fragment (64 KiB of it), before that
                        // at most 64 KiB: memory stays within the record
                        // limit and a header alone allocates little.
                        if src.len() >= MAX_RESERVE_AHEAD_BYTES {
                            src.reserve(missing);
                        } else {
                            src.reserve(missing.min(MAX_RESERVE_AHEAD_BYTES));
                        }
                        return Ok(None);
                    }
                    let whole = src.len() == len && src.capacity() == len;
                    let data = if take_whole && whole {
                        std::mem::take(src)
                    } else {
                        src.split_to(len)
                    };
                    self.state = DecodeState::Header;
                    self.mid_record = !last;
                    if last {
                        if self.partial.is_empty() {
                            return Ok(Some(data.freeze()));
                        }
                        self.partial.extend_from_slice(&data);
                        return Ok(Some(self.partial.split().freeze()));
                    }
                    self.partial.extend_from_slice(&data);
                }
            }
        }
    }

    fn too_large(&self, size_bytes: u64) -> RecordError {
        RecordError::RecordTooLarge {
            size_bytes,
            max_bytes: self.builder.max_record_bytes,
        }
    }
}

impl Decoder for RecordCodec {
    type Item = Bytes;
    type Error = RecordError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, RecordError> {
        self.decode_from(src, false)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, RecordError> {
        match self.decode(buf)? {
            Some(record) => Ok(Some(record)),
            None if buf.is_empty() && !self.in_record() => Ok(None),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "stream ended inside a record",
            )
            .into()),
        }
    }
}

impl<B: Buf> Encoder<B> for RecordCodec {
    type Error = RecordError;

    fn encode(&mut self, mut record: B, dst: &mut BytesMut) -> Result<(), RecordError> {
        let len = record.remaining();
        if len > self.builder.max_record_bytes {
            return Err(self.too_large(len as u64));
        }
        let frag = self.builder.max_fragment_bytes;
        let fragments = len.div_ceil(frag).max(1);
        dst.reserve(len + 4 * fragments);
        for (n, last) in fragment_lengths(len, frag) {
            dst.put_slice(&fragment_header(n, last));
            dst.put((&mut record).take(n));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(last: bool, data: &[u8]) -> Vec<u8> {
        let mut h = data.len() as u32;
        if last {
            h |= LAST_FRAGMENT_BIT;
        }
        let mut v = h.to_be_bytes().to_vec();
        v.extend_from_slice(data);
        v
    }

    /// Feeds `wire` in pieces cut at `cuts` and collects the records.
    fn decode_in_pieces(codec: &mut RecordCodec, wire: &[u8], cuts: &[usize]) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut buf = BytesMut::new();
        let mut start = 0;
        for &end in cuts.iter().chain(std::iter::once(&wire.len())) {
            buf.extend_from_slice(&wire[start..end]);
            start = end;
            while let Some(r) = codec.decode(&mut buf).unwrap() {
                out.push(r);
            }
        }
        assert!(buf.is_empty());
        out
    }

    fn two_records_wire() -> (Vec<u8>, Vec<Bytes>) {
        let mut wire = frag(false, b"abc");
        wire.extend(frag(false, b""));
        wire.extend(frag(true, b"defgh"));
        wire.extend(frag(true, b"single"));
        wire.extend(frag(true, b""));
        let want = vec![
            Bytes::from_static(b"abcdefgh"),
            Bytes::from_static(b"single"),
            Bytes::new(),
        ];
        (wire, want)
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let (wire, want) = two_records_wire();
        for cut in 0..=wire.len() {
            let mut codec = RecordCodec::new();
            assert_eq!(
                decode_in_pieces(&mut codec, &wire, &[cut]),
                want,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn byte_by_byte() {
        let (wire, want) = two_records_wire();
        let cuts: Vec<usize> = (1..wire.len()).collect();
        let mut codec = RecordCodec::new();
        assert_eq!(decode_in_pieces(&mut codec, &wire, &cuts), want);
    }

    #[test]
    fn oversized_header_rejected_before_buffering() {
        let mut codec = RecordCodec::builder().max_record_bytes(16).new_codec();
        let mut buf = BytesMut::from(&(LAST_FRAGMENT_BIT | 17).to_be_bytes()[..]);
        match codec.decode(&mut buf) {
            Err(RecordError::RecordTooLarge {
                size_bytes: 17,
                max_bytes: 16,
            }) => {}
            other => panic!("{other:?}"),
        }
        // The maximum itself is fine.
        let mut codec = RecordCodec::builder().max_record_bytes(16).new_codec();
        let mut buf = BytesMut::from(&frag(true, &[7; 16])[..]);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap().len(), 16);
    }

    #[test]
    fn oversized_across_fragments_rejected() {
        let mut codec = RecordCodec::builder().max_record_bytes(10).new_codec();
        let mut wire = frag(false, &[1; 6]);
        wire.extend(frag(true, &[2; 5]));
        let mut buf = BytesMut::from(&wire[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(RecordError::RecordTooLarge { size_bytes: 11, .. })
        ));
    }

    #[test]
    fn huge_header_does_not_allocate_it() {
        let mut codec = RecordCodec::builder()
            .max_record_bytes(MAX_FRAGMENT_BYTES)
            .new_codec();
        let mut buf = BytesMut::from(&(LAST_FRAGMENT_BIT | 0x7fff_0000).to_be_bytes()[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() <= 2 * MAX_RESERVE_AHEAD_BYTES);
    }

    #[test]
    fn large_fragment_gets_its_room_once_it_is_arriving() {
        let len = 1 << 20;
        let mut codec = RecordCodec::new();
        let mut buf = BytesMut::from(&(LAST_FRAGMENT_BIT | len as u32).to_be_bytes()[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(
            buf.capacity() < len,
            "a header alone reserved {}",
            buf.capacity()
        );
        // The first 64 KiB arrive: room for all the rest is reserved in one
        // step, so the body is not copied again while it arrives.
        buf.extend_from_slice(&vec![1u8; MAX_RESERVE_AHEAD_BYTES]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() >= len);
        let at = buf.as_ptr();
        buf.extend_from_slice(&vec![1u8; len - MAX_RESERVE_AHEAD_BYTES]);
        assert_eq!(buf.as_ptr(), at);
        assert_eq!(codec.decode(&mut buf).unwrap().map(|r| r.len()), Some(len));
    }

    #[test]
    fn first_fragment_room_stays_within_the_policy_and_the_limit() {
        let codec = RecordCodec::builder().max_record_bytes(1 << 20).new_codec();
        let mut read = (LAST_FRAGMENT_BIT | (1 << 20)).to_be_bytes().to_vec();
        read.extend_from_slice(&[0; 100]);
        // Untrusted: what was read and 64 KiB more; trusted: the fragment.
        assert_eq!(
            codec.first_fragment_room(&read, false),
            4 + 100 + MAX_RESERVE_AHEAD_BYTES
        );
        assert_eq!(codec.first_fragment_room(&read, true), 4 + (1 << 20));
        // A short fragment: its own length.
        let short = frag(true, b"abc");
        assert_eq!(codec.first_fragment_room(&short, true), short.len());
        assert_eq!(codec.first_fragment_room(&short, false), short.len());
        // Over the record limit, or no whole header: only what was read.
        let over = (LAST_FRAGMENT_BIT | ((1 << 20) + 1)).to_be_bytes();
        assert_eq!(codec.first_fragment_room(&over, true), 4);
        assert_eq!(codec.first_fragment_room(&read[..3], true), 3);
    }

    #[test]
    fn eof_inside_record_is_an_error() {
        let mut codec = RecordCodec::new();
        let mut buf = BytesMut::from(&frag(false, b"ab")[..]);
        assert!(codec.decode_eof(&mut buf).is_err());
        let mut codec = RecordCodec::new();
        let mut empty = BytesMut::new();
        assert_eq!(codec.decode_eof(&mut empty).unwrap(), None);
    }

    #[test]
    fn eof_after_an_empty_non_last_fragment_is_a_truncated_record() {
        let mut codec = RecordCodec::new();
        let mut buf = BytesMut::from(&frag(false, b"")[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(codec.in_record());
        match codec.decode_eof(&mut buf) {
            Err(RecordError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
        // The record's last fragment ends it: a clean end of stream again.
        let mut codec = RecordCodec::new();
        let mut wire = frag(false, b"");
        wire.extend(frag(true, b""));
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), Some(Bytes::new()));
        assert!(!codec.in_record());
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn encode_splits_into_fragments() {
        let mut codec = RecordCodec::builder().max_fragment_bytes(3).new_codec();
        let mut dst = BytesMut::new();
        codec
            .encode(Bytes::from_static(b"abcdefg"), &mut dst)
            .unwrap();
        let mut want = frag(false, b"abc");
        want.extend(frag(false, b"def"));
        want.extend(frag(true, b"g"));
        assert_eq!(&dst[..], &want[..]);
        // exact multiple: no empty trailing fragment
        dst.clear();
        codec
            .encode(Bytes::from_static(b"abcdef"), &mut dst)
            .unwrap();
        let mut want = frag(false, b"abc");
        want.extend(frag(true, b"def"));
        assert_eq!(&dst[..], &want[..]);
        // empty record: one empty last fragment
        dst.clear();
        codec.encode(Bytes::new(), &mut dst).unwrap();
        assert_eq!(&dst[..], &frag(true, b"")[..]);
    }

    #[test]
    fn encode_chained_buffers_and_limit() {
        let mut codec = RecordCodec::builder().max_record_bytes(8).new_codec();
        let mut dst = BytesMut::new();
        let parts = Bytes::from_static(b"head").chain(Bytes::from_static(b"body"));
        codec.encode(parts, &mut dst).unwrap();
        assert_eq!(&dst[..], &frag(true, b"headbody")[..]);
        assert!(codec
            .encode(Bytes::from_static(b"123456789"), &mut dst)
            .is_err());
    }

    #[test]
    fn encode_decode_round_trip_many_fragment_sizes() {
        let record: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for frag_size in [1, 2, 3, 7, 64, 999, 1000, 1001] {
            let mut codec = RecordCodec::builder()
                .max_fragment_bytes(frag_size)
                .new_codec();
            let mut dst = BytesMut::new();
            codec.encode(Bytes::from(record.clone()), &mut dst).unwrap();
            assert_eq!(&codec.decode(&mut dst).unwrap().unwrap()[..], &record[..]);
        }
    }
}
