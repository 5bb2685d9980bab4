//! [`RpcError`]: why a client call failed.

use std::io;

use crate::message::AuthStat;

/// Why a call made with [`Client`](crate::Client) failed.
///
/// The variants named after RFC 5531 section 9 statuses mean the server
/// answered with that status; the others are local or transport failures.
/// Match on it to react to a specific status:
///
/// ```
/// use rpc_runtime::RpcError;
/// fn retryable(e: &RpcError) -> bool {
///     matches!(e, RpcError::Timeout | RpcError::Transport(_))
/// }
/// assert!(retryable(&RpcError::Timeout));
/// assert!(!retryable(&RpcError::ProcUnavail));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The connection failed (could not connect, was closed, or an I/O
    /// error happened). Every call pending on that connection fails with
    /// this error at the same moment.
    #[error("transport error: {0}")]
    Transport(#[from] io::Error),
    /// No reply arrived within the call's timeout. The call may still
    /// have been executed by the server.
    #[error("call timed out")]
    Timeout,
    /// The server does not speak RPC version 2 (`reject_stat`
    /// RPC_MISMATCH, RFC 5531 section 9); it supports `low..=high`.
    #[error("RPC version mismatch: server supports versions {low} to {high}")]
    RpcMismatch {
        /// Lowest RPC version the server supports.
        low: u32,
        /// Highest RPC version the server supports.
        high: u32,
    },
    /// The server rejected the credentials or verifier (`reject_stat`
    /// AUTH_ERROR, RFC 5531 section 9).
    #[error("authentication error: {0}")]
    AuthError(AuthStat),
    /// The server does not export the program (`accept_stat` PROG_UNAVAIL).
    #[error("program unavailable")]
    ProgUnavail,
    /// The server exports the program but not this version (`accept_stat`
    /// PROG_MISMATCH); it supports versions `low..=high`.
    #[error("program version mismatch: server supports versions {low} to {high}")]
    ProgMismatch {
        /// Lowest version of the program the server supports.
        low: u32,
        /// Highest version of the program the server supports.
        high: u32,
    },
    /// The program version has no such procedure (`accept_stat`
    /// PROC_UNAVAIL).
    #[error("procedure unavailable")]
    ProcUnavail,
    /// The server could not decode the arguments (`accept_stat`
    /// GARBAGE_ARGS).
    #[error("server could not decode the arguments")]
    GarbageArgs,
    /// The server failed while executing the call (`accept_stat`
    /// SYSTEM_ERR), for example a handler error or panic.
    #[error("server system error")]
    SystemErr,
    /// The reply (header or results) could not be decoded.
    #[error("could not decode the reply: {0}")]
    Decode(xdr_codec::Error),
    /// The arguments could not be encoded (a variable-length item is
    /// longer than its declared maximum).
    #[error("could not encode the arguments: {0}")]
    Encode(xdr_codec::Error),
    /// [`Client::forward`](crate::Client::forward) was given a record that
    /// is not a CALL message.
    #[error("the record to forward is not an RPC CALL message")]
    MalformedCall,
    /// Every XID of this connection is in use by a pending call.
    #[error("no free XID: too many calls in flight")]
    XidsExhausted,
    /// An RPCSEC_GSS context could not be made or used (RFC 2203), by
    /// a handle made with [`Client::with_gss`](crate::Client::with_gss).
    #[cfg(feature = "gss")]
    #[error("RPCSEC_GSS: {0}")]
    Gss(#[from] crate::gss::GssError),
}
