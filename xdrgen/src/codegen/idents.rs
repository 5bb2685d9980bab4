//! Identifiers and literals for templates.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use crate::model::Radix;

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
    int_literal_in(value, Radix::Decimal)
}

/// As [`int_literal`], written in `radix` (`0x2000000A`, `0o755`).
pub(super) fn int_literal_in(value: i128, radix: Radix) -> TokenStream {
    let m = value.unsigned_abs();
    // Digits with a base prefix are always a valid literal.
    let magnitude = int_text(i128::try_from(m).unwrap_or(i128::MAX), radix)
        .parse::<Literal>()
        .unwrap_or_else(|_| Literal::u128_unsuffixed(m));
    if value < 0 {
        quote!(-#magnitude)
    } else {
        quote!(#magnitude)
    }
}

/// `value` as Rust writes it in `radix`: `-16`, `0x2000000A`, `0o755`.
pub(super) fn int_text(value: i128, radix: Radix) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let m = value.unsigned_abs();
    match radix {
        Radix::Decimal => format!("{sign}{m}"),
        Radix::Hex => format!("{sign}{m:#X}"),
        Radix::Octal => format!("{sign}{m:#o}"),
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

#[cfg(test)]
mod tests {
    use super::{int_text, Radix};

    #[test]
    fn numbers_keep_the_base_they_were_written_in() {
        assert_eq!(int_text(536919676, Radix::Hex), "0x2000BE7C");
        assert_eq!(int_text(493, Radix::Octal), "0o755");
        assert_eq!(int_text(-16, Radix::Hex), "-0x10");
        assert_eq!(int_text(-2147483648, Radix::Decimal), "-2147483648");
    }
}
