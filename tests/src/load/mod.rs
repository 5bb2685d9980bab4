//! A load generator for the broker: a real `broker` process in front of
//! real `datastore-server` processes, many client connections over its
//! TCP and Unix listeners, hostile clients mixed in, backends killed with
//! SIGKILL and restarted on a schedule, and a [`LoadReport`] of what
//! happened. Loopback and temporary Unix sockets only; every run is
//! bounded by its call count and its duration ([`MAX_RUN`] at most).
//!
//! The well-behaved clients track every call by XID on their connection:
//! a call gets exactly one reply or it is counted as unanswered; a second
//! reply is counted as a duplicate. In the datastore mix
//! ([`CallMix::Datastore`]) each client PUTs and GETs keys of its own,
//! remembers the last acknowledged value of each, checks every GET
//! against it and reads every acknowledged key back at the end.
//!
//! ```no_run
//! use interop_tests::load::{run, LoadConfig};
//! use interop_tests::workspace_bins::{build_workspace_bins, profile_dir};
//!
//! let bins = build_workspace_bins(&profile_dir()?)?;
//! let report = run(&LoadConfig::default(), &bins, &|line| eprintln!("{line}"))?;
//! print!("{}", report.render());
//! assert!(report.violations().is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `broker-load` binary is the command-line front end.

mod chaos;
mod client;
mod cluster;
mod config;
mod conn;
mod fd_limit;
mod keys;
mod report;
mod rss;
mod run;
mod wire;

pub use config::{
    CallMix, ChaosMix, KillSchedule, LoadConfig, Transport, MAX_CONNECTIONS, MAX_RUN,
};
pub use fd_limit::raise_nofile_limit;
pub use report::{
    BackendCounts, BrokerFigures, CallCounts, ChaosCounts, ConnectionCounts, ErrorKind, Latency,
    LoadReport, WriteCounts, RSS_FLOOR_SAMPLES,
};
pub use rss::rss_kib;
pub use run::{run, LoadError};
