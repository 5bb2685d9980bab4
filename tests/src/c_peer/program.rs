//! Building a C program from a `.x` spec and C sources with the real
//! `rpcgen` and `gcc` against libtirpc, cached by content.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::error::{CPeerError, Result};
use super::process::run_tool;

/// Where built C peers are kept: one directory per distinct set of inputs,
/// named `<name>-<hash>`, holding the generated C files and the binary.
fn cache_root() -> PathBuf {
    PathBuf::from(env!("OUT_DIR")).join("c-peers")
}

/// libtirpc's headers (`rpc/rpc.h`); Debian's `libtirpc-dev` puts them here.
pub const TIRPC_INCLUDE_DIR: &str = "/usr/include/tirpc";

/// Programs already built by this process, by input hash.
fn built() -> &'static Mutex<HashMap<u64, PathBuf>> {
    static BUILT: OnceLock<Mutex<HashMap<u64, PathBuf>>> = OnceLock::new();
    BUILT.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A C program to build: an optional `.x` spec put through `rpcgen`, plus C
/// sources, compiled with `gcc` and linked with `-ltirpc`.
///
/// For a spec `foo.x`, `rpcgen` writes `foo.h` and `foo_xdr.c` (always),
/// `foo_clnt.c` with [`CProgram::client_stubs`] and `foo_svc.c` (the
/// dispatcher only, `rpcgen -m`, no `main`) with [`CProgram::server_stubs`].
/// The C sources `#include "foo.h"`. The same flags (for example `-N -M`)
/// go to every `rpcgen` run.
///
/// ```no_run
/// use interop_tests::c_peer::{c_source, spec_path, CProgram};
/// let server = CProgram::new("interop_server")
///     .spec(spec_path("interop.x"))
///     .rpcgen_flags(["-N", "-M"])
///     .server_stubs()
///     .source(c_source("interop_server.c"))
///     .build()?;
/// # Ok::<(), interop_tests::c_peer::CPeerError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CProgram {
    name: String,
    spec: Option<PathBuf>,
    sources: Vec<PathBuf>,
    inputs: Vec<PathBuf>,
    rpcgen_flags: Vec<String>,
    cflags: Vec<String>,
    libs: Vec<String>,
    client_stubs: bool,
    server_stubs: bool,
}

impl CProgram {
    /// A program called `name` (the binary's file name); nothing else set.
    pub fn new(name: impl Into<String>) -> Self {
        CProgram {
            name: name.into(),
            spec: None,
            sources: Vec::new(),
            inputs: Vec::new(),
            rpcgen_flags: Vec::new(),
            cflags: Vec::new(),
            libs: Vec::new(),
            client_stubs: false,
            server_stubs: false,
        }
    }

    /// The `.x` file to run `rpcgen` on. Default: none (plain C program).
    pub fn spec(mut self, path: impl Into<PathBuf>) -> Self {
        self.spec = Some(path.into());
        self
    }

    /// Adds a C source file. Its directory is also on the include path, so
    /// headers next to it are found; name such headers with
    /// [`CProgram::input`] so that changes to them trigger a rebuild.
    pub fn source(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(path.into());
        self
    }

    /// Adds a file that is not compiled itself but whose contents affect the
    /// build (a header), for the cache key.
    pub fn input(mut self, path: impl Into<PathBuf>) -> Self {
        self.inputs.push(path.into());
        self
    }

    /// Flags for every `rpcgen` run, e.g. `["-N", "-M"]`. Default: none.
    pub fn rpcgen_flags<I, S>(mut self, flags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rpcgen_flags.extend(flags.into_iter().map(Into::into));
        self
    }

    /// Extra `gcc` flags (e.g. `-DFOO=1`). Default: none.
    pub fn cflag(mut self, flag: impl Into<String>) -> Self {
        self.cflags.push(flag.into());
        self
    }

    /// Also links the library `name` (`-lNAME`, after the sources and
    /// `-ltirpc`; for example `gssapi_krb5`). Default: only libtirpc and
    /// pthreads.
    pub fn lib(mut self, name: impl Into<String>) -> Self {
        self.libs.push(format!("-l{}", name.into()));
        self
    }

    /// Also compile `rpcgen -l` client stubs. Default: off.
    pub fn client_stubs(mut self) -> Self {
        self.client_stubs = true;
        self
    }

    /// Also compile the `rpcgen -m` server dispatcher. Default: off.
    pub fn server_stubs(mut self) -> Self {
        self.server_stubs = true;
        self
    }

