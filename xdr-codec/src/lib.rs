//! XDR, the External Data Representation of RFC 4506: encoding and
//! decoding for every XDR type, built for data read off the network.
//!
//! | XDR (RFC 4506)                       | Rust                                   |
//! |--------------------------------------|----------------------------------------|
//! | `int`, `unsigned int` (4.1, 4.2)     | `i32`, `u32`                           |
//! | `enum` (4.3)                         | a generated Rust enum                  |
//! | `bool` (4.4)                         | `bool`                                 |
//! | `hyper`, `unsigned hyper` (4.5)      | `i64`, `u64`                           |
//! | `float`, `double` (4.6, 4.7)         | `f32`, `f64`                           |
//! | `opaque name[N]` (4.9)               | `[u8; N]`                              |
//! | `opaque name<M>` (4.10)              | [`Opaque<M>`] (zero-copy `Bytes`)      |
//! | `string name<M>` (4.11)              | [`XdrString<M>`] (bytes kept exactly)  |
//! | `type name[N]` (4.12)                | `[T; N]`                               |
//! | `type name<M>` (4.13)                | [`VarArray<T, M>`]                     |
//! | `struct` (4.14)                      | a generated struct                     |
//! | `union` (4.15)                       | a generated Rust enum                  |
//! | `void` (4.16)                        | `()`                                   |
//! | `type *name` (4.19)                  | `Option<T>` (`Option<Box<T>>` if `T` is recursive) |
//! | linked list of `type *next`          | [`List<T>`] (a `Vec`, iterative)       |
//! | such a list's node used by value     | [`NonEmptyList<T>`] (iterative)        |
//!
//! With the `serde` feature, [`XdrString`], [`Opaque`], [`VarArray`],
//! [`List`] and [`NonEmptyList`] implement `Serialize`/`Deserialize` (strings losslessly:
//! text when UTF-8, bytes otherwise), and `serde_array` handles fixed
//! arrays longer than 32 elements.
//!
//! With the `arbitrary` feature, [`XdrString`], [`Opaque`], [`VarArray`],
//! [`List`] and [`NonEmptyList`] implement `arbitrary::Arbitrary` within
//! their declared maxima, and [`arbitrary_nested`] bounds the recursion of
//! generated recursive types (xdrgen's `--arbitrary`), so every value made
//! encodes and decodes back.
//!
//! Hostile input is safe: lengths read off the wire are checked against the
//! declared maximum and against the bytes actually present before anything is
//! allocated, padding must be zero, recursion is bounded by a depth limit,
//! and nothing panics.
//!
//! ```
//! use xdr_codec::{Decoder, XdrDecode, XdrEncode, XdrString};
//! let wire = (7u32, XdrString::<255>::from("hello")).to_xdr_bytes()?;
//! let (n, s) = <(u32, XdrString<255>)>::from_xdr_bytes(wire)?;
//! assert_eq!((n, s.as_str()), (7, Some("hello")));
//! # Ok::<(), xdr_codec::Error>(())
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "arbitrary")]
mod arbitrary_impls;
mod array;
mod byte_store;
mod decoder;
mod encoder;
mod error;
mod list;
mod non_empty_list;
mod opaque;
mod primitives;
#[cfg(feature = "serde")]
mod serde_impls;
mod string;
mod traits;

#[cfg(feature = "arbitrary")]
pub use arbitrary_impls::{arbitrary_nested, ARBITRARY_MAX_DEPTH};
pub use array::VarArray;
pub use bytes::{Bytes, BytesMut};
pub use decoder::{Decoder, DEFAULT_MAX_DEPTH};
pub use encoder::{Encoder, BY_REFERENCE_MIN_BYTES};
pub use error::{Error, ErrorKind, Result};
pub use list::List;
pub use non_empty_list::NonEmptyList;
pub use opaque::Opaque;
#[cfg(feature = "serde")]
pub use serde_impls::serde_array;
pub use string::XdrString;
pub use traits::{XdrDecode, XdrEncode};

/// Zero bytes needed after `len` bytes of opaque data to reach a multiple
/// of 4 (RFC 4506 section 3).
pub const fn padding(len: usize) -> usize {
    (4 - (len % 4)) % 4
}
