//! Model types to Rust types (the mapping table of `xdr_codec`), and
//! typedefs.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs;
use super::idents::ident;
use super::text::item_text;
use crate::model::{Alias, Model, Size, Type, TypeItem, TypeKind};

/// The Rust type for `t`.
pub(super) fn rust_type(t: &Type, model: &Model) -> TokenStream {
    match t {
        Type::Void => quote!(()),
        Type::Int => quote!(i32),
        Type::UnsignedInt => quote!(u32),
        Type::Hyper => quote!(i64),
        Type::UnsignedHyper => quote!(u64),
        Type::Float => quote!(f32),
        Type::Double => quote!(f64),
        Type::Bool => quote!(bool),
        Type::Named(n) => {
            let n = ident(n);
            quote!(#n)
        }
        Type::FixedOpaque(n) => {
            let n = array_len(n);
            quote!([u8; #n])
        }
        Type::Opaque(None) => quote!(::xdr_codec::Opaque),
        Type::Opaque(Some(m)) => {
            let m = const_arg(m, model);
            quote!(::xdr_codec::Opaque<#m>)
        }
        Type::String(None) => quote!(::xdr_codec::XdrString),
        Type::String(Some(m)) => {
            let m = const_arg(m, model);
            quote!(::xdr_codec::XdrString<#m>)
        }
        Type::Array(e, n) => {
            let e = rust_type(e, model);
            let n = array_len(n);
            quote!([#e; #n])
        }
        Type::VarArray(e, None) => {
            let e = rust_type(e, model);
            quote!(::xdr_codec::VarArray<#e>)
        }
        Type::VarArray(e, Some(m)) => {
            let e = rust_type(e, model);
            let m = const_arg(m, model);
            quote!(::xdr_codec::VarArray<#e, #m>)
        }
        Type::Optional(e) => {
            let e = rust_type(e, model);
            quote!(::core::option::Option<#e>)
        }
        Type::List(n) => {
            let n = ident(n);
            quote!(::xdr_codec::List<#n>)
        }
        Type::NonEmptyList(n) => {
            let n = ident(n);
            quote!(::xdr_codec::NonEmptyList<#n>)
        }
        Type::Extern(path) => syn::parse_str::<syn::Type>(path)
            .map(|t| quote!(#t))
            .unwrap_or_else(|_| quote!(())),
        Type::Boxed(e) => {
            let e = rust_type(e, model);
            quote!(::std::boxed::Box<#e>)
        }
    }
}

/// `MIN_ENCODED_LEN` of a value made of `parts` in sequence: a literal
/// when every part's minimum is known here, else the sum of
/// `<T as XdrDecode>::MIN_ENCODED_LEN` terms (types defined outside the
/// file).
pub(super) fn min_len<'a>(parts: impl IntoIterator<Item = &'a Type>, model: &Model) -> TokenStream {
    let parts: Vec<&Type> = parts.into_iter().collect();
    if let Some(n) = min_len_known(parts.iter().copied(), model) {
        let n = Literal::usize_unsuffixed(n);
        return quote!(#n);
    }
    let mut terms = parts.iter().map(|t| match t {
        // A boxed recursive member counts 0 (a safe lower bound): its own
        // minimum refers back to the type being defined, which Rust would
        // reject as a cycle in constant evaluation.
        Type::Boxed(_) => quote!(0),
        t => {
            let t = rust_type(t, model);
            quote!(<#t as ::xdr_codec::XdrDecode>::MIN_ENCODED_LEN)
        }
    });
    match terms.next() {
        Some(first) => quote!(#first #(+ #terms)*),
        None => quote!(0),
    }
}

/// The literal [`min_len`] writes, when every part's minimum is known
/// here.
pub(super) fn min_len_known<'a>(
    parts: impl IntoIterator<Item = &'a Type>,
    model: &Model,
) -> Option<usize> {
    let known = parts.into_iter().try_fold(0u64, |sum, t| {
        min_len_value(t, model, 0).and_then(|n| sum.checked_add(n))
    })?;
    usize::try_from(known).ok()
}

/// How deep [`min_len_value`] follows named types before giving up (a
/// typedef cycle is an error the checker reports; this only bounds the
/// work).
const MAX_MIN_LEN_DEPTH: u32 = 256;

/// The `MIN_ENCODED_LEN` `xdr_codec` gives `t` (RFC 4506 section 4: the
/// fixed part of its encoding); `None` for a type defined outside the
/// file. A boxed member counts 0, as in [`min_len`].
fn min_len_value(t: &Type, model: &Model, depth: u32) -> Option<u64> {
    if depth > MAX_MIN_LEN_DEPTH {
        return None;
    }
    let fixed_opaque = |n: u64| n + (4 - n % 4) % 4;
    Some(match t {
        Type::Void | Type::Boxed(_) => 0,
        Type::Int | Type::UnsignedInt | Type::Float | Type::Bool => 4,
        Type::Hyper | Type::UnsignedHyper | Type::Double => 8,
        Type::FixedOpaque(n) => fixed_opaque(u64::from(n.value)),
        Type::Opaque(_)
        | Type::String(_)
        | Type::VarArray(..)
        | Type::Optional(_)
        | Type::List(_) => 4,
        Type::Array(e, n) => min_len_value(e, model, depth + 1)?.checked_mul(u64::from(n.value))?,
        // The node's own fixed part plus the chain's end marker: the
        // node is named by its Rust name, so leave it to the trait.
        Type::Extern(_) | Type::NonEmptyList(_) => return None,
        Type::Named(name) => match &model.type_item(name)?.kind {
            TypeKind::Alias(a) => min_len_value(&a.ty, model, depth + 1)?,
            TypeKind::Enum(_) => 4,
            TypeKind::Union(u) => min_len_value(&u.discriminant.ty, model, depth + 1)?,
            TypeKind::Struct(s) => s.fields.iter().try_fold(0u64, |sum, f| {
                min_len_value(&f.ty, model, depth + 1).and_then(|n| sum.checked_add(n))
            })?,
        },
    })
}

/// An array length (`usize`): `FHSIZE as usize` or `32`.
fn array_len(s: &Size) -> TokenStream {
    match &s.konst {
        Some(k) => {
            let k = ident(k);
            quote!(#k as usize)
        }
        None => {
            let v = Literal::usize_unsuffixed(s.value as usize);
            quote!(#v)
        }
    }
}

/// A `u32` const generic argument: `MNTPATHLEN` or `1024`. A constant whose
/// name is also a type name is braced so it cannot be read as the type.
fn const_arg(s: &Size, model: &Model) -> TokenStream {
    match &s.konst {
        Some(k) if model.type_item(k).is_some() => {
            let k = ident(k);
            quote!({ #k })
        }
        Some(k) => {
            let k = ident(k);
            quote!(#k)
        }
        None => {
            let v = Literal::u32_unsuffixed(s.value);
            quote!(#v)
        }
    }
}

/// `pub type Name = T;` for a typedef.
pub(super) fn alias(t: &TypeItem, a: &Alias, model: &Model) -> TokenStream {
    let (doc, decl) = alias_parts(t, a, model);
    let doc = docs::attrs(&doc);
    quote! {
        #doc
        #decl
    }
}

/// [`alias`] as formatted text, when its line fits.
pub(super) fn alias_text(t: &TypeItem, a: &Alias, model: &Model) -> Option<String> {
    let (doc, decl) = alias_parts(t, a, model);
    item_text(&doc, &decl)
}

/// The doc lines and the declaration of [`alias`].
fn alias_parts(t: &TypeItem, a: &Alias, model: &Model) -> (Vec<String>, TokenStream) {
    let doc = docs::doc_lines(
        &format!(
            "`typedef {};`{}",
            a.decl_text,
            super::structs::renamed_note(t)
        ),
        &t.doc,
    );
    let name = ident(&t.rust_name);
    let ty = rust_type(&a.ty, model);
    (doc, quote!(pub type #name = #ty;))
}
