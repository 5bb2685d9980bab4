//! Hostile and malformed input: every case is a typed error, never a
//! panic, never an allocation sized by a length read off the wire.

use proptest::prelude::*;
use xdr_codec::{
    Decoder, ErrorKind, List, NonEmptyList, Opaque, VarArray, XdrDecode, XdrEncode, XdrString,
};

/// A recursive type like `struct tree { tree *child; }`.
#[derive(Debug, Clone, PartialEq)]
struct Tree {
    child: Option<Box<Tree>>,
}

impl XdrEncode for Tree {
    fn encode(&self, enc: &mut xdr_codec::Encoder<'_>) -> xdr_codec::Result<()> {
        enc.field("Tree.child", &self.child)
    }
}

impl XdrDecode for Tree {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        Ok(Tree {
            child: dec.field("Tree.child")?,
        })
    }
}

#[test]
fn huge_opaque_length_is_refused_before_allocating() {
    // Claims 4 GiB - 1 of data; only 4 bytes follow.
    let wire = [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
    let err = Opaque::<{ u32::MAX }>::from_xdr_slice(&wire).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::LengthExceedsInput {
            len: u32::MAX,
            remaining: 4
        }
    );
}

#[test]
fn huge_array_count_is_refused_before_allocating() {
    let wire = [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1];
    let err = VarArray::<u64>::from_xdr_slice(&wire).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::LengthExceedsInput { .. }));
}

#[test]
fn lengths_above_the_declared_maximum_are_refused_both_ways() {
    let s: XdrString<3> = "four".into();
    assert!(matches!(
        s.to_xdr_bytes().unwrap_err().kind(),
        ErrorKind::LengthExceedsMax { len: 4, max: 3 }
    ));
    let wire = XdrString::<8>::from("four").to_xdr_bytes().unwrap();
    assert!(matches!(
        XdrString::<3>::from_xdr_bytes(wire).unwrap_err().kind(),
        ErrorKind::LengthExceedsMax { len: 4, max: 3 }
    ));
    let a: VarArray<u32, 1> = vec![1, 2].into();
    assert!(matches!(
        a.to_xdr_bytes().unwrap_err().kind(),
        ErrorKind::LengthExceedsMax { len: 2, max: 1 }
    ));
}

#[test]
fn non_zero_padding_is_refused() {
    let wire = [0, 0, 0, 1, b'x', 0, 1, 0];
    assert_eq!(
        Opaque::<8>::from_xdr_slice(&wire).unwrap_err().kind(),
        &ErrorKind::NonZeroPadding
    );
    let fixed = [1, 2, 3, 9];
    assert_eq!(
        <[u8; 3]>::from_xdr_slice(&fixed).unwrap_err().kind(),
        &ErrorKind::NonZeroPadding
    );
}

/// Every length of data that needs padding (1 to 3 bytes of it), with a
/// non-zero byte in each padding position, is refused, and the data with
/// zero padding is accepted, whatever bytes the data ends with.
#[test]
fn every_non_zero_padding_byte_is_refused() {
    for len in 1..=11u8 {
        let pad = usize::from((4 - len % 4) % 4);
        let mut wire = vec![0, 0, 0, len];
        wire.extend((0..len).map(|i| 0xff - i));
        wire.extend(std::iter::repeat_n(0, pad));
        let ok = Opaque::<16>::from_xdr_slice(&wire).expect("zero padding");
        assert_eq!(ok.len(), usize::from(len));
        let string = XdrString::<16>::from_xdr_slice(&wire).expect("zero padding");
        assert_eq!(string.len(), usize::from(len));
        for at in wire.len() - pad..wire.len() {
            let mut bad = wire.clone();
            bad[at] = 1;
            assert_eq!(
                Opaque::<16>::from_xdr_slice(&bad).unwrap_err().kind(),
                &ErrorKind::NonZeroPadding,
                "len {len}, padding byte {at}"
            );
        }
    }
}

#[test]
fn invalid_bool_is_refused() {
    assert_eq!(
        bool::from_xdr_slice(&[0, 0, 0, 2]).unwrap_err().kind(),
        &ErrorKind::InvalidBool(2)
    );
}

#[test]
fn trailing_bytes_are_refused_by_from_xdr_bytes() {
    assert_eq!(
        u32::from_xdr_slice(&[0, 0, 0, 1, 0]).unwrap_err().kind(),
        &ErrorKind::TrailingBytes { count: 1 }
    );
}

#[test]
fn deep_recursion_hits_the_depth_limit_not_the_stack() {
    // A tree far deeper than the limit.
    let err = Tree::from_xdr_bytes(tree_wire(100_000)).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::DepthLimitExceeded {
            max: xdr_codec::DEFAULT_MAX_DEPTH
        }
    );
    assert!(err.to_string().starts_with("Tree.child > Tree.child"));
}

