//! Enums (RFC 4506 section 4.3): `#[repr(i32)]` Rust enums with
//! `TryFrom<i32>`, `From<E> for i32` and XDR impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::docs;
use super::idents::{ident, int_literal, str_lit};
use super::text::Lines;
use super::EmitOptions;
use crate::model::{Enum, EnumVariant, TypeItem};

/// The summary line of an enum's doc comment.
fn summary(t: &TypeItem) -> String {
    format!("`enum {}`.{}", t.xdr_name, super::structs::renamed_note(t))
}

/// The summary line of a member's doc comment.
fn variant_summary(v: &EnumVariant) -> String {
    format!("`{} = {}`", v.xdr_name, v.value)
}

/// The enum, its conversions and its XDR impls.
pub(super) fn enumeration(t: &TypeItem, e: &Enum, opts: &EmitOptions) -> TokenStream {
    let derive_serde = super::serde::derive(opts.serde);
    let derive_arbitrary = super::arbitrary::derive(opts.arbitrary);
    let doc = docs::doc(&summary(t), &t.doc);
    let name = ident(&t.rust_name);
    let type_name = str_lit(&t.xdr_name);
    let default = if e.variants.iter().any(|v| v.value == 0) {
        quote!(, Default)
    } else {
        TokenStream::new()
    };
    let variant_names: Vec<&str> = e.variants.iter().map(|v| v.rust_name.as_str()).collect();
    let names_allow = super::lints::variant_names(&t.rust_name, &variant_names);
    let variants = e.variants.iter().map(|v| {
        let doc = docs::doc(&variant_summary(v), &v.doc);
        let vname = ident(&v.rust_name);
        let value = int_literal(i128::from(v.value));
        // `Default` is the member all-zero bytes decode to.
        let default = if v.value == 0 {
            quote!(#[default])
        } else {
            TokenStream::new()
        };
        quote! {
            #doc
            #default
            #vname = #value,
        }
    });
    let arms = e.variants.iter().map(|v| {
        let vname = ident(&v.rust_name);
        let value = int_literal(i128::from(v.value));
        quote!(#value => ::core::result::Result::Ok(Self::#vname),)
    });
    let aliases = if e.aliases.is_empty() {
        TokenStream::new()
    } else {
        let consts = e.aliases.iter().map(|a| {
            let doc = docs::doc(
                &format!(
                    "`{} = {}`, the same value as [`Self::{}`].",
                    a.xdr_name, a.value, a.target
                ),
                &a.doc,
            );
            let cname = ident(&a.rust_name);
            let target = ident(&a.target);
            quote! {
                #doc
                pub const #cname: Self = Self::#target;
            }
        });
        quote! {
            impl #name {
                #(#consts)*
            }
        }
    };
    quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord #default)]
        #derive_serde
        #derive_arbitrary
        #[repr(i32)]
        #names_allow
        pub enum #name {
            #(#variants)*
        }

        #aliases

        impl ::core::convert::TryFrom<i32> for #name {
            type Error = ::xdr_codec::Error;

            fn try_from(value: i32) -> ::core::result::Result<Self, ::xdr_codec::Error> {
                match value {
                    #(#arms)*
                    value => ::core::result::Result::Err(::xdr_codec::Error::new(
                        ::xdr_codec::ErrorKind::InvalidEnum { type_name: #type_name, value },
                    )),
                }
            }
        }

        impl ::core::convert::From<#name> for i32 {
            fn from(value: #name) -> i32 {
                value as i32
            }
        }

        impl ::xdr_codec::XdrEncode for #name {
            fn encode(&self, enc: &mut ::xdr_codec::Encoder<'_>) -> ::xdr_codec::Result<()> {
                enc.put_i32(*self as i32);
                ::core::result::Result::Ok(())
            }

            fn encoded_len_hint(&self) -> usize {
                4
            }
        }

        impl ::xdr_codec::XdrDecode for #name {
            const MIN_ENCODED_LEN: usize = 4;

            fn decode(dec: &mut ::xdr_codec::Decoder) -> ::xdr_codec::Result<Self> {
                <Self as ::core::convert::TryFrom<i32>>::try_from(dec.get_i32()?)
            }
        }
    }
}

