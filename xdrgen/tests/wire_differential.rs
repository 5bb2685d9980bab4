//! Differential wire tests against libtirpc: for every type of every
//! Debian rpcsvc `.x` file, libtirpc's `rpcb_prot.x`, the project's
//! `.x` files (`specs/*.x`, the crates' `*/specs/*.x`) and, when `XDRGEN_CORPUS` names the real-world corpus, ten
//! of its files (NFSv2/3/4, NLM, MOUNT, NDMP, krb5 iprop, idmap), random
//! XDR values are decoded and re-encoded both by the Rust xdrgen
//! generates and by the C `xdr_*` routines `rpcgen -c` generates (compiled with gcc and libtirpc here). Both sides must give
//! back exactly the input bytes, so each decodes what the other encodes to
//! the same value (XDR is canonical: one value, one encoding).
//!
//! Why a model-driven random *wire* generator rather than `proptest` over
//! Rust values: the generated types have no `Arbitrary` impls, and one
//! generator walking xdrgen's checked [`Model`] covers every type of every
//! spec (hundreds) without per-type code; it also knows where each bool,
//! enum, length and padding byte is, which gives the hostile-input cases
//! for free. Randomness is a seeded xorshift generator: a failure names
//! the seed (`XDRGEN_WIRE_SEED=<n>` reproduces it).
//!
//! Hostile inputs (Rust side): each valid sample is also mutated at one of
//! its sites (a bool set to 2, an enum set to a value that is not a member,
//! a padding byte set non-zero, a bounded length set to its maximum + 1,
//! the last byte cut off) and decoding must fail with the matching
//! `ErrorKind`. (libtirpc itself accepts any non-zero bool and any enum
//! value, so the C side is not asked.)
//!
//! Every Rust re-encoding also checks that the value's
//! `XdrEncode::encoded_len_hint` equals the length of its encoding.

mod c_samples;
mod corpus;
mod project_specs;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use c_samples::{assert_no_failures, build_c, hex, load_specs, pipe, run, Rng, Site, Spec};
use xdrgen::{generate, EmitOptions, Options};

