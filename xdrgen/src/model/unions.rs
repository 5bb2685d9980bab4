//! Discriminated unions (RFC 4506 section 4.15): the discriminant's kind,
//! case labels checked against it, and one Rust variant per label.
//!
//! Variant names: for an enum discriminant, the member's UpperCamelCase
//! name; for an integer discriminant, the arm field's UpperCamelCase name
//! when the arm has one label and no other arm yields the same name, else
//! `Case<N>` (`CaseMinus<N>` for negative N); for `bool`, the field name
//! likewise, else `True`/`False`. The `default:` arm is `Default`.

use std::collections::{HashMap, HashSet};

use crate::ast::{Declaration, Shape, TypeDefKind, TypeSpec, UnionBody, Value};
use crate::diagnostic::Diagnostic;

use super::check::Checker;
use super::consts::{span_of, value_text};
use super::names::{rust_name, Case, Namespace};
use super::types::Place;
use super::{CaseLabel, DiscKind, Field, Union, UnionCase, UnionDefault};

/// A label after checking, before its variant is named.
struct Label {
    label: CaseLabel,
    text: String,
    /// For enum discriminants: the variant name from the label.
    enum_variant: Option<String>,
}

impl Checker<'_> {
    /// Checks a union body.
    pub(super) fn union(&mut self, body: &UnionBody) -> Option<Union> {
        let mut field_ns = Namespace::default();
        let discriminant = self.field(&body.discriminant, &mut field_ns, Place::Discriminant);
        let kind = self.disc_kind(&body.discriminant);
        let mut arms: Vec<(Vec<Label>, Option<Field>)> = Vec::with_capacity(body.arms.len());
        let mut seen: HashSet<i128> = HashSet::new();
        let mut ok = discriminant.is_some() && kind.is_some();
        for arm in &body.arms {
            let field = self.arm_field(&arm.decl, &mut field_ns);
            ok &= field.is_some();
            let mut labels = Vec::with_capacity(arm.cases.len());
            for case in &arm.cases {
                let Some((kind, enum_body)) = &kind else {
                    continue;
                };
                match self.label(kind, enum_body.as_ref(), case) {
                    Some((key, label)) => {
                        if seen.insert(key) {
                            labels.push(label);
                        } else {
                            self.diags.push(
                                Diagnostic::error(
                                    span_of(case),
                                    format!("duplicate case label `{}`", value_text(case)),
                                )
                                .with_label("an earlier arm already handles this value"),
                            );
                            ok = false;
                        }
                    }
                    None => ok = false,
                }
            }
            arms.push((labels, field.flatten()));
        }
        let default = match &body.default {
            Some(d) => {
                let f = self.arm_field(d, &mut field_ns);
                ok &= f.is_some();
                Some(f.flatten())
            }
            None => None,
        };
        if !ok {
            return None;
        }
        let (discriminant, (kind, _)) = (discriminant?, kind?);
        let cases = name_variants(&kind, arms);
        let mut ns = Namespace::default();
        let cases = cases
            .into_iter()
            .map(|mut c| {
                c.rust_name = ns.claim(&c.rust_name).0;
                c
            })
            .collect();
        let default = default.map(|field| UnionDefault {
            rust_name: ns.claim("Default").0,
            field,
        });
        Some(Union {
            discriminant,
            disc_kind: kind,
            cases,
            default,
        })
    }

    /// An arm's field: `Some(None)` for `void`, `None` on error.
    fn arm_field(&mut self, d: &Declaration, ns: &mut Namespace) -> Option<Option<Field>> {
        if matches!((&d.ty, &d.shape), (TypeSpec::Void, Shape::Plain)) && d.name.is_none() {
            return Some(None);
        }
        self.field(d, ns, Place::UnionArm).map(Some)
    }

    /// The discriminant's kind (following typedefs), and for enums the
    /// enum's `.x` name and body.
    fn disc_kind(
        &mut self,
        d: &Declaration,
    ) -> Option<(DiscKind, Option<(String, crate::ast::EnumBody)>)> {
        let mut ty = &d.ty;
        // A typedef chain longer than the number of types is a cycle.
        for _ in 0..=self.scope.types.len() {
            let kind = match ty {
                TypeSpec::Int | TypeSpec::Short | TypeSpec::Char => DiscKind::Int,
                TypeSpec::UnsignedInt | TypeSpec::UnsignedShort | TypeSpec::UnsignedChar => {
                    DiscKind::UnsignedInt
                }
                TypeSpec::Hyper => DiscKind::Hyper,
                TypeSpec::UnsignedHyper => DiscKind::UnsignedHyper,
                TypeSpec::Bool => DiscKind::Bool,
                TypeSpec::Named(id) => {
                    let Some(e) = self.scope.types.get(id.name.as_str()) else {
                        // An undefined name was reported by `field`.
                        match super::builtins::builtin_type(&id.name)? {
                            super::Type::Int => return Some((DiscKind::Int, None)),
                            super::Type::UnsignedInt => return Some((DiscKind::UnsignedInt, None)),
                            super::Type::Hyper => return Some((DiscKind::Hyper, None)),
                            super::Type::UnsignedHyper => {
                                return Some((DiscKind::UnsignedHyper, None))
                            }
                            super::Type::Bool => return Some((DiscKind::Bool, None)),
                            _ => break,
                        }
                    };
                    match &e.def.kind {
                        TypeDefKind::Enum(body) => {
                            return Some((
                                DiscKind::Enum(e.rust_name.clone()),
                                Some((id.name.clone(), body.clone())),
                            ))
                        }
                        TypeDefKind::Typedef(inner) if inner.shape == Shape::Plain => {
                            ty = &inner.ty;
                            continue;
                        }
                        _ => break,
                    }
                }
                _ => break,
            };
            return Some((kind, None));
        }
        self.diags.push(
            Diagnostic::error(d.span, "invalid union discriminant type")
                .with_label("not an integer, bool or enum")
                .with_hint("a discriminant must be `int`, `unsigned int`, `hyper`, `unsigned hyper`, `bool` or an enum (RFC 4506 section 4.15)"),
        );
        None
    }

    /// Checks one case label; returns its key for duplicate detection.
    fn label(
        &mut self,
        kind: &DiscKind,
        enum_body: Option<&(String, crate::ast::EnumBody)>,
        case: &Value,
    ) -> Option<(i128, Label)> {
        let text = value_text(case);
        if let (DiscKind::Enum(_), Some((enum_name, body))) = (kind, enum_body) {
            let info = self.enum_info(enum_name, body);
            // A member of the discriminant's enum.
            if let Value::Named(id) = case {
                if let Some(target) = info.by_member.get(&id.name) {
                    let value = info
                        .variants
                        .iter()
                        .find(|v| v.rust_name == *target)
                        .map(|v| i128::from(v.value))?;
                    return Some((
                        value,
                        Label {
                            label: CaseLabel::Enum(target.clone()),
                            text,
                            enum_variant: Some(rust_name(&id.name, Case::UpperCamel)),
                        },
                    ));
                }
                if let Some(super::scope::ValueEntry::EnumMember {
                    enum_name: other, ..
                }) = self.scope.values.get(id.name.as_str())
                {
                    self.diags.push(
                        Diagnostic::error(
                            id.span,
                            format!("case label `{}` is a member of enum `{other}`, not of `{enum_name}`", id.name),
                        )
                        .with_label(format!("expected a member of `{enum_name}`")),
                    );
                    return None;
                }
            }
            // A number or constant equal to one of the members.
            let value = self.eval.value(&self.scope, case, &mut self.diags)?;
            let Some(target) = info.by_value.get(&value) else {
                self.diags.push(
                    Diagnostic::error(
                        span_of(case),
                        format!("case label {value} is not a value of enum `{enum_name}`"),
                    )
                    .with_label(format!("no member of `{enum_name}` has this value")),
                );
                return None;
            };
            return Some((
                value,
                Label {
                    label: CaseLabel::Enum(target.clone()),
                    text,
                    enum_variant: Some(target.clone()),
                },
            ));
        }
        let value = self.eval.value(&self.scope, case, &mut self.diags)?;
        let (fits, range) = match kind {
            DiscKind::Int => (i32::try_from(value).is_ok(), "int (32-bit signed)"),
            DiscKind::UnsignedInt => (u32::try_from(value).is_ok(), "unsigned int (32-bit)"),
            DiscKind::Hyper => (i64::try_from(value).is_ok(), "hyper (64-bit signed)"),
            DiscKind::UnsignedHyper => (u64::try_from(value).is_ok(), "unsigned hyper (64-bit)"),
            DiscKind::Bool => (value == 0 || value == 1, "bool (TRUE or FALSE)"),
            DiscKind::Enum(_) => (false, "enum"),
        };
        if !fits {
            self.diags.push(
                Diagnostic::error(
                    span_of(case),
                    format!("case label {value} does not fit the discriminant type"),
                )
                .with_label(format!("the discriminant is {range}")),
            );
            return None;
        }
        let label = if *kind == DiscKind::Bool {
            CaseLabel::Bool(value == 1)
        } else {
            CaseLabel::Int(value)
        };
        Some((
            value,
            Label {
                label,
                text,
                enum_variant: None,
            },
        ))
    }
}

