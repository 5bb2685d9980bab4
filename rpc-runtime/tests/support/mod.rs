//! A test program written the way `xdrgen` output looks (see
//! /work/briefs/contract-codegen.md): a client wrapper, a server trait and
//! a `Dispatch` wrapper built only from `rpc_runtime::codegen` items.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::time::Duration;

use rpc_runtime::codegen::{CallContext, HandlerResult, ServerError};
use rpc_runtime::{Client, Server};
use xdr_codec::Opaque;

pub const TESTPROG: u32 = 0x2000_1234;
pub const TESTPROC_NULL: u32 = 0;
pub const TESTPROC_ECHO: u32 = 1;
pub const TESTPROC_SLEEP: u32 = 2;
pub const TESTPROC_FAIL: u32 = 3;
pub const TESTPROC_PANIC: u32 = 4;
pub const TESTPROC_NOREPLY: u32 = 5;
pub const TESTPROC_REJECT: u32 = 6;
pub const TESTPROC_WHOAMI: u32 = 7;
pub const TESTPROC_BLOB: u32 = 8;
pub const TESTPROC_ADD: u32 = 9;

/// Client for TESTPROG version 1.
#[derive(Debug, Clone)]
pub struct TestprogV1Client {
    client: ::rpc_runtime::codegen::Client,
}

impl TestprogV1Client {
    pub const PROGRAM: u32 = TESTPROG;
    pub const VERSION: u32 = 1;
    pub fn new(client: ::rpc_runtime::codegen::Client) -> Self {
        Self { client }
    }
    pub fn with_timeout(&self, timeout: ::rpc_runtime::codegen::Duration) -> Self {
        Self {
            client: self.client.with_timeout(timeout),
        }
    }
    pub fn inner(&self) -> &::rpc_runtime::codegen::Client {
        &self.client
    }
    pub async fn null(&self) -> Result<(), ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 0, &()).await
    }
    pub async fn echo(&self, arg: &u32) -> Result<u32, ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 1, arg).await
    }
    /// Sleeps `a0` ms, then returns `a1`.
    pub async fn sleep(&self, a0: &u32, a1: &u32) -> Result<u32, ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 2, &(a0, a1)).await
    }
    pub async fn fail(&self) -> Result<(), ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 3, &()).await
    }
    pub async fn panic(&self) -> Result<(), ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 4, &()).await
    }
    pub async fn noreply(&self) -> Result<(), ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 5, &()).await
    }
    pub async fn reject(&self) -> Result<(), ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 6, &()).await
    }
    pub async fn whoami(&self) -> Result<(u32, u32), ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 7, &()).await
    }
    pub async fn blob(&self, arg: &Opaque) -> Result<Opaque, ::rpc_runtime::codegen::RpcError> {
        self.client.call(TESTPROG, 1, 8, arg).await
    }
}

