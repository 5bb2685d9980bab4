//! [`Activity`]: when a connection last did something, readable from any
//! task, and [`longest_idle`]: the connection to evict.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a connection last had a complete call read or a reply written (or
/// was opened): a clock written by the connection's tasks and read by
/// whoever chooses a connection to evict. One atomic, millisecond
/// resolution.
#[derive(Debug)]
pub struct Activity {
    /// When the connection was opened: the origin of `last_ms`.
    epoch: Instant,
    /// Milliseconds from `epoch` to the last activity.
    last_ms: AtomicU64,
}

impl Activity {
    /// A connection opened now.
    pub fn new() -> Activity {
        Activity {
            epoch: super::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    /// The connection did something now.
    pub fn touch(&self) {
        self.touch_at(super::now());
    }

    /// The connection did something at `now`.
    pub fn touch_at(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        self.last_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// When the connection last did something (or was opened).
    pub fn last(&self) -> Instant {
        self.epoch + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

/// The connection to evict for a new one: of `connections` (a key and,
/// for an idle connection, since when it is idle; `None` for a busy
/// one), the key of the one idle the longest; `None` when none is idle.
///
/// ```
/// use std::time::{Duration, Instant};
/// use rpc_runtime::conn_limits::longest_idle;
///
/// let t = Instant::now();
/// let conns = [(1, Some(t)), (2, None), (3, Some(t - Duration::from_secs(5)))];
/// assert_eq!(longest_idle(conns), Some(3));
/// assert_eq!(longest_idle([(1, None::<Instant>)]), None);
/// ```
pub fn longest_idle<K: Ord>(
    connections: impl IntoIterator<Item = (K, Option<Instant>)>,
) -> Option<K> {
    connections
        .into_iter()
        .filter_map(|(k, since)| Some((since?, k)))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_activity_moves_with_touch() {
        let a = Activity::new();
        let opened = a.last();
        let later = Instant::now() + Duration::from_secs(3);
        a.touch_at(later);
        let moved = a.last().duration_since(opened);
        assert!(moved >= Duration::from_millis(2990) && moved <= Duration::from_secs(3));
    }
}
