//! `xdrgen` compiles ONC RPC / XDR `.x` specifications (RFC 4506 section 6,
//! RFC 5531 section 12, plus what rpcgen accepts) into Rust: types with
//! `xdr_codec` encode/decode impls, an async client and a server trait per
//! program version (run by `rpc_runtime`).
//!
//! The pipeline, one module each: [`parse_file`] (preprocess, lex, parse)
//! -> [`ast`] -> [`model::check`] (resolution and semantic checks; every
//! error collected as a [`Diagnostic`]) -> [`codegen::emit`] (formatted
//! Rust). Front ends: [`generate`] (one call for all of it), the
//! [`Builder`] for `build.rs`, and the `xdrgen` command.
//!
//! ```no_run
//! // build.rs
//! xdrgen::Builder::new().compile(&["/usr/include/rpcsvc/mount.x"])?;
//! # Ok::<(), xdrgen::BuildError>(())
//! ```
pub mod ast;
pub mod diagnostic;
mod lexer;
mod parser;
mod preprocess;
pub mod source;
pub use diagnostic::Diagnostic;
pub use parser::{parse_file, parse_str, ParseOptions};
pub use source::{FileId, SourceMap, Span};
mod builder;
pub mod codegen;
mod generate;
pub mod json;
pub mod model;
pub use builder::{BuildError, Builder};
pub use codegen::EmitOptions;
pub use generate::{generate, generate_many, generate_str, GenerateError, Generated, Options};
