//! Where optional-data needs a box: `T *x` is `Option<T>` unless `T`
//! contains the type that holds the field (by value, through arrays or
//! through other optional-data), which would make the Rust type infinitely
//! large: then it is `Option<Box<T>>` (the decoder's depth limit counts
//! each box, so a deep chain is refused instead of overflowing the stack).
//!
//! Every cycle of types then has a box in it: a cycle through optional-data
//! boxes the optional-data members on it here, and a cycle made only of
//! members by value has one of them boxed by the checker
//! ([`Type::Boxed`]).

use std::collections::{HashMap, HashSet};

use crate::model::{Item, Model, Type, TypeItem, TypeKind};

/// `model` with every optional-data member that is part of a cycle
/// written `Optional(Boxed(T))`.
pub(super) fn box_recursive_optionals(model: &Model) -> Model {
    let members: HashMap<&str, Vec<&Type>> = type_items(model)
        .map(|t| (t.rust_name.as_str(), member_types(t)))
        .collect();
    let mut boxed: HashSet<(String, usize)> = HashSet::new();
    for t in type_items(model) {
        let mut index = 0;
        for ty in member_types(t) {
            visit_optionals(ty, &mut |inner| {
                if reaches(inner, &t.rust_name, &members) {
                    boxed.insert((t.rust_name.clone(), index));
                }
                index += 1;
            });
        }
    }
    let mut model = model.clone();
    for item in &mut model.items {
        let Item::Type(t) = item else { continue };
        let name = t.rust_name.clone();
        let mut index = 0;
        for ty in member_types_mut(t) {
            box_optionals(ty, &mut |_| {
                let hit = boxed.contains(&(name.clone(), index));
                index += 1;
                hit
            });
        }
    }
    model
}

/// The type definitions of `model`.
pub(super) fn type_items(model: &Model) -> impl Iterator<Item = &TypeItem> {
    model.items.iter().filter_map(|i| match i {
        Item::Type(t) => Some(t),
        _ => None,
    })
}

/// The types a value of `t` is made of: a typedef's type, struct fields,
/// a union's discriminant and arms.
pub(super) fn member_types(t: &TypeItem) -> Vec<&Type> {
    match &t.kind {
        TypeKind::Alias(a) => vec![&a.ty],
        TypeKind::Struct(s) => s.fields.iter().map(|f| &f.ty).collect(),
        TypeKind::Union(u) => std::iter::once(&u.discriminant)
            .chain(u.cases.iter().filter_map(|c| c.field.as_ref()))
            .chain(u.default.iter().filter_map(|d| d.field.as_ref()))
            .map(|f| &f.ty)
            .collect(),
        TypeKind::Enum(_) => Vec::new(),
    }
}

/// As [`member_types`], without the discriminant (never optional-data).
fn member_types_mut(t: &mut TypeItem) -> Vec<&mut Type> {
    match &mut t.kind {
        TypeKind::Alias(a) => vec![&mut a.ty],
        TypeKind::Struct(s) => s.fields.iter_mut().map(|f| &mut f.ty).collect(),
        TypeKind::Union(u) => u
            .cases
            .iter_mut()
            .filter_map(|c| c.field.as_mut())
            .chain(u.default.iter_mut().filter_map(|d| d.field.as_mut()))
            .map(|f| &mut f.ty)
            .collect(),
        TypeKind::Enum(_) => Vec::new(),
    }
}

/// Calls `f` with the inner type of each optional-data in `t`, in order.
fn visit_optionals<'a>(t: &'a Type, f: &mut impl FnMut(&'a Type)) {
    match t {
        Type::Optional(inner) => {
            f(inner);
            visit_optionals(inner, f);
        }
        Type::Array(e, _) | Type::VarArray(e, _) | Type::Boxed(e) => visit_optionals(e, f),
        _ => {}
    }
}

/// Boxes the inner type of each optional-data in `t` for which `hit`
/// (called in the order of [`visit_optionals`]) says so.
fn box_optionals(t: &mut Type, hit: &mut impl FnMut(&Type) -> bool) {
    match t {
        Type::Optional(inner) => {
            let boxed = hit(inner);
            box_optionals(inner, hit);
            if boxed {
                let ty = std::mem::replace(inner.as_mut(), Type::Void);
                **inner = Type::Boxed(Box::new(ty));
            }
        }
        Type::Array(e, _) | Type::VarArray(e, _) | Type::Boxed(e) => box_optionals(e, hit),
        _ => {}
    }
}

/// True when a value of `t` contains a value of `target` inline: through
/// named types, fixed arrays and optional-data, not through a box or a
/// variable-length array.
fn reaches(t: &Type, target: &str, members: &HashMap<&str, Vec<&Type>>) -> bool {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&Type> = vec![t];
    while let Some(t) = stack.pop() {
        match t {
            Type::Named(n) => {
                if n == target {
                    return true;
                }
                if seen.insert(n.as_str()) {
                    stack.extend(members.get(n.as_str()).into_iter().flatten().copied());
                }
            }
            Type::Array(e, _) | Type::Optional(e) => stack.push(e),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::generate::generate_str;

    fn fields(spec: &str) -> String {
        generate_str("t.x", spec, &crate::generate::Options::default())
            .map(|g| g.code)
            .unwrap_or_else(|e| e.rendered)
    }

    #[test]
    fn only_recursive_optionals_are_boxed() {
        let code = fields(
            "struct leaf { int v; };
             struct tree { int v; tree *left; tree *right; leaf *extra; };
             struct a { b *other; };
             struct b { a *back; int n; };",
        );
        assert!(code.contains("pub left: ::core::option::Option<::std::boxed::Box<Tree>>"));
        assert!(code.contains("pub extra: ::core::option::Option<Leaf>"));
        assert!(code.contains("pub other: ::core::option::Option<::std::boxed::Box<B>>"));
        assert!(code.contains("pub back: ::core::option::Option<::std::boxed::Box<A>>"));
    }
}
