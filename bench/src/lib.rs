//! Side-by-side benchmarks of this project against C `rpcgen` + libtirpc,
//! on the protocol and values of `specs/bench.x`.
//!
//! * [`codec`]: encode and decode of a small struct, READDIR-style linked
//!   lists and 1 MiB of opaque data, our generated code against the C
//!   routines `rpcgen` generates on libtirpc's `xdrmem` streams.
//! * [`rpc`]: NULL calls (one in flight, 64 in flight, 16 connections) and
//!   1 MiB READ/WRITE on loopback TCP, our client and server against the C
//!   client and server, plus the cross pairs and a plain TCP stream as the
//!   ceiling.
//! * [`gen`]: `xdrgen` against `rpcgen` on the same `.x` files.
//! * [`broker`]: synchronous C clients of the datastore protocol against
//!   the C server, the Rust `datastore-server`, and the broker in front of
//!   it (NULL, 4 KiB and 1 MiB reads, 1, 64 and 512 client processes).
//! * [`counts`]: the codec and RPC figures as instructions per operation
//!   under callgrind, ours and the C reference's (stable where timings on
//!   a shared machine are not).
//! * [`nfs`]: reading a large file over NFSv3, `nfs3-client` against
//!   libnfs's `nfs-cat`, from NFS-Ganesha and from `nfs3-server`.
//!
//! Run it with `cargo run --release -p bench -- all` (or `codec`, `rpc`,
//! `gen`); see `docs/BENCHMARKS.md`. Every client, server and codec loop is
//! a process of its own, pinned by the same [`placement::Placement`] on
//! both sides; results are medians over interleaved passes.

pub mod broker;
pub mod c_peers;
pub mod codec;
pub mod counts;
pub mod cpu;
pub mod error;
pub mod gen;
pub mod machine;
pub mod nfs;
pub mod placement;
pub mod process;
pub mod proto;
pub mod result_line;
pub mod rpc;
pub mod stats;
pub mod table;
pub mod values;

pub use error::{BenchError, Result};
