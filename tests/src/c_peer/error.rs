//! The one error type of the C peer harness.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// What went wrong while building or running a C peer.
///
/// Every variant's message says what to do about it; tests usually just
/// `.expect()` the result so the message ends up in the failure output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CPeerError {
    /// A tool (`rpcgen`, `gcc`) is not installed or not on `PATH`.
    #[error(
        "`{tool}` is not installed or not on PATH ({source}); the interop tests need the C peers: \
         install `rpcsvc-proto` (rpcgen), `libtirpc-dev` and `gcc` \
         (Debian: apt-get install rpcsvc-proto libtirpc-dev gcc)"
    )]
    ToolMissing {
        /// The program that could not be started.
        tool: String,
        /// Why it could not be started.
        source: std::io::Error,
    },
    /// A tool ran and failed (a syntax error in the `.x` file or C sources,
    /// a missing `libtirpc-dev`, ...).
    #[error("`{command}` failed ({status}):\n{stderr}")]
    ToolFailed {
        /// The command line, for the message.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr (and stdout).
        stderr: String,
    },
    /// An input file (spec, C source) could not be read.
    #[error("cannot read {path}: {source}")]
    Input {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Any other I/O error (creating the work directory, spawning a peer).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A C server exited before it accepted connections.
    #[error("C server `{program}` exited before it was ready ({status}):\n{output}")]
    ServerExited {
        /// The server program.
        program: PathBuf,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed (stdout then stderr).
        output: String,
    },
    /// A C server did not accept connections in time.
    #[error("C server `{program}` did not accept connections on {endpoint} within {timeout:?}")]
    NotReady {
        /// The server program.
        program: PathBuf,
        /// Where it was expected to listen.
        endpoint: String,
        /// How long the harness waited.
        timeout: Duration,
    },
    /// A C program ran longer than allowed and was killed.
    #[error(
        "`{command}` did not finish within {timeout:?} and was killed; output so far:\n{output}"
    )]
    TimedOut {
        /// The command line.
        command: String,
        /// The time limit.
        timeout: Duration,
        /// What it printed before it was killed.
        output: String,
    },
}

impl CPeerError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CPeerError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for the harness.
pub type Result<T, E = CPeerError> = std::result::Result<T, E>;
