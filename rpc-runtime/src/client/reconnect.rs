//! The background task of a stream client that reconnects: runs one
//! connection after another over the same call queue, with exponential
//! backoff between attempts ([`ReconnectPolicy`]).

use std::future::Future;
use std::io;

use tokio_util::sync::CancellationToken;

use super::in_flight::Closed;
use super::policy::ReconnectPolicy;
use super::split::SplitStream;
use super::task::{client_gone, run_once, End, Halves};
use super::TaskParts;
use crate::record::RecordCodecBuilder;

/// Serves `first`, then whatever `connect` yields after each loss, until
/// every handle is dropped or the policy gives up. Calls pending at a loss
/// fail with its reason; queued and later calls go to the next connection.
pub(super) async fn run<IO, C, Fut>(
    first: IO,
    mut connect: C,
    policy: ReconnectPolicy,
    codec: RecordCodecBuilder,
    halves: Halves<IO>,
    mut parts: TaskParts,
) where
    IO: SplitStream,
    C: FnMut() -> Fut + Send,
    Fut: Future<Output = io::Result<IO>> + Send,
{
    let mut io = first;
    let reason = loop {
        let end = run_once(io, &codec, &halves, &mut parts.outgoing, &parts.in_flight).await;
        let lost = match end {
            End::ClientGone => break client_gone(),
            End::Lost(reason) => reason,
        };
        parts.in_flight.fail_pending(&lost);
        tracing::warn!(reason = %lost.to_io(), "client connection lost; reconnecting");
        match reconnect(&mut connect, &policy, &parts.shutdown).await {
            Ok(new) => io = new,
            Err(reason) => break reason,
        }
    };
    parts.in_flight.close(reason);
}

/// Tries to connect with backoff; the error is why the client closes.
async fn reconnect<IO, C, Fut>(
    connect: &mut C,
    policy: &ReconnectPolicy,
    shutdown: &CancellationToken,
) -> Result<IO, Closed>
where
    C: FnMut() -> Fut,
    Fut: Future<Output = io::Result<IO>>,
{
    let mut attempt: u32 = 0;
    let mut last: Option<io::Error> = None;
    loop {
        if policy.max_attempts.is_some_and(|max| attempt >= max) {
            let why = last.map_or_else(|| "no attempt allowed".to_owned(), |e| e.to_string());
            tracing::error!(attempts = attempt, error = %why, "giving up reconnecting");
            return Err(Closed::new(
                io::ErrorKind::NotConnected,
                format!("gave up reconnecting after {attempt} attempts: {why}"),
            ));
        }
        tokio::select! {
            () = shutdown.cancelled() => return Err(client_gone()),
            () = tokio::time::sleep(policy.backoff(attempt)) => {}
        }
        let result = tokio::select! {
            () = shutdown.cancelled() => return Err(client_gone()),
            result = connect() => result,
        };
        match result {
            Ok(io) => {
                tracing::info!(attempts = attempt + 1, "client reconnected");
                return Ok(io);
            }
            Err(e) => {
                tracing::debug!(attempt, error = %e, "reconnect attempt failed");
                last = Some(e);
                attempt = attempt.saturating_add(1);
            }
        }
    }
}
