//! The C peers of the benchmarks, built from `specs/bench.x` and
//! `bench/c/*.c` with the real `rpcgen -N -M` and `gcc -O2 ... -ltirpc`
//! (through the interop tests' [`CProgram`] harness, which caches builds).

use std::path::{Path, PathBuf};

use interop_tests::c_peer::{spec_path, CProgram};

use crate::error::Result;

/// `rpcgen` flags of every benchmark peer: newstyle, MT-safe stubs.
pub const RPCGEN_FLAGS: [&str; 2] = ["-N", "-M"];

/// `bench/c/<name>`.
pub fn c_source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c").join(name)
}

fn base(name: &str) -> CProgram {
    CProgram::new(name)
        .spec(spec_path("bench.x"))
        .rpcgen_flags(RPCGEN_FLAGS)
        // After the harness's -O1: optimise as Debian builds libtirpc.
        .cflag("-O2")
        .cflag("-g0")
        .source(c_source(&format!("{name}.c")))
}

/// Builds `bench/c/bench_server.c` (single-threaded `svc_run` server);
/// run it as `bench_server tcp PORT`.
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn bench_server() -> Result<PathBuf> {
    let listen = interop_tests::c_peer::c_source("peer_listen.h");
    let tests_c = listen.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(base("bench_server")
        .server_stubs()
        .cflag(format!("-I{}", tests_c.display()))
        .input(listen)
        .build()?)
}

/// Builds `bench/c/bench_client.c` (synchronous client processes).
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn bench_client() -> Result<PathBuf> {
    Ok(base("bench_client")
        .client_stubs()
        .input(c_source("load_driver.h"))
        .build()?)
}

/// Builds `bench/c/framing_server.c` (the framing-only limit's server:
/// record marks and a few dozen bytes, no XDR); run it as
/// `framing_server tcp PORT`.
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn framing_server() -> Result<PathBuf> {
    let listen = interop_tests::c_peer::c_source("peer_listen.h");
    let tests_c = listen.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(framing("framing_server")
        .cflag(format!("-I{}", tests_c.display()))
        .input(listen)
        .build()?)
}

/// Builds `bench/c/framing_client.c` (the framing-only limit's client:
/// `-d DEPTH` records in flight on one connection).
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn framing_client() -> Result<PathBuf> {
    Ok(framing("framing_client")
        .input(c_source("load_driver.h"))
        .build()?)
}

/// A framing-only peer: plain C (no spec), `-O2` as the other peers, the
/// shared headers' unused helpers allowed.
fn framing(name: &str) -> CProgram {
    CProgram::new(name)
        .cflag("-O2")
        .cflag("-g0")
        .cflag("-Wno-unused-function")
        .source(c_source(&format!("{name}.c")))
        .input(c_source("framing.h"))
}

/// Builds `bench/c/codec_bench.c` (the XDR routines on `xdrmem`).
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn codec_bench() -> Result<PathBuf> {
    Ok(base("codec_bench").build()?)
}
