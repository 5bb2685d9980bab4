//! The compiler benchmark: wall time of `xdrgen` against
//! `rpcgen` on the same `.x` files, each run as a fresh process pinned to
//! the client CPU, alternating the two, median of the runs.
//!
//! `rpcgen FILE` (no mode flag) writes everything it can (header, XDR
//! routines, and client and server stubs when the file has a program), in
//! a fresh directory each run; xdrgen (`bench xdrgen-run`, the library the
//! `xdrgen` CLI is a front end to) emits types, clients and servers into
//! one file. Both get the same `-D` macros.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::error::{BenchError, Result};
use crate::placement::{Placement, Role};
use crate::stats::median;
use crate::table::{num, ratio, Table};

/// A `.x` file and the macros it needs (names its C headers define).
#[derive(Debug, Clone)]
pub struct GenSpec {
    /// The file.
    pub path: PathBuf,
    /// `NAME=VALUE` or `NAME` macros, for both compilers.
    pub defines: Vec<String>,
}

/// The values libvirt's C headers give the macros `remote_protocol.x`
/// uses without defining (`VIR_UUID_BUFLEN` etc., libvirt 9.6).
const LIBVIRT_DEFINES: [&str; 11] = [
    "VIR_UUID_BUFLEN=16",
    "VIR_SECURITY_MODEL_BUFLEN=257",
    "VIR_SECURITY_LABEL_BUFLEN=4097",
    "VIR_SECURITY_DOI_BUFLEN=257",
    "VIR_TYPED_PARAM_INT=1",
    "VIR_TYPED_PARAM_UINT=2",
    "VIR_TYPED_PARAM_LLONG=3",
    "VIR_TYPED_PARAM_ULLONG=4",
    "VIR_TYPED_PARAM_DOUBLE=5",
    "VIR_TYPED_PARAM_BOOLEAN=6",
    "VIR_TYPED_PARAM_STRING=7",
];

/// A spec with the macros its project's headers define (libvirt's files
/// get [`LIBVIRT_DEFINES`]).
fn spec(path: PathBuf) -> GenSpec {
    let libvirt = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "libvirt");
    GenSpec {
        path,
        defines: if libvirt {
            LIBVIRT_DEFINES.iter().map(|&d| d.to_owned()).collect()
        } else {
            Vec::new()
        },
    }
}

/// The corpus directory named by the environment variable
/// `XDRGEN_CORPUS`, if it names one.
fn corpus_dir() -> Option<PathBuf> {
    std::env::var_os("XDRGEN_CORPUS")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
}

/// The default files: Debian's `rpcsvc/nfs_prot.x`, and the largest file
/// of the real-world corpus (libvirt's `remote_protocol.x`, 156 KB) when
/// the environment variable `XDRGEN_CORPUS` names the corpus directory.
pub fn default_specs() -> Vec<GenSpec> {
    let nfs = PathBuf::from("/usr/include/rpcsvc/nfs_prot.x");
    let libvirt = corpus_dir().map(|dir| dir.join("libvirt/remote_protocol.x"));
    [Some(nfs), libvirt]
        .into_iter()
        .flatten()
        .filter(|p| p.is_file())
        .map(spec)
        .collect()
}

/// Every `.x` file of the corpus the design promises to accept: Debian's
/// `/usr/include/rpcsvc/*.x`, libtirpc's `rpcb_prot.x`, and every file of
/// the real-world corpus under `XDRGEN_CORPUS` (if set), in path order.
///
/// # Errors
///
/// [`BenchError::Io`] if a directory cannot be read.
pub fn corpus_specs() -> Result<Vec<GenSpec>> {
    let mut paths = x_files(Path::new("/usr/include/rpcsvc"))?;
    let rpcb = PathBuf::from("/usr/include/tirpc/rpc/rpcb_prot.x");
    if rpcb.is_file() {
        paths.push(rpcb);
    }
    if let Some(dir) = corpus_dir() {
        let mut subdirs: Vec<PathBuf> = read_dir(&dir)?.filter(|p| p.is_dir()).collect();
        subdirs.sort();
        for d in subdirs {
            paths.extend(x_files(&d)?);
        }
    }
    Ok(paths.into_iter().map(spec).collect())
}

fn read_dir(dir: &Path) -> Result<impl Iterator<Item = PathBuf>> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| BenchError::io(dir.display().to_string(), e))?
        .filter_map(|e| e.ok().map(|e| e.path())))
}

/// The `.x` files directly in `dir`, sorted (none if it does not exist).
fn x_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut v: Vec<PathBuf> = read_dir(dir)?
        .filter(|p| p.extension().is_some_and(|e| e == "x") && p.is_file())
        .collect();
    v.sort();
    Ok(v)
}

