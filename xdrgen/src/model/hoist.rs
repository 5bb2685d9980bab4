//! Lifts anonymous inline types (`struct { ... } x;`, `union switch ...`,
//! `enum { ... }`, written by non-rpcgen dialects) out into named type
//! definitions, so that the rest of the checker sees only named types.
//!
//! An inline type declared as field `f` of `parent` is named `parent_f`
//! (Rust: `ParentF`), with a numeric suffix if that name is taken; it is
//! placed just before the definition that contains it. A typedef whose
//! declaration is a plain inline body (`typedef struct { ... } name;`)
//! simply defines `name`.

use std::collections::HashSet;

use crate::ast::{
    Declaration, Definition, Ident, Shape, Specification, StructBody, TypeDef, TypeDefKind,
    TypeSpec, UnionBody,
};

/// Returns `spec` with every anonymous inline type lifted out.
pub(super) fn hoist(spec: &Specification) -> Specification {
    let mut taken: HashSet<String> = spec
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Type(t) => Some(t.name.name.clone()),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(spec.definitions.len());
    for def in &spec.definitions {
        match def {
            Definition::Type(t) => {
                let mut lifted = Vec::new();
                let t = hoist_typedef(t.clone(), &mut taken, &mut lifted);
                out.extend(lifted.into_iter().map(Definition::Type));
                out.push(Definition::Type(t));
            }
            other => out.push(other.clone()),
        }
    }
    Specification {
        definitions: out,
        passthrough: spec.passthrough.clone(),
    }
}

fn hoist_typedef(
    mut t: TypeDef,
    taken: &mut HashSet<String>,
    lifted: &mut Vec<TypeDef>,
) -> TypeDef {
    let parent = t.name.name.clone();
    t.kind = match t.kind {
        // `typedef struct { ... } name;` defines `name` itself.
        TypeDefKind::Typedef(Declaration {
            ty: TypeSpec::Struct(body),
            shape: Shape::Plain,
            ..
        }) => TypeDefKind::Struct(hoist_struct(body, &parent, taken, lifted)),
        TypeDefKind::Typedef(Declaration {
            ty: TypeSpec::Union(body),
            shape: Shape::Plain,
            ..
        }) => TypeDefKind::Union(hoist_union(*body, &parent, taken, lifted)),
        TypeDefKind::Typedef(Declaration {
            ty: TypeSpec::Enum(body),
            shape: Shape::Plain,
            ..
        }) => TypeDefKind::Enum(body),
        TypeDefKind::Typedef(d) => TypeDefKind::Typedef(hoist_decl(d, &parent, taken, lifted)),
        TypeDefKind::Struct(body) => {
            TypeDefKind::Struct(hoist_struct(body, &parent, taken, lifted))
        }
        TypeDefKind::Union(body) => TypeDefKind::Union(hoist_union(body, &parent, taken, lifted)),
        k @ TypeDefKind::Enum(_) => k,
    };
    t
}

fn hoist_struct(
    mut body: StructBody,
    parent: &str,
    taken: &mut HashSet<String>,
    lifted: &mut Vec<TypeDef>,
) -> StructBody {
    body.fields = body
        .fields
        .into_iter()
        .map(|f| hoist_decl(f, parent, taken, lifted))
        .collect();
    body
}

fn hoist_union(
    mut body: UnionBody,
    parent: &str,
    taken: &mut HashSet<String>,
    lifted: &mut Vec<TypeDef>,
) -> UnionBody {
    body.discriminant = hoist_decl(body.discriminant, parent, taken, lifted);
    for arm in &mut body.arms {
        arm.decl = hoist_decl(arm.decl.clone(), parent, taken, lifted);
    }
    body.default = body.default.map(|d| hoist_decl(d, parent, taken, lifted));
    body
}

/// Replaces an inline type in `d` by a reference to a lifted definition.
fn hoist_decl(
    mut d: Declaration,
    parent: &str,
    taken: &mut HashSet<String>,
    lifted: &mut Vec<TypeDef>,
) -> Declaration {
    let kind = match std::mem::replace(&mut d.ty, TypeSpec::Void) {
        TypeSpec::Struct(b) => TypeDefKind::Struct(b),
        TypeSpec::Union(b) => TypeDefKind::Union(*b),
        TypeSpec::Enum(b) => TypeDefKind::Enum(b),
        other => {
            d.ty = other;
            return d;
        }
    };
    let field = d.name.as_ref().map_or("arm", |n| n.name.as_str());
    let base = format!("{parent}_{field}");
    let mut name = base.clone();
    let mut n = 2u32;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    let ident = Ident {
        name,
        span: d.name.as_ref().map_or(d.span, |n| n.span),
    };
    let inner = TypeDef {
        name: ident.clone(),
        kind,
        doc: Vec::new(),
    };
    // Inline types inside the inline type are lifted first, named after it.
    let inner = hoist_typedef(inner, taken, lifted);
    lifted.push(inner);
    d.ty = TypeSpec::Named(ident);
    d
}
