//! Generates rpc-runtime's own protocol code from the project's `.x`
//! files with xdrgen (dogfooding), into `OUT_DIR`: the RPC message types
//! (`specs/rpc_msg.x`), and the portmapper (`specs/portmap.x`) and
//! rpcbind (`specs/rpcbind.x`) types and clients.

use std::path::Path;

fn main() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let result = xdrgen::Builder::new()
        .emit_server(false)
        .compile(&[specs.join("portmap.x"), specs.join("rpcbind.x")]);
    let result = result.and_then(|()| {
        xdrgen::Builder::new()
            .emit_client(false)
            .emit_server(false)
            .compile(&[specs.join("rpc_msg.x")])
    });
    if let Err(e) = result {
        // The rendered diagnostics (`FILE:LINE:COL: error: ...`).
        eprintln!("{e}");
        std::process::exit(1);
    }
}