/// One file's result.
#[derive(Debug, Clone)]
pub struct GenRow {
    /// The file.
    pub spec: PathBuf,
    /// Its size, in bytes.
    pub input_bytes: u64,
    /// Median wall time of `rpcgen`, ms (`None` if it refused the file).
    pub rpcgen_ms: Option<f64>,
    /// Why rpcgen failed, if it did (its first line of output).
    pub rpcgen_error: Option<String>,
    /// Median wall time of xdrgen, ms (`None` if it refused the file).
    pub xdrgen_ms: Option<f64>,
    /// Why xdrgen failed, if it did (its first line of output).
    pub xdrgen_error: Option<String>,
}

/// Runs `cmd` to completion with output discarded; its wall time in ms,
/// or its stderr's first line if it fails.
fn time_run(cmd: &mut Command) -> Result<Result<f64, String>> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let t0 = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| BenchError::io(format!("running {cmd:?}"), e))?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if out.status.success() {
        Ok(Ok(ms))
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Ok(Err(first_error(&err)))
    }
}

/// The line of a compiler's error output that says what is wrong: the
/// first naming an error (`FILE:LINE:COL: error: ...`, rpcgen's `FILE,
/// line N: ...`), past the `bench: error:` line wrapping xdrgen's; else
/// the first non-empty line.
fn first_error(stderr: &str) -> String {
    let mut lines = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("bench: error:"));
    let first = lines.clone().next();
    lines
        .find(|l| l.contains("error") || l.contains(", line "))
        .or(first)
        .unwrap_or("failed")
        .to_owned()
}

