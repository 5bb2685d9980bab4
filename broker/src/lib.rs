//! The broker daemon as a library: configuration, the sans-IO routing
//! decision, and the tokio layer that forwards ONC RPC call records
//! (RFC 5531) from many client connections over one shared connection per
//! backend.
//!
//! * [`config`]: the TOML configuration and its embedded default.
//! * [`route`]: the routing decision (config + call header -> what to do),
//!   free of I/O.
//! * [`Broker`]: listeners, client connections, backends.
//!
//! What the broker answers by itself:
//!
//! | situation                                     | reply to the caller            |
//! |-----------------------------------------------|--------------------------------|
//! | `rpcvers` is not 2                            | MSG_DENIED / RPC_MISMATCH {2,2}|
//! | no route for the program                      | PROG_UNAVAIL                   |
//! | program routed, but not this version          | PROG_MISMATCH {lowest, highest}|
//! | backend unreachable, connection lost, timeout | SYSTEM_ERR                     |
//!
//! A client that sends something that is not a stream of RPC call
//! records (a bad fragment, a record over `limits.max_record_bytes`, a
//! REPLY, a record too short for a call header) is disconnected and
//! logged; other clients are unaffected.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod backend;
mod builtin;
pub mod config;
mod connection;
mod daemon;
mod listener;
pub mod route;

pub use daemon::{Broker, BrokerError};
