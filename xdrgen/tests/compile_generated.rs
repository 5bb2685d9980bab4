//! The generated Rust compiles, warning-free: every `.x` file Debian ships
//! in `/usr/include/rpcsvc/` and libtirpc's `rpcb_prot.x`, the project's
//! `.x` files (`specs/` and the crates' own `specs/`), this crate's test
//! specs, and, when `XDRGEN_CORPUS` names the real-world corpus, every
//! file of it (except the ocamlrpcgen files, which must be refused with an
//! error naming the ocamlrpcgen construct) are compiled (types, clients
//! and servers) into one scratch crate that depends on `oncrpc-xdr-codec`
//! and `oncrpc-rpc-runtime` by path, as a user's crate depends on the
//! published packages, checked with `cargo check` and
//! `#![deny(warnings)]`. The rpcsvc files, the project's `.x` files and
//! the Stellar set are compiled a second time with the serde derive and
//! the `Arbitrary` impls.
//!
//! Files that use another file's types are compiled together
//! ([`generate_many`]), as a user would: the Stellar set, libvirt's
//! protocols, `nis_callback.x` with `nis.x`. Names only C headers define
//! come from the stand-in `.x` files in `tests/corpus-externs/` (see its
//! README), compiled together with the file that needs them.
//!
//! Runs a nested `cargo` (offline, with the workspace's `Cargo.lock`) in
//! its own target directory under `CARGO_TARGET_TMPDIR`; the first run
//! builds rpc-runtime's dependencies there (about a minute).

mod corpus;
mod project_specs;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use xdrgen::{generate_many, Options};

/// Files compiled together: absolute paths, paths relative to the corpus
/// (`XDRGEN_CORPUS`; sets with such paths are left out without it), or `externs/NAME` for
/// `tests/corpus-externs/NAME`.
const TOGETHER: &[&[&str]] = &[
    &[
        "/usr/include/rpcsvc/nis.x",
        "/usr/include/rpcsvc/nis_callback.x",
    ],
    &[
        "stellar-xdr/Stellar-types.x",
        "stellar-xdr/Stellar-SCP.x",
        "stellar-xdr/Stellar-contract.x",
        "stellar-xdr/Stellar-contract-spec.x",
        "stellar-xdr/Stellar-contract-config-setting.x",
        "stellar-xdr/Stellar-ledger-entries.x",
        "stellar-xdr/Stellar-ledger.x",
        "stellar-xdr/Stellar-overlay.x",
        "stellar-xdr/Stellar-transaction.x",
    ],
    &[
        "externs/libvirt.x",
        "libvirt/virnetprotocol.x",
        "libvirt/remote_protocol.x",
        "libvirt/lxc_protocol.x",
        "libvirt/qemu_protocol.x",
    ],
    &["externs/glusterfs.x", "glusterfs/glusterfs4-xdr.x"],
    &["externs/solaris-lvm.x", "opensolaris/meta_arr.x"],
    &[
        "externs/solaris-lvm.x",
        "opensolaris/meta_arr.x",
        "opensolaris/mdiox.x",
    ],
    &["externs/autofs.x", "opensolaris/autofs_prot.x"],
    &["externs/pynfs-gss.x", "pynfs/gss.x"],
    &["externs/pynfs-nfs3.x", "pynfs/nfs3.x"],
    &[
        "externs/flex-files.x",
        "nfs-ganesha/nfsv41.x",
        "nfs-ganesha/flex_files_prot.x",
    ],
    &["externs/stellar-xdrgen-union.x", "stellar-xdrgen/union.x"],
];

/// Corpus files written for ocamlrpcgen, refused with a precise error.
const OCAMLRPCGEN: &str = "ocamlnet/";

fn x_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "x"));
    v.sort();
    v
}

/// The file `name` of a [`TOGETHER`] set, or `None` for a corpus file
/// when there is no corpus.
fn resolve(name: &str, corpus: Option<&Path>, externs: &Path) -> Option<PathBuf> {
    if let Some(stub) = name.strip_prefix("externs/") {
        Some(externs.join(stub))
    } else if name.starts_with('/') {
        Some(PathBuf::from(name))
    } else {
        corpus.map(|c| c.join(name))
    }
}

