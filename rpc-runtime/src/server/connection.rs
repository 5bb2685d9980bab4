//! Serving one connection: a reader that classifies calls, answers those
//! whose handler is ready at once and spawns the rest, and a writer that
//! sends replies as they finish (all replies ready at once in one
//! `writev`, large results without a user-space copy).

use std::io;
use std::sync::Arc;

use std::pin::Pin;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::call::{classify, execute, Action, Reply};
use super::context::PeerAddr;
use super::ServerConfig;
use crate::record::{RecordCodec, RecordWriter};

/// Serves `io` until the peer closes it, it fails, a garbage record
/// arrives, or `stop` is cancelled. After a clean end of input or `stop`,
/// the calls already read run to completion and their replies are
/// written; after garbage, a read error or a write failure, the calls
/// still running are cancelled and the connection is closed at once.
pub(super) async fn serve<IO>(
    config: Arc<ServerConfig>,
    io: IO,
    peer: PeerAddr,
    stop: CancellationToken,
) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let codec = config.codec.new_codec();
    let (r, w) = tokio::io::split(io);
    let reader = FramedRead::new(r, codec);
    let writer = RecordWriter::new(w, &config.codec);
    let (replies, queue) = mpsc::channel(config.max_concurrent_calls);
    // Cancelled when the connection must close without draining.
    let abort = CancellationToken::new();
    let write = write_replies(writer, queue, abort.clone(), config.write_timeout, &peer);
    let read = read_calls(&config, reader, replies, &peer, &stop, &abort);
    let (read_result, write_result) = tokio::join!(read, write);
    read_result.and(write_result)
}

async fn read_calls<R: AsyncRead>(
    config: &Arc<ServerConfig>,
    reader: FramedRead<R, RecordCodec>,
    replies: mpsc::Sender<Reply>,
    peer: &PeerAddr,
    stop: &CancellationToken,
    abort: &CancellationToken,
) -> io::Result<()> {
    futures::pin_mut!(reader);
    let limit = Arc::new(Semaphore::new(config.max_concurrent_calls));
    let max_record_bytes = config.codec.record_limit();
    let mut idle = IdleTimer::new(config.idle_timeout);
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = abort.cancelled() => return Ok(()),
            () = idle.expired() => None,
            next = reader.next() => Some(next),
        };
        idle.restart();
        let Some(next) = event else {
            if limit.available_permits() < config.max_concurrent_calls {
                // Calls are still running or replying: not idle.
                continue;
            }
            if reader.decoder().in_record() || !reader.read_buffer().is_empty() {
                tracing::warn!(
                    %peer,
                    buffered_bytes = reader.read_buffer().len(),
                    "closing idle connection: it stopped in the middle of a record"
                );
            } else {
                tracing::debug!(%peer, "closing idle connection");
            }
            return Ok(());
        };
        let record = match next {
            None => return Ok(()),
            Some(Ok(record)) => record,
            Some(Err(e)) => {
                tracing::warn!(%peer, error = %e, "closing connection: bad record stream");
                abort.cancel();
                return Err(e.into());
            }
        };
        match classify(&config.registry, record, peer, config.deadline()) {
            Action::Ignore => {}
            Action::Garbage(why) => {
                tracing::warn!(%peer, reason = %why, "closing connection: garbage record");
                abort.cancel();
                return Err(io::Error::new(io::ErrorKind::InvalidData, why));
            }
            Action::Reply(reply) => {
                if replies.send(reply).await.is_err() {
                    return Ok(());
                }
            }
            Action::Run(job) => {
                let permit = tokio::select! {
                    () = abort.cancelled() => return Ok(()),
                    permit = Arc::clone(&limit).acquire_owned() => match permit {
                        Ok(p) => p,
                        Err(_) => return Ok(()),
                    },
                };
                let span = tracing::debug_span!(
                    "rpc_serve",
                    xid = job.call.xid,
                    program = job.call.program,
                    version = job.call.version,
                    procedure = job.call.procedure,
                );
                let mut call = Box::pin(execute(job, max_record_bytes).instrument(span));
                // Most handlers (NULL, lookups in memory) finish in their
                // first poll: answer those here, without a task of their
                // own; only a call that has to wait gets spawned. Polling
                // it again later with the task's waker is what the
                // `Future` contract allows.
                if let Some(reply) = (&mut call).now_or_never() {
                    drop(permit);
                    if let Some(reply) = reply {
                        if replies.send(reply).await.is_err() {
                            return Ok(());
                        }
                    }
                    continue;
                }
                let replies = replies.clone();
                let abort = abort.clone();
                tokio::spawn(async move {
                    // If the connection is torn down, the handler is
                    // cancelled (its future dropped).
                    tokio::select! {
                        () = abort.cancelled() => {
                            tracing::debug!("connection closed; call cancelled");
                        }
                        reply = call => {
                            if let Some(reply) = reply {
                                // The writer may be gone; the reply is then dropped.
                                let _ = replies.send(reply).await;
                            }
                        }
                    }
                    drop(permit);
                });
            }
        }
    }
}

async fn write_replies<W: AsyncWrite + Unpin>(
    mut writer: RecordWriter<W>,
    mut queue: mpsc::Receiver<Reply>,
    abort: CancellationToken,
    write_timeout: Option<Duration>,
    peer: &PeerAddr,
) -> io::Result<()> {
    loop {
        let reply = tokio::select! {
            () = abort.cancelled() => return Ok(()),
            reply = queue.recv() => reply,
        };
        let Some(reply) = reply else {
            // Every sender is gone: the reader stopped and all calls ended.
            return writer.close().await;
        };
        let write = async {
            writer.push(reply).map_err(io::Error::from)?;
            // Every reply ready now goes out in the same `writev`.
            while let Ok(reply) = queue.try_recv() {
                writer.push(reply).map_err(io::Error::from)?;
            }
            writer.flush().await
        };
        let result = match write_timeout {
            None => write.await,
            Some(limit) => match tokio::time::timeout(limit, write).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        %peer,
                        timeout = ?limit,
                        "closing connection: the peer does not read its replies"
                    );
                    abort.cancel();
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "writing replies timed out",
                    ));
                }
            },
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "writing replies failed; closing connection");
            abort.cancel();
            return Err(e);
        }
    }
}

/// Fires once the connection has been idle for the configured time;
/// never if there is none.
struct IdleTimer {
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl IdleTimer {
    fn new(timeout: Option<Duration>) -> Self {
        let timeout = timeout.unwrap_or(Duration::MAX);
        let mut timer = IdleTimer {
            timeout,
            sleep: None,
        };
        timer.restart();
        timer
    }

    /// Starts the idle time again from now.
    fn restart(&mut self) {
        // `None` when the deadline is not representable: never fires.
        let Some(deadline) = Instant::now().checked_add(self.timeout) else {
            return;
        };
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    async fn expired(&mut self) {
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().await,
            None => std::future::pending().await,
        }
    }
}
