//! Discriminated unions (RFC 4506 section 4.15) as Rust enums: one variant
//! per case label, `void` arms as unit variants, `default:` as
//! `Default { discriminant, value }` (or `Default(discriminant)` for
//! `void`). Decoding a discriminant no arm matches, when there is no
//! default, fails with `ErrorKind::InvalidDiscriminant`.

use std::collections::HashSet;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::derives::{zero_arm, zero_member, Derives, ZeroArm};
use super::docs;
use super::idents::{ident, int_literal, str_lit};
use super::structs::path;
use super::types::{min_len, rust_type};
use super::EmitOptions;
use crate::model::{CaseLabel, DiscKind, Field, Model, Type, TypeItem, TypeKind, Union, UnionCase};

/// The summary line of a union's doc comment.
pub(super) fn summary(t: &TypeItem, u: &Union) -> String {
    format!(
        "`union {} switch ({})`.{}",
        t.xdr_name,
        u.discriminant.decl_text,
        super::structs::renamed_note(t)
    )
}

/// The summary line of a case arm's doc comment.
pub(super) fn case_summary(c: &UnionCase) -> String {
    match &c.field {
        Some(f) => format!("`case {}: {};`", c.label_text, f.decl_text),
        None => format!("`case {}: void;`", c.label_text),
    }
}

/// The summary line of the doc comment of a `default:` arm with a value.
pub(super) fn default_summary(f: &Field) -> String {
    format!(
        "`default: {};` (any discriminant no case names)",
        f.decl_text
    )
}

/// The doc comment of a `default: void;` arm.
pub(super) const DEFAULT_VOID_DOC: &str = "`default: void;` (carries the discriminant as sent)";

