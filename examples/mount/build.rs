//! Compiles the MOUNT protocol specification shipped by Debian's
//! `rpcsvc-proto` package, unmodified, into `$OUT_DIR/mount.rs`. An error
//! in the file fails the build with xdrgen's diagnostics
//! (`FILE:LINE:COL: error: ...`, the source line and a caret).

fn main() -> Result<(), xdrgen::BuildError> {
    xdrgen::Builder::new().compile(&["/usr/include/rpcsvc/mount.x"])
}
