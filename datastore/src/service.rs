//! [`DatastoreService`]: the [`DatastoreV1`] server trait implemented over
//! a [`Store`], and [`server`], a ready `rpc_runtime` server.

use std::future::Future;
use std::sync::Arc;

use rpc_runtime::server::{CallContext, HandlerResult};
use rpc_runtime::{Server, ServerBuilder};

use crate::proto::{
    DatastoreV1, DatastoreV1Server, DsDeleteArgs, DsEntry, DsGetArgs, DsGetOk, DsGetRes, DsKey,
    DsListArgs, DsListOk, DsListRes, DsPutArgs, DsPutRes, DsStatus, DS_MAXDATA,
};
use crate::store::{Store, StoreError};

/// Room for the RPC header and argument framing around the largest
/// `DS_PUT` data, in bytes.
const RECORD_OVERHEAD_BYTES: usize = 64 * 1024;

/// The largest record the datastore server reads or writes: a full
/// `DS_MAXDATA` PUT or GET plus headers, in bytes.
pub const MAX_RECORD_BYTES: usize = DS_MAXDATA as usize + RECORD_OVERHEAD_BYTES;

/// Serves version 1 of the datastore program from a shared [`Store`].
///
/// Store errors become the `ds_status` of the reply; the handlers never
/// fail at the RPC level.
#[derive(Debug, Clone)]
pub struct DatastoreService {
    store: Arc<Store>,
}

impl DatastoreService {
    /// A service over `store`.
    pub fn new(store: Arc<Store>) -> Self {
        DatastoreService { store }
    }

    /// The store served.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}

/// An `rpc_runtime` server for the datastore program over `store`, with a
/// record limit of [`MAX_RECORD_BYTES`]. Serve it with
/// `serve_tcp`/`serve_unix`/`serve_connection`.
pub fn server(store: Arc<Store>) -> Server {
    server_builder(store).build()
}

/// The builder of [`server`], for settings of one's own (RPCSEC_GSS,
/// limits) before `build()`.
pub fn server_builder(store: Arc<Store>) -> ServerBuilder {
    Server::builder()
        .max_record_bytes(MAX_RECORD_BYTES)
        .register(DatastoreV1Server::new(DatastoreService::new(store)))
}

/// The `ds_status` of a store error.
pub fn status_of(e: StoreError) -> DsStatus {
    match e {
        StoreError::NoEntry => DsStatus::DsNoent,
        StoreError::Invalid => DsStatus::DsInval,
        StoreError::TooBig => DsStatus::DsFbig,
        StoreError::NoSpace => DsStatus::DsNospc,
        StoreError::NameTooLong => DsStatus::DsNametoolong,
    }
}

impl DatastoreV1 for DatastoreService {
    fn ds_put(
        &self,
        _ctx: CallContext,
        arg: DsPutArgs,
    ) -> impl Future<Output = HandlerResult<DsPutRes>> + Send {
        let r = self.store.put(
            arg.key.as_bytes(),
            arg.offset,
            arg.data.into_bytes(),
            arg.truncate,
        );
        std::future::ready(Ok(match r {
            Ok(size) => DsPutRes::DsOk(size),
            Err(e) => DsPutRes::Default(status_of(e)),
        }))
    }

    fn ds_get(
        &self,
        _ctx: CallContext,
        arg: DsGetArgs,
    ) -> impl Future<Output = HandlerResult<DsGetRes>> + Send {
        let r = self.store.get(arg.key.as_bytes(), arg.offset, arg.count);
        std::future::ready(Ok(match r {
            Ok(read) => DsGetRes::DsOk(DsGetOk {
                data: read.data.into(),
                eof: read.eof,
            }),
            Err(e) => DsGetRes::Default(status_of(e)),
        }))
    }

    fn ds_delete(
        &self,
        _ctx: CallContext,
        arg: DsDeleteArgs,
    ) -> impl Future<Output = HandlerResult<DsStatus>> + Send {
        let r = self.store.delete(arg.key.as_bytes());
        std::future::ready(Ok(match r {
            Ok(()) => DsStatus::DsOk,
            Err(e) => status_of(e),
        }))
    }

    fn ds_list(
        &self,
        _ctx: CallContext,
        arg: DsListArgs,
    ) -> impl Future<Output = HandlerResult<DsListRes>> + Send {
        let r = self
            .store
            .list(arg.prefix.as_bytes(), arg.after.as_bytes(), arg.max_entries);
        std::future::ready(Ok(match r {
            Ok(page) => DsListRes::DsOk(DsListOk {
                entries: page
                    .entries
                    .into_iter()
                    .map(|e| DsEntry {
                        name: DsKey::from_bytes(e.name),
                        size: e.size,
                        generation: e.generation,
                    })
                    .collect(),
                eof: page.eof,
            }),
            Err(e) => DsListRes::Default(status_of(e)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values_match_store_errno() {
        for e in [
            StoreError::NoEntry,
            StoreError::Invalid,
            StoreError::TooBig,
            StoreError::NoSpace,
            StoreError::NameTooLong,
        ] {
            assert_eq!(i32::from(status_of(e)), e.errno(), "{e:?}");
        }
    }
}
