//! The project's own `.x` files: the test and benchmark protocols in the
//! workspace's `specs/`, and the protocols the crates compile from their
//! own `specs/` folders (`rpc-runtime`, `datastore`, `broker`).

use std::path::{Path, PathBuf};

/// The folders, relative to the workspace root.
const DIRS: [&str; 4] = [
    "specs",
    "rpc-runtime/specs",
    "datastore/specs",
    "broker/specs",
];

/// Every `.x` file of [`DIRS`], sorted by path.
pub(crate) fn files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<PathBuf> = DIRS
        .iter()
        .filter_map(|dir| std::fs::read_dir(root.join(dir)).ok())
        .flat_map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())))
        .filter(|p| p.extension().is_some_and(|e| e == "x"))
        .collect();
    files.sort();
    files
}
