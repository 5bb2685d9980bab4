//! The nesting limit for recursive data (trees), per client and per
//! server: the default refuses a tree deeper than
//! `xdr_codec::DEFAULT_MAX_DEPTH`, a raised limit accepts it.

use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
use rpc_runtime::{Client, RpcError, Server, ServerBuilder};
use tokio::net::TcpListener;
use xdr_codec::{Decoder, ErrorKind, XdrDecode, XdrEncode, DEFAULT_MAX_DEPTH};

const TREES: u32 = 0x2000_7778;
/// `unsigned DEPTH(tree) = 1`: how deep the argument nests.
const DEPTH: u32 = 1;
/// `tree GROW(unsigned) = 2`: a tree that deep.
const GROW: u32 = 2;

/// `struct tree { tree *child; };`: a recursive type that is not a linked
/// list (no other field), so each level is one level of the limit.
#[derive(Debug)]
struct Tree(Option<Box<Tree>>);

impl Tree {
    fn of_depth(depth: u32) -> Tree {
        (0..depth).fold(Tree(None), |t, _| Tree(Some(Box::new(t))))
    }
    fn depth(&self) -> u32 {
        std::iter::successors(self.0.as_deref(), |t| t.0.as_deref()).count() as u32
    }
}

impl XdrEncode for Tree {
    fn encode(&self, enc: &mut xdr_codec::Encoder<'_>) -> xdr_codec::Result<()> {
        enc.field("Tree.child", &self.0)
    }
}

impl XdrDecode for Tree {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(dec: &mut Decoder) -> xdr_codec::Result<Self> {
        Ok(Tree(dec.field("Tree.child")?))
    }
}

struct Trees;

impl Dispatch for Trees {
    fn program(&self) -> u32 {
        TREES
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        _ctx: CallContext,
        procedure: u32,
        args: Decoder,
    ) -> rpc_runtime::codegen::BoxFuture<'static, DispatchOutcome> {
        match procedure {
            DEPTH => rpc_runtime::codegen::handle(args, |t: Tree| async move { Ok(t.depth()) }),
            GROW => {
                rpc_runtime::codegen::handle(args, |n: u32| async move { Ok(Tree::of_depth(n)) })
            }
            _ => rpc_runtime::codegen::proc_unavail(),
        }
    }
}

async fn serve(builder: ServerBuilder) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(builder.register(Trees).serve_tcp(listener));
    addr
}

/// One level deeper than the default allows.
fn too_deep() -> u32 {
    DEFAULT_MAX_DEPTH + 1
}

#[tokio::test]
async fn a_server_refuses_arguments_nested_deeper_than_its_limit() {
    let client = Client::connect_tcp(serve(Server::builder()).await)
        .await
        .unwrap();
    let fits = Tree::of_depth(DEFAULT_MAX_DEPTH);
    let depth: u32 = client.call(TREES, 1, DEPTH, &fits).await.unwrap();
    assert_eq!(depth, DEFAULT_MAX_DEPTH);
    let deep = Tree::of_depth(too_deep());
    let e = client
        .call::<_, u32>(TREES, 1, DEPTH, &deep)
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");

    let raised = serve(Server::builder().max_decode_depth(1000)).await;
    let client = Client::connect_tcp(raised).await.unwrap();
    let depth: u32 = client.call(TREES, 1, DEPTH, &deep).await.unwrap();
    assert_eq!(depth, too_deep());
    // The limit still holds, only higher.
    let e = client
        .call::<_, u32>(TREES, 1, DEPTH, &Tree::of_depth(1001))
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::GarbageArgs), "{e:?}");
}

#[tokio::test]
async fn a_client_refuses_results_nested_deeper_than_its_limit() {
    let addr = serve(Server::builder()).await;
    let client = Client::connect_tcp(addr).await.unwrap();
    assert_eq!(client.max_decode_depth(), DEFAULT_MAX_DEPTH);
    let e = client
        .call::<_, Tree>(TREES, 1, GROW, &too_deep())
        .await
        .unwrap_err();
    match e {
        RpcError::Decode(e) => assert!(
            matches!(e.kind(), ErrorKind::DepthLimitExceeded { max } if *max == DEFAULT_MAX_DEPTH),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    // The connection is fine: the error was this call's alone.
    let tree: Tree = client
        .call(TREES, 1, GROW, &DEFAULT_MAX_DEPTH)
        .await
        .unwrap();
    assert_eq!(tree.depth(), DEFAULT_MAX_DEPTH);

    let client = Client::builder()
        .max_decode_depth(1000)
        .connect_tcp(addr)
        .await
        .unwrap();
    assert_eq!(client.max_decode_depth(), 1000);
    let tree: Tree = client.call(TREES, 1, GROW, &too_deep()).await.unwrap();
    assert_eq!(tree.depth(), too_deep());
}
