//! Byte-for-byte codec compatibility with rpcgen + libtirpc
//! (`tests/c/interop_codec.c`): values encoded by the generated Rust code
//! decode in C and re-encode to the same bytes, and C's encodings decode in
//! Rust to the original value and re-encode to the same bytes.

use std::fmt::Debug;

use interop_tests::interop::compute;
use interop_tests::interop::peers::c_roundtrip;
use interop_tests::interop::random::Rng;
use xdr_codec::{XdrDecode, XdrEncode};

/// Values per type.
const COUNT: u64 = 300;

fn check_type<T>(xdr_type: &str, mut make: impl FnMut(&mut Rng) -> T)
where
    T: XdrEncode + XdrDecode + PartialEq + Debug,
{
    let mut rng = Rng::new(0xc0dec ^ xdr_type.len() as u64);
    let values: Vec<T> = (0..COUNT).map(|_| make(&mut rng)).collect();
    let ours: Vec<Vec<u8>> = values
        .iter()
        .map(|v| v.to_xdr_bytes().map(|b| b.to_vec()))
        .collect::<Result<_, _>>()
        .expect("Rust encodes");
    let theirs = c_roundtrip(xdr_type, &ours).expect("libtirpc decodes and re-encodes every value");
    assert_eq!(theirs.len(), values.len());
    for ((value, our), their) in values.iter().zip(&ours).zip(&theirs) {
        assert_eq!(
            our, their,
            "{xdr_type}: libtirpc re-encodes {value:?} differently"
        );
        let back = T::from_xdr_bytes(their.clone()).expect("Rust decodes libtirpc's encoding");
        assert_eq!(&back, value, "{xdr_type}: decoded value differs");
        let again = back.to_xdr_bytes().expect("re-encode");
        assert_eq!(
            &again[..],
            &their[..],
            "{xdr_type}: Rust re-encodes differently"
        );
    }
}

#[test]
fn record() {
    check_type("record", Rng::record);
}

#[test]
fn record_summary() {
    check_type("record_summary", |rng| compute::summarize(&rng.record()));
}

#[test]
fn unions() {
    check_type("shape", Rng::shape);
    check_type("value", Rng::value);
}

#[test]
fn linked_lists() {
    check_type("nodelist", |rng| rng.nodes(50));
    check_type("itemlist", |rng| rng.items(50));
}
