//! Record marking (RFC 5531 section 11) on the driver's sockets, without
//! copying payloads: [`Frame`]s to write ([`Transmit`]s cut into a small
//! header and a [`Bytes`] body, written with vectored I/O) and
//! [`RecordReader`], which reads records into buffers sized from the
//! fragment headers.

use std::collections::VecDeque;
use std::io;

use bytes::{Bytes, BytesMut};
use rpc_runtime::record::{
    fragment_header, fragment_lengths, RecordCodec, RecordError, MAX_FRAGMENT_BYTES,
};
use tokio_util::codec::Decoder;

use crate::core::Transmit;
use crate::driver::socket::ReadHalf;

/// Spare room below which the read buffer grows before a read, bytes.
const MIN_READ_BYTES: usize = 4 * 1024;

/// What the read buffer grows by when it runs low, bytes.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A piece of a record to write: up to 8 header bytes (the fragment
/// header, then the XID for the first fragment) and a body that is a
/// slice of the record received, never copied.
///
/// ```text
/// +--------------------------+-----------+------------------+
/// | 1 | length (31 bits)     | XID (4)   | rest (body)      |
/// +--------------------------+-----------+------------------+
/// ```
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    head: [u8; 8],
    head_len: u8,
    /// The bytes after the header.
    pub(crate) body: Bytes,
    /// The record's last frame (a reply is written once this one is).
    pub(crate) ends_record: bool,
}

impl Frame {
    /// The header bytes.
    pub(crate) fn head(&self) -> &[u8] {
        self.head.get(..usize::from(self.head_len)).unwrap_or(&[])
    }

    /// Header plus body, bytes.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.head_len) + self.body.len()
    }

    /// Appends `t` to `out` as one record: one frame (one fragment) in
    /// practice; records over 2^31 - 1 bytes are cut into several
    /// fragments (copied once: the configuration's record limit refuses
    /// them normally).
    pub(crate) fn push_transmit(out: &mut VecDeque<Frame>, t: Transmit) {
        let total = t.len();
        if total <= MAX_FRAGMENT_BYTES {
            let mut head = [0u8; 8];
            head[..4].copy_from_slice(&fragment_header(total, true));
            head[4..].copy_from_slice(&t.xid.to_be_bytes());
            out.push_back(Frame {
                head,
                head_len: 8,
                body: t.rest,
                ends_record: true,
            });
            return;
        }
        let mut record = t.to_record();
        for (n, last) in fragment_lengths(record.len(), MAX_FRAGMENT_BYTES) {
            let chunk = record.split_to(n);
            let mut head = [0u8; 8];
            head[..4].copy_from_slice(&fragment_header(n, last));
            out.push_back(Frame {
                head,
                head_len: 4,
                body: chunk,
                ends_record: last,
            });
        }
    }
}

/// Reads records from a connection with the runtime's record decoder
/// ([`RecordCodec`]) into one growing buffer, handing each out as a
/// [`Bytes`] slice of it (no copy for a record of one fragment, the
/// normal case).
///
/// On a trusted connection (a backend) a fragment's whole length is
/// reserved as soon as its header is read (bounded by the record limit),
/// so a large reply is read straight into place. On a client connection
/// room grows with what has arrived (the decoder's own policy), so a
/// header alone never allocates the length it announces, and while no
/// byte of a record is held no buffer is either: an idle client costs no
/// read buffer.
#[derive(Debug)]
pub(crate) struct RecordReader {
    buf: BytesMut,
    codec: RecordCodec,
    trusted: bool,
}

impl RecordReader {
    /// A reader refusing records over `max_record` bytes; `trusted` as in
    /// the type's docs.
    pub(crate) fn new(max_record: usize, trusted: bool) -> RecordReader {
        RecordReader {
            buf: BytesMut::new(),
            codec: RecordCodec::builder()
                .max_record_bytes(max_record)
                .new_codec(),
            trusted,
        }
    }

    /// True while part of a record has been read.
    pub(crate) fn in_record(&self) -> bool {
        self.codec.in_record() || !self.buf.is_empty()
    }

    /// The next whole record in what has been read, if any.
    ///
    /// # Errors
    ///
    /// [`RecordError::RecordTooLarge`] for a record over the limit.
    pub(crate) fn next_record(&mut self) -> Result<Option<Bytes>, RecordError> {
        self.codec.decode(&mut self.buf)
    }

    /// Reads what the socket has (waiting until it has something) after
    /// making room; 0 at end of file. Cancel-safe.
    ///
    /// # Errors
    ///
    /// The read error.
    pub(crate) async fn fill(&mut self, io: &mut ReadHalf) -> io::Result<usize> {
        if !self.trusted && self.buf.is_empty() {
            // Records handed out keep their own part of the allocation.
            self.buf = BytesMut::new();
            loop {
                io.readable().await?;
                self.buf.reserve(READ_CHUNK_BYTES);
                match io.try_read_buf(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.buf = BytesMut::new();
                    }
                    r => return r,
                }
            }
        }
        let fragment = self.codec.fragment_len();
        if let (true, Some(len)) = (self.trusted, fragment) {
            let missing = len.saturating_sub(self.buf.len());
            self.buf.reserve(missing);
        }
        // Inside a fragment the room is already reserved (above, or by the
        // decoder): growing again would reallocate, and copy, a large
        // fragment just before it completes. Only a full buffer grows.
        let spare = self.buf.capacity() - self.buf.len();
        if spare == 0 || (fragment.is_none() && spare < MIN_READ_BYTES) {
            self.buf.reserve(READ_CHUNK_BYTES);
        }
        io.read_buf(&mut self.buf).await
    }

    /// Decodes records from `bytes` as if read (for tests).
    #[cfg(test)]
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Destination, Transmit};

    fn flatten(frames: &VecDeque<Frame>) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            out.extend_from_slice(f.head());
            out.extend_from_slice(&f.body);
        }
        out
    }

    #[test]
    fn one_fragment_with_the_xid_first() {
        let t = Transmit {
            destination: Destination::Backend(crate::core::ConnId(0)),
            xid: 0x0102_0304,
            rest: Bytes::from_static(b"\x00\x00\x00\x01abcd"),
        };
        let mut frames = VecDeque::new();
        Frame::push_transmit(&mut frames, t);
        assert_eq!(frames.len(), 1);
        assert!(frames.iter().all(|f| f.ends_record));
        assert_eq!(
            flatten(&frames),
            b"\x80\x00\x00\x0c\x01\x02\x03\x04\x00\x00\x00\x01abcd".to_vec()
        );
    }

    #[test]
    fn records_come_back_whole_from_any_split_and_fragmentation() {
        // Two records: "hello" in two fragments, then "xy" in one.
        let wire = b"\x00\x00\x00\x03hel\x80\x00\x00\x02lo\x80\x00\x00\x02xy";
        for cut in 0..=wire.len() {
            let mut r = RecordReader::new(100, false);
            let mut got = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                r.feed(part);
                while let Some(rec) = r.next_record().unwrap() {
                    got.push(rec);
                }
            }
            assert_eq!(
                got,
                vec![Bytes::from_static(b"hello"), Bytes::from_static(b"xy")]
            );
            assert!(!r.in_record());
        }
    }

    #[test]
    fn a_record_over_the_limit_is_refused_at_its_header() {
        let mut r = RecordReader::new(4, true);
        r.feed(b"\x00\x00\x00\x03abc\x80\x00\x00\x02");
        assert!(matches!(
            r.next_record(),
            Err(RecordError::RecordTooLarge {
                size_bytes: 5,
                max_bytes: 4
            })
        ));
    }
}
