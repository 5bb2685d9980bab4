//! Build script: generates the Rust side of `specs/interop.x` with xdrgen
//! (into `OUT_DIR/interop.rs`, included by `src/interop/proto.rs`). The C
//! peers are built at test time (`src/c_peer`), so that a missing `rpcgen`
//! fails the tests with a clear message instead of the build.

use std::path::Path;

fn main() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/interop.x");
    if let Err(e) = xdrgen::Builder::new().compile(&[spec]) {
        // The rendered diagnostics (`FILE:LINE:COL: error: ...`).
        eprintln!("{e}");
        std::process::exit(1);
    }
}
