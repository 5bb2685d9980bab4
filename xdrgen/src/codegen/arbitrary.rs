//! The opt-in `arbitrary::Arbitrary` impls ([`super::EmitOptions::arbitrary`]),
//! within every bound of the spec (the using crate depends on `arbitrary`
//! with `derive`, and on `xdr-codec` with its `arbitrary` feature):
//!
//! * Structs and enums derive it. Strings, opaque data and arrays carry
//!   their maxima and fixed sizes in their Rust types, whose impls in
//!   `xdr_codec` respect them; a derived enum takes only declared members.
//! * A member through which a type refers to itself (a `Box`) is made by
//!   `::xdr_codec::arbitrary_nested`, which bounds the depth of recursion
//!   (as `xdr_codec`'s arrays and lists do), so generation ends.
//! * Unions get a written impl: one arm of those declared, and the
//!   `default` arm only with a discriminant no case names.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::idents::ident;
use super::unions::{exhaustive, label_tokens};
use crate::model::{CaseLabel, DiscKind, Model, Type, TypeKind, Union};

/// The derive attribute, or nothing when the option is off.
pub(super) fn derive(on: bool) -> TokenStream {
    if on {
        quote!(#[derive(::arbitrary::Arbitrary)])
    } else {
        TokenStream::new()
    }
}

/// `#[arbitrary(with = ::xdr_codec::arbitrary_nested)]` for a struct
/// field whose type holds a box.
pub(super) fn field_attr(on: bool, ty: &Type, model: &Model) -> TokenStream {
    if on && holds_box(ty, model, 0) {
        quote!(#[arbitrary(with = ::xdr_codec::arbitrary_nested)])
    } else {
        TokenStream::new()
    }
}

/// How deep [`holds_box`] follows typedefs (a cycle of typedefs is an
/// error the checker reports; this only bounds the work).
const MAX_ALIAS_DEPTH: u32 = 64;

/// True when `ty` is or contains (through arrays, optional-data and
/// typedefs) a [`Type::Boxed`]: the members on a cycle of types.
fn holds_box(ty: &Type, model: &Model, depth: u32) -> bool {
    if depth > MAX_ALIAS_DEPTH {
        return false;
    }
    match ty {
        Type::Boxed(_) => true,
        Type::Optional(e) | Type::Array(e, _) | Type::VarArray(e, _) => {
            holds_box(e, model, depth + 1)
        }
        Type::Named(name) => match model.type_item(name).map(|t| &t.kind) {
            Some(TypeKind::Alias(a)) => holds_box(&a.ty, model, depth + 1),
            _ => false,
        },
        _ => false,
    }
}

/// A value for a union arm of type `ty`.
fn arm_value(ty: &Type, model: &Model) -> TokenStream {
    if holds_box(ty, model, 0) {
        quote!(::xdr_codec::arbitrary_nested(u)?)
    } else {
        quote!(u.arbitrary()?)
    }
}

/// `impl Arbitrary` for the union `name` (nothing when the option is
/// off): an index picks a `case` arm, or the `default` arm when some
/// discriminant is left for it.
pub(super) fn union_impl(on: bool, name: &Ident, u: &Union, model: &Model) -> TokenStream {
    if !on {
        return TokenStream::new();
    }
    let mut arms: Vec<TokenStream> = u
        .cases
        .iter()
        .map(|c| {
            let vname = ident(&c.rust_name);
            match &c.field {
                Some(f) => {
                    let value = arm_value(&f.ty, model);
                    quote!(Self::#vname(#value))
                }
                None => quote!(Self::#vname),
            }
        })
        .collect();
    if let Some(d) = u.default.as_ref().filter(|_| !exhaustive(u, model)) {
        let vname = ident(&d.rust_name);
        let discriminant = default_discriminant(u, model);
        arms.push(match &d.field {
            Some(f) => {
                let value = arm_value(&f.ty, model);
                quote!({
                    #discriminant
                    Self::#vname { discriminant, value: #value }
                })
            }
            None => quote!({
                #discriminant
                Self::#vname(discriminant)
            }),
        });
    }
    // A union whose one arm is a `void` case takes nothing from the input.
    let input = match (arms.len(), u.cases.as_slice()) {
        (1, [c]) if c.field.is_none() => quote!(_u),
        _ => quote!(u),
    };
    let count = Literal::usize_unsuffixed(arms.len());
    let last = arms.pop();
    let value = if arms.is_empty() {
        quote!(#last)
    } else {
        let indices = (0..arms.len()).map(Literal::usize_unsuffixed);
        quote! {
            match u.choose_index(#count)? {
                #(#indices => #arms,)*
                _ => #last,
            }
        }
    };
    quote! {
        impl<'a> ::arbitrary::Arbitrary<'a> for #name {
            /// One of the declared arms; the `default` arm (if any) with a
            /// discriminant no case names.
            fn arbitrary(#input: &mut ::arbitrary::Unstructured<'a>) -> ::arbitrary::Result<Self> {
                let value = #value;
                ::core::result::Result::Ok(value)
            }
        }
    }
}

/// `let discriminant = ...;`: a value of the discriminant that no case
/// names (the caller has checked that one exists).
fn default_discriminant(u: &Union, model: &Model) -> TokenStream {
    if u.cases.is_empty() {
        let disc_ty = super::types::rust_type(&u.discriminant.ty, model);
        return quote!(let discriminant: #disc_ty = u.arbitrary()?;);
    }
    let labels: Vec<TokenStream> = u
        .cases
        .iter()
        .map(|c| label_tokens(&c.label, &u.disc_kind))
        .collect();
    match &u.disc_kind {
        // Not exhaustive, so one bool case: the other value.
        DiscKind::Bool => {
            let named = u.cases.iter().any(|c| c.label == CaseLabel::Bool(true));
            let other = !named;
            quote!(let discriminant = #other;)
        }
        DiscKind::Enum(e) => {
            let members = enum_members(e, model);
            let free: Vec<TokenStream> = members
                .iter()
                .filter(|m| {
                    !u.cases
                        .iter()
                        .any(|c| c.label == CaseLabel::Enum((*m).clone()))
                })
                .map(|m| {
                    let (e, m) = (ident(e), ident(m));
                    quote!(#e::#m)
                })
                .collect();
            if members.is_empty() {
                // An enum defined outside the file: draw one, and give up
                // on a named one.
                let e = ident(e);
                quote! {
                    let discriminant: #e = u.arbitrary()?;
                    if ::core::matches!(discriminant, #(#labels)|*) {
                        return ::core::result::Result::Err(::arbitrary::Error::IncorrectFormat);
                    }
                }
            } else if let [only] = free.as_slice() {
                quote!(let discriminant = #only;)
            } else {
                quote!(let discriminant = *u.choose(&[#(#free),*])?;)
            }
        }
        _ => {
            let disc_ty = super::types::rust_type(&u.discriminant.ty, model);
            quote! {
                let mut discriminant: #disc_ty = u.arbitrary()?;
                while ::core::matches!(discriminant, #(#labels)|*) {
                    discriminant = discriminant.wrapping_add(1);
                }
            }
        }
    }
}

/// The Rust names of the members of the enum `name` defined in the file
/// (empty for one defined elsewhere).
fn enum_members(name: &str, model: &Model) -> Vec<String> {
    match model.type_item(name).map(|t| &t.kind) {
        Some(TypeKind::Enum(e)) => e.variants.iter().map(|v| v.rust_name.clone()).collect(),
        _ => Vec::new(),
    }
}
