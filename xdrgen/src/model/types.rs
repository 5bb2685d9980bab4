//! Declarations (RFC 4506 section 6.3) to model types: resolves type names,
//! evaluates sizes, and refuses shapes a type cannot take.

use crate::ast::{Declaration, Shape, TypeSpec, Value};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

use super::check::Checker;
use super::consts::{span_of, value_text};
use super::names::{rust_name, Case, Namespace};
use super::scope::ValueEntry;
use super::{Field, Size, Type};

/// Where a declaration appears (decides whether `void` is allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// A struct field.
    StructField,
    /// A typedef.
    Typedef,
    /// A union arm or default arm (`void` allowed).
    UnionArm,
    /// A union discriminant.
    Discriminant,
}

impl Checker<'_> {
    /// A struct field or union arm: its type and Rust name (claimed in `ns`).
    pub(super) fn field(
        &mut self,
        d: &Declaration,
        ns: &mut Namespace,
        place: Place,
    ) -> Option<Field> {
        let ty = self.decl_type(d, place)?;
        let xdr_name = d.name.as_ref().map_or_else(String::new, |n| n.name.clone());
        let (rust, _) = ns.claim(&rust_name(&xdr_name, Case::Snake));
        Some(Field {
            xdr_name,
            rust_name: rust,
            ty,
            decl_text: decl_text(d),
            doc: d.doc.clone(),
        })
    }

    /// The type of a declaration, or `None` after reporting why not.
    pub(super) fn decl_type(&mut self, d: &Declaration, place: Place) -> Option<Type> {
        let name = d.name.as_ref().map_or("", |n| n.name.as_str());
        let span = d.span;
        match (&d.ty, &d.shape) {
            (TypeSpec::Void, Shape::Plain) if place == Place::UnionArm && d.name.is_none() => {
                Some(Type::Void)
            }
            (TypeSpec::Void, Shape::Plain) => {
                self.diags.push(misplaced_void(span, name, place));
                None
            }
            (TypeSpec::Void, _) => {
                self.diags.push(
                    Diagnostic::error(span, "`void` cannot be an array or optional-data")
                        .with_label("void has no values"),
                );
                None
            }
            (TypeSpec::Opaque, Shape::FixedArray(n)) => Some(Type::FixedOpaque(self.size(n)?)),
            (TypeSpec::Opaque, Shape::VarArray(m)) => Some(Type::Opaque(self.max(m.as_ref())?)),
            (TypeSpec::Opaque, Shape::Plain | Shape::Optional) => {
                self.diags.push(
                    Diagnostic::error(span, format!("`opaque {name}` needs a size"))
                        .with_label("opaque without a shape")
                        .with_hint(format!(
                            "write `opaque {name}[N]` (fixed length) or `opaque {name}<N>` / `opaque {name}<>` (variable length)"
                        )),
                );
                None
            }
            (TypeSpec::String, Shape::VarArray(m)) => Some(Type::String(self.max(m.as_ref())?)),
            (TypeSpec::String, Shape::FixedArray(_)) => {
                self.diags.push(
                    Diagnostic::error(span, format!("`string {name}[..]` is not valid XDR"))
                        .with_label("strings have no fixed-length form")
                        .with_hint(format!(
                            "write `string {name}<N>` for at most N bytes (RFC 4506 section 4.11)"
                        )),
                );
                None
            }
            (TypeSpec::String, Shape::Plain | Shape::Optional) => {
                self.diags.push(
                    Diagnostic::error(span, format!("`string {name}` needs a maximum length"))
                        .with_label("string without `<>`")
                        .with_hint(format!(
                            "write `string {name}<N>` or `string {name}<>` (no maximum)"
                        )),
                );
                None
            }
            (ty, shape) => {
                let base = self.base_type(ty, span)?;
                match shape {
                    Shape::Plain => Some(base),
                    Shape::FixedArray(n) => Some(Type::Array(Box::new(base), self.size(n)?)),
                    Shape::VarArray(m) => {
                        Some(Type::VarArray(Box::new(base), self.max(m.as_ref())?))
                    }
                    Shape::Optional if place == Place::Discriminant => {
                        self.diags.push(Diagnostic::error(
                            span,
                            "a union discriminant cannot be optional-data",
                        ));
                        None
                    }
                    Shape::Optional => Some(Type::Optional(Box::new(base))),
                }
            }
        }
    }

    /// A type specifier without shape: primitives and names. `opaque`,
    /// `string` and `void` are handled by the callers.
    pub(super) fn base_type(&mut self, ts: &TypeSpec, span: Span) -> Option<Type> {
        Some(match ts {
            TypeSpec::Int | TypeSpec::Short | TypeSpec::Char => Type::Int,
            TypeSpec::UnsignedInt | TypeSpec::UnsignedShort | TypeSpec::UnsignedChar => {
                Type::UnsignedInt
            }
            TypeSpec::Hyper => Type::Hyper,
            TypeSpec::UnsignedHyper => Type::UnsignedHyper,
            TypeSpec::Float => Type::Float,
            TypeSpec::Double => Type::Double,
            TypeSpec::Bool => Type::Bool,
            TypeSpec::Void => Type::Void,
            TypeSpec::Quadruple => {
                self.diags.push(
                    Diagnostic::error(span, "quadruple is not supported")
                        .with_label("128-bit float")
                        .with_hint("Rust has no quadruple-precision float; carry the 16 bytes as `opaque name[16]`"),
                );
                return None;
            }
            TypeSpec::Opaque | TypeSpec::String => {
                self.diags.push(
                    Diagnostic::error(
                        span,
                        "`opaque` and `string` need a declared name and size here",
                    )
                    .with_hint("declare a typedef (`typedef string name<N>;`) and use its name"),
                );
                return None;
            }
            TypeSpec::Named(id) => match self.scope.types.get(id.name.as_str()) {
                Some(e) => Type::Named(e.rust_name.clone()),
                None if self.extern_types.contains_key(&id.name) => {
                    let path = self.extern_types.get(&id.name)?;
                    if syn::parse_str::<syn::Type>(path).is_err() {
                        self.diags.push(
                            Diagnostic::error(
                                id.span,
                                format!(
                                    "extern type `{path}` for `{}` is not a Rust type",
                                    id.name
                                ),
                            )
                            .with_hint("give a path such as `crate::nis::NisObject`"),
                        );
                        return None;
                    }
                    Type::Extern(path.clone())
                }
                None if super::builtins::builtin_type(&id.name).is_some() => {
                    super::builtins::builtin_type(&id.name)?
                }
                None => {
                    let d = if self.scope.values.contains_key(id.name.as_str()) {
                        Diagnostic::error(
                            id.span,
                            format!("`{}` is a constant, not a type", id.name),
                        )
                        .with_label("a type is needed here")
                    } else {
                        Diagnostic::error(id.span, format!("undefined type `{}`", id.name))
                            .with_label("not defined in this file or its includes")
                            .with_hint(format!(
                                "if another `.x` file defines it, compile the two together (`xdrgen a.x b.x`, `Builder::compile_together`) or `#include` it; if a C header does, map it to a Rust type with `--extern-type {}=PATH` (`Builder::extern_type`)",
                                id.name
                            ))
                    };
                    self.diags.push(d);
                    return None;
                }
            },
            TypeSpec::Enum(_) | TypeSpec::Struct(_) | TypeSpec::Union(_) => {
                self.diags.push(
                    Diagnostic::error(span, "an anonymous type is not allowed here")
                        .with_hint("define the type with a name and use the name"),
                );
                return None;
            }
        })
    }

    /// An array size (`[N]`): a value in `0..=u32::MAX`.
    fn size(&mut self, v: &Value) -> Option<Size> {
        let value = self.eval.value(&self.scope, v, &mut self.diags)?;
        let Ok(value) = u32::try_from(value) else {
            self.diags.push(
                Diagnostic::error(span_of(v), format!("size {value} is out of range"))
                    .with_label("must be between 0 and 4294967295")
                    .with_hint("XDR lengths are unsigned 32-bit integers"),
            );
            return None;
        };
        let konst = match v {
            Value::Named(id) => match self.scope.values.get(id.name.as_str()) {
                Some(ValueEntry::Const(_)) => self
                    .scope
                    .const_names
                    .get(id.name.as_str())
                    .map(|(n, _)| n.clone()),
                _ => None,
            },
            Value::Literal { .. } | Value::Str { .. } => None,
        };
        Some(Size { value, konst })
    }

    /// A maximum (`<M>` or `<>`): `None` inside means no maximum.
    fn max(&mut self, v: Option<&Value>) -> Option<Option<Size>> {
        match v {
            None => Some(None),
            Some(v) => self.size(v).map(Some),
        }
    }
}

