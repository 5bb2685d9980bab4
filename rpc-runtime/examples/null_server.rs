//! A minimal server: answers NULL (procedure 0) for one program version,
//! with a hand-written [`Dispatch`] (no generated code).
//!
//! ```text
//! cargo run -p oncrpc-rpc-runtime --example null_server -- 127.0.0.1:4000 536870913 1
//! rpcinfo -a 127.0.0.1.15.160 -T tcp 536870913 1   # 4000 = 15*256 + 160
//! ```

use rpc_runtime::codegen::{proc_unavail, BoxFuture, Dispatch, DispatchOutcome};
use rpc_runtime::server::CallContext;
use rpc_runtime::Server;

/// Serves only NULL, which the server answers for any registered version.
#[derive(Debug)]
struct NullOnly {
    program: u32,
    version: u32,
}

impl Dispatch for NullOnly {
    fn program(&self) -> u32 {
        self.program
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn dispatch(
        &self,
        _ctx: CallContext,
        _procedure: u32,
        _args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        proc_unavail()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:4000".to_owned());
    let program = args.next().map_or(Ok(0x2000_0001), |s| s.parse())?;
    let version = args.next().map_or(Ok(1), |s| s.parse())?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "serving program {program} version {version} on {}",
        listener.local_addr()?
    );
    Server::builder()
        .register(NullOnly { program, version })
        .serve_tcp(listener)
        .await?;
    Ok(())
}
