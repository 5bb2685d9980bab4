//! Running a worker process (a client, a codec loop, a counted run) to
//! its end.

use std::process::Command;
use std::time::Duration;

use interop_tests::c_peer::run_with_timeout;

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
