//! A `.x` file with an error, compiled from a real build script: whatever
//! the script does with [`xdrgen::BuildError`] (`?` into
//! `Box<dyn Error>`, `unwrap`, or returning it from `main`), cargo's output
//! shows the diagnostics as the CLI prints them (`FILE:LINE:COL: error:`,
//! the source line and a caret), not the error's structure.
//!
//! Each case is a scratch crate that depends on this package by path, as a
//! user's crate depends on the published `oncrpc-xdrgen`, built by a nested
//! `cargo build` (offline, with the workspace's `Cargo.lock`) in one target
//! directory under `CARGO_TARGET_TMPDIR` that the cases share.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The broken specification: line 3 uses a type nothing defines.
const BROKEN_X: &str = "struct point {\n    int x;\n    nothing y;\n};\n";

/// Writes a crate named `name` whose build script is `build_rs` and which
/// compiles `specs/broken.x`; returns its manifest.
fn scratch_crate(name: &str, build_rs: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("build-script-errors")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).expect("scratch dir");
    std::fs::create_dir_all(dir.join("specs")).expect("specs dir");
    let xdrgen = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = {name:?}\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [build-dependencies]\noncrpc-xdrgen = {{ path = {xdrgen:?} }}\n\n[workspace]\n"
        ),
    )
    .expect("write Cargo.toml");
    let _ = std::fs::copy(xdrgen.join("../Cargo.lock"), dir.join("Cargo.lock"));
    std::fs::write(dir.join("build.rs"), build_rs).expect("write build.rs");
    std::fs::write(dir.join("src/lib.rs"), "//! Scratch crate.\n").expect("write lib.rs");
    std::fs::write(dir.join("specs/broken.x"), BROKEN_X).expect("write broken.x");
    dir.join("Cargo.toml")
}

/// Builds the crate of `manifest`, which must fail; returns cargo's stderr.
fn failing_build(manifest: &Path) -> String {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .args(["build", "--offline", "--color", "never", "--manifest-path"])
        .arg(manifest)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("build-script-errors/target"),
        )
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the build succeeded:\n{stderr}");
    stderr
}

/// The diagnostic, its source line and its caret, each at the start of a
/// line of the build script's output (which cargo indents by two spaces),
/// and none of the error's `Debug` structure.
fn assert_rendered(stderr: &str) {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("specs/broken.x:3:5: error: undefined type `nothing`"))
        .unwrap_or_else(|| panic!("no `specs/broken.x:3:5: error:` line:\n{stderr}"));
    assert!(
        lines[at..].contains(&"3 |     nothing y;"),
        "no source line:\n{stderr}"
    );
    assert!(
        lines[at..].iter().any(|l| l.starts_with("  |     ^^^^^^^")),
        "no caret under `nothing`:\n{stderr}"
    );
    assert!(
        !stderr.contains("GenerateError") && !stderr.contains("diagnostics: ["),
        "the error's structure was printed:\n{stderr}"
    );
}

#[test]
fn question_mark_into_box_dyn_error() {
    let manifest = scratch_crate(
        "question-mark",
        "fn main() -> Result<(), Box<dyn std::error::Error>> {\n    \
             xdrgen::Builder::new().compile(&[\"specs/broken.x\"])?;\n    Ok(())\n}\n",
    );
    assert_rendered(&failing_build(&manifest));
}

#[test]
fn unwrap() {
    let manifest = scratch_crate(
        "unwrap",
        "fn main() {\n    xdrgen::Builder::new().compile(&[\"specs/broken.x\"]).unwrap();\n}\n",
    );
    assert_rendered(&failing_build(&manifest));
}

#[test]
fn build_error_returned_from_main() {
    let manifest = scratch_crate(
        "returned",
        "fn main() -> Result<(), xdrgen::BuildError> {\n    \
             xdrgen::Builder::new().compile(&[\"specs/broken.x\"])\n}\n",
    );
    assert_rendered(&failing_build(&manifest));
}
