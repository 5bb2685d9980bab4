//! The Rust server of the RPC benchmark (`bench serve`): the generated
//! `BenchProgV1` trait served by `rpc-runtime`.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use rpc_runtime::server::{CallContext, HandlerResult};
use rpc_runtime::Server;

use crate::error::{BenchError, Result};
use crate::proto::{BenchData, BenchProgV1, BenchProgV1Server, BENCH_DATA_MAX};

/// Answers BENCH_READ from one buffer filled at start (a cheap `Bytes`
/// slice per call, no copy), BENCH_WRITE with the length of the data
/// received. Byte `i` of the buffer is `(i * 7) mod 256`, as in
/// `bench/c/bench_server.c`.
#[derive(Debug, Clone)]
pub struct BenchService {
    data: Bytes,
}

impl Default for BenchService {
    fn default() -> Self {
        let data: Vec<u8> = (0..BENCH_DATA_MAX)
            .map(|i| (i.wrapping_mul(7) & 0xff) as u8)
            .collect();
        BenchService { data: data.into() }
    }
}

impl BenchProgV1 for BenchService {
    async fn bench_read(&self, _ctx: CallContext, count: u32) -> HandlerResult<BenchData> {
        let n = usize::try_from(count.min(BENCH_DATA_MAX)).unwrap_or(self.data.len());
        Ok(BenchData::new(self.data.slice(..n.min(self.data.len()))))
    }

    async fn bench_write(&self, _ctx: CallContext, data: BenchData) -> HandlerResult<u32> {
        Ok(u32::try_from(data.len()).unwrap_or(u32::MAX))
    }
}

/// Serves the benchmark program on `127.0.0.1:port` until killed, on a
/// tokio runtime sized for the CPUs it may use
/// ([`rpc_runtime::runtime::for_available_cpus`]).
///
/// # Errors
///
/// [`BenchError::Io`] if the runtime cannot start or the port cannot be
/// bound or accepting fails.
pub fn serve(port: u16) -> Result<()> {
    let rt = rpc_runtime::runtime::for_available_cpus()
        .map_err(|e| BenchError::io("starting the tokio runtime", e))?;
    rt.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| BenchError::io(format!("binding {addr}"), e))?;
        Server::builder()
            .register(BenchProgV1Server::new(BenchService::default()))
            .serve_tcp(listener)
            .await
            .map_err(|e| BenchError::io("serving", e))
    })
}
