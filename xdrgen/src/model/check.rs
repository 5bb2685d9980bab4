//! The checker: walks the AST once, builds the [`Model`], collects every
//! error.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use crate::ast::{ConstDef, Definition, EnumBody, Radix, Specification, TypeDef, TypeDefKind};
use crate::diagnostic::Diagnostic;

use super::consts::{radix_of, value_span, Evaluator};
use super::names::{rust_name, Case, Namespace};
use super::scope::Scope;
use super::{
    Alias, Const, ConstValue, Enum, EnumAlias, EnumVariant, Item, Model, Struct, TypeItem, TypeKind,
};

/// Checks `spec` and builds the model.
///
/// Checks: every name is defined and defined once; constants evaluate and
/// fit where they are used (sizes in `u32`, enum values in `i32`, case
/// labels in the discriminant's type, program, version and procedure
/// numbers in `u32`); case labels have the discriminant's type and are not
/// repeated; `string` has a `<>` bound, `opaque` a `[]` or `<>` shape;
/// `void` appears only where allowed; `quadruple` is refused; no type
/// contains itself without optional-data or a variable-length array in
/// between. Forward and recursive references are legal.
///
/// # Errors
///
/// Every problem found, as [`Diagnostic`]s sorted by position.
pub fn check(spec: &Specification) -> Result<Model, Vec<Diagnostic>> {
    check_with(spec, &CheckOptions::default())
}

/// [`check`] with options: names of types defined outside the file.
///
/// # Errors
///
/// As [`check`].
pub fn check_with(spec: &Specification, opts: &CheckOptions) -> Result<Model, Vec<Diagnostic>> {
    let spec = super::hoist::hoist(&super::passthrough::merge(spec));
    let mut diags = Vec::new();
    let scope = Scope::build(&spec, &mut diags);
    let mut cx = Checker {
        scope,
        eval: Evaluator::default(),
        diags,
        enums: HashMap::new(),
        proc_consts: HashMap::new(),
        extern_types: &opts.extern_types,
    };
    let mut items = Vec::with_capacity(spec.definitions.len());
    for def in &spec.definitions {
        let item = match def {
            Definition::Const(c) => cx.constant(c).map(Item::Const),
            Definition::Type(t) => cx.type_def(t).map(Item::Type),
            Definition::Program(p) => cx.program(p).map(Item::Program),
        };
        items.extend(item);
    }
    let mut diags = cx.diags;
    super::cycles::break_cycles(&mut items, &spec, &mut diags);
    super::lists::rewrite_lists(&mut items);
    if diags.is_empty() {
        Ok(Model { items })
    } else {
        diags.sort_by_key(|d| d.span);
        diags.dedup();
        Err(diags)
    }
}

/// An enum's members with their Rust names, computed once per enum (union
/// case labels need them before or after the enum's own definition).
#[derive(Debug)]
pub(super) struct EnumInfo {
    pub(super) variants: Vec<EnumVariant>,
    pub(super) aliases: Vec<EnumAlias>,
    /// `.x` member name -> Rust variant that has its value.
    pub(super) by_member: HashMap<String, String>,
    /// Value -> Rust variant.
    pub(super) by_value: HashMap<i128, String>,
}

/// State of one checking run.
#[derive(Debug)]
pub(super) struct Checker<'a> {
    pub(super) scope: Scope<'a>,
    pub(super) eval: Evaluator,
    pub(super) diags: Vec<Diagnostic>,
    enums: HashMap<String, Rc<EnumInfo>>,
    /// Procedure constants emitted so far: `.x` name -> number (the same
    /// name in several versions gets one constant).
    pub(super) proc_consts: HashMap<String, u32>,
    /// `.x` name -> Rust path of types defined elsewhere.
    pub(super) extern_types: &'a BTreeMap<String, String>,
}

/// Settings of a [`check_with`] run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Types the `.x` file uses without defining (rpcgen leaves them to C
    /// headers or other `.x` files): `.x` name -> Rust type path, for
    /// example `nis_object` -> `crate::nis::NisObject`. The Rust type must
    /// implement `XdrEncode`, `XdrDecode`, `Debug`, `Clone` and `PartialEq`.
    /// A definition in the file takes precedence.
    pub extern_types: BTreeMap<String, String>,
}

impl<'a> Checker<'a> {
    /// True when `t` is the definition the scope holds for its name (not a
    /// duplicate, which was already reported).
    fn is_canonical(&self, t: &TypeDef) -> bool {
        self.scope
            .types
            .get(t.name.name.as_str())
            .is_some_and(|e| std::ptr::eq(e.def, t))
    }

