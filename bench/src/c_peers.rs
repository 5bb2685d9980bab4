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
    Ok(listening(base("bench_server").server_stubs()).build()?)
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
    Ok(listening(framing("framing_server")).build()?)
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

/// Builds `bench/c/relay.c` (the broker benchmark's relay floor: one
/// epoll process copying bytes between each client connection and its own
/// backend connection with `splice`); run it as
/// `relay tcp PORT BACKEND_PORT`.
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn relay() -> Result<PathBuf> {
    Ok(listening(plain("relay")).build()?)
}

/// Builds `bench/c/canned_server.c` (the broker benchmark's client limit:
/// one epoll process answering every datastore call from memory); run it
/// as `canned_server tcp PORT`.
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn canned_server() -> Result<PathBuf> {
    Ok(listening(plain("canned_server")).build()?)
}

/// A framing-only peer: [`plain`] with the framing helpers.
fn framing(name: &str) -> CProgram {
    plain(name).input(c_source("framing.h"))
}

/// A peer in plain C (no spec), `-O2` as the other peers, the shared
/// headers' unused helpers allowed.
fn plain(name: &str) -> CProgram {
    CProgram::new(name)
        .cflag("-O2")
        .cflag("-g0")
        .cflag("-Wno-unused-function")
        .source(c_source(&format!("{name}.c")))
}

/// `program` with the interop tests' `peer_listen.h` (the C servers'
/// listening socket) on its include path.
fn listening(program: CProgram) -> CProgram {
    let listen = interop_tests::c_peer::c_source("peer_listen.h");
    let tests_c = listen.parent().map(Path::to_path_buf).unwrap_or_default();
    program
        .cflag(format!("-I{}", tests_c.display()))
        .input(listen)
}

/// Builds `bench/c/codec_bench.c` (the XDR routines on `xdrmem`).
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn codec_bench() -> Result<PathBuf> {
    Ok(base("codec_bench").build()?)
}
