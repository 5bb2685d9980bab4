//! The broker daemon as a library: configuration, a sans-IO core, and the
//! tokio layer that forwards ONC RPC call records (RFC 5531) from many
//! client connections over one shared connection per backend.
//!
//! * [`config`]: the TOML configuration and its embedded default.
//! * [`core`]: the state machine (routing included, [`core::route`]): placement in a pool (rendezvous
//!   hashing on a key from the arguments), XID rewriting, timeouts,
//!   retries and failover, in-flight limits, supervision of backend
//!   connections. No sockets, no clock.
//! * [`Broker`]: listeners, client connections and backend connections,
//!   whose tasks drive the core themselves (the core behind a mutex, each
//!   task writing the records it produces straight to the sockets), and
//!   one task for the core's timers and the administration.
//! * [`admin`]: the administration protocol of `specs/broker_admin.x`
//!   (generated client and server), served on the `admin.socket` Unix
//!   socket; `broker ctl` is its client.
//! * Metrics in the OpenMetrics text format at `http://ADMIN.METRICS/metrics`
//!   (calls by route, backend and status, latency histograms, in-flight
//!   calls, connections, reconnects, late replies, reloads).
//! * [`BrokerHandle`]: reload the configuration (SIGHUP, `broker ctl
//!   reload`) without dropping calls in flight.
//!
//! What the broker answers by itself:
//!
//! | situation                                     | reply to the caller            |
//! |-----------------------------------------------|--------------------------------|
//! | caller's uid/gid not on the listener's allow list | MSG_DENIED / AUTH_ERROR / AUTH_TOOWEAK |
//! | program not on the listener's allow list      | PROG_UNAVAIL                   |
//! | `rpcvers` is not 2                            | MSG_DENIED / RPC_MISMATCH {2,2}|
//! | no route for the program                      | PROG_UNAVAIL                   |
//! | program routed, but not this version          | PROG_MISMATCH {lowest, highest}|
//! | no backend of the call's candidates connected and admitted | SYSTEM_ERR        |
//! | the route's or procedure's timeout passed     | SYSTEM_ERR                     |
//! | connection lost, call not idempotent or out of attempts | SYSTEM_ERR           |
//! | client over `max_in_flight_per_client` (normally not reached: reading pauses) | SYSTEM_ERR |
//!
//! A client that sends something that is not a stream of RPC call
//! records (a bad fragment, a record over `limits.max_record_bytes`, a
//! REPLY, a record too short for a call header) is disconnected and
//! logged; other clients are unaffected. Who may reach which socket, and
//! every limit: `docs/SECURITY.md`.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
mod builtin;
pub mod config;
pub mod core;
mod daemon;
mod driver;
mod metrics;
mod reload;
mod status;

pub use daemon::{Broker, BrokerError};
pub use reload::{BrokerHandle, ConfigSource, ReloadError};
