//! rpcgen `%` passthrough lines of the form `%#define NAME <integer>`.
//!
//! rpcgen copies `%` lines verbatim into its C output, so a C program sees
//! `%#define LM_MAXSTRLEN 1024` as a macro, and `.x` files such as
//! Debian's `nlm_prot.x` use such names as array bounds. xdrgen turns a
//! passthrough `#define` whose body is an integer constant expression
//! (literals with C suffixes, `+ - * / % << >>`-style operators,
//! parentheses, and names of earlier such defines or integer `#define`
//! macros) into a `const`, unless the specification defines the name
//! itself. A passthrough `#define` whose body is a C integer type
//! (`%#define ndmp9_u_quad unsigned long long`, as NDMP's `.x` files
//! write) becomes a typedef of the matching XDR type (`long long` ->
//! `hyper`, `int`/`long` -> `int`, with `unsigned` the unsigned forms).
//! Every other passthrough line (C declarations, function-like macros) is
//! ignored.

use super::directive::{tokenize, DirTok, DirToken};
use super::expr::{evaluate, MacroEnv};
use crate::source::Span;

/// An integer macro defined on a `%#define` passthrough line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CDefine {
    /// The macro name.
    pub(crate) name: String,
    /// Where the name is written.
    pub(crate) span: Span,
    /// Its value.
    pub(crate) value: CValue,
    /// The line as written, without the `%` (for the doc comment).
    pub(crate) text: String,
}

/// What a passthrough define stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CValue {
    /// An integer constant.
    Int(i128),
    /// A C integer type.
    Type(CType),
}

/// The C integer types a passthrough define may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CType {
    /// `int`, `long`, `signed`.
    Int,
    /// `unsigned`, `unsigned int`, `unsigned long`.
    UnsignedInt,
    /// `long long`.
    Hyper,
    /// `unsigned long long`.
    UnsignedHyper,
    /// `short`.
    Short,
    /// `unsigned short`.
    UnsignedShort,
    /// `char`.
    Char,
    /// `unsigned char`.
    UnsignedChar,
}

/// The C integer type spelled by `words`, if it is one.
fn c_type(words: &[&str]) -> Option<CType> {
    let unsigned = words.first() == Some(&"unsigned");
    let rest = match words.first() {
        Some(&"unsigned" | &"signed") => words.get(1..).unwrap_or(&[]),
        _ => words,
    };
    let base = match rest {
        [] if unsigned || words == ["signed"] => CType::Int,
        ["int"] | ["long"] | ["long", "int"] => CType::Int,
        ["long", "long"] | ["long", "long", "int"] => CType::Hyper,
        ["short"] | ["short", "int"] => CType::Short,
        ["char"] => CType::Char,
        _ => return None,
    };
    Some(match (unsigned, base) {
        (false, b) => b,
        (true, CType::Int) => CType::UnsignedInt,
        (true, CType::Hyper) => CType::UnsignedHyper,
        (true, CType::Short) => CType::UnsignedShort,
        (true, _) => CType::UnsignedChar,
    })
}

/// Integer names visible to a passthrough define's body.
struct Env<'a> {
    earlier: &'a [CDefine],
    macros: &'a dyn Fn(&str) -> Option<i128>,
}

impl MacroEnv for Env<'_> {
    fn is_defined(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    fn value(&self, name: &str) -> i128 {
        self.lookup(name).unwrap_or(0)
    }
}

impl Env<'_> {
    fn lookup(&self, name: &str) -> Option<i128> {
        self.earlier
            .iter()
            .rev()
            .find(|d| d.name == name)
            .and_then(|d| match d.value {
                CValue::Int(v) => Some(v),
                CValue::Type(_) => None,
            })
            .or_else(|| (self.macros)(name))
    }
}

