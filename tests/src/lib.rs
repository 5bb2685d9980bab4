//! Shared helpers for the interop tests: the C peer harness
//! ([`c_peer`]) used by the interop and broker tests, the interop
//! protocol's peers ([`interop`]), and the workspace's daemons built for
//! a test or benchmark ([`workspace_bins`]).

pub mod c_peer;
pub mod interop;
pub mod workspace_bins;
