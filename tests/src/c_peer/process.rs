//! Running tools and C programs: captured output, a time limit, and a
//! clear error when the program is not installed.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::{CPeerError, Result};

/// How often a waiting loop polls a child process.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// `cmd` as one line, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Starts `cmd`, mapping "program not found" to [`CPeerError::ToolMissing`].
pub(crate) fn spawn(cmd: &mut Command) -> Result<Child> {
    cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CPeerError::ToolMissing {
                tool: cmd.get_program().to_string_lossy().into_owned(),
                source: e,
            }
        } else {
            CPeerError::io(format!("cannot start `{}`", describe(cmd)), e)
        }
    })
}

/// Runs a build tool to completion; a non-zero exit is
/// [`CPeerError::ToolFailed`] carrying its output.
pub(crate) fn run_tool(cmd: &mut Command) -> Result<()> {
    let out = run_with_timeout(cmd, Duration::from_secs(120))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(CPeerError::ToolFailed {
            command: describe(cmd),
            status: out.status,
            stderr: joined_output(&out.stdout, &out.stderr),
        })
    }
}

/// stdout then stderr, as text, for messages.
pub(crate) fn joined_output(stdout: &[u8], stderr: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(stdout).into_owned();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&String::from_utf8_lossy(stderr));
    s
}

/// How long to wait, after a process exited or was killed, for its output
/// pipes to close (a grandchild may still hold them open).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// A pipe being read to its end on a thread of its own; what has been read
/// so far is available even if the pipe never closes.
#[derive(Debug)]
pub(crate) struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    thread: JoinHandle<()>,
}

impl Capture {
    /// Starts reading `pipe` (nothing to read if `None`).
    pub(crate) fn start<R: Read + Send + 'static>(pipe: Option<R>) -> Capture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let thread = std::thread::spawn(move || {
            let Some(mut p) = pipe else { return };
            let mut chunk = [0u8; 8192];
            loop {
                match p.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => lock(&sink).extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    // A read error just ends the capture; the output is diagnostic.
                    Err(_) => return,
                }
            }
        });
        Capture { buf, thread }
    }

    /// Waits up to [`DRAIN_GRACE`] for the pipe to close, then returns what
    /// was read.
    pub(crate) fn finish(self) -> Vec<u8> {
        let deadline = Instant::now() + DRAIN_GRACE;
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
        let out = std::mem::take(&mut *lock(&self.buf));
        out
    }
}

/// Locks a capture buffer; a poisoned lock still holds valid bytes.
fn lock(m: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `cmd` with stdin closed and stdout/stderr captured, killing it (and
/// its process group) if it runs longer than `timeout`.
///
/// This blocks the calling thread. From async code whose runtime must keep
/// serving (a C client calling a Rust server in the same process), call it
/// inside `tokio::task::spawn_blocking`.
///
/// # Errors
///
/// [`CPeerError::ToolMissing`] if the program does not exist,
/// [`CPeerError::TimedOut`] (with the output so far) if it overran, and
/// [`CPeerError::Io`] for other spawn or wait failures. A non-zero exit is
/// not an error: check `Output::status`.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    run(cmd, None, timeout)
}

/// As [`run_with_timeout`], with `input` written to the program's stdin
/// (then closed) from a thread of its own.
///
/// # Errors
///
/// As [`run_with_timeout`]. A program that exits without reading all its
/// input is not an error.
pub fn run_with_input(cmd: &mut Command, input: Vec<u8>, timeout: Duration) -> Result<Output> {
    run(cmd, Some(input), timeout)
}

fn run(cmd: &mut Command, input: Option<Vec<u8>>, timeout: Duration) -> Result<Output> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    // Its own process group, so that a timeout kills its children too.
    .process_group(0);
    let mut child = spawn(cmd)?;
    let out = Capture::start(child.stdout.take());
    let err = Capture::start(child.stderr.take());
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        std::thread::spawn(move || {
            // EPIPE if the program exits early; its exit status tells why.
            let _ = stdin.write_all(&input);
        });
    }
    let status = wait_until(&mut child, Instant::now() + timeout)
        .map_err(|e| CPeerError::io(format!("waiting for `{}`", describe(cmd)), e))?;
    match status {
        Some(status) => Ok(Output {
            status,
            stdout: out.finish(),
            stderr: err.finish(),
        }),
        None => {
            kill_group(child.id());
            // Already exited or not killable: either way it is gone or going.
            let _ = child.kill();
            let _ = child.wait();
            Err(CPeerError::TimedOut {
                command: describe(cmd),
                timeout,
                output: joined_output(&out.finish(), &err.finish()),
            })
        }
    }
}

/// Best effort: SIGKILL to the process group `pgid` (a child started with
/// `process_group(0)`), through kill(1) since this crate has no unsafe code.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits for `child` to exit, up to `deadline`; `None` if it is still running.
pub(crate) fn wait_until(
    child: &mut Child,
    deadline: Instant,
) -> std::io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
