//! The `spec_types` target covers every type of every `.x` file of the
//! project: the list it fuzzes equals the types xdrgen finds in the files.

use std::path::Path;

use fuzz_targets::spec_types::SPECS;
use xdrgen::model::{check, Item};
use xdrgen::{parse_file, ParseOptions, SourceMap};

#[test]
fn every_type_of_every_spec_is_fuzzed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut specs: Vec<String> = std::fs::read_dir(&root)
        .expect("repository root")
        .flat_map(|member| std::fs::read_dir(member.expect("entry").path().join("specs")))
        .flatten()
        .map(|f| f.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "x"))
        .map(|p| {
            p.strip_prefix(&root)
                .expect("below root")
                .display()
                .to_string()
        })
        .collect();
    specs.sort();
    let mut listed: Vec<String> = SPECS.iter().map(|(p, _)| p.to_string()).collect();
    listed.sort();
    assert_eq!(listed, specs, "the .x files of the project's crates");

    for (path, fuzzed) in SPECS {
        let mut sources = SourceMap::new();
        let spec = parse_file(&root.join(path), &ParseOptions::default(), &mut sources)
            .unwrap_or_else(|e| panic!("{path}: {e:?}"));
        let model = check(&spec).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        let types: Vec<&str> = model
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Type(t) => Some(t.rust_name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(fuzzed.to_vec(), types, "{path}");
    }
}
