//! The `build.rs` front end, in the style of `prost-build`/`tonic-build`.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::generate::{generate, generate_many, GenerateError, Generated, Options};

/// Compiles `.x` files from a build script into `OUT_DIR`.
///
/// Each input `dir/name.x` becomes `OUT_DIR/name.rs`, which the crate
/// includes:
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), xdrgen::BuildError> {
///     xdrgen::Builder::new()
///         .emit_server(false)
///         .define("MY_FEATURE", None)
///         .compile(&["specs/mount.x"])
/// }
/// ```
///
/// ```ignore
/// // src/lib.rs
/// include!(concat!(env!("OUT_DIR"), "/mount.rs"));
/// ```
///
/// The generated code refers to the `xdr_codec` crate, and (for clients
/// and servers) to `rpc_runtime`: the crate that includes it depends on
/// the packages `oncrpc-xdr-codec` and `oncrpc-rpc-runtime`, whose
/// libraries have those names.
#[derive(Debug, Clone)]
pub struct Builder {
    opts: Options,
    out_dir: Option<PathBuf>,
    rerun_if_changed: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder that emits types, clients and servers into `$OUT_DIR`,
    /// with no macros defined and no include directories.
    pub fn new() -> Self {
        Builder {
            opts: Options::default(),
            out_dir: None,
            rerun_if_changed: true,
        }
    }

    /// Whether to emit constants, types and their XDR impls (default
    /// `true`). Without them the client and server code needs the types in
    /// scope from elsewhere.
    pub fn emit_types(&mut self, yes: bool) -> &mut Self {
        self.opts.emit.types = yes;
        self
    }

    /// Whether to emit an async client per program version (default
    /// `true`).
    pub fn emit_client(&mut self, yes: bool) -> &mut Self {
        self.opts.emit.client = yes;
        self
    }

    /// Whether to emit a server trait and dispatcher per program version
    /// (default `true`).
    pub fn emit_server(&mut self, yes: bool) -> &mut Self {
        self.opts.emit.server = yes;
        self
    }

    /// Whether to derive `serde::Serialize`/`Deserialize` on the generated
    /// structs, enums and unions (default `false`). The crate then depends
    /// on `serde` (feature `derive`) and on `oncrpc-xdr-codec` with its
    /// `serde` feature.
    pub fn serde(&mut self, yes: bool) -> &mut Self {
        self.opts.emit.serde = yes;
        self
    }

    /// Whether to implement `arbitrary::Arbitrary` on the generated
    /// structs, enums and unions (default `false`), within the spec's
    /// bounds: string and array maxima, fixed sizes, declared enum members
    /// and union arms (the `default` arm only with a discriminant no case
    /// names), recursion bounded in depth so that generation ends. Every
    /// value made encodes and decodes back. The crate then depends on
    /// `arbitrary` (feature `derive`) and on `oncrpc-xdr-codec` with its
    /// `arbitrary` feature.
    pub fn arbitrary(&mut self, yes: bool) -> &mut Self {
        self.opts.emit.arbitrary = yes;
        self
    }

    /// Defines a preprocessor macro, as `cpp -DNAME` (`value` `None`) or
    /// `-DNAME=VALUE`, before the input is read. Default: none.
    pub fn define(&mut self, name: impl Into<String>, value: Option<&str>) -> &mut Self {
        self.opts
            .parse
            .defines
            .push((name.into(), value.map(str::to_owned)));
        self
    }

    /// Adds a directory `#include` searches, after the including file's own
    /// directory. Default: none.
    pub fn include_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.opts.parse.include_dirs.push(dir.into());
        self
    }

    /// Maps a type the `.x` file uses but does not define (rpcgen leaves
    /// such names to C headers or other `.x` files) to a Rust type path,
    /// for example `extern_type("nis_object", "crate::nis::NisObject")`.
    /// The type must implement `xdr_codec::XdrEncode`/`XdrDecode`, `Debug`,
    /// `Clone` and `PartialEq`. Default: none (an undefined type is an
    /// error).
    pub fn extern_type(
        &mut self,
        xdr_name: impl Into<String>,
        rust_path: impl Into<String>,
    ) -> &mut Self {
        self.opts
            .check
            .extern_types
            .insert(xdr_name.into(), rust_path.into());
        self
    }

    /// Where to write the `.rs` files. Default: the `OUT_DIR` environment
    /// variable Cargo sets for build scripts.
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether to print `cargo:rerun-if-changed=PATH` for every input and
    /// every file it includes (default `true`; turn off outside build
    /// scripts).
    pub fn cargo_rerun_if_changed(&mut self, yes: bool) -> &mut Self {
        self.rerun_if_changed = yes;
        self
    }

    /// Compiles each input to `<out_dir>/<file stem>.rs`. A file whose
    /// content would not change is not rewritten, so Cargo does not rebuild
    /// needlessly.
    ///
    /// # Errors
    ///
    /// * [`BuildError::NoOutDir`]: no [`Builder::out_dir`] and `OUT_DIR` is
    ///   not set.
    /// * [`BuildError::BadInput`]: an input has no file name, or two inputs
    ///   have the same stem (they would write the same file).
    /// * [`BuildError::Generate`]: an input has errors; its message is the
    ///   rendered diagnostics (`FILE:LINE:COL: error: ...`). Inputs before
    ///   it have been written.
    /// * [`BuildError::Io`]: the output could not be read or written.
    pub fn compile(&self, inputs: &[impl AsRef<Path>]) -> Result<(), BuildError> {
        let out_dir = self.resolve_out_dir()?;
        let mut stems = HashSet::new();
        for input in inputs {
            let input = input.as_ref();
            let stem = input
                .file_stem()
                .ok_or_else(|| BuildError::BadInput(input.to_path_buf(), "it has no file name"))?;
            if !stems.insert(stem.to_owned()) {
                return Err(BuildError::BadInput(
                    input.to_path_buf(),
                    "another input has the same file stem (both would write the same .rs file)",
                ));
            }
            let result = generate(input, &self.opts);
            let generated = self.report_inputs(&[input], result)?;
            let mut out = out_dir.join(stem);
            out.set_extension("rs");
            write_if_changed(&out, &generated.code)?;
        }
        Ok(())
    }

    /// Compiles several `.x` files that belong together (one uses the
    /// other's types, like the Stellar `Stellar-*.x` set) into the one file
    /// `<out_dir>/<output>`, as [`crate::generate_many`] does. A file whose
    /// content would not change is not rewritten.
    ///
    /// ```no_run
    /// // build.rs
    /// xdrgen::Builder::new().compile_together(
    ///     &["xdr/Stellar-types.x", "xdr/Stellar-ledger.x"],
    ///     "stellar.rs",
    /// )?;
    /// # Ok::<(), xdrgen::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Builder::compile`]; [`BuildError::BadInput`] also when
    /// `inputs` is empty or `output` is not a plain file name.
    pub fn compile_together(
        &self,
        inputs: &[impl AsRef<Path>],
        output: &str,
    ) -> Result<(), BuildError> {
        let out_dir = self.resolve_out_dir()?;
        let paths: Vec<&Path> = inputs.iter().map(AsRef::as_ref).collect();
        if paths.is_empty() {
            return Err(BuildError::BadInput(
                PathBuf::from(output),
                "no input files to compile together",
            ));
        }
        let plain = Path::new(output)
            .file_name()
            .is_some_and(|n| n == std::ffi::OsStr::new(output));
        if !plain {
            return Err(BuildError::BadInput(
                PathBuf::from(output),
                "the output must be a file name inside the output directory",
            ));
        }
        let result = generate_many(&paths, &self.opts);
        let generated = self.report_inputs(&paths, result)?;
        write_if_changed(&out_dir.join(output), &generated.code)
    }

    fn resolve_out_dir(&self) -> Result<PathBuf, BuildError> {
        match &self.out_dir {
            Some(d) => Ok(d.clone()),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir),
        }
    }

    /// Prints `cargo:rerun-if-changed` for the inputs and every file they
    /// included, then passes the result on.
    fn report_inputs(
        &self,
        inputs: &[&Path],
        result: Result<Generated, GenerateError>,
    ) -> Result<Generated, BuildError> {
        if self.rerun_if_changed {
            for input in inputs {
                println!("cargo:rerun-if-changed={}", input.display());
            }
            let files = match &result {
                Ok(g) => &g.files_read,
                Err(e) => &e.files_read,
            };
            for f in files.iter().filter(|f| !inputs.contains(&f.as_path())) {
                println!("cargo:rerun-if-changed={}", f.display());
            }
        }
        result.map_err(BuildError::Generate)
    }
}

