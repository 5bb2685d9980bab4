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
//! Allocation is bounded relative to the input, under libFuzzer and in the
//! replay alike: [`run_bounded`] fails an input whose body had more bytes
//! live at once than its target's [`AllocBound`] allows for the input's
//! length (see `docs/RELIABILITY.md`).

mod alloc_bound;
pub mod broker_core;
pub mod message;
pub mod record;
mod reencode;
pub mod spec_types;
pub mod xdr_compiler;

pub use alloc_bound::{peak_bytes, run_bounded, AllocBound};

/// A fuzz target: its name (the file `fuzz/fuzz_targets/NAME.rs` and the
/// corpus folder `fuzz/corpus/NAME/`) and its body.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The body: panics on a finding.
    pub body: fn(&[u8]),
    /// The most bytes the body may have live at once for an input.
    pub bound: AllocBound,
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "record_marking",
        body: record::record_marking,
        bound: AllocBound::DEFAULT,
    },
    Target {
        name: "rpc_message",
        body: message::rpc_message,
        bound: AllocBound::DEFAULT,
    },
    Target {
        name: "spec_types",
        body: spec_types::spec_types,
        bound: AllocBound::DEFAULT,
    },
    Target {
        name: "xdr_compiler",
        body: xdr_compiler::xdr_compiler,
        bound: xdr_compiler::BOUND,
    },
    Target {
        name: "broker_core",
        body: broker_core::broker_core,
        bound: AllocBound::DEFAULT,
    },
];

/// The target called `name`, for the libFuzzer entries.
///
/// # Panics
/// When no target has that name.
pub fn target(name: &str) -> &'static Target {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}
