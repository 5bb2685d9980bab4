//! `XdrEncode::to_xdr_chunks`: the pieces concatenate to exactly what
//! `to_xdr_bytes` produces, and large opaque data is referenced, not
//! copied.

use bytes::Bytes;
use proptest::prelude::*;
use xdr_codec::{Opaque, VarArray, XdrEncode, XdrString, BY_REFERENCE_MIN_BYTES};

fn concat(chunks: &[Bytes]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

fn data(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// A READ-style result: a status, the data, an end-of-file flag.
type ReadResult = (u32, Opaque, bool);

#[test]
fn large_opaque_is_referenced_and_padded() {
    for len in [
        BY_REFERENCE_MIN_BYTES,
        BY_REFERENCE_MIN_BYTES + 1,
        1 << 20,
        (1 << 20) + 3,
    ] {
        let payload = data(len);
        let value: ReadResult = (7, Opaque::new(payload.clone()), true);
        let chunks = value.to_xdr_chunks().unwrap();
        assert_eq!(
            concat(&chunks),
            value.to_xdr_bytes().unwrap().to_vec(),
            "len {len}"
        );
        assert!(
            chunks
                .iter()
                .any(|c| c.as_ptr() == payload.as_ptr() && c.len() == len),
            "len {len}: the data should be one of the pieces, by reference"
        );
    }
}

#[test]
fn small_values_are_one_piece() {
    let value: ReadResult = (7, Opaque::new(data(BY_REFERENCE_MIN_BYTES - 1)), false);
    let chunks = value.to_xdr_chunks().unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0], value.to_xdr_bytes().unwrap());
    assert_eq!(().to_xdr_chunks().unwrap(), vec![Bytes::new()]);
}

#[test]
fn over_maximum_is_refused() {
    let value = Opaque::<16>::new(data(BY_REFERENCE_MIN_BYTES));
    assert!(value.to_xdr_chunks().is_err());
}

proptest! {
    /// Any mix of small and large opaque items, strings and numbers.
    #[test]
    fn pieces_concatenate_to_the_encoding(
        lens in proptest::collection::vec(0usize..3 * BY_REFERENCE_MIN_BYTES, 0..6),
        name in "[a-z]{0,40}",
    ) {
        let items: Vec<Opaque> = lens.iter().map(|&n| Opaque::new(data(n))).collect();
        let value = (
            VarArray::<Opaque>::from(items),
            XdrString::<64>::from(name.as_str()),
            u64::MAX,
        );
        let chunks = value.to_xdr_chunks().unwrap();
        prop_assert_eq!(concat(&chunks), value.to_xdr_bytes().unwrap().to_vec());
    }
}
