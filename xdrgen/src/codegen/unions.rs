//! Discriminated unions (RFC 4506 section 4.15) as Rust enums: one variant
//! per case label, `void` arms as unit variants, `default:` as
//! `Default { discriminant, value }` (or `Default(discriminant)` for
//! `void`). Decoding a discriminant no arm matches, when there is no
//! default, fails with `ErrorKind::InvalidDiscriminant`.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::docs;
use super::idents::{ident, int_literal, str_lit, IntTy};
use super::structs::path;
use super::types::{min_len, rust_type};
use crate::model::{CaseLabel, DiscKind, Model, TypeItem, TypeKind, Union};

/// The union enum and its XDR impls.
pub(super) fn union(t: &TypeItem, u: &Union, model: &Model) -> TokenStream {
    let doc = docs::doc(
        &format!(
            "`union {} switch ({})`.{}",
            t.xdr_name,
            u.discriminant.decl_text,
            super::structs::renamed_note(t)
        ),
        &t.doc,
    );
    let name = ident(&t.rust_name);
    let type_name = str_lit(&t.xdr_name);
    let disc_ty = rust_type(&u.discriminant.ty, model);
    let disc_path = path(&t.rust_name, &u.discriminant);

    let mut variants = Vec::new();
    let mut encodes = Vec::new();
    let mut decodes = Vec::new();
    for c in &u.cases {
        let vname = ident(&c.rust_name);
        let label = label_tokens(&c.label, &u.disc_kind);
        match &c.field {
            Some(f) => {
                let doc = docs::doc(
                    &format!("`case {}: {};`", c.label_text, f.decl_text),
                    &f.doc,
                );
                let ty = rust_type(&f.ty, model);
                let fpath = path(&t.rust_name, f);
                variants.push(quote!(#doc #vname(#ty),));
                encodes.push(quote! {
                    Self::#vname(value) => {
                        enc.field(#disc_path, &#label)?;
                        enc.field(#fpath, value)
                    }
                });
                decodes.push(quote! {
                    #label => ::core::result::Result::Ok(Self::#vname(dec.field(#fpath)?)),
                });
            }
            None => {
                let doc = docs::doc(&format!("`case {}: void;`", c.label_text), &[]);
                variants.push(quote!(#doc #vname,));
                encodes.push(quote!(Self::#vname => enc.field(#disc_path, &#label),));
                decodes.push(quote!(#label => ::core::result::Result::Ok(Self::#vname),));
            }
        }
    }
    let exhaustive = exhaustive(u, model);
    match &u.default {
        Some(d) => {
            let vname = ident(&d.rust_name);
            match &d.field {
                Some(f) => {
                    let ddoc = docs::doc(
                        &format!(
                            "`default: {};` (any discriminant no case names)",
                            f.decl_text
                        ),
                        &f.doc,
                    );
                    let ty = rust_type(&f.ty, model);
                    let fpath = path(&t.rust_name, f);
                    variants.push(quote! {
                        #ddoc
                        #vname {
                            /// The discriminant as sent.
                            discriminant: #disc_ty,
                            /// The arm's value.
                            value: #ty,
                        },
                    });
                    encodes.push(quote! {
                        Self::#vname { discriminant, value } => {
                            enc.field(#disc_path, discriminant)?;
                            enc.field(#fpath, value)
                        }
                    });
                    if !exhaustive {
                        decodes.push(quote! {
                            discriminant => ::core::result::Result::Ok(Self::#vname {
                                discriminant,
                                value: dec.field(#fpath)?,
                            }),
                        });
                    }
                }
                None => {
                    let ddoc =
                        docs::doc("`default: void;` (carries the discriminant as sent)", &[]);
                    variants.push(quote!(#ddoc #vname(#disc_ty),));
                    encodes.push(
                        quote!(Self::#vname(discriminant) => enc.field(#disc_path, discriminant),),
                    );
                    if !exhaustive {
                        decodes.push(quote!(discriminant => ::core::result::Result::Ok(Self::#vname(discriminant)),));
                    }
                }
            }
        }
        None if !exhaustive => {
            let value = match &u.disc_kind {
                DiscKind::Int | DiscKind::UnsignedInt | DiscKind::Bool => {
                    quote!(::core::convert::From::from(discriminant))
                }
                DiscKind::Hyper => quote!(discriminant),
                // Reported as the same 64 bits, reinterpreted.
                DiscKind::UnsignedHyper => quote!(discriminant as i64),
                DiscKind::Enum(_) => quote!(i64::from(i32::from(discriminant))),
            };
            decodes.push(quote! {
                discriminant => ::core::result::Result::Err(::xdr_codec::Error::new(
                    ::xdr_codec::ErrorKind::InvalidDiscriminant { type_name: #type_name, value: #value },
                )),
            });
        }
        None => {}
    }
    let disc_min = min_len(&u.discriminant.ty, model);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum #name {
            #(#variants)*
        }

        impl ::xdr_codec::XdrEncode for #name {
            fn encode(&self, enc: &mut ::xdr_codec::Encoder<'_>) -> ::xdr_codec::Result<()> {
                match self {
                    #(#encodes)*
                }
            }
        }

        impl ::xdr_codec::XdrDecode for #name {
            const MIN_ENCODED_LEN: usize = #disc_min;

            fn decode(dec: &mut ::xdr_codec::Decoder) -> ::xdr_codec::Result<Self> {
                let discriminant: #disc_ty = dec.field(#disc_path)?;
                match discriminant {
                    #(#decodes)*
                }
            }
        }
    }
}

/// A case label as a pattern or expression.
fn label_tokens(l: &CaseLabel, kind: &DiscKind) -> TokenStream {
    match (l, kind) {
        (CaseLabel::Enum(v), DiscKind::Enum(e)) => {
            let (e, v) = (ident(e), ident(v));
            quote!(#e::#v)
        }
        (CaseLabel::Bool(b), _) => quote!(#b),
        (CaseLabel::Int(n), DiscKind::UnsignedInt) => int_literal(*n, IntTy::U32),
        (CaseLabel::Int(n), DiscKind::Hyper) => int_literal(*n, IntTy::I64),
        (CaseLabel::Int(n), DiscKind::UnsignedHyper) => int_literal(*n, IntTy::U64),
        (CaseLabel::Int(n), _) => int_literal(*n, IntTy::I32),
        (CaseLabel::Enum(v), _) => {
            let v = ident(v);
            quote!(#v)
        }
    }
}

/// True when the cases cover every value of the discriminant (every
/// member of an enum, or both bools), so a catch-all arm is unreachable.
fn exhaustive(u: &Union, model: &Model) -> bool {
    match &u.disc_kind {
        DiscKind::Bool => {
            let seen: HashSet<bool> = u
                .cases
                .iter()
                .filter_map(|c| match c.label {
                    CaseLabel::Bool(b) => Some(b),
                    _ => None,
                })
                .collect();
            seen.len() == 2
        }
        DiscKind::Enum(e) => {
            let Some(TypeKind::Enum(en)) = model.type_item(e).map(|t| &t.kind) else {
                return false;
            };
            let seen: HashSet<&str> = u
                .cases
                .iter()
                .filter_map(|c| match &c.label {
                    CaseLabel::Enum(v) => Some(v.as_str()),
                    _ => None,
                })
                .collect();
            en.variants
                .iter()
                .all(|v| seen.contains(v.rust_name.as_str()))
        }
        _ => false,
    }
}