/// Runs `f` on a thread with a 256 KiB stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn a_long_linked_list_decodes_iteratively_on_a_small_stack() {
    let n = 1_000_000u32;
    let list: List<u32> = (0..n).collect();
    let len = on_small_stack(move || {
        let wire = list.to_xdr_bytes().unwrap();
        assert_eq!(wire.len(), (n as usize) * 8 + 4);
        let back = List::<u32>::from_xdr_bytes(wire).unwrap();
        assert_eq!(back, list);
        back.len()
    });
    assert_eq!(len, n as usize);
}

#[test]
fn a_long_chain_from_a_node_by_value_decodes_iteratively_on_a_small_stack() {
    let n = 1_000_000u32;
    let mut chain = NonEmptyList::new(0u32);
    chain.extend(1..n);
    let len = on_small_stack(move || {
        let wire = chain.to_xdr_bytes().unwrap();
        // The first node bare, then TRUE + node for each other, then FALSE.
        assert_eq!(wire.len(), (n as usize) * 8);
        assert_eq!(chain.encoded_len_hint(), wire.len());
        let back = NonEmptyList::<u32>::from_xdr_bytes(wire).unwrap();
        assert_eq!(back, chain);
        back.len()
    });
    assert_eq!(len, n as usize);
    // Truncated after the first node: the chain's end marker is missing.
    assert!(matches!(
        NonEmptyList::<u32>::from_xdr_slice(&[0, 0, 0, 7])
            .unwrap_err()
            .kind(),
        ErrorKind::UnexpectedEof { .. }
    ));
}

/// `depth` nested trees, each present: `depth` TRUE flags, then FALSE.
fn tree_wire(depth: usize) -> Vec<u8> {
    let mut wire = [0, 0, 0, 1].repeat(depth);
    wire.extend_from_slice(&[0, 0, 0, 0]);
    wire
}

#[test]
fn the_depth_limit_is_set_per_decoder() {
    let deeper = xdr_codec::DEFAULT_MAX_DEPTH as usize + 1;
    let refused = Tree::from_xdr_bytes(tree_wire(deeper)).unwrap_err();
    assert!(matches!(
        refused.kind(),
        ErrorKind::DepthLimitExceeded { max } if *max == xdr_codec::DEFAULT_MAX_DEPTH
    ));
    let mut dec = Decoder::new(tree_wire(deeper)).with_max_depth(1000);
    assert_eq!(dec.max_depth(), 1000);
    let tree = Tree::decode(&mut dec).unwrap();
    dec.finish().unwrap();
    assert_eq!(tree.to_xdr_bytes().unwrap(), tree_wire(deeper));
    // A lower limit refuses shallower trees.
    let mut dec = Decoder::new(tree_wire(3)).with_max_depth(2);
    assert!(matches!(
        Tree::decode(&mut dec).unwrap_err().kind(),
        ErrorKind::DepthLimitExceeded { max: 2 }
    ));
}

#[test]
fn errors_name_the_failing_element() {
    let wire = [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 7];
    let err = VarArray::<bool>::from_xdr_slice(&wire).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidBool(7));
    assert_eq!(err.path().collect::<Vec<_>>(), vec!["[1]"]);
}

#[test]
fn std_io_error_conversion_keeps_the_message() {
    let err = bool::from_xdr_slice(&[0, 0, 0, 5]).unwrap_err();
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
    assert!(io.to_string().contains("invalid bool value 5"));
}

type Composite = (
    VarArray<(i32, XdrString<16>), 8>,
    Option<Box<(u64, Opaque<64>)>>,
    List<(bool, [u8; 3])>,
    [f64; 2],
);

proptest! {
    /// Any bytes at all: decoding returns Ok or Err, never panics, and what
    /// decodes re-encodes to exactly the bytes it consumed.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut dec = Decoder::new(bytes.clone());
        if let Ok(v) = Composite::decode(&mut dec) {
            let used = dec.position();
            prop_assert_eq!(&v.to_xdr_bytes().unwrap()[..], &bytes[..used]);
        }
    }

    /// Every truncation of a valid encoding fails with an error.
    #[test]
    fn every_truncation_is_an_error(
        a in proptest::collection::vec((any::<i32>(), "[a-z]{0,16}"), 0..8),
        b in proptest::option::of((any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64))),
        c in proptest::collection::vec((any::<bool>(), any::<[u8; 3]>()), 0..5),
        d in any::<[f64; 2]>(),
    ) {
        let value: Composite = (
            a.into_iter().map(|(n, s)| (n, XdrString::from(s))).collect(),
            b.map(|(n, o)| Box::new((n, Opaque::from(o)))),
            c.into_iter().collect(),
            d,
        );
        let wire = value.to_xdr_bytes().unwrap();
        prop_assert_eq!(wire.len() % 4, 0);
        for cut in 0..wire.len() {
            prop_assert!(Composite::from_xdr_bytes(wire.slice(..cut)).is_err());
        }
        let back = Composite::from_xdr_bytes(wire.clone()).unwrap();
        // NaN != NaN: compare re-encodings, which are bit-exact.
        prop_assert_eq!(back.to_xdr_bytes().unwrap(), wire);
    }
}
