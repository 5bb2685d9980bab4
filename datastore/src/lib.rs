//! The reference data server of `specs/datastore.x`: an in-memory object
//! store ([`Store`]) served over ONC RPC by the `datastore-server` binary,
//! and embeddable (the broker runs one in process).
//!
//! Objects are byte strings named by byte-string keys, read and written at
//! byte offsets like files; see `specs/datastore.x` for the protocol.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod conn_args;
mod limits;
pub mod proto;
mod service;
mod store;

pub use conn_args::{log_conn_stats, ConnLimitArgs};
pub use limits::StoreLimits;
pub use proto::{DS_MAXDATA, DS_MAXKEY};
pub use service::{server, server_builder, status_of, DatastoreService, MAX_RECORD_BYTES};
pub use store::{EntryInfo, ListPage, ReadResult, Store, StoreError};
