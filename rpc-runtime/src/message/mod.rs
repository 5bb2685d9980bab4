//! RPC version 2 messages (RFC 5531 sections 8 and 9): call and reply
//! headers, statuses, authentication, a cheap header peek, and reply
//! constructors.
//!
//! A message is one record (see [`record`](crate::record)):
//!
//! ```text
//! rpc_msg = xid | mtype | body
//!   CALL  (0): rpcvers(2) | prog | vers | proc | cred | verf | procedure arguments
//!   REPLY (1): MSG_ACCEPTED(0) | verf | accept_stat | [mismatch_info] | results
//!              MSG_DENIED(1)   | reject_stat | mismatch_info or auth_stat
//! ```
//!
//! The wire format comes from `specs/rpc_msg.x` through xdrgen: see
//! [`wire`]. The types here are the crate's working view of it (an open
//! set of flavors and statuses, `Bytes` bodies) and encode and decode
//! through [`wire`]; only [`peek`] reads the fixed header words directly.

mod auth;
mod call;
mod peek;
pub mod reply;
pub mod wire;

pub use auth::{
    AuthFlavor, AuthStat, AuthSysParams, Credentials, OpaqueAuth, MAX_AUTH_BODY_BYTES,
    MAX_AUTH_SYS_GIDS, MAX_MACHINE_NAME_BYTES,
};
pub use call::CallHeader;
pub use peek::{peek, peek_xid, with_xid, CallPeek, HeaderPeek};
pub use reply::{AcceptStat, RejectStat, ReplyBody, ReplyHeader};

/// The RPC protocol version this crate speaks (`rpcvers`, RFC 5531 section 9).
pub const RPC_VERSION: u32 = 2;

/// `msg_type` (RFC 5531 section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgType {
    /// CALL (0).
    Call = 0,
    /// REPLY (1).
    Reply = 1,
}
