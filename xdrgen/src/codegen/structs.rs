//! Structs (RFC 4506 section 4.14) and their XDR impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::derives::Derives;
use super::docs;
use super::idents::{ident, plain, str_lit};
use super::types::{min_len, rust_type};
use super::EmitOptions;
use crate::model::{Field, Model, Struct, TypeItem};

/// A note for the doc line when the Rust name was changed.
pub(super) fn renamed_note(t: &TypeItem) -> &'static str {
    if t.renamed {
        " Renamed: another definition has the same Rust name."
    } else {
        ""
    }
}

/// The `#[doc]` of a struct field or union arm.
pub(super) fn field_doc(f: &Field) -> TokenStream {
    docs::doc(&format!("`{}`", f.decl_text), &f.doc)
}

/// The error path of a field: `Type.field`.
pub(super) fn path(owner: &str, f: &Field) -> proc_macro2::Literal {
    str_lit(&format!("{}.{}", plain(owner), plain(&f.rust_name)))
}

/// `pub struct` with `XdrEncode`/`XdrDecode` impls.
pub(super) fn structure(
    t: &TypeItem,
    s: &Struct,
    model: &Model,
    derives: &Derives,
    opts: &EmitOptions,
) -> TokenStream {
    let summary = if s.list_node {
        format!(
            "`struct {}`: a linked-list node; its last field (the `next` pointer) is \
             carried by `::xdr_codec::List<{}>`.{}",
            t.xdr_name,
            plain(&t.rust_name),
            renamed_note(t)
        )
    } else {
        format!("`struct {}`.{}", t.xdr_name, renamed_note(t))
    };
    let doc = docs::doc(&summary, &t.doc);
    let name = ident(&t.rust_name);
    let fields = s.fields.iter().map(|f| {
        let doc = field_doc(f);
        let fname = ident(&f.rust_name);
        let ty = rust_type(&f.ty, model);
        let serde_attr = super::serde::field_attr(opts.serde, &f.ty, model);
        let arbitrary_attr = super::arbitrary::field_attr(opts.arbitrary, &f.ty, model);
        quote! {
            #doc
            #serde_attr
            #arbitrary_attr
            pub #fname: #ty,
        }
    });
    let (enc, dec) = if s.fields.is_empty() {
        (quote!(_enc), quote!(_dec))
    } else {
        (quote!(enc), quote!(dec))
    };
    let encodes = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        let path = path(&t.rust_name, f);
        quote!(enc.field(#path, &self.#fname)?;)
    });
    let decodes = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        let path = path(&t.rust_name, f);
        quote!(#fname: dec.field(#path)?,)
    });
    let mut hints = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        quote!(::xdr_codec::XdrEncode::encoded_len_hint(&self.#fname))
    });
    let hint = match hints.next() {
        Some(first) => quote!(#first #(+ #hints)*),
        None => quote!(0),
    };
    let min = min_len(s.fields.iter().map(|f| &f.ty), model);
    let derive_serde = super::serde::derive(opts.serde);
    let derive_arbitrary = super::arbitrary::derive(opts.arbitrary);
    let extra = derives.extra(&t.rust_name, true);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq #extra)]
        #derive_serde
        #derive_arbitrary
        pub struct #name {
            #(#fields)*
        }

        impl ::xdr_codec::XdrEncode for #name {
            fn encode(&self, #enc: &mut ::xdr_codec::Encoder<'_>) -> ::xdr_codec::Result<()> {
                #(#encodes)*
                ::core::result::Result::Ok(())
            }

            fn encoded_len_hint(&self) -> usize {
                #hint
            }
        }

        impl ::xdr_codec::XdrDecode for #name {
            const MIN_ENCODED_LEN: usize = #min;

            fn decode(#dec: &mut ::xdr_codec::Decoder) -> ::xdr_codec::Result<Self> {
                ::core::result::Result::Ok(Self {
                    #(#decodes)*
                })
            }
        }
    }
}