/// Builds one Rust program holding every spec's types; it reads
/// `MODULE TYPE HEX` lines and prints the re-encoded hex or `ERR <kind>`.
fn build_rust(specs: &[Spec], dir: &Path) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("src dir");
    let mut main = String::from(
        "#![allow(warnings)]\nuse std::io::BufRead;\nuse xdr_codec::{XdrDecode, XdrEncode};\n",
    );
    let opts = Options {
        emit: EmitOptions {
            types: true,
            client: false,
            server: false,
            source_name: None,
            serde: false,
            arbitrary: false,
        },
        ..Options::default()
    };
    for spec in specs {
        let code = generate(&spec.path, &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", spec.path.display()))
            .code;
        std::fs::write(src.join(format!("{}.rs", spec.module)), code).expect("write module");
        let _ = writeln!(main, "mod {0} {{ include!(\"{0}.rs\"); }}", spec.module);
    }
    main.push_str(
        r#"
// Also checks that `encoded_len_hint` is exact for every generated type.
fn roundtrip<T: XdrDecode + XdrEncode>(b: &[u8]) -> String {
    match T::from_xdr_slice(b).and_then(|v| Ok((v.encoded_len_hint(), v.to_xdr_bytes()?))) {
        Ok((hint, out)) if hint != out.len() => {
            format!("ERR encoded_len_hint {hint} != encoded length {}", out.len())
        }
        Ok((_, out)) => out.iter().map(|x| format!("{x:02x}")).collect(),
        Err(e) => format!("ERR {:?}", e.kind()),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn main() {
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let mut parts = line.split(' ');
        let (m, t, h) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let b = unhex(h);
        let out = match (m, t) {
"#,
    );
    for spec in specs {
        for case in &spec.cases {
            let _ = writeln!(
                main,
                "            ({:?}, {:?}) => roundtrip::<{}::{}>(&b),",
                spec.module, case.rust, spec.module, case.rust
            );
        }
    }
    main.push_str(
        "            _ => \"ERR unknown\".to_owned(),\n        };\n        println!(\"{out}\");\n    }\n}\n",
    );
    std::fs::write(src.join("main.rs"), main).expect("write main");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"wire-runner\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\noncrpc-xdr-codec = {{ path = {:?} }}\n\n[workspace]\n",
            root.join("xdr-codec")
        ),
    )
    .expect("write Cargo.toml");
    let _ = std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"));
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    run(Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS"));
    dir.join("target/debug/wire-runner")
}

/// What decoding a corrupted sample must report (a prefix of the
/// `ErrorKind` debug text).
fn mutate(bytes: &[u8], site: &Site) -> (Vec<u8>, &'static str) {
    let kind = match site {
        Site::Bool(_) => "InvalidBool",
        Site::Enum(..) => "InvalidEnum",
        Site::Padding(_) => "NonZeroPadding",
        Site::Length(..) => "LengthExceedsMax",
    };
    (site.corrupt(bytes), kind)
}

#[test]
fn random_values_round_trip_identically_through_libtirpc_and_rust() {
    let seed: u64 = std::env::var("XDRGEN_WIRE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0001);
    let mut rng = Rng(seed | 1);
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wire-differential");
    let _ = std::fs::remove_dir_all(scratch.join("c"));
    std::fs::create_dir_all(scratch.join("c")).expect("scratch");

    let specs = load_specs(
        &mut rng,
        "random_values_round_trip_identically_through_libtirpc_and_rust",
        &[],
    );
    let rust = build_rust(&specs, &scratch.join("rust"));

    let mut failures = Vec::new();
    let mut compared = 0usize;
    let mut hostile = 0usize;
    let mut types = 0usize;
    for spec in &specs {
        let c_dir = scratch.join("c").join(&spec.module);
        std::fs::create_dir_all(&c_dir).expect("c dir");
        let c = build_c(spec, &c_dir);
        let mut c_in = String::new();
        let mut r_in = String::new();
        let mut expect = Vec::new();
        let mut hostile_in = String::new();
        let mut hostile_expect = Vec::new();
        for case in &spec.cases {
            types += 1;
            for (k, (bytes, sites)) in case.samples.iter().enumerate() {
                let h = hex(bytes);
                let _ = writeln!(c_in, "{} {h}", case.xdr);
                let _ = writeln!(r_in, "{} {} {h}", spec.module, case.rust);
                expect.push((case, h));
                // One corruption per sample, cycling through its sites,
                // plus a truncation.
                if let Some(site) = sites.get(k % sites.len().max(1)) {
                    let (b, kind) = mutate(bytes, site);
                    let _ = writeln!(hostile_in, "{} {} {}", spec.module, case.rust, hex(&b));
                    hostile_expect.push((case, format!("{site:?}"), vec![kind]));
                }
                if let Some((_, short)) = bytes.split_last() {
                    let _ = writeln!(hostile_in, "{} {} {}", spec.module, case.rust, hex(short));
                    hostile_expect.push((
                        case,
                        "truncated".to_owned(),
                        vec!["UnexpectedEof", "LengthExceedsInput"],
                    ));
                }
            }
        }
        let c_out = pipe(&c, &c_in);
        let r_out = pipe(&rust, &r_in);
        for (i, (case, h)) in expect.iter().enumerate() {
            compared += 1;
            let c_got = c_out.get(i).map_or("<missing>", String::as_str);
            let r_got = r_out.get(i).map_or("<missing>", String::as_str);
            if c_got != h || r_got != h {
                failures.push(format!(
                    "{} {}: input {h}\n  C    {c_got}\n  Rust {r_got}",
                    spec.path.display(),
                    case.xdr
                ));
            }
        }
        let h_out = pipe(&rust, &hostile_in);
        for (i, (case, what, kinds)) in hostile_expect.iter().enumerate() {
            hostile += 1;
            let got = h_out.get(i).map_or("<missing>", String::as_str);
            let ok = got
                .strip_prefix("ERR ")
                .is_some_and(|k| kinds.iter().any(|want| k.starts_with(want)));
            if !ok {
                failures.push(format!(
                    "{} {}: corrupted ({what}) input decoded as {got}, wanted one of {kinds:?}",
                    spec.path.display(),
                    case.xdr
                ));
            }
        }
    }
    let summary: BTreeMap<&str, usize> = [
        ("specs", specs.len()),
        ("types", types),
        ("samples", compared),
        ("hostile", hostile),
        (
            "long chains",
            specs
                .iter()
                .flat_map(|s| &s.cases)
                .filter(|c| c.long_chain)
                .count(),
        ),
    ]
    .into_iter()
    .collect();
    eprintln!("seed {seed:#x}: {summary:?}");
    assert!(types > 150, "too few types tested: {summary:?}");
    // A list node used by value is read as a list: every type holding one
    // was compared with a chain longer than the decoder's depth limit.
    let by_value = specs
        .iter()
        .find(|s| s.path.ends_with("list_by_value.x"))
        .expect("list_by_value.x");
    let long: Vec<&str> = by_value
        .cases
        .iter()
        .filter(|c| c.long_chain)
        .map(|c| c.xdr.as_str())
        .collect();
    assert_eq!(
        long,
        [
            "holder",
            "node_chain",
            "maybe_chain",
            "chains",
            "namelist",
            "names"
        ]
    );
    assert_no_failures(seed, &failures);
}
