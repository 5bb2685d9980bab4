//! The Rust client of the RPC benchmark (`bench load`): the generated
//! `BenchProgV1Client` on `rpc-runtime`, with any number of connections and
//! calls in flight per connection, measured the way
//! `bench/c/bench_client.c` measures.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::cpu::process_cpu_ns;
use crate::error::{BenchError, Result};
use crate::proto::{BenchData, BenchProgV1Client};
use crate::result_line::LoadResult;
use crate::stats::percentile_sorted;

/// Latency samples kept over all tasks (more calls are counted, not kept),
/// as in the C client.
const TOTAL_SAMPLES: usize = 4 << 20;

/// Which procedure to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CallKind {
    /// BENCH_NULL.
    Null,
    /// BENCH_READ of `size` bytes.
    Read,
    /// BENCH_WRITE of `size` bytes.
    Write,
}

impl CallKind {
    /// The C client's `-m` argument.
    pub fn as_arg(self) -> &'static str {
        match self {
            CallKind::Null => "null",
            CallKind::Read => "read",
            CallKind::Write => "write",
        }
    }
}

/// One client run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server.
    pub addr: SocketAddr,
    /// The procedure.
    pub kind: CallKind,
    /// READ/WRITE payload, in bytes.
    pub size: u32,
    /// TCP connections.
    pub connections: usize,
    /// Calls in flight per connection (each a task calling in a loop).
    pub in_flight: usize,
    /// Warm-up before the measured window.
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
}

/// What one calling task saw.
#[derive(Debug, Default)]
struct TaskStats {
    calls: u64,
    total_calls: u64,
    bytes: u64,
    samples: Vec<u32>,
}

async fn one_call(client: &BenchProgV1Client, cfg: &LoadConfig, data: &BenchData) -> Result<()> {
    match cfg.kind {
        CallKind::Null => client.bench_null().await?,
        CallKind::Read => {
            let got = client.bench_read(&cfg.size).await?;
            if got.len() != cfg.size as usize {
                return Err(BenchError::Mismatch(format!(
                    "READ returned {} bytes, asked {}",
                    got.len(),
                    cfg.size
                )));
            }
        }
        CallKind::Write => {
            let n = client.bench_write(data).await?;
            if n != cfg.size {
                return Err(BenchError::Mismatch(format!(
                    "WRITE acknowledged {n} bytes, sent {}",
                    cfg.size
                )));
            }
        }
    }
    Ok(())
}

async fn call_loop(
    client: BenchProgV1Client,
    cfg: LoadConfig,
    data: BenchData,
    start: Instant,
    end: Instant,
    cap: usize,
) -> Result<TaskStats> {
    let mut s = TaskStats::default();
    let payload = match cfg.kind {
        CallKind::Null => 0,
        CallKind::Read | CallKind::Write => u64::from(cfg.size),
    };
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            return Ok(s);
        }
        one_call(&client, &cfg, &data).await?;
        let t1 = Instant::now();
        s.total_calls += 1;
        if t0 >= start && t1 <= end {
            s.calls += 1;
            s.bytes += payload;
            if s.samples.len() < cap {
                s.samples
                    .push(u32::try_from((t1 - t0).as_nanos()).unwrap_or(u32::MAX));
            }
        }
    }
}

/// Runs the load described by `cfg` on a tokio runtime sized for the CPUs
/// this process may use ([`rpc_runtime::runtime::for_available_cpus`]).
///
/// # Errors
///
/// [`BenchError::Rpc`] if connecting or a call fails,
/// [`BenchError::Mismatch`] on a wrong reply, [`BenchError::Io`] if the
/// runtime cannot start or CPU time cannot be read.
pub fn run(cfg: &LoadConfig) -> Result<LoadResult> {
    let rt = rpc_runtime::runtime::for_available_cpus()
        .map_err(|e| BenchError::io("starting the tokio runtime", e))?;
    rt.block_on(run_async(cfg))
}

async fn run_async(cfg: &LoadConfig) -> Result<LoadResult> {
    if cfg.connections == 0 || cfg.in_flight == 0 {
        return Err(BenchError::Usage(
            "connections and in-flight must be at least 1".to_owned(),
        ));
    }
    let data = BenchData::new(Bytes::from(
        (0..cfg.size)
            .map(|i| (i.wrapping_mul(7) & 0xff) as u8)
            .collect::<Vec<u8>>(),
    ));
    let mut clients = Vec::with_capacity(cfg.connections);
    for _ in 0..cfg.connections {
        let c = rpc_runtime::Client::connect_tcp(cfg.addr).await?;
        clients.push(BenchProgV1Client::new(c));
    }
    let tasks = cfg.connections * cfg.in_flight;
    let cap = TOTAL_SAMPLES / tasks;
    let start = Instant::now() + cfg.warmup;
    let end = start + cfg.window;
    let mut handles = Vec::with_capacity(tasks);
    for client in &clients {
        for _ in 0..cfg.in_flight {
            handles.push(tokio::spawn(call_loop(
                client.clone(),
                cfg.clone(),
                data.clone(),
                start,
                end,
                cap,
            )));
        }
    }
    // The window's CPU time is read by a plain thread that sleeps: a
    // timer in the runtime would shorten every park of the calling tasks
    // (an epoll_wait timeout counting down to the window's end), which
    // the C client, checking the clock in its loop, does not have.
    let cpu = std::thread::spawn(move || {
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
        let cpu0 = process_cpu_ns(None)?;
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
        Ok::<_, BenchError>(process_cpu_ns(None)?.saturating_sub(cpu0))
    });
    let mut total = TaskStats::default();
    for h in handles {
        let s = h
            .await
            .map_err(|e| BenchError::io("a calling task", std::io::Error::other(e)))??;
        total.calls += s.calls;
        total.total_calls += s.total_calls;
        total.bytes += s.bytes;
        total.samples.extend_from_slice(&s.samples);
    }
    let client_cpu_ns = cpu
        .join()
        .map_err(|_| BenchError::io("the CPU clock thread", std::io::Error::other("panicked")))??;
    total.samples.sort_unstable();
    Ok(LoadResult {
        calls: total.calls,
        total_calls: total.total_calls,
        window_ns: u64::try_from(cfg.window.as_nanos()).unwrap_or(u64::MAX),
        p50_ns: percentile_sorted(&total.samples, 500).map_or(0, u64::from),
        p99_ns: percentile_sorted(&total.samples, 990).map_or(0, u64::from),
        client_cpu_ns,
        bytes: total.bytes,
    })
}
