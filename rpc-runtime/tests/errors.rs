//! Every error reply kind, as the client sees it.

mod support;

use std::time::Duration;

use bytes::Bytes;
use rpc_runtime::message::{
    AuthFlavor, AuthStat, CallHeader, Credentials, OpaqueAuth, RejectStat, ReplyBody, ReplyHeader,
};
use rpc_runtime::RpcError;
use support::*;
use xdr_codec::{XdrDecode, XdrEncode};

#[tokio::test]
async fn accepted_error_statuses() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    let raw = c.inner();

    let e = raw
        .call::<_, ()>(TESTPROG + 1, 1, 0, &())
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::ProgUnavail), "{e:?}");

    let e = raw.call::<_, ()>(TESTPROG, 2, 0, &()).await.unwrap_err();
    assert!(
        matches!(e, RpcError::ProgMismatch { low: 1, high: 3 }),
        "{e:?}"
    );

    let e = raw.call::<_, ()>(TESTPROG, 1, 99, &()).await.unwrap_err();
    assert!(matches!(e, RpcError::ProcUnavail), "{e:?}");
    let e = raw.call::<_, ()>(TESTPROG, 3, 99, &()).await.unwrap_err();
    assert!(matches!(e, RpcError::ProcUnavail), "{e:?}");

    // Missing argument, then a trailing extra word: both GARBAGE_ARGS.
    let e = raw
        .call::<_, u32>(TESTPROG, 1, TESTPROC_ECHO, &())
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");
    let e = raw
        .call::<_, u32>(TESTPROG, 1, TESTPROC_ECHO, &(1u32, 2u32))
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");
    // The handler itself refusing the arguments.
    assert!(matches!(c.reject().await, Err(RpcError::GarbageArgs)));

    assert!(matches!(c.fail().await, Err(RpcError::SystemErr)));
    // A panic becomes SYSTEM_ERR for that call only; the connection lives on.
    assert!(matches!(c.panic().await, Err(RpcError::SystemErr)));
    assert_eq!(c.echo(&5).await.unwrap(), 5);
}

#[tokio::test]
async fn reply_results_of_the_wrong_shape_are_decode_errors() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    // ECHO returns one u32; asking for two fails to decode.
    let e = c
        .inner()
        .call::<_, (u32, u32)>(TESTPROG, 1, TESTPROC_ECHO, &1u32)
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::Decode(_)), "{e:?}");
    // And asking for nothing leaves trailing bytes.
    let e = c
        .inner()
        .call::<_, ()>(TESTPROG, 1, TESTPROC_ECHO, &1u32)
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::Decode(_)), "{e:?}");
}

#[tokio::test]
async fn auth_errors() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    let bad_sys = Credentials::Other(OpaqueAuth {
        flavor: AuthFlavor::SYS,
        body: Bytes::from_static(&[0, 0, 0, 1]),
    });
    let e = c
        .inner()
        .with_credentials(&bad_sys)
        .unwrap()
        .call::<_, ()>(TESTPROG, 1, 0, &())
        .await;
    assert!(
        matches!(e, Err(RpcError::AuthError(AuthStat::BadCred))),
        "{e:?}"
    );
    let unknown = Credentials::Other(OpaqueAuth {
        flavor: AuthFlavor(390_000),
        body: Bytes::from_static(b"????"),
    });
    let e = c
        .inner()
        .with_credentials(&unknown)
        .unwrap()
        .call::<_, ()>(TESTPROG, 1, 0, &())
        .await;
    assert!(
        matches!(e, Err(RpcError::AuthError(AuthStat::RejectedCred))),
        "{e:?}"
    );
}

#[tokio::test]
async fn rpc_mismatch_for_rpc_version_3() {
    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    let mut header = CallHeader::new(0xdead_beef, TESTPROG, 1, 0, OpaqueAuth::none());
    header.rpcvers = 3;
    let reply = c
        .inner()
        .forward(header.to_xdr_bytes().unwrap())
        .await
        .unwrap();
    let r = ReplyHeader::from_xdr_bytes(reply).unwrap();
    assert_eq!(r.xid, 0xdead_beef);
    assert_eq!(
        r.body,
        ReplyBody::Denied(RejectStat::RpcMismatch { low: 2, high: 2 })
    );
}

#[tokio::test]
async fn no_reply_handler_times_out() {
    let addr = start_tcp().await;
    let c = tcp_client(addr)
        .await
        .with_timeout(Duration::from_millis(200));
    assert!(matches!(c.noreply().await, Err(RpcError::Timeout)));
    assert_eq!(c.inner().pending_calls(), 0);
    assert_eq!(c.echo(&3).await.unwrap(), 3);
}
