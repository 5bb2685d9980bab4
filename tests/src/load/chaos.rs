//! The hostile clients: disconnects in the middle of a call, idle
//! connections, half-record (slowloris) connections, and clients that
//! pipeline calls and never read a reply. Each keeps its connection (or
//! its attempts) going until the load phase ends; a connection the broker
//! closes is counted and opened again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rpc_runtime::record::LAST_FRAGMENT_BIT;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::config::{CallMix, ChaosMix};
use super::conn::{records, Io, Listeners};
use super::report::ChaosCounts;
use super::wire::{call_record, Op};

/// Pause before a hostile client reconnects after the broker closed it.
const REOPEN_PAUSE: Duration = Duration::from_millis(200);

/// Bytes a slowloris connection announces (and never completes).
const SLOWLORIS_RECORD_BYTES: u32 = 1000;

/// The hostile clients' counters, shared while they run.
#[derive(Debug, Default)]
pub(super) struct ChaosCounters {
    disconnects: AtomicU64,
    idle_opened: AtomicU64,
    slowloris_opened: AtomicU64,
    never_read_opened: AtomicU64,
    never_read_calls: AtomicU64,
    closed_by_broker: AtomicU64,
    connect_failed: AtomicU64,
}

impl ChaosCounters {
    /// The counts so far.
    pub(super) fn snapshot(&self) -> ChaosCounts {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ChaosCounts {
            disconnects: get(&self.disconnects),
            idle_opened: get(&self.idle_opened),
            slowloris_opened: get(&self.slowloris_opened),
            never_read_opened: get(&self.never_read_opened),
            never_read_calls: get(&self.never_read_calls),
            closed_by_broker: get(&self.closed_by_broker),
            connect_failed: get(&self.connect_failed),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// What every hostile client needs.
#[derive(Debug, Clone)]
struct Ctx {
    listeners: Listeners,
    counters: Arc<ChaosCounters>,
    stop: CancellationToken,
}

impl Ctx {
    /// A connection, or `None` (counted) after a failure and a pause.
    async fn connect(&self, unix: bool) -> Option<Box<dyn Io>> {
        match self.listeners.connect(unix).await {
            Ok(io) => Some(io),
            Err(_) => {
                bump(&self.counters.connect_failed);
                self.pause(REOPEN_PAUSE).await;
                None
            }
        }
    }

    /// Sleeps for `d` or until the stop, whichever comes first.
    async fn pause(&self, d: Duration) {
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = tokio::time::sleep(d) => {}
        }
    }

    /// Counts a connection the broker closed and pauses before the next.
    async fn closed(&self) {
        bump(&self.counters.closed_by_broker);
        self.pause(REOPEN_PAUSE).await;
    }
}

/// Starts the clients of `mix` (datastore calls when `calls` is
/// [`CallMix::Datastore`]) into `tasks`; they stop when `stop` is
/// cancelled.
pub(super) fn spawn(
    tasks: &mut JoinSet<()>,
    mix: &ChaosMix,
    calls: CallMix,
    listeners: &Listeners,
    counters: &Arc<ChaosCounters>,
    stop: &CancellationToken,
    seed: u64,
) {
    let ctx = Ctx {
        listeners: listeners.clone(),
        counters: Arc::clone(counters),
        stop: stop.clone(),
    };
    for i in 0..mix.disconnecters {
        let rng = fastrand::Rng::with_seed(seed ^ 0xD15C ^ ((i as u64) << 20));
        tasks.spawn(disconnecter(ctx.clone(), rng, mix.disconnect_pause));
    }
    for i in 0..mix.idle {
        tasks.spawn(idle(ctx.clone(), i % 2 == 1));
    }
    for i in 0..mix.slowloris {
        tasks.spawn(slowloris(ctx.clone(), i % 2 == 1, mix.slowloris_interval));
    }
    for i in 0..mix.never_readers {
        let op = match calls {
            CallMix::Null => None,
            CallMix::Datastore => Some((format!("never-read-{i}"), mix.never_read_payload_bytes)),
        };
        tasks.spawn(never_reader(ctx.clone(), i % 2 == 1, op));
    }
}

/// Connects, starts a call and closes in the middle of it: after a whole
/// call record (before its reply), or after half of one.
async fn disconnecter(ctx: Ctx, mut rng: fastrand::Rng, max_pause: Duration) {
    let mut xid = rng.u32(..);
    while !ctx.stop.is_cancelled() {
        let Some(mut io) = ctx.connect(rng.bool()).await else {
            continue;
        };
        xid = xid.wrapping_add(1);
        let Ok(call) = call_record(xid, &Op::Null) else {
            return;
        };
        let mut wire = Vec::with_capacity(call.len() + 4);
        let header = LAST_FRAGMENT_BIT | u32::try_from(call.len()).unwrap_or(0);
        wire.extend_from_slice(&header.to_be_bytes());
        wire.extend_from_slice(&call);
        let cut = if rng.bool() {
            wire.len()
        } else {
            rng.usize(1..wire.len())
        };
        let _ = io.write_all(wire.get(..cut).unwrap_or_default()).await;
        if cut == wire.len() && rng.bool() {
            // Sometimes let the call reach the backend first.
            tokio::time::sleep(Duration::from_millis(rng.u64(0..5))).await;
        }
        drop(io);
        bump(&ctx.counters.disconnects);
        let pause = max_pause.mul_f64(rng.f64());
        ctx.pause(pause).await;
    }
}

/// Holds a connection that sends nothing.
async fn idle(ctx: Ctx, unix: bool) {
    while !ctx.stop.is_cancelled() {
        let Some(mut io) = ctx.connect(unix).await else {
            continue;
        };
        bump(&ctx.counters.idle_opened);
        let mut byte = [0u8; 1];
        tokio::select! {
            () = ctx.stop.cancelled() => return,
            _ = io.read(&mut byte) => ctx.closed().await,
        }
    }
}

/// Announces a record and sends one byte of it per `interval`.
async fn slowloris(ctx: Ctx, unix: bool, interval: Duration) {
    while !ctx.stop.is_cancelled() {
        let Some(io) = ctx.connect(unix).await else {
            continue;
        };
        bump(&ctx.counters.slowloris_opened);
        let (mut rd, mut wr) = tokio::io::split(io);
        let header = LAST_FRAGMENT_BIT | SLOWLORIS_RECORD_BYTES;
        let trickle = async {
            let mut sent = 0;
            if wr.write_all(&header.to_be_bytes()).await.is_err() {
                return;
            }
            while sent < SLOWLORIS_RECORD_BYTES - 1 {
                tokio::time::sleep(interval).await;
                if wr.write_all(&[0]).await.is_err() {
                    return;
                }
                sent += 1;
            }
            // Never the last byte: wait for the broker or the stop.
            std::future::pending::<()>().await;
        };
        let mut byte = [0u8; 1];
        tokio::select! {
            () = ctx.stop.cancelled() => return,
            () = trickle => ctx.closed().await,
            _ = rd.read(&mut byte) => ctx.closed().await,
        }
    }
}

/// Pipelines calls and never reads their replies. With `get = (key,
/// bytes)`, first PUTs `bytes` to `key` (reading that one reply) and then
/// pipelines GETs of it; otherwise NULL calls.
async fn never_reader(ctx: Ctx, unix: bool, get: Option<(String, u32)>) {
    let mut xid = 0u32;
    while !ctx.stop.is_cancelled() {
        let Some(io) = ctx.connect(unix).await else {
            continue;
        };
        bump(&ctx.counters.never_read_opened);
        let mut recs = records(io);
        let op = match &get {
            None => Op::Null,
            Some((key, bytes)) => {
                let size = usize::try_from(*bytes).unwrap_or(0);
                let put = Op::Put {
                    key: key.clone(),
                    data: Bytes::from(vec![0x5A; size]),
                };
                xid = xid.wrapping_add(1);
                let Ok(rec) = call_record(xid, &put) else {
                    return;
                };
                let answered = async {
                    recs.send(rec).await.ok()?;
                    recs.next().await?.ok()
                };
                let reply = tokio::select! {
                    () = ctx.stop.cancelled() => return,
                    r = answered => r,
                };
                if reply.is_none() {
                    ctx.closed().await;
                    continue;
                }
                Op::Get {
                    key: key.clone(),
                    count: *bytes,
                }
            }
        };
        let flood = async {
            loop {
                xid = xid.wrapping_add(1);
                let Ok(rec) = call_record(xid, &op) else {
                    return;
                };
                if recs.send(rec).await.is_err() {
                    return;
                }
                bump(&ctx.counters.never_read_calls);
            }
        };
        tokio::select! {
            () = ctx.stop.cancelled() => return,
            () = flood => ctx.closed().await,
        }
    }
}
