//! The interop protocol of `specs/interop.x`: the generated Rust code
//! ([`proto`]), its C peers ([`peers`]), reference computations of every
//! procedure ([`compute`]), random arguments ([`random`]) and a Rust server
//! ([`server`]).

pub mod compute;
pub mod peers;
pub mod proto;
pub mod random;
pub mod server;
