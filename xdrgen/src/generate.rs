//! The one library entry point the CLI and the build.rs builder share:
//! `.x` file -> parse -> check -> emit.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::codegen::{emit, EmitOptions};
use crate::diagnostic::{render_all, Diagnostic};
use crate::model::CheckOptions;
use crate::parser::{parse_file, parse_str, ParseOptions};
use crate::source::SourceMap;

/// Everything that controls one compilation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Preprocessor settings (`-D`, `-I`).
    pub parse: ParseOptions,
    /// What to emit (types, client, server).
    pub emit: EmitOptions,
    /// Types defined outside the file (`--extern-type`).
    pub check: CheckOptions,
}

/// A successful compilation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The Rust source, formatted, starting with an `@generated` header.
    pub code: String,
    /// Every file read: the input and everything it `#include`d.
    pub files_read: Vec<PathBuf>,
}

/// A failed compilation: every error found, rendered as
/// `FILE:LINE:COL: error: MESSAGE` with the source line and a caret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateError {
    /// The errors, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// [`GenerateError::diagnostics`] rendered against their sources.
    pub rendered: String,
    /// Every file read before the errors were found.
    pub files_read: Vec<PathBuf>,
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rendered.trim_end())
    }
}

impl std::error::Error for GenerateError {}

/// Compiles the `.x` file at `path` to Rust source.
///
/// ```no_run
/// let out = xdrgen::generate(std::path::Path::new("mount.x"), &xdrgen::Options::default())?;
/// std::fs::write("mount.rs", out.code)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`GenerateError`] with every problem found: unreadable files,
/// preprocessor and syntax errors, then (if the file parsed) semantic
/// errors from [`crate::model::check`].
pub fn generate(path: &Path, opts: &Options) -> Result<Generated, GenerateError> {
    generate_many(&[path], opts)
}

/// Compiles several `.x` files that belong together into one Rust source,
/// as if they were one specification: each file is preprocessed on its
/// own (its own macros, `#include`s relative to its own directory), then
/// their definitions are checked together, so one file may use the types
/// and constants of another (the Stellar `Stellar-*.x` set, libvirt's
/// `qemu_protocol.x` with `remote_protocol.x`, `nis_callback.x` with
/// `nis.x`). A name defined in two of the files is a duplicate-definition
/// error, as it would be in C.
///
/// ```no_run
/// use std::path::Path;
/// let files = [Path::new("remote_protocol.x"), Path::new("qemu_protocol.x")];
/// let out = xdrgen::generate_many(&files, &xdrgen::Options::default())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`generate`], for all the files: if any file fails to parse, the
/// errors of every file are reported and nothing is checked.
pub fn generate_many(paths: &[&Path], opts: &Options) -> Result<Generated, GenerateError> {
    let mut sources = SourceMap::new();
    let mut definitions = Vec::new();
    let mut passthrough = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match parse_file(path, &opts.parse, &mut sources) {
            Ok(spec) => {
                definitions.extend(spec.definitions);
                passthrough.extend(spec.passthrough);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    let spec = if errors.is_empty() {
        Ok(crate::ast::Specification {
            definitions,
            passthrough,
        })
    } else {
        Err(errors)
    };
    let mut emit_opts = opts.emit.clone();
    if emit_opts.source_name.is_none() {
        let names: Vec<String> = paths
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        emit_opts.source_name = Some(names.join(", "));
    }
    finish(spec, opts, &emit_opts, &sources)
}

/// Compiles `.x` text held in memory; `name` is what diagnostics print
/// (for example `<stdin>`).
///
/// # Errors
///
/// As [`generate`].
pub fn generate_str(name: &str, text: &str, opts: &Options) -> Result<Generated, GenerateError> {
    let mut sources = SourceMap::new();
    let spec = parse_str(name, text, &opts.parse, &mut sources);
    finish(spec, opts, &opts.emit, &sources)
}

fn finish(
    spec: Result<crate::ast::Specification, Vec<Diagnostic>>,
    opts: &Options,
    emit_opts: &EmitOptions,
    sources: &SourceMap,
) -> Result<Generated, GenerateError> {
    let files_read: Vec<PathBuf> = sources.paths().map(Path::to_path_buf).collect();
    let model = spec.and_then(|spec| crate::model::check_with(&spec, &opts.check));
    match model {
        Ok(model) => Ok(Generated {
            code: emit(&model, emit_opts),
            files_read,
        }),
        Err(diagnostics) => Err(GenerateError {
            rendered: render_all(&diagnostics, sources),
            diagnostics,
            files_read,
        }),
    }
}
