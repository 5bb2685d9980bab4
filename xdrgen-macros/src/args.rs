//! The macro's arguments: `"a.x", "b.x", emit = "types,client", serde = true,
//! arbitrary = true`.

use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Token};

/// Parsed arguments of `include_xdr!`.
pub(crate) struct Args {
    /// The `.x` files, relative to `CARGO_MANIFEST_DIR`.
    pub(crate) files: Vec<LitStr>,
    /// What to emit.
    pub(crate) options: xdrgen::Options,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut files = Vec::new();
        let mut options = xdrgen::Options::default();
        while !input.is_empty() {
            if input.peek(LitStr) {
                files.push(input.parse()?);
            } else {
                let key: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                if key == "serde" || key == "arbitrary" {
                    let on: LitBool = input.parse()?;
                    if key == "serde" {
                        options.emit.serde = on.value;
                    } else {
                        options.emit.arbitrary = on.value;
                    }
                    if !input.is_empty() {
                        input.parse::<Token![,]>()?;
                    }
                    continue;
                }
                let value: LitStr = input.parse()?;
                if key != "emit" {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{key}` (expected `emit`, `serde` or `arbitrary`)"),
                    ));
                }
                options.emit.types = false;
                options.emit.client = false;
                options.emit.server = false;
                for part in value.value().split(',').map(str::trim) {
                    match part {
                        "types" => options.emit.types = true,
                        "client" => options.emit.client = true,
                        "server" => options.emit.server = true,
                        other => {
                            return Err(syn::Error::new(
                                value.span(),
                                format!(
                                "unknown part `{other}` (expected `types`, `client` or `server`)"
                            ),
                            ))
                        }
                    }
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        if files.is_empty() {
            return Err(input
                .error("expected the path of a `.x` file, e.g. `include_xdr!(\"specs/foo.x\")`"));
        }
        Ok(Args { files, options })
    }
}
