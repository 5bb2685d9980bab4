//! Running a worker process (a client, a codec loop, a counted run) to
//! its end.

use std::process::Command;
use std::time::Duration;

use interop_tests::c_peer::{run_with_timeout, CServer};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{BenchError, Result};

/// Runs `cmd` to its end, killing it after `timeout`; its standard
/// output.
///
/// # Errors
///
/// [`BenchError::CPeer`] if it cannot be started or times out,
/// [`BenchError::Worker`] with its output if it exits unsuccessfully.
pub fn run_worker(cmd: &mut Command, timeout: Duration) -> Result<String> {
    let out = run_with_timeout(cmd, timeout)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(BenchError::Worker {
            command: format!("{cmd:?}"),
            status: out.status.to_string(),
            output: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(stdout)
}

/// Runs `f` with `server` resumed (`SIGCONT`), then stops it again
/// (`SIGSTOP`): for a server that spins while it runs (polling), which
/// would take the CPU from every other measurement. Start such a server
/// stopped with [`pause`].
///
/// # Errors
///
/// [`BenchError::Io`] if a signal cannot be sent; else `f`'s.
pub fn with_resumed<T>(server: &CServer, f: impl FnOnce() -> Result<T>) -> Result<T> {
    signal(server, Signal::SIGCONT)?;
    let r = f();
    pause(server)?;
    r
}

/// Stops `server` (`SIGSTOP`) until [`with_resumed`] lets it run.
///
/// # Errors
///
/// [`BenchError::Io`] if the signal cannot be sent.
pub fn pause(server: &CServer) -> Result<()> {
    signal(server, Signal::SIGSTOP)
}

fn signal(server: &CServer, sig: Signal) -> Result<()> {
    let pid = i32::try_from(server.pid()).unwrap_or(i32::MAX);
    kill(Pid::from_raw(pid), sig)
        .map_err(|e| BenchError::io(format!("sending {sig} to process {pid}"), e.into()))
}