    /// Builds the program (or finds it already built from identical inputs)
    /// and returns the path of the binary.
    ///
    /// Builds happen in a fresh directory (`rpcgen` refuses to overwrite
    /// files) that is renamed into place when complete, so concurrent test
    /// threads and test binaries never see a half-built program.
    ///
    /// # Errors
    ///
    /// [`CPeerError::ToolMissing`] when `rpcgen` or `gcc` is not installed,
    /// [`CPeerError::ToolFailed`] with the compiler output when a step fails
    /// (including a missing libtirpc), [`CPeerError::Input`] when an input
    /// file cannot be read, [`CPeerError::Io`] for work-directory trouble.
    pub fn build(&self) -> Result<PathBuf> {
        let key = self.cache_key()?;
        // A poisoned lock only means another test panicked mid-build; the
        // map itself is still consistent.
        let mut built = built().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(path) = built.get(&key) {
            return Ok(path.clone());
        }
        let root = cache_root();
        let final_dir = root.join(format!("{}-{key:016x}", self.name));
        let binary = final_dir.join(&self.name);
        if !binary.is_file() {
            std::fs::create_dir_all(&root)
                .map_err(|e| CPeerError::io(format!("cannot create {}", root.display()), e))?;
            let work = tempfile::Builder::new()
                .prefix(".build-")
                .tempdir_in(&root)
                .map_err(|e| {
                    CPeerError::io(format!("cannot create a work dir in {}", root.display()), e)
                })?;
            self.build_in(work.path())?;
            let work = work.keep();
            if std::fs::rename(&work, &final_dir).is_err() {
                // Another process finished the same build first; use its copy.
                let _ = std::fs::remove_dir_all(&work);
                if !binary.is_file() {
                    return Err(CPeerError::io(
                        format!("cannot move the build into {}", final_dir.display()),
                        std::io::Error::other("rename failed and no finished build is there"),
                    ));
                }
            }
        }
        built.insert(key, binary.clone());
        Ok(binary)
    }

    /// Runs `rpcgen` and `gcc` in `dir`, leaving the binary at `dir/name`.
    fn build_in(&self, dir: &Path) -> Result<()> {
        let mut c_files: Vec<PathBuf> = Vec::new();
        if let Some(spec) = &self.spec {
            let stem = spec
                .file_stem()
                .and_then(OsStr::to_str)
                .unwrap_or("spec")
                .to_owned();
            let x_name = format!("{stem}.x");
            std::fs::copy(spec, dir.join(&x_name)).map_err(|e| CPeerError::Input {
                path: spec.clone(),
                source: e,
            })?;
            let mut outputs = vec![("-h", format!("{stem}.h")), ("-c", format!("{stem}_xdr.c"))];
            if self.client_stubs {
                outputs.push(("-l", format!("{stem}_clnt.c")));
            }
            if self.server_stubs {
                outputs.push(("-m", format!("{stem}_svc.c")));
            }
            for (mode, out) in outputs {
                run_tool(
                    Command::new("rpcgen")
                        .current_dir(dir)
                        .args(&self.rpcgen_flags)
                        .args([mode, "-o", &out, &x_name]),
                )?;
                if out.ends_with(".c") {
                    c_files.push(dir.join(out));
                }
            }
        }
        let mut gcc = Command::new("gcc");
        gcc.current_dir(dir)
            .args(["-std=gnu11", "-O1", "-g", "-Wall", "-Wno-unused-variable"])
            .arg("-I")
            .arg(dir)
            .args(["-I", TIRPC_INCLUDE_DIR]);
        for src in &self.sources {
            if let Some(parent) = src.parent() {
                gcc.arg("-I").arg(parent);
            }
        }
        gcc.args(&self.cflags)
            .arg("-o")
            .arg(dir.join(&self.name))
            .args(&self.sources)
            .args(&c_files)
            .args(["-ltirpc", "-lpthread"])
            .args(&self.libs);
        run_tool(&mut gcc)
    }

    /// A hash of everything that affects the binary.
    fn cache_key(&self) -> Result<u64> {
        let mut h = DefaultHasher::new();
        self.name.hash(&mut h);
        self.rpcgen_flags.hash(&mut h);
        self.cflags.hash(&mut h);
        self.libs.hash(&mut h);
        self.client_stubs.hash(&mut h);
        self.server_stubs.hash(&mut h);
        let files = self.spec.iter().chain(&self.sources).chain(&self.inputs);
        for path in files {
            let contents = std::fs::read(path).map_err(|e| CPeerError::Input {
                path: path.clone(),
                source: e,
            })?;
            path.hash(&mut h);
            contents.hash(&mut h);
        }
        Ok(h.finish())
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The folders of the project's `.x` files, relative to the workspace
/// root: `specs/` for the test and benchmark protocols, and the `specs/`
/// of each crate that compiles its own.
const SPEC_DIRS: [&str; 4] = [
    "specs",
    "rpc-runtime/specs",
    "datastore/specs",
    "broker/specs",
];

/// The project's `.x` file `name`, from the first of `specs/`,
/// `rpc-runtime/specs/`, `datastore/specs/` and `broker/specs/` that has
/// it, e.g. `spec_path("interop.x")`, `spec_path("datastore.x")` (a path
/// under `specs/` when none has it, for the error message of its reader).
pub fn spec_path(name: &str) -> PathBuf {
    let root = workspace_root();
    SPEC_DIRS
        .iter()
        .map(|dir| root.join(dir).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| root.join("specs").join(name))
}

/// `tests/c/<name>` in the workspace, e.g. `c_source("interop_server.c")`.
pub fn c_source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c").join(name)
}
