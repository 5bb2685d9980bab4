//! The `.x` compiler (preprocess, parse, check, emit) on arbitrary text:
//! it must end in Rust source or in diagnostics, never in a panic.

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
