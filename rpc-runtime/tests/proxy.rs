//! A proxy built from `Server::fallback` and `Client::forward`: many
//! client connections share one upstream connection.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::join_all;
use rpc_runtime::message::{reply, AcceptStat, CallPeek};
use rpc_runtime::server::PeerAddr;
use rpc_runtime::{Client, RpcError, Server};
use support::*;
use tokio::net::TcpListener;

const LOCALPROG: u32 = 0x3000_0001;

/// Program LOCALPROG version 1, served by the proxy itself: procedure 1
/// returns 99.
struct Local;

impl rpc_runtime::server::Dispatch for Local {
    fn program(&self) -> u32 {
        LOCALPROG
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        _ctx: rpc_runtime::server::CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> rpc_runtime::codegen::BoxFuture<'static, rpc_runtime::server::DispatchOutcome> {
        match procedure {
            1 => rpc_runtime::codegen::handle(args, |(): ()| async { Ok(99u32) }),
            _ => rpc_runtime::codegen::proc_unavail(),
        }
    }
}

async fn start_proxy(upstream: Client, forwarded: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        // A locally served program is not forwarded.
        .register(Local)
        .fallback(move |call: CallPeek, record: Bytes, _peer: PeerAddr| {
            let upstream = upstream.clone();
            let forwarded = Arc::clone(&forwarded);
            async move {
                if call.procedure == 4242 {
                    panic!("fallback panic");
                }
                forwarded.fetch_add(1, Ordering::SeqCst);
                match upstream.forward(record).await {
                    Ok(reply) => Some(reply),
                    Err(_) => Some(reply::accepted_error(call.xid, AcceptStat::SystemErr)),
                }
            }
        })
        .build();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_share_one_upstream_connection() {
    let backend = start_tcp().await;
    let upstream = Client::connect_tcp(backend).await.unwrap();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let proxy = start_proxy(upstream.clone(), Arc::clone(&forwarded)).await;

    // Three callers, 20 concurrent calls each, with out-of-order replies.
    let callers = join_all((0..3).map(|_| tcp_client(proxy))).await;
    let calls = callers.iter().enumerate().flat_map(|(c, client)| {
        (0..20u32).map(move |i| async move {
            let tag = (c as u32) * 1000 + i;
            assert_eq!(client.sleep(&((i * 37) % 50), &tag).await.unwrap(), tag);
        })
    });
    join_all(calls).await;
    assert_eq!(forwarded.load(Ordering::SeqCst), 60);
    assert_eq!(upstream.pending_calls(), 0);

    // Every version of the backend's program passes through.
    let c = &callers[0];
    let sum: u32 = c
        .inner()
        .call(TESTPROG, 3, TESTPROC_ADD, &(2u32, 3u32))
        .await
        .unwrap();
    assert_eq!(sum, 5);
    // The proxy's own program is served locally, with its own errors.
    let n: u32 = c.inner().call(LOCALPROG, 1, 1, &()).await.unwrap();
    assert_eq!(n, 99);
    let e = c
        .inner()
        .call::<_, ()>(LOCALPROG, 2, 0, &())
        .await
        .unwrap_err();
    assert!(
        matches!(e, RpcError::ProgMismatch { low: 1, high: 1 }),
        "{e:?}"
    );
    assert_eq!(forwarded.load(Ordering::SeqCst), 61);

    // Unknown programs reach the backend, which answers PROG_UNAVAIL.
    let e = c
        .inner()
        .call::<_, ()>(TESTPROG + 7, 1, 0, &())
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::ProgUnavail), "{e:?}");
    // A panicking fallback becomes SYSTEM_ERR.
    let e = c
        .inner()
        .call::<_, ()>(TESTPROG + 7, 1, 4242, &())
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::SystemErr), "{e:?}");
}
