//! `XdrEncode::encoded_len_hint` is exact for every type of the crate, and
//! the encoder's word-at-a-time writes produce RFC 4506's layout for every
//! data length (checked against a byte-by-byte reference).

use proptest::prelude::*;
use xdr_codec::{List, Opaque, VarArray, XdrEncode, XdrString};

/// A list element of the property test: an id, a name and a flag.
type Entry = (u64, XdrString, bool);

/// The hint and the actual encoding agree.
fn assert_exact<T: XdrEncode>(v: &T) {
    let wire = v.to_xdr_bytes().unwrap();
    assert_eq!(v.encoded_len_hint(), wire.len());
}

/// RFC 4506 section 4.10, built byte by byte: length, data, zero fill.
fn reference_opaque(data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

#[test]
fn fixed_size_types() {
    assert_exact(&7i32);
    assert_exact(&7u32);
    assert_exact(&-7i64);
    assert_exact(&7u64);
    assert_exact(&true);
    assert_exact(&1.5f32);
    assert_exact(&1.5f64);
    assert_exact(&());
    assert_exact(&[1u8, 2, 3, 4, 5]);
    assert_exact(&[0u8; 0]);
    assert_exact(&[1u32, 2, 3]);
    assert_exact(&(1u32, 2u64, false));
}

#[test]
fn hand_written_impls_default_to_unknown() {
    struct Raw;
    impl XdrEncode for Raw {
        fn encode(&self, enc: &mut xdr_codec::Encoder<'_>) -> xdr_codec::Result<()> {
            enc.put_u32(1);
            Ok(())
        }
    }
    assert_eq!(Raw.encoded_len_hint(), 0);
    // The buffer still grows as needed.
    assert_eq!(&Raw.to_xdr_bytes().unwrap()[..], &[0, 0, 0, 1]);
}

#[test]
fn too_long_values_still_get_their_length() {
    let s: XdrString<2> = "abcde".into();
    assert_eq!(s.encoded_len_hint(), 12);
    assert!(s.to_xdr_bytes().is_err());
}

proptest! {
    #[test]
    fn opaque_layout_matches_the_rfc(data in proptest::collection::vec(any::<u8>(), 0..40)) {
        let o: Opaque = data.clone().into();
        let wire = o.to_xdr_bytes().unwrap();
        prop_assert_eq!(&wire[..], &reference_opaque(&data)[..]);
        prop_assert_eq!(o.encoded_len_hint(), wire.len());
        let s = XdrString::<64>::from_bytes(data.clone());
        prop_assert_eq!(&s.to_xdr_bytes().unwrap()[..], &reference_opaque(&data)[..]);
    }

    #[test]
    fn variable_types_are_exact(
        strings in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..9), 0..12),
        flag in any::<bool>(),
        n in any::<u64>(),
    ) {
        let names: Vec<XdrString> = strings.iter().cloned().map(XdrString::from_bytes).collect();
        let array: VarArray<XdrString> = names.iter().cloned().collect();
        assert_exact(&array);
        let list: List<Entry> =
            names.iter().cloned().map(|s| (n, s, flag)).collect();
        assert_exact(&list);
        let nested: Option<Box<(List<Entry>, VarArray<XdrString>)>> =
            flag.then(|| Box::new((list.clone(), array.clone())));
        assert_exact(&nested);
        assert_exact(&&nested);
    }
}
