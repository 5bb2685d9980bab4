//! Record marking (RFC 5531 section 11) as the driver's connections use
//! it: records are read with [`rpc_runtime::record::RecordReader`] over
//! [`record_codec`] and written through a [`record_outbox`].

use rpc_runtime::record::{Outbox, RecordCodec};

/// The record decoder of the driver's connections: records up to
/// `max_record` bytes.
pub(crate) fn record_codec(max_record: usize) -> RecordCodec {
    RecordCodec::builder()
        .max_record_bytes(max_record)
        .new_codec()
}

/// The record writer of a driver connection (a TCP or Unix socket, which
/// take vectored writes): no record limit of its own (every record was
/// checked against the limit when it was read), fragments as long as
/// record marking allows, so a record is one fragment in practice.
pub(crate) fn record_outbox() -> Outbox {
    let mut codec = RecordCodec::builder();
    codec.max_record_bytes(usize::MAX);
    Outbox::new(&codec, true)
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes};

    use super::*;

    #[test]
    fn one_fragment_with_the_xid_first() {
        let mut out = record_outbox();
        out.push_with_head(
            |head| head.put_u32(0x0102_0304),
            &[Bytes::from_static(b"\x00\x00\x00\x01abcd")],
        )
        .unwrap();
        let mut wire = Vec::new();
        out.try_write(|slices| {
            for s in slices {
                wire.extend_from_slice(s);
            }
            Ok(slices.iter().map(|s| s.len()).sum())
        })
        .unwrap();
        assert_eq!(
            wire,
            b"\x80\x00\x00\x0c\x01\x02\x03\x04\x00\x00\x00\x01abcd".to_vec()
        );
    }
}
