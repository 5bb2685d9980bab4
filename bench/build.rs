//! Build script: generates the Rust side of `specs/bench.x` with xdrgen
//! (into `OUT_DIR/bench.rs`, included by `src/proto.rs`). The C peers are
//! built when the benchmark runs (`src/c_peers.rs`).

use std::path::Path;

fn main() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/bench.x");
    if let Err(e) = xdrgen::Builder::new().compile(&[spec]) {
        // The rendered diagnostics (`FILE:LINE:COL: error: ...`).
        eprintln!("{e}");
        std::process::exit(1);
    }
}
