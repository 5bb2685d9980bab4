//! Identifiers and literals for templates.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

/// An identifier from a model name (`r#type` becomes a raw identifier).
/// Names are valid by construction; anything else is sanitised rather than
/// allowed to panic.
pub(super) fn ident(name: &str) -> Ident {
    let (raw, name) = match name.strip_prefix("r#") {
        Some(n) => (true, n),
        None => (false, name),
    };
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s == "_" || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "x_");
    }
    if raw {
        Ident::new_raw(&s, Span::call_site())
    } else {
        Ident::new(&s, Span::call_site())
    }
}

/// A name without a raw prefix, for messages and error paths.
pub(super) fn plain(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// An integer as an unsuffixed expression or pattern (`5`, `-1`,
/// `-2147483648`); the context gives its type.
pub(super) fn int_literal(value: i128) -> TokenStream {
    let magnitude = Literal::u128_unsuffixed(value.unsigned_abs());
    if value < 0 {
        quote!(-#magnitude)
    } else {
        quote!(#magnitude)
    }
}

/// The integer types of discriminants and constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IntTy {
    I32,
    U32,
    I64,
    U64,
}

impl IntTy {
    /// The Rust type.
    pub(super) fn tokens(self) -> TokenStream {
        match self {
            IntTy::I32 => quote!(i32),
            IntTy::U32 => quote!(u32),
            IntTy::I64 => quote!(i64),
            IntTy::U64 => quote!(u64),
        }
    }
}

/// A string literal.
pub(super) fn str_lit(s: &str) -> Literal {
    Literal::string(s)
}
