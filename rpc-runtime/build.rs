//! Generates rpc-runtime's own protocol code from its `.x` files with
//! xdrgen (dogfooding), into `OUT_DIR`: the RPC message types
//! (`specs/rpc_msg.x`), and the portmapper (`specs/portmap.x`) and
//! rpcbind (`specs/rpcbind.x`) types and clients; with the `gss`
//! feature, the RPCSEC_GSS types (`specs/rpcsec_gss.x`).

fn main() -> Result<(), xdrgen::BuildError> {
    xdrgen::Builder::new()
        .emit_server(false)
        .compile(&["specs/portmap.x", "specs/rpcbind.x"])?;
    let mut specs = vec!["specs/rpc_msg.x"];
    if std::env::var_os("CARGO_FEATURE_GSS").is_some() {
        specs.push("specs/rpcsec_gss.x");
    }
    xdrgen::Builder::new()
        .emit_client(false)
        .emit_server(false)
        .compile(&specs)
}
