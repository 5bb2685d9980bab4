//! A read-only NFSv3 + MOUNT v3 server for one local directory, built on
//! the generated server traits: [`NfsService`] and [`MountService`] over a
//! shared [`Export`](crate::export::Export). The `nfs3-server` binary
//! serves both programs on one TCP and one UDP port and registers them
//! with rpcbind.

mod mount;
mod nfs;

pub use mount::MountService;
pub use nfs::{NfsService, MAX_READ_BYTES as SERVER_MAX_READ_BYTES};
