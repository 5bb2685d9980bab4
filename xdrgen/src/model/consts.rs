//! Constant evaluation: literals, `const` names, enum members (whose values
//! may be omitted: previous + 1, first 0) and program/version/procedure
//! names. Values are `i128` here; each use range-checks them.

use std::collections::{HashMap, HashSet};

use crate::ast::{ConstDef, EnumBody, Radix, Value};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

use super::scope::{Scope, ValueEntry};

/// How many definitions deep a constant may refer to another before the
/// evaluator gives up (guards the stack against hostile input).
const MAX_DEPTH: u32 = 200;

/// Evaluates constants, caching results. An error is reported once; later
/// uses of the same name get `None` silently.
#[derive(Debug, Default)]
pub(super) struct Evaluator {
    /// Value of each name evaluated so far (`None`: it had an error).
    cache: HashMap<String, Option<i128>>,
    /// Values of each enum's members, by enum name.
    enums: HashMap<String, Vec<Option<i128>>>,
    in_progress: HashSet<String>,
    depth: u32,
}

impl Evaluator {
    /// The value of `v`, or `None` after reporting why not.
    pub(super) fn value(
        &mut self,
        scope: &Scope<'_>,
        v: &Value,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<i128> {
        match v {
            Value::Literal { value, .. } => Some(*value),
            Value::Named(id) => self.name(scope, &id.name, id.span, diags),
            // Added by the parser helper: `const NAME = "text";` (rpcgen).
            Value::Str { span, .. } => {
                diags.push(
                    Diagnostic::error(*span, "a string constant cannot be used as a number")
                        .with_label("string constant"),
                );
                None
            }
        }
    }

    /// The value of the name `name` used at `span`.
    pub(super) fn name(
        &mut self,
        scope: &Scope<'_>,
        name: &str,
        span: Span,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<i128> {
        if scope.ambiguous.contains(name) {
            diags.push(
                Diagnostic::error(span, format!("`{name}` is a member of more than one enum"))
                    .with_label("ambiguous here")
                    .with_hint(
                        "such a name can only be a case label of a union switching on its enum",
                    ),
            );
            return None;
        }
        if let Some(v) = self.cache.get(name) {
            return *v;
        }
        if !scope.values.contains_key(name) {
            if let Some(v) = super::builtins::builtin_const(name) {
                return Some(v);
            }
        }
        let Some(entry) = scope.values.get(name).copied() else {
            let d = if scope.types.contains_key(name) {
                Diagnostic::error(span, format!("`{name}` is a type, not a constant"))
                    .with_label("a constant is needed here")
            } else {
                Diagnostic::error(span, format!("undefined constant `{name}`"))
                    .with_label("not defined in this file or its includes")
                    .with_hint(format!(
                        "if a C header defines it, give its value with `-D {name}=VALUE` (`Builder::define`); if another `.x` file does, compile the two together"
                    ))
            };
            diags.push(d);
            return None;
        };
        if self.in_progress.contains(name) {
            diags.push(
                Diagnostic::error(
                    span,
                    format!("constant `{name}` is defined in terms of itself"),
                )
                .with_label("this reference is circular"),
            );
            self.cache.insert(name.to_owned(), None);
            return None;
        }
        if self.depth >= MAX_DEPTH {
            diags.push(
                Diagnostic::error(span, "constant definitions nested too deeply").with_hint(
                    format!("at most {MAX_DEPTH} constants may refer to each other in a chain"),
                ),
            );
            return None;
        }
        self.in_progress.insert(name.to_owned());
        self.depth += 1;
        let result = match entry {
            ValueEntry::Const(ConstDef {
                value: Value::Str { .. },
                ..
            }) => {
                diags.push(
                    Diagnostic::error(span, format!("`{name}` is a string constant"))
                        .with_label("a number is needed here"),
                );
                None
            }
            ValueEntry::Const(c) => self.value(scope, &c.value, diags),
            ValueEntry::Number(v) => self.value(scope, v, diags),
            ValueEntry::Builtin(v) => Some(v),
            ValueEntry::EnumMember {
                enum_name,
                body,
                index,
            } => self
                .enum_values(scope, enum_name, body, diags)
                .get(index)
                .copied()
                .flatten(),
        };
        self.depth -= 1;
        self.in_progress.remove(name);
        self.cache.insert(name.to_owned(), result);
        result
    }

    /// The values of every member of enum `enum_name`, in order, each range
    /// checked to `i32` (RFC 4506 section 4.3).
    pub(super) fn enum_values(
        &mut self,
        scope: &Scope<'_>,
        enum_name: &str,
        body: &EnumBody,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Option<i128>> {
        if let Some(v) = self.enums.get(enum_name) {
            return v.clone();
        }
        let key = format!("enum {enum_name}");
        if !self.in_progress.insert(key.clone()) {
            diags.push(
                Diagnostic::error(
                    body.span,
                    format!("the values of enum `{enum_name}` depend on themselves"),
                )
                .with_label("a member's value refers back into this enum"),
            );
            return vec![None; body.members.len()];
        }
        let mut values = Vec::with_capacity(body.members.len());
        let mut local: HashMap<&str, Option<i128>> = HashMap::new();
        let mut next: Option<i128> = Some(0);
        for m in &body.members {
            let v = match &m.value {
                // An earlier member of this same enum (`B = A`).
                Some(Value::Named(id)) if local.contains_key(id.name.as_str()) => {
                    local.get(id.name.as_str()).copied().flatten()
                }
                Some(v) => {
                    // Mark the member itself as in progress so that
                    // `A = A` is reported as circular.
                    self.in_progress.insert(m.name.name.clone());
                    let r = self.value(scope, v, diags);
                    self.in_progress.remove(&m.name.name);
                    r
                }
                None => next,
            };
            let v = v.and_then(|v| {
                if i32::try_from(v).is_ok() {
                    Some(v)
                } else {
                    diags.push(
                        Diagnostic::error(
                            value_span(m.value.as_ref()).unwrap_or(m.name.span),
                            format!(
                                "enum value {v} of `{}` does not fit in 32 bits",
                                m.name.name
                            ),
                        )
                        .with_hint("XDR enums are signed 32-bit integers (RFC 4506 section 4.3)"),
                    );
                    None
                }
            });
            next = v.map(|v| v + 1);
            local.insert(&m.name.name, v);
            values.push(v);
        }
        self.in_progress.remove(&key);
        self.enums.insert(enum_name.to_owned(), values.clone());
        values
    }
}

/// Where a value is written.
pub(super) fn value_span(v: Option<&Value>) -> Option<Span> {
    match v? {
        Value::Literal { span, .. } | Value::Str { span, .. } => Some(*span),
        Value::Named(id) => Some(id.span),
    }
}

/// The span of a value.
pub(super) fn span_of(v: &Value) -> Span {
    match v {
        Value::Literal { span, .. } | Value::Str { span, .. } => *span,
        Value::Named(id) => id.span,
    }
}

/// The value as written (`MNTPATHLEN`, `1024`).
pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::Literal { value, .. } => value.to_string(),
        Value::Named(id) => id.name.clone(),
        Value::Str { value, .. } => format!("{value:?}"),
    }
}

/// The base a value is written in: a literal's, else decimal.
pub(super) fn radix_of(v: &Value) -> Radix {
    match v {
        Value::Literal { radix, .. } => *radix,
        Value::Named(_) | Value::Str { .. } => Radix::Decimal,
    }
}
