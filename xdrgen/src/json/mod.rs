//! XDR bytes to JSON and back, by interpreting a checked [`Model`](crate::model::Model)
//! directly: no Rust is generated or compiled. The `xdrgen decode`,
//! `xdrgen encode` and `xdrgen decode-rpc` commands run on this.
//!
//! The JSON form of each XDR type (RFC 4506 section 4):
//!
//! | XDR | JSON |
//! |---|---|
//! | `int`, `unsigned int`, `hyper`, `unsigned hyper` | a number |
//! | `float`, `double` | a number; `"Infinity"`, `"-Infinity"`, `"NaN"` (the quiet NaN without payload), `"NaN(0x7fc00001)"` (any other NaN, its bits) |
//! | `bool` | `true` / `false` |
//! | enum | the member's name as a string (`"MNT3_OK"`) |
//! | struct | an object with the fields' `.x` names, in order |
//! | union | an object: the discriminant under its `.x` name, then the arm's field (none for `void`; under its Rust name, `stat2`, when its `.x` name repeats the discriminant's) |
//! | `opaque` (fixed or variable) | a lowercase hex string |
//! | `string` | a string when the bytes are UTF-8, else `{"hex": "..."}` |
//! | fixed or variable array, linked list | an array |
//! | optional-data (`T *x`) | `null` or the value |
//!
//! Decoding never panics and never recurses without bound: nesting of
//! objects and arrays is limited to [`MAX_DEPTH`], lengths are checked
//! against the input left before anything is allocated, and linked lists
//! are read in a loop.

mod decode;
mod encode;
mod error;
mod path;
mod rpc;
mod types;

pub use decode::{decode, hex};
pub use encode::{encode, unhex};
pub use error::Error;
pub use rpc::{decode_rpc_stream, RpcStream};
pub use types::Types;

/// How deeply objects and arrays may nest, in JSON levels, when decoding
/// (deeper input is refused with an error naming the path). Below
/// `serde_json`'s own parsing limit of 128, so every decoded value can be
/// read back by [`encode`].
pub const MAX_DEPTH: usize = 100;
