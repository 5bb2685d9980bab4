//! [`Nfs3Error`]: what can go wrong talking to an NFS server.

use crate::mount::Mountstat3;
use crate::nfs::Nfsstat3;
use crate::status::{mount_status_text, nfs_status_text};

/// An error of an NFS or MOUNT operation, naming the path it was about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Nfs3Error {
    /// The server answered an NFS procedure with an error status.
    #[error("{}: {}: {path}", nfs_status_text(*status).0, nfs_status_text(*status).1)]
    Nfs {
        /// The status (RFC 1813 section 2.6).
        status: Nfsstat3,
        /// The path the call was about.
        path: String,
    },
    /// The MOUNT service refused the export.
    #[error("{}: {}: {path}", mount_status_text(*status).0, mount_status_text(*status).1)]
    Mount {
        /// The status (RFC 1813 section 5.1.4).
        status: Mountstat3,
        /// The export asked for.
        path: String,
    },
    /// No export of the server is a prefix of the path.
    #[error("no export of the server contains {path} (exports: {exports})")]
    NoExport {
        /// The path asked for.
        path: String,
        /// The server's exports, comma-separated.
        exports: String,
    },
    /// rpcbind does not know the program on this transport.
    #[error("{what} is not registered with rpcbind on {host}")]
    NotRegistered {
        /// The program, e.g. `NFS v3 over tcp`.
        what: String,
        /// The host asked.
        host: String,
    },
    /// A reply that breaks the protocol (e.g. READ beyond what was asked).
    #[error("protocol error from the server: {0}")]
    Protocol(String),
    /// The RPC call failed (connection, timeout, a rejected call).
    #[error(transparent)]
    Rpc(#[from] rpc_runtime::RpcError),
    /// Asking rpcbind failed.
    #[error(transparent)]
    Rpcbind(#[from] rpc_runtime::rpcbind::Error),
    /// Resolving the host or writing the output failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