    fn constant(&mut self, c: &ConstDef) -> Option<Const> {
        let (rust_name, renamed) = self.scope.const_names.get(c.name.name.as_str())?.clone();
        if let crate::ast::Value::Str { value, .. } = &c.value {
            return Some(Const {
                xdr_name: c.name.name.clone(),
                rust_name,
                value: ConstValue::Str(value.clone()),
                radix: Radix::Decimal,
                doc: c.doc.clone(),
                renamed,
            });
        }
        let value = self
            .eval
            .name(&self.scope, &c.name.name, c.name.span, &mut self.diags)?;
        if value < i128::from(i64::MIN) || value > i128::from(u64::MAX) {
            self.diags.push(
                Diagnostic::error(
                    value_span(Some(&c.value)).unwrap_or(c.name.span),
                    format!(
                        "constant `{}` = {value} does not fit in 64 bits",
                        c.name.name
                    ),
                )
                .with_hint("XDR integers are at most 64 bits (hyper, unsigned hyper)"),
            );
            return None;
        }
        Some(Const {
            xdr_name: c.name.name.clone(),
            rust_name,
            value: ConstValue::Int(value),
            radix: radix_of(&c.value),
            doc: c.doc.clone(),
            renamed,
        })
    }

    fn type_def(&mut self, t: &'a TypeDef) -> Option<TypeItem> {
        if !self.is_canonical(t) {
            return None;
        }
        let entry = self.scope.types.get(t.name.name.as_str())?;
        let (rust_name, renamed) = (entry.rust_name.clone(), entry.renamed);
        let kind = match &t.kind {
            TypeDefKind::Typedef(d) => {
                let ty = self.decl_type(d, super::types::Place::Typedef)?;
                TypeKind::Alias(Alias {
                    ty,
                    decl_text: super::types::decl_text(d),
                })
            }
            TypeDefKind::Enum(body) => {
                if body.members.is_empty() {
                    self.diags.push(
                        Diagnostic::error(
                            t.name.span,
                            format!("enum `{}` has no members", t.name.name),
                        )
                        .with_hint("an XDR enum needs at least one member"),
                    );
                    return None;
                }
                let info = self.enum_info(&t.name.name, body);
                TypeKind::Enum(Enum {
                    variants: info.variants.clone(),
                    aliases: info.aliases.clone(),
                })
            }
            TypeDefKind::Struct(body) => {
                let mut ns = Namespace::default();
                let mut fields = Vec::with_capacity(body.fields.len());
                let mut ok = true;
                for f in &body.fields {
                    match self.field(f, &mut ns, super::types::Place::StructField) {
                        Some(f) => fields.push(f),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                TypeKind::Struct(Struct {
                    fields,
                    list_node: false,
                })
            }
            TypeDefKind::Union(body) => TypeKind::Union(self.union(body)?),
        };
        Some(TypeItem {
            xdr_name: t.name.name.clone(),
            rust_name,
            doc: t.doc.clone(),
            renamed,
            kind,
        })
    }

    /// The members of enum `name` with values and Rust names.
    pub(super) fn enum_info(&mut self, name: &str, body: &EnumBody) -> Rc<EnumInfo> {
        if let Some(i) = self.enums.get(name) {
            return Rc::clone(i);
        }
        let values = self
            .eval
            .enum_values(&self.scope, name, body, &mut self.diags);
        let mut ns = Namespace::default();
        let mut info = EnumInfo {
            variants: Vec::new(),
            aliases: Vec::new(),
            by_member: HashMap::new(),
            by_value: HashMap::new(),
        };
        for (m, v) in body.members.iter().zip(values) {
            let Some(v) = v else { continue };
            // Range-checked by the evaluator.
            let Ok(value) = i32::try_from(v) else {
                continue;
            };
            if let Some(target) = info.by_value.get(&v).cloned() {
                let (rust, _) = ns.claim(&rust_name(&m.name.name, Case::Shouty));
                info.by_member.insert(m.name.name.clone(), target.clone());
                info.aliases.push(EnumAlias {
                    xdr_name: m.name.name.clone(),
                    rust_name: rust,
                    target,
                    value,
                    doc: m.doc.clone(),
                });
            } else {
                let (rust, _) = ns.claim(&rust_name(&m.name.name, Case::UpperCamel));
                info.by_member.insert(m.name.name.clone(), rust.clone());
                info.by_value.insert(v, rust.clone());
                info.variants.push(EnumVariant {
                    xdr_name: m.name.name.clone(),
                    rust_name: rust,
                    value,
                    doc: m.doc.clone(),
                });
            }
        }
        let info = Rc::new(info);
        self.enums.insert(name.to_owned(), Rc::clone(&info));
        info
    }
}
