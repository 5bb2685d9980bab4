//! Types that contain themselves by value (`struct a { b x; }` with
//! `union b switch (...) { case 1: a y; }`): legal XDR (a value is finite
//! because some arm or discriminant ends the recursion), but Rust cannot
//! lay such types out inline. Each cycle is broken by boxing one struct
//! field or union arm in it (`Box<T>`, which encodes exactly as `T`, and
//! whose decoding counts against the decoder's depth limit). A cycle made
//! only of typedefs (`typedef a b; typedef b a;`) has no finite value and is
//! an error.

use std::collections::{BTreeMap, HashSet};

use crate::ast::{Definition, Specification};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

use super::lists::{member_types, type_items};
use super::{Item, Type, TypeItem, TypeKind};

/// One node of the by-value containment graph.
struct Node {
    is_alias: bool,
    succ: Vec<String>,
}

/// Boxes one edge of every cycle of by-value containment; reports cycles
/// made only of typedefs.
pub(super) fn break_cycles(items: &mut [Item], spec: &Specification, diags: &mut Vec<Diagnostic>) {
    // Each round removes one edge; there are at most this many.
    let max_rounds = items.len() * 8 + 16;
    for _ in 0..max_rounds {
        let graph = graph(items);
        let Some(cycle) = find_cycle(&graph) else {
            return;
        };
        let pick = (0..cycle.len())
            .rev()
            .find(|&i| graph.get(&cycle[i]).is_some_and(|n| !n.is_alias));
        match pick {
            Some(i) => {
                let to = cycle[(i + 1) % cycle.len()].clone();
                box_edge(items, &cycle[i], &to);
            }
            None => {
                if let Some(t) = type_items(items).find(|t| t.rust_name == cycle[0]) {
                    diags.push(infinite(t, spec));
                }
                return;
            }
        }
    }
}

fn graph(items: &[Item]) -> BTreeMap<String, Node> {
    type_items(items)
        .map(|t| {
            let mut succ = Vec::new();
            for ty in member_types(t) {
                by_value_names(ty, &mut succ);
            }
            let node = Node {
                is_alias: matches!(t.kind, TypeKind::Alias(_)),
                succ,
            };
            (t.rust_name.clone(), node)
        })
        .collect()
}

/// Names a value of `t` contains inline (no indirection in between).
fn by_value_names(t: &Type, out: &mut Vec<String>) {
    match t {
        Type::Named(n) => out.push(n.clone()),
        Type::Array(e, _) => by_value_names(e, out),
        _ => {}
    }
}

/// Some cycle, as its nodes in order (each contains the next; the last
/// contains the first). Iterative depth-first search, deterministic.
fn find_cycle(graph: &BTreeMap<String, Node>) -> Option<Vec<String>> {
    let mut done: HashSet<&str> = HashSet::new();
    for root in graph.keys() {
        if done.contains(root.as_str()) {
            continue;
        }
        let mut on_path: HashSet<&str> = HashSet::from([root.as_str()]);
        let mut stack: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        while let Some((node, next)) = stack.pop() {
            let succ = graph.get(node).map_or(&[][..], |n| n.succ.as_slice());
            let Some(s) = succ.get(next) else {
                on_path.remove(node);
                done.insert(node);
                continue;
            };
            stack.push((node, next + 1));
            if on_path.contains(s.as_str()) {
                let start = stack.iter().position(|(n, _)| *n == s.as_str())?;
                return Some(
                    stack[start..]
                        .iter()
                        .map(|(n, _)| (*n).to_owned())
                        .collect(),
                );
            }
            if !done.contains(s.as_str()) && graph.contains_key(s) {
                on_path.insert(s);
                stack.push((s, 0));
            }
        }
    }
    None
}

/// Boxes every field or arm of `from` that contains `to` by value.
fn box_edge(items: &mut [Item], from: &str, to: &str) {
    for item in items.iter_mut() {
        let Item::Type(t) = item else { continue };
        if t.rust_name != from {
            continue;
        }
        let fields: Vec<&mut Type> = match &mut t.kind {
            TypeKind::Struct(s) => s.fields.iter_mut().map(|f| &mut f.ty).collect(),
            TypeKind::Union(u) => u
                .cases
                .iter_mut()
                .filter_map(|c| c.field.as_mut().map(|f| &mut f.ty))
                .chain(
                    u.default
                        .iter_mut()
                        .filter_map(|d| d.field.as_mut().map(|f| &mut f.ty)),
                )
                .collect(),
            TypeKind::Alias(_) | TypeKind::Enum(_) => Vec::new(),
        };
        for ty in fields {
            let mut names = Vec::new();
            by_value_names(ty, &mut names);
            if names.iter().any(|n| n == to) {
                let inner = std::mem::replace(ty, Type::Void);
                *ty = Type::Boxed(Box::new(inner));
            }
        }
    }
}

fn infinite(t: &TypeItem, spec: &Specification) -> Diagnostic {
    let span = spec
        .definitions
        .iter()
        .find_map(|d| match d {
            Definition::Type(d) if d.name.name == t.xdr_name => Some(d.name.span),
            _ => None,
        })
        .unwrap_or(Span::new(FileId(0), 0, 0));
    Diagnostic::error(span, format!("type `{}` contains itself", t.xdr_name))
        .with_label("these typedefs refer to each other in a circle")
        .with_hint(
            "a typedef cycle has no finite value; one of the definitions must be a struct or union",
        )
}
