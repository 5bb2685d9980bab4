//! Snapshots of the Rust generated for real specifications: Debian's
//! `mount.x` and every `.x` file in the project's `specs/` folder.
//!
//! The same outputs are compiled (and clippy-checked) by
//! `compile_generated.rs`; here they are pinned so that any change in the
//! emitted code shows up in review.

use std::path::{Path, PathBuf};

use xdrgen::{generate, Options};

fn snapshot(path: &Path) {
    let out = generate(path, &Options::default())
        .unwrap_or_else(|e| panic!("{} failed:\n{e}", path.display()));
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(format!("generated_{name}"), out.code);
    });
}

#[test]
fn mount_x() {
    snapshot(Path::new("/usr/include/rpcsvc/mount.x"));
}

/// The project's own specifications (the list grows; each gets its own
/// snapshot file).
#[test]
fn project_specs() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    specs.retain(|p| p.extension().is_some_and(|e| e == "x"));
    specs.sort();
    for spec in specs {
        snapshot(&spec);
    }
}

#[test]
fn output_is_deterministic() {
    let path = Path::new("/usr/include/rpcsvc/nfs_prot.x");
    let a = generate(path, &Options::default()).map(|g| g.code);
    let b = generate(path, &Options::default()).map(|g| g.code);
    assert!(a.is_ok());
    assert_eq!(a, b);
}
