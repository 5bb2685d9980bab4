//! The opt-in `serde` derive ([`super::EmitOptions::serde`]): structs,
//! enums and unions derive `::serde::Serialize`/`Deserialize` (the using
//! crate depends on `serde` with `derive`, and on `xdr-codec` with its
//! `serde` feature, which serializes strings, opaque data and arrays).
//! Fixed arrays longer than 32 elements, which serde's own impls do not
//! cover, go through `::xdr_codec::serde_array`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Model, Type, TypeKind};

/// The derive attribute, or nothing when serde is off.
pub(super) fn derive(on: bool) -> TokenStream {
    if on {
        quote!(#[derive(::serde::Serialize, ::serde::Deserialize)])
    } else {
        TokenStream::new()
    }
}

/// `#[serde(with = "::xdr_codec::serde_array")]` for a field whose type
/// is (through typedefs) a fixed array of more than 32 elements.
pub(super) fn field_attr(on: bool, ty: &Type, model: &Model) -> TokenStream {
    if on && is_big_array(ty, model) {
        quote!(#[serde(with = "::xdr_codec::serde_array")])
    } else {
        TokenStream::new()
    }
}

fn is_big_array(ty: &Type, model: &Model) -> bool {
    let mut ty = ty;
    // Typedef chains are short; the bound only guards against a cycle.
    for _ in 0..64 {
        match ty {
            Type::FixedOpaque(n) | Type::Array(_, n) => return n.value > 32,
            Type::Named(name) => match model.type_item(name).map(|t| &t.kind) {
                Some(TypeKind::Alias(a)) => ty = &a.ty,
                _ => return false,
            },
            _ => return false,
        }
    }
    false
}
