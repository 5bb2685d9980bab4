//! The generated Rust compiles, warning-free: every `.x` file Debian ships
//! in `/usr/include/rpcsvc/` and libtirpc's `rpcb_prot.x`, the project's
//! `specs/`, this crate's test specs, and every file of
//! `../shared/xdr-corpus` that xdrgen accepts are compiled (types, clients
//! and servers) into one scratch crate that depends on `xdr-codec` and
//! `rpc-runtime` by path, checked with `cargo check` and
//! `#![deny(warnings)]`.
//!
//! Runs a nested `cargo` (offline, with the workspace's `Cargo.lock`) in
//! its own target directory under `CARGO_TARGET_TMPDIR`; the first run
//! builds rpc-runtime's dependencies there (about a minute).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use xdrgen::{generate, Options};

/// rpcsvc files that cannot compile: `nlm_prot.x` sizes a string with
/// `LM_MAXSTRLEN`, defined only in a `%#define` passthrough line.
const KNOWN_UNSUPPORTED: &[&str] = &["nlm_prot.x"];

fn x_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "x"));
    v.sort();
    v
}

#[test]
fn generated_code_compiles_without_warnings() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("..");
    let mut inputs = x_files(Path::new("/usr/include/rpcsvc"));
    inputs.push(PathBuf::from("/usr/include/tirpc/rpc/rpcb_prot.x"));
    inputs.extend(x_files(&root.join("specs")));
    inputs.extend(x_files(&manifest.join("tests/specs")));
    let rpcsvc_and_specs = inputs.len();
    // The real-world corpus beside the repository: every file xdrgen
    // accepts must compile too (which files are accepted is the parser's
    // and checker's business; a floor catches regressions).
    let corpus = root.join("../shared/xdr-corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    dirs.sort();
    for d in dirs {
        inputs.extend(x_files(&d));
    }

    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-generated");
    let src = scratch.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).expect("scratch dir");
    let mut lib = String::from("#![deny(warnings)]\n#![allow(dead_code)]\n");
    let mut failed = BTreeSet::new();
    let mut corpus_refused = 0usize;
    // nis_callback.x uses `nis_object` and `nis_error` without defining
    // them (rpcgen takes them from nis.h); here they come from the module
    // nis.x (which includes nis_object.x) compiles to.
    let nis = inputs
        .iter()
        .position(|p| p.ends_with("rpcsvc/nis.x"))
        .expect("nis.x");
    let mut opts = Options::default();
    for (xdr, rust) in [("nis_object", "NisObject"), ("nis_error", "NisError")] {
        opts.check
            .extern_types
            .insert(xdr.into(), format!("crate::m{nis}::{rust}"));
    }
    for (i, input) in inputs.iter().enumerate() {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut opts = opts.clone();
        if let Some(dir) = input.parent() {
            opts.parse.include_dirs.push(dir.to_path_buf());
        }
        match generate(input, &opts) {
            Ok(g) => {
                let module = format!("m{i}");
                std::fs::write(src.join(format!("{module}.rs")), g.code).expect("write");
                let _ = writeln!(
                    lib,
                    "/// {name}\npub mod {module} {{ include!(\"{module}.rs\"); }}"
                );
            }
            Err(_) if i >= rpcsvc_and_specs => corpus_refused += 1,
            Err(e) => {
                if !KNOWN_UNSUPPORTED.contains(&name.as_str()) {
                    panic!("{} does not compile:\n{e}", input.display());
                }
                failed.insert(name);
            }
        }
    }
    assert_eq!(
        failed,
        KNOWN_UNSUPPORTED
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>(),
        "a known-unsupported file now compiles: update KNOWN_UNSUPPORTED"
    );
    let corpus_files = inputs.len() - rpcsvc_and_specs;
    if corpus_files > 0 {
        assert!(
            corpus_files - corpus_refused >= 31,
            "only {} of {corpus_files} corpus files generate",
            corpus_files - corpus_refused
        );
    }
    std::fs::write(src.join("lib.rs"), lib).expect("write lib.rs");
    let cargo_toml = format!(
        "[package]\nname = \"compile-generated\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nxdr-codec = {{ path = {:?} }}\nrpc-runtime = {{ path = {:?} }}\n\n[workspace]\n",
        root.join("xdr-codec"),
        root.join("rpc-runtime"),
    );
    std::fs::write(scratch.join("Cargo.toml"), cargo_toml).expect("write Cargo.toml");
    let _ = std::fs::copy(root.join("Cargo.lock"), scratch.join("Cargo.lock"));

    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .args(["check", "--offline", "--quiet", "--manifest-path"])
        .arg(scratch.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", scratch.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "generated code does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
