//! The Rust code xdrgen generates from `specs/bench.x`: the codec-benchmark
//! types (`SmallRec`, `DirListing`, `OpaqueHolder`), `BenchProgV1Client`,
//! the `BenchProgV1` server trait and its `BenchProgV1Server` dispatcher.

include!(concat!(env!("OUT_DIR"), "/bench.rs"));
