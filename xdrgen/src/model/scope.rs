//! The symbol tables: every type name and every value name (constants,
//! enum members, program/version/procedure names) of a specification, with
//! the Rust name each top-level item gets. Duplicate `.x` names are
//! reported here.

use std::collections::HashMap;

use crate::ast::{
    ConstDef, Definition, EnumBody, Ident, ProgramDef, Specification, TypeDef, TypeDefKind, Value,
};
use crate::diagnostic::Diagnostic;

use super::names::{rust_name, Case, Namespace};

/// A named type of the specification.
#[derive(Debug)]
pub(super) struct TypeEntry<'a> {
    pub(super) def: &'a TypeDef,
    pub(super) rust_name: String,
    pub(super) renamed: bool,
}

/// What a value name refers to.
#[derive(Debug, Clone, Copy)]
pub(super) enum ValueEntry<'a> {
    /// `const NAME = value;`
    Const(&'a ConstDef),
    /// Member `index` of the enum `body` (whose type is named `enum_name`).
    EnumMember {
        enum_name: &'a str,
        body: &'a EnumBody,
        index: usize,
    },
    /// A program, version or procedure name (rpcgen makes them C macros,
    /// so they may be used as constants).
    Number(&'a Value),
    /// `TRUE` or `FALSE`, predefined for `bool` case labels when the
    /// specification does not define them.
    Builtin(i128),
}

/// Both namespaces of a specification.
#[derive(Debug, Default)]
pub(super) struct Scope<'a> {
    pub(super) types: HashMap<&'a str, TypeEntry<'a>>,
    pub(super) values: HashMap<&'a str, ValueEntry<'a>>,
    /// Rust names of top-level `const` items, by `.x` name.
    pub(super) const_names: HashMap<&'a str, (String, bool)>,
    /// Enum member names defined by more than one enum.
    pub(super) ambiguous: std::collections::HashSet<&'a str>,
    /// Rust names of the module's types (for the program stubs).
    pub(super) rust_types: Namespace,
    /// Rust names of the module's constants (for program constants).
    pub(super) rust_consts: Namespace,
}

impl<'a> Scope<'a> {
    /// Builds the tables for `spec`, reporting duplicate names.
    pub(super) fn build(spec: &'a Specification, diags: &mut Vec<Diagnostic>) -> Self {
        let mut scope = Scope::default();
        for def in &spec.definitions {
            match def {
                Definition::Const(c) => {
                    if scope.add_value(&c.name, ValueEntry::Const(c), diags) {
                        let (rust, renamed) = scope
                            .rust_consts
                            .claim(&rust_name(&c.name.name, Case::Shouty));
                        scope.const_names.insert(&c.name.name, (rust, renamed));
                    }
                }
                Definition::Type(t) => scope.add_type(t, diags),
                Definition::Program(p) => scope.add_program(p, diags),
            }
        }
        for (name, value) in [("TRUE", 1), ("FALSE", 0)] {
            scope
                .values
                .entry(name)
                .or_insert(ValueEntry::Builtin(value));
        }
        scope
    }

    fn add_type(&mut self, t: &'a TypeDef, diags: &mut Vec<Diagnostic>) {
        if is_self_typedef(t) {
            // `typedef struct foo foo;`: the C idiom that makes `foo` usable
            // without `struct`; in XDR it names nothing new.
            return;
        }
        if let Some(prev) = self.types.get(t.name.name.as_str()) {
            if !same_typedef(prev.def, t) {
                diags.push(duplicate(&t.name));
            }
            return;
        }
        let (rust_name, renamed) = self
            .rust_types
            .claim(&rust_name(&t.name.name, Case::UpperCamel));
        self.types.insert(
            &t.name.name,
            TypeEntry {
                def: t,
                rust_name,
                renamed,
            },
        );
        if let TypeDefKind::Enum(body) = &t.kind {
            for (index, m) in body.members.iter().enumerate() {
                self.add_value(
                    &m.name,
                    ValueEntry::EnumMember {
                        enum_name: &t.name.name,
                        body,
                        index,
                    },
                    diags,
                );
            }
        }
    }

    fn add_program(&mut self, p: &'a ProgramDef, diags: &mut Vec<Diagnostic>) {
        self.add_value(&p.name, ValueEntry::Number(&p.number), diags);
        for v in &p.versions {
            self.add_value(&v.name, ValueEntry::Number(&v.number), diags);
            for proc in &v.procedures {
                // The same procedure name in several versions is the norm
                // (a C macro defined twice with one value); programs.rs
                // checks that the numbers agree.
                if let Some(ValueEntry::Number(_)) = self.values.get(proc.name.name.as_str()) {
                    continue;
                }
                self.add_value(&proc.name, ValueEntry::Number(&proc.number), diags);
            }
        }
    }

    /// Adds a value name; false (and a diagnostic) when it already exists.
    fn add_value(
        &mut self,
        name: &'a Ident,
        entry: ValueEntry<'a>,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        if let Some(prev) = self.values.get(name.name.as_str()) {
            // Members of different enums with the same name: xdrpp's scoped
            // enums allow it. Fine as case labels of their own enum; an
            // error only where used as a bare constant.
            if let (
                ValueEntry::EnumMember { enum_name: a, .. },
                ValueEntry::EnumMember { enum_name: b, .. },
            ) = (prev, &entry)
            {
                if a != b {
                    self.ambiguous.insert(&name.name);
                    return false;
                }
            }
            // `const A = 1;` twice is harmless (C accepts it too).
            let same = matches!(
                (prev, &entry),
                (ValueEntry::Const(a), ValueEntry::Const(b))
                    if super::consts::value_text(&a.value) == super::consts::value_text(&b.value)
            );
            if !same {
                diags.push(duplicate(name));
            }
            return false;
        }
        self.values.insert(&name.name, entry);
        true
    }
}

fn duplicate(name: &Ident) -> Diagnostic {
    Diagnostic::error(name.span, format!("`{}` is defined more than once", name.name))
        .with_label("redefined here")
        .with_hint("every type, constant, enum member, program, version and procedure name must be unique in a `.x` file")
}

/// `typedef struct foo foo;` (or `typedef foo foo;`).
fn is_self_typedef(t: &TypeDef) -> bool {
    match &t.kind {
        TypeDefKind::Typedef(d) => {
            d.shape == crate::ast::Shape::Plain
                && matches!(&d.ty, crate::ast::TypeSpec::Named(n) if n.name == t.name.name)
        }
        _ => false,
    }
}

/// Two typedefs that say the same thing (C accepts the repetition, and so
/// do real `.x` files).
fn same_typedef(a: &TypeDef, b: &TypeDef) -> bool {
    match (&a.kind, &b.kind) {
        (TypeDefKind::Typedef(x), TypeDefKind::Typedef(y)) => {
            super::types::decl_text(x) == super::types::decl_text(y)
        }
        _ => false,
    }
}
