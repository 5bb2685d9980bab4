//! Client and server talking over TCP and Unix sockets.

mod support;

use rpc_runtime::message::{AuthSysParams, Credentials};
use rpc_runtime::{Client, Server};
use support::*;
use xdr_codec::Opaque;

#[tokio::test]
async fn tcp_calls_and_null_fallback() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    assert_eq!(c.echo(&41).await.unwrap(), 41);
    // Version 1's dispatcher says PROC_UNAVAIL for 0: the server answers NULL.
    c.null().await.unwrap();
    assert_eq!(c.inner().pending_calls(), 0);
    // Version 3 is hand-written and answers NULL itself; ADD works too.
    let raw = c.inner();
    let () = raw.call(TESTPROG, 3, 0, &()).await.unwrap();
    let sum: u32 = raw
        .call(TESTPROG, 3, TESTPROC_ADD, &(40u32, 2u32))
        .await
        .unwrap();
    assert_eq!(sum, 42);
}

#[tokio::test]
async fn unix_socket_calls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rpc.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        Server::builder()
            .register(TestprogV1Server::new(TestImpl))
            .serve_unix(listener)
            .await
    });
    let c = TestprogV1Client::new(Client::connect_unix(&path).await.unwrap());
    assert_eq!(c.echo(&7).await.unwrap(), 7);
    c.null().await.unwrap();
    assert_eq!(c.sleep(&1, &99).await.unwrap(), 99);
}

#[tokio::test]
async fn auth_sys_credentials_reach_the_handler() {
    let addr = start_tcp().await;
    let creds = Credentials::Sys(AuthSysParams {
        stamp: 1,
        machine_name: "tester".into(),
        uid: 1234,
        gid: 567,
        gids: vec![1, 2, 3],
    });
    let client = Client::builder()
        .credentials(creds.clone())
        .connect_tcp(addr)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client.clone());
    assert_eq!(c.whoami().await.unwrap(), (1234, 567));
    // AUTH_NONE on the same connection through another handle.
    let none = TestprogV1Client::new(client.with_credentials(&Credentials::None).unwrap());
    assert_eq!(none.whoami().await.unwrap(), (u32::MAX, u32::MAX));
}

#[tokio::test]
async fn large_records_in_many_fragments_both_ways() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .register(TestprogV1Server::new(TestImpl))
        .max_fragment_bytes(1000)
        .build();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    let client = Client::builder()
        .max_fragment_bytes(777)
        .connect_tcp(addr)
        .await
        .unwrap();
    let c = TestprogV1Client::new(client);
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let back = c.blob(&Opaque::from(data.clone())).await.unwrap();
    assert_eq!(&back[..], &data[..]);
}

#[tokio::test]
async fn call_context_sees_peer_and_numbers() {
    use rpc_runtime::codegen::{handle, proc_unavail, BoxFuture, Dispatch, DispatchOutcome};
    use rpc_runtime::server::{CallContext, PeerAddr};

    struct Ctx;
    impl Dispatch for Ctx {
        fn program(&self) -> u32 {
            77
        }
        fn version(&self) -> u32 {
            2
        }
        fn dispatch(
            &self,
            ctx: CallContext,
            procedure: u32,
            args: xdr_codec::Decoder,
        ) -> BoxFuture<'static, DispatchOutcome> {
            match procedure {
                5 => handle(args, move |(): ()| async move {
                    let loopback = matches!(ctx.peer(), PeerAddr::Tcp(a) if a.ip().is_loopback());
                    Ok((
                        ctx.program(),
                        ctx.version(),
                        ctx.procedure(),
                        ctx.xid(),
                        loopback,
                    ))
                }),
                _ => proc_unavail(),
            }
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Server::builder().register(Ctx).serve_tcp(listener));
    let client = Client::connect_tcp(addr).await.unwrap();
    let (p, v, proc_, xid1, loopback): (u32, u32, u32, u32, bool) =
        client.call(77, 2, 5, &()).await.unwrap();
    assert_eq!((p, v, proc_, loopback), (77, 2, 5, true));
    let (.., xid2, _): (u32, u32, u32, u32, bool) = client.call(77, 2, 5, &()).await.unwrap();
    assert_eq!(xid2, xid1.wrapping_add(1), "XIDs increment per call");
}

#[test]
fn contract_types_have_the_promised_traits() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    assert_traits::<Client>();
    assert_traits::<rpc_runtime::server::CallContext>();
    assert_traits::<Server>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<rpc_runtime::RpcError>();
    assert_error::<rpc_runtime::server::ServerError>();
}
