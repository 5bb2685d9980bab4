//! Recognising the linked-list idiom in the resolved model.
//!
//! # Linked lists
//!
//! ```text
//! typedef struct exportnode *exports;
//! struct exportnode { dirpath ex_dir; groups ex_groups; exports ex_next; };
//! ```
//!
//! A struct `S` whose last field is optional-data of `S` itself (`S *next`,
//! or a typedef of `S *` used as `L next`) becomes a list node: `S` loses
//! its last field, every `S *` becomes `xdr_codec::List<S>` and every use
//! of `S` by value (`S first`: the node, then its `next` chain) becomes
//! `xdr_codec::NonEmptyList<S>`. On the wire both are exactly the chain
//! of optional-data rpcgen produces, and they are encoded, decoded,
//! cloned, compared and dropped without recursion, so a chain is as long
//! as the input allows (rpcgen's C decodes it recursively, on the stack).

use std::collections::{HashMap, HashSet};

use super::{Item, Type, TypeItem, TypeKind};

/// Recognises linked lists and rewrites the model (see the module docs).
pub(super) fn rewrite_lists(items: &mut [Item]) {
    let aliases: HashMap<String, Type> = type_items(items)
        .filter_map(|t| match &t.kind {
            TypeKind::Alias(a) => Some((t.rust_name.clone(), a.ty.clone())),
            _ => None,
        })
        .collect();
    // Structs whose last field points to themselves.
    let nodes: HashSet<String> = type_items(items)
        .filter(|t| match &t.kind {
            TypeKind::Struct(s) => s
                .fields
                .last()
                .and_then(|f| pointee(&f.ty, &aliases))
                .is_some_and(|p| p == t.rust_name),
            _ => false,
        })
        .map(|t| t.rust_name.clone())
        .collect();
    if nodes.is_empty() {
        return;
    }
    for item in items.iter_mut() {
        if let Item::Type(TypeItem {
            rust_name,
            kind: TypeKind::Struct(s),
            ..
        }) = item
        {
            if nodes.contains(rust_name.as_str()) {
                s.fields.pop();
                s.list_node = true;
            }
        }
        for ty in item_types_mut(item) {
            to_list(ty, &nodes);
        }
    }
}

/// The struct `t` points to: `S *` or a typedef chain ending in `S *`.
fn pointee<'a>(t: &'a Type, aliases: &'a HashMap<String, Type>) -> Option<&'a str> {
    let mut t = t;
    for _ in 0..=aliases.len() {
        match t {
            Type::Optional(inner) => {
                return match inner.as_ref() {
                    Type::Named(n) => Some(n),
                    _ => None,
                }
            }
            Type::Named(n) => t = aliases.get(n)?,
            _ => return None,
        }
    }
    None
}

/// Rewrites `S *` to `List<S>` and `S` to `NonEmptyList<S>` for every
/// list node `S`.
fn to_list(t: &mut Type, nodes: &HashSet<String>) {
    match t {
        Type::Optional(inner) => {
            if let Type::Named(n) = inner.as_ref() {
                if nodes.contains(n) {
                    *t = Type::List(n.clone());
                    return;
                }
            }
            to_list(inner, nodes);
        }
        Type::Named(n) if nodes.contains(n.as_str()) => *t = Type::NonEmptyList(n.clone()),
        Type::Array(e, _) | Type::VarArray(e, _) | Type::Boxed(e) => to_list(e, nodes),
        _ => {}
    }
}

pub(super) fn type_items(items: &[Item]) -> impl Iterator<Item = &TypeItem> {
    items.iter().filter_map(|i| match i {
        Item::Type(t) => Some(t),
        _ => None,
    })
}

/// Every type a type definition holds.
pub(super) fn member_types(t: &TypeItem) -> Vec<&Type> {
    match &t.kind {
        TypeKind::Alias(a) => vec![&a.ty],
        TypeKind::Enum(_) => Vec::new(),
        TypeKind::Struct(s) => s.fields.iter().map(|f| &f.ty).collect(),
        TypeKind::Union(u) => std::iter::once(&u.discriminant.ty)
            .chain(
                u.cases
                    .iter()
                    .filter_map(|c| c.field.as_ref().map(|f| &f.ty)),
            )
            .chain(
                u.default
                    .iter()
                    .filter_map(|d| d.field.as_ref().map(|f| &f.ty)),
            )
            .collect(),
    }
}

pub(super) fn item_types_mut(item: &mut Item) -> Vec<&mut Type> {
    match item {
        Item::Const(_) => Vec::new(),
        Item::Type(t) => match &mut t.kind {
            TypeKind::Alias(a) => vec![&mut a.ty],
            TypeKind::Enum(_) => Vec::new(),
            TypeKind::Struct(s) => s.fields.iter_mut().map(|f| &mut f.ty).collect(),
            TypeKind::Union(u) => std::iter::once(&mut u.discriminant.ty)
                .chain(
                    u.cases
                        .iter_mut()
                        .filter_map(|c| c.field.as_mut().map(|f| &mut f.ty)),
                )
                .chain(
                    u.default
                        .iter_mut()
                        .filter_map(|d| d.field.as_mut().map(|f| &mut f.ty)),
                )
                .collect(),
        },
        Item::Program(p) => p
            .versions
            .iter_mut()
            .flat_map(|v| &mut v.procedures)
            .flat_map(|p| p.args.iter_mut().chain(std::iter::once(&mut p.result)))
            .collect(),
    }
}
