//! The watchdog of a connection: fails calls whose deadline passed.
//!
//! Calls register no timer of their own: each pending entry carries its
//! deadline, and this one task per connection sleeps until the earliest
//! one (as tarpc's `DelayQueue` does for its in-flight requests). A call
//! due before the current alarm wakes it to re-arm; with one timeout for
//! every call (the usual case) a new call is always due after the alarm,
//! so the watchdog wakes about once per timeout period, not once per call.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::in_flight::InFlight;

/// Runs until `shutdown` (the last client handle was dropped).
pub(super) async fn run(in_flight: Arc<InFlight>, shutdown: CancellationToken) {
    loop {
        let alarm = in_flight.expire(tokio::time::Instant::now());
        // Registered before the table is read again, so no re-arm
        // between `expire` and the wait is missed (`Notify` keeps one
        // permit anyway).
        let rearmed = in_flight.rearmed();
        match alarm {
            Some(at) => tokio::select! {
                () = shutdown.cancelled() => return,
                () = rearmed => {}
                () = tokio::time::sleep_until(at) => {}
            },
            None => tokio::select! {
                () = shutdown.cancelled() => return,
                () = rearmed => {}
            },
        }
    }
}