/// [`enumeration`] as formatted text, for an enum without aliases, serde
/// or `Arbitrary` whose every line fits in the margin; `None` otherwise.
pub(super) fn enumeration_text(t: &TypeItem, e: &Enum, opts: &EmitOptions) -> Option<String> {
    if opts.serde || opts.arbitrary || !e.aliases.is_empty() || e.variants.is_empty() {
        return None;
    }
    let name = ident(&t.rust_name).to_string();
    let type_name = str_lit(&t.xdr_name).to_string();
    let variant_names: Vec<&str> = e.variants.iter().map(|v| v.rust_name.as_str()).collect();
    let mut out = Lines::new();
    out.docs(0, &docs::doc_lines(&summary(t), &t.doc))?;
    let default = if e.variants.iter().any(|v| v.value == 0) {
        ", Default"
    } else {
        ""
    };
    out.line(
        0,
        &[
            "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord",
            default,
            ")]",
        ],
    )?;
    out.line(0, &["#[repr(i32)]"])?;
    if !super::lints::variant_names(&t.rust_name, &variant_names).is_empty() {
        out.line(0, &["#[allow(clippy::enum_variant_names)]"])?;
    }
    out.line(0, &["pub enum ", &name, " {"])?;
    let variants: Vec<(String, String)> = e
        .variants
        .iter()
        .map(|v| (ident(&v.rust_name).to_string(), v.value.to_string()))
        .collect();
    for (v, (vname, value)) in e.variants.iter().zip(&variants) {
        out.docs(1, &docs::doc_lines(&variant_summary(v), &v.doc))?;
        if v.value == 0 {
            out.line(1, &["#[default]"])?;
        }
        out.line(1, &[vname, " = ", value, ","])?;
    }
    out.line(0, &["}"])?;
    out.line(0, &["impl ::core::convert::TryFrom<i32> for ", &name, " {"])?;
    out.line(1, &["type Error = ::xdr_codec::Error;"])?;
    out.line(
        1,
        &["fn try_from(value: i32) -> ::core::result::Result<Self, ::xdr_codec::Error> {"],
    )?;
    out.line(2, &["match value {"])?;
    for (vname, value) in &variants {
        out.ok_arm(3, value, &format!("Self::{vname}"))?;
    }
    out.line(3, &["value => {"])?;
    out.line(4, &["::core::result::Result::Err("])?;
    out.line(
        5,
        &["::xdr_codec::Error::new(::xdr_codec::ErrorKind::InvalidEnum {"],
    )?;
    out.line(6, &["type_name: ", &type_name, ","])?;
    out.line(6, &["value,"])?;
    out.line(5, &["}),"])?;
    out.line(4, &[")"])?;
    out.line(3, &["}"])?;
    out.line(2, &["}"])?;
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;
    out.line(0, &["impl ::core::convert::From<", &name, "> for i32 {"])?;
    out.line(1, &["fn from(value: ", &name, ") -> i32 {"])?;
    out.line(2, &["value as i32"])?;
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;
    out.encode_impl(&name)?;
    out.line(2, &["enc.put_i32(*self as i32);"])?;
    out.line(2, &["::core::result::Result::Ok(())"])?;
    out.line(1, &["}"])?;
    out.line(1, &["fn encoded_len_hint(&self) -> usize {"])?;
    out.line(2, &["4"])?;
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;
    out.decode_impl(&name, "4")?;
    out.line(
        2,
        &["<Self as ::core::convert::TryFrom<i32>>::try_from(dec.get_i32()?)"],
    )?;
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;
    Some(out.finish())
}
