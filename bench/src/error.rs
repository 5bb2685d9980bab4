//! The one error type of the benchmarks.

use interop_tests::c_peer::CPeerError;

/// What stopped a benchmark.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Building or running a C peer failed (missing `rpcgen`, `gcc` or
    /// libtirpc, a C server that would not start, ...).
    #[error(transparent)]
    CPeer(#[from] CPeerError),
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A worker process (a client, the codec loop) failed or printed no
    /// result line.
    #[error("`{command}` failed ({status}):\n{output}")]
    Worker {
        /// The command line.
        command: String,
        /// Its exit status, as text.
        status: String,
        /// What it printed.
        output: String,
    },
    /// A worker's result line could not be read.
    #[error("cannot parse result line {line:?}: {reason}")]
    BadResult {
        /// The line.
        line: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The two sides did not move the same bytes, or a reply was wrong:
    /// the comparison would be meaningless.
    #[error("mismatch: {0}")]
    Mismatch(String),
    /// An RPC call failed.
    #[error("RPC call failed: {0}")]
    Rpc(#[from] rpc_runtime::RpcError),
    /// Encoding or decoding failed.
    #[error("XDR: {0}")]
    Xdr(#[from] xdr_codec::Error),
    /// A command-line value out of range.
    #[error("invalid option: {0}")]
    Usage(String),
}

impl BenchError {
    /// An [`BenchError::Io`] with its context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BenchError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for the benchmarks.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;