/// Why `void` (named `name`, or unnamed when empty) cannot be declared
/// at `place`.
fn misplaced_void(span: Span, name: &str, place: Place) -> Diagnostic {
    let (message, label) = match (place, name) {
        (Place::UnionArm, _) => (
            format!("a `void` union arm takes no name (`{name}`)"),
            "`void` has no value to name",
        ),
        (Place::StructField, "") => (
            "a struct field cannot be `void`".to_owned(),
            "`void` carries no data",
        ),
        (Place::StructField, _) => (
            format!("struct field `{name}` cannot be `void`"),
            "`void` carries no data",
        ),
        (Place::Typedef, _) => (
            format!("`typedef void {name}` is not allowed"),
            "`void` has no values",
        ),
        (Place::Discriminant, _) => (
            "a union discriminant cannot be `void`".to_owned(),
            "not an integer, bool or enum",
        ),
    };
    let hint = match place {
        Place::UnionArm => "write `void;`",
        Place::StructField => "remove the field; `void` is allowed only as a union arm or a procedure's argument or result",
        Place::Typedef | Place::Discriminant => {
            "`void` is allowed only as a union arm or a procedure's argument or result"
        }
    };
    Diagnostic::error(span, message)
        .with_label(label)
        .with_hint(hint)
}

/// The declaration as written, normalised (`opaque fhandle[FHSIZE]`,
/// `exportnode *ex_next`, `void`).
pub(super) fn decl_text(d: &Declaration) -> String {
    let ty = type_text(&d.ty);
    let name = d.name.as_ref().map_or("", |n| n.name.as_str());
    match &d.shape {
        Shape::Plain if name.is_empty() => ty,
        Shape::Plain => format!("{ty} {name}"),
        Shape::FixedArray(n) => format!("{ty} {name}[{}]", value_text(n)),
        Shape::VarArray(None) => format!("{ty} {name}<>"),
        Shape::VarArray(Some(m)) => format!("{ty} {name}<{}>", value_text(m)),
        Shape::Optional => format!("{ty} *{name}"),
    }
}

/// A type specifier as written.
pub(super) fn type_text(t: &TypeSpec) -> String {
    match t {
        TypeSpec::Int => "int",
        TypeSpec::UnsignedInt => "unsigned int",
        TypeSpec::Hyper => "hyper",
        TypeSpec::UnsignedHyper => "unsigned hyper",
        TypeSpec::Short => "short",
        TypeSpec::UnsignedShort => "unsigned short",
        TypeSpec::Char => "char",
        TypeSpec::UnsignedChar => "unsigned char",
        TypeSpec::Float => "float",
        TypeSpec::Double => "double",
        TypeSpec::Quadruple => "quadruple",
        TypeSpec::Bool => "bool",
        TypeSpec::Void => "void",
        TypeSpec::Opaque => "opaque",
        TypeSpec::String => "string",
        TypeSpec::Named(id) => return id.name.clone(),
        TypeSpec::Enum(_) => "enum { ... }",
        TypeSpec::Struct(_) => "struct { ... }",
        TypeSpec::Union(_) => "union switch { ... }",
    }
    .to_owned()
}
