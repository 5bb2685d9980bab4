//! Generates NFSv3 and MOUNT v3 from `specs/nfs3.x` and `specs/mount3.x`.

fn main() -> Result<(), xdrgen::BuildError> {
    xdrgen::Builder::new().compile(&["specs/nfs3.x", "specs/mount3.x"])
}
