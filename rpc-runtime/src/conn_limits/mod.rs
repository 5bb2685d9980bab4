//! The limits on a stream connection's peer, shared by [`Server`]
//! (`rpc-runtime`) and the broker's client connections: what counts as
//! idle, when a half-sent record or an unread reply has waited too long,
//! how many reply bytes may wait unread, and which connection to evict
//! when a new one arrives at the connection limit.
//!
//! | piece            | what it decides                                                   |
//! |------------------|-------------------------------------------------------------------|
//! | [`Timeouts`]     | the next deadline of a connection, and which [`Limit`] it is      |
//! | [`RecordClock`]  | since when the record being read has been arriving (slowloris)   |
//! | [`LimitTimer`]   | one timer per connection, armed at that deadline                  |
//! | [`ReplyBudget`]  | caps on unread reply bytes, per connection and for all together   |
//! | [`Activity`]     | when a connection last did something; [`longest_idle`] picks the one to evict |
//! | [`LimitCounts`]  | how often each [`Limit`] was hit                                  |
//!
//! A connection is *idle* when no call of it is executing and no reply
//! waits to be written; a half-sent record counts as idle (its sender is
//! the one keeping it so), so a slowloris is evicted first.
//!
//! [`Server`]: crate::Server

mod activity;
mod budget;
mod counts;
mod deadline;

pub use activity::{longest_idle, Activity};
pub use budget::{BudgetShare, ReplyBudget};
pub use counts::LimitCounts;
pub use deadline::{LimitTimer, RecordClock, Timeouts};

/// The default idle time after which a connection is closed: 5 minutes.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The default time a record may take from its first byte to its last:
/// 10 seconds.
pub const DEFAULT_RECORD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The default time replies may wait without the peer taking a byte of
/// them: 30 seconds.
pub const DEFAULT_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The default cap on reply bytes waiting for one connection to read
/// them: 16 MiB.
pub const DEFAULT_MAX_UNREAD_BYTES_PER_CONNECTION: usize = 16 * 1024 * 1024;

/// The default cap on reply bytes waiting for all connections together:
/// 256 MiB.
pub const DEFAULT_MAX_UNREAD_BYTES: usize = 256 * 1024 * 1024;

/// The time now, as the tokio clock says (which tests may pause and
/// advance): every instant of this module is read through it.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// A limit a connection reached, and what was done about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// The connection limit was reached: the connection idle the longest
    /// was closed for a new one.
    Evicted,
    /// The connection limit was reached with no connection idle: the new
    /// one was closed.
    Refused,
    /// The idle timeout passed.
    IdleTimeout,
    /// The record timeout passed inside a record (slowloris).
    RecordTimeout,
    /// The write timeout passed with replies waiting.
    WriteTimeout,
    /// A record over the record size limit arrived.
    RecordTooLarge,
    /// Reading paused at a cap on unread reply bytes (backpressure).
    UnreadBytesPaused,
    /// A reply was ready for a connection already over a cap on unread
    /// reply bytes: the connection was closed.
    UnreadBytesClosed,
}

impl Limit {
    /// Every limit, in a fixed order.
    pub const ALL: [Limit; 8] = [
        Limit::Evicted,
        Limit::Refused,
        Limit::IdleTimeout,
        Limit::RecordTimeout,
        Limit::WriteTimeout,
        Limit::RecordTooLarge,
        Limit::UnreadBytesPaused,
        Limit::UnreadBytesClosed,
    ];

    /// A short name (a metric label): `max_connections_evicted`,
    /// `max_connections_refused`, `idle_timeout`, `record_timeout`,
    /// `write_timeout`, `max_record_bytes`, `max_unread_bytes_paused`,
    /// `max_unread_bytes_closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Evicted => "max_connections_evicted",
            Limit::Refused => "max_connections_refused",
            Limit::IdleTimeout => "idle_timeout",
            Limit::RecordTimeout => "record_timeout",
            Limit::WriteTimeout => "write_timeout",
            Limit::RecordTooLarge => "max_record_bytes",
            Limit::UnreadBytesPaused => "max_unread_bytes_paused",
            Limit::UnreadBytesClosed => "max_unread_bytes_closed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
