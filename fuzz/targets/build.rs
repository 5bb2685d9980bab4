//! Compiles every `.x` file of the project (`specs/`, each crate's
//! `specs/`, and xdrgen's test specs) into `OUT_DIR` with `Arbitrary`
//! impls, for the round-trip property test (`tests/roundtrip.rs`), and
//! writes `roundtrip_specs.rs`: one `specs!` entry per file naming its
//! module, its generated file and the Rust names of its types.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use xdrgen::model::{check, Item};
use xdrgen::{parse_file, ParseOptions, SourceMap};

/// The `.x` files in `dir`, sorted.
fn x_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "x"));
    files.sort();
    files
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("specs"), root.join("xdrgen/tests/specs")];
    let mut members: Vec<PathBuf> = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok().map(|e| e.path().join("specs")))
        .filter(|d| d.is_dir())
        .collect();
    members.sort();
    dirs.extend(members);
    let files: Vec<PathBuf> = dirs.iter().flat_map(|d| x_files(d)).collect();
    for d in &dirs {
        println!("cargo:rerun-if-changed={}", d.display());
    }

    xdrgen::Builder::new()
        .emit_client(false)
        .emit_server(false)
        .arbitrary(true)
        .compile(&files)?;

    let mut list = String::from("specs! {\n");
    for file in &files {
        let mut sources = SourceMap::new();
        let spec = parse_file(file, &ParseOptions::default(), &mut sources)
            .map_err(|e| format!("{}: {e:?}", file.display()))?;
        let model = check(&spec).map_err(|e| format!("{}: {e:?}", file.display()))?;
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("a .x file without a UTF-8 name")?;
        let types: Vec<&str> = model
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Type(t) => Some(t.rust_name.as_str()),
                _ => None,
            })
            .collect();
        let shown = file.strip_prefix(&root).unwrap_or(file).display();
        writeln!(
            list,
            "    \"{shown}\" => {stem} (\"{stem}.rs\") [{}],",
            types.join(", ")
        )?;
    }
    list.push_str("}\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("roundtrip_specs.rs");
    std::fs::write(out, list)?;
    Ok(())
}
