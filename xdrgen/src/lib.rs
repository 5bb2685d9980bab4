//! placeholder
pub mod ast;
pub mod source;
