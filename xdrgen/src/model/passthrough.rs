//! Merges the definitions implied by `%#define` passthrough lines
//! ([`Specification::passthrough`]) into the specification: each is used
//! only when no definition has the same name, so a real `const` or type
//! always wins. They go first, as rpcgen's header puts passthrough lines
//! before the declarations that follow them.

use std::collections::HashSet;

use crate::ast::{
    Declaration, Definition, EnumBody, Specification, TypeDefKind, TypeSpec, UnionBody,
};

/// `spec`'s definitions, preceded by the passthrough definitions whose
/// names they leave free.
pub(super) fn merge(spec: &Specification) -> Specification {
    let mut taken = HashSet::new();
    for d in &spec.definitions {
        defined_names(d, &mut taken);
    }
    let mut definitions: Vec<Definition> = spec
        .passthrough
        .iter()
        // Of files compiled together, the first to define a name wins.
        .filter(|d| match d {
            Definition::Const(c) => taken.insert(c.name.name.clone()),
            Definition::Type(t) => taken.insert(t.name.name.clone()),
            Definition::Program(_) => false,
        })
        .cloned()
        .collect();
    definitions.extend(spec.definitions.iter().cloned());
    Specification {
        definitions,
        passthrough: Vec::new(),
    }
}

/// Every name a definition introduces into the constant or type namespace.
fn defined_names(d: &Definition, out: &mut HashSet<String>) {
    match d {
        Definition::Const(c) => {
            out.insert(c.name.name.clone());
        }
        Definition::Type(t) => {
            out.insert(t.name.name.clone());
            match &t.kind {
                TypeDefKind::Typedef(decl) => decl_names(decl, out),
                TypeDefKind::Enum(body) => enum_names(body, out),
                TypeDefKind::Struct(body) => body.fields.iter().for_each(|f| decl_names(f, out)),
                TypeDefKind::Union(body) => union_names(body, out),
            }
        }
        Definition::Program(p) => {
            out.insert(p.name.name.clone());
            for v in &p.versions {
                out.insert(v.name.name.clone());
                out.extend(v.procedures.iter().map(|p| p.name.name.clone()));
            }
        }
    }
}

fn enum_names(body: &EnumBody, out: &mut HashSet<String>) {
    out.extend(body.members.iter().map(|m| m.name.name.clone()));
}

fn union_names(body: &UnionBody, out: &mut HashSet<String>) {
    decl_names(&body.discriminant, out);
    for arm in &body.arms {
        decl_names(&arm.decl, out);
    }
    if let Some(d) = &body.default {
        decl_names(d, out);
    }
}

/// Enum members of anonymous inline types.
fn decl_names(decl: &Declaration, out: &mut HashSet<String>) {
    match &decl.ty {
        TypeSpec::Enum(body) => enum_names(body, out),
        TypeSpec::Struct(body) => body.fields.iter().for_each(|f| decl_names(f, out)),
        TypeSpec::Union(body) => union_names(body, out),
        _ => {}
    }
}