/// Writes `contents` to `path` unless the file already holds exactly that.
fn write_if_changed(path: &Path, contents: &str) -> Result<(), BuildError> {
    match std::fs::read(path) {
        Ok(old) if old == contents.as_bytes() => return Ok(()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(BuildError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    std::fs::write(path, contents).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Why [`Builder::compile`] failed.
///
/// Its `Debug` form is its message, so that whatever a build script does
/// with it (returns it from `main`, directly or through
/// `Box<dyn Error>`, or `unwrap`s it), cargo shows the diagnostics as the
/// CLI prints them: `FILE:LINE:COL: error: MESSAGE`, the source line and a
/// caret, one per error.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No output directory: `OUT_DIR` is not set and none was given.
    #[error(
        "no output directory: OUT_DIR is not set (call Builder::out_dir outside build scripts)"
    )]
    NoOutDir,
    /// An input path is unusable.
    #[error("bad input {}: {}", .0.display(), .1)]
    BadInput(PathBuf, &'static str),
    /// An input has errors (the message is the rendered diagnostics).
    #[error("{0}")]
    Generate(GenerateError),
    /// Reading or writing an output file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The output file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Debug for BuildError {
    /// The message of [`fmt::Display`]; the diagnostics of
    /// [`BuildError::Generate`] start on a line of their own, after a
    /// heading (a failing build script's `main` prints `Error: ` before
    /// this, `unwrap` its own sentence).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Generate(e) => write!(f, "xdrgen found errors in the .x input:\n{e}"),
            other => fmt::Display::fmt(other, f),
        }
    }
}
