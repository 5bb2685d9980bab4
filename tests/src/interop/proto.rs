//! The Rust code xdrgen generates from `specs/interop.x` (types, constants,
//! `InteropProgV1Client`, the `InteropProgV1` server trait and its
//! `InteropProgV1Server` dispatcher).

include!(concat!(env!("OUT_DIR"), "/interop.rs"));
