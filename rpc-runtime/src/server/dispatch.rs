//! The handler-facing types: [`Dispatch`], [`DispatchOutcome`],
//! [`ServerError`].

use bytes::Bytes;
use futures::future::BoxFuture;
use xdr_codec::XdrEncode;

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
    /// Refuse the call: MSG_DENIED, AUTH_ERROR with this `auth_stat`
    /// (RFC 5531 section 9), for example AUTH_TOOWEAK when the caller's
    /// protection is too weak for this procedure.
    #[error("authentication error: {0}")]
    AuthError(crate::message::AuthStat),
}

/// What a handler returns: its results, or a [`ServerError`].
///
/// A handler can use `?` on I/O, XDR and RPC client errors (they become
/// SYSTEM_ERR), and on its own error type once that has a
/// `From<MyError> for ServerError` impl.
pub type HandlerResult<T> = Result<T, ServerError>;

/// SYSTEM_ERR: an I/O error in the handler (a file or socket it uses).
impl From<std::io::Error> for ServerError {
    fn from(e: std::io::Error) -> Self {
        ServerError::SystemErr(e.to_string())
    }
}

/// SYSTEM_ERR: data the handler encodes or decodes itself is not valid
/// XDR (the call's arguments never get this far: they are answered with
/// GARBAGE_ARGS).
impl From<xdr_codec::Error> for ServerError {
    fn from(e: xdr_codec::Error) -> Self {
        ServerError::SystemErr(e.to_string())
    }
}

/// SYSTEM_ERR: a call the handler made to another server failed.
impl From<crate::RpcError> for ServerError {
    fn from(e: crate::RpcError) -> Self {
        ServerError::SystemErr(e.to_string())
    }
}

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
    /// MSG_DENIED, AUTH_ERROR with this status
    /// ([`ServerError::AuthError`]).
    AuthError(crate::message::AuthStat),
}

impl DispatchOutcome {
    /// SUCCESS with `results` encoded: [`DispatchOutcome::Success`] with
    /// one buffer, or [`DispatchOutcome::SuccessChunks`] when large opaque
    /// data (at least [`xdr_codec::BY_REFERENCE_MIN_BYTES`]) is referenced
    /// rather than copied; [`DispatchOutcome::SystemErr`] if encoding
    /// fails.
    pub fn success<R: XdrEncode + ?Sized>(results: &R) -> Self {
        // Small results (NULL's among them) take one buffer and no
        // vector of pieces.
        let encoded = if results.encoded_len_hint() < xdr_codec::BY_REFERENCE_MIN_BYTES {
            results.to_xdr_bytes().map(DispatchOutcome::Success)
        } else {
            results.to_xdr_chunks().map(|mut chunks| {
                if chunks.len() == 1 {
                    if let Some(one) = chunks.pop() {
                        return DispatchOutcome::Success(one);
                    }
                }
                DispatchOutcome::SuccessChunks(chunks)
            })
        };
        encoded.unwrap_or_else(|e| {
            DispatchOutcome::SystemErr(format!("encoding the results failed: {e}"))
        })
    }
}

impl From<ServerError> for DispatchOutcome {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::SystemErr(m) => DispatchOutcome::SystemErr(m),
            ServerError::GarbageArgs(m) => DispatchOutcome::RejectedArgs(m),
            ServerError::NoReply => DispatchOutcome::NoReply,
            ServerError::AuthError(stat) => DispatchOutcome::AuthError(stat),
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

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use xdr_codec::{Opaque, XdrDecode, XdrEncode, BY_REFERENCE_MIN_BYTES};

    use super::{DispatchOutcome, HandlerResult, ServerError};

    #[test]
    fn handler_errors_convert_with_question_mark() {
        fn io() -> HandlerResult<()> {
            Err(std::io::Error::other("disk gone"))?;
            Ok(())
        }
        fn xdr() -> HandlerResult<u32> {
            Ok(u32::from_xdr_bytes(Bytes::from_static(b"\0\0"))?)
        }
        assert_eq!(io(), Err(ServerError::SystemErr("disk gone".to_owned())));
        assert!(matches!(xdr(), Err(ServerError::SystemErr(m)) if !m.is_empty()));
    }

    #[test]
    fn small_results_are_one_buffer_and_large_data_is_referenced() {
        let DispatchOutcome::Success(empty) = DispatchOutcome::success(&()) else {
            panic!("NULL results are not one buffer");
        };
        assert!(empty.is_empty());
        let small = (
            7u32,
            Opaque::<{ u32::MAX }>::new(Bytes::from_static(b"abc")),
        );
        let DispatchOutcome::Success(one) = DispatchOutcome::success(&small) else {
            panic!("small results are not one buffer");
        };
        assert_eq!(one, small.to_xdr_bytes().unwrap());
        let data = Bytes::from(vec![5u8; BY_REFERENCE_MIN_BYTES * 2]);
        let large = (7u32, Opaque::<{ u32::MAX }>::new(data.clone()));
        let DispatchOutcome::SuccessChunks(chunks) = DispatchOutcome::success(&large) else {
            panic!("large data is not referenced");
        };
        assert!(chunks.iter().any(|c| c.as_ptr() == data.as_ptr()));
        assert_eq!(chunks.concat(), large.to_xdr_bytes().unwrap());
    }
}