/// The union enum and its XDR impls.
pub(super) fn union(
    t: &TypeItem,
    u: &Union,
    model: &Model,
    derives: &Derives,
    opts: &EmitOptions,
) -> TokenStream {
    let serde = opts.serde;
    let doc = docs::doc(&summary(t, u), &t.doc);
    let name = ident(&t.rust_name);
    let type_name = str_lit(&t.xdr_name);
    let disc_ty = rust_type(&u.discriminant.ty, model);
    let disc_path = path(&t.rust_name, &u.discriminant);

    let mut variants = Vec::new();
    let mut encodes = Vec::new();
    let mut decodes = Vec::new();
    // Arms of `encoded_len_hint`: the discriminant's 4 or 8 bytes plus the
    // arm's value.
    let mut hints = Vec::new();
    let disc_len = match u.disc_kind {
        DiscKind::Hyper | DiscKind::UnsignedHyper => quote!(8),
        _ => quote!(4),
    };
    let (zero, zero_unit) = default_arm(t, u, model, derives);
    for c in &u.cases {
        let vname = ident(&c.rust_name);
        let label = label_tokens(&c.label, &u.disc_kind);
        match &c.field {
            Some(f) => {
                let doc = docs::doc(&case_summary(c), &f.doc);
                let ty = rust_type(&f.ty, model);
                let fpath = path(&t.rust_name, f);
                let attr = super::serde::field_attr(serde, &f.ty, model);
                variants.push(quote!(#doc #vname(#attr #ty),));
                let put = put_label(&label, &u.disc_kind, &disc_path);
                encodes.push(quote! {
                    Self::#vname(value) => {
                        #put
                        enc.field(#fpath, value)
                    }
                });
                decodes.push(quote! {
                    #label => ::core::result::Result::Ok(Self::#vname(dec.field(#fpath)?)),
                });
                hints.push(quote! {
                    Self::#vname(value) => #disc_len + ::xdr_codec::XdrEncode::encoded_len_hint(value),
                });
            }
            None => {
                let doc = docs::doc(&case_summary(c), &[]);
                let default = if zero_unit == Some(c.rust_name.as_str()) {
                    quote!(#[default])
                } else {
                    TokenStream::new()
                };
                variants.push(quote!(#doc #default #vname,));
                encodes.push(match u.disc_kind {
                    DiscKind::Enum(_) => quote!(Self::#vname => enc.field(#disc_path, &#label),),
                    _ => {
                        let put = put_label(&label, &u.disc_kind, &disc_path);
                        quote! {
                            Self::#vname => {
                                #put
                                ::core::result::Result::Ok(())
                            }
                        }
                    }
                });
                decodes.push(quote!(#label => ::core::result::Result::Ok(Self::#vname),));
                hints.push(quote!(Self::#vname => #disc_len,));
            }
        }
    }
    let exhaustive = exhaustive(u, model);
    let taken = default_guard(u, exhaustive, &type_name, &disc_path);
    match &u.default {
        Some(d) => {
            let vname = ident(&d.rust_name);
            match &d.field {
                Some(f) => {
                    let ddoc = docs::doc(&default_summary(f), &f.doc);
                    let ty = rust_type(&f.ty, model);
                    let fpath = path(&t.rust_name, f);
                    let attr = super::serde::field_attr(serde, &f.ty, model);
                    variants.push(quote! {
                        #ddoc
                        #vname {
                            /// The discriminant as sent.
                            discriminant: #disc_ty,
                            /// The arm's value.
                            #attr
                            value: #ty,
                        },
                    });
                    hints.push(quote! {
                        Self::#vname { value, .. } => #disc_len + ::xdr_codec::XdrEncode::encoded_len_hint(value),
                    });
                    encodes.push(if exhaustive {
                        quote!(Self::#vname { discriminant, .. } => #taken,)
                    } else {
                        quote! {
                            Self::#vname { discriminant, value } => {
                                #taken
                                enc.field(#disc_path, discriminant)?;
                                enc.field(#fpath, value)
                            }
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
                    let ddoc = docs::doc(DEFAULT_VOID_DOC, &[]);
                    variants.push(quote!(#ddoc #vname(#disc_ty),));
                    hints.push(quote!(Self::#vname(_) => #disc_len,));
                    encodes.push(if exhaustive {
                        quote!(Self::#vname(discriminant) => #taken,)
                    } else {
                        quote! {
                            Self::#vname(discriminant) => {
                                #taken
                                enc.field(#disc_path, discriminant)
                            }
                        }
                    });
                    if !exhaustive {
                        decodes.push(quote!(discriminant => ::core::result::Result::Ok(Self::#vname(discriminant)),));
                    }
                }
            }
        }
        None if !exhaustive => {
            let value = disc_as_i64(&u.disc_kind, &quote!(discriminant));
            decodes.push(quote! {
                discriminant => ::core::result::Result::Err(::xdr_codec::Error::new(
                    ::xdr_codec::ErrorKind::InvalidDiscriminant { type_name: #type_name, value: #value },
                )),
            });
        }
        None => {}
    }
    let disc_min = min_len([&u.discriminant.ty], model);
    let derive_serde = super::serde::derive(serde);
    let (size_allow, names_allow) = lint_allows(t, u, model);
    let mut extra = derives.extra(&t.rust_name, false);
    if zero_unit.is_some() {
        extra.extend(quote!(, Default));
    }
    let arbitrary_impl = super::arbitrary::union_impl(opts.arbitrary, &name, u, model);
    let default_impl = match zero {
        Some(arm) if zero_unit.is_none() => default_impl(&name, u, &arm, model),
        _ => TokenStream::new(),
    };
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq #extra)]
        #derive_serde
        #size_allow
        #names_allow
        pub enum #name {
            #(#variants)*
        }

        #default_impl

        #arbitrary_impl

        impl ::xdr_codec::XdrEncode for #name {
            fn encode(&self, enc: &mut ::xdr_codec::Encoder<'_>) -> ::xdr_codec::Result<()> {
                match self {
                    #(#encodes)*
                }
            }

            fn encoded_len_hint(&self) -> usize {
                match self {
                    #(#hints)*
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

/// The union's `#[allow]`s of `clippy::large_enum_variant` and
/// `clippy::enum_variant_names` (each empty when not needed).
pub(super) fn lint_allows(t: &TypeItem, u: &Union, model: &Model) -> (TokenStream, TokenStream) {
    let mut names: Vec<&str> = u.cases.iter().map(|c| c.rust_name.as_str()).collect();
    let mut payloads: Vec<Vec<&Type>> = u
        .cases
        .iter()
        .map(|c| c.field.iter().map(|f| &f.ty).collect())
        .collect();
    if let Some(d) = &u.default {
        names.push(&d.rust_name);
        payloads.push(
            std::iter::once(&u.discriminant.ty)
                .chain(d.field.iter().map(|f| &f.ty))
                .collect(),
        );
    }
    let names_allow = super::lints::variant_names(&t.rust_name, &names);
    let size_allow = super::lints::large_variant(&payloads, model);
    (size_allow, names_allow)
}

/// The arm of `Default`, if the union has one, and its variant name when
/// it is a void case: `Default` is then derived (the variant marked
/// `#[default]`), else implemented ([`default_impl`]).
pub(super) fn default_arm<'a>(
    t: &TypeItem,
    u: &'a Union,
    model: &Model,
    derives: &Derives,
) -> (Option<ZeroArm<'a>>, Option<&'a str>) {
    let zero = if derives.default(&t.rust_name) {
        zero_arm(u, model)
    } else {
        None
    };
    let zero_unit = match &zero {
        Some(ZeroArm::Case(c)) if c.field.is_none() => Some(c.rust_name.as_str()),
        _ => None,
    };
    (zero, zero_unit)
}

/// `impl Default`: the arm `arm` that discriminant 0 selects, holding
/// its default value.
fn default_impl(name: &Ident, u: &Union, arm: &ZeroArm<'_>, model: &Model) -> TokenStream {
    let value = default_value(u, arm, model);
    quote! {
        impl ::core::default::Default for #name {
            /// The arm of discriminant 0, holding its default: the value
            /// all-zero bytes decode to.
            fn default() -> Self {
                #value
            }
        }
    }
}

/// The value of [`default_impl`]: the arm `arm` holding its default.
pub(super) fn default_value(u: &Union, arm: &ZeroArm<'_>, model: &Model) -> TokenStream {
    let default = quote!(::core::default::Default::default());
    match arm {
        ZeroArm::Case(c) => {
            let vname = ident(&c.rust_name);
            quote!(Self::#vname(#default))
        }
        ZeroArm::Default => {
            let zero = match (&u.disc_kind, zero_member(&u.disc_kind, model)) {
                (DiscKind::Bool, _) => quote!(false),
                (DiscKind::Enum(e), Some(member)) => {
                    let (e, member) = (ident(e), ident(member));
                    quote!(#e::#member)
                }
                _ => quote!(0),
            };
            let vname = u.default.as_ref().map(|d| ident(&d.rust_name));
            match u.default.as_ref().and_then(|d| d.field.as_ref()) {
                Some(_) => quote!(Self::#vname { discriminant: #zero, value: #default }),
                None => quote!(Self::#vname(#zero)),
            }
        }
    }
}

/// The discriminant `d` (a value of the discriminant's Rust type) as the
/// `i64` errors report.
pub(super) fn disc_as_i64(kind: &DiscKind, d: &TokenStream) -> TokenStream {
    match kind {
        DiscKind::Int | DiscKind::UnsignedInt | DiscKind::Bool => {
            quote!(::core::convert::From::from(#d))
        }
        DiscKind::Hyper => quote!(#d),
        // Reported as the same 64 bits, reinterpreted.
        DiscKind::UnsignedHyper => quote!(#d as i64),
        DiscKind::Enum(_) => quote!(i64::from(i32::from(#d))),
    }
}

/// In the encoding of the `default` variant: refuses a discriminant that a
/// `case` names (its bytes would decode as that case) with
/// `ErrorKind::DefaultArmDiscriminant`. An `if` returning the error; empty
/// when there are no cases; when the cases cover every value (`exhaustive`)
/// the error expression alone, since no discriminant is left for the
/// default.
fn default_guard(
    u: &Union,
    exhaustive: bool,
    type_name: &Literal,
    disc_path: &Literal,
) -> TokenStream {
    if u.cases.is_empty() {
        return TokenStream::new();
    }
    let value = disc_as_i64(&u.disc_kind, &quote!(*discriminant));
    let err = quote! {
        ::core::result::Result::Err(
            ::xdr_codec::Error::new(::xdr_codec::ErrorKind::DefaultArmDiscriminant {
                type_name: #type_name,
                value: #value,
            })
            .in_field(#disc_path),
        )
    };
    if exhaustive {
        return err;
    }
    // Not exhaustive, so a bool discriminant has one case here.
    let taken = match u.cases.as_slice() {
        [c] if matches!(c.label, CaseLabel::Bool(true)) => quote!(*discriminant),
        [c] if matches!(c.label, CaseLabel::Bool(false)) => quote!(!*discriminant),
        cases => {
            let labels = cases.iter().map(|c| label_tokens(&c.label, &u.disc_kind));
            quote!(::core::matches!(discriminant, #(#labels)|*))
        }
    };
    quote! {
        if #taken {
            return #err;
        }
    }
}

/// The statement that encodes the case label `label`: `enc.put_u32(0);`
/// for integers and bools (which cannot fail), `enc.field(...)?;` for an
/// enum member.
pub(super) fn put_label(label: &TokenStream, kind: &DiscKind, disc_path: &Literal) -> TokenStream {
    match kind {
        DiscKind::Int => quote!(enc.put_i32(#label);),
        DiscKind::UnsignedInt => quote!(enc.put_u32(#label);),
        DiscKind::Hyper => quote!(enc.put_i64(#label);),
        DiscKind::UnsignedHyper => quote!(enc.put_u64(#label);),
        DiscKind::Bool => quote!(enc.put_bool(#label);),
        DiscKind::Enum(_) => quote!(enc.field(#disc_path, &#label)?;),
    }
}

/// A case label as a pattern or expression.
pub(super) fn label_tokens(l: &CaseLabel, kind: &DiscKind) -> TokenStream {
    match (l, kind) {
        (CaseLabel::Enum(v), DiscKind::Enum(e)) => {
            let (e, v) = (ident(e), ident(v));
            quote!(#e::#v)
        }
        (CaseLabel::Bool(b), _) => quote!(#b),
        (CaseLabel::Int(n), _) => int_literal(*n),
        (CaseLabel::Enum(v), _) => {
            let v = ident(v);
            quote!(#v)
        }
    }
}

/// True when the cases cover every value of the discriminant (every
/// member of an enum, or both bools), so a catch-all arm is unreachable.
pub(super) fn exhaustive(u: &Union, model: &Model) -> bool {
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
