//! `include_xdr!`: the output of [`xdrgen`] for a `.x` file, expanded in
//! place, for crates that would rather not have a build script.
//!
//! ```
//! mod datastore {
//!     // Types, async clients and server traits, as
//!     // `xdrgen ../datastore/specs/datastore.x` would write them.
//!     xdrgen_macros::include_xdr!("../datastore/specs/datastore.x");
//! }
//! use xdr_codec::XdrEncode;
//! let key = datastore::DsKey::from("k1");
//! assert_eq!(key.to_xdr_bytes()?.len(), 8);
//! # Ok::<(), xdr_codec::Error>(())
//! ```
//!
//! A `.x` file with errors does not compile:
//!
//! ```compile_fail
//! xdrgen_macros::include_xdr!("no/such/file.x");
//! ```
//!
//! Paths are relative to the including crate's `CARGO_MANIFEST_DIR` (the
//! directory holding its `Cargo.toml`), like `include_str!` relative to a
//! file. The expansion is exactly [`xdrgen::generate_many`]'s output, so it
//! needs the same dependencies: `xdr-codec`, and `rpc-runtime` when clients
//! or servers are emitted. Errors in the `.x` file become a
//! `compile_error!` carrying the rendered diagnostics
//! (`FILE:LINE:COL: error: ...` with the source line and a caret). Each
//! input is also `include_bytes!`d (into an unnamed constant), so Cargo
//! rebuilds the crate when a `.x` file changes.
//!
//! Arguments: one or more string literals (several files are compiled
//! together, as one specification), then optionally `emit = "types"`
//! (or `"types,client"`, any of `types`, `client`, `server`; default: all
//! three), `serde = true` (derive `serde::Serialize`/`Deserialize`;
//! the crate then needs `serde` with `derive` and `xdr-codec` with its
//! `serde` feature) and `arbitrary = true` (implement
//! `arbitrary::Arbitrary` within the spec's bounds; the crate then needs
//! `arbitrary` with `derive` and `xdr-codec` with its `arbitrary`
//! feature).

mod args;

use proc_macro::TokenStream;
use quote::quote;

/// Expands to the Rust that `xdrgen` generates for the named `.x` files;
/// see the [crate] documentation.
#[proc_macro]
pub fn include_xdr(input: TokenStream) -> TokenStream {
    expand(input.into()).into()
}

fn expand(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let args = match syn::parse2::<args::Args>(input) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error(),
    };
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let paths: Vec<std::path::PathBuf> = args.files.iter().map(|f| base.join(f.value())).collect();
    let span = args
        .files
        .first()
        .map_or_else(proc_macro2::Span::call_site, |f| f.span());
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let generated = match xdrgen::generate_many(&refs, &args.options) {
        Ok(g) => g,
        Err(e) => {
            let msg = e.rendered.trim_end().to_owned();
            return quote::quote_spanned!(span=> ::core::compile_error!(#msg););
        }
    };
    let code: proc_macro2::TokenStream = match generated.code.parse() {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("xdrgen produced Rust that does not lex: {e}");
            return quote::quote_spanned!(span=> ::core::compile_error!(#msg););
        }
    };
    let tracked = generated
        .files_read
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .map(|p| p.to_string_lossy().into_owned());
    quote! {
        #( const _: &[u8] = ::core::include_bytes!(#tracked); )*
        #code
    }
}

#[cfg(test)]
mod tests {
    use super::expand;
    use quote::quote;

    /// The expansion is `xdrgen::generate_many`'s output, token for token,
    /// after the `include_bytes!` lines that track the inputs.
    #[test]
    fn expands_to_the_generated_code() {
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../datastore/specs/datastore.x"
        );
        let expanded = expand(quote!(
            "../datastore/specs/datastore.x",
            emit = "types, client"
        ))
        .to_string();
        let mut opts = xdrgen::Options::default();
        opts.emit.server = false;
        let code = xdrgen::generate_many(&[std::path::Path::new(spec)], &opts)
            .map(|g| g.code)
            .unwrap_or_default();
        let code: proc_macro2::TokenStream = code.parse().unwrap_or_default();
        let code = code.to_string();
        assert!(!code.is_empty());
        assert!(expanded.starts_with("const _ : & [u8] = :: core :: include_bytes !"));
        assert!(expanded.ends_with(&code), "{expanded}");
    }

    #[test]
    fn errors_become_compile_error_with_the_diagnostics() {
        let out = expand(quote!("no/such/file.x")).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("cannot read"), "{out}");
        let out = expand(quote!(
            "../datastore/specs/datastore.x",
            emit = "everything"
        ))
        .to_string();
        assert!(out.contains("unknown part `everything`"), "{out}");
        let out = expand(quote!()).to_string();
        assert!(out.contains("expected the path"), "{out}");
    }
}
