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

/// The default files: Debian's `rpcsvc/nfs_prot.x`, and the largest file
/// of the real-world corpus (libvirt's `remote_protocol.x`, 156 KB) when
/// the environment variable `XDRGEN_CORPUS` names the corpus directory.
pub fn default_specs() -> Vec<GenSpec> {
    let mut v = Vec::new();
    let nfs = PathBuf::from("/usr/include/rpcsvc/nfs_prot.x");
    if nfs.is_file() {
        v.push(GenSpec {
            path: nfs,
            defines: Vec::new(),
        });
    }
    let libvirt = std::env::var_os("XDRGEN_CORPUS")
        .map(|dir| PathBuf::from(dir).join("libvirt/remote_protocol.x"))
        .filter(|p| p.is_file());
    if let Some(libvirt) = libvirt {
        v.push(GenSpec {
            path: libvirt,
            defines: LIBVIRT_DEFINES.iter().map(|&d| d.to_owned()).collect(),
        });
    }
    v
}

/// One file's result.
#[derive(Debug, Clone)]
pub struct GenRow {
    /// The file.
    pub spec: PathBuf,
    /// Its size, in bytes.
    pub input_bytes: u64,
    /// Median wall time of `rpcgen`, ms.
    pub rpcgen_ms: Option<f64>,
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
        Ok(Err(err.lines().next().unwrap_or("failed").to_owned()))
    }
}

/// Times both compilers `runs` times on each spec.
///
/// # Errors
///
/// [`BenchError::Io`] if a temporary directory cannot be made or a tool
/// cannot be started, [`BenchError::Worker`] if rpcgen fails.
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
        let mut rpcgen = Vec::new();
        let mut xdrgen = Vec::new();
        let mut xdrgen_error = None;
        for _ in 0..runs.max(1) {
            let dir = tempfile::tempdir().map_err(|e| BenchError::io("making a temp dir", e))?;
            std::fs::copy(&spec.path, dir.path().join(file_name))
                .map_err(|e| BenchError::io(spec.path.display().to_string(), e))?;
            let mut cmd = placement.command(Role::Client, "rpcgen");
            cmd.current_dir(dir.path());
            for d in &spec.defines {
                cmd.arg(format!("-D{d}"));
            }
            cmd.arg(file_name);
            match time_run(&mut cmd)? {
                Ok(ms) => rpcgen.push(ms),
                Err(e) => {
                    return Err(BenchError::Worker {
                        command: format!("{cmd:?}"),
                        status: "failed".to_owned(),
                        output: e,
                    })
                }
            }
            let mut cmd = placement.command(Role::Client, exe);
            cmd.arg("xdrgen-run").arg(&spec.path);
            for d in &spec.defines {
                cmd.args(["-D", d]);
            }
            cmd.arg("-o").arg(dir.path().join("out.rs"));
            match time_run(&mut cmd)? {
                Ok(ms) => xdrgen.push(ms),
                Err(e) => {
                    xdrgen_error = Some(e);
                    break;
                }
            }
        }
        progress(&format!("gen: {}", spec.path.display()));
        rows.push(GenRow {
            spec: spec.path.clone(),
            input_bytes,
            rpcgen_ms: median(&rpcgen),
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

/// The compiler benchmark as a Markdown table.
pub fn render(rows: &[GenRow]) -> String {
    let mut t = Table::new([
        "spec",
        "bytes",
        "rpcgen ms",
        "xdrgen ms",
        "xdrgen/rpcgen time",
    ]);
    for r in rows {
        let name = r
            .spec
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let ratio = match (r.xdrgen_ms, r.rpcgen_ms) {
            (Some(x), Some(c)) if c > 0.0 => ratio(Some(x / c)),
            _ => r
                .xdrgen_error
                .as_deref()
                .map_or_else(|| "-".to_owned(), |e| format!("xdrgen failed: {e}")),
        };
        t.row([
            name,
            r.input_bytes.to_string(),
            num(r.rpcgen_ms, 1),
            num(r.xdrgen_ms, 1),
            ratio,
        ]);
    }
    t.render()
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
