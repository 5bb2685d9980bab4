//! The loopback ceiling: a plain TCP stream (`bench tcp-sink` and
//! `bench tcp-stream`), 1 MiB `write`s with no RPC at all, measured in the
//! same run as the RPC benchmark.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::cpu::process_cpu_ns;
use crate::error::{BenchError, Result};
use crate::result_line::LoadResult;

/// Bytes per `write` and per `read`.
const CHUNK_BYTES: usize = 1 << 20;

/// Accepts connections on `127.0.0.1:port` one at a time, reads each to
/// its end, then answers one byte (so the sender knows everything
/// arrived). Runs until killed.
///
/// # Errors
///
/// [`BenchError::Io`] if the port cannot be bound or accepting fails.
pub fn sink(port: u16) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener =
        TcpListener::bind(addr).map_err(|e| BenchError::io(format!("binding {addr}"), e))?;
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        let (mut conn, _) = listener
            .accept()
            .map_err(|e| BenchError::io("accepting", e))?;
        // A connection that fails midway (the readiness probe, a killed
        // sender) just ends; the sink keeps serving.
        loop {
            match conn.read(&mut buf) {
                Ok(0) => {
                    let _ = conn.write_all(&[1]);
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}

/// Writes 1 MiB chunks to `addr` for `warmup`, then for `window`, and
/// waits until the sink has read everything. `calls` in the result counts
/// chunks written inside the window, `bytes` their bytes.
///
/// # Errors
///
/// [`BenchError::Io`] on any socket error.
pub fn stream(addr: SocketAddr, warmup: Duration, window: Duration) -> Result<LoadResult> {
    let io = |what: &'static str| move |e| BenchError::io(what, e);
    let mut conn = TcpStream::connect(addr).map_err(io("connecting to the sink"))?;
    conn.set_nodelay(true).map_err(io("setting TCP_NODELAY"))?;
    let chunk = vec![0x5au8; CHUNK_BYTES];
    let start = Instant::now() + warmup;
    let end = start + window;
    let mut r = LoadResult {
        window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
        ..LoadResult::default()
    };
    let mut cpu0 = None;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        if cpu0.is_none() && t0 >= start {
            cpu0 = Some(process_cpu_ns(None)?);
        }
        conn.write_all(&chunk).map_err(io("writing to the sink"))?;
        r.total_calls += 1;
        if t0 >= start && Instant::now() <= end {
            r.calls += 1;
            r.bytes += CHUNK_BYTES as u64;
        }
    }
    if let Some(c0) = cpu0 {
        r.client_cpu_ns = process_cpu_ns(None)?.saturating_sub(c0);
    }
    conn.shutdown(Shutdown::Write)
        .map_err(io("closing the stream"))?;
    let mut ack = [0u8; 1];
    conn.read_exact(&mut ack)
        .map_err(io("waiting for the sink's acknowledgement"))?;
    Ok(r)
}
