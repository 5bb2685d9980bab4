//! Integer `%#define` passthrough lines become `const` definitions, and
//! C integer type ones typedefs (see `crate::preprocess` for which lines
//! qualify); the checker uses them for names the specification leaves
//! undefined.

use std::collections::HashSet;

use super::cursor::RESERVED;
use crate::ast::{
    ConstDef, Declaration, Definition, Ident, Radix, Shape, TypeDef, TypeDefKind, TypeSpec, Value,
};
use crate::preprocess::{CDefine, CType, CValue};

/// A `const` or typedef for each define, in source order; of several
/// defines of one name the last wins, as in C. Names that are `.x`
/// keywords (`%#define opaque char` in `key_prot.x`) are skipped.
pub(super) fn definitions(defines: Vec<CDefine>) -> Vec<Definition> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for d in defines.into_iter().rev() {
        if RESERVED.contains(&d.name.as_str()) || !seen.insert(d.name.clone()) {
            continue;
        }
        let doc = vec![format!(
            "From the passthrough line `%{}` (rpcgen copies it into the C header).",
            d.text
        )];
        let name = Ident {
            name: d.name,
            span: d.span,
        };
        out.push(match d.value {
            CValue::Int(value) => Definition::Const(ConstDef {
                name,
                value: Value::Literal {
                    value,
                    radix: radix_of_define(&d.text),
                    span: d.span,
                },
                doc,
            }),
            CValue::Type(ty) => Definition::Type(TypeDef {
                name: name.clone(),
                kind: TypeDefKind::Typedef(Declaration {
                    name: Some(name),
                    ty: type_spec(ty),
                    shape: Shape::Plain,
                    doc: Vec::new(),
                    span: d.span,
                }),
                doc,
            }),
        });
    }
    out.reverse();
    out
}

fn type_spec(ty: CType) -> TypeSpec {
    match ty {
        CType::Int => TypeSpec::Int,
        CType::UnsignedInt => TypeSpec::UnsignedInt,
        CType::Hyper => TypeSpec::Hyper,
        CType::UnsignedHyper => TypeSpec::UnsignedHyper,
        CType::Short => TypeSpec::Short,
        CType::UnsignedShort => TypeSpec::UnsignedShort,
        CType::Char => TypeSpec::Char,
        CType::UnsignedChar => TypeSpec::UnsignedChar,
    }
}

/// The base of the value of `#define NAME VALUE` when `VALUE` is one
/// integer literal (`0x1`, `0755`), so that the constant is written as the
/// define writes it; decimal for anything else.
fn radix_of_define(text: &str) -> Radix {
    match text.split_whitespace().collect::<Vec<_>>().as_slice() {
        [_, _, v] if v.starts_with("0x") || v.starts_with("0X") => Radix::Hex,
        [_, _, v]
            if v.len() > 1
                && v.starts_with('0')
                && v[1..].starts_with(|c: char| c.is_ascii_digit()) =>
        {
            Radix::Octal
        }
        _ => Radix::Decimal,
    }
}

#[cfg(test)]
mod tests {
    use super::{radix_of_define, Radix};

    #[test]
    fn a_define_keeps_the_base_of_its_literal() {
        assert_eq!(radix_of_define("#define NIS_BOUND 0x1"), Radix::Hex);
        assert_eq!(radix_of_define("#define MODE 0755"), Radix::Octal);
        assert_eq!(radix_of_define("#define N 0"), Radix::Decimal);
        assert_eq!(radix_of_define("#define M N+1"), Radix::Decimal);
    }
}
