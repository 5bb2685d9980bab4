//! The wire format of each primitive, checked against RFC 4506's layouts.

use proptest::prelude::*;
use xdr_codec::{BytesMut, Decoder, Encoder, Opaque, XdrDecode, XdrEncode, XdrString};

fn wire<T: XdrEncode>(v: T) -> Vec<u8> {
    v.to_xdr_bytes().unwrap().to_vec()
}

#[test]
fn integers_are_big_endian() {
    assert_eq!(wire(-2i32), [0xff, 0xff, 0xff, 0xfe]);
    assert_eq!(wire(0x0102_0304u32), [1, 2, 3, 4]);
    assert_eq!(wire(-1i64), [0xff; 8]);
    assert_eq!(wire(0x0102_0304_0506_0708u64), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(wire(true), [0, 0, 0, 1]);
    assert_eq!(wire(()), [0u8; 0]);
}

#[test]
fn floats_are_ieee_754_big_endian() {
    assert_eq!(wire(1.0f32), [0x3f, 0x80, 0, 0]);
    assert_eq!(wire(-2.0f64), [0xc0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn opaque_and_strings_are_padded_to_four_bytes() {
    assert_eq!(wire([1u8, 2, 3, 4, 5]), [1, 2, 3, 4, 5, 0, 0, 0]);
    assert_eq!(
        wire(Opaque::<{ u32::MAX }>::from(vec![9u8; 5])),
        [0, 0, 0, 5, 9, 9, 9, 9, 9, 0, 0, 0]
    );
    assert_eq!(wire(XdrString::<{ u32::MAX }>::from("")), [0, 0, 0, 0]);
}

#[test]
fn decoded_opaque_shares_the_input_buffer() {
    let wire = Opaque::<{ u32::MAX }>::from(vec![7u8; 1024])
        .to_xdr_bytes()
        .unwrap();
    let base = wire.as_ptr() as usize;
    let o = Opaque::<{ u32::MAX }>::from_xdr_bytes(wire.clone()).unwrap();
    assert_eq!(o.as_ptr() as usize, base + 4);
}

#[test]
fn non_utf8_strings_round_trip_exactly() {
    let raw = b"\xff\xfeok\x80";
    let s = XdrString::<{ u32::MAX }>::from_bytes(&raw[..]);
    let back = XdrString::<{ u32::MAX }>::from_xdr_bytes(s.to_xdr_bytes().unwrap()).unwrap();
    assert_eq!(back.as_bytes(), raw);
    assert_eq!(back.as_str(), None);
}

proptest! {
    #[test]
    fn primitives_round_trip(a in any::<i32>(), b in any::<u32>(), c in any::<i64>(), d in any::<u64>(),
                             e in any::<bool>(), f in any::<u32>(), g in any::<u64>()) {
        let v = (a, b, c, d, e, f32::from_bits(f), f64::from_bits(g));
        let w = v.to_xdr_bytes().unwrap();
        prop_assert_eq!(w.len(), 4 + 4 + 8 + 8 + 4 + 4 + 8);
        let back = <(i32, u32, i64, u64, bool, f32, f64)>::from_xdr_bytes(w).unwrap();
        prop_assert_eq!((back.0, back.1, back.2, back.3, back.4), (a, b, c, d, e));
        prop_assert_eq!(back.5.to_bits(), f);
        prop_assert_eq!(back.6.to_bits(), g);
    }
}

#[test]
fn short_strings_and_opaques_decode_exactly_wherever_they_sit() {
    // Short values are copied from a window of the input that depends on
    // where they sit (mid-input, near its end, in an input shorter than
    // the window): every position and length around the inline limit.
    for lead in 0..8u32 {
        for len in 0..=30u8 {
            for trail in 0..8u32 {
                let text: Vec<u8> = (b'a'..).take(usize::from(len)).collect();
                let mut enc = BytesMut::new();
                let mut wire = Encoder::new(&mut enc);
                (0..lead).for_each(|i| wire.put_u32(i));
                wire.put_opaque(&text, u32::MAX).unwrap();
                wire.put_opaque(&text, u32::MAX).unwrap();
                (0..trail).for_each(|i| wire.put_u32(i));
                let mut dec = Decoder::new(enc.freeze());
                for i in 0..lead {
                    assert_eq!(dec.get_u32().unwrap(), i);
                }
                let s = XdrString::<{ u32::MAX }>::decode(&mut dec).unwrap();
                let o = Opaque::<{ u32::MAX }>::decode(&mut dec).unwrap();
                assert_eq!(
                    s.as_bytes(),
                    &text[..],
                    "lead {lead} len {len} trail {trail}"
                );
                assert_eq!(&o[..], &text[..], "lead {lead} len {len} trail {trail}");
                for i in 0..trail {
                    assert_eq!(dec.get_u32().unwrap(), i);
                }
                dec.finish().unwrap();
            }
        }
    }
}
