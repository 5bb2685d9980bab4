//! Generates the admin protocol's Rust code from `specs/broker_admin.x`.

fn main() -> Result<(), xdrgen::BuildError> {
    xdrgen::Builder::new().compile(&["specs/broker_admin.x"])
}
