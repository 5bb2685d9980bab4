//! Table `[supervision]`: reconnection, health checks, ejection.

use serde::Deserialize;

use crate::core::Supervision;

/// Table `[supervision]`; every key has a default (see
/// [`Supervision`] for what each does).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisionConfig {
    /// Key `connect_timeout_ms`, default 2,000.
    pub connect_timeout_ms: u64,
    /// Key `backoff_initial_ms`, default 100.
    pub backoff_initial_ms: u64,
    /// Key `backoff_max_ms`, default 5,000.
    pub backoff_max_ms: u64,
    /// Key `health_interval_ms`, default 1,000.
    pub health_interval_ms: u64,
    /// Key `health_timeout_ms`, default 1,000.
    pub health_timeout_ms: u64,
    /// Key `eject_after_failures`, default 3.
    pub eject_after_failures: u32,
    /// Key `max_restarts`, default 20.
    pub max_restarts: u32,
    /// Key `restart_window_ms`, default 10,000.
    pub restart_window_ms: u64,
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for SupervisionConfig {
    fn default() -> Self {
        let d = Supervision::default();
        SupervisionConfig {
            connect_timeout_ms: ms(d.connect_timeout),
            backoff_initial_ms: ms(d.backoff_initial),
            backoff_max_ms: ms(d.backoff_max),
            health_interval_ms: ms(d.health_interval),
            health_timeout_ms: ms(d.health_timeout),
            eject_after_failures: d.eject_after_failures,
            max_restarts: d.max_restarts,
            restart_window_ms: ms(d.restart_window),
        }
    }
}

impl SupervisionConfig {
    /// As the core takes it.
    pub fn to_core(&self) -> Supervision {
        use std::time::Duration;
        Supervision {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            backoff_initial: Duration::from_millis(self.backoff_initial_ms),
            backoff_max: Duration::from_millis(self.backoff_max_ms),
            health_interval: Duration::from_millis(self.health_interval_ms),
            health_timeout: Duration::from_millis(self.health_timeout_ms),
            eject_after_failures: self.eject_after_failures,
            max_restarts: self.max_restarts,
            restart_window: Duration::from_millis(self.restart_window_ms),
        }
    }

    /// The first invalid key (under `[supervision]`) and why.
    pub(crate) fn check(&self) -> Option<(&'static str, &'static str)> {
        let positive = [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("backoff_initial_ms", self.backoff_initial_ms),
            ("health_interval_ms", self.health_interval_ms),
            ("health_timeout_ms", self.health_timeout_ms),
            ("restart_window_ms", self.restart_window_ms),
            ("eject_after_failures", u64::from(self.eject_after_failures)),
            ("max_restarts", u64::from(self.max_restarts)),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Some((key, "must be at least 1"));
            }
        }
        if self.backoff_max_ms < self.backoff_initial_ms {
            return Some(("backoff_max_ms", "must be at least backoff_initial_ms"));
        }
        None
    }
}
