//! Backends compiled into the broker (`builtin:NAME` addresses).

use std::sync::Arc;

use datastore::{Store, StoreLimits};
use rpc_runtime::Server;

use crate::config::Builtin;

/// A fresh in-process server for `builtin`: for
/// [`Builtin::Datastore`], an empty in-memory datastore with the default
/// [`StoreLimits`].
pub(crate) fn server(builtin: Builtin) -> Server {
    match builtin {
        Builtin::Datastore => datastore::server(Arc::new(Store::new(StoreLimits::default()))),
    }
}
