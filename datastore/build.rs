//! Generates the datastore protocol's Rust code from `specs/datastore.x`.

fn main() -> Result<(), xdrgen::BuildError> {
    xdrgen::Builder::new().compile(&["specs/datastore.x"])
}
