//! Compiles the MOUNT protocol specification shipped by Debian's
//! `rpcsvc-proto` package, unmodified, into `$OUT_DIR/mount.rs`.

fn main() {
    if let Err(e) = xdrgen::Builder::new().compile(&["/usr/include/rpcsvc/mount.x"]) {
        // The rendered diagnostics (FILE:LINE:COL: error: ...) end up in
        // Cargo's build-script output.
        eprintln!("{e}");
        std::process::exit(1);
    }
}