#[test]
fn generated_code_compiles_without_warnings() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("..");
    let corpus = corpus::dir("generated_code_compiles_without_warnings");
    let externs = manifest.join("tests/corpus-externs");
    let mut files = x_files(Path::new("/usr/include/rpcsvc"));
    files.push(PathBuf::from("/usr/include/tirpc/rpc/rpcb_prot.x"));
    files.extend(project_specs::files());
    files.extend(x_files(&manifest.join("tests/specs")));
    if let Some(corpus) = &corpus {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        dirs.sort();
        let before = files.len();
        for d in dirs {
            files.extend(x_files(&d));
        }
        assert!(
            files.len() - before >= 59,
            "the corpus is missing at {}",
            corpus.display()
        );
    }

    // Compilation units: every set in TOGETHER, and every other file alone.
    let sets: Vec<Vec<PathBuf>> = TOGETHER
        .iter()
        .filter_map(|set| {
            set.iter()
                .map(|n| resolve(n, corpus.as_deref(), &externs))
                .collect()
        })
        .collect();
    let mut units: Vec<Vec<PathBuf>> = files
        .iter()
        .filter(|f| !sets.iter().flatten().any(|s| s == *f))
        .map(|f| vec![f.clone()])
        .collect();
    units.extend(sets);

    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-generated");
    let src = scratch.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).expect("scratch dir");
    let mut lib = String::from("#![deny(warnings)]\n#![allow(dead_code)]\n");
    let mut failures = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let names: Vec<String> = unit
            .iter()
            .map(|p| {
                corpus
                    .as_deref()
                    .and_then(|c| p.strip_prefix(c).ok())
                    .unwrap_or(p)
                    .display()
                    .to_string()
            })
            .collect();
        let mut opts = Options::default();
        for p in unit {
            if let Some(dir) = p.parent() {
                opts.parse.include_dirs.push(dir.to_path_buf());
            }
        }
        let paths: Vec<&Path> = unit.iter().map(PathBuf::as_path).collect();
        let ocaml = names.iter().any(|n| n.starts_with(OCAMLRPCGEN));
        match generate_many(&paths, &opts) {
            Ok(_) if ocaml => failures.push(format!(
                "{}: an ocamlrpcgen file was accepted",
                names.join(" ")
            )),
            Ok(g) => {
                let module = format!("m{i}");
                std::fs::write(src.join(format!("{module}.rs")), g.code).expect("write");
                let _ = writeln!(
                    lib,
                    "/// {}\npub mod {module} {{ include!(\"{module}.rs\"); }}",
                    names.join(" + ")
                );
                // The serde derive and the `Arbitrary` impls, for
                // everything but the corpus (where only the Stellar set
                // takes part: NFSv4.1 files use rpc-runtime's
                // AuthSysParams, which has neither).
                let corpus_unit = corpus
                    .as_deref()
                    .is_some_and(|c| unit.iter().any(|p| p.starts_with(c)));
                let stellar = names.iter().any(|n| n.starts_with("stellar-xdr/"));
                if !corpus_unit || stellar {
                    let mut opts = opts.clone();
                    opts.emit.serde = true;
                    opts.emit.arbitrary = true;
                    opts.emit.client = false;
                    opts.emit.server = false;
                    match generate_many(&paths, &opts) {
                        Ok(g) => {
                            let module = format!("derives_m{i}");
                            std::fs::write(src.join(format!("{module}.rs")), g.code)
                                .expect("write");
                            let _ = writeln!(
                                lib,
                                "/// {} with serde and arbitrary\npub mod {module} {{ include!(\"{module}.rs\"); }}",
                                names.join(" + ")
                            );
                        }
                        Err(e) => {
                            failures.push(format!("{} (serde, arbitrary):\n{e}", names.join(" + ")))
                        }
                    }
                }
            }
            Err(e) if ocaml => {
                if !e
                    .diagnostics
                    .iter()
                    .all(|d| d.message.contains("ocamlrpcgen"))
                {
                    failures.push(format!(
                        "{}: not an ocamlrpcgen error:\n{e}",
                        names.join(" ")
                    ));
                }
            }
            Err(e) => failures.push(format!("{}:\n{e}", names.join(" + "))),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    std::fs::write(src.join("lib.rs"), lib).expect("write lib.rs");
    let cargo_toml = format!(
        "[package]\nname = \"compile-generated\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\noncrpc-xdr-codec = {{ path = {:?}, features = [\"serde\", \"arbitrary\"] }}\n\
         oncrpc-rpc-runtime = {{ path = {:?} }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\n\
         arbitrary = {{ version = \"1\", features = [\"derive\"] }}\n\n[workspace]\n",
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
