//! Measures NULL calls per second over one loopback TCP connection, with
//! client and server in this process.
//!
//! ```text
//! cargo run --release -p oncrpc-rpc-runtime --example null_bench -- [IN_FLIGHT] [SECONDS]
//! ```

use std::time::{Duration, Instant};

use rpc_runtime::codegen::{proc_unavail, BoxFuture, Dispatch, DispatchOutcome};
use rpc_runtime::server::CallContext;
use rpc_runtime::{Client, Server};

const PROGRAM: u32 = 0x2000_0001;

#[derive(Debug)]
struct NullOnly;

impl Dispatch for NullOnly {
    fn program(&self) -> u32 {
        PROGRAM
    }
    fn version(&self) -> u32 {
        1
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
    let in_flight: usize = args.next().map_or(Ok(1), |s| s.parse())?;
    let seconds: u64 = args.next().map_or(Ok(3), |s| s.parse())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(Server::builder().register(NullOnly).serve_tcp(listener));
    let client = Client::connect_tcp(addr).await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers = (0..in_flight).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                client.call::<_, ()>(PROGRAM, 1, 0, &()).await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, rpc_runtime::RpcError>(latencies)
        })
    });
    let mut all = Vec::new();
    for w in workers.collect::<Vec<_>>() {
        all.extend(w.await??);
    }
    all.sort();
    let p = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "in_flight={in_flight} calls={} calls/s={:.0} p50={:?} p99={:?}",
        all.len(),
        all.len() as f64 / seconds as f64,
        p(0.5),
        p(0.99)
    );
    Ok(())
}
