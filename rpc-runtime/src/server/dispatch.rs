//! The handler-facing types: [`Dispatch`], [`DispatchOutcome`],
//! [`ServerError`].

use bytes::Bytes;
use futures::future::BoxFuture;

use super::context::CallContext;

/// Why a handler failed; the server turns it into a reply status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Answer SYSTEM_ERR; the message is logged, not sent.
    #[error("system error: {0}")]
    SystemErr(String),
    /// Answer GARBAGE_ARGS (the arguments decoded but make no sense); the
    /// message is logged, not sent.
    #[error("garbage arguments: {0}")]
    GarbageArgs(String),
    /// Send no reply at all (like an rpcgen handler returning FALSE); the
    /// caller will time out.
    #[error("no reply")]
    NoReply,
}

/// What a handler returns: its results, or a [`ServerError`].
pub type HandlerResult<T> = Result<T, ServerError>;

/// How a call ended, as a [`Dispatch`] implementation reports it.
#[derive(Debug)]
#[non_exhaustive]
pub enum DispatchOutcome {
    /// SUCCESS; the encoded results.
    Success(Bytes),
    /// SUCCESS; the encoded results as consecutive pieces (see
    /// [`XdrEncode::to_xdr_chunks`](xdr_codec::XdrEncode::to_xdr_chunks)),
    /// written to the socket with vectored I/O, large ones without a copy.
    SuccessChunks(Vec<Bytes>),
    /// PROC_UNAVAIL: no such procedure. For procedure 0 the server answers
    /// NULL itself (SUCCESS with no results).
    ProcUnavail,
    /// GARBAGE_ARGS: the arguments did not decode.
    GarbageArgs(xdr_codec::Error),
    /// GARBAGE_ARGS: the handler refused the arguments
    /// ([`ServerError::GarbageArgs`]); the reason is logged.
    RejectedArgs(String),
    /// SYSTEM_ERR, with a reason that is logged.
    SystemErr(String),
    /// No reply is sent.
    NoReply,
}

impl DispatchOutcome {
    /// SUCCESS with the results in `chunks`: [`DispatchOutcome::Success`]
    /// for one piece, [`DispatchOutcome::SuccessChunks`] for several.
    pub fn success_chunks(mut chunks: Vec<Bytes>) -> Self {
        if chunks.len() == 1 {
            if let Some(one) = chunks.pop() {
                return DispatchOutcome::Success(one);
            }
        }
        DispatchOutcome::SuccessChunks(chunks)
    }
}

impl From<ServerError> for DispatchOutcome {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::SystemErr(m) => DispatchOutcome::SystemErr(m),
            ServerError::GarbageArgs(m) => DispatchOutcome::RejectedArgs(m),
            ServerError::NoReply => DispatchOutcome::NoReply,
        }
    }
}

/// One program version, ready to serve: decodes the arguments of a
/// procedure, runs it and encodes the results.
///
/// Generated `XxxServer<T>` wrappers implement it; register them with
/// [`ServerBuilder::register`](crate::ServerBuilder::register).
/// The server answers PROG_UNAVAIL, PROG_MISMATCH and RPC_MISMATCH itself,
/// catches panics (SYSTEM_ERR), and answers NULL (procedure 0) when
/// `dispatch` returns [`DispatchOutcome::ProcUnavail`] for it.
pub trait Dispatch: Send + Sync + 'static {
    /// The program number served.
    fn program(&self) -> u32;
    /// The program version served.
    fn version(&self) -> u32;
    /// Decodes the arguments for `procedure` from `args` (the rest of the
    /// call record after the header), runs the handler and encodes its
    /// results.
    fn dispatch(
        &self,
        ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome>;
}
