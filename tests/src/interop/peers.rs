//! The C peers of the interop protocol (`specs/interop.x`), built with
//! `rpcgen -N -M` from `tests/c/`.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use crate::c_peer::{
    c_source, run_with_input, run_with_timeout, spec_path, CPeerError, CProgram, Endpoint, Result,
};

/// The `rpcgen` flags every interop C peer is built with: newstyle
/// (several arguments) and MT-safe stubs (results passed by pointer).
pub const RPCGEN_FLAGS: [&str; 2] = ["-N", "-M"];

/// Calls the C client makes per round: one per procedure (12).
pub const CALLS_PER_ROUND: u64 = 12;

/// Calls the C client's error checks (`-e`) make that reach the server's
/// handlers: REVERSE of [`SYSTEM_ERR_TEXT`](super::compute::SYSTEM_ERR_TEXT)
/// and one ADD.
pub const ERROR_CHECK_CALLS: u64 = 2;

/// How long the C client may run before it is killed.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

fn base(name: &str) -> CProgram {
    CProgram::new(name)
        .spec(spec_path("interop.x"))
        .rpcgen_flags(RPCGEN_FLAGS)
        .source(c_source("interop_compute.c"))
        .input(c_source("interop_compute.h"))
}

/// Builds `tests/c/interop_server.c`; run it with
/// [`CServer::start_tcp`](crate::c_peer::CServer::start_tcp) or
/// [`CServer::start_unix`](crate::c_peer::CServer::start_unix).
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn interop_server() -> Result<PathBuf> {
    base("interop_server")
        .server_stubs()
        .source(c_source("interop_server.c"))
        .input(c_source("peer_listen.h"))
        .build()
}

/// Builds `tests/c/interop_client.c`; run it with [`run_interop_client`].
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn interop_client() -> Result<PathBuf> {
    base("interop_client")
        .client_stubs()
        .source(c_source("interop_client.c"))
        .input(c_source("peer_address.h"))
        .build()
}

/// Runs the C client against `endpoint` for `rounds` rounds (each round
/// calls every procedure once; the first also moves two 1 MiB blobs) with
/// the given PRNG seed, after checking the error replies if `error_checks`
/// (see `tests/c/interop_client.c`), and returns its output. It blocks: from async code
/// whose runtime serves the endpoint, call it in `spawn_blocking`.
///
/// # Errors
///
/// As [`CProgram::build`] and [`run_with_timeout`]. A failing client is
/// not an error here; check `Output::status`.
pub fn run_interop_client(
    endpoint: &Endpoint,
    rounds: u32,
    seed: u64,
    error_checks: bool,
) -> Result<Output> {
    let client = interop_client()?;
    let mut cmd = Command::new(client);
    if error_checks {
        cmd.arg("-e");
    }
    cmd.args(["-r", &rounds.to_string(), "-s", &seed.to_string()]);
    match endpoint {
        Endpoint::Tcp(a) => cmd.args(["tcp", &a.ip().to_string(), &a.port().to_string()]),
        Endpoint::Unix(p) => cmd.arg("unix").arg(p),
    };
    run_with_timeout(&mut cmd, CLIENT_TIMEOUT)
}

/// The number of calls from the client's last line, `ok N calls`; `None`
/// if the output has no such line (the client failed).
pub fn calls_reported(output: &Output) -> Option<u64> {
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().rev().find_map(|line| {
        line.strip_prefix("ok ")
            .and_then(|rest| rest.strip_suffix(" calls"))
            .and_then(|n| n.parse().ok())
    })
}

/// Builds `tests/c/interop_codec.c` (rpcgen's XDR routines on a stream).
///
/// # Errors
///
/// As [`CProgram::build`].
pub fn interop_codec() -> Result<PathBuf> {
    CProgram::new("interop_codec")
        .spec(spec_path("interop.x"))
        .rpcgen_flags(RPCGEN_FLAGS)
        .source(c_source("interop_codec.c"))
        .build()
}

/// Has libtirpc decode each of `encodings` as the `.x` type `xdr_type`
/// (e.g. `"record"`) and encode it again; returns the re-encodings in
/// order. Blocks; see [`run_with_timeout`].
///
/// # Errors
///
/// [`CPeerError::ToolFailed`] with libtirpc's complaint if an encoding
/// does not decode exactly, or as [`CProgram::build`].
pub fn c_roundtrip<B: AsRef<[u8]>>(xdr_type: &str, encodings: &[B]) -> Result<Vec<Vec<u8>>> {
    let codec = interop_codec()?;
    let mut input = Vec::new();
    for e in encodings {
        let e = e.as_ref();
        let len = u32::try_from(e.len()).map_err(|_| {
            CPeerError::io(
                "framing an encoding",
                std::io::Error::other("longer than 4 GiB"),
            )
        })?;
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(e);
    }
    let mut cmd = Command::new(&codec);
    cmd.args(["roundtrip", xdr_type]);
    let out = run_with_input(&mut cmd, input, CLIENT_TIMEOUT)?;
    if !out.status.success() {
        return Err(CPeerError::ToolFailed {
            command: format!("interop_codec roundtrip {xdr_type}"),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    split_frames(&out.stdout).ok_or_else(|| {
        CPeerError::io(
            "reading interop_codec output",
            std::io::Error::other("truncated frame"),
        )
    })
}

/// Splits `len (u32 BE) + bytes` frames; `None` if the last is cut short.
fn split_frames(mut data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut frames = Vec::new();
    while !data.is_empty() {
        let (len, rest) = data.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (frame, rest) = rest.split_at(len);
        frames.push(frame.to_vec());
        data = rest;
    }
    Some(frames)
}
