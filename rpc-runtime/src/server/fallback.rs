//! [`Fallback`]: whole-record handling for calls to programs no
//! dispatcher is registered for (proxies such as the broker).

use std::future::Future;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::context::PeerAddr;
use crate::message::CallPeek;

/// Handles complete CALL records for programs that have no registered
/// [`Dispatch`](super::Dispatch), instead of the server answering
/// PROG_UNAVAIL. Meant for proxies: forward the record (for example with
/// [`Client::forward`](crate::Client::forward)) and return the reply
/// record.
///
/// The server has checked only the header words in `call` (and answered
/// RPC_MISMATCH itself if `rpcvers` is not 2); credentials and arguments
/// are untouched. Return `None` to send no reply. A panic becomes a
/// SYSTEM_ERR reply. Programs that are registered never reach the fallback.
///
/// Any `Fn(CallPeek, Bytes, PeerAddr) -> impl Future<Output = Option<Bytes>>`
/// closure that is `Send + Sync + 'static` (with a `Send + 'static`
/// future) implements it:
///
/// ```no_run
/// # async fn demo(upstream: rpc_runtime::Client, listener: tokio::net::UnixListener) -> std::io::Result<()> {
/// use rpc_runtime::message::{reply, AcceptStat};
/// rpc_runtime::Server::builder()
///     .fallback(move |call: rpc_runtime::message::CallPeek, record, _peer| {
///         let upstream = upstream.clone();
///         async move {
///             match upstream.forward(record).await {
///                 Ok(reply) => Some(reply),
///                 Err(_) => Some(reply::accepted_error(call.xid, AcceptStat::SystemErr)),
///             }
///         }
///     })
///     .serve_unix(listener)
///     .await
/// # }
/// ```
pub trait Fallback: Send + Sync + 'static {
    /// Answers one call: the complete reply record, or `None` for no reply.
    fn call(
        &self,
        call: CallPeek,
        record: Bytes,
        peer: PeerAddr,
    ) -> BoxFuture<'static, Option<Bytes>>;
}

impl<F, Fut> Fallback for F
where
    F: Fn(CallPeek, Bytes, PeerAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Bytes>> + Send + 'static,
{
    fn call(
        &self,
        call: CallPeek,
        record: Bytes,
        peer: PeerAddr,
    ) -> BoxFuture<'static, Option<Bytes>> {
        Box::pin(self(call, record, peer))
    }
}
