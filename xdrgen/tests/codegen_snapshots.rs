//! Snapshots of the Rust generated for real specifications: every `.x`
//! file Debian ships in `/usr/include/rpcsvc/` (`nis_callback.x` together
//! with the `nis.x` it takes its types from) and every `.x` file of the
//! project (`specs/` and the crates' own `specs/` folders).
//!
//! The same outputs are compiled (and clippy-checked) by
//! `compile_generated.rs`; here they are pinned so that any change in the
//! emitted code shows up in review.

mod project_specs;

use std::path::{Path, PathBuf};

use xdrgen::{generate, generate_many, Options};

fn snapshot(path: &Path) {
    snapshot_as(&[path], "generated");
}

/// Snapshots the output for `paths` (compiled together) as
/// `<prefix>_<stem of the last path>`.
fn snapshot_as(paths: &[&Path], prefix: &str) {
    let out = generate_many(paths, &Options::default())
        .unwrap_or_else(|e| panic!("{paths:?} failed:\n{e}"));
    let name = paths
        .last()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(format!("{prefix}_{name}"), out.code);
    });
}

/// Debian's rpcsvc set (mount.x has its own test above).
#[test]
fn rpcsvc_files() {
    let dir = Path::new("/usr/include/rpcsvc");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "x") && !p.ends_with("mount.x"));
    files.sort();
    assert!(files.len() >= 16, "rpcsvc .x files missing");
    for f in &files {
        if f.ends_with("nis_callback.x") {
            snapshot_as(&[&dir.join("nis.x"), f], "rpcsvc");
        } else {
            snapshot_as(&[f], "rpcsvc");
        }
    }
}

#[test]
fn mount_x() {
    snapshot(Path::new("/usr/include/rpcsvc/mount.x"));
}

/// The project's own specifications (the list grows; each gets its own
/// snapshot file).
#[test]
fn project_specs() {
    let specs = project_specs::files();
    assert!(specs.len() >= 7, "project specs missing: {specs:?}");
    for spec in specs {
        snapshot(&spec);
    }
}

/// `--arbitrary` on a spec that has every bound the impls must keep.
#[test]
fn arbitrary_impls() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs/bounds.x");
    let mut opts = Options::default();
    opts.emit.arbitrary = true;
    opts.emit.client = false;
    opts.emit.server = false;
    let out = generate(&path, &opts).unwrap_or_else(|e| panic!("bounds.x failed:\n{e}"));
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("arbitrary_bounds", out.code);
    });
}

#[test]
fn output_is_deterministic() {
    let path = Path::new("/usr/include/rpcsvc/nfs_prot.x");
    let a = generate(path, &Options::default()).map(|g| g.code);
    let b = generate(path, &Options::default()).map(|g| g.code);
    assert!(a.is_ok());
    assert_eq!(a, b);
}
