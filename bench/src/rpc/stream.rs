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
    let r = timed(warmup, window, || {
        conn.write_all(&chunk).map_err(io("writing to the sink"))
    })?;
    conn.shutdown(Shutdown::Write)
        .map_err(io("closing the stream"))?;
    let mut ack = [0u8; 1];
    conn.read_exact(&mut ack)
        .map_err(io("waiting for the sink's acknowledgement"))?;
    Ok(r)
}

/// A request/response over plain TCP, the shape of a READ or a WRITE
/// with one call in flight but no RPC: the floor of those scenarios,
/// where the plain stream has no round trip at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BulkShape {
    /// A 4-byte request, 1 MiB back (READ).
    Fetch,
    /// 1 MiB behind a 4-byte length, 4 bytes back (WRITE).
    Push,
}

/// Answers request/response exchanges on `127.0.0.1:port`, one connection
/// at a time, until killed: a 4-byte big-endian word 0 gets 1 MiB back;
/// a word `n` > 0 is followed by `n` bytes, read and answered with 4 zero
/// bytes.
///
/// # Errors
///
/// [`BenchError::Io`] if the port cannot be bound or accepting fails.
pub fn bulk_server(port: u16) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener =
        TcpListener::bind(addr).map_err(|e| BenchError::io(format!("binding {addr}"), e))?;
    let mut buf = vec![0x5au8; CHUNK_BYTES];
    loop {
        let (mut conn, _) = listener
            .accept()
            .map_err(|e| BenchError::io("accepting", e))?;
        let _ = conn.set_nodelay(true);
        // A connection that fails or ends (the readiness probe, the end of
        // a run) just ends; the server keeps serving.
        let _ = serve_bulk(&mut conn, &mut buf);
    }
}

fn serve_bulk(conn: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    loop {
        let mut word = [0u8; 4];
        conn.read_exact(&mut word)?;
        let mut left = u32::from_be_bytes(word) as usize;
        if left == 0 {
            conn.write_all(buf)?;
            continue;
        }
        while left > 0 {
            let n = conn.read(&mut buf[..left.min(CHUNK_BYTES)])?;
            if n == 0 {
                return Ok(());
            }
            left -= n;
        }
        conn.write_all(&[0; 4])?;
    }
}

/// Runs `shape` exchanges with `addr` one after the other for `warmup`,
/// then for `window`. `calls` in the result counts the exchanges that
/// started and ended inside the window, `bytes` their 1 MiB payloads.
///
/// # Errors
///
/// [`BenchError::Io`] on any socket error.
pub fn bulk(
    addr: SocketAddr,
    shape: BulkShape,
    warmup: Duration,
    window: Duration,
) -> Result<LoadResult> {
    let io = |what: &'static str| move |e| BenchError::io(what, e);
    let mut conn = TcpStream::connect(addr).map_err(io("connecting to the server"))?;
    conn.set_nodelay(true).map_err(io("setting TCP_NODELAY"))?;
    let (request, mut response) = match shape {
        BulkShape::Fetch => (vec![0u8; 4], vec![0u8; CHUNK_BYTES]),
        BulkShape::Push => {
            let mut push = (CHUNK_BYTES as u32).to_be_bytes().to_vec();
            push.resize(4 + CHUNK_BYTES, 0x5a);
            (push, vec![0u8; 4])
        }
    };
    timed(warmup, window, || {
        conn.write_all(&request).map_err(io("sending a request"))?;
        conn.read_exact(&mut response)
            .map_err(io("reading a response"))
    })
}

/// Runs `exchange` (moving 1 MiB) one after the other for `warmup`, then
/// for `window`: `calls` counts the exchanges that started and ended
/// inside the window, `bytes` their MiBs, `client_cpu_ns` this process's
/// CPU time from the window's start.
fn timed(
    warmup: Duration,
    window: Duration,
    mut exchange: impl FnMut() -> Result<()>,
) -> Result<LoadResult> {
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
        exchange()?;
        r.total_calls += 1;
        if t0 >= start && Instant::now() <= end {
            r.calls += 1;
            r.bytes += CHUNK_BYTES as u64;
        }
    }
    if let Some(c0) = cpu0 {
        r.client_cpu_ns = process_cpu_ns(None)?.saturating_sub(c0);
    }
    Ok(r)
}
