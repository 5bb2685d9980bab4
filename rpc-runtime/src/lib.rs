//! ONC RPC version 2 (RFC 5531) on tokio.
//!
//! * [`Client`]: one multiplexed connection (TCP, Unix stream or UDP),
//!   many calls in flight (bounded, with backpressure), replies matched by
//!   XID, timeouts, cancellation, optional reconnect, UDP retransmission.
//! * [`blocking::Client`]: the same for callers without an async runtime.
//! * [`Server`]: serves [`server::Dispatch`] implementations (generated
//!   by `xdrgen`, or hand-written) over TCP, Unix and UDP sockets, with
//!   concurrent calls per connection, limits (connections, calls, record
//!   size, idle time, per-call time) and the RFC's error replies.
//! * [`message`]: RPC messages, authentication (AUTH_NONE, AUTH_SYS), a
//!   cheap header peek and reply constructors.
//! * [`record`]: record marking, a `tokio_util` codec.
//! * [`codegen`]: what generated code names.
//!
//! Usually the [`server::Dispatch`] implementation and the typed client
//! come from `xdrgen`; by hand, a round trip looks like this:
//!
//! ```
//! use rpc_runtime::codegen::{handle, proc_unavail, BoxFuture};
//! use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
//! use rpc_runtime::{Client, RpcError, Server};
//!
//! /// Program 0x20000099 version 1; procedure 1 adds two numbers.
//! struct Adder;
//!
//! impl Dispatch for Adder {
//!     fn program(&self) -> u32 { 0x2000_0099 }
//!     fn version(&self) -> u32 { 1 }
//!     fn dispatch(&self, _ctx: CallContext, procedure: u32, args: xdr_codec::Decoder)
//!         -> BoxFuture<'static, DispatchOutcome>
//!     {
//!         match procedure {
//!             1 => handle(args, |(a, b): (u32, u32)| async move { Ok(a.wrapping_add(b)) }),
//!             _ => proc_unavail(),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(Server::builder().register(Adder).serve_tcp(listener));
//!
//! let client = Client::connect_tcp(addr).await?;
//! let sum: u32 = client.call(0x2000_0099, 1, 1, &(40u32, 2u32)).await?;
//! assert_eq!(sum, 42);
//! let () = client.call(0x2000_0099, 1, 0, &()).await?; // NULL, answered by the server
//! assert!(matches!(client.call::<_, ()>(0x2000_0099, 1, 7, &()).await, Err(RpcError::ProcUnavail)));
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod blocking;
mod client;
pub mod codegen;
mod error;
pub mod message;
pub mod record;
pub mod server;

pub use client::{
    Client, ClientBuilder, ReconnectPolicy, RetransmitPolicy, DEFAULT_MAX_DATAGRAM_BYTES,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_QUEUE_DEPTH, DEFAULT_TIMEOUT,
};
pub use error::RpcError;
pub use server::{Server, ServerBuilder};
