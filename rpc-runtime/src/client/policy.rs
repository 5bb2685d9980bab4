//! Timing policies of a client: [`ReconnectPolicy`] (TCP and Unix) and
//! [`RetransmitPolicy`] (UDP).

use std::time::Duration;

/// How a TCP or Unix [`Client`](crate::Client) reconnects after its
/// connection is lost, when enabled with
/// [`ClientBuilder::reconnect`](crate::ClientBuilder::reconnect).
///
/// Calls pending when the connection is lost fail at once with
/// [`RpcError::Transport`](crate::RpcError::Transport) (the server may or
/// may not have executed them). Calls made afterwards wait, within their
/// timeout, for a new connection: the first attempt is made after
/// `initial_backoff`, each failed attempt doubles the wait up to
/// `max_backoff`. After `max_attempts` failed attempts in a row the client
/// gives up and is closed for good, like a client without reconnect.
///
/// ```
/// use std::time::Duration;
/// use rpc_runtime::ReconnectPolicy;
/// let policy = ReconnectPolicy {
///     max_attempts: Some(10),
///     ..ReconnectPolicy::default()
/// };
/// assert_eq!(policy.initial_backoff, Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Wait before the first attempt (default 100 ms).
    pub initial_backoff: Duration,
    /// Longest wait between two attempts (default 10 s).
    pub max_backoff: Duration,
    /// Failed attempts in a row after which the client gives up; `None`
    /// (the default) tries forever.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The wait before attempt `attempt` (0-based): `initial_backoff`
    /// doubled `attempt` times, at most `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        doubled(self.initial_backoff, attempt, self.max_backoff)
    }
}

/// When a UDP [`Client`](crate::Client) sends a call's datagram again,
/// set with [`ClientBuilder::retransmit`](crate::ClientBuilder::retransmit).
///
/// A call's datagram is sent, then sent again with the same XID (so a
/// server's duplicate request cache recognises it) whenever no reply has
/// arrived for `initial_interval`, then twice that, and so on up to
/// `max_interval` between sends, until a reply arrives or the call's
/// timeout expires. With the defaults (1 s doubling to 8 s) and the
/// default 25 s timeout a call is sent at 0, 1, 3, 7, 15 and 23 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetransmitPolicy {
    /// Wait after the first send (default 1 s).
    pub initial_interval: Duration,
    /// Longest wait between two sends (default 8 s).
    pub max_interval: Duration,
}

impl Default for RetransmitPolicy {
    fn default() -> Self {
        RetransmitPolicy {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(8),
        }
    }
}

impl RetransmitPolicy {
    /// The wait after send `send` (0-based): `initial_interval` doubled
    /// `send` times, at most `max_interval`.
    pub fn interval(&self, send: u32) -> Duration {
        doubled(self.initial_interval, send, self.max_interval)
    }
}

/// `base * 2^times`, saturating, capped at `cap` (and at least `base` if
/// `cap` is smaller).
fn doubled(base: Duration, times: u32, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(times.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor)
        .unwrap_or(Duration::MAX)
        .min(cap.max(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retransmit_intervals_double_up_to_the_cap() {
        let p = RetransmitPolicy::default();
        let waits: Vec<u64> = (0..6).map(|i| p.interval(i).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
        assert_eq!(p.interval(u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn backoff_saturates() {
        let p = ReconnectPolicy {
            initial_backoff: Duration::from_secs(u64::MAX / 2),
            max_backoff: Duration::MAX,
            max_attempts: None,
        };
        assert_eq!(p.backoff(40), Duration::MAX);
        assert_eq!(
            ReconnectPolicy::default().backoff(0),
            Duration::from_millis(100)
        );
    }
}
