//! The bodies of the project's fuzz targets, as plain functions of the
//! input bytes. `fuzz/fuzz_targets/NAME.rs` hands each one to libFuzzer
//! (`cargo fuzz run NAME`); `tests/replay.rs` runs each over the committed
//! corpora in `fuzz/corpus/NAME/` and over pseudo-random inputs on the
//! stable toolchain, as part of `cargo test --workspace`.
//!
//! A body panics when it finds a bug (a wrong answer, or a panic of the
//! code under test); anything else the input does is fine. Every body is
//! deterministic: the same input takes the same path.
//!
//! Allocation is bounded relative to the input: the replay test runs each
//! input with a limit of what was allocated before it plus
//! [`ALLOC_BYTES_PER_INPUT_BYTE`] times its length plus
//! [`ALLOC_SLACK_BYTES`]; libFuzzer runs take `-malloc_limit_mb` (see
//! `docs/RELIABILITY.md`).

pub mod broker_core;
pub mod message;
pub mod record;
mod reencode;
pub mod spec_types;
pub mod xdr_compiler;

/// Bytes a body may allocate per byte of input, on top of
/// [`ALLOC_SLACK_BYTES`] (live at once, measured from before the input).
pub const ALLOC_BYTES_PER_INPUT_BYTE: usize = 64;

/// Bytes a body may allocate whatever its input (1 MiB): room for the
/// record decoder's 64 KiB read-ahead and the compiler's fixed tables.
pub const ALLOC_SLACK_BYTES: usize = 1 << 20;

/// A fuzz target: its name (the file `fuzz/fuzz_targets/NAME.rs` and the
/// corpus folder `fuzz/corpus/NAME/`) and its body.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The body: panics on a finding.
    pub body: fn(&[u8]),
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "record_marking",
        body: record::record_marking,
    },
    Target {
        name: "rpc_message",
        body: message::rpc_message,
    },
    Target {
        name: "spec_types",
        body: spec_types::spec_types,
    },
    Target {
        name: "xdr_compiler",
        body: xdr_compiler::xdr_compiler,
    },
    Target {
        name: "broker_core",
        body: broker_core::broker_core,
    },
];
