//! Record marking (RFC 5531 section 11) for the driver's writes, without
//! copying payloads: [`Frame`]s ([`Transmit`]s cut into a small header and
//! a [`Bytes`] body, written with vectored I/O). Records are read with
//! [`rpc_runtime::record::RecordReader`].

use std::collections::VecDeque;

use bytes::Bytes;
use rpc_runtime::record::{fragment_header, fragment_lengths, RecordCodec, MAX_FRAGMENT_BYTES};

use crate::core::Transmit;

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

/// The record decoder of the driver's connections: records up to
/// `max_record` bytes.
pub(crate) fn record_codec(max_record: usize) -> RecordCodec {
    RecordCodec::builder()
        .max_record_bytes(max_record)
        .new_codec()
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
}