/// Parses the passthrough line `line` (starting with `%`, at byte `start`
/// of its file). Returns the define if the line is `%#define NAME EXPR`
/// with an integer constant expression every name of which is known.
pub(crate) fn c_define(
    line: &str,
    start: Span,
    earlier: &[CDefine],
    macros: &dyn Fn(&str) -> Option<i128>,
) -> Option<CDefine> {
    let body = line.strip_prefix('%')?;
    let base = start.start.saturating_add(1);
    let toks = tokenize(start.file, body, base);
    let [DirToken {
        tok: DirTok::Other('#'),
        ..
    }, DirToken {
        tok: DirTok::Ident(define),
        ..
    }, DirToken {
        tok: DirTok::Ident(name),
        span: name_span,
    }, rest @ ..] = toks.as_slice()
    else {
        return None;
    };
    if define != "define" || rest.is_empty() {
        return None;
    }
    // A function-like macro: `(` right after the name.
    if let Some(first) = rest.first() {
        if first.tok == DirTok::Op("(") && first.span.start == name_span.end {
            return None;
        }
    }
    let words: Option<Vec<&str>> = rest
        .iter()
        .map(|t| match &t.tok {
            DirTok::Ident(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    if let Some(ty) = words.as_deref().and_then(c_type) {
        return Some(CDefine {
            name: name.clone(),
            span: *name_span,
            value: CValue::Type(ty),
            text: normalize(body),
        });
    }
    let env = Env { earlier, macros };
    let known = rest.iter().all(|t| match &t.tok {
        DirTok::Ident(n) => n != "defined" && env.lookup(n).is_some(),
        DirTok::Number(v) => v.is_some(),
        DirTok::Op(op) => !matches!(*op, "?" | ":" | ","),
        DirTok::Str(_) | DirTok::Other(_) => false,
    });
    if !known {
        return None;
    }
    let value = evaluate(rest, *name_span, &env).ok()?;
    Some(CDefine {
        name: name.clone(),
        span: *name_span,
        value: CValue::Int(value),
        text: normalize(body),
    })
}

/// `text` without C comments, its whitespace runs collapsed to one space.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
            out.push(' ');
        } else if rest.starts_with("//") {
            break;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn def(line: &str, earlier: &[CDefine]) -> Option<(String, i128)> {
        let none = |_: &str| None;
        c_define(line, Span::new(FileId(0), 0, 0), earlier, &none).and_then(|d| match d.value {
            CValue::Int(v) => Some((d.name, v)),
            CValue::Type(_) => None,
        })
    }

    fn ty(line: &str) -> Option<CType> {
        let none = |_: &str| None;
        c_define(line, Span::new(FileId(0), 0, 0), &[], &none).and_then(|d| match d.value {
            CValue::Type(t) => Some(t),
            CValue::Int(_) => None,
        })
    }

    #[test]
    fn integer_type_defines_are_recognised() {
        assert_eq!(
            ty("%#define q unsigned long long"),
            Some(CType::UnsignedHyper)
        );
        assert_eq!(ty("%#define q long long"), Some(CType::Hyper));
        assert_eq!(ty("%#define n int"), Some(CType::Int));
        assert_eq!(ty("%#define u unsigned"), Some(CType::UnsignedInt));
        assert_eq!(ty("%#define s unsigned short"), Some(CType::UnsignedShort));
        assert_eq!(ty("%#define p struct foo"), None);
        assert_eq!(ty("%#define p float"), None);
    }

    #[test]
    fn integer_defines_are_recognised() {
        assert_eq!(def("%#define A 1024", &[]), Some(("A".into(), 1024)));
        assert_eq!(def("% #  define A\t0x10u", &[]), Some(("A".into(), 16)));
        assert_eq!(
            def("%#define Q 0xFFFFFFFFFFFFFFFFull", &[]),
            Some(("Q".into(), 0xFFFF_FFFF_FFFF_FFFF))
        );
        assert_eq!(def("%#define N (-(4))", &[]), Some(("N".into(), -4)));
        let a = CDefine {
            name: "A".into(),
            span: Span::new(FileId(0), 0, 0),
            value: CValue::Int(1024),
            text: String::new(),
        };
        assert_eq!(def("%#define B A+1", &[a]), Some(("B".into(), 1025)));
    }

    #[test]
    fn doc_text_is_normalized() {
        assert_eq!(
            normalize("#define  FSHIFT\t8  /* bits */ // x"),
            "#define FSHIFT 8"
        );
        assert_eq!(normalize("#define A /* open"), "#define A");
    }

    #[test]
    fn other_lines_are_ignored() {
        for line in [
            "%#include <rpc/rpc.h>",
            "%#define F(x) ((x)+1)",
            "%#define S \"text\"",
            "%#define U UNKNOWN+1",
            "%#define E",
            "%extern bool_t xdr_x();",
            "%#define C a ? 1 : 2",
        ] {
            assert_eq!(def(line, &[]), None, "{line}");
        }
    }
}
