//! The `spec_types` target covers every type of every `.x` file of the
//! project's crates: the list it fuzzes equals the types xdrgen finds in
//! the files (listed by `build.rs`, which reads every `.x` file of the
//! repository).

use fuzz_targets::spec_types::SPECS;

macro_rules! specs {
    ($($path:literal => $module:ident ($file:literal) [$($ty:ident),* $(,)?]),* $(,)?) => {
        /// Every `.x` file `build.rs` found, with the Rust names of its types.
        const FOUND: &[(&str, &[&str])] = &[$(($path, &[$(stringify!($ty)),*])),*];
    };
}

include!(concat!(env!("OUT_DIR"), "/roundtrip_specs.rs"));

#[test]
fn every_type_of_every_spec_is_fuzzed() {
    // The crates' own `specs/` folders (not the top-level `specs/` of
    // test and benchmark specs, nor xdrgen's test specs).
    let mut crate_specs: Vec<(&str, &[&str])> = FOUND
        .iter()
        .copied()
        .filter(|(path, _)| !path.starts_with("specs/") && !path.starts_with("xdrgen/"))
        .collect();
    crate_specs.sort();
    let mut fuzzed: Vec<(&str, &[&str])> = SPECS.to_vec();
    fuzzed.sort();
    assert_eq!(fuzzed, crate_specs);
}
