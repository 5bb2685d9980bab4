//! Cross-checks the parser against the C `rpcgen` (rpcsvc-proto): for every
//! real `.x` file that `rpcgen -h` accepts, the type definitions we parse
//! are exactly the ones rpcgen emits an `xdr_NAME` routine for (same names,
//! same order), and every constant, program, version and procedure number
//! we parse equals rpcgen's `#define NAME VALUE`. The files: Debian's
//! `/usr/include/rpcsvc/*.x`, libtirpc's `rpcb_prot.x` and, when
//! `XDRGEN_CORPUS` names it, the real-world corpus.

mod corpus;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use xdrgen::ast::{Definition, Specification, Value};
use xdrgen::diagnostic::render_all;
use xdrgen::{parse_file, ParseOptions, SourceMap};

fn x_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            x_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "x") {
            out.push(p);
        }
    }
}

/// rpcgen's header for `path`, or `None` if rpcgen refuses the file.
fn rpcgen_header(path: &Path, scratch: &Path) -> Option<String> {
    let out = scratch.join(format!("{}.h", path.file_stem()?.to_string_lossy()));
    let _ = std::fs::remove_file(&out);
    let status = Command::new("rpcgen")
        .arg("-h")
        .arg("-o")
        .arg(&out)
        .arg(path.file_name()?)
        .current_dir(path.parent()?)
        .output()
        .ok()?;
    if !status.status.success() {
        return None;
    }
    std::fs::read_to_string(&out).ok()
}

/// The names rpcgen declares `xdr_` routines for, in order.
fn rpcgen_types(header: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for line in header.lines() {
        if let Some(rest) = line.strip_prefix("extern  bool_t xdr_") {
            if let Some((name, _)) = rest.split_once(" (XDR *") {
                if !seen.iter().any(|s| s == name) {
                    seen.push(name.to_string());
                }
            }
        }
    }
    seen
}

/// rpcgen's `#define NAME VALUE` lines (the first one per name).
fn rpcgen_defines(header: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in header.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("#define") {
            if let (Some(name), Some(value)) = (words.next(), words.next()) {
                map.entry(name.to_string())
                    .or_insert_with(|| value.to_string());
            }
        }
    }
    map
}

fn c_int(text: &str) -> Option<i128> {
    let (neg, t) = text.strip_prefix('-').map_or((false, text), |t| (true, t));
    let t = t.trim_end_matches(['u', 'U', 'l', 'L']);
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i128::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i128::from_str_radix(t, 8).ok()?
    } else {
        t.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

fn check_value(
    file: &Path,
    name: &str,
    ours: &Value,
    defines: &HashMap<String, String>,
    problems: &mut Vec<String>,
) {
    let Some(theirs) = defines.get(name) else {
        problems.push(format!("{}: rpcgen has no #define {name}", file.display()));
        return;
    };
    let same = match ours {
        Value::Literal { value, .. } => c_int(theirs) == Some(*value),
        Value::Named(id) => *theirs == id.name,
        Value::Str { value, .. } => *theirs == format!("\"{value}\""),
    };
    if !same {
        problems.push(format!(
            "{}: {name}: ours {ours:?}, rpcgen {theirs}",
            file.display()
        ));
    }
}

fn compare(file: &Path, spec: &Specification, header: &str, problems: &mut Vec<String>) {
    let defines = rpcgen_defines(header);
    let mut ours = Vec::new();
    for def in &spec.definitions {
        match def {
            Definition::Const(c) => check_value(file, &c.name.name, &c.value, &defines, problems),
            // rpcgen declares a routine once per name, even if defined twice.
            Definition::Type(t) if !ours.contains(&t.name.name) => ours.push(t.name.name.clone()),
            Definition::Type(_) => {}
            Definition::Program(p) => {
                check_value(file, &p.name.name, &p.number, &defines, problems);
                for v in &p.versions {
                    check_value(file, &v.name.name, &v.number, &defines, problems);
                    for proc_ in &v.procedures {
                        check_value(file, &proc_.name.name, &proc_.number, &defines, problems);
                    }
                }
            }
        }
    }
    let theirs = rpcgen_types(header);
    if ours != theirs {
        problems.push(format!(
            "{}: type definitions differ:\n  ours   {ours:?}\n  rpcgen {theirs:?}",
            file.display()
        ));
    }
}

#[test]
fn agrees_with_rpcgen() {
    assert!(
        Command::new("rpcgen").arg("--version").output().is_ok(),
        "rpcgen is not installed (Debian package rpcsvc-proto)"
    );
    let mut files = Vec::new();
    x_files(Path::new("/usr/include/rpcsvc"), &mut files);
    files.push(PathBuf::from("/usr/include/tirpc/rpc/rpcb_prot.x"));
    // rpcgen takes all but a few of the system files, and about half of
    // the corpus.
    let mut min_compared = 12;
    if let Some(corpus) = corpus::dir("agrees_with_rpcgen") {
        x_files(&corpus, &mut files);
        min_compared = 40;
    }
    files.sort();
    let scratch = tempfile::tempdir().expect("tempdir");
    let opts = ParseOptions::default().define("RPC_HDR", None);
    let mut compared = 0;
    let mut problems = Vec::new();
    for path in files.iter().filter(|p| p.is_file()) {
        let Some(header) = rpcgen_header(path, scratch.path()) else {
            continue;
        };
        let mut sources = SourceMap::new();
        match parse_file(path, &opts, &mut sources) {
            Ok(spec) => compare(path, &spec, &header, &mut problems),
            Err(errs) => problems.push(render_all(&errs, &sources)),
        }
        compared += 1;
    }
    assert!(compared >= min_compared, "only {compared} files compared");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
