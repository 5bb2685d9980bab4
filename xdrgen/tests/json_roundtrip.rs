//! `xdrgen::json` (the `xdrgen decode` / `encode` interpreter) against
//! libtirpc: for every type of every Debian rpcsvc `.x` file, libtirpc's
//! `rpcb_prot.x`, the project's `.x` files and the NFSv3 crate's, random XDR values are
//! decoded and re-encoded by the C `xdr_*` routines `rpcgen -c` generates;
//! the interpreter decodes the bytes C wrote to JSON, the JSON is printed
//! and parsed back, and `encode` must give back exactly C's bytes.
//!
//! Each sample is also corrupted at one of its sites (see
//! `c_samples::Site`) and cut short by one byte: decoding must then fail,
//! at the corrupted word's offset for the first.

// Shared with wire_differential.rs, which uses all of it.
#[allow(dead_code)]
mod c_samples;
mod corpus;
mod project_specs;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use c_samples::{assert_no_failures, build_c, hex, load_specs, pipe, Rng, Site};
use xdrgen::json::{decode, encode, unhex, Types};

/// The NFSv3 crate's specs (`nfs3/specs/`: MOUNT and NFS version 3),
/// besides the files every wire test reads.
fn nfs3_specs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nfs3/specs");
    ["mount3.x", "nfs3.x"].iter().map(|f| dir.join(f)).collect()
}

/// Where decoding a sample corrupted at `site` must report the error: the
/// word's offset, or for padding the start of the padding it belongs to.
fn offset_ok(site: &Site, got: Option<usize>) -> bool {
    match (site, got) {
        (Site::Padding(at), Some(g)) => g <= *at && at - g < 4,
        (Site::Bool(at) | Site::Enum(at, _) | Site::Length(at, _), Some(g)) => g == *at,
        (_, None) => false,
    }
}

#[test]
fn bytes_encoded_by_libtirpc_decode_to_json_that_encodes_back_to_them() {
    let seed: u64 = std::env::var("XDRGEN_WIRE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0002);
    let mut rng = Rng(seed | 1);
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("json-roundtrip");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch");
    let specs = load_specs(
        &mut rng,
        "bytes_encoded_by_libtirpc_decode_to_json_that_encodes_back_to_them",
        &nfs3_specs(),
    );

    let mut failures = Vec::new();
    let (mut types_tested, mut samples, mut corrupted) = (0usize, 0usize, 0usize);
    for spec in &specs {
        let types = Types::new(&spec.model);
        let dir = scratch.join(&spec.module);
        std::fs::create_dir_all(&dir).expect("c dir");
        let c = build_c(spec, &dir);
        let mut c_in = String::new();
        for case in &spec.cases {
            for (bytes, _) in &case.samples {
                let _ = writeln!(c_in, "{} {}", case.xdr, hex(bytes));
            }
        }
        let mut c_out = pipe(&c, &c_in).into_iter();
        for case in &spec.cases {
            types_tested += 1;
            for (k, (bytes, sites)) in case.samples.iter().enumerate() {
                samples += 1;
                let line = c_out.next().unwrap_or_default();
                let Ok(c_bytes) = unhex(&line) else {
                    failures.push(format!("{} {}: C printed {line}", spec.module, case.xdr));
                    continue;
                };
                let fail = |what: String| format!("{} {}: {what}", spec.path.display(), case.xdr);
                let json = match decode(&types, &case.xdr, &c_bytes, false) {
                    Ok(v) => v.to_string(),
                    Err(e) => {
                        failures.push(fail(format!("decode {line}: {e}")));
                        continue;
                    }
                };
                let parsed: serde_json::Value = match serde_json::from_str(&json) {
                    Ok(v) => v,
                    Err(e) => {
                        failures.push(fail(format!("JSON does not parse back ({e}): {json}")));
                        continue;
                    }
                };
                match encode(&types, &case.xdr, &parsed) {
                    Ok(b) if b == c_bytes => {}
                    Ok(b) => failures.push(fail(format!(
                        "C {line}\n  JSON {json}\n  re-encoded {}",
                        hex(&b)
                    ))),
                    Err(e) => failures.push(fail(format!("encode {json}: {e}"))),
                }
                if let Some(site) = sites.get(k % sites.len().max(1)) {
                    corrupted += 1;
                    let bad = site.corrupt(bytes);
                    match decode(&types, &case.xdr, &bad, false) {
                        Err(e) if offset_ok(site, e.offset) => {}
                        other => failures.push(fail(format!(
                            "corrupted at {site:?}: {} gave {other:?}",
                            hex(&bad)
                        ))),
                    }
                }
                if let Some((_, short)) = bytes.split_last() {
                    if decode(&types, &case.xdr, short, false).is_ok() {
                        failures.push(fail(format!("{} decoded, one byte short", hex(short))));
                    }
                }
            }
        }
    }
    eprintln!(
        "seed {seed:#x}: {} specs, {types_tested} types, {samples} samples, {corrupted} corrupted",
        specs.len()
    );
    assert!(types_tested > 150, "too few types tested");
    assert_no_failures(seed, &failures);
}

/// XDR is canonical (one value, one encoding), and the JSON form keeps
/// every bit: any input that decodes must encode back to itself. Valid
/// samples of every type are mutated at random (a word set to a small
/// value, to a NaN with a payload or to random bits, a byte changed, the
/// end cut or extended); decoding must give a value that re-encodes to
/// the mutated bytes, or an error, and never panic.
#[test]
fn whatever_decodes_encodes_back_to_the_same_bytes() {
    let mut rng = Rng(0x5eed_0003);
    let specs = load_specs(
        &mut rng,
        "whatever_decodes_encodes_back_to_the_same_bytes",
        &nfs3_specs(),
    );
    let (mut decoded, mut refused) = (0usize, 0usize);
    let mut failures = Vec::new();
    for spec in &specs {
        let types = Types::new(&spec.model);
        for case in &spec.cases {
            for (bytes, _) in &case.samples {
                for _ in 0..8 {
                    let mut b = bytes.clone();
                    let words = b.len() / 4;
                    let at = 4 * rng.below(words as u64) as usize;
                    match rng.below(6) {
                        0 | 1 if words > 0 => {
                            let v = rng.below(4) as u32;
                            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
                        }
                        2 if words > 0 => {
                            b[at..at + 4].copy_from_slice(&0x7fc0_0001u32.to_be_bytes())
                        }
                        3 if words > 0 => {
                            let v = rng.next() as u32;
                            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
                        }
                        4 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
                        _ => b.extend_from_slice(&[0, 0, 0, 1]),
                    }
                    match decode(&types, &case.xdr, &b, false) {
                        Err(_) => refused += 1,
                        Ok(v) => {
                            decoded += 1;
                            match encode(&types, &case.xdr, &v) {
                                Ok(out) if out == b => {}
                                other => failures.push(format!(
                                    "{} {}: {} decoded to {v}, encoded to {other:?}",
                                    spec.path.display(),
                                    case.xdr,
                                    hex(&b)
                                )),
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!("{decoded} mutated inputs decoded, {refused} refused");
    assert!(
        decoded > 1000 && refused > 1000,
        "{decoded} decoded, {refused} refused"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