/// Server side of TESTPROG version 1.
pub trait TestprogV1: Send + Sync + 'static {
    fn null(
        &self,
        ctx: ::rpc_runtime::codegen::CallContext,
    ) -> impl ::rpc_runtime::codegen::Future<Output = ::rpc_runtime::codegen::HandlerResult<()>> + Send
    {
        let _ = ctx;
        async { Ok(()) }
    }
    fn echo(
        &self,
        ctx: CallContext,
        arg: u32,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<u32>> + Send;
    fn sleep(
        &self,
        ctx: CallContext,
        a0: u32,
        a1: u32,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<u32>> + Send;
    fn fail(
        &self,
        ctx: CallContext,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<()>> + Send;
    fn panic(
        &self,
        ctx: CallContext,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<()>> + Send;
    fn noreply(
        &self,
        ctx: CallContext,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<()>> + Send;
    fn reject(
        &self,
        ctx: CallContext,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<()>> + Send;
    fn whoami(
        &self,
        ctx: CallContext,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<(u32, u32)>> + Send;
    fn blob(
        &self,
        ctx: CallContext,
        arg: Opaque,
    ) -> impl ::rpc_runtime::codegen::Future<Output = HandlerResult<Opaque>> + Send;
}

/// Dispatcher wrapping an implementation of [`TestprogV1`].
#[derive(Debug)]
pub struct TestprogV1Server<T>(::rpc_runtime::codegen::Arc<T>);

impl<T: TestprogV1> TestprogV1Server<T> {
    pub fn new(inner: T) -> Self {
        Self(::rpc_runtime::codegen::Arc::new(inner))
    }
    pub fn from_arc(inner: ::rpc_runtime::codegen::Arc<T>) -> Self {
        Self(inner)
    }
}

impl<T: TestprogV1> ::rpc_runtime::codegen::Dispatch for TestprogV1Server<T> {
    fn program(&self) -> u32 {
        TESTPROG
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        ctx: ::rpc_runtime::codegen::CallContext,
        procedure: u32,
        args: ::xdr_codec::Decoder,
    ) -> ::rpc_runtime::codegen::BoxFuture<'static, ::rpc_runtime::codegen::DispatchOutcome> {
        let inner = self.0.clone();
        match procedure {
            // NULL is deliberately left to the server's fallback here.
            1 => ::rpc_runtime::codegen::handle(args, move |arg: u32| async move {
                inner.echo(ctx, arg).await
            }),
            2 => ::rpc_runtime::codegen::handle(args, move |(a0, a1): (u32, u32)| async move {
                inner.sleep(ctx, a0, a1).await
            }),
            3 => {
                ::rpc_runtime::codegen::handle(
                    args,
                    move |(): ()| async move { inner.fail(ctx).await },
                )
            }
            4 => {
                ::rpc_runtime::codegen::handle(
                    args,
                    move |(): ()| async move { inner.panic(ctx).await },
                )
            }
            5 => ::rpc_runtime::codegen::handle(args, move |(): ()| async move {
                inner.noreply(ctx).await
            }),
            6 => ::rpc_runtime::codegen::handle(args, move |(): ()| async move {
                inner.reject(ctx).await
            }),
            7 => ::rpc_runtime::codegen::handle(args, move |(): ()| async move {
                inner.whoami(ctx).await
            }),
            8 => ::rpc_runtime::codegen::handle(args, move |arg: Opaque| async move {
                inner.blob(ctx, arg).await
            }),
            _ => ::rpc_runtime::codegen::proc_unavail(),
        }
    }
}

/// The implementation used by the tests.
#[derive(Debug, Default)]
pub struct TestImpl;

impl TestprogV1 for TestImpl {
    async fn echo(&self, _ctx: CallContext, arg: u32) -> HandlerResult<u32> {
        Ok(arg)
    }
    async fn sleep(&self, _ctx: CallContext, ms: u32, tag: u32) -> HandlerResult<u32> {
        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
        Ok(tag)
    }
    async fn fail(&self, _ctx: CallContext) -> HandlerResult<()> {
        Err(ServerError::SystemErr("deliberate failure".into()))
    }
    async fn panic(&self, _ctx: CallContext) -> HandlerResult<()> {
        panic!("deliberate panic in a handler")
    }
    async fn noreply(&self, _ctx: CallContext) -> HandlerResult<()> {
        Err(ServerError::NoReply)
    }
    async fn reject(&self, _ctx: CallContext) -> HandlerResult<()> {
        Err(ServerError::GarbageArgs("not today".into()))
    }
    async fn whoami(&self, ctx: CallContext) -> HandlerResult<(u32, u32)> {
        Ok(ctx
            .auth_sys()
            .map_or((u32::MAX, u32::MAX), |p| (p.uid, p.gid)))
    }
    async fn blob(&self, _ctx: CallContext, arg: Opaque) -> HandlerResult<Opaque> {
        Ok(arg)
    }
}

/// A hand-written dispatcher for TESTPROG version 3 that adds two numbers
/// and answers NULL itself.
#[derive(Debug)]
pub struct AddV3;

impl rpc_runtime::codegen::Dispatch for AddV3 {
    fn program(&self) -> u32 {
        TESTPROG
    }
    fn version(&self) -> u32 {
        3
    }
    fn dispatch(
        &self,
        _ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> rpc_runtime::codegen::BoxFuture<'static, rpc_runtime::codegen::DispatchOutcome> {
        match procedure {
            0 => rpc_runtime::codegen::handle(args, |(): ()| async { Ok(()) }),
            TESTPROC_ADD => rpc_runtime::codegen::handle(args, |(a, b): (u32, u32)| async move {
                Ok(a.wrapping_add(b))
            }),
            _ => rpc_runtime::codegen::proc_unavail(),
        }
    }
}

/// A server with TESTPROG versions 1 and 3.
pub fn test_server() -> Server {
    Server::builder()
        .register(TestprogV1Server::new(TestImpl))
        .register(AddV3)
        .build()
}

/// Starts [`test_server`] on a loopback TCP port.
pub async fn start_tcp() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = test_server();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    addr
}

/// A TESTPROG v1 client over TCP to `addr`.
pub async fn tcp_client(addr: std::net::SocketAddr) -> TestprogV1Client {
    TestprogV1Client::new(Client::connect_tcp(addr).await.unwrap())
}

/// Waits until `cond` holds, checking every 5 ms, for at most 10 s (long,
/// so a loaded machine does not fail the test; a true failure still ends).
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
