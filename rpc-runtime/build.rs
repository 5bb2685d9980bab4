//! Generates rpc-runtime's own protocol code from its `.x` files with
//! xdrgen (dogfooding), into `OUT_DIR`: the RPC message types
//! (`specs/rpc_msg.x`), and the portmapper (`specs/portmap.x`) and
//! rpcbind (`specs/rpcbind.x`) types and clients.

fn main() -> Result<(), xdrgen::BuildError> {
    xdrgen::Builder::new()
        .emit_server(false)
        .compile(&["specs/portmap.x", "specs/rpcbind.x"])?;
    xdrgen::Builder::new()
        .emit_client(false)
        .emit_server(false)
        .compile(&["specs/rpc_msg.x"])
}
