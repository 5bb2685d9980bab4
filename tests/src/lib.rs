//! Shared helpers for the interop tests: the C peer harness
//! ([`c_peer`]) used by the interop and broker tests, and the interop
//! protocol's peers ([`interop`]).

pub mod c_peer;
pub mod interop;
