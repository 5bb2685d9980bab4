//! The front end: reads a `.x` file, preprocesses it, and parses it into a
//! [`Specification`] (RFC 4506 section 6, RFC 5531 section 12, plus the
//! rpcgen extensions and the dialects found in real files).
//!
//! The pipeline is [`crate::lexer`] (per file) -> [`crate::preprocess`]
//! (directives, macros, includes) -> doc comment attachment -> a
//! hand-written recursive-descent parser. Every stage collects errors and
//! carries on, so one run reports as many problems as it can find; the
//! parser resynchronises at the next `;` or `}`.
//!
//! ```
//! use xdrgen::{parse_str, ParseOptions, SourceMap};
//!
//! let mut sources = SourceMap::new();
//! let spec = parse_str("demo.x", "const MAX = 10;\ntypedef int list<MAX>;\n", &ParseOptions::default(), &mut sources)
//!     .map_err(|errs| xdrgen::diagnostic::render_all(&errs, &sources));
//! assert_eq!(spec.map(|s| s.definitions.len()), Ok(2));
//! ```

mod cursor;
mod definition;
mod doc;
mod passthrough;
mod program;
mod types;

use std::path::{Path, PathBuf};

use crate::ast::Specification;
use crate::diagnostic::Diagnostic;
use crate::preprocess::{preprocess, read_source};
use crate::source::{FileId, SourceMap, Span};

/// Preprocessor settings for one parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Macros defined before the file is read, as by `cpp -DNAME[=VALUE]`:
    /// `(name, None)` defines `name` as empty (enough for `#ifdef`);
    /// `(name, Some(value))` gives it a value. rpcgen defines `RPC_HDR`,
    /// `RPC_XDR`, `RPC_SVC` or `RPC_CLNT` depending on what it emits; by
    /// default nothing is defined.
    pub defines: Vec<(String, Option<String>)>,
    /// Where `#include` looks, in order, after the including file's own
    /// directory (for `"file"`); `<file>` looks only here.
    pub include_dirs: Vec<PathBuf>,
}

impl ParseOptions {
    /// Adds a `#define NAME VALUE` (or `#define NAME` with `None`).
    #[must_use]
    pub fn define(mut self, name: impl Into<String>, value: Option<&str>) -> Self {
        self.defines.push((name.into(), value.map(str::to_owned)));
        self
    }

    /// Adds an include directory.
    #[must_use]
    pub fn include_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.include_dirs.push(dir.into());
        self
    }
}

/// Reads `path` (and the files it `#include`s), preprocesses and parses it.
/// Every file read is added to `sources`, which diagnostics refer to.
///
/// # Errors
///
/// All problems found, in source order (per file, includes first where
/// they were included): an unreadable file, preprocessor errors (bad
/// directives, unterminated `#if`, missing includes), lexical errors (stray
/// characters, malformed numbers) and syntax errors. Name resolution and
/// other semantic checks are not done here.
pub fn parse_file(
    path: &Path,
    opts: &ParseOptions,
    sources: &mut SourceMap,
) -> Result<Specification, Vec<Diagnostic>> {
    let name = path.display().to_string();
    match read_source(path) {
        Ok(text) => {
            let file = sources.add(name, Some(path.to_path_buf()), text);
            parse_source(file, opts, sources)
        }
        Err(msg) => {
            let file = sources.add(name.clone(), Some(path.to_path_buf()), String::new());
            Err(vec![Diagnostic::error(
                Span::new(file, 0, 0),
                format!("cannot read `{name}`: {msg}"),
            )])
        }
    }
}

/// Like [`parse_file`] for text in memory. `name` is what diagnostics print
/// (e.g. `<stdin>`); `#include "file"` is looked up in
/// [`ParseOptions::include_dirs`] only.
///
/// # Errors
///
/// As [`parse_file`].
pub fn parse_str(
    name: &str,
    text: &str,
    opts: &ParseOptions,
    sources: &mut SourceMap,
) -> Result<Specification, Vec<Diagnostic>> {
    let file = sources.add(name, None, text.to_owned());
    parse_source(file, opts, sources)
}

/// The macros rpcgen defines for each of its outputs; when the user
/// defines none of them, `%#define` lines are read as the C header
/// (`RPC_HDR`) sees them.
const RPCGEN_MACROS: [&str; 5] = ["RPC_HDR", "RPC_XDR", "RPC_SVC", "RPC_CLNT", "RPC_TBL"];

/// The integer `%#define` passthrough lines as rpcgen's header output
/// holds them: a second, throw-away preprocessing run with `RPC_HDR`
/// defined. `None` when the user chose an rpcgen macro themselves (then
/// the normal run's defines are the right ones).
fn header_view_defines(
    file: FileId,
    opts: &ParseOptions,
    sources: &SourceMap,
) -> Option<Vec<crate::preprocess::CDefine>> {
    if opts
        .defines
        .iter()
        .any(|(n, _)| RPCGEN_MACROS.contains(&n.as_str()))
    {
        return None;
    }
    if !sources.text(file).contains('%') && sources.paths().count() <= 1 {
        return Some(Vec::new());
    }
    let hdr = opts.clone().define("RPC_HDR", None);
    let mut scratch = sources.clone();
    let mut ignored = Vec::new();
    let (_, defines) = preprocess(file, &hdr, &mut scratch, &mut ignored);
    Some(defines)
}

/// Parses a file already in `sources`.
fn parse_source(
    file: FileId,
    opts: &ParseOptions,
    sources: &mut SourceMap,
) -> Result<Specification, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let (tokens, c_defines) = preprocess(file, opts, sources, &mut diags);
    let c_defines = header_view_defines(file, opts, sources).unwrap_or(c_defines);
    let (tokens, docs) = doc::attach(tokens, sources);
    let mut parser = cursor::Parser::new(tokens, docs);
    let definitions = parser.specification();
    diags.append(&mut parser.diags);
    if diags.is_empty() {
        Ok(Specification {
            definitions,
            passthrough: passthrough::definitions(c_defines),
        })
    } else {
        diags.sort_by_key(|d| d.span);
        diags.dedup();
        Err(diags)
    }
}
