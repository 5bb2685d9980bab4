//! Impls for the built-in XDR types: int, unsigned int, hyper, unsigned
//! hyper, float, double, bool, void (RFC 4506 sections 4.1 - 4.8, 4.16).

use crate::decoder::Decoder;
use crate::encoder::Encoder;
use crate::error::Result;
use crate::traits::{XdrDecode, XdrEncode};

macro_rules! primitive {
    ($t:ty, $len:expr, $put:ident, $get:ident, $to:expr, $from:expr) => {
        impl XdrEncode for $t {
            #[inline]
            fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
                enc.$put($to(*self));
                Ok(())
            }
            #[inline]
            fn encoded_len_hint(&self) -> usize {
                $len
            }
        }
        impl XdrDecode for $t {
            const MIN_ENCODED_LEN: usize = $len;
            #[inline]
            fn decode(dec: &mut Decoder) -> Result<Self> {
                dec.$get().map($from)
            }
        }
    };
}

fn id<T>(v: T) -> T {
    v
}

primitive!(i32, 4, put_i32, get_i32, id, id);
primitive!(u32, 4, put_u32, get_u32, id, id);
primitive!(i64, 8, put_i64, get_i64, id, id);
primitive!(u64, 8, put_u64, get_u64, id, id);
primitive!(bool, 4, put_bool, get_bool, id, id);
// IEEE 754 single and double precision (RFC 4506 sections 4.6, 4.7): the
// bit pattern travels unchanged, so NaN payloads survive a round trip.
primitive!(f32, 4, put_u32, get_u32, f32::to_bits, f32::from_bits);
primitive!(f64, 8, put_u64, get_u64, f64::to_bits, f64::from_bits);

/// `void` (RFC 4506 section 4.16): no bytes.
impl XdrEncode for () {
    #[inline]
    fn encode(&self, _enc: &mut Encoder<'_>) -> Result<()> {
        Ok(())
    }
}

impl XdrDecode for () {
    #[inline]
    fn decode(_dec: &mut Decoder) -> Result<Self> {
        Ok(())
    }
}

impl<T: XdrEncode + ?Sized> XdrEncode for &T {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        (**self).encode(enc)
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        (**self).encoded_len_hint()
    }
}

/// Boxes add a nesting level on decode: recursive types need a `Box`
/// somewhere, so this bounds their depth.
impl<T: XdrEncode + ?Sized> XdrEncode for Box<T> {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        (**self).encode(enc)
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        (**self).encoded_len_hint()
    }
}

impl<T: XdrDecode> XdrDecode for Box<T> {
    const MIN_ENCODED_LEN: usize = T::MIN_ENCODED_LEN;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        dec.nested(|d| T::decode(d).map(Box::new))
    }
}

/// Optional-data, `type *name;` (RFC 4506 section 4.19): a bool, then the
/// value when it is TRUE.
impl<T: XdrEncode> XdrEncode for Option<T> {
    #[inline]
    fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
        match self {
            None => {
                enc.put_bool(false);
                Ok(())
            }
            Some(v) => {
                enc.put_bool(true);
                v.encode(enc)
            }
        }
    }
    #[inline]
    fn encoded_len_hint(&self) -> usize {
        4 + self.as_ref().map_or(0, XdrEncode::encoded_len_hint)
    }
}

impl<T: XdrDecode> XdrDecode for Option<T> {
    const MIN_ENCODED_LEN: usize = 4;
    #[inline]
    fn decode(dec: &mut Decoder) -> Result<Self> {
        if dec.get_bool()? {
            T::decode(dec).map(Some)
        } else {
            Ok(None)
        }
    }
}

macro_rules! tuple {
    ($($n:tt $t:ident),+) => {
        /// Several arguments of one procedure (rpcgen's newstyle), encoded
        /// one after the other.
        impl<$($t: XdrEncode),+> XdrEncode for ($($t,)+) {
            #[inline]
            fn encode(&self, enc: &mut Encoder<'_>) -> Result<()> {
                $(self.$n.encode(enc)?;)+
                Ok(())
            }
            #[inline]
            fn encoded_len_hint(&self) -> usize {
                0 $(+ self.$n.encoded_len_hint())+
            }
        }
        impl<$($t: XdrDecode),+> XdrDecode for ($($t,)+) {
            const MIN_ENCODED_LEN: usize = 0 $(+ $t::MIN_ENCODED_LEN)+;
            #[inline]
            fn decode(dec: &mut Decoder) -> Result<Self> {
                Ok(($($t::decode(dec)?,)+))
            }
        }
    };
}

tuple!(0 A);
tuple!(0 A, 1 B);
tuple!(0 A, 1 B, 2 C);
tuple!(0 A, 1 B, 2 C, 3 D);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);