/// Names one variant per label (before de-duplication).
fn name_variants(kind: &DiscKind, arms: Vec<(Vec<Label>, Option<Field>)>) -> Vec<UnionCase> {
    // How many arms would claim each field-derived name.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (labels, field) in &arms {
        if let Some(f) = field {
            *counts
                .entry(rust_name(&f.xdr_name, Case::UpperCamel))
                .or_default() += labels.len();
        }
    }
    let mut out = Vec::new();
    for (labels, field) in arms {
        for l in labels {
            let from_field = field
                .as_ref()
                .map(|f| rust_name(&f.xdr_name, Case::UpperCamel))
                .filter(|n| counts.get(n) == Some(&1));
            let rust = match (&l.enum_variant, &l.label, from_field) {
                (Some(v), _, _) => v.clone(),
                (None, _, Some(n)) if !matches!(kind, DiscKind::Enum(_)) => n,
                (None, CaseLabel::Bool(true), _) => "True".to_owned(),
                (None, CaseLabel::Bool(false), _) => "False".to_owned(),
                (None, CaseLabel::Int(n), _) if *n < 0 => format!("CaseMinus{}", n.unsigned_abs()),
                (None, CaseLabel::Int(n), _) => format!("Case{n}"),
                (None, CaseLabel::Enum(v), _) => v.clone(),
            };
            out.push(UnionCase {
                rust_name: rust,
                label: l.label,
                label_text: l.text,
                field: field.clone(),
            });
        }
    }
    out
}
