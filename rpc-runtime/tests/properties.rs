//! Property tests: record marking under arbitrary fragmentation and read
//! splits; message decoders on arbitrary bytes.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rpc_runtime::message::{peek, CallHeader, ReplyHeader};
use rpc_runtime::record::RecordCodec;
use tokio_util::codec::{Decoder, Encoder};
use xdr_codec::XdrDecode;

proptest! {
    #[test]
    fn records_survive_any_fragmenting_and_splitting(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8),
        fragment in 1usize..64,
        read_sizes in prop::collection::vec(1usize..50, 1..40),
    ) {
        let mut enc = RecordCodec::builder().max_fragment_bytes(fragment).new_codec();
        let mut wire = BytesMut::new();
        for r in &records {
            enc.encode(Bytes::from(r.clone()), &mut wire).unwrap();
        }
        let mut dec = RecordCodec::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut sizes = read_sizes.iter().cycle();
        while !wire.is_empty() {
            let n = (*sizes.next().unwrap()).min(wire.len());
            buf.extend_from_slice(&wire.split_to(n));
            while let Some(r) = dec.decode(&mut buf).unwrap() {
                out.push(r.to_vec());
            }
        }
        prop_assert_eq!(out, records);
        prop_assert!(dec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = peek(&data);
        let _ = CallHeader::from_xdr_bytes(data.clone());
        let _ = ReplyHeader::from_xdr_bytes(data.clone());
        let mut dec = RecordCodec::builder().max_record_bytes(100).new_codec();
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(_)) = dec.decode(&mut buf) {}
    }
}
