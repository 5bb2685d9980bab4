//! [`super::unions::union`] as formatted text (see [`super::text`]), for
//! the unions most specs are made of: case arms, and a `default:` arm
//! only beside cases that leave some discriminant free.

use quote::quote;

use super::derives::Derives;
use super::docs;
use super::idents::{ident, str_lit};
use super::structs::path;
use super::text::{tokens_text, Lines};
use super::types::{min_len_known, rust_type};
use super::unions::{
    case_summary, default_arm, default_summary, default_value, disc_as_i64, exhaustive,
    label_tokens, lint_allows, put_label, summary, DEFAULT_VOID_DOC,
};
use super::EmitOptions;
use crate::model::{CaseLabel, DiscKind, Model, TypeItem, Union};

/// The union as text, or `None` (serde, `Arbitrary`, a `default:` arm
/// beside cases that cover every discriminant, a line
/// past the margin, a token [`tokens_text`] does not print).
pub(super) fn union_text(
    t: &TypeItem,
    u: &Union,
    model: &Model,
    derives: &Derives,
    opts: &EmitOptions,
) -> Option<String> {
    if opts.serde || opts.arbitrary {
        return None;
    }
    let exhaustive = exhaustive(u, model);
    // The `default:` arm: its variant name, and its value's field, type
    // and error path.
    let default = match &u.default {
        None => None,
        Some(_) if exhaustive => return None,
        Some(d) => {
            let value = match &d.field {
                Some(f) => Some((
                    f,
                    tokens_text(&rust_type(&f.ty, model))?,
                    path(&t.rust_name, f).to_string(),
                )),
                None => None,
            };
            Some((ident(&d.rust_name).to_string(), value))
        }
    };
    let name = ident(&t.rust_name).to_string();
    let type_name = str_lit(&t.xdr_name).to_string();
    let disc_ty = tokens_text(&rust_type(&u.discriminant.ty, model))?;
    let disc_lit = path(&t.rust_name, &u.discriminant);
    let disc_path = disc_lit.to_string();
    let disc_min = min_len_known([&u.discriminant.ty], model)?.to_string();
    let disc_len = match u.disc_kind {
        DiscKind::Hyper | DiscKind::UnsignedHyper => "8",
        _ => "4",
    };
    let (zero, zero_unit) = default_arm(t, u, model, derives);
    // Per case: variant name, label, the field's type and error path.
    struct Arm {
        vname: String,
        label: String,
        put: String,
        field: Option<(String, String)>,
    }
    let arms: Vec<Arm> = u
        .cases
        .iter()
        .map(|c| {
            let field = match &c.field {
                Some(f) => Some((
                    tokens_text(&rust_type(&f.ty, model))?,
                    path(&t.rust_name, f).to_string(),
                )),
                None => None,
            };
            let label = label_tokens(&c.label, &u.disc_kind);
            let put = put_label(&label, &u.disc_kind, &disc_lit);
            Some(Arm {
                vname: ident(&c.rust_name).to_string(),
                label: tokens_text(&label)?,
                put: tokens_text(&put)?.trim_end().to_owned(),
                field,
            })
        })
        .collect::<Option<_>>()?;

    let mut out = Lines::new();
    out.docs(0, &docs::doc_lines(&summary(t, u), &t.doc))?;
    let mut derive = String::from("#[derive(Debug, Clone, PartialEq");
    let mut extra = derives.extra_names(&t.rust_name, false);
    if zero_unit.is_some() {
        extra.push("Default");
    }
    for d in extra {
        derive.push_str(", ");
        derive.push_str(d);
    }
    out.line(0, &[&derive, ")]"])?;
    let (size_allow, names_allow) = lint_allows(t, u, model);
    if !size_allow.is_empty() {
        out.line(0, &["#[allow(clippy::large_enum_variant)]"])?;
    }
    if !names_allow.is_empty() {
        out.line(0, &["#[allow(clippy::enum_variant_names)]"])?;
    }
    out.line(0, &["pub enum ", &name, " {"])?;
    for (c, arm) in u.cases.iter().zip(&arms) {
        let doc = c.field.as_ref().map_or(&[][..], |f| &f.doc[..]);
        out.docs(1, &docs::doc_lines(&case_summary(c), doc))?;
        match &arm.field {
            Some((ty, _)) => out.line(1, &[&arm.vname, "(", ty, "),"])?,
            None => {
                if zero_unit == Some(c.rust_name.as_str()) {
                    out.line(1, &["#[default]"])?;
                }
                out.line(1, &[&arm.vname, ","])?;
            }
        }
    }
    match &default {
        Some((d, None)) => {
            out.docs(1, &docs::doc_lines(DEFAULT_VOID_DOC, &[]))?;
            out.line(1, &[d, "(", &disc_ty, "),"])?;
        }
        Some((d, Some((f, ty, _)))) => {
            out.docs(1, &docs::doc_lines(&default_summary(f), &f.doc))?;
            out.line(1, &[d, " {"])?;
            out.line(2, &["/// The discriminant as sent."])?;
            out.line(2, &["discriminant: ", &disc_ty, ","])?;
            out.line(2, &["/// The arm's value."])?;
            out.line(2, &["value: ", ty, ","])?;
            out.line(1, &["},"])?;
        }
        None => {}
    }
    out.line(0, &["}"])?;
    if let Some(arm) = zero.as_ref().filter(|_| zero_unit.is_none()) {
        let value = tokens_text(&default_value(u, arm, model))?;
        if value.contains('{') {
            // A struct expression (`Self::Default { .. }`), which
            // `prettyplease` breaks over lines.
            return None;
        }
        out.line(0, &["impl ::core::default::Default for ", &name, " {"])?;
        out.line(
            1,
            &["/// The arm of discriminant 0, holding its default: the value"],
        )?;
        out.line(1, &["/// all-zero bytes decode to."])?;
        out.line(1, &["fn default() -> Self {"])?;
        out.line(2, &[&value])?;
        out.line(1, &["}"])?;
        out.line(0, &["}"])?;
    }

    out.encode_impl(&name)?;
    out.line(2, &["match self {"])?;
    for arm in &arms {
        let put = &arm.put;
        match (&arm.field, &u.disc_kind) {
            (Some((_, fpath)), _) => {
                out.line(3, &["Self::", &arm.vname, "(value) => {"])?;
                out.line(4, &[put])?;
                out.line(4, &["enc.field(", fpath, ", value)"])?;
                out.line(3, &["}"])?;
            }
            (None, DiscKind::Enum(_)) => {
                out.arm(
                    3,
                    &format!("Self::{}", arm.vname),
                    &format!("enc.field({disc_path}, &{})", arm.label),
                )?;
            }
            (None, _) => {
                out.line(3, &["Self::", &arm.vname, " => {"])?;
                out.line(4, &[put])?;
                out.line(4, &["::core::result::Result::Ok(())"])?;
                out.line(3, &["}"])?;
            }
        }
    }
    if let Some((d, value)) = &default {
        let pattern = if value.is_some() {
            " { discriminant, value } => {"
        } else {
            "(discriminant) => {"
        };
        out.line(3, &["Self::", d, pattern])?;
        if !u.cases.is_empty() {
            let taken = match (u.cases.as_slice(), &arms[..]) {
                ([c], _) if matches!(c.label, CaseLabel::Bool(true)) => "*discriminant".to_owned(),
                ([c], _) if matches!(c.label, CaseLabel::Bool(false)) => {
                    "!*discriminant".to_owned()
                }
                (_, arms) => {
                    let labels: Vec<&str> = arms.iter().map(|a| a.label.as_str()).collect();
                    format!("::core::matches!(discriminant, {})", labels.join(" | "))
                }
            };
            let value = tokens_text(&disc_as_i64(&u.disc_kind, &quote!(*discriminant)))?;
            if out.line(4, &["if ", &taken, " {"]).is_none() {
                // The macro's arguments on a line of their own.
                let arguments = taken.strip_prefix("::core::matches!(")?.strip_suffix(')')?;
                out.line(4, &["if ::core::matches!("])?;
                out.line(5, &[arguments])?;
                out.line(4, &[") {"])?;
            }
            out.line(5, &["return ::core::result::Result::Err("])?;
            out.fixed(
                6,
                "::xdr_codec::Error::new(::xdr_codec::ErrorKind::DefaultArmDiscriminant {",
            );
            out.line(8, &["type_name: ", &type_name, ","])?;
            out.line(8, &["value: ", &value, ","])?;
            out.line(7, &["})"])?;
            out.line(7, &[".in_field(", &disc_path, "),"])?;
            out.line(5, &[");"])?;
            out.line(4, &["}"])?;
        }
        match value {
            Some((_, _, fpath)) => {
                out.line(4, &["enc.field(", &disc_path, ", discriminant)?;"])?;
                out.line(4, &["enc.field(", fpath, ", value)"])?;
            }
            None => out.line(4, &["enc.field(", &disc_path, ", discriminant)"])?,
        }
        out.line(3, &["}"])?;
    }
    out.line(2, &["}"])?;
    out.line(1, &["}"])?;
    out.line(1, &["fn encoded_len_hint(&self) -> usize {"])?;
    out.line(2, &["match self {"])?;
    for arm in &arms {
        match &arm.field {
            Some(_) => out.arm(
                3,
                &format!("Self::{}(value)", arm.vname),
                &format!("{disc_len} + ::xdr_codec::XdrEncode::encoded_len_hint(value)"),
            )?,
            None => out.comma_line(3, &["Self::", &arm.vname, " => ", disc_len])?,
        }
    }
    match &default {
        Some((d, Some(_))) => out.arm(
            3,
            &format!("Self::{d} {{ value, .. }}"),
            &format!("{disc_len} + ::xdr_codec::XdrEncode::encoded_len_hint(value)"),
        )?,
        Some((d, None)) => out.comma_line(3, &["Self::", d, "(_) => ", disc_len])?,
        None => {}
    }
    out.line(2, &["}"])?;
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;

    out.decode_impl(&name, &disc_min)?;
    out.line(
        2,
        &[
            "let discriminant: ",
            &disc_ty,
            " = dec.field(",
            &disc_path,
            ")?;",
        ],
    )?;
    out.line(2, &["match discriminant {"])?;
    for arm in &arms {
        let value = match &arm.field {
            Some((_, fpath)) => format!("Self::{}(dec.field({fpath})?)", arm.vname),
            None => format!("Self::{}", arm.vname),
        };
        out.ok_arm(3, &arm.label, &value)?;
    }
    match &default {
        Some((d, None)) => out.ok_arm(3, "discriminant", &format!("Self::{d}(discriminant)"))?,
        Some((d, Some((_, _, fpath)))) => {
            // The struct expression is always broken (wider than
            // `STRUCT_EXPR_WIDTH`), so the arm is a block.
            out.line(3, &["discriminant => {"])?;
            out.line(4, &["::core::result::Result::Ok(Self::", d, " {"])?;
            out.line(5, &["discriminant,"])?;
            out.comma_line(5, &["value: dec.field(", fpath, ")?"])?;
            out.line(4, &["})"])?;
            out.line(3, &["}"])?;
        }
        None if !exhaustive => {
            let value = tokens_text(&disc_as_i64(&u.disc_kind, &quote!(discriminant)))?;
            out.line(3, &["discriminant => {"])?;
            out.line(4, &["::core::result::Result::Err("])?;
            out.fixed(
                5,
                "::xdr_codec::Error::new(::xdr_codec::ErrorKind::InvalidDiscriminant {",
            );
            out.line(6, &["type_name: ", &type_name, ","])?;
            out.line(6, &["value: ", &value, ","])?;
            out.line(5, &["}),"])?;
            out.line(4, &[")"])?;
            out.line(3, &["}"])?;
        }
        None => {}
    }
    out.line(2, &["}"])?;
    out.line(1, &["}"])?;
    out.line(0, &["}"])?;
    Some(out.finish())
}
