//! One loopback TCP round trip, the yardstick of the broker's added
//! latency: `bench tcp-echo` answers every 4-byte message, `bench
//! tcp-ping` sends one and waits for the answer, in a loop, and prints a
//! `result ...` line (latency of each round trip).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::result_line::LoadResult;
use crate::stats::percentile_sorted;

/// Echoes 4-byte messages on `127.0.0.1:port`, one connection at a time,
/// until killed.
///
/// # Errors
///
/// [`BenchError::Io`] if the port cannot be bound or accepting fails.
pub fn echo(port: u16) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener =
        TcpListener::bind(addr).map_err(|e| BenchError::io(format!("binding {addr}"), e))?;
    loop {
        let (mut conn, _) = listener
            .accept()
            .map_err(|e| BenchError::io("accepting", e))?;
        let _ = conn.set_nodelay(true);
        let mut buf = [0u8; 4];
        // A connection that fails (the readiness probe) just ends.
        while conn.read_exact(&mut buf).is_ok() {
            if conn.write_all(&buf).is_err() {
                break;
            }
        }
    }
}

/// Round trips of 4 bytes to `addr` for `warmup`, then for `window`.
///
/// # Errors
///
/// [`BenchError::Io`] on any socket error.
pub fn ping(addr: SocketAddr, warmup: Duration, window: Duration) -> Result<LoadResult> {
    let io = |what: &'static str| move |e| BenchError::io(what, e);
    let mut conn = TcpStream::connect(addr).map_err(io("connecting to the echo server"))?;
    conn.set_nodelay(true).map_err(io("setting TCP_NODELAY"))?;
    let start = Instant::now() + warmup;
    let end = start + window;
    let mut samples: Vec<u32> = Vec::new();
    let mut total = 0u64;
    let mut buf = [0u8; 4];
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        conn.write_all(&buf).map_err(io("sending"))?;
        conn.read_exact(&mut buf).map_err(io("receiving"))?;
        let t1 = Instant::now();
        total += 1;
        if t0 >= start && t1 <= end && samples.len() < (1 << 22) {
            samples.push(u32::try_from((t1 - t0).as_nanos()).unwrap_or(u32::MAX));
        }
    }
    samples.sort_unstable();
    Ok(LoadResult {
        calls: samples.len() as u64,
        total_calls: total,
        window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
        p50_ns: percentile_sorted(&samples, 500).map_or(0, u64::from),
        p99_ns: percentile_sorted(&samples, 990).map_or(0, u64::from),
        client_cpu_ns: 0,
        bytes: 0,
    })
}
