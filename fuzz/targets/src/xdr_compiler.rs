//! The `.x` compiler (preprocess, parse, check, emit) on arbitrary text:
//! it must end in Rust source or in diagnostics, never in a panic.

use crate::AllocBound;

/// The compiler's allocation bound: 384 bytes per input byte plus 2 MiB.
/// A token costs about 300 bytes across the lexer's, the preprocessor's
/// and the parser's vectors (and `;` is a token per byte), and macro
/// replacement may add 4,096 tokens beyond one per token read; anything
/// growing faster than the input (error text per error per use, say)
/// still crosses it well within the fuzzer's 4 KiB inputs.
pub const BOUND: AllocBound = AllocBound {
    per_input_byte: 384,
    slack: 2 << 20,
};

/// Input: the text of a `.x` file (invalid UTF-8 replaced, as the
/// compiler does when it reads a file). Compiled in memory, so
/// `#include` finds nothing on disk.
pub fn xdr_compiler(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match xdrgen::generate_str("fuzz.x", &text, &xdrgen::Options::default()) {
        Ok(generated) => assert!(generated.code.contains("@generated")),
        Err(e) => {
            assert!(!e.diagnostics.is_empty(), "an error without diagnostics");
            assert!(!e.rendered.is_empty(), "diagnostics rendered to nothing");
        }
    }
}
