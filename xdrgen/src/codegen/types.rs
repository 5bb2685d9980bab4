//! Model types to Rust types (the mapping table of `xdr_codec`), and
//! typedefs.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs;
use super::idents::ident;
use crate::model::{Alias, Model, Size, Type, TypeItem};

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
            quote!(::core::option::Option<::std::boxed::Box<#e>>)
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

/// `<T as XdrDecode>::MIN_ENCODED_LEN` for `t`.
///
/// A boxed recursive member counts 0 (a safe lower bound): its own minimum
/// refers back to the type being defined, which Rust would reject as a
/// cycle in constant evaluation.
pub(super) fn min_len(t: &Type, model: &Model) -> TokenStream {
    if let Type::Boxed(_) = t {
        return quote!(0);
    }
    let t = rust_type(t, model);
    quote!(<#t as ::xdr_codec::XdrDecode>::MIN_ENCODED_LEN)
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
    let doc = docs::doc(
        &format!(
            "`typedef {};`{}",
            a.decl_text,
            super::structs::renamed_note(t)
        ),
        &t.doc,
    );
    let name = ident(&t.rust_name);
    let ty = rust_type(&a.ty, model);
    quote! {
        #doc
        pub type #name = #ty;
    }
}
