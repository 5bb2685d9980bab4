//! [`Error`]: why an rpcbind operation failed.

use super::uaddr::UaddrError;
use crate::RpcError;

/// Why an rpcbind operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call to rpcbind failed (could not connect, timed out, rpcbind
    /// answered with an error status).
    #[error("rpcbind call failed: {0}")]
    Rpc(#[from] RpcError),
    /// rpcbind returned an address this crate cannot use.
    #[error("rpcbind returned an unusable address: {0}")]
    Address(#[from] UaddrError),
    /// rpcbind refused to register a program version (SET returned
    /// FALSE: another owner holds the registration, or rpcbind refused
    /// the caller).
    #[error("rpcbind refused to register program {program} version {version} on {netid}")]
    Refused {
        /// The program number.
        program: u32,
        /// The version number.
        version: u32,
        /// The network id.
        netid: String,
    },
}
