//! Name lookups over a [`Model`] that decoding and encoding share.

use std::collections::HashMap;

use crate::model::{
    CaseLabel, DiscKind, Enum, Field, Item, Model, TypeItem, TypeKind, Union, UnionCase,
};

/// The types of a model by Rust name and by `.x` name.
#[derive(Debug)]
pub struct Types<'a> {
    by_rust: HashMap<&'a str, &'a TypeItem>,
    by_xdr: HashMap<&'a str, &'a TypeItem>,
}

impl<'a> Types<'a> {
    /// Indexes the type definitions of `model`.
    pub fn new(model: &'a Model) -> Self {
        let items = model.items.iter().filter_map(|i| match i {
            Item::Type(t) => Some(t),
            _ => None,
        });
        let mut by_rust = HashMap::new();
        let mut by_xdr = HashMap::new();
        for t in items {
            by_rust.insert(t.rust_name.as_str(), t);
            by_xdr.entry(t.xdr_name.as_str()).or_insert(t);
        }
        Self { by_rust, by_xdr }
    }

    /// The type named `name` in the `.x` file.
    ///
    /// # Errors
    ///
    /// When no type has that name: the message lists the names that
    /// start with the same letter, or all of them.
    pub fn by_xdr_name(&self, name: &str) -> Result<&'a TypeItem, String> {
        if let Some(t) = self.by_xdr.get(name) {
            return Ok(t);
        }
        let mut names: Vec<&str> = self.by_xdr.keys().copied().collect();
        names.sort_unstable();
        let first = name.chars().next();
        let close: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.chars().next() == first)
            .collect();
        let shown = if close.is_empty() { names } else { close };
        Err(format!(
            "the specification defines no type `{name}`; it defines: {}",
            shown.join(", ")
        ))
    }

    /// The definition behind a [`Type::Named`](crate::model::Type::Named)
    /// or list node (a Rust name the checker resolved, so always present
    /// in a checked model).
    pub(super) fn get(&self, rust_name: &str) -> Option<&'a TypeItem> {
        self.by_rust.get(rust_name).copied()
    }

    /// The enum with Rust name `rust_name`, and its `.x` name.
    pub(super) fn enum_def(&self, rust_name: &str) -> Option<(&'a Enum, &'a str)> {
        let t = self.get(rust_name)?;
        match &t.kind {
            TypeKind::Enum(e) => Some((e, &t.xdr_name)),
            _ => None,
        }
    }

    /// The discriminant value a union case selects.
    pub(super) fn case_value(&self, u: &Union, c: &UnionCase) -> Option<i128> {
        match (&c.label, &u.disc_kind) {
            (CaseLabel::Int(n), _) => Some(*n),
            (CaseLabel::Bool(b), _) => Some(i128::from(*b)),
            (CaseLabel::Enum(v), DiscKind::Enum(e)) => self
                .enum_def(e)?
                .0
                .variants
                .iter()
                .find(|m| m.rust_name == *v)
                .map(|m| i128::from(m.value)),
            (CaseLabel::Enum(_), _) => None,
        }
    }

    /// The arm of union `u` that discriminant value `disc` selects: a
    /// case naming it, else the default arm; `None` when neither exists.
    /// The inner `None` is a `void` arm.
    pub(super) fn arm<'u>(&self, u: &'u Union, disc: i128) -> Option<Option<&'u Field>> {
        match u.cases.iter().find(|c| self.case_value(u, c) == Some(disc)) {
            Some(c) => Some(c.field.as_ref()),
            None => u.default.as_ref().map(|d| d.field.as_ref()),
        }
    }
}

/// The JSON key of a union arm's field: its `.x` name, or its Rust name
/// (`stat2`) when the `.x` name repeats the discriminant's (RFC 5531's
/// `rejected_reply` does: `reject_stat stat` and `auth_stat stat`).
pub(super) fn arm_key<'a>(u: &'a Union, f: &'a Field) -> &'a str {
    if f.xdr_name == u.discriminant.xdr_name {
        &f.rust_name
    } else {
        &f.xdr_name
    }
}

/// The `.x` name of the first member of `e` with value `v`.
pub(super) fn member_name(e: &Enum, v: i32) -> Option<&str> {
    e.variants
        .iter()
        .find(|m| m.value == v)
        .map(|m| m.xdr_name.as_str())
}

/// The value of the member of `e` (`.x` name `enum_name`) named `name`
/// (own or alias).
///
/// # Errors
///
/// The message for a name that is not a member, listing the members.
pub(super) fn member_value(e: &Enum, enum_name: &str, name: &str) -> Result<i32, String> {
    e.variants
        .iter()
        .map(|m| (&m.xdr_name, m.value))
        .chain(e.aliases.iter().map(|a| (&a.xdr_name, a.value)))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<&str> = e.variants.iter().map(|m| m.xdr_name.as_str()).collect();
            format!(
                "`{name}` is not a member of enum `{enum_name}` (members: {})",
                names.join(", ")
            )
        })
}
