//! The traits a generated struct, enum or union derives beyond `Debug`,
//! `Clone` and `PartialEq`, as wide as its members allow (as prost-build
//! does): `Eq` and `Hash` unless a member is a `float`, a `double` or a
//! type defined outside the file; `Default` when the value that all-zero
//! bytes decode to exists: zero numbers, empty strings, opaque data and
//! arrays, absent optional-data, an enum's member of value 0, a union's
//! arm of discriminant 0 (or its `default:` arm), and fixed arrays no
//! longer than 32 elements (the longest Rust gives `Default`).

use std::collections::HashSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::layout::{member_types, type_items};
use crate::model::{CaseLabel, DiscKind, Model, Type, TypeItem, TypeKind, Union, UnionCase};

/// Which type items (by Rust name) get `Eq` + `Hash`, and which `Default`.
#[derive(Debug, Default)]
pub(super) struct Derives {
    eq_hash: HashSet<String>,
    default: HashSet<String>,
}

/// The arm of a union that discriminant 0 selects.
pub(super) enum ZeroArm<'a> {
    /// A `case` (its variant).
    Case(&'a UnionCase),
    /// The `default:` arm.
    Default,
}

impl Derives {
    /// Works out the derives of every type of `model`.
    pub(super) fn new(model: &Model) -> Self {
        let items: Vec<&TypeItem> = type_items(model).collect();
        // Eq and Hash: the greatest set closed under "every member has
        // them" (a recursive type may have them: `derive` is fine with it).
        let mut eq_hash: HashSet<String> = items.iter().map(|t| t.rust_name.clone()).collect();
        loop {
            let before = eq_hash.len();
            let keep: HashSet<String> = items
                .iter()
                .filter(|t| member_types(t).iter().all(|m| eq_hash_type(m, &eq_hash)))
                .map(|t| t.rust_name.clone())
                .collect();
            eq_hash.retain(|n| keep.contains(n));
            if eq_hash.len() == before {
                break;
            }
        }
        // Default: the least set closed the other way, so that a value
        // made of itself is never defaulted (its `default()` would not end).
        let mut default: HashSet<String> = HashSet::new();
        loop {
            let before = default.len();
            for t in &items {
                if !default.contains(&t.rust_name) && item_default(t, model, &default) {
                    default.insert(t.rust_name.clone());
                }
            }
            if default.len() == before {
                break;
            }
        }
        Derives { eq_hash, default }
    }

    /// The derives after `Debug, Clone, PartialEq`: `, Eq, Hash` and,
    /// when `with_default`, `, Default`.
    pub(super) fn extra(&self, name: &str, with_default: bool) -> TokenStream {
        let names = self
            .extra_names(name, with_default)
            .into_iter()
            .map(|n| Ident::new(n, Span::call_site()));
        quote!(#(, #names)*)
    }

    /// The names of [`Derives::extra`]: `Eq`, `Hash`, `Default`.
    pub(super) fn extra_names(&self, name: &str, with_default: bool) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.eq_hash.contains(name) {
            out.extend(["Eq", "Hash"]);
        }
        if with_default && self.default(name) {
            out.push("Default");
        }
        out
    }

    /// True when the type named `name` implements `Default`.
    pub(super) fn default(&self, name: &str) -> bool {
        self.default.contains(name)
    }
}

fn eq_hash_type(t: &Type, named: &HashSet<String>) -> bool {
    match t {
        Type::Float | Type::Double | Type::Extern(_) => false,
        Type::Array(e, _) | Type::VarArray(e, _) | Type::Optional(e) | Type::Boxed(e) => {
            eq_hash_type(e, named)
        }
        Type::Named(n) | Type::List(n) | Type::NonEmptyList(n) => named.contains(n),
        _ => true,
    }
}

fn default_type(t: &Type, named: &HashSet<String>) -> bool {
    match t {
        // A chain holds at least one node: there is no empty value.
        Type::Extern(_) | Type::NonEmptyList(_) => false,
        Type::FixedOpaque(n) => n.value <= 32,
        Type::Array(e, n) => n.value <= 32 && default_type(e, named),
        Type::Boxed(e) => default_type(e, named),
        Type::Named(n) => named.contains(n),
        _ => true,
    }
}

fn item_default(t: &TypeItem, model: &Model, named: &HashSet<String>) -> bool {
    match &t.kind {
        TypeKind::Alias(a) => default_type(&a.ty, named),
        TypeKind::Enum(e) => e.variants.iter().any(|v| v.value == 0),
        TypeKind::Struct(s) => s.fields.iter().all(|f| default_type(&f.ty, named)),
        TypeKind::Union(u) => match zero_arm(u, model) {
            Some(ZeroArm::Case(c)) => !matches!(&c.field, Some(f) if !default_type(&f.ty, named)),
            Some(ZeroArm::Default) => !matches!(
                u.default.as_ref().and_then(|d| d.field.as_ref()),
                Some(f) if !default_type(&f.ty, named)
            ),
            None => false,
        },
    }
}

/// The arm discriminant 0 (`FALSE`, an enum's member of value 0) selects.
pub(super) fn zero_arm<'a>(u: &'a Union, model: &Model) -> Option<ZeroArm<'a>> {
    let zero_member = zero_member(&u.disc_kind, model);
    if matches!(u.disc_kind, DiscKind::Enum(_)) && zero_member.is_none() {
        return None;
    }
    let case = u.cases.iter().find(|c| match (&c.label, &u.disc_kind) {
        (CaseLabel::Int(n), _) => *n == 0,
        (CaseLabel::Bool(b), _) => !*b,
        (CaseLabel::Enum(v), DiscKind::Enum(_)) => zero_member == Some(v.as_str()),
        (CaseLabel::Enum(_), _) => false,
    });
    match case {
        Some(c) => Some(ZeroArm::Case(c)),
        None if u.default.is_some() => Some(ZeroArm::Default),
        None => None,
    }
}

/// The Rust name of the member of value 0 of an enum discriminant.
pub(super) fn zero_member<'a>(kind: &DiscKind, model: &'a Model) -> Option<&'a str> {
    let DiscKind::Enum(e) = kind else { return None };
    let Some(TypeKind::Enum(en)) = model.type_item(e).map(|t| &t.kind) else {
        return None;
    };
    en.variants
        .iter()
        .find(|v| v.value == 0)
        .map(|v| v.rust_name.as_str())
}