/// Times both compilers `runs` times on each spec, each run in a fresh
/// directory holding the spec and the `.x` files beside it (which it may
/// `#include`). A compiler that refuses a file is run once and its first
/// line of errors kept.
///
/// # Errors
///
/// [`BenchError::Io`] if a temporary directory cannot be made or a tool
/// cannot be started.
pub fn run(
    exe: &Path,
    specs: &[GenSpec],
    runs: usize,
    placement: Placement,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<GenRow>> {
    let mut rows = Vec::new();
    for spec in specs {
        let input_bytes = std::fs::metadata(&spec.path)
            .map_err(|e| BenchError::io(spec.path.display().to_string(), e))?
            .len();
        let file_name = spec
            .path
            .file_name()
            .ok_or_else(|| BenchError::Usage(format!("{} is not a file", spec.path.display())))?;
        let siblings = match spec.path.parent() {
            Some(d) => x_files(d)?,
            None => Vec::new(),
        };
        let mut rpcgen = Vec::new();
        let mut xdrgen = Vec::new();
        let mut rpcgen_error = None;
        let mut xdrgen_error = None;
        for _ in 0..runs.max(1) {
            let dir = tempfile::tempdir().map_err(|e| BenchError::io("making a temp dir", e))?;
            for p in siblings.iter().chain([&spec.path]) {
                if let Some(name) = p.file_name() {
                    std::fs::copy(p, dir.path().join(name))
                        .map_err(|e| BenchError::io(p.display().to_string(), e))?;
                }
            }
            if rpcgen_error.is_none() {
                let mut cmd = placement.command(Role::Client, "rpcgen");
                cmd.current_dir(dir.path());
                for d in &spec.defines {
                    cmd.arg(format!("-D{d}"));
                }
                cmd.arg(file_name);
                match time_run(&mut cmd)? {
                    Ok(ms) => rpcgen.push(ms),
                    Err(e) => rpcgen_error = Some(e),
                }
            }
            if xdrgen_error.is_some() {
                continue;
            }
            let mut cmd = placement.command(Role::Client, exe);
            cmd.arg("xdrgen-run").arg(&spec.path);
            for d in &spec.defines {
                cmd.args(["-D", d]);
            }
            cmd.arg("-o").arg(dir.path().join("out.rs"));
            match time_run(&mut cmd)? {
                Ok(ms) => xdrgen.push(ms),
                Err(e) => xdrgen_error = Some(e),
            }
            if rpcgen_error.is_some() && xdrgen_error.is_some() {
                break;
            }
        }
        progress(&format!("gen: {}", spec.path.display()));
        rows.push(GenRow {
            spec: spec.path.clone(),
            input_bytes,
            rpcgen_ms: if rpcgen_error.is_some() {
                None
            } else {
                median(&rpcgen)
            },
            rpcgen_error,
            xdrgen_ms: if xdrgen_error.is_some() {
                None
            } else {
                median(&xdrgen)
            },
            xdrgen_error,
        });
    }
    Ok(rows)
}

/// The goal of every row: xdrgen takes at most rpcgen's wall time.
pub const GOAL_RATIO: f64 = 1.0;

/// `dir/file` of a spec (several corpus files share a name).
fn short_name(path: &Path) -> String {
    let parts: Vec<String> = path
        .iter()
        .rev()
        .take(2)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// A tool's first line of errors, fit for a table cell.
fn cell(e: &str) -> String {
    let e = e.replace('|', "/");
    match e.char_indices().nth(90) {
        Some((i, _)) => format!("{}...", &e[..i]),
        None => e,
    }
}

/// The compiler benchmark as a Markdown table, then (with more than one
/// row) how many files meet [`GOAL_RATIO`].
pub fn render(rows: &[GenRow]) -> String {
    let mut t = Table::new([
        "spec",
        "bytes",
        "rpcgen ms",
        "xdrgen ms",
        "xdrgen/rpcgen time",
        "met (goal)",
    ]);
    let mut compared = Vec::new();
    for r in rows {
        let (ratio_text, met) = match (r.xdrgen_ms, r.rpcgen_ms, &r.rpcgen_error, &r.xdrgen_error) {
            (Some(x), Some(c), _, _) if c > 0.0 => {
                let q = x / c;
                compared.push((q, short_name(&r.spec)));
                let met = if q <= GOAL_RATIO { "yes" } else { "no" };
                (ratio(Some(q)), format!("{met} (<= {GOAL_RATIO:.2}x)"))
            }
            (_, _, Some(e), _) => (format!("rpcgen refused: {}", cell(e)), "-".to_owned()),
            (_, _, _, Some(e)) => (format!("xdrgen refused: {}", cell(e)), "-".to_owned()),
            _ => ("-".to_owned(), "-".to_owned()),
        };
        t.row([
            short_name(&r.spec),
            r.input_bytes.to_string(),
            num(r.rpcgen_ms, 1),
            num(r.xdrgen_ms, 1),
            ratio_text,
            met,
        ]);
    }
    let mut out = t.render();
    if rows.len() > 1 {
        let met = compared.iter().filter(|(q, _)| *q <= GOAL_RATIO).count();
        let worst = compared.iter().max_by(|a, b| a.0.total_cmp(&b.0));
        out.push_str(&format!(
            "\nxdrgen at most rpcgen's wall time on {met} of the {} files both accept",
            compared.len()
        ));
        if let Some((q, name)) = worst {
            out.push_str(&format!("; slowest ratio {} ({name})", ratio(Some(*q))));
        }
        out.push_str(".\n");
    }
    out
}

/// The `bench xdrgen-run` worker: compiles `spec` with xdrgen's library
/// (types, clients and servers) and writes the Rust to `out`.
///
/// # Errors
///
/// [`BenchError::Worker`] with xdrgen's diagnostics if the file is
/// refused, [`BenchError::Io`] if `out` cannot be written.
pub fn xdrgen_run(spec: &Path, defines: &[String], out: &Path) -> Result<()> {
    let mut opts = xdrgen::Options::default();
    for d in defines {
        let (name, value) = match d.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (d.as_str(), None),
        };
        opts.parse = opts.parse.define(name, value);
    }
    let generated = xdrgen::generate(spec, &opts).map_err(|e| BenchError::Worker {
        command: format!("xdrgen {}", spec.display()),
        status: "refused".to_owned(),
        output: e.to_string(),
    })?;
    std::fs::write(out, generated.code).map_err(|e| BenchError::io(out.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, rpcgen_ms: Option<f64>, xdrgen_ms: Option<f64>) -> GenRow {
        GenRow {
            spec: PathBuf::from(name),
            input_bytes: 1,
            rpcgen_ms,
            rpcgen_error: rpcgen_ms
                .is_none()
                .then(|| "line 1: bad | worse".to_owned()),
            xdrgen_ms,
            xdrgen_error: None,
        }
    }

    #[test]
    fn render_counts_the_files_that_meet_the_goal() {
        let out = render(&[
            row("/c/a/fast.x", Some(10.0), Some(5.0)),
            row("/c/b/slow.x", Some(10.0), Some(30.0)),
            row("/c/b/dialect.x", None, Some(1.0)),
        ]);
        assert!(out.contains("| a/fast.x "), "{out}");
        assert!(out.contains("0.50x") && out.contains("3.00x"), "{out}");
        assert!(out.contains("rpcgen refused: line 1: bad / worse"), "{out}");
        assert!(
            out.contains("on 1 of the 2 files both accept; slowest ratio 3.00x (b/slow.x)"),
            "{out}"
        );
    }

    #[test]
    fn first_error_skips_the_wrapper_and_finds_the_diagnostic() {
        let xdrgen = "bench: error: `xdrgen a.x` failed (refused):\n\
                      a.x:3:5: error: undefined type `t`\n   |\n";
        assert_eq!(first_error(xdrgen), "a.x:3:5: error: undefined type `t`");
        let rpcgen = "    struct {\n    ^^^\nb.x, line 7: definition keyword expected\n";
        assert_eq!(
            first_error(rpcgen),
            "b.x, line 7: definition keyword expected"
        );
        assert_eq!(first_error("odd\n"), "odd");
        assert_eq!(first_error(""), "failed");
    }

    #[test]
    fn libvirt_specs_get_libvirt_macros() {
        assert_eq!(
            spec(PathBuf::from("/c/libvirt/remote_protocol.x"))
                .defines
                .len(),
            LIBVIRT_DEFINES.len()
        );
        assert!(spec(PathBuf::from("/c/krb5/iprop.x")).defines.is_empty());
    }
}
