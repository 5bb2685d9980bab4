//! ONC RPC over TCP by hand, for tests whose clients misbehave on
//! purpose: call records of the datastore program (specs/datastore.x)
//! written and replies read with plain sockets.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The datastore program (specs/datastore.x).
pub(crate) const DATASTORE: u32 = 0x2000_DA7A;
/// Its procedures used here.
pub(crate) const DS_NULL: u32 = 0;
pub(crate) const DS_PUT: u32 = 1;
pub(crate) const DS_GET: u32 = 2;

/// A call record (one fragment): RPC version 2, AUTH_NONE credential and
/// verifier, then `args`.
pub(crate) fn call_record(xid: u32, procedure: u32, args: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(40 + args.len());
    for word in [xid, 0, 2, DATASTORE, 1, procedure, 0, 0, 0, 0] {
        body.extend_from_slice(&word.to_be_bytes());
    }
    body.extend_from_slice(args);
    let mut record = (0x8000_0000 | body.len() as u32).to_be_bytes().to_vec();
    record.extend_from_slice(&body);
    record
}

/// XDR `string`/`opaque<>`: length, bytes, padding to 4.
pub(crate) fn xdr_opaque(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
    out.resize(out.len() + (4 - bytes.len() % 4) % 4, 0);
}

/// `ds_put_args`: the whole object `key` set to `data`.
pub(crate) fn put_args(key: &str, data: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    xdr_opaque(&mut a, key.as_bytes());
    a.extend_from_slice(&0u64.to_be_bytes());
    a.extend_from_slice(&1u32.to_be_bytes());
    xdr_opaque(&mut a, data);
    a
}

/// `ds_get_args`: `count` bytes of `key` from its start.
pub(crate) fn get_args(key: &str, count: u32) -> Vec<u8> {
    let mut a = Vec::new();
    xdr_opaque(&mut a, key.as_bytes());
    a.extend_from_slice(&0u64.to_be_bytes());
    a.extend_from_slice(&count.to_be_bytes());
    a
}

/// Reads one record (every fragment).
pub(crate) fn read_record(s: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut record = Vec::new();
    loop {
        let mut head = [0u8; 4];
        s.read_exact(&mut head)?;
        let header = u32::from_be_bytes(head);
        let start = record.len();
        record.resize(start + (header & 0x7fff_ffff) as usize, 0);
        s.read_exact(&mut record[start..])?;
        if header & 0x8000_0000 != 0 {
            return Ok(record);
        }
    }
}

/// The word at byte `at` of `record`.
pub(crate) fn word(record: &[u8], at: usize) -> u32 {
    let b: [u8; 4] = record[at..at + 4].try_into().expect("4 bytes");
    u32::from_be_bytes(b)
}

/// Sends a call and reads its reply; the reply's results (after
/// `accept_stat` SUCCESS, which is checked with the XID).
pub(crate) fn call(
    s: &mut TcpStream,
    xid: u32,
    procedure: u32,
    args: &[u8],
) -> io::Result<Vec<u8>> {
    s.write_all(&call_record(xid, procedure, args))?;
    let reply = read_record(s)?;
    // xid, REPLY, MSG_ACCEPTED, verifier (flavor, empty body), SUCCESS.
    assert_eq!(
        (word(&reply, 0), word(&reply, 4), word(&reply, 8)),
        (xid, 1, 0),
        "an accepted reply to XID {xid}"
    );
    let verf_len = word(&reply, 16) as usize;
    let stat_at = 20 + verf_len.div_ceil(4) * 4;
    assert_eq!(word(&reply, stat_at), 0, "accept_stat SUCCESS");
    Ok(reply[stat_at + 4..].to_vec())
}

/// Connects to `addr` with generous socket timeouts (a loaded machine).
pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("write timeout");
    s
}

/// A NULL call on `s`, which must be answered within `within`.
pub(crate) fn null_within(s: &mut TcpStream, xid: u32, within: Duration) {
    let start = Instant::now();
    call(s, xid, DS_NULL, &[]).expect("NULL call answered");
    let took = start.elapsed();
    assert!(took < within, "NULL call took {took:?}, over {within:?}");
}

/// True when the peer closes `s` (end of file or reset) within
/// `within`; whatever it sends before is discarded.
pub(crate) fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).expect("read timeout");
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading until the peer closes: {e}"),
        }
    }
}

/// Drives `addr` past its idle and record timeouts (both 1.5 s): one
/// client sends nothing, one sends `part` of a record and stops, one
/// calls NULL every 100 ms for 3 s. The first two must be closed, the
/// third still answered.
pub(crate) fn idle_half_and_busy(addr: SocketAddr, part: &[u8]) {
    let mut idle = connect(addr);
    let mut half = connect(addr);
    half.write_all(part).expect("send part of a record");
    // A client calling more often than the idle timeout stays open.
    let mut busy = connect(addr);
    let start = Instant::now();
    let mut xid = 1;
    while start.elapsed() < Duration::from_millis(3000) {
        null_within(&mut busy, xid, Duration::from_secs(10));
        xid += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        closed_within(&mut idle, Duration::from_secs(30)),
        "idle client closed"
    );
    assert!(
        closed_within(&mut half, Duration::from_secs(30)),
        "half-record client closed"
    );
    null_within(&mut busy, xid, Duration::from_secs(10));
}

/// Drives `addr` past a connection limit of `max`: `max` clients each
/// answered in turn (the first is idle the longest), then one more,
/// which is answered while the first is closed and the others are left
/// alone.
pub(crate) fn evicts_the_longest_idle(addr: SocketAddr, max: u32) {
    let mut clients: Vec<TcpStream> = Vec::new();
    for i in 0..max {
        let mut c = connect(addr);
        null_within(&mut c, i + 1, Duration::from_secs(10));
        clients.push(c);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut fresh = connect(addr);
    null_within(&mut fresh, 1000, Duration::from_secs(10));
    assert!(
        closed_within(&mut clients[0], Duration::from_secs(30)),
        "the longest-idle client is evicted"
    );
    for (i, c) in clients.iter_mut().enumerate().skip(1) {
        null_within(c, 2000 + i as u32, Duration::from_secs(10));
    }
}
